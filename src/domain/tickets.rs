//! Tickets: opening, reading through the one visibility filter, and changing them.

use chrono::Utc;
use entity::{
    EscalationStatus, EscalationTrack, SolvedBy, TicketPriority, TicketStatus, app_user, counter,
    escalation, escalation_ticket, ticket, ticket_tally,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait, Order,
    QueryFilter, QuerySelect, QueryTrait, TransactionTrait,
    sea_query::{Expr, Query},
};

use crate::{
    auth::{Actor, Viewer},
    domain::{
        page::{self, Page, PageArgs},
        policy, rows, transitions,
        write::{MAX_BODY, MAX_SUBJECT, required_text, retrying},
    },
    error::{AppError, AppResult},
    events::{self, EventBus, EventKind, NewEvent},
};

/// Client-side narrowing of a ticket list (ANDed with the viewer's scope, never ORed).
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub priorities: Vec<TicketPriority>,
    pub requester_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub unassigned: Option<bool>,
    pub org_id: Option<i64>,
    /// Linked (or not) to a hotfix escalation that has not shipped yet.
    pub has_open_hotfix: Option<bool>,
}

impl TicketFilter {
    /// Whether the tally (organization × status) can count this filter.
    fn tally_counts(&self) -> bool {
        self.priorities.is_empty()
            && self.requester_id.is_none()
            && self.assignee_id.is_none()
            && self.unassigned.is_none()
            && self.has_open_hotfix.is_none()
    }

    /// The same narrowing over `ticket_tally` rows (only when `tally_counts`).
    fn tally_condition(&self) -> Condition {
        let mut c = Condition::all();
        if !self.statuses.is_empty() {
            c = c.add(ticket_tally::Column::Status.is_in(self.statuses.iter().copied()));
        }
        if let Some(id) = self.org_id {
            c = c.add(ticket_tally::Column::OrgId.eq(id));
        }
        c
    }

    fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if !self.statuses.is_empty() {
            c = c.add(ticket::Column::Status.is_in(self.statuses.iter().copied()));
        }
        if !self.priorities.is_empty() {
            c = c.add(ticket::Column::Priority.is_in(self.priorities.iter().copied()));
        }
        if let Some(id) = self.requester_id {
            c = c.add(ticket::Column::RequesterId.eq(id));
        }
        if let Some(id) = self.assignee_id {
            c = c.add(ticket::Column::AssigneeId.eq(id));
        }
        match self.unassigned {
            Some(true) => c = c.add(ticket::Column::AssigneeId.is_null()),
            Some(false) => c = c.add(ticket::Column::AssigneeId.is_not_null()),
            None => {}
        }
        if let Some(id) = self.org_id {
            c = c.add(ticket::Column::OrgId.eq(id));
        }
        if let Some(yes) = self.has_open_hotfix {
            c = c.add(has_open_hotfix(yes));
        }
        c
    }
}

/// Tickets linked (or not) to an open hotfix escalation, for "review your open hotfix
/// tickets".
fn has_open_hotfix(yes: bool) -> Condition {
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

/// What `createTicket` asks for.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: String,
    pub description: String,
    pub priority: Option<TicketPriority>,
}

/// What `updateTicket` asks for; `assignee` is `Some(None)` to unassign.
#[derive(Debug, Clone, Default)]
pub struct TicketChanges {
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    pub assignee: Option<Option<i64>>,
}

impl TicketChanges {
    fn is_empty(&self) -> bool {
        self.status.is_none() && self.priority.is_none() && self.assignee.is_none()
    }
}

/// One ticket by id through the viewer's scope; invisible is `NOT_FOUND`.
pub async fn load_visible(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<ticket::Model> {
    rows::one_visible::<ticket::Entity>(db, id, policy::ticket_scope(db, v).await?).await
}

/// One ticket by its human number through the viewer's scope.
pub async fn load_visible_by_number(
    db: &impl ConnectionTrait,
    v: &Viewer,
    number: i64,
) -> AppResult<ticket::Model> {
    ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number))
        .filter(policy::ticket_scope(db, v).await?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Tickets the viewer sees, newest first, narrowed by the client's filter.
pub async fn list(
    db: &impl ConnectionTrait,
    v: &Viewer,
    filter: &TicketFilter,
    args: PageArgs,
) -> AppResult<Page<ticket::Entity>> {
    let scope = policy::ticket_scope(db, v).await?;
    let select = ticket::Entity::find()
        .filter(scope)
        .filter(filter.condition());
    let page = page::fetch(db, select, ticket::Column::Id, Order::Desc, args).await?;
    // Same scope, same filter, summed over the tally: a handful of rows instead of every
    // matching ticket. Scopes the tally cannot express (a customer's own tickets) are
    // short lists, counted directly.
    match policy::ticket_tally_scope(db, v).await? {
        Some(scope) if filter.tally_counts() => {
            let sum = ticket_tally::Entity::find()
                .select_only()
                // PostgreSQL sums BIGINT as NUMERIC.
                .expr(Expr::cust(r#"CAST(SUM("n") AS BIGINT)"#))
                .filter(scope)
                .filter(filter.tally_condition())
                .into_query();
            Ok(page.counted_by(page::Count::Sum(sum)))
        }
        _ => Ok(page),
    }
}

/// Many tickets by id for a DataLoader, through the viewer's scope.
pub async fn load_many(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ids: &[i64],
) -> AppResult<Vec<ticket::Model>> {
    rows::many_visible::<ticket::Entity>(
        db,
        ticket::Column::Id,
        ids,
        policy::ticket_scope(db, v).await?,
    )
    .await
}

/// Opens a ticket for the signed-in customer.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    input: NewTicket,
) -> AppResult<ticket::Model> {
    let actor = policy::signed_in(v)?;
    policy::can_create_ticket(actor)?;
    let org_id = actor
        .org_id
        .ok_or_else(|| AppError::forbidden("a ticket needs the requester's organization"))?;
    let subject = required_text("subject", &input.subject, MAX_SUBJECT)?;
    let description = required_text("description", &input.description, MAX_BODY)?;

    let txn = db.begin().await?;
    let number = next_ticket_number(&txn).await?;
    let now = Utc::now();
    let t = ticket::Entity::insert(ticket::ActiveModel {
        number: Set(number),
        subject: Set(subject),
        description: Set(description),
        status: Set(TicketStatus::New),
        priority: Set(input.priority.unwrap_or(TicketPriority::Normal)),
        solved_by: Set(None),
        requester_id: Set(actor.id),
        org_id: Set(org_id),
        assignee_id: Set(None),
        lock_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await?;
    let event = events::record(
        &txn,
        NewEvent::public(EventKind::TicketCreated)
            .actor(actor.id)
            .ticket(t.id, t.org_id)
            .status(None, t.status.as_str()),
    )
    .await?;
    txn.commit().await?;
    bus.committed(&[event]);
    Ok(t)
}

/// Takes the next human ticket number from the counter row (row-locked until commit).
async fn next_ticket_number(db: &impl ConnectionTrait) -> AppResult<i64> {
    let stmt = Query::update()
        .table(counter::Entity)
        .value(
            counter::Column::Value,
            Expr::col(counter::Column::Value).add(1),
        )
        .and_where(Expr::col(counter::Column::Name).eq("ticket_number"))
        .returning_col(counter::Column::Value)
        .to_owned();
    let row = db
        .query_one(&stmt)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("ticket_number counter missing")))?;
    Ok(row.try_get::<i64>("", "value")?)
}

/// Changes status, priority and/or assignee: scope (`NOT_FOUND`), role (`FORBIDDEN`),
/// then the status machine (`INVALID_TRANSITION`); one event per changed field.
#[tracing::instrument(skip_all)]
pub async fn update(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    id: i64,
    changes: TicketChanges,
) -> AppResult<ticket::Model> {
    let actor = policy::signed_in(v)?;
    if changes.is_empty() {
        return Err(AppError::bad_input(
            "give at least one of `status`, `priority`, `assigneeId`",
        ));
    }
    retrying(|| async {
        let txn = db.begin().await?;
        let current = load_visible(&txn, v, id).await?;
        authorize_update(actor, &current, &changes)?;
        let Some((saved, events)) = apply_update(&txn, actor, &current, &changes).await? else {
            return Ok(None); // lost a race with another writer: reload and decide again
        };
        txn.commit().await?;
        bus.committed(&events);
        Ok(Some(saved))
    })
    .await
}

fn authorize_update(actor: &Actor, t: &ticket::Model, changes: &TicketChanges) -> AppResult<()> {
    if policy::can_manage_tickets(actor) {
        return Ok(());
    }
    let only_solving = changes.status == Some(TicketStatus::Solved)
        && changes.priority.is_none()
        && changes.assignee.is_none();
    policy::require(
        only_solving && policy::can_solve_own(actor, t),
        "customers may only mark their own tickets solved",
    )
}

async fn apply_update(
    db: &impl ConnectionTrait,
    actor: &Actor,
    t: &ticket::Model,
    changes: &TicketChanges,
) -> AppResult<Option<(ticket::Model, Vec<i64>)>> {
    transitions::edit_ticket(t.status)?;
    let mut am = ticket::ActiveModel::default();
    let mut pending: Vec<NewEvent> = Vec::new();
    let base = |kind| {
        NewEvent::public(kind)
            .actor(actor.id)
            .ticket(t.id, t.org_id)
    };

    if let Some(to) = changes.status {
        let to = transitions::set_ticket_status(t.status, to)?;
        am.status = Set(to);
        am.solved_by = Set(match to {
            TicketStatus::Solved if actor.role == entity::Role::Customer => {
                Some(SolvedBy::Customer)
            }
            TicketStatus::Solved => Some(SolvedBy::Agent),
            TicketStatus::Closed => t.solved_by,
            _ => None,
        });
        pending.push(base(EventKind::StatusChanged).status(Some(t.status.as_str()), to.as_str()));
    }
    if let Some(p) = changes.priority
        && p != t.priority
    {
        am.priority = Set(p);
        pending.push(base(EventKind::PriorityChanged).data(serde_json::json!({
            "from": t.priority.as_str(), "to": p.as_str(),
        })));
    }
    if let Some(assignee) = changes.assignee
        && assignee != t.assignee_id
    {
        if let Some(user_id) = assignee {
            check_assignee(db, user_id).await?;
        }
        am.assignee_id = Set(assignee);
        pending.push(base(EventKind::AssigneeChanged).data(serde_json::json!({
            "from": t.assignee_id, "to": assignee,
        })));
    }
    if pending.is_empty() {
        return Ok(Some((t.clone(), Vec::new()))); // nothing actually differs
    }
    let Some(saved) = save(db, t, am).await? else {
        return Ok(None);
    };
    let mut ids = Vec::with_capacity(pending.len());
    for e in pending {
        ids.push(events::record(db, e).await?);
    }
    Ok(Some((saved, ids)))
}

async fn check_assignee(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    let user = app_user::Entity::find_by_id(user_id).one(db).await?;
    match user {
        Some(u) if policy::can_be_ticket_assignee(u.role) => Ok(()),
        Some(_) => Err(AppError::bad_input(
            "tickets can only be assigned to agents or admins",
        )),
        None => Err(AppError::bad_input("`assigneeId` is not a known user")),
    }
}

/// Writes `am` over `t` if nobody else changed it since it was read (optimistic lock).
/// `None` means the row moved on: the caller reloads and decides again.
pub async fn save(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    mut am: ticket::ActiveModel,
) -> AppResult<Option<ticket::Model>> {
    am.lock_version = Set(t.lock_version + 1);
    am.updated_at = Set(Utc::now());
    rows::update_unchanged::<ticket::Entity>(
        db,
        am,
        (ticket::Column::Id, t.id),
        (ticket::Column::LockVersion, t.lock_version),
    )
    .await
}
