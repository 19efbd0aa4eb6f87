//! `Comment`: a public reply or an internal note on a ticket.

use async_graphql::{Context, ID, Object, Result, Value};
use chrono::{DateTime, Utc};
use entity::comment;

use crate::graphql::{
    connection::connection,
    context::ContextExt,
    ids::{self, Kind},
    lean::{Lean, PlainFields, text, value},
    types::{
        ticket::Ticket,
        user::{self, User},
    },
};

/// A public reply or an internal note (staff only) on a ticket.
#[derive(Clone)]
pub struct Comment(pub comment::Model);

connection!(
    CommentConnection,
    CommentEdge,
    Comment,
    entity::comment::Entity,
    "comments"
);

impl PlainFields for Comment {
    fn plain(&self, field: &str) -> Option<Value> {
        let c = &self.0;
        Some(match field {
            "id" => value(ids::encode(Kind::Comment, c.id)),
            "body" => text(&c.body),
            "public" => value(c.public),
            "createdAt" => value(c.created_at),
            _ => return None,
        })
    }
}

#[Object]
impl Comment {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Comment, self.0.id)
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Whether the requester sees it; internal notes are staff only.
    async fn public(&self) -> bool {
        self.0.public
    }
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<Lean<User>>> {
        user::referenced(ctx, Some(self.0.author_id)).await
    }
    /// The ticket it was posted on.
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Option<Lean<Ticket>>> {
        Ok(ctx
            .loaders()?
            .tickets()
            .load_one(self.0.ticket_id)
            .await?
            .map(|t| Lean(Ticket(t))))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
