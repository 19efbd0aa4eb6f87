//! A colleague copied on one ticket (a desk's "CC"): they see it as its requester does.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ticket_participant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// Who added them (the requester, an agent or an admin).
    pub added_by_id: Option<i64>,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "ticket_id", to = "id")]
    pub ticket: BelongsTo<super::ticket::Entity>,
    #[sea_orm(belongs_to, relation_enum = "User", from = "user_id", to = "id")]
    pub user: BelongsTo<super::app_user::Entity>,
    #[sea_orm(belongs_to, relation_enum = "AddedBy", from = "added_by_id", to = "id")]
    pub added_by: BelongsTo<Option<super::app_user::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
