//! The viewer's inbox: listing notifications and marking one read.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::{
    domain::notifications,
    graphql::{
        connection::{Parts, page_args},
        context::ContextExt,
        ids::{self, Kind},
        types::notification::{Notification, NotificationConnection},
    },
};

/// `notifications`.
#[derive(Default)]
pub struct NotificationsQuery;

#[Object]
impl NotificationsQuery {
    /// Your inbox, newest first. Anonymous callers: `UNAUTHENTICATED`.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default)] unread_only: bool,
    ) -> Result<NotificationConnection> {
        let page = notifications::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            unread_only,
            page_args(first, after, last, before)?,
        )
        .await?;
        Ok(NotificationConnection(Parts::from(page)))
    }
}

/// Marks one of your notifications read.
#[derive(InputObject)]
pub struct MarkNotificationReadInput {
    pub notification_id: ID,
}

/// The notification after the change.
#[derive(SimpleObject)]
pub struct MarkNotificationReadPayload {
    pub notification: Notification,
}

/// `markNotificationRead`.
#[derive(Default)]
pub struct NotificationsMutation;

#[Object]
impl NotificationsMutation {
    /// Marks one of your notifications read.
    async fn mark_notification_read(
        &self,
        ctx: &Context<'_>,
        input: MarkNotificationReadInput,
    ) -> Result<Option<MarkNotificationReadPayload>> {
        let app = ctx.app()?;
        let id = ids::decode(Kind::Notification, &input.notification_id)?;
        let n = notifications::mark_read(&app.db, ctx.viewer()?, id).await?;
        Ok(Some(MarkNotificationReadPayload {
            notification: Notification(n),
        }))
    }
}
