//! The opaque token in a mail's unsubscribe link: one per user and mail category.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::MailCategory;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "unsubscribe_token")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token: String,
    pub user_id: i64,
    pub category: MailCategory,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "user_id", to = "id")]
    pub user: BelongsTo<super::app_user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
