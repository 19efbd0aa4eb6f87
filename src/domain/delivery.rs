//! Which committed events a subscriber receives: what it asked for (its interest) and what
//! it may see (the policy), for live events one by one and for replays as one SQL
//! condition.

use std::sync::Arc;

use entity::{EscalationTrack, event};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection};

use crate::{
    auth::Viewer,
    domain::policy,
    error::{AppError, AppResult},
    events::{Envelope, EventKind, Position, feed::ReplayScope, log},
};

/// What a subscription asked for, before authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Status changes: of one ticket, or of every ticket.
    StatusChanges(Option<i64>),
    /// Every ticket event.
    TicketEvents,
    /// Events of escalations on the hotfix track, as of the event.
    Hotfix,
    /// Release notes as they are published (public to everyone).
    PublishedNotes,
}

impl Interest {
    /// Whether an event is one this interest asked for.
    pub fn matches(self, e: &event::Model) -> bool {
        match self {
            Interest::StatusChanges(only) => {
                e.kind == EventKind::StatusChanged && only.is_none_or(|t| e.ticket_id == Some(t))
            }
            Interest::TicketEvents => e.ticket_id.is_some(),
            Interest::Hotfix => {
                e.escalation_id.is_some() && e.escalation_track == Some(EscalationTrack::Hotfix)
            }
            Interest::PublishedNotes => e.kind == EventKind::ReleaseNotePublished,
        }
    }

    /// [`Interest::matches`] as a condition on event rows.
    fn condition(self) -> Condition {
        match self {
            Interest::StatusChanges(only) => {
                let c = Condition::all().add(event::Column::Kind.eq(EventKind::StatusChanged));
                match only {
                    Some(t) => c.add(event::Column::TicketId.eq(t)),
                    None => c,
                }
            }
            Interest::TicketEvents => Condition::all().add(event::Column::TicketId.is_not_null()),
            Interest::Hotfix => Condition::all()
                .add(event::Column::EscalationId.is_not_null())
                .add(event::Column::EscalationTrack.eq(EscalationTrack::Hotfix)),
            Interest::PublishedNotes => {
                Condition::all().add(event::Column::Kind.eq(EventKind::ReleaseNotePublished))
            }
        }
    }

    /// Whether its events are about tickets (and so pass `policy::may_receive`).
    pub fn about_tickets(self) -> bool {
        self != Interest::PublishedNotes
    }
}

/// Whether a live event goes to this subscriber now: asked for, and allowed by the policy
/// as of this moment (a revoked grant stops it at once).
pub async fn admits_live(
    db: &DatabaseConnection,
    viewer: &Viewer,
    interest: Interest,
    env: &Envelope,
) -> AppResult<bool> {
    if !interest.matches(&env.event) {
        return Ok(false);
    }
    if !interest.about_tickets() {
        return Ok(true);
    }
    policy::may_receive(db, viewer, env).await
}

/// The rows a replay for this subscriber reads: its interest and the policy's rule for
/// events ([`policy::receivable_events`]), evaluated afresh for every batch.
pub fn replay_scope(db: &DatabaseConnection, viewer: &Viewer, interest: Interest) -> ReplayScope {
    let (db, viewer) = (db.clone(), viewer.clone());
    Arc::new(move || {
        let (db, viewer) = (db.clone(), viewer.clone());
        Box::pin(async move {
            let wanted = interest.condition();
            if !interest.about_tickets() {
                return Ok(wanted);
            }
            Ok(wanted.add(policy::receivable_events(&db, &viewer).await?))
        })
    })
}

/// Where a resuming subscriber asked to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// After this position.
    At(Position),
    /// After the event with this id (cursors issued before the log recorded transactions;
    /// 0 is the start of the log).
    AfterId(i64),
}

/// The position a resume starts after. An old id cursor is looked up, so it means exactly
/// what it meant when issued; one naming no event is `BAD_USER_INPUT`.
pub async fn resume_position(db: &DatabaseConnection, resume: Resume) -> AppResult<Position> {
    match resume {
        Resume::At(p) => Ok(p),
        Resume::AfterId(0) => Ok(Position::START),
        Resume::AfterId(id) => log::position_of(db, id).await?.ok_or_else(|| {
            AppError::bad_input("`after` names no event in the log; resubscribe without it")
        }),
    }
}
