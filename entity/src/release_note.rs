//! The published note of a release (at most one per release).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "release_note")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub release_id: i64,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub published_by_id: i64,
    pub published_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "release_id", to = "id")]
    pub release: BelongsTo<super::release::Entity>,
    #[sea_orm(belongs_to, from = "published_by_id", to = "id")]
    pub published_by: BelongsTo<super::app_user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
