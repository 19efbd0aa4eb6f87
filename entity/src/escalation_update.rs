//! A progress update posted on an escalation; internal ones (`public = false`) are staff-only.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "escalation_update")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub escalation_id: i64,
    pub author_id: i64,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub public: bool,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "escalation_id", to = "id")]
    pub escalation: BelongsTo<super::escalation::Entity>,
    #[sea_orm(belongs_to, from = "author_id", to = "id")]
    pub author: BelongsTo<super::app_user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
