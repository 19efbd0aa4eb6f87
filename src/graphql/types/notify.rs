//! What leaves tier3: a user's mail preferences, webhook endpoints and the delivery queue.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::{delivery, webhook_endpoint};

use crate::{
    domain::notify::{preferences::Preferences, webhooks},
    graphql::{
        connection::connection,
        ids::{self, Kind},
        lean::PlainFields,
        types::enums::{DeliveryChannel, DeliveryStatus, WebhookEventType},
    },
};

/// Which emails you receive. Every email also carries a one-click unsubscribe link for its
/// category.
#[derive(Clone, Copy)]
pub struct NotificationPreferences(pub Preferences);

#[Object]
impl NotificationPreferences {
    /// Email when a release note is published (if you follow release notes).
    async fn email_release_notes(&self) -> bool {
        self.0.email_release_notes
    }
    /// Email about your tickets: public replies, solved, and shipped requests.
    async fn email_ticket_updates(&self) -> bool {
        self.0.email_ticket_updates
    }
}

/// An integration's URL that receives signed webhooks (Standard Webhooks). Admins only.
#[derive(Clone)]
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

connection!(
    WebhookEndpointConnection,
    WebhookEndpointEdge,
    WebhookEndpoint,
    entity::webhook_endpoint::Entity,
    "webhook endpoints"
);

impl PlainFields for WebhookEndpoint {}

#[Object]
impl WebhookEndpoint {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::WebhookEndpoint, self.0.id)
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The event types it receives.
    async fn events(&self) -> Vec<WebhookEventType> {
        webhooks::events_of(&self.0)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// Whether it receives anything. tier3 turns it off when the receiver answers 410 or
    /// fails every delivery for a day (`disabledReason` says which).
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Why tier3 turned it off, if it did.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One message to one recipient: an email to a user, or a webhook to an endpoint. Admins
/// only.
#[derive(Clone)]
pub struct Delivery(pub delivery::Model);

connection!(
    DeliveryConnection,
    DeliveryEdge,
    Delivery,
    entity::delivery::Entity,
    "deliveries"
);

impl PlainFields for Delivery {}

#[Object]
impl Delivery {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Delivery, self.0.id)
    }
    async fn channel(&self) -> DeliveryChannel {
        self.0.channel.into()
    }
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }
    /// What it says: the webhook's `type`, or the email's template (`ticket.comment`,
    /// `ticket.solved`, `feature.shipped`, `release_note.published`).
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Attempts started so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// What the last attempt ran into, if it failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The email address or the endpoint URL.
    async fn target(&self) -> &str {
        &self.0.target
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// When it will be tried next (pending deliveries only).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == entity::DeliveryStatus::Pending).then_some(self.0.next_attempt_at)
    }
}

/// What the delivery list is narrowed to.
#[derive(async_graphql::InputObject, Default, Clone, Copy)]
pub struct DeliveryFilter {
    pub channel: Option<DeliveryChannel>,
    pub status: Option<DeliveryStatus>,
}
