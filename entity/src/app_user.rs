//! A user known from a verified JWT, upserted by `sub`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::Role;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The JWT `sub` claim.
    #[sea_orm(unique)]
    pub sub: String,
    pub role: Role,
    /// Home organization (customers).
    pub org_id: Option<i64>,
    pub email: Option<String>,
    pub name: String,
    /// Mail when a followed release note is published.
    pub email_release_notes: bool,
    /// Mail about the user's tickets (public comments, solved, shipped).
    pub email_ticket_updates: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "org_id", to = "id")]
    pub organization: BelongsTo<Option<super::organization::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
