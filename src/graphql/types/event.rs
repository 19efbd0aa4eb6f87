//! `TicketEvent`: one entry of a ticket's history (and, later, of live updates).

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};
use entity::event;

use crate::{
    events::Envelope,
    graphql::{
        connection::connection,
        context::ContextExt,
        ids,
        lean::PlainFields,
        types::{
            comment::Comment, enums::TicketStatus, escalation::Escalation, ticket::Ticket,
            user::User,
        },
    },
};

/// What happened to a ticket.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketEventKind {
    TicketCreated,
    CommentAdded,
    StatusChanged,
    PriorityChanged,
    AssigneeChanged,
    /// The ticket was escalated to Tier 3.
    Escalated,
    /// The ticket was linked to an existing escalation.
    TicketLinked,
    /// A colleague was copied on the ticket (`data.userId`).
    ParticipantAdded,
    /// A colleague was taken off the ticket (`data.userId`).
    ParticipantRemoved,
    /// Its escalation was put on a track.
    Triaged,
    /// Its escalation was assigned (staff only).
    EscalationAssigned,
    /// Tier 3 posted an update (customers: public ones).
    EscalationUpdatePosted,
    /// Its escalation was declined.
    EscalationDeclined,
    /// Its escalation was scheduled into a release.
    EscalationScheduled,
    /// Its escalation's release shipped.
    EscalationReleased,
    /// An event kind this server version does not name yet.
    Other,
}

impl From<entity::EventKind> for TicketEventKind {
    /// Exhaustive on purpose: a kind added to the entity enum must be placed here, either
    /// named on tickets or shown as `OTHER` (release and scope events, and `Unknown`: a kind
    /// written by a newer server version).
    fn from(k: entity::EventKind) -> Self {
        use entity::EventKind as K;
        match k {
            K::TicketCreated => Self::TicketCreated,
            K::CommentAdded => Self::CommentAdded,
            K::StatusChanged => Self::StatusChanged,
            K::PriorityChanged => Self::PriorityChanged,
            K::AssigneeChanged => Self::AssigneeChanged,
            K::Escalated => Self::Escalated,
            K::TicketLinked => Self::TicketLinked,
            K::ParticipantAdded => Self::ParticipantAdded,
            K::ParticipantRemoved => Self::ParticipantRemoved,
            K::Triaged => Self::Triaged,
            K::EscalationAssigned => Self::EscalationAssigned,
            K::EscalationUpdatePosted => Self::EscalationUpdatePosted,
            K::EscalationDeclined => Self::EscalationDeclined,
            K::EscalationScheduled => Self::EscalationScheduled,
            K::EscalationReleased => Self::EscalationReleased,
            K::ScopeGranted
            | K::ScopeRevoked
            | K::ReleaseCreated
            | K::ReleaseImminent
            | K::ReleaseShipped
            | K::ReleaseNotePublished
            | K::ReleaseNoteVoted
            | K::ReleaseNotesFollowed
            | K::ReleaseNotesUnfollowed
            | K::Unknown => Self::Other,
        }
    }
}

/// One entry of a ticket's history, from the append-only event log. A live event carries
/// the rows it names, read once for every subscriber (see `events::Envelope`); a stored one
/// loads them through the request's loaders.
#[derive(Clone)]
pub struct TicketEvent(pub event::Model, pub Option<Arc<Envelope>>);

impl TicketEvent {
    /// A stored event (history, lists).
    pub fn stored(e: event::Model) -> Self {
        TicketEvent(e, None)
    }

    /// A live event with its prefetched rows.
    pub fn live(env: Arc<Envelope>) -> Self {
        TicketEvent(env.event.clone(), Some(env))
    }
}

connection!(
    TicketEventConnection,
    TicketEventEdge,
    TicketEvent,
    entity::event::Entity,
    "ticket events",
    TicketEvent::stored
);

fn status(s: &Option<String>) -> Option<TicketStatus> {
    use entity::TicketStatus as S;
    Some(
        match s.as_deref()? {
            "NEW" => S::New,
            "OPEN" => S::Open,
            "PENDING" => S::Pending,
            "ON_HOLD" => S::OnHold,
            "SOLVED" => S::Solved,
            "CLOSED" => S::Closed,
            _ => return None,
        }
        .into(),
    )
}

impl PlainFields for TicketEvent {}

#[Object]
impl TicketEvent {
    /// Position in the event log; also a resumable cursor.
    async fn cursor(&self) -> String {
        ids::event_cursor(crate::events::Position::of(&self.0))
    }
    async fn kind(&self) -> TicketEventKind {
        self.0.kind.into()
    }
    /// Whether the requester sees this event.
    async fn public(&self) -> bool {
        self.0.public
    }
    /// Who caused it; null for the system.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if let Some(actor) = self.1.as_ref().and_then(|env| env.actor.clone()) {
            return Ok(Some(User(actor)));
        }
        match self.0.actor_id {
            Some(id) => Ok(ctx.loaders()?.users().load_one(id).await?.map(User)),
            None => Ok(None),
        }
    }
    /// Status before a status change.
    async fn from_status(&self) -> Option<TicketStatus> {
        status(&self.0.from_status)
    }
    /// Status after a status change (or at creation).
    async fn to_status(&self) -> Option<TicketStatus> {
        status(&self.0.to_status)
    }
    /// The comment this event announces, if any.
    async fn comment(&self, ctx: &Context<'_>) -> Result<Option<Comment>> {
        // A live event was authorized for this viewer, comment included (its `public` flag
        // is the comment's), so the prefetched row may be shown as is.
        if let Some(c) = self.1.as_ref().and_then(|env| env.comment.clone()) {
            return Ok(Some(Comment(c)));
        }
        match self.0.comment_id {
            Some(id) => Ok(ctx.loaders()?.comments().load_one(id).await?.map(Comment)),
            None => Ok(None),
        }
    }
    /// The escalation it concerns, if any (as the viewer may see it).
    async fn escalation(&self, ctx: &Context<'_>) -> Result<Option<Escalation>> {
        match self.0.escalation_id {
            Some(id) => Ok(ctx
                .loaders()?
                .escalations()
                .load_one(id)
                .await?
                .map(Escalation)),
            None => Ok(None),
        }
    }
    /// The ticket it concerns.
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Option<Ticket>> {
        // A live event is delivered only to viewers who may see its ticket.
        if let Some(t) = self.1.as_ref().and_then(|env| env.ticket.clone()) {
            return Ok(Some(Ticket(t)));
        }
        match self.0.ticket_id {
            Some(id) => Ok(ctx.loaders()?.tickets().load_one(id).await?.map(Ticket)),
            None => Ok(None),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
