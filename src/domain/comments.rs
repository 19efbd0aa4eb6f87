//! Comments on tickets (public replies and internal notes): adding one, and reading them
//! by id and as the batched pages and counts of `Ticket.comments`.

use std::collections::HashMap;

use chrono::Utc;
use entity::{Role, comment, ticket};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};

use crate::{
    auth::Viewer,
    domain::{
        page::{self, ChildPage, PageArgs},
        policy, rows, tickets, transitions,
        write::{MAX_BODY, required_text, retrying},
    },
    error::{AppError, AppResult},
    events::{self, EventBus, EventKind, NewEvent},
};

/// What `addComment` asks for.
#[derive(Debug, Clone)]
pub struct NewComment {
    pub ticket_id: i64,
    pub body: String,
    pub public: bool,
}

/// Adds a comment to a visible ticket. A customer's reply reopens a solved ticket; a closed
/// ticket takes no comments. The comment, any status change and their events commit together.
#[tracing::instrument(skip_all)]
pub async fn add(
    db: &DatabaseConnection,
    bus: &EventBus,
    v: &Viewer,
    input: NewComment,
) -> AppResult<(comment::Model, ticket::Model)> {
    let actor = policy::signed_in(v)?;
    let body = required_text("body", &input.body, MAX_BODY)?;
    retrying(|| async {
        let txn = db.begin().await?;
        let t = tickets::load_for_update(&txn, v, input.ticket_id).await?;
        policy::can_comment(actor, input.public)?;
        let by_customer = actor.role == Role::Customer;
        let new_status = transitions::comment_on_ticket(t.status, by_customer)?;

        let mut am = ticket::ActiveModel::default();
        if let Some(to) = new_status {
            am.status = Set(to);
            am.solved_by = Set(None);
        }
        // Every comment bumps the ticket (updated_at, lock_version) so concurrent writers
        // serialize on the row and the status decision above stays valid.
        let Some(saved) = tickets::save(&txn, &t, am).await? else {
            return Ok(None);
        };
        let c = comment::Entity::insert(comment::ActiveModel {
            ticket_id: Set(t.id),
            author_id: Set(actor.id),
            body: Set(body.clone()),
            public: Set(input.public),
            created_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        let base = |kind| {
            let e = if input.public {
                NewEvent::public(kind)
            } else {
                NewEvent::internal(kind)
            };
            e.actor(actor.id).ticket(t.id, t.org_id)
        };
        let mut ids =
            vec![events::record(&txn, base(EventKind::CommentAdded).comment(c.id)).await?];
        if let Some(to) = new_status {
            ids.push(
                events::record(
                    &txn,
                    NewEvent::public(EventKind::StatusChanged)
                        .actor(actor.id)
                        .ticket(t.id, t.org_id)
                        .status(Some(t.status.as_str()), to.as_str()),
                )
                .await?,
            );
        }
        txn.commit().await?;
        bus.committed(&ids);
        Ok(Some((c, saved)))
    })
    .await
}

/// One comment by id: visible when its ticket is and it passes the viewer's comment filter.
/// The ticket scope is decided before the lookup, so an anonymous caller is refused the
/// same way whether or not the comment exists.
pub async fn load_visible(
    db: &impl ConnectionTrait,
    v: &Viewer,
    id: i64,
) -> AppResult<comment::Model> {
    let ticket_scope = policy::ticket_scope(db, v).await?;
    let c = comment::Entity::find_by_id(id)
        .filter(policy::comment_filter(v))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    rows::one_visible::<ticket::Entity>(db, c.ticket_id, ticket_scope).await?;
    Ok(c)
}

/// Comments by id (an event's comment) that pass the viewer's comment filter. Callers reach
/// them only through a visible ticket, which is what authorizes the ticket side.
pub async fn load_many(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ids: &[i64],
) -> AppResult<Vec<comment::Model>> {
    rows::many_visible::<comment::Entity>(db, comment::Column::Id, ids, policy::comment_filter(v))
        .await
}

/// A page of comments for each of many (visible) tickets and page requests.
pub async fn pages_for_tickets(
    db: &impl ConnectionTrait,
    v: &Viewer,
    keys: &[(i64, PageArgs)],
) -> AppResult<HashMap<(i64, PageArgs), ChildPage<comment::Model>>> {
    page::children_pages(
        db,
        comment::Entity::find().filter(policy::comment_filter(v)),
        comment::Column::TicketId,
        comment::Column::Id,
        keys,
    )
    .await
}

/// How many comments the viewer sees on each of many (visible) tickets.
pub async fn count_for_tickets(
    db: &impl ConnectionTrait,
    v: &Viewer,
    ticket_ids: &[i64],
) -> AppResult<HashMap<i64, u64>> {
    page::count_children(
        db,
        comment::Entity::find().filter(policy::comment_filter(v)),
        comment::Column::TicketId,
        comment::Column::Id,
        ticket_ids,
    )
    .await
}
