//! Whether a subscription document reads anything about the viewer as a person, which
//! decides who may share its renderings (`policy::audience`).
//!
//! An allow-list, walked over the document: the fields below answer the same for every
//! staff member of one role (they read rows every staff member sees, through loaders scoped
//! by role). Anything else, a field added later included, counts as reading the person, so
//! a new field can cost sharing but never show one viewer another's answer.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};

/// A field, and the type it leads to if it is an object.
type Field = (&'static str, Option<&'static str>);

/// The fields that do not read the person, by type; `Some(type)` for an object field.
const SHARED: &[(&str, &[Field])] = &[
    (
        "Subscription",
        &[
            ("ticketStatusChanged", Some("TicketEvent")),
            ("ticketUpdates", Some("TicketEvent")),
            ("hotfixUpdates", Some("TicketEvent")),
            ("releaseNotePublished", Some("ReleaseNote")),
        ],
    ),
    (
        "TicketEvent",
        &[
            ("cursor", None),
            ("kind", None),
            ("public", None),
            ("fromStatus", None),
            ("toStatus", None),
            ("createdAt", None),
            ("ticket", Some("Ticket")),
            ("comment", Some("Comment")),
            ("actor", Some("User")),
        ],
    ),
    (
        "Ticket",
        &[
            ("id", None),
            ("number", None),
            ("subject", None),
            ("description", None),
            ("status", None),
            ("priority", None),
            ("solvedBy", None),
            ("createdAt", None),
            ("updatedAt", None),
            ("requester", Some("User")),
            ("assignee", Some("User")),
        ],
    ),
    (
        "Comment",
        &[
            ("id", None),
            ("body", None),
            ("public", None),
            ("createdAt", None),
            ("author", Some("User")),
        ],
    ),
    // `email`: staff read every user's (`policy::sees_email_of`).
    (
        "User",
        &[
            ("id", None),
            ("name", None),
            ("role", None),
            ("email", None),
        ],
    ),
    (
        "ReleaseNote",
        &[
            ("id", None),
            ("title", None),
            ("body", None),
            ("publishedAt", None),
        ],
    ),
];

/// Whether the operation `operation_name` of `doc` reads anything not on the allow-list.
pub fn reads_person(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    match operation(doc, operation_name) {
        Some(op) => !shared(doc, "Subscription", &op.selection_set.node, 0),
        None => true,
    }
}

fn operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
    }
}

/// Deeper than any allowed path goes; stops fragment cycles, which validation refuses anyway.
const MAX_DEPTH: usize = 16;

fn shared(doc: &ExecutableDocument, ty: &str, set: &SelectionSet, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let Some((_, fields)) = SHARED.iter().find(|(t, _)| *t == ty) else {
        return false;
    };
    set.items.iter().all(|item| match &item.node {
        Selection::Field(field) => {
            let name = field.node.name.node.as_str();
            if name == "__typename" {
                return true;
            }
            match fields.iter().find(|(f, _)| *f == name) {
                Some((_, None)) => true,
                Some((_, Some(child))) => {
                    shared(doc, child, &field.node.selection_set.node, depth + 1)
                }
                None => false,
            }
        }
        Selection::InlineFragment(fragment) => {
            let on = fragment.node.type_condition.as_ref();
            on.is_none_or(|c| c.node.on.node.as_str() == ty)
                && shared(doc, ty, &fragment.node.selection_set.node, depth + 1)
        }
        Selection::FragmentSpread(spread) => {
            match doc.fragments.get(&spread.node.fragment_name.node) {
                Some(def) => {
                    def.node.type_condition.node.on.node.as_str() == ty
                        && shared(doc, ty, &def.node.selection_set.node, depth + 1)
                }
                None => false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(query: &str) -> bool {
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        reads_person(&doc, None)
    }

    #[test]
    fn plain_fields_are_shared() {
        assert!(!reads(
            "subscription { ticketStatusChanged { toStatus ticket { number requester { name email } } } }"
        ));
        assert!(!reads(
            "subscription { ticketUpdates { ...E } } fragment E on TicketEvent { kind comment { body } }"
        ));
        assert!(!reads(
            "subscription { releaseNotePublished { title ... on ReleaseNote { body } } }"
        ));
    }

    #[test]
    fn anything_else_reads_the_person() {
        // A list scoped by who is asking, a vote, a field the list does not name.
        assert!(reads(
            "subscription { ticketUpdates { ticket { comments { totalCount } } } }"
        ));
        assert!(reads(
            "subscription { releaseNotePublished { viewerVote } }"
        ));
        assert!(reads(
            "subscription { ticketUpdates { actor { notificationPreferences { email } } } }"
        ));
        assert!(reads(
            "subscription { ticketUpdates { ...E } } fragment E on Node { id }"
        ));
        // Two operations and no name: which one runs is not known here.
        assert!(reads(
            "subscription A { hotfixUpdates { kind } } subscription B { hotfixUpdates { kind } }"
        ));
    }
}
