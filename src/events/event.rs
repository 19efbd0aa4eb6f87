//! The event table: audit trail, history shown on tickets, and replay log for subscriptions.
//! Every state change writes its event in the same transaction as the change.

use chrono::Utc;
use entity::event;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};

use crate::error::AppResult;

/// What happened: the entity crate's enum, so the stored names are spelled in one place.
pub use entity::EventKind;

/// An event about to be written. Builder-style so call sites name only what they carry.
#[derive(Debug, Clone)]
pub struct NewEvent {
    kind: EventKind,
    public: bool,
    actor_id: Option<i64>,
    org_id: Option<i64>,
    ticket_id: Option<i64>,
    comment_id: Option<i64>,
    escalation_id: Option<i64>,
    escalation_update_id: Option<i64>,
    release_id: Option<i64>,
    release_note_id: Option<i64>,
    from_status: Option<String>,
    to_status: Option<String>,
    data: Option<serde_json::Value>,
}

impl NewEvent {
    /// A public event (customers who see the ticket see it too).
    pub fn public(kind: EventKind) -> Self {
        NewEvent {
            kind,
            public: true,
            actor_id: None,
            org_id: None,
            ticket_id: None,
            comment_id: None,
            escalation_id: None,
            escalation_update_id: None,
            release_id: None,
            release_note_id: None,
            from_status: None,
            to_status: None,
            data: None,
        }
    }

    /// A staff-only event.
    pub fn internal(kind: EventKind) -> Self {
        NewEvent {
            public: false,
            ..NewEvent::public(kind)
        }
    }

    pub fn actor(mut self, id: i64) -> Self {
        self.actor_id = Some(id);
        self
    }

    /// The ticket it concerns (and so its organization, for scoped delivery).
    pub fn ticket(mut self, ticket_id: i64, org_id: i64) -> Self {
        self.ticket_id = Some(ticket_id);
        self.org_id = Some(org_id);
        self
    }

    pub fn org(mut self, org_id: i64) -> Self {
        self.org_id = Some(org_id);
        self
    }

    pub fn comment(mut self, comment_id: i64) -> Self {
        self.comment_id = Some(comment_id);
        self
    }

    pub fn escalation(mut self, id: i64) -> Self {
        self.escalation_id = Some(id);
        self
    }

    pub fn escalation_update(mut self, id: i64) -> Self {
        self.escalation_update_id = Some(id);
        self
    }

    pub fn release(mut self, id: i64) -> Self {
        self.release_id = Some(id);
        self
    }

    pub fn release_note(mut self, id: i64) -> Self {
        self.release_note_id = Some(id);
        self
    }

    pub fn status(mut self, from: Option<&str>, to: &str) -> Self {
        self.from_status = from.map(str::to_owned);
        self.to_status = Some(to.to_owned());
        self
    }

    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Appends an event; returns its id (the subscription cursor).
pub async fn record(db: &impl ConnectionTrait, e: NewEvent) -> AppResult<i64> {
    debug_assert_ne!(e.kind, EventKind::Unknown, "`Unknown` is only ever read");
    let row = event::ActiveModel {
        kind: Set(e.kind),
        public: Set(e.public),
        actor_id: Set(e.actor_id),
        org_id: Set(e.org_id),
        ticket_id: Set(e.ticket_id),
        escalation_id: Set(e.escalation_id),
        release_id: Set(e.release_id),
        release_note_id: Set(e.release_note_id),
        comment_id: Set(e.comment_id),
        escalation_update_id: Set(e.escalation_update_id),
        from_status: Set(e.from_status),
        to_status: Set(e.to_status),
        data: Set(e.data.map(|d| d.to_string())),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::events::postgres::notify(db, row.id).await?;
    Ok(row.id)
}
