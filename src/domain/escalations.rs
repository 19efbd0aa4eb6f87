//! Tier 3 escalations: escalating and linking tickets, triage onto a track, assignment,
//! updates relayed to customers, decline and scheduling (DESIGN.md "The workflow it serves").

use chrono::Utc;
use entity::{
    EscalationPriority, EscalationStatus, EscalationTrack, SolvedBy, TicketStatus, app_user,
    comment, escalation, escalation_ticket, escalation_update, release, ticket,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    Order, QueryFilter, QueryOrder, QuerySelect, QueryTrait, TransactionTrait, sea_query::Query,
};

use crate::{
    auth::{Actor, Viewer},
    domain::{
        page::{self, Page, PageArgs},
        policy, rows,
        tickets::{self, MAX_BODY, MAX_SUBJECT, required_text, retrying},
        transitions,
    },
    error::{AppError, AppResult},
    events::{self, EventBus, EventKind, NewEvent},
};

/// The label DESIGN.md gives each priority.
pub fn priority_label(p: EscalationPriority) -> &'static str {
    match p {
        EscalationPriority::P0 => "Business Halted",
        EscalationPriority::P1 => "Business Impacted",
        EscalationPriority::P2 => "Standard",
        EscalationPriority::P3 => "Service Request",
    }
}

/// Client-side narrowing of the escalation queue (ANDed with the viewer's scope).
#[derive(Debug, Clone, Default)]
pub struct EscalationFilter {
    pub statuses: Vec<EscalationStatus>,
    pub tracks: Vec<EscalationTrack>,
    pub priorities: Vec<EscalationPriority>,
    pub assignee_id: Option<i64>,
    pub release_id: Option<i64>,
    /// `true`: neither released nor declined; `false`: released or declined.
    pub open: Option<bool>,
}

impl EscalationFilter {
    fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if !self.statuses.is_empty() {
            c = c.add(escalation::Column::Status.is_in(self.statuses.iter().copied()));
        }
        if !self.tracks.is_empty() {
            c = c.add(escalation::Column::Track.is_in(self.tracks.iter().copied()));
        }
        if !self.priorities.is_empty() {
            c = c.add(escalation::Column::Priority.is_in(self.priorities.iter().copied()));
        }
        if let Some(id) = self.assignee_id {
            c = c.add(escalation::Column::AssigneeId.eq(id));
        }
        if let Some(id) = self.release_id {
            c = c.add(escalation::Column::ReleaseId.eq(id));
        }
        let closed = [EscalationStatus::Released, EscalationStatus::Declined];
        match self.open {
            Some(true) => c = c.add(escalation::Column::Status.is_not_in(closed)),
            Some(false) => c = c.add(escalation::Column::Status.is_in(closed)),
            None => {}
        }
        c
    }
}

/// One escalation through the viewer's scope.
pub async fn load_visible(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<escalation::Model> {
    rows::one_visible::<escalation::Entity>(db, id, policy::escalation_scope(db, v).await?).await
}

/// Many escalations by id (DataLoader), through the viewer's scope.
pub async fn load_many(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ids: &[i64],
) -> AppResult<Vec<escalation::Model>> {
    rows::many_visible::<escalation::Entity>(
        db,
        escalation::Column::Id,
        ids,
        policy::escalation_scope(db, v).await?,
    )
    .await
}

/// The queue: priority first (`P0` first), then oldest first. Keyset on (priority, id).
pub async fn list(
    db: &impl ConnectionTrait,
    v: &Viewer,
    filter: &EscalationFilter,
    args: PageArgs,
) -> AppResult<Page<escalation::Entity>> {
    let scope = policy::escalation_scope(db, v).await?;
    let mut all = escalation::Entity::find()
        .filter(scope.clone())
        .filter(filter.condition());
    // The assignee is staff-only: for anyone else an assignee filter matches nothing, so
    // its answer cannot depend on (and so cannot reveal) who the assignee is.
    if filter.assignee_id.is_some() && !policy::sees_internal(v) {
        all = all.filter(Condition::any());
    }
    let mut q = all.clone();
    if let Some(after) = args.after {
        // The cursor names the last row seen; continue after its (priority, id). A cursor
        // naming a row the viewer cannot see behaves exactly like one naming no row.
        let last = escalation::Entity::find_by_id(after)
            .filter(scope)
            .one(db)
            .await?;
        if let Some(last) = last {
            q = q.filter(
                Condition::any()
                    .add(escalation::Column::Priority.gt(last.priority))
                    .add(
                        Condition::all()
                            .add(escalation::Column::Priority.eq(last.priority))
                            .add(escalation::Column::Id.gt(last.id)),
                    ),
            );
        } else {
            q = q.filter(escalation::Column::Id.gt(after));
        }
    }
    let mut items = if args.first == 0 {
        Vec::new()
    } else {
        q.order_by(escalation::Column::Priority, Order::Asc)
            .order_by(escalation::Column::Id, Order::Asc)
            .limit(args.first + 1)
            .all(db)
            .await?
    };
    let has_next = items.len() as u64 > args.first;
    items.truncate(args.first as usize);
    Ok(Page {
        items,
        has_next,
        has_previous: args.after.is_some(),
        count: page::Count::Rows(all),
    })
}

/// The latest escalation linked to each of many tickets the viewer sees, for
/// `Ticket.escalation`: ticket id → escalation.
///
/// Authorized by `escalation_scope`'s own rule (a customer sees the escalations linked to
/// tickets they see), applied by joining each link to its ticket under `ticket_scope`:
/// a primary-key probe per ticket, where `escalation_scope`'s subquery would first list
/// every ticket in the viewer's scope (20,000 for a large organization, ~5 ms on SQLite).
pub async fn latest_for_tickets(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ticket_ids: &[i64],
) -> AppResult<Vec<(i64, escalation::Model)>> {
    let links = escalation_ticket::Entity::find()
        .inner_join(ticket::Entity)
        .filter(rows::any_of(
            db.get_database_backend(),
            escalation_ticket::Column::TicketId,
            ticket_ids,
        ))
        // Also on the ticket side: a generic plan otherwise merge-joins against every
        // ticket in scope instead of probing these.
        .filter(rows::any_of(
            db.get_database_backend(),
            ticket::Column::Id,
            ticket_ids,
        ))
        .filter(policy::ticket_scope(db, v).await?)
        .order_by(escalation_ticket::Column::Id, Order::Desc)
        .all(db)
        .await?;
    let mut seen = std::collections::HashSet::new();
    let latest: Vec<(i64, i64)> = links
        .into_iter()
        .filter(|l| seen.insert(l.ticket_id))
        .map(|l| (l.ticket_id, l.escalation_id))
        .collect();
    let ids: Vec<i64> = latest.iter().map(|(_, e)| *e).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Visible through the links just checked: no second scope condition.
    let found: std::collections::HashMap<i64, escalation::Model> = escalation::Entity::find()
        .filter(rows::any_of(
            db.get_database_backend(),
            escalation::Column::Id,
            &ids,
        ))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    Ok(latest
        .into_iter()
        .filter_map(|(t, e)| found.get(&e).map(|m| (t, m.clone())))
        .collect())
}

/// Condition on tickets: linked to an open hotfix escalation (for "review your open hotfix
/// tickets").
pub fn has_open_hotfix(yes: bool) -> Condition {
    let hot = escalation::Entity::find()
        .select_only()
        .column(escalation::Column::Id)
        .filter(escalation::Column::Track.eq(EscalationTrack::Hotfix))
        .filter(
            escalation::Column::Status
                .is_not_in([EscalationStatus::Released, EscalationStatus::Declined]),
        )
        .into_query();
    let linked = Query::select()
        .column(escalation_ticket::Column::TicketId)
        .from(escalation_ticket::Entity)
        .and_where(escalation_ticket::Column::EscalationId.in_subquery(hot))
        .to_owned();
    if yes {
        Condition::all().add(ticket::Column::Id.in_subquery(linked))
    } else {
        Condition::all().add(ticket::Column::Id.not_in_subquery(linked))
    }
}

/// One update by id: visible when its escalation is and it passes the public filter.
pub async fn load_update(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<escalation_update::Model> {
    let u = escalation_update::Entity::find_by_id(id)
        .filter(policy::public_only(v, escalation_update::Column::Public))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    load_visible(db, v, u.escalation_id).await?;
    Ok(u)
}

/// Updates of one (visible) escalation, oldest first; customers see public ones only.
pub async fn updates(
    db: &impl ConnectionTrait,
    v: &Viewer,
    escalation_id: i64,
    args: PageArgs,
) -> AppResult<Page<escalation_update::Entity>> {
    let select = escalation_update::Entity::find()
        .filter(escalation_update::Column::EscalationId.eq(escalation_id))
        .filter(policy::public_only(v, escalation_update::Column::Public));
    page::fetch(db, select, escalation_update::Column::Id, Order::Asc, args).await
}

/// The tickets of one (visible) escalation that the viewer may see: a customer only ever
/// learns of their own visible tickets, never the others linked to it.
pub async fn tickets_of(
    db: &impl ConnectionTrait,
    v: &Viewer,
    escalation_id: i64,
    args: PageArgs,
) -> AppResult<Page<ticket::Entity>> {
    let linked = Query::select()
        .column(escalation_ticket::Column::TicketId)
        .from(escalation_ticket::Entity)
        .and_where(escalation_ticket::Column::EscalationId.eq(escalation_id))
        .to_owned();
    let select = ticket::Entity::find()
        .filter(ticket::Column::Id.in_subquery(linked))
        .filter(policy::ticket_scope(db, v).await?);
    page::fetch(db, select, ticket::Column::Id, Order::Asc, args).await
}

/// Every ticket linked to an escalation (workflow use only, never returned to clients).
async fn linked_tickets(
    db: &impl ConnectionTrait,
    escalation_id: i64,
) -> AppResult<Vec<ticket::Model>> {
    let linked = Query::select()
        .column(escalation_ticket::Column::TicketId)
        .from(escalation_ticket::Entity)
        .and_where(escalation_ticket::Column::EscalationId.eq(escalation_id))
        .to_owned();
    Ok(ticket::Entity::find()
        .filter(ticket::Column::Id.in_subquery(linked))
        .order_by(ticket::Column::Id, Order::Asc)
        .all(db)
        .await?)
}

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
    let mut ids = vec![events::record(db, base(EventKind::CommentAdded).comment(c.id)).await?];
    if let Some(to) = to {
        ids.push(
            events::record(
                db,
                base(EventKind::StatusChanged).status(Some(t.status.as_str()), to.as_str()),
            )
            .await?,
        );
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
    for t in linked_tickets(db, escalation_id).await? {
        match affect_ticket(db, actor, escalation_id, &t, effect).await? {
            Some(more) => ids.extend(more),
            None => return Ok(None),
        }
    }
    Ok(Some(ids))
}

/// Writes `am` over `e` if nobody changed it since it was read. `None`: retry.
pub async fn save(
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
pub async fn record_escalation_event(
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
    let tickets = linked_tickets(db, e.id).await?;
    let mut ids = Vec::with_capacity(tickets.len().max(1));
    for t in &tickets {
        ids.push(events::record(db, extra(base().ticket(t.id, t.org_id))).await?);
    }
    if tickets.is_empty() {
        ids.push(events::record(db, extra(base())).await?);
    }
    Ok(ids)
}

/// The ticket-side effect of the escalation's current state, for a ticket linked now.
async fn effect_of_state(
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
        (None, S::AwaitingTriage) => Some((Effect::Tell(ESCALATED_MESSAGE), false)),
        (Some(EscalationTrack::Hotfix), S::Scheduled)
            if release_status.is_some_and(|s| s != entity::ReleaseStatus::Planned) =>
        {
            Some((
                Effect::Solve(SolvedBy::Release, HOTFIX_SHIPPING_MESSAGE),
                true,
            ))
        }
        (Some(EscalationTrack::Hotfix), _) => Some((Effect::Hold(HOTFIX_MESSAGE), false)),
        (Some(_), _) => Some((Effect::Solve(SolvedBy::Triage, REVIEW_MESSAGE), false)),
        (None, _) => None,
    })
}

const ESCALATED_MESSAGE: &str = "We have escalated this to our Tier 3 development team. \
We will keep you posted on this ticket.";
const HOTFIX_MESSAGE: &str = "Tier 3 is working on a hotfix for this. Your ticket stays open \
(on hold) and every update from the team will be posted here.";
const REVIEW_MESSAGE: &str = "Tier 3 is reviewing this for product planning. We are marking \
this ticket solved for now and will let you know when what you asked for ships.";
const HOTFIX_SHIPPING_MESSAGE: &str = "The hotfix for this is being released now. We are \
marking this ticket solved; reply here if anything is still wrong.";

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
        let t = tickets::load_visible(&txn, v, input.ticket_id).await?;
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
        let mut ids = record_escalation_event(&txn, EventKind::Escalated, actor, &e, true, |b| {
            b.status(None, e.status.as_str())
        })
        .await?;
        let Some(more) =
            affect_ticket(&txn, actor, e.id, &t, Effect::Tell(ESCALATED_MESSAGE)).await?
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
        let e = load_visible(&txn, v, escalation_id).await?;
        let t = tickets::load_visible(&txn, v, ticket_id).await?;
        policy::can_escalate(actor)?;
        transitions::require_open(e.status, "link a ticket to")?;
        transitions::edit_ticket(t.status)?;
        require_no_open_escalation(&txn, t.id).await?;
        link(&txn, actor, e.id, t.id).await?;
        // Bump the escalation so a concurrent triage/ship sees this link or retries.
        let Some(e) = save(&txn, &e, escalation::ActiveModel::default()).await? else {
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
        let e = load_visible(&txn, v, input.escalation_id).await?;
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
        let Some(saved) = save(&txn, &e, am).await? else {
            return Ok(None);
        };
        let data = serde_json::json!({
            "track": input.track.as_str(),
            "priority": saved.priority.as_str(),
        });
        let mut ids = record_escalation_event(&txn, EventKind::Triaged, actor, &saved, true, |b| {
            b.status(Some(e.status.as_str()), to.as_str())
                .data(data.clone())
        })
        .await?;
        if let Some(a) = input.assignee_id {
            let data = serde_json::json!({ "assigneeId": a });
            ids.extend(
                record_escalation_event(
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
        let effect = match input.track {
            EscalationTrack::Hotfix => Effect::Hold(HOTFIX_MESSAGE),
            _ => Effect::Solve(SolvedBy::Triage, REVIEW_MESSAGE),
        };
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
        let e = load_visible(&txn, v, escalation_id).await?;
        policy::can_triage(actor)?;
        transitions::require_open(e.status, "assign")?;
        check_assignee(&txn, assignee_id).await?;
        let am = escalation::ActiveModel {
            assignee_id: Set(Some(assignee_id)),
            ..Default::default()
        };
        let Some(saved) = save(&txn, &e, am).await? else {
            return Ok(None);
        };
        let data = serde_json::json!({ "from": e.assignee_id, "to": assignee_id });
        let ids = record_escalation_event(
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
        let e = load_visible(&txn, v, escalation_id).await?;
        policy::can_post_escalation_update(actor)?;
        transitions::require_open(e.status, "post an update on")?;
        let Some(e) = save(&txn, &e, escalation::ActiveModel::default()).await? else {
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
        let mut ids = record_escalation_event(
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
        let e = load_visible(&txn, v, escalation_id).await?;
        policy::can_triage(actor)?;
        let to = transitions::decline(e.status)?;
        let am = escalation::ActiveModel {
            status: Set(to),
            decline_reason: Set(Some(reason.clone())),
            ..Default::default()
        };
        let Some(saved) = save(&txn, &e, am).await? else {
            return Ok(None);
        };
        close_links(&txn, saved.id).await?;
        let ids = record_escalation_event(
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
        let e = load_visible(&txn, v, escalation_id).await?;
        let r = crate::domain::releases::load_visible(&txn, v, release_id).await?;
        policy::can_triage(actor)?;
        let to = transitions::schedule(e.status, e.track, r.kind, r.status)?;
        // Bump the release too, so scheduling and shipping it cannot interleave.
        if !crate::domain::releases::touch(&txn, &r).await? {
            return Ok(None);
        }
        let am = escalation::ActiveModel {
            status: Set(to),
            release_id: Set(Some(r.id)),
            ..Default::default()
        };
        let Some(saved) = save(&txn, &e, am).await? else {
            return Ok(None);
        };
        let mut ids = record_escalation_event(
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

/// The release-time effects for every escalation scheduled into a release: hotfix tickets
/// solved (`RELEASE`, once). Called by `releases` inside its transaction. `None`: retry.
pub async fn solve_hotfix_tickets(
    db: &impl ConnectionTrait,
    actor: &Actor,
    release_id: i64,
) -> AppResult<Option<Vec<i64>>> {
    let scheduled = escalation::Entity::find()
        .filter(escalation::Column::ReleaseId.eq(release_id))
        .filter(escalation::Column::Track.eq(EscalationTrack::Hotfix))
        .filter(escalation::Column::Status.eq(EscalationStatus::Scheduled))
        .all(db)
        .await?;
    let mut ids = Vec::new();
    for e in scheduled {
        let effect = Effect::Solve(SolvedBy::Release, HOTFIX_SHIPPING_MESSAGE);
        match affect_linked(db, actor, e.id, effect).await? {
            Some(more) => ids.extend(more),
            None => return Ok(None),
        }
    }
    Ok(Some(ids))
}
