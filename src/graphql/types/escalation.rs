//! `Escalation` and `EscalationUpdate`: a ticket's problem handed to Tier 3.

use async_graphql::{Context, ID, InputObject, Object, Result, Value};
use chrono::{DateTime, Utc};
use entity::{escalation, escalation_update};

use crate::{
    domain::{escalations, policy},
    graphql::{
        connection::{Parts, connection, page_args},
        context::ContextExt,
        ids::{self, Kind},
        lean::{Lean, PlainFields, text, value},
        loaders::Children,
        prefetch,
        types::{
            enums::{EscalationPriority, EscalationStatus, EscalationTrack},
            release::Release,
            ticket::Ticket,
            user::{self, User},
        },
    },
};

/// A problem (or idea) handed to the Tier 3 development team, linked to one or more
/// tickets. Customers see it only through their own tickets, and never its internal details,
/// its assignee, internal updates or the other tickets linked to it.
#[derive(Clone)]
pub struct Escalation(pub escalation::Model);

connection!(
    EscalationConnection,
    EscalationEdge,
    Escalation,
    entity::escalation::Entity,
    "escalations"
);

/// Narrows the escalation queue; never widens what the viewer may see.
#[derive(InputObject, Default)]
pub struct EscalationFilter {
    pub status: Option<Vec<EscalationStatus>>,
    pub track: Option<Vec<EscalationTrack>>,
    pub priority: Option<Vec<EscalationPriority>>,
    /// Only escalations assigned to this user.
    pub assignee_id: Option<ID>,
    /// Only escalations scheduled into this release.
    pub release_id: Option<ID>,
    /// `true`: neither released nor declined; `false`: released or declined.
    pub open: Option<bool>,
}

impl EscalationFilter {
    /// Converts to the domain filter; ids of the wrong kind match nothing.
    pub fn into_domain(self) -> escalations::EscalationFilter {
        let id = |kind, v: Option<ID>| v.map(|v| ids::decode(kind, &v).unwrap_or(0));
        let all = |v: Option<Vec<_>>| v.unwrap_or_default().into_iter().map(Into::into).collect();
        escalations::EscalationFilter {
            statuses: all(self.status),
            tracks: self
                .track
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
            assignee_id: id(Kind::User, self.assignee_id),
            release_id: id(Kind::Release, self.release_id),
            open: self.open,
        }
    }
}

/// A note from Tier 3 on an escalation; public ones reach customers.
#[derive(Clone)]
pub struct EscalationUpdate(pub escalation_update::Model);

connection!(
    EscalationUpdateConnection,
    EscalationUpdateEdge,
    EscalationUpdate,
    entity::escalation_update::Entity,
    "escalation updates"
);

impl PlainFields for Escalation {
    fn plain(&self, field: &str) -> Option<Value> {
        let e = &self.0;
        Some(match field {
            "id" => value(ids::encode(Kind::Escalation, e.id)),
            "title" => text(&e.title),
            "status" => value(EscalationStatus::from(e.status)),
            "track" => value(e.track.map(EscalationTrack::from)),
            "priority" => value(EscalationPriority::from(e.priority)),
            "priorityLabel" => text(escalations::priority_label(e.priority)),
            "triagedAt" => value(e.triaged_at),
            "createdAt" => value(e.created_at),
            "updatedAt" => value(e.updated_at),
            // `details`, `assignee`, `declineReason` and the lists depend on who asks.
            _ => return None,
        })
    }
}

#[Object]
impl Escalation {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Escalation, self.0.id)
    }
    /// Public title; release notes list it.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Internal details: staff only, null for customers.
    async fn details(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(policy::sees_internal(ctx.viewer()?).then_some(self.0.details.as_str()))
    }
    async fn status(&self) -> EscalationStatus {
        self.0.status.into()
    }
    /// Null until triaged.
    async fn track(&self) -> Option<EscalationTrack> {
        self.0.track.map(Into::into)
    }
    async fn priority(&self) -> EscalationPriority {
        self.0.priority.into()
    }
    /// "Business Halted", "Business Impacted", "Standard" or "Service Request".
    async fn priority_label(&self) -> &'static str {
        escalations::priority_label(self.0.priority)
    }
    /// The developer working on it: staff only, null for customers.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<Lean<User>>> {
        if !policy::sees_internal(ctx.viewer()?) {
            return Ok(None);
        }
        user::referenced(ctx, self.0.assignee_id).await
    }
    /// Why it was declined: staff only.
    async fn decline_reason(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(if policy::sees_internal(ctx.viewer()?) {
            self.0.decline_reason.as_deref()
        } else {
            None
        })
    }
    /// The linked tickets you may see (a customer: only their own visible tickets).
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TicketLinkConnection> {
        let args =
            page_args(first, after, last, before)?.counted(prefetch::asks_total(&ctx.field()));
        let loaders = ctx.loaders()?;
        let page = loaders
            .escalation_ticket_page((self.0.id, args))
            .await?
            .unwrap_or_default();
        let found = loaders
            .tickets_many(page.items.iter().map(|l| l.ticket_id))
            .await?;
        let items = page
            .items
            .iter()
            .filter_map(|l| found.get(&l.ticket_id).map(|t| (l.id, t.clone())))
            .collect();
        Ok(TicketLinkConnection {
            items,
            has_next: page.has_next,
            has_previous: page.has_previous,
            escalation_id: self.0.id,
        })
    }
    /// Updates from Tier 3, oldest first (customers: public ones only).
    async fn updates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<EscalationUpdateConnection> {
        let args = page_args(first, after, last, before)?;
        let page = ctx.loaders()?.updates().load_one((self.0.id, args)).await?;
        Ok(EscalationUpdateConnection(Parts::children(
            page,
            Children::EscalationUpdates,
            self.0.id,
        )))
    }
    /// The release it is scheduled into.
    async fn release(&self, ctx: &Context<'_>) -> Result<Option<Release>> {
        match self.0.release_id {
            Some(id) => Ok(ctx.loaders()?.releases().load_one(id).await?.map(Release)),
            None => Ok(None),
        }
    }
    async fn triaged_at(&self) -> Option<DateTime<Utc>> {
        self.0.triaged_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The tickets of an escalation that you may see.
pub struct TicketLinkConnection {
    /// (link id — the cursor, ticket)
    items: Vec<(i64, entity::ticket::Model)>,
    has_next: bool,
    has_previous: bool,
    escalation_id: i64,
}

/// One linked ticket with its cursor.
pub struct TicketLinkEdge {
    cursor: String,
    node: Lean<Ticket>,
}

#[Object]
impl TicketLinkEdge {
    /// Opaque cursor.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    /// The ticket.
    async fn node(&self) -> &Lean<Ticket> {
        &self.node
    }
}

#[Object]
impl TicketLinkConnection {
    async fn edges(&self) -> Vec<TicketLinkEdge> {
        self.items
            .iter()
            .map(|(link, t)| TicketLinkEdge {
                cursor: ids::cursor(*link),
                node: Lean(Ticket(t.clone())),
            })
            .collect()
    }
    async fn nodes(&self) -> Vec<Lean<Ticket>> {
        self.items
            .iter()
            .map(|(_, t)| Lean(Ticket(t.clone())))
            .collect()
    }
    async fn page_info(&self) -> crate::graphql::connection::PageInfo {
        crate::graphql::connection::PageInfo {
            has_next_page: self.has_next,
            has_previous_page: self.has_previous,
            start_cursor: self.items.first().map(|(l, _)| ids::cursor(*l)),
            end_cursor: self.items.last().map(|(l, _)| ids::cursor(*l)),
        }
    }
    /// How many linked tickets you may see.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(ctx
            .loaders()?
            .counts()
            .load_one((Children::EscalationTickets, self.escalation_id))
            .await?
            .unwrap_or(0))
    }
}

impl PlainFields for EscalationUpdate {
    fn plain(&self, field: &str) -> Option<Value> {
        let u = &self.0;
        Some(match field {
            "id" => value(ids::encode(Kind::EscalationUpdate, u.id)),
            "body" => text(&u.body),
            "public" => value(u.public),
            "createdAt" => value(u.created_at),
            _ => return None,
        })
    }
}

#[Object]
impl EscalationUpdate {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::EscalationUpdate, self.0.id)
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Whether customers see it (and, on the hotfix track, get it on their ticket).
    async fn public(&self) -> bool {
        self.0.public
    }
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<Lean<User>>> {
        user::referenced(ctx, Some(self.0.author_id)).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
