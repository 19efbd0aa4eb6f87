//! Link between an escalation and a ticket.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "escalation_ticket")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// UNIQUE together with `ticket_id`.
    pub escalation_id: i64,
    pub ticket_id: i64,
    /// `Some(ticket_id)` while the escalation is open, `None` once it is released or
    /// declined. UNIQUE, so a ticket has at most one open escalation (NULLs never clash).
    #[sea_orm(unique)]
    pub open_ticket_id: Option<i64>,
    pub linked_by_id: i64,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "escalation_id", to = "id")]
    pub escalation: BelongsTo<super::escalation::Entity>,
    #[sea_orm(belongs_to, from = "ticket_id", to = "id")]
    pub ticket: BelongsTo<super::ticket::Entity>,
    #[sea_orm(belongs_to, from = "linked_by_id", to = "id")]
    pub linked_by: BelongsTo<super::app_user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
