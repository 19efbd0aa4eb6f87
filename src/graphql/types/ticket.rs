//! `Ticket`: a customer's support request.

use async_graphql::{Context, ID, InputObject, Object, Result, Value};
use chrono::{DateTime, Utc};
use entity::ticket;

use crate::{
    domain::{
        search::Search,
        tickets::{self, TicketFilter as DomainFilter, TicketOrder as DomainOrder, TicketSort},
    },
    graphql::{
        connection::{Parts, connection, page_args, sorted_page_args},
        context::ContextExt,
        ids::{self, Kind},
        lean::{Lean, PlainFields, text, value},
        loaders::Children,
        prefetch,
        types::{
            comment::CommentConnection,
            enums::{SolvedBy, TicketPriority, TicketStatus},
            escalation::Escalation,
            event::TicketEventConnection,
            organization::Organization,
            user::{self, User},
        },
    },
};

/// A customer's support request.
#[derive(Clone)]
pub struct Ticket(pub ticket::Model);

connection!(
    TicketConnection,
    TicketEdge,
    Ticket,
    entity::ticket::Entity,
    "tickets"
);

/// Narrows a ticket list; every field is ANDed, and never widens what the viewer may see.
#[derive(InputObject, Default)]
pub struct TicketFilter {
    /// Only tickets in one of these statuses.
    pub status: Option<Vec<TicketStatus>>,
    /// Only tickets with one of these priorities.
    pub priority: Option<Vec<TicketPriority>>,
    /// Only tickets requested by this user.
    pub requester_id: Option<ID>,
    /// Only tickets assigned to this user.
    pub assignee_id: Option<ID>,
    /// `true`: only unassigned tickets; `false`: only assigned ones.
    pub unassigned: Option<bool>,
    /// Only tickets of this organization.
    pub organization_id: Option<ID>,
    /// `true`: only tickets waiting on a hotfix that has not shipped ("review your open
    /// hotfix tickets"); `false`: only the others.
    pub has_open_hotfix: Option<bool>,
    /// Full-text search over the subject, the description and the comments you may read
    /// (never internal notes, for customers). Web-search syntax: all words must match,
    /// `"quoted words"` as a phrase, `-word` excludes, `or` between words means either;
    /// case-insensitive, English stemming. Blank, or over 500 characters: `BAD_USER_INPUT`.
    pub search: Option<String>,
}

/// What a ticket list is sorted by; ties are broken by id, in the same direction.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketOrderField {
    CreatedAt,
    UpdatedAt,
    /// `LOW` < `NORMAL` < `HIGH` < `URGENT`.
    Priority,
    Number,
}

/// Which way a list is sorted.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

/// The order of a ticket list (default `CREATED_AT DESC`, also when searching).
#[derive(InputObject, Clone, Copy, Debug)]
pub struct TicketOrder {
    pub field: TicketOrderField,
    pub direction: OrderDirection,
}

impl From<TicketOrder> for DomainOrder {
    fn from(o: TicketOrder) -> Self {
        DomainOrder {
            sort: match o.field {
                TicketOrderField::CreatedAt => TicketSort::CreatedAt,
                TicketOrderField::UpdatedAt => TicketSort::UpdatedAt,
                TicketOrderField::Priority => TicketSort::Priority,
                TicketOrderField::Number => TicketSort::Number,
            },
            descending: o.direction == OrderDirection::Desc,
        }
    }
}

/// The ticket lists' one reader (`tickets`, `User.tickets`, `Organization.tickets`): the
/// domain's list in the asked order, its cursors carrying the sort key.
pub async fn list(
    ctx: &Context<'_>,
    filter: DomainFilter,
    order_by: Option<TicketOrder>,
    (first, after, last, before): (Option<i32>, Option<String>, Option<i32>, Option<String>),
) -> Result<Parts<ticket::Entity>> {
    let order: DomainOrder = order_by.map(Into::into).unwrap_or_default();
    let name = order.sort.name();
    let args = sorted_page_args(Some(name), first, after, last, before)?;
    let page = tickets::list(&ctx.app()?.db, ctx.viewer()?, &filter, order, args).await?;
    Ok(Parts::from(page).sorted_by(Some((name, order.sort.key_of()))))
}

impl TicketFilter {
    /// Converts to the domain filter. An id of the wrong kind can match nothing, so it
    /// becomes an impossible id rather than an error that would reveal anything. A search
    /// that is blank or too long is `BAD_USER_INPUT`.
    pub fn into_domain(self) -> Result<DomainFilter> {
        let id = |kind, v: Option<ID>| v.map(|v| ids::decode(kind, &v).unwrap_or(0));
        Ok(DomainFilter {
            statuses: self
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            priorities: self
                .priority
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            requester_id: id(Kind::User, self.requester_id),
            assignee_id: id(Kind::User, self.assignee_id),
            unassigned: self.unassigned,
            org_id: id(Kind::Organization, self.organization_id),
            has_open_hotfix: self.has_open_hotfix,
            search: self.search.as_deref().map(Search::parse).transpose()?,
        })
    }
}

// The first line of this description once belonged to a neighbouring function; it stays
// because the published schema carries it.
/// Page arguments from GraphQL `first`/`after`.
/// The order of a ticket's comments.
#[derive(async_graphql::Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListOrder {
    #[default]
    OldestFirst,
    NewestFirst,
}

impl PlainFields for Ticket {
    fn plain(&self, field: &str) -> Option<Value> {
        let t = &self.0;
        Some(match field {
            "id" => value(ids::encode(Kind::Ticket, t.id)),
            "number" => value(t.number),
            "subject" => text(&t.subject),
            "description" => text(&t.description),
            "status" => value(TicketStatus::from(t.status)),
            "priority" => value(TicketPriority::from(t.priority)),
            "solvedBy" => value(t.solved_by.map(SolvedBy::from)),
            "createdAt" => value(t.created_at),
            "updatedAt" => value(t.updated_at),
            _ => return None,
        })
    }
}

#[Object]
impl Ticket {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Ticket, self.0.id)
    }
    /// Human ticket number, unique and increasing.
    async fn number(&self) -> i64 {
        self.0.number
    }
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn status(&self) -> TicketStatus {
        self.0.status.into()
    }
    async fn priority(&self) -> TicketPriority {
        self.0.priority.into()
    }
    /// Why the ticket was solved; null unless `SOLVED` or `CLOSED` after solving.
    async fn solved_by(&self) -> Option<SolvedBy> {
        self.0.solved_by.map(Into::into)
    }
    /// Who opened it.
    async fn requester(&self, ctx: &Context<'_>) -> Result<Option<Lean<User>>> {
        user::referenced(ctx, Some(self.0.requester_id)).await
    }
    /// The requester's organization.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Lean<Organization>>> {
        Ok(ctx
            .loaders()?
            .organization(self.0.org_id)
            .await?
            .map(|o| Lean(Organization(o))))
    }
    /// Colleagues copied on the ticket, in the order they were added: they see it as its
    /// requester does.
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        Ok(ctx
            .loaders()?
            .participants_of(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(User)
            .collect())
    }
    /// The agent working it, if any.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<Lean<User>>> {
        user::referenced(ctx, self.0.assignee_id).await
    }
    /// Comments, oldest first unless `order: NEWEST_FIRST` (customers see public ones only).
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default)] order: ListOrder,
    ) -> Result<CommentConnection> {
        let args = page_args(first, after, last, before)?
            .newest_first(order == ListOrder::NewestFirst)
            .counted(prefetch::asks_total(&ctx.field()));
        let page = ctx.loaders()?.comment_page((self.0.id, args)).await?;
        Ok(CommentConnection(Parts::children(
            page,
            Children::TicketComments,
            self.0.id,
        )))
    }
    /// History, oldest first (customers see public events only).
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TicketEventConnection> {
        let args = page_args(first, after, last, before)?;
        let page = ctx
            .loaders()?
            .event_pages()
            .load_one((self.0.id, args))
            .await?;
        Ok(TicketEventConnection(Parts::children(
            page,
            Children::TicketEvents,
            self.0.id,
        )))
    }
    /// The ticket's Tier 3 escalation (the most recent one), as the viewer may see it.
    async fn escalation(&self, ctx: &Context<'_>) -> Result<Option<Lean<Escalation>>> {
        Ok(ctx
            .loaders()?
            .ticket_escalation(self.0.id)
            .await?
            .map(|e| Lean(Escalation(e))))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
