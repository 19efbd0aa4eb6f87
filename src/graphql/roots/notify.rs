//! Notifications that leave tier3: your mail preferences; webhook endpoints and the
//! delivery queue (admins).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::{
    domain::notify::{
        deliveries::{self, Filter},
        preferences,
        webhooks::{self, EndpointInput},
    },
    graphql::{
        connection::{Parts, page_args},
        context::ContextExt,
        ids::{self, Kind},
        types::{
            enums::WebhookEventType,
            notify::{
                Delivery, DeliveryConnection, DeliveryFilter, NotificationPreferences,
                WebhookEndpoint, WebhookEndpointConnection,
            },
        },
    },
};

/// `webhookEndpoints`, `deliveries`.
#[derive(Default)]
pub struct NotifyQuery;

#[Object]
impl NotifyQuery {
    /// Every webhook endpoint, oldest first. Admins only (anyone else: `FORBIDDEN`).
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<WebhookEndpointConnection> {
        let page = webhooks::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            page_args(first, after, last, before)?,
        )
        .await?;
        Ok(WebhookEndpointConnection(Parts::from(page)))
    }

    /// Emails and webhooks, newest first. Admins only (anyone else: `FORBIDDEN`).
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<DeliveryFilter>,
    ) -> Result<DeliveryConnection> {
        let filter = filter.unwrap_or_default();
        let filter = Filter {
            channel: filter.channel.map(Into::into),
            status: filter.status.map(Into::into),
        };
        let page = deliveries::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            filter,
            page_args(first, after, last, before)?,
        )
        .await?;
        Ok(DeliveryConnection(Parts::from(page)))
    }
}

/// Which emails you receive; a field left out stays as it is.
#[derive(InputObject, Default)]
pub struct UpdateNotificationPreferencesInput {
    pub email_release_notes: Option<bool>,
    pub email_ticket_updates: Option<bool>,
}

/// Your preferences after the change.
#[derive(SimpleObject)]
pub struct UpdateNotificationPreferencesPayload {
    pub notification_preferences: NotificationPreferences,
}

/// A new webhook endpoint.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// `http(s)` only; private, loopback and link-local addresses are refused.
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub description: Option<String>,
}

/// The endpoint, and its signing secret — shown this once.
#[derive(SimpleObject)]
pub struct CreateWebhookEndpointPayload {
    pub webhook_endpoint: WebhookEndpoint,
    /// `whsec_…`: verify `webhook-signature` with it.
    pub secret: String,
}

/// Changes to an endpoint; a field left out stays as it is.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub webhook_endpoint_id: ID,
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEventType>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// The endpoint after the change.
#[derive(SimpleObject)]
pub struct UpdateWebhookEndpointPayload {
    pub webhook_endpoint: WebhookEndpoint,
}

/// The endpoint to delete.
#[derive(InputObject)]
pub struct DeleteWebhookEndpointInput {
    pub webhook_endpoint_id: ID,
}

/// The id of the deleted endpoint.
#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    pub deleted_webhook_endpoint_id: ID,
}

/// The endpoint whose secret to replace.
#[derive(InputObject)]
pub struct RotateWebhookSecretInput {
    pub webhook_endpoint_id: ID,
}

/// The new secret, shown this once; the old one keeps signing beside it for 24 hours.
#[derive(SimpleObject)]
pub struct RotateWebhookSecretPayload {
    pub webhook_endpoint: WebhookEndpoint,
    pub secret: String,
}

/// The delivery to try again.
#[derive(InputObject)]
pub struct RetryDeliveryInput {
    pub delivery_id: ID,
}

/// The delivery, due now.
#[derive(SimpleObject)]
pub struct RetryDeliveryPayload {
    pub delivery: Delivery,
}

/// Preferences, webhook endpoints and the delivery queue.
#[derive(Default)]
pub struct NotifyMutation;

#[Object]
impl NotifyMutation {
    /// Turns your emails on or off, by category.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: Option<UpdateNotificationPreferencesInput>,
    ) -> Result<Option<UpdateNotificationPreferencesPayload>> {
        let input = input.unwrap_or_default();
        let p = preferences::update(
            &ctx.app()?.db,
            ctx.viewer()?,
            input.email_release_notes,
            input.email_ticket_updates,
        )
        .await?;
        Ok(Some(UpdateNotificationPreferencesPayload {
            notification_preferences: NotificationPreferences(p),
        }))
    }

    /// Adds a webhook endpoint (admins). The secret is shown in the answer, and never again.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<Option<CreateWebhookEndpointPayload>> {
        let app = ctx.app()?;
        let (e, secret) = webhooks::create(
            &app.db,
            ctx.viewer()?,
            EndpointInput {
                url: Some(input.url),
                events: Some(input.events.into_iter().map(Into::into).collect()),
                description: input.description,
                enabled: None,
            },
            app.config.notify.webhook_allow_private,
        )
        .await?;
        Ok(Some(CreateWebhookEndpointPayload {
            webhook_endpoint: WebhookEndpoint(e),
            secret,
        }))
    }

    /// Changes a webhook endpoint (admins). Turning it on again clears `disabledReason`.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> Result<Option<UpdateWebhookEndpointPayload>> {
        let app = ctx.app()?;
        let id = ids::decode(Kind::WebhookEndpoint, &input.webhook_endpoint_id)?;
        let e = webhooks::update(
            &app.db,
            ctx.viewer()?,
            id,
            EndpointInput {
                url: input.url,
                events: input
                    .events
                    .map(|types| types.into_iter().map(Into::into).collect()),
                description: input.description,
                enabled: input.enabled,
            },
            app.config.notify.webhook_allow_private,
        )
        .await?;
        Ok(Some(UpdateWebhookEndpointPayload {
            webhook_endpoint: WebhookEndpoint(e),
        }))
    }

    /// Deletes a webhook endpoint (admins); what was waiting to go there is given up.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: DeleteWebhookEndpointInput,
    ) -> Result<Option<DeleteWebhookEndpointPayload>> {
        let id = ids::decode(Kind::WebhookEndpoint, &input.webhook_endpoint_id)?;
        let id = webhooks::delete(&ctx.app()?.db, ctx.viewer()?, id).await?;
        Ok(Some(DeleteWebhookEndpointPayload {
            deleted_webhook_endpoint_id: ids::encode(Kind::WebhookEndpoint, id),
        }))
    }

    /// Replaces an endpoint's secret (admins); the old one keeps signing for 24 hours.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: RotateWebhookSecretInput,
    ) -> Result<Option<RotateWebhookSecretPayload>> {
        let id = ids::decode(Kind::WebhookEndpoint, &input.webhook_endpoint_id)?;
        let (e, secret) = webhooks::rotate(&ctx.app()?.db, ctx.viewer()?, id).await?;
        Ok(Some(RotateWebhookSecretPayload {
            webhook_endpoint: WebhookEndpoint(e),
            secret,
        }))
    }

    /// Puts a pending or failed delivery back in the queue, due now (admins).
    async fn retry_delivery(
        &self,
        ctx: &Context<'_>,
        input: RetryDeliveryInput,
    ) -> Result<Option<RetryDeliveryPayload>> {
        let id = ids::decode(Kind::Delivery, &input.delivery_id)?;
        let d = deliveries::retry(&ctx.app()?.db, ctx.viewer()?, id).await?;
        Ok(Some(RetryDeliveryPayload {
            delivery: Delivery(d),
        }))
    }
}
