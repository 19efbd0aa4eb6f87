//! `Notification`: an entry of the viewer's inbox.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::notification;

use crate::graphql::{
    connection::connection,
    context::ContextExt,
    ids::{self, Kind},
    lean::PlainFields,
    types::{release::ReleaseNote, ticket::Ticket},
};

/// Something that happened that you asked to hear about.
#[derive(Clone)]
pub struct Notification(pub notification::Model);

connection!(
    NotificationConnection,
    NotificationEdge,
    Notification,
    entity::notification::Entity,
    "notifications"
);

impl PlainFields for Notification {}

#[Object]
impl Notification {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Notification, self.0.id)
    }
    /// `RELEASE_NOTE_PUBLISHED` or `REQUEST_SHIPPED`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
    async fn read(&self) -> bool {
        self.0.read
    }
    /// The ticket it is about, if any (and if you may still see it).
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Option<Ticket>> {
        match self.0.ticket_id {
            Some(id) => Ok(ctx.loaders()?.tickets().load_one(id).await?.map(Ticket)),
            None => Ok(None),
        }
    }
    /// The release note it is about, if any.
    async fn release_note(&self, ctx: &Context<'_>) -> Result<Option<ReleaseNote>> {
        match self.0.release_note_id {
            Some(id) => Ok(ctx
                .loaders()?
                .notes_by_id()
                .load_one(id)
                .await?
                .map(ReleaseNote)),
            None => Ok(None),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
