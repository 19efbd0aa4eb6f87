//! A ticket's history, read from the event table as the batched pages and counts of
//! `Ticket.events` (customers: public events only).

use std::collections::HashMap;

use entity::event;
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter};

use crate::{
    auth::Viewer,
    domain::{
        page::{self, ChildPage, PageArgs},
        policy,
    },
    error::AppResult,
};

/// A page of events for each of many (visible) tickets and page requests, oldest first.
pub async fn pages_for_tickets(
    db: &impl ConnectionTrait,
    v: &Viewer,
    keys: &[(i64, PageArgs)],
) -> AppResult<HashMap<(i64, PageArgs), ChildPage<event::Model>>> {
    page::children_pages(
        db,
        event::Entity::find().filter(policy::event_filter(v)),
        event::Column::TicketId,
        event::Column::Id,
        keys,
    )
    .await
}

/// How many events the viewer sees on each of many (visible) tickets.
pub async fn count_for_tickets(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ticket_ids: &[i64],
) -> AppResult<HashMap<i64, u64>> {
    page::count_children(
        db,
        event::Entity::find().filter(policy::event_filter(v)),
        event::Column::TicketId,
        event::Column::Id,
        ticket_ids,
    )
    .await
}
