//! `ticket_tally`: how many tickets each organization has in each status, kept exact by
//! triggers in the same transaction as every ticket write. A ticket list's `totalCount`
//! sums at most six tally rows per organization instead of counting its tickets one by one
//! (the largest organization at `seed --scale 1` has ~20,000; counting them was half of the
//! ticket page's database time). Per organization, not per requester: a requester has a
//! handful of tickets, so their own list is cheap to count directly, while a per-requester
//! tally of a large organization is nearly as long as its ticket list. Triggers, not
//! application code, so no write path (the workflow, the seeder, a fix in psql) forgets it.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: &str = "CREATE TABLE ticket_tally (
    org_id BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (org_id, status)
)";
const BACKFILL: &str = "INSERT INTO ticket_tally (org_id, status, n)
    SELECT org_id, status, COUNT(*) FROM ticket GROUP BY org_id, status";

const PG_TRIGGERS: [&str; 3] = [
    "CREATE FUNCTION ticket_tally_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE ticket_tally SET n = n - 1
     WHERE org_id = OLD.org_id AND status = OLD.status;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO ticket_tally (org_id, status, n)
    VALUES (NEW.org_id, NEW.status, 1)
    ON CONFLICT (org_id, status) DO UPDATE SET n = ticket_tally.n + 1;
  END IF;
  RETURN NULL;
END $$",
    // Deferred to commit: a transaction then takes its tally locks after all its ticket
    // locks, so one that changes several tickets (an escalation's effect on its linked
    // tickets) cannot hold a tally row while waiting for a ticket another transaction holds
    // while waiting for that tally row.
    "CREATE CONSTRAINT TRIGGER ticket_tally_insert_delete AFTER INSERT OR DELETE ON ticket
     DEFERRABLE INITIALLY DEFERRED
     FOR EACH ROW EXECUTE FUNCTION ticket_tally_track()",
    "CREATE CONSTRAINT TRIGGER ticket_tally_update AFTER UPDATE OF status, org_id ON ticket
     DEFERRABLE INITIALLY DEFERRED
     FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                        OR OLD.org_id IS DISTINCT FROM NEW.org_id)
     EXECUTE FUNCTION ticket_tally_track()",
];

const SQLITE_TRIGGERS: [&str; 3] = [
    "CREATE TRIGGER ticket_tally_insert AFTER INSERT ON ticket BEGIN
       INSERT INTO ticket_tally (org_id, status, n)
       VALUES (NEW.org_id, NEW.status, 1)
       ON CONFLICT (org_id, status) DO UPDATE SET n = n + 1;
     END",
    "CREATE TRIGGER ticket_tally_delete AFTER DELETE ON ticket BEGIN
       UPDATE ticket_tally SET n = n - 1
        WHERE org_id = OLD.org_id AND status = OLD.status;
     END",
    "CREATE TRIGGER ticket_tally_update AFTER UPDATE OF status, org_id ON ticket
     WHEN OLD.status IS NOT NEW.status OR OLD.org_id IS NOT NEW.org_id
     BEGIN
       UPDATE ticket_tally SET n = n - 1
        WHERE org_id = OLD.org_id AND status = OLD.status;
       INSERT INTO ticket_tally (org_id, status, n)
       VALUES (NEW.org_id, NEW.status, 1)
       ON CONFLICT (org_id, status) DO UPDATE SET n = n + 1;
     END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let triggers = match manager.get_database_backend() {
            DbBackend::Postgres => PG_TRIGGERS,
            _ => SQLITE_TRIGGERS,
        };
        for sql in [CREATE, BACKFILL].into_iter().chain(triggers) {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let drops: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER ticket_tally_update ON ticket",
                "DROP TRIGGER ticket_tally_insert_delete ON ticket",
                "DROP FUNCTION ticket_tally_track()",
            ],
            _ => &[
                "DROP TRIGGER ticket_tally_update",
                "DROP TRIGGER ticket_tally_delete",
                "DROP TRIGGER ticket_tally_insert",
            ],
        };
        for sql in drops.iter().chain(&["DROP TABLE ticket_tally"]) {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
