//! The event table: audit trail, history shown on tickets, and replay log for subscriptions.
//! Every state change writes its event in the same transaction as the change; the log's
//! order and how it is read safely are in [`crate::events::log`].

use chrono::Utc;
use entity::{escalation, event};
use sea_orm::{ColumnTrait, ConnectionTrait};

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

/// Appends an event in the caller's transaction; returns its id. Nobody is told here:
/// the caller announces the commit ([`crate::events::EventBus::committed`]) once it is
/// durable, so no notification is ever part of a business transaction.
///
/// The database fills in `tx` (PostgreSQL: this transaction's id) and the escalation's track
/// as it stands in this transaction, so "a hotfix-track event" means the track as of the
/// event, whatever happens to the escalation later.
pub async fn record(db: &impl ConnectionTrait, e: NewEvent) -> AppResult<i64> {
    use sea_orm::sea_query::{Expr, Query};
    debug_assert_ne!(e.kind, EventKind::Unknown, "`Unknown` is only ever read");
    let track = match e.escalation_id {
        Some(id) => Expr::SubQuery(
            None,
            Box::new(
                Query::select()
                    .column(escalation::Column::Track)
                    .from(escalation::Entity)
                    .and_where(escalation::Column::Id.eq(id))
                    .to_owned()
                    .into(),
            ),
        ),
        None => Expr::val(Option::<String>::None),
    };
    let insert = Query::insert()
        .into_table(event::Entity)
        .columns([
            event::Column::Kind,
            event::Column::Public,
            event::Column::ActorId,
            event::Column::OrgId,
            event::Column::TicketId,
            event::Column::EscalationId,
            event::Column::ReleaseId,
            event::Column::ReleaseNoteId,
            event::Column::CommentId,
            event::Column::EscalationUpdateId,
            event::Column::FromStatus,
            event::Column::ToStatus,
            event::Column::Data,
            event::Column::CreatedAt,
            event::Column::EscalationTrack,
        ])
        .values_panic([
            e.kind.as_str().into(),
            e.public.into(),
            e.actor_id.into(),
            e.org_id.into(),
            e.ticket_id.into(),
            e.escalation_id.into(),
            e.release_id.into(),
            e.release_note_id.into(),
            e.comment_id.into(),
            e.escalation_update_id.into(),
            e.from_status.into(),
            e.to_status.into(),
            e.data.map(|d| d.to_string()).into(),
            Utc::now().into(),
            track,
        ])
        .returning_col(event::Column::Id)
        .to_owned();
    let row = db
        .query_one_raw(db.get_database_backend().build(&insert))
        .await?
        .ok_or_else(|| crate::error::AppError::internal(anyhow::anyhow!("no id from an insert")))?;
    Ok(row.try_get::<i64>("", "id")?)
}
