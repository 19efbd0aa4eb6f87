//! How many tickets each organization has in each status; maintained by database triggers
//! (migration `m20261201_000016`), read for ticket lists' `totalCount`. Never written by
//! the application.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::TicketStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ticket_tally")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub status: TicketStatus,
    pub n: i64,
}

impl ActiveModelBehavior for ActiveModel {}
