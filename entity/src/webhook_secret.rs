//! A signing secret of a webhook endpoint; after a rotation the old one signs beside the
//! new one until it expires.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_secret")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub endpoint_id: i64,
    /// `whsec_…`. Kept in the clear because signing needs it.
    pub secret: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "endpoint_id", to = "id")]
    pub endpoint: BelongsTo<super::webhook_endpoint::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
