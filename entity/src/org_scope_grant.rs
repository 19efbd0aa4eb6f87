//! A staff user's time-boxed, revocable access to one organization's tickets.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "org_scope_grant")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The grantee. UNIQUE together with `org_id`.
    pub user_id: i64,
    pub org_id: i64,
    pub granted_by_id: i64,
    pub granted_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_by_id: Option<i64>,
    #[sea_orm(belongs_to, relation_enum = "User", from = "user_id", to = "id")]
    pub user: BelongsTo<super::app_user::Entity>,
    #[sea_orm(belongs_to, from = "org_id", to = "id")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(
        belongs_to,
        relation_enum = "GrantedBy",
        from = "granted_by_id",
        to = "id"
    )]
    pub granted_by: BelongsTo<super::app_user::Entity>,
    #[sea_orm(
        belongs_to,
        relation_enum = "RevokedBy",
        from = "revoked_by_id",
        to = "id"
    )]
    pub revoked_by: BelongsTo<Option<super::app_user::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
