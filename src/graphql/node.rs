//! The Relay `Node` interface and `node(id)`, which calls the same by-id loads as every
//! other path.

use async_graphql::{ID, Interface};

use crate::{
    app::App,
    auth::Viewer,
    domain::{
        comments, escalations, notifications,
        notify::{deliveries, webhooks},
        organizations, release_notes, releases, tickets, users,
    },
    error::{AppError, AppResult},
    graphql::{
        ids::{self, Kind},
        types::{
            comment::Comment,
            escalation::{Escalation, EscalationUpdate},
            notification::Notification,
            notify::{Delivery, WebhookEndpoint},
            organization::Organization,
            release::{Release, ReleaseNote},
            ticket::Ticket,
            user::User,
        },
    },
};

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Global id."))]
pub enum Node {
    Ticket(Ticket),
    Comment(Comment),
    User(User),
    Organization(Organization),
    Escalation(Escalation),
    EscalationUpdate(EscalationUpdate),
    Release(Release),
    ReleaseNote(ReleaseNote),
    Notification(Notification),
    WebhookEndpoint(WebhookEndpoint),
    Delivery(Delivery),
}

/// Loads any node by global id through the viewer's scope; malformed is `NOT_FOUND`.
pub async fn load(app: &App, v: &Viewer, id: &ID) -> AppResult<Node> {
    let (kind, id) = ids::decode_any(id).ok_or(AppError::NotFound)?;
    let db = &app.db;
    Ok(match kind {
        Kind::Ticket => Node::Ticket(Ticket(tickets::load_visible(db, v, id).await?)),
        Kind::Comment => Node::Comment(Comment(comments::load_visible(db, v, id).await?)),
        Kind::User => Node::User(User(users::load_visible(db, v, id).await?)),
        Kind::Organization => {
            Node::Organization(Organization(organizations::load_visible(db, v, id).await?))
        }
        Kind::Escalation => {
            Node::Escalation(Escalation(escalations::load_visible(db, v, id).await?))
        }
        Kind::EscalationUpdate => {
            Node::EscalationUpdate(EscalationUpdate(escalations::load_update(db, v, id).await?))
        }
        Kind::Release => Node::Release(Release(releases::load_visible(db, v, id).await?)),
        Kind::ReleaseNote => Node::ReleaseNote(ReleaseNote(release_notes::load(db, id).await?)),
        Kind::Notification => {
            Node::Notification(Notification(notifications::load_visible(db, v, id).await?))
        }
        Kind::WebhookEndpoint => {
            Node::WebhookEndpoint(WebhookEndpoint(webhooks::load(db, v, id).await?))
        }
        Kind::Delivery => Node::Delivery(Delivery(deliveries::load(db, v, id).await?)),
    })
}
