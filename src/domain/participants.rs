//! Participants: colleagues copied on one ticket (a desk's "CC"). A participant sees that
//! ticket as its requester does, on every path, because `policy::ticket_scope` says so;
//! this module only adds and removes them and lists them per ticket.

use std::collections::HashMap;

use chrono::Utc;
use entity::{app_user, ticket, ticket_participant};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, TransactionTrait, sea_query::OnConflict,
};

use crate::{
    auth::Viewer,
    domain::{policy, rows, tickets},
    error::{AppError, AppResult},
    events::{self, EventBus, EventKind, NewEvent},
};

/// Copies `user_id` on a ticket the viewer sees. Adding someone twice changes nothing and
/// records nothing.
#[tracing::instrument(skip_all)]
pub async fn add(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    ticket_id: i64,
    user_id: i64,
) -> AppResult<ticket::Model> {
    let actor = policy::signed_in(v)?;
    let txn = db.begin().await?;
    let t = tickets::load_visible(&txn, v, ticket_id).await?;
    policy::can_add_participant(actor, &t)?;
    let user = app_user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::bad_input("`userId` is not a known user"))?;
    policy::can_participate(&user, &t)?;
    let inserted = ticket_participant::Entity::insert(ticket_participant::ActiveModel {
        ticket_id: Set(t.id),
        user_id: Set(user.id),
        added_by_id: Set(Some(actor.id)),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([
            ticket_participant::Column::TicketId,
            ticket_participant::Column::UserId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        return Ok(t);
    }
    let event = events::record(
        &txn,
        changed(EventKind::ParticipantAdded, actor.id, &t, user.id),
    )
    .await?;
    txn.commit().await?;
    bus.committed(&[event]);
    Ok(t)
}

/// Takes `user_id` off a ticket the viewer sees; they lose it on every path at once.
/// Removing someone who is not a participant changes nothing. Returns the ticket if the
/// viewer still sees it (a participant who removed themself does not).
#[tracing::instrument(skip_all)]
pub async fn remove(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    ticket_id: i64,
    user_id: i64,
) -> AppResult<Option<ticket::Model>> {
    let actor = policy::signed_in(v)?;
    let txn = db.begin().await?;
    let t = tickets::load_visible(&txn, v, ticket_id).await?;
    policy::can_remove_participant(actor, &t, user_id)?;
    let removed = ticket_participant::Entity::delete_many()
        .filter(ticket_participant::Column::TicketId.eq(t.id))
        .filter(ticket_participant::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?
        .rows_affected;
    if removed == 0 {
        return Ok(Some(t));
    }
    let event = events::record(
        &txn,
        changed(EventKind::ParticipantRemoved, actor.id, &t, user_id),
    )
    .await?;
    txn.commit().await?;
    bus.committed(&[event]);
    if actor.id == user_id {
        return Ok(None);
    }
    Ok(Some(t))
}

fn changed(kind: EventKind, actor: i64, t: &ticket::Model, user_id: i64) -> NewEvent {
    NewEvent::public(kind)
        .actor(actor)
        .ticket(t.id, t.org_id)
        .data(serde_json::json!({ "userId": user_id }))
}

/// The participants of many tickets (`Ticket.participants`), in the order they were added.
/// Callers pass tickets the viewer already sees: that is what authorizes the list.
pub async fn of_tickets(
    db: &impl ConnectionTrait,
    ticket_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<app_user::Model>>> {
    if ticket_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = app_user::Entity::find()
        .join(
            JoinType::InnerJoin,
            ticket_participant::Relation::User.def().rev(),
        )
        .select_also(ticket_participant::Entity)
        .filter(rows::any_of(
            db.get_database_backend(),
            ticket_participant::Column::TicketId,
            ticket_ids,
        ))
        .order_by_asc(ticket_participant::Column::CreatedAt)
        .order_by_asc(ticket_participant::Column::UserId)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<app_user::Model>> = HashMap::new();
    for (user, link) in rows {
        if let Some(link) = link {
            out.entry(link.ticket_id).or_default().push(user);
        }
    }
    Ok(out)
}
