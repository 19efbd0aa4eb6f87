//! Append-only event log: the audit trail and the replay log of resumable subscriptions.
//! Its order is `(tx, id)`: see the migration that added `tx`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::EventKind;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: EventKind,
    /// Visible to customers; internal events reach staff only.
    pub public: bool,
    pub actor_id: Option<i64>,
    pub org_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub escalation_id: Option<i64>,
    pub release_id: Option<i64>,
    pub release_note_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub escalation_update_id: Option<i64>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    /// Extra payload as JSON text.
    #[sea_orm(column_type = "Text", nullable)]
    pub data: Option<String>,
    pub created_at: DateTimeUtc,
    /// The writing transaction's id on PostgreSQL (0 on SQLite, and for rows written
    /// before it was recorded); filled in by the database.
    pub tx: i64,
    /// The track of the event's escalation as of the event.
    pub escalation_track: Option<crate::enums::EscalationTrack>,
    #[sea_orm(belongs_to, from = "actor_id", to = "id")]
    pub actor: BelongsTo<Option<super::app_user::Entity>>,
    #[sea_orm(belongs_to, from = "org_id", to = "id")]
    pub organization: BelongsTo<Option<super::organization::Entity>>,
    #[sea_orm(belongs_to, from = "ticket_id", to = "id")]
    pub ticket: BelongsTo<Option<super::ticket::Entity>>,
    #[sea_orm(belongs_to, from = "escalation_id", to = "id")]
    pub escalation: BelongsTo<Option<super::escalation::Entity>>,
    #[sea_orm(belongs_to, from = "release_id", to = "id")]
    pub release: BelongsTo<Option<super::release::Entity>>,
    #[sea_orm(belongs_to, from = "release_note_id", to = "id")]
    pub release_note: BelongsTo<Option<super::release_note::Entity>>,
    #[sea_orm(belongs_to, from = "comment_id", to = "id")]
    pub comment: BelongsTo<Option<super::comment::Entity>>,
    #[sea_orm(belongs_to, from = "escalation_update_id", to = "id")]
    pub escalation_update: BelongsTo<Option<super::escalation_update::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
