//! An integration's URL and the event types it receives.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_endpoint")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    /// `WebhookEventType` names, comma-separated.
    #[sea_orm(column_type = "Text")]
    pub events: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub enabled: bool,
    /// Why it was turned off when tier3 did it (410, failing for a day).
    #[sea_orm(column_type = "Text", nullable)]
    pub disabled_reason: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub secrets: HasMany<super::webhook_secret::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
