//! Reading escalations: by id, the queue with its filter, each ticket's latest escalation,
//! and the updates and ticket links of escalations the viewer sees.

use std::collections::HashMap;

use entity::{
    EscalationPriority, EscalationStatus, EscalationTrack, escalation, escalation_ticket,
    escalation_update, ticket,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::{
    auth::Viewer,
    domain::{
        page::{self, ChildPage, Page, PageArgs},
        policy, rows,
    },
    error::{AppError, AppResult},
};

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

/// [`load_visible`], locked for the caller's write transaction (`rows::one_visible_for_update`).
pub async fn load_for_update(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<escalation::Model> {
    rows::one_visible_for_update::<escalation::Entity>(
        db,
        id,
        policy::escalation_scope(db, v).await?,
    )
    .await
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
    list_in(db, v, scope, filter, args).await
}

/// The escalations a release ships, in queue order, as `Release.escalations` shows them:
/// through `policy::release_escalation_scope`, since a release may be open to a viewer the
/// queue is not.
pub async fn list_in_release(
    db: &impl ConnectionTrait,
    v: &Viewer,
    release_id: i64,
    args: PageArgs,
) -> AppResult<Page<escalation::Entity>> {
    let scope = policy::release_escalation_scope(db, v).await?;
    let filter = EscalationFilter {
        release_id: Some(release_id),
        ..Default::default()
    };
    list_in(db, v, scope, &filter, args).await
}

async fn list_in(
    db: &impl ConnectionTrait,
    v: &Viewer,
    scope: Condition,
    filter: &EscalationFilter,
    args: PageArgs,
) -> AppResult<Page<escalation::Entity>> {
    let mut all = escalation::Entity::find()
        .filter(scope.clone())
        .filter(filter.condition());
    // The assignee is staff-only: for anyone else an assignee filter matches nothing, so
    // its answer cannot depend on (and so cannot reveal) who the assignee is.
    if filter.assignee_id.is_some() && !policy::sees_internal(v) {
        all = all.filter(Condition::any());
    }
    let mut q = all.clone();
    // A cursor names a row; continue past its (priority, id). A cursor naming a row the
    // viewer cannot see behaves exactly like one naming no row.
    for (bound, after) in [(args.after, true), (args.before, false)] {
        let Some(place) = bound else { continue };
        let row = escalation::Entity::find_by_id(place.id)
            .filter(scope.clone())
            .one(db)
            .await?;
        q = q.filter(past(row.as_ref(), place.id, after));
    }
    let items = if args.limit == 0 {
        Vec::new()
    } else {
        let read = args.read_order(&Order::Asc);
        q.order_by(escalation::Column::Priority, read.clone())
            .order_by(escalation::Column::Id, read)
            .limit(args.limit + 1)
            .all(db)
            .await?
    };
    let (items, has_next, has_previous) = args.settle(items);
    Ok(Page {
        items,
        has_next,
        has_previous,
        count: page::Count::Rows(all),
    })
}

/// Queue rows after (or before) the row `id` in (priority, id) order; by id alone when
/// that row is not there to say its priority.
fn past(row: Option<&escalation::Model>, id: i64, after: bool) -> Condition {
    let (p, i) = (escalation::Column::Priority, escalation::Column::Id);
    match row {
        Some(r) if after => Condition::any()
            .add(p.gt(r.priority))
            .add(Condition::all().add(p.eq(r.priority)).add(i.gt(r.id))),
        Some(r) => Condition::any()
            .add(p.lt(r.priority))
            .add(Condition::all().add(p.eq(r.priority)).add(i.lt(r.id))),
        None if after => Condition::all().add(i.gt(id)),
        None => Condition::all().add(i.lt(id)),
    }
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
    // One statement: the links, each with its escalation (visible through the link).
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
        .find_also_related(escalation::Entity)
        .order_by(escalation_ticket::Column::Id, Order::Desc)
        .all(db)
        .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(links
        .into_iter()
        .filter(|(l, _)| seen.insert(l.ticket_id))
        .filter_map(|(l, e)| e.map(|e| (l.ticket_id, e)))
        .collect())
}

/// One update by id: visible when its escalation is and it passes the public filter. The
/// escalation scope is decided before the lookup, so an anonymous caller is refused the
/// same way whether or not the update exists.
pub async fn load_update(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<escalation_update::Model> {
    let scope = policy::escalation_scope(db, v).await?;
    let u = escalation_update::Entity::find_by_id(id)
        .filter(updates_seen_by(v))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    rows::one_visible::<escalation::Entity>(db, u.escalation_id, scope).await?;
    Ok(u)
}

/// A page of updates for each of many (visible) escalations, oldest first; customers see
/// public ones only.
pub async fn update_pages(
    db: &impl ConnectionTrait,
    v: &Viewer,
    keys: &[(i64, PageArgs)],
) -> AppResult<HashMap<(i64, PageArgs), ChildPage<escalation_update::Model>>> {
    page::children_pages(
        db,
        escalation_update::Entity::find().filter(updates_seen_by(v)),
        escalation_update::Column::EscalationId,
        escalation_update::Column::Id,
        keys,
    )
    .await
}

/// How many updates the viewer sees on each of many (visible) escalations.
pub async fn count_updates(
    db: &impl ConnectionTrait,
    v: &Viewer,
    escalation_ids: &[i64],
) -> AppResult<HashMap<i64, u64>> {
    page::count_children(
        db,
        escalation_update::Entity::find().filter(updates_seen_by(v)),
        escalation_update::Column::EscalationId,
        escalation_update::Column::Id,
        escalation_ids,
    )
    .await
}

fn updates_seen_by(v: &Viewer) -> Condition {
    policy::public_only(v, escalation_update::Column::Public)
}

/// A page of ticket links for each of many (visible) escalations, oldest first, restricted
/// to tickets the viewer sees: a customer never learns of the other tickets linked to an
/// escalation.
pub async fn ticket_link_pages(
    db: &impl ConnectionTrait,
    v: &Viewer,
    keys: &[(i64, PageArgs)],
) -> AppResult<HashMap<(i64, PageArgs), ChildPage<escalation_ticket::Model>>> {
    let visible = policy::visible_ticket_ids(db, v, escalation_ticket::Column::TicketId).await?;
    page::children_pages(
        db,
        escalation_ticket::Entity::find().filter(visible),
        escalation_ticket::Column::EscalationId,
        escalation_ticket::Column::Id,
        keys,
    )
    .await
}

/// How many linked tickets the viewer sees on each of many (visible) escalations.
pub async fn count_ticket_links(
    db: &impl ConnectionTrait,
    v: &Viewer,
    escalation_ids: &[i64],
) -> AppResult<HashMap<i64, u64>> {
    let visible = policy::visible_ticket_ids(db, v, escalation_ticket::Column::TicketId).await?;
    page::count_children(
        db,
        escalation_ticket::Entity::find().filter(visible),
        escalation_ticket::Column::EscalationId,
        escalation_ticket::Column::Id,
        escalation_ids,
    )
    .await
}
