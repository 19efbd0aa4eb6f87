//! A product release (hotfix or quarterly) that escalations are scheduled into.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{ReleaseKind, ReleaseStatus};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "release")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub version: String,
    pub kind: ReleaseKind,
    pub status: ReleaseStatus,
    /// Planning quarter of a quarterly release, e.g. `"2027-Q1"`.
    pub quarter: Option<String>,
    pub planned_for: Option<Date>,
    pub imminent_at: Option<DateTimeUtc>,
    pub released_at: Option<DateTimeUtc>,
    pub created_by_id: i64,
    /// Optimistic-concurrency version, bumped on every update.
    #[sea_orm(default_value = 0)]
    pub lock_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "created_by_id", to = "id")]
    pub created_by: BelongsTo<super::app_user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
