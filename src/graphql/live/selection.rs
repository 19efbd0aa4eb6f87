//! How much of the viewer a subscription document reads ([`Reads`]), which decides who may
//! share its renderings (`policy::audience`).
//!
//! An allow-list, walked over the document: the fields below answer the same for every
//! receiver the policy admitted to the event. The event's ticket, comment and actor come
//! from the event itself, and the users they name are authorized by the row naming them;
//! staff of one role read through loaders scoped by role. The one exception is a user's
//! email, which staff see and a customer sees only their own ([`STAFF_ALIKE`]). Anything
//! else, a field added later included, counts as reading the person, so a new field can
//! cost sharing but never show one viewer another's answer.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};

use crate::domain::policy::Reads;

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
    // `email`: alike for staff only (`STAFF_ALIKE`).
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

/// Fields of [`SHARED`] that answer alike for staff of one role but not for customers:
/// `policy::sees_email_of` shows a customer their own address only.
const STAFF_ALIKE: &[(&str, &str)] = &[("User", "email")];

/// How much of the viewer the operation `operation_name` of `doc` reads.
pub fn reads(doc: &ExecutableDocument, operation_name: Option<&str>) -> Reads {
    let Some(op) = operation(doc, operation_name) else {
        return Reads::Person;
    };
    let set = &op.selection_set.node;
    if shared(doc, "Subscription", set, 0, false) {
        Reads::Rows
    } else if shared(doc, "Subscription", set, 0, true) {
        Reads::StaffAlike
    } else {
        Reads::Person
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

/// Whether every field of `set` (on type `ty`) is on the allow-list; `staff_alike`: also
/// those that answer alike for staff only.
fn shared(
    doc: &ExecutableDocument,
    ty: &str,
    set: &SelectionSet,
    depth: usize,
    staff_alike: bool,
) -> bool {
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
            if !staff_alike && STAFF_ALIKE.contains(&(ty, name)) {
                return false;
            }
            match fields.iter().find(|(f, _)| *f == name) {
                Some((_, None)) => true,
                Some((_, Some(child))) => shared(
                    doc,
                    child,
                    &field.node.selection_set.node,
                    depth + 1,
                    staff_alike,
                ),
                None => false,
            }
        }
        Selection::InlineFragment(fragment) => {
            let on = fragment.node.type_condition.as_ref();
            on.is_none_or(|c| c.node.on.node.as_str() == ty)
                && shared(
                    doc,
                    ty,
                    &fragment.node.selection_set.node,
                    depth + 1,
                    staff_alike,
                )
        }
        Selection::FragmentSpread(spread) => {
            match doc.fragments.get(&spread.node.fragment_name.node) {
                Some(def) => {
                    def.node.type_condition.node.on.node.as_str() == ty
                        && shared(
                            doc,
                            ty,
                            &def.node.selection_set.node,
                            depth + 1,
                            staff_alike,
                        )
                }
                None => false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(query: &str) -> Reads {
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        super::reads(&doc, None)
    }

    fn reads(query: &str) -> bool {
        of(query) == Reads::Person
    }

    #[test]
    fn plain_fields_are_shared() {
        assert_eq!(
            of(
                "subscription { ticketStatusChanged { toStatus ticket { number requester { name } } } }"
            ),
            Reads::Rows
        );
        assert_eq!(
            of(
                "subscription { ticketUpdates { ...E } } fragment E on TicketEvent { kind comment { body } }"
            ),
            Reads::Rows
        );
        assert_eq!(
            of("subscription { releaseNotePublished { title ... on ReleaseNote { body } } }"),
            Reads::Rows
        );
    }

    #[test]
    fn an_email_is_alike_for_staff_only() {
        assert_eq!(
            of("subscription { ticketStatusChanged { ticket { requester { name email } } } }"),
            Reads::StaffAlike
        );
        assert_eq!(
            of(
                "subscription { ticketUpdates { ...A } } fragment A on TicketEvent { actor { email } }"
            ),
            Reads::StaffAlike
        );
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
