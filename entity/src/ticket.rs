//! A support ticket raised by a customer within one organization.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{SolvedBy, TicketPriority, TicketStatus};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ticket")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Human-facing number, handed out by the `ticket_number` counter.
    #[sea_orm(unique)]
    pub number: i64,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub status: TicketStatus,
    pub priority: TicketPriority,
    pub solved_by: Option<SolvedBy>,
    pub requester_id: i64,
    pub org_id: i64,
    pub assignee_id: Option<i64>,
    /// Optimistic-concurrency version, bumped on every update.
    #[sea_orm(default_value = 0)]
    pub lock_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(
        belongs_to,
        relation_enum = "Requester",
        from = "requester_id",
        to = "id"
    )]
    pub requester: BelongsTo<super::app_user::Entity>,
    #[sea_orm(belongs_to, from = "org_id", to = "id")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(
        belongs_to,
        relation_enum = "Assignee",
        from = "assignee_id",
        to = "id"
    )]
    pub assignee: BelongsTo<Option<super::app_user::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
