//! The escalation commands, each one transaction retried on a lost optimistic-lock race:
//! escalating and linking tickets (agents), triage onto a track, assignment, decline and
//! scheduling (the triage lead), and updates (Tier 3), with what each does to the linked
//! tickets (`linked_tickets`).

use chrono::Utc;
use entity::{
    EscalationPriority, EscalationStatus, EscalationTrack, SolvedBy, app_user, escalation,
    escalation_ticket, escalation_update, ticket,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};

use crate::{
    auth::{Actor, Viewer},
    domain::{
        escalations::reads::load_for_update,
        linked_tickets::{
            self, Effect, affect_linked, affect_ticket, close_links, effect_of_state,
            record_on_linked, save_escalation,
        },
        policy, releases, tickets, transitions,
        write::{MAX_BODY, MAX_SUBJECT, required_text, retrying},
    },
    error::{AppError, AppResult},
    events::{self, EventBus, EventKind, NewEvent},
};

/// What `escalateTicket` asks for.
#[derive(Debug, Clone)]
pub struct NewEscalation {
    pub ticket_id: i64,
    /// Public: customers and release notes see it.
    pub title: String,
    /// Internal: staff only.
    pub details: String,
    pub priority: EscalationPriority,
}

/// Refuses linking a ticket that already has an open escalation.
async fn require_no_open_escalation(db: &impl ConnectionTrait, ticket_id: i64) -> AppResult<()> {
    let open = escalation_ticket::Entity::find()
        .filter(escalation_ticket::Column::OpenTicketId.eq(ticket_id))
        .one(db)
        .await?;
    match open {
        Some(_) => Err(AppError::InvalidTransition {
            item: "ticket",
            from: "ESCALATED",
            action: "escalate (it already has an open escalation)".into(),
        }),
        None => Ok(()),
    }
}

async fn link(
    db: &impl ConnectionTrait,
    actor: &Actor,
    escalation_id: i64,
    ticket_id: i64,
) -> AppResult<()> {
    escalation_ticket::Entity::insert(escalation_ticket::ActiveModel {
        escalation_id: Set(escalation_id),
        ticket_id: Set(ticket_id),
        open_ticket_id: Set(Some(ticket_id)),
        linked_by_id: Set(actor.id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Escalates a ticket to Tier 3 (agents): a new escalation awaiting triage, linked to the
/// ticket, and a public comment telling the customer.
#[tracing::instrument(skip_all)]
pub async fn escalate(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    input: NewEscalation,
) -> AppResult<escalation::Model> {
    let actor = policy::signed_in(v)?;
    let title = required_text("title", &input.title, MAX_SUBJECT)?;
    let details = required_text("details", &input.details, MAX_BODY)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let t = tickets::load_for_update(&txn, v, input.ticket_id).await?;
        policy::can_escalate(actor)?;
        transitions::edit_ticket(t.status)?;
        require_no_open_escalation(&txn, t.id).await?;
        let now = Utc::now();
        let e = escalation::Entity::insert(escalation::ActiveModel {
            title: Set(title.clone()),
            details: Set(details.clone()),
            status: Set(EscalationStatus::AwaitingTriage),
            track: Set(None),
            priority: Set(input.priority),
            assignee_id: Set(None),
            release_id: Set(None),
            created_by_id: Set(actor.id),
            decline_reason: Set(None),
            lock_version: Set(0),
            triaged_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        link(&txn, actor, e.id, t.id).await?;
        let mut ids = record_on_linked(&txn, EventKind::Escalated, actor, &e, true, |b| {
            b.status(None, e.status.as_str())
        })
        .await?;
        let Some(more) = affect_ticket(&txn, actor, e.id, &t, linked_tickets::ESCALATED).await?
        else {
            return Ok(None);
        };
        ids.extend(more);
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some(e))
    })
    .await
}

/// Links another ticket reporting the same problem (any organization) to an open
/// escalation (agents); the ticket then follows the escalation's track from here on.
#[tracing::instrument(skip_all)]
pub async fn link_ticket(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    escalation_id: i64,
    ticket_id: i64,
) -> AppResult<(escalation::Model, ticket::Model)> {
    let actor = policy::signed_in(v)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let e = load_for_update(&txn, v, escalation_id).await?;
        let t = tickets::load_for_update(&txn, v, ticket_id).await?;
        policy::can_escalate(actor)?;
        transitions::require_open(e.status, "link a ticket to")?;
        transitions::edit_ticket(t.status)?;
        require_no_open_escalation(&txn, t.id).await?;
        link(&txn, actor, e.id, t.id).await?;
        // Bump the escalation so a concurrent triage/ship sees this link or retries.
        let Some(e) = save_escalation(&txn, &e, escalation::ActiveModel::default()).await? else {
            return Ok(None);
        };
        // Only the newly linked ticket hears of the link: other customers never learn of it.
        let mut ids = vec![
            events::record(
                &txn,
                NewEvent::public(EventKind::TicketLinked)
                    .actor(actor.id)
                    .escalation(e.id)
                    .ticket(t.id, t.org_id),
            )
            .await?,
        ];
        if let Some((effect, _)) = effect_of_state(&txn, &e).await? {
            let Some(more) = affect_ticket(&txn, actor, e.id, &t, effect).await? else {
                return Ok(None);
            };
            ids.extend(more);
        }
        let t = ticket::Entity::find_by_id(t.id)
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some((e, t)))
    })
    .await
}

/// Checks an escalation assignee: a developer or the triage lead.
async fn check_assignee(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    match app_user::Entity::find_by_id(user_id).one(db).await? {
        Some(u) if policy::can_be_escalation_assignee(u.role) => Ok(()),
        Some(_) => Err(AppError::bad_input(
            "escalations can only be assigned to developers or triage leads",
        )),
        None => Err(AppError::bad_input("`assigneeId` is not a known user")),
    }
}

/// What `triageEscalation` asks for.
#[derive(Debug, Clone)]
pub struct Triage {
    pub escalation_id: i64,
    pub track: EscalationTrack,
    pub priority: Option<EscalationPriority>,
    pub assignee_id: Option<i64>,
}

/// Triage (triage lead): `HOTFIX` puts every linked ticket on hold; planning and feature
/// requests solve them at once (`TRIAGE`) and the escalation waits under review.
#[tracing::instrument(skip_all)]
pub async fn triage(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    input: Triage,
) -> AppResult<escalation::Model> {
    let actor = policy::signed_in(v)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let e = load_for_update(&txn, v, input.escalation_id).await?;
        policy::can_triage(actor)?;
        let to = transitions::triage(e.status, input.track)?;
        if let Some(a) = input.assignee_id {
            check_assignee(&txn, a).await?;
        }
        let mut am = escalation::ActiveModel {
            status: Set(to),
            track: Set(Some(input.track)),
            triaged_at: Set(Some(Utc::now())),
            ..Default::default()
        };
        if let Some(p) = input.priority {
            am.priority = Set(p);
        }
        if let Some(a) = input.assignee_id {
            am.assignee_id = Set(Some(a));
        }
        let Some(saved) = save_escalation(&txn, &e, am).await? else {
            return Ok(None);
        };
        let data = serde_json::json!({
            "track": input.track.as_str(),
            "priority": saved.priority.as_str(),
        });
        let mut ids = record_on_linked(&txn, EventKind::Triaged, actor, &saved, true, |b| {
            b.status(Some(e.status.as_str()), to.as_str())
                .data(data.clone())
        })
        .await?;
        if let Some(a) = input.assignee_id {
            let data = serde_json::json!({ "assigneeId": a });
            ids.extend(
                record_on_linked(
                    &txn,
                    EventKind::EscalationAssigned,
                    actor,
                    &saved,
                    false,
                    |b| b.data(data.clone()),
                )
                .await?,
            );
        }
        let effect = linked_tickets::on_triage(input.track);
        let Some(more) = affect_linked(&txn, actor, saved.id, effect).await? else {
            return Ok(None);
        };
        ids.extend(more);
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some(saved))
    })
    .await
}

/// Assigns an open escalation to a developer or triage lead (triage lead).
#[tracing::instrument(skip_all)]
pub async fn assign(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    escalation_id: i64,
    assignee_id: i64,
) -> AppResult<escalation::Model> {
    let actor = policy::signed_in(v)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let e = load_for_update(&txn, v, escalation_id).await?;
        policy::can_triage(actor)?;
        transitions::require_open(e.status, "assign")?;
        check_assignee(&txn, assignee_id).await?;
        let am = escalation::ActiveModel {
            assignee_id: Set(Some(assignee_id)),
            ..Default::default()
        };
        let Some(saved) = save_escalation(&txn, &e, am).await? else {
            return Ok(None);
        };
        let data = serde_json::json!({ "from": e.assignee_id, "to": assignee_id });
        let ids = record_on_linked(
            &txn,
            EventKind::EscalationAssigned,
            actor,
            &saved,
            false,
            |b| b.data(data.clone()),
        )
        .await?;
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some(saved))
    })
    .await
}

/// Posts an update (Tier 3). On the hotfix track a public update is relayed to every linked
/// ticket as a public comment; internal updates stay with staff.
#[tracing::instrument(skip_all)]
pub async fn post_update(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    escalation_id: i64,
    body: &str,
    public: bool,
) -> AppResult<(escalation::Model, escalation_update::Model)> {
    let actor = policy::signed_in(v)?;
    let body = required_text("body", body, MAX_BODY)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let e = load_for_update(&txn, v, escalation_id).await?;
        policy::can_post_escalation_update(actor)?;
        transitions::require_open(e.status, "post an update on")?;
        let Some(e) = save_escalation(&txn, &e, escalation::ActiveModel::default()).await? else {
            return Ok(None);
        };
        let u = escalation_update::Entity::insert(escalation_update::ActiveModel {
            escalation_id: Set(e.id),
            author_id: Set(actor.id),
            body: Set(body.clone()),
            public: Set(public),
            created_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        let mut ids = record_on_linked(
            &txn,
            EventKind::EscalationUpdatePosted,
            actor,
            &e,
            public,
            |b| b.escalation_update(u.id),
        )
        .await?;
        if public && e.track == Some(EscalationTrack::Hotfix) {
            let relayed = format!("Update from Tier 3: {body}");
            let Some(more) = affect_linked(&txn, actor, e.id, Effect::Tell(&relayed)).await? else {
                return Ok(None);
            };
            ids.extend(more);
        }
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some((e, u)))
    })
    .await
}

/// Declines an escalation under review (triage lead); its tickets are free to be escalated
/// again.
#[tracing::instrument(skip_all)]
pub async fn decline(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    escalation_id: i64,
    reason: &str,
) -> AppResult<escalation::Model> {
    let actor = policy::signed_in(v)?;
    let reason = required_text("reason", reason, MAX_BODY)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let e = load_for_update(&txn, v, escalation_id).await?;
        policy::can_triage(actor)?;
        let to = transitions::decline(e.status)?;
        let am = escalation::ActiveModel {
            status: Set(to),
            decline_reason: Set(Some(reason.clone())),
            ..Default::default()
        };
        let Some(saved) = save_escalation(&txn, &e, am).await? else {
            return Ok(None);
        };
        close_links(&txn, saved.id).await?;
        let ids = record_on_linked(
            &txn,
            EventKind::EscalationDeclined,
            actor,
            &saved,
            true,
            |b| b.status(Some(e.status.as_str()), to.as_str()),
        )
        .await?;
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some(saved))
    })
    .await
}

/// Schedules an escalation into a release (triage lead): a hotfix only into a `HOTFIX`
/// release, planning and feature requests only into `QUARTERLY` ones, never into a released
/// one. A hotfix scheduled into a release that is already imminent solves its tickets now.
#[tracing::instrument(skip_all)]
pub async fn schedule(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    escalation_id: i64,
    release_id: i64,
) -> AppResult<escalation::Model> {
    let actor = policy::signed_in(v)?;
    retrying(|| async {
        let txn = db.begin().await?;
        // The release first, as shipping it locks it before its escalations: one order, so
        // scheduling and shipping queue rather than deadlock.
        let r = releases::load_for_update(&txn, v, release_id).await?;
        let e = load_for_update(&txn, v, escalation_id).await?;
        policy::can_triage(actor)?;
        let to = transitions::schedule(e.status, e.track, r.kind, r.status)?;
        // Bump the release too, so scheduling and shipping it cannot interleave.
        if !releases::touch(&txn, &r).await? {
            return Ok(None);
        }
        let am = escalation::ActiveModel {
            status: Set(to),
            release_id: Set(Some(r.id)),
            ..Default::default()
        };
        let Some(saved) = save_escalation(&txn, &e, am).await? else {
            return Ok(None);
        };
        let mut ids = record_on_linked(
            &txn,
            EventKind::EscalationScheduled,
            actor,
            &saved,
            true,
            |b| b.release(r.id).status(Some(e.status.as_str()), to.as_str()),
        )
        .await?;
        if let Some((effect @ Effect::Solve(SolvedBy::Release, _), true)) =
            effect_of_state(&txn, &saved).await?
        {
            let Some(more) = affect_linked(&txn, actor, saved.id, effect).await? else {
                return Ok(None);
            };
            ids.extend(more);
        }
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some(saved))
    })
    .await
}
