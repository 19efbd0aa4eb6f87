//! A user's "was this helpful?" vote on a release note (one per user and note).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "release_note_vote")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// UNIQUE together with `user_id`.
    pub release_note_id: i64,
    pub user_id: i64,
    pub helpful: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "release_note_id", to = "id")]
    pub release_note: BelongsTo<super::release_note::Entity>,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::app_user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
