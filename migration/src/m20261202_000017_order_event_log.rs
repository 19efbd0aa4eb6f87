//! Orders the event log by the transaction that wrote each event, not by its sequence id.
//!
//! PostgreSQL hands out `id`s before commit, so ids commit out of order: a reader that saw
//! id 12 cannot tell whether 11 is still in flight or rolled back. Each row now records its
//! writer's transaction id (`pg_current_xact_id()`, 64 bits, never wrapping); readers take
//! only rows whose transaction is below the oldest one still running, ordered by
//! `(tx, id)`, and nothing can appear behind a position once it has been read. On SQLite
//! one writer holds the database until commit, so `id` order already is commit order and
//! `tx` stays 0.
//!
//! The value is stored as `BIGINT` (the xid8's number; PostgreSQL has no cast from xid8 to
//! an integer, so through text) so both backends share one column type and the entity stays
//! portable. Rows already written get 0: they are committed, so they come before anything
//! written from now on, in id order as before.
//!
//! `escalation_track` is the track of the event's escalation as of the event, so that "a
//! hotfix-track event" does not change meaning when an escalation is re-triaged later.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const ADD_TX: &str = "ALTER TABLE event ADD COLUMN tx BIGINT NOT NULL DEFAULT 0";
// Evaluated by the inserting statement, inside the writer's transaction (it assigns the
// transaction an id if it has none yet).
const PG_TX_DEFAULT: &str =
    "ALTER TABLE event ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint)";
const ADD_TRACK: &str = "ALTER TABLE event ADD COLUMN escalation_track VARCHAR NULL";
const BACKFILL_TRACK: &str = "UPDATE event SET escalation_track =
    (SELECT track FROM escalation WHERE escalation.id = event.escalation_id)
    WHERE escalation_id IS NOT NULL";
const INDEXES: [&str; 2] = [
    // The publisher's and a staff replay's scan.
    "CREATE INDEX idx_event_tx_id ON event (tx, id)",
    // A customer's replay: their tickets' events from a position.
    "CREATE INDEX idx_event_ticket_id_tx_id ON event (ticket_id, tx, id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(ADD_TX).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(PG_TX_DEFAULT).await?;
        }
        db.execute_unprepared(ADD_TRACK).await?;
        db.execute_unprepared(BACKFILL_TRACK).await?;
        for index in INDEXES {
            db.execute_unprepared(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for index in ["idx_event_tx_id", "idx_event_ticket_id_tx_id"] {
            db.execute_unprepared(&format!("DROP INDEX {index}"))
                .await?;
        }
        db.execute_unprepared("ALTER TABLE event DROP COLUMN escalation_track")
            .await?;
        db.execute_unprepared("ALTER TABLE event DROP COLUMN tx")
            .await?;
        Ok(())
    }
}
