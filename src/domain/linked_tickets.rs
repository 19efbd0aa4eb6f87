//! What escalation and release steps do to the tickets linked to an escalation, shared by
//! `escalations` and `releases` so neither imports the other: the effects (tell, hold,
//! solve) with their messages, an escalation's events recorded on each linked ticket,
//! freeing the links, and the escalation's optimistic-lock write that goes with them. All
//! of it runs in the caller's transaction; `None` from any of it means a row changed
//! underneath and the caller retries the whole command.

use chrono::Utc;
use entity::{
    EscalationStatus, EscalationTrack, ReleaseStatus, SolvedBy, TicketStatus, comment, escalation,
    escalation_ticket, release, ticket,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{LockType, Query},
};

use crate::{
    auth::Actor,
    domain::{rows, tickets, transitions},
    error::AppResult,
    events::{self, EventKind, NewEvent},
};

/// What the workflow does to one linked ticket.
#[derive(Debug, Clone, Copy)]
pub enum Effect<'a> {
    /// A public comment only.
    Tell(&'a str),
    /// Put on hold (waiting on Tier 3) with a public comment.
    Hold(&'a str),
    /// Mark solved for this reason with a public comment — once: a ticket already solved
    /// or closed is left alone.
    Solve(SolvedBy, &'a str),
}

/// Escalated: the customer is told, the ticket keeps its status.
pub const ESCALATED: Effect<'static> = Effect::Tell(ESCALATED_MESSAGE);
/// On the hotfix track: the ticket waits on hold.
const ON_HOTFIX: Effect<'static> = Effect::Hold(HOTFIX_MESSAGE);
/// Under product review: the ticket is solved now (`TRIAGE`).
const UNDER_REVIEW: Effect<'static> = Effect::Solve(SolvedBy::Triage, REVIEW_MESSAGE);
/// The hotfix is being released: the ticket is solved (`RELEASE`).
const HOTFIX_SHIPPING: Effect<'static> = Effect::Solve(SolvedBy::Release, HOTFIX_SHIPPING_MESSAGE);

/// What triage onto `track` does to each linked ticket.
pub fn on_triage(track: EscalationTrack) -> Effect<'static> {
    match track {
        EscalationTrack::Hotfix => ON_HOTFIX,
        _ => UNDER_REVIEW,
    }
}

const ESCALATED_MESSAGE: &str = "We have escalated this to our Tier 3 development team. \
We will keep you posted on this ticket.";
const HOTFIX_MESSAGE: &str = "Tier 3 is working on a hotfix for this. Your ticket stays open \
(on hold) and every update from the team will be posted here.";
const REVIEW_MESSAGE: &str = "Tier 3 is reviewing this for product planning. We are marking \
this ticket solved for now and will let you know when what you asked for ships.";
const HOTFIX_SHIPPING_MESSAGE: &str = "The hotfix for this is being released now. We are \
marking this ticket solved; reply here if anything is still wrong.";

/// The ticket-side effect of the escalation's current state, for a ticket linked now, and
/// whether it is the release-time solve (a hotfix whose release is imminent or shipped).
pub async fn effect_of_state(
    db: &impl ConnectionTrait,
    e: &escalation::Model,
) -> AppResult<Option<(Effect<'static>, bool)>> {
    use EscalationStatus as S;
    let release_status = match e.release_id {
        Some(id) => release::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|r| r.status),
        None => None,
    };
    Ok(match (e.track, e.status) {
        (None, S::AwaitingTriage) => Some((ESCALATED, false)),
        (Some(EscalationTrack::Hotfix), S::Scheduled)
            if release_status.is_some_and(|s| s != ReleaseStatus::Planned) =>
        {
            Some((HOTFIX_SHIPPING, true))
        }
        (Some(track), _) => Some((on_triage(track), false)),
        (None, _) => None,
    })
}

/// Applies an effect to a linked ticket: the status move, a public comment and their
/// events, all in the caller's transaction. `None` means the ticket changed underneath
/// (optimistic lock): the caller retries the whole operation.
pub async fn affect_ticket(
    db: &impl ConnectionTrait,
    actor: &Actor,
    escalation_id: i64,
    t: &ticket::Model,
    effect: Effect<'_>,
) -> AppResult<Option<Vec<i64>>> {
    if t.status == TicketStatus::Closed {
        return Ok(Some(Vec::new())); // read-only
    }
    let (to, solved_by, body) = match effect {
        Effect::Tell(body) => (None, None, body),
        Effect::Hold(body) => (
            transitions::workflow_ticket_move(t.status, TicketStatus::OnHold),
            None,
            body,
        ),
        Effect::Solve(by, body) => {
            let to = transitions::workflow_ticket_move(t.status, TicketStatus::Solved);
            if to.is_none() {
                return Ok(Some(Vec::new())); // solved already: once only
            }
            (to, Some(by), body)
        }
    };
    let mut am = ticket::ActiveModel::default();
    if let Some(to) = to {
        am.status = Set(to);
        am.solved_by = Set(solved_by);
    }
    if tickets::save(db, t, am).await?.is_none() {
        return Ok(None);
    }
    let c = comment::Entity::insert(comment::ActiveModel {
        ticket_id: Set(t.id),
        author_id: Set(actor.id),
        body: Set(body.to_owned()),
        public: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    let base = |kind| {
        NewEvent::public(kind)
            .actor(actor.id)
            .ticket(t.id, t.org_id)
            .escalation(escalation_id)
    };
    // A solve's comment is part of the solve: one mail tells both (the planner reads the
    // marker; the status event names the comment).
    let mut comment_event = base(EventKind::CommentAdded).comment(c.id);
    if solved_by.is_some() {
        comment_event = comment_event.data(serde_json::json!({ "solves": true }));
    }
    let mut ids = vec![events::record(db, comment_event).await?];
    if let Some(to) = to {
        let mut status_event =
            base(EventKind::StatusChanged).status(Some(t.status.as_str()), to.as_str());
        if solved_by.is_some() {
            status_event = status_event.data(serde_json::json!({ "comment_id": c.id }));
        }
        ids.push(events::record(db, status_event).await?);
    }
    Ok(Some(ids))
}

/// Applies one effect to every ticket linked to an escalation. `None`: retry.
pub async fn affect_linked(
    db: &impl ConnectionTrait,
    actor: &Actor,
    escalation_id: i64,
    effect: Effect<'_>,
) -> AppResult<Option<Vec<i64>>> {
    let mut ids = Vec::new();
    for t in linked(db, escalation_id).await? {
        match affect_ticket(db, actor, escalation_id, &t, effect).await? {
            Some(more) => ids.extend(more),
            None => return Ok(None),
        }
    }
    Ok(Some(ids))
}

/// The release-time effects for every escalation scheduled into a release: hotfix tickets
/// solved (`RELEASE`, once). Called by `releases` when a hotfix release becomes imminent or
/// ships. `None`: retry.
pub async fn solve_hotfix_tickets(
    db: &impl ConnectionTrait,
    actor: &Actor,
    release_id: i64,
) -> AppResult<Option<Vec<i64>>> {
    let scheduled = escalation::Entity::find()
        .filter(escalation::Column::ReleaseId.eq(release_id))
        .filter(escalation::Column::Track.eq(EscalationTrack::Hotfix))
        .filter(escalation::Column::Status.eq(EscalationStatus::Scheduled))
        .order_by(escalation::Column::Id, Order::Asc)
        .lock(LockType::NoKeyUpdate)
        .all(db)
        .await?;
    let mut ids = Vec::new();
    for e in scheduled {
        match affect_linked(db, actor, e.id, HOTFIX_SHIPPING).await? {
            Some(more) => ids.extend(more),
            None => return Ok(None),
        }
    }
    Ok(Some(ids))
}

/// Writes `am` over escalation `e` if nobody changed it since it was read. `None`: retry.
pub async fn save_escalation(
    db: &impl ConnectionTrait,
    e: &escalation::Model,
    mut am: escalation::ActiveModel,
) -> AppResult<Option<escalation::Model>> {
    am.lock_version = Set(e.lock_version + 1);
    am.updated_at = Set(Utc::now());
    rows::update_unchanged::<escalation::Entity>(
        db,
        am,
        (escalation::Column::Id, e.id),
        (escalation::Column::LockVersion, e.lock_version),
    )
    .await
}

/// Records an escalation change on every linked ticket (so ticket histories and
/// subscriptions scoped by ticket see it); public unless stated.
pub async fn record_on_linked(
    db: &impl ConnectionTrait,
    kind: EventKind,
    actor: &Actor,
    e: &escalation::Model,
    public: bool,
    extra: impl Fn(NewEvent) -> NewEvent,
) -> AppResult<Vec<i64>> {
    let base = || {
        let b = if public {
            NewEvent::public(kind)
        } else {
            NewEvent::internal(kind)
        };
        b.actor(actor.id).escalation(e.id)
    };
    let tickets = linked(db, e.id).await?;
    let mut ids = Vec::with_capacity(tickets.len().max(1));
    for t in &tickets {
        ids.push(events::record(db, extra(base().ticket(t.id, t.org_id))).await?);
    }
    if tickets.is_empty() {
        ids.push(events::record(db, extra(base())).await?);
    }
    Ok(ids)
}

/// Frees an escalation's tickets once it is released or declined.
pub async fn close_links(db: &impl ConnectionTrait, escalation_id: i64) -> AppResult<()> {
    escalation_ticket::Entity::update_many()
        .set(escalation_ticket::ActiveModel {
            open_ticket_id: Set(None),
            ..Default::default()
        })
        .filter(escalation_ticket::Column::EscalationId.eq(escalation_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every ticket linked to an escalation (workflow use only, never returned to clients).
async fn linked(db: &impl ConnectionTrait, escalation_id: i64) -> AppResult<Vec<ticket::Model>> {
    let linked = Query::select()
        .column(escalation_ticket::Column::TicketId)
        .from(escalation_ticket::Entity)
        .and_where(escalation_ticket::Column::EscalationId.eq(escalation_id))
        .to_owned();
    // Locked for the write that follows (see `rows::one_visible_for_update`), in id order so
    // two writers of overlapping sets of tickets queue instead of deadlocking.
    Ok(ticket::Entity::find()
        .filter(ticket::Column::Id.in_subquery(linked))
        .order_by(ticket::Column::Id, Order::Asc)
        .lock(LockType::NoKeyUpdate)
        .all(db)
        .await?)
}
