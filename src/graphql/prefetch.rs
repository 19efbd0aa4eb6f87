//! Fetching ahead for the hot pages (a ticket list, one ticket, the escalation queue): from
//! the query's look-ahead, the root resolver loads every nested row the page will ask for,
//! level by level, one statement per kind, through the same loader functions (and so the
//! same authorization) the nested resolvers use; they then find their rows primed. Without
//! it a page's nested fields were still batched, but a batch's window could close before a
//! 50-item list had asked for every key, so each kind took two or three statements under
//! load (BENCHMARKS.md, Q1–Q3). Only for HTTP operations: `Loaders::for_operation`.

use async_graphql::{Context, Lookahead, Result, SelectionField, Value};
use entity::ticket;

use crate::{
    domain::page::PageArgs,
    graphql::{
        connection::page_args,
        context::ContextExt,
        loaders::{Children, Loaders},
    },
};

/// The item selections of a connection: `nodes { … }` and `edges { node { … } }`.
pub fn items<'a>(connection: &Lookahead<'a>) -> Vec<Lookahead<'a>> {
    vec![
        connection.field("nodes"),
        connection.field("edges").field("node"),
    ]
}

/// The page arguments of every selection of a paginated field (aliases may ask for several
/// pages). A selection whose arguments do not parse is left to its resolver, which reports
/// the error.
fn pages_asked(field: &Lookahead<'_>) -> Vec<PageArgs> {
    let mut out = Vec::new();
    for selection in field.selection_fields() {
        let Ok(arguments) = selection.arguments() else {
            continue;
        };
        let (mut first, mut after, mut newest) = (None, None, false);
        let (mut last, mut before) = (None, None);
        let mut understood = true;
        for (name, value) in arguments {
            match (name.as_str(), value) {
                (_, Value::Null) => {}
                ("first", Value::Number(n)) => {
                    first = n.as_i64().and_then(|n| i32::try_from(n).ok());
                    understood &= first.is_some();
                }
                ("last", Value::Number(n)) => {
                    last = n.as_i64().and_then(|n| i32::try_from(n).ok());
                    understood &= last.is_some();
                }
                ("after", Value::String(s)) => after = Some(s),
                ("before", Value::String(s)) => before = Some(s),
                ("order", Value::Enum(e)) => newest = e.as_str() == "NEWEST_FIRST",
                _ => understood = false,
            }
        }
        if let (true, Ok(args)) = (understood, page_args(first, after, last, before)) {
            let args = args.newest_first(newest).counted(asks_total(&selection));
            if !out.contains(&args) {
                out.push(args);
            }
        }
    }
    out
}

/// Whether a paginated field's selection asks for its `totalCount`; its resolver asks the
/// same, so both build the same page key.
pub fn asks_total(field: &SelectionField<'_>) -> bool {
    field.selection_set().any(|f| f.name() == "totalCount")
}

/// (parent, page) for every parent and every page the selections of a paginated child
/// field ask for.
fn page_keys(fields: &[Lookahead<'_>], parents: &[i64]) -> Vec<(i64, PageArgs)> {
    fields
        .iter()
        .flat_map(pages_asked)
        .flat_map(|args| parents.iter().map(move |id| (*id, args)))
        .collect()
}

fn any(nodes: &[Lookahead<'_>], field: &str) -> bool {
    nodes.iter().any(|n| n.field(field).exists())
}

/// Everything under `nodes` (each a `Ticket` selection) for these tickets.
pub async fn tickets(
    ctx: &Context<'_>,
    nodes: &[Lookahead<'_>],
    tickets: &[ticket::Model],
) -> Result<()> {
    let loaders = ctx.loaders()?;
    if tickets.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();

    let comment_fields: Vec<Lookahead<'_>> = nodes.iter().map(|n| n.field("comments")).collect();
    let comment_pages = page_keys(&comment_fields, &ids);
    let comment_nodes: Vec<Lookahead<'_>> = comment_fields.iter().flat_map(items).collect();
    let wants_authors = any(&comment_nodes, "author");
    let wants_counts = comment_fields
        .iter()
        .any(|c| c.field("totalCount").exists());

    // The pages first: a page without a cursor counts its ticket's comments on the way, and
    // only the tickets it could not count take the grouped count.
    let comments = async {
        let mut authors = Vec::new();
        if !comment_pages.is_empty() {
            loaders.prime_comment_pages(comment_pages.clone()).await?;
        }
        let mut counted = Vec::new();
        if wants_authors || wants_counts {
            for key in comment_pages {
                let Some(page) = loaders.comment_page(key).await? else {
                    continue;
                };
                if wants_authors {
                    authors.extend(page.items.iter().map(|c| c.author_id));
                }
                if let Some(n) = page.total {
                    counted.push(((Children::TicketComments, key.0), n));
                }
            }
        }
        if wants_counts {
            loaders.prime_known_counts(counted);
            let keys = ids.iter().map(|id| (Children::TicketComments, *id));
            loaders.prime_counts(keys).await?;
        }
        Ok::<_, async_graphql::Error>(authors)
    };
    let escalations = async {
        if any(nodes, "escalation") {
            loaders
                .prime_ticket_escalations(ids.iter().copied())
                .await?;
        }
        Ok::<_, async_graphql::Error>(())
    };
    let organizations = async {
        if any(nodes, "organization") {
            loaders
                .prime_organizations(tickets.iter().map(|t| t.org_id))
                .await?;
        }
        Ok::<_, async_graphql::Error>(())
    };
    let participants = async {
        if any(nodes, "participants") {
            loaders.prime_participants(ids.iter().copied()).await?;
        }
        Ok::<_, async_graphql::Error>(())
    };
    let (authors, (), (), ()) =
        futures_util::try_join!(comments, escalations, organizations, participants)?;

    let mut people = authors;
    if any(nodes, "requester") {
        people.extend(tickets.iter().map(|t| t.requester_id));
    }
    if any(nodes, "assignee") {
        people.extend(tickets.iter().filter_map(|t| t.assignee_id));
    }
    if !people.is_empty() {
        loaders.prime_users(people).await?;
    }
    Ok(())
}

/// Everything under an escalation page's `nodes`: each escalation's page of tickets, those
/// tickets, and what their selections ask for.
pub async fn escalations(ctx: &Context<'_>, nodes: &[Lookahead<'_>], ids: &[i64]) -> Result<()> {
    let loaders: &Loaders = ctx.loaders()?;
    let ticket_fields: Vec<Lookahead<'_>> = nodes.iter().map(|n| n.field("tickets")).collect();
    let keys = page_keys(&ticket_fields, ids);
    if keys.is_empty() {
        return Ok(());
    }
    loaders.prime_escalation_tickets(keys.clone()).await?;
    let mut ticket_ids = Vec::new();
    for key in keys {
        if let Some(page) = loaders.escalation_ticket_page(key).await? {
            ticket_ids.extend(page.items.iter().map(|l| l.ticket_id));
        }
    }
    loaders.prime_tickets(ticket_ids.iter().copied()).await?;
    let found = loaders.tickets_many(ticket_ids).await?;
    let mut linked: Vec<ticket::Model> = found.into_values().collect();
    linked.sort_by_key(|t| t.id);
    let ticket_nodes: Vec<Lookahead<'_>> = ticket_fields.iter().flat_map(items).collect();
    tickets(ctx, &ticket_nodes, &linked).await
}
