//! A ticket's history, read from the event table (customers: public events only).

use entity::event;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter};

use crate::{
    auth::Viewer,
    domain::{
        page::{self, Page, PageArgs},
        policy,
    },
    error::AppResult,
};

/// The condition for a ticket's events as this viewer sees them.
pub fn of_ticket(v: &Viewer, ticket_id: i64) -> Condition {
    Condition::all()
        .add(event::Column::TicketId.eq(ticket_id))
        .add(policy::event_filter(v))
}

/// Events of one (already visible) ticket, oldest first.
pub async fn list_for_ticket(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ticket_id: i64,
    args: PageArgs,
) -> AppResult<Page<event::Entity>> {
    let select = event::Entity::find().filter(of_ticket(v, ticket_id));
    page::fetch(db, select, event::Column::Id, Order::Asc, args).await
}
