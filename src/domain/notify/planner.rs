//! The durable consumer: reads the committed event log from its stored position and decides
//! every mail and webhook each event causes, queuing them and moving its position in one
//! transaction. A crash before commit replays the stretch (the queue's unique keys make
//! that harmless); after it, nothing is decided twice. With several replicas the position's
//! row is locked for the step, so they take turns.
//!
//! Who is mailed (only users with an address who have not turned the category off; never
//! the person who caused the event):
//! - a published release note: its followers;
//! - a public comment on a ticket (hotfix updates relayed as comments and the automatic
//!   escalation comments included): the people the ticket is for — its requester and its
//!   participants, as `policy::ticket_mail_audience` says;
//! - a ticket solved: the same people, once — the comment a solve posts is part of that mail;
//! - a feature or product-planning escalation shipped: the requester of each linked ticket.
//!
//! Webhooks: every enabled endpoint subscribed to the event's type.

use chrono::Utc;
use entity::{
    DeliveryChannel, EscalationTrack, EventKind, MailCategory, TicketStatus, app_user,
    delivery_cursor, event, release_note_follow, ticket, webhook_endpoint,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, TransactionTrait, sea_query::Expr,
};

use crate::{
    domain::{
        notify::{
            deliveries::{self, Planned},
            payload::{self, EventContext},
            webhooks,
        },
        policy,
    },
    error::{AppError, AppResult},
    events::{Position, log},
};

/// The consumer's row in `delivery_cursor`.
pub const CURSOR: &str = "notifications";

/// The marker a solve's comment event carries, so its mail is the solve's.
pub const SOLVES: &str = "solves";

/// What a mail says (`delivery.kind`).
pub mod kinds {
    pub const RELEASE_NOTE: &str = "release_note.published";
    pub const COMMENT: &str = "ticket.comment";
    pub const SOLVED: &str = "ticket.solved";
    pub const SHIPPED: &str = "feature.shipped";
}

/// One step: decides the next settled events after the stored position. Returns how many
/// events it read (0: caught up).
pub async fn step(db: &DatabaseConnection) -> AppResult<usize> {
    let txn = db.begin().await?;
    let from = lock_cursor(&txn).await?;
    let events = log::settled_after(&txn, from).await?;
    let Some(last) = events.last().map(Position::of) else {
        // Ended here, not left to the drop: a dropped transaction's rollback waits for the
        // connection's next use, and until then it holds the position's lock and, having an
        // xid, keeps every later event unsettled (the oldest running transaction).
        txn.rollback().await?;
        return Ok(0);
    };
    let endpoints = webhooks::enabled(&txn).await?;
    let mut planned = Vec::new();
    for e in &events {
        planned.extend(decide(&txn, e, &endpoints).await?);
    }
    deliveries::enqueue(&txn, planned).await?;
    delivery_cursor::Entity::update_many()
        .col_expr(delivery_cursor::Column::Tx, Expr::value(last.tx))
        .col_expr(delivery_cursor::Column::EventId, Expr::value(last.id))
        .col_expr(delivery_cursor::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(delivery_cursor::Column::Name.eq(CURSOR))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(events.len())
}

/// Reads the position, holding its row until the transaction ends (PostgreSQL; SQLite's
/// single writer serializes the steps anyway).
async fn lock_cursor(db: &impl ConnectionTrait) -> AppResult<Position> {
    let backend = db.get_database_backend();
    let mut select = delivery_cursor::Entity::find_by_id(CURSOR.to_owned());
    if backend == DbBackend::Postgres {
        select = select.lock_exclusive();
    }
    let row = select.one(db).await?.ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "delivery_cursor row missing: migrations not run"
        ))
    })?;
    Ok(Position {
        tx: row.tx,
        id: row.event_id,
    })
}

/// Every message one event causes.
async fn decide(
    db: &impl ConnectionTrait,
    e: &event::Model,
    endpoints: &[webhook_endpoint::Model],
) -> AppResult<Vec<Planned>> {
    let mut out = Vec::new();
    let hooks: Vec<_> = match payload::webhook_type(e.kind) {
        Some(t) => endpoints
            .iter()
            .filter(|ep| webhooks::events_of(ep).contains(&t))
            .map(|ep| (t, ep))
            .collect(),
        None => Vec::new(),
    };
    if !hooks.is_empty() {
        let cx = EventContext::load(db, e).await?;
        for (t, ep) in hooks {
            out.push(Planned {
                channel: DeliveryChannel::Webhook,
                event_id: e.id,
                kind: t.wire().to_owned(),
                user_id: None,
                endpoint_id: Some(ep.id),
                target: ep.url.clone(),
                category: None,
                payload: Some(payload::webhook_body(t, e, &cx)),
            });
        }
    }
    if let Some((kind, category, audience)) = mail_audience(db, e).await? {
        let users = app_user::Entity::find()
            .filter(audience)
            .filter(app_user::Column::Email.is_not_null())
            .filter(match category {
                MailCategory::ReleaseNotes => app_user::Column::EmailReleaseNotes.eq(true),
                MailCategory::TicketUpdates => app_user::Column::EmailTicketUpdates.eq(true),
            })
            .filter(match e.actor_id {
                Some(actor) => app_user::Column::Id.ne(actor),
                None => Expr::value(true),
            })
            .order_by_asc(app_user::Column::Id)
            .all(db)
            .await?;
        for u in users {
            let Some(address) = u.email.clone().filter(|a| !a.trim().is_empty()) else {
                continue;
            };
            out.push(Planned {
                channel: DeliveryChannel::Email,
                event_id: e.id,
                kind: kind.to_owned(),
                user_id: Some(u.id),
                endpoint_id: None,
                target: address,
                category: Some(category),
                payload: None,
            });
        }
    }
    Ok(out)
}

/// Whom an event mails, as a condition on users, with what and in which category.
async fn mail_audience(
    db: &impl ConnectionTrait,
    e: &event::Model,
) -> AppResult<Option<(&'static str, MailCategory, Condition)>> {
    if !e.public {
        return Ok(None);
    }
    if e.kind == EventKind::ReleaseNotePublished {
        let Some(note) = e.release_note_id else {
            return Ok(None);
        };
        // Those following when it was published, not whoever follows by the time we read.
        let published = entity::release_note::Entity::find_by_id(note)
            .one(db)
            .await?
            .map_or(e.created_at, |n| n.published_at);
        let followers = release_note_follow::Entity::find()
            .select_only()
            .column(release_note_follow::Column::UserId)
            .filter(release_note_follow::Column::CreatedAt.lte(published))
            .into_query();
        return Ok(Some((
            kinds::RELEASE_NOTE,
            MailCategory::ReleaseNotes,
            Condition::all().add(app_user::Column::Id.in_subquery(followers)),
        )));
    }
    let Some(ticket_id) = e.ticket_id else {
        return Ok(None);
    };
    let kind = match e.kind {
        EventKind::CommentAdded if !part_of_solve(e) => kinds::COMMENT,
        EventKind::StatusChanged
            if e.to_status.as_deref() == Some(TicketStatus::Solved.as_str()) =>
        {
            kinds::SOLVED
        }
        EventKind::EscalationReleased
            if matches!(
                e.escalation_track,
                Some(EscalationTrack::ProductPlanning | EscalationTrack::FeatureRequest)
            ) =>
        {
            kinds::SHIPPED
        }
        _ => return Ok(None),
    };
    let Some(t) = ticket::Entity::find_by_id(ticket_id).one(db).await? else {
        return Ok(None);
    };
    let audience = if kind == kinds::SHIPPED {
        // "Told when what they asked for ships": the requester.
        Condition::all().add(app_user::Column::Id.eq(t.requester_id))
    } else {
        policy::ticket_mail_audience(&t)
    };
    Ok(Some((kind, MailCategory::TicketUpdates, audience)))
}

fn part_of_solve(e: &event::Model) -> bool {
    e.data
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .is_some_and(|d| d.get(SOLVES).and_then(|v| v.as_bool()) == Some(true))
}

/// Moves the position to the end of the log as it is now, deciding nothing for what it
/// skips: for the seed, whose history is not news to anyone.
pub async fn skip_to_end(db: &impl ConnectionTrait) -> AppResult<()> {
    let end = log::last_settled(db).await?;
    delivery_cursor::Entity::update_many()
        .col_expr(delivery_cursor::Column::Tx, Expr::value(end.tx))
        .col_expr(delivery_cursor::Column::EventId, Expr::value(end.id))
        .col_expr(delivery_cursor::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(delivery_cursor::Column::Name.eq(CURSOR))
        .exec(db)
        .await?;
    Ok(())
}
