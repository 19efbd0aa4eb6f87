//! One message to one recipient on one channel: a mail to a user, or a webhook to an
//! endpoint. Decided from a committed event, then attempted by a worker until it is
//! delivered or given up.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{DeliveryChannel, DeliveryStatus, MailCategory};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "delivery")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel: DeliveryChannel,
    /// `channel:event:recipient`: a replayed event cannot queue a second message.
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub event_id: i64,
    /// What the message says: a mail template or a webhook event type.
    pub kind: String,
    pub user_id: Option<i64>,
    pub endpoint_id: Option<i64>,
    /// The address or the endpoint URL, as it was when the delivery was decided.
    #[sea_orm(column_type = "Text")]
    pub target: String,
    pub category: Option<MailCategory>,
    /// A webhook's body, fixed when decided so every retry sends the same bytes.
    #[sea_orm(column_type = "Text", nullable)]
    pub payload: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub next_attempt_at: DateTimeUtc,
    /// The worker holding it, until `lease_until`.
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "event_id", to = "id")]
    pub event: BelongsTo<super::event::Entity>,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<Option<super::app_user::Entity>>,
    #[sea_orm(belongs_to, from = "endpoint_id", to = "id")]
    pub endpoint: BelongsTo<Option<super::webhook_endpoint::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
