//! An in-app notification for one user.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notification")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    #[sea_orm(default_value = false)]
    pub read: bool,
    pub ticket_id: Option<i64>,
    pub escalation_id: Option<i64>,
    pub release_note_id: Option<i64>,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::app_user::Entity>,
    #[sea_orm(belongs_to, from = "ticket_id", to = "id")]
    pub ticket: BelongsTo<Option<super::ticket::Entity>>,
    #[sea_orm(belongs_to, from = "escalation_id", to = "id")]
    pub escalation: BelongsTo<Option<super::escalation::Entity>>,
    #[sea_orm(belongs_to, from = "release_note_id", to = "id")]
    pub release_note: BelongsTo<Option<super::release_note::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
