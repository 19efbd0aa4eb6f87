//! A Tier 3 escalation: one engineering problem linked to one or more tickets.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{EscalationPriority, EscalationStatus, EscalationTrack};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "escalation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub details: String,
    pub status: EscalationStatus,
    /// Chosen at triage; `None` while awaiting triage.
    pub track: Option<EscalationTrack>,
    pub priority: EscalationPriority,
    pub assignee_id: Option<i64>,
    pub release_id: Option<i64>,
    pub created_by_id: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub decline_reason: Option<String>,
    /// Optimistic-concurrency version, bumped on every update.
    #[sea_orm(default_value = 0)]
    pub lock_version: i32,
    pub triaged_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(
        belongs_to,
        relation_enum = "Assignee",
        from = "assignee_id",
        to = "id"
    )]
    pub assignee: BelongsTo<Option<super::app_user::Entity>>,
    #[sea_orm(belongs_to, from = "release_id", to = "id")]
    pub release: BelongsTo<Option<super::release::Entity>>,
    #[sea_orm(
        belongs_to,
        relation_enum = "CreatedBy",
        from = "created_by_id",
        to = "id"
    )]
    pub created_by: BelongsTo<super::app_user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
