//! Named monotonic counters (`ticket_number` hands out ticket numbers).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Name of the counter row that numbers tickets (seeded by the migration).
pub const TICKET_NUMBER: &str = "ticket_number";

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "counter")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub value: i64,
}

impl ActiveModelBehavior for ActiveModel {}
