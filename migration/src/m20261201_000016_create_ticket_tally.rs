//! `ticket_tally`: how many tickets each requester has in each status, kept exact by
//! triggers in the same transaction as every ticket write. A ticket list's `totalCount`
//! sums a few tally rows instead of counting an organization's tickets one by one (the
//! largest organization at `seed --scale 1` has ~20,000; counting them was half of the
//! ticket page's database time). Triggers, not application code, so no write path (the
//! workflow, the seeder, a manual fix in psql) can forget it.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: &str = "CREATE TABLE ticket_tally (
    requester_id BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    org_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (requester_id, status, org_id)
)";
const INDEX: &str = "CREATE INDEX idx_ticket_tally_org_status ON ticket_tally (org_id, status)";
const BACKFILL: &str = "INSERT INTO ticket_tally (requester_id, status, org_id, n)
    SELECT requester_id, status, org_id, COUNT(*) FROM ticket GROUP BY requester_id, status, org_id";

const PG_TRIGGERS: [&str; 3] = [
    "CREATE FUNCTION ticket_tally_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE ticket_tally SET n = n - 1
     WHERE requester_id = OLD.requester_id AND status = OLD.status AND org_id = OLD.org_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO ticket_tally (requester_id, status, org_id, n)
    VALUES (NEW.requester_id, NEW.status, NEW.org_id, 1)
    ON CONFLICT (requester_id, status, org_id) DO UPDATE SET n = ticket_tally.n + 1;
  END IF;
  RETURN NULL;
END $$",
    "CREATE TRIGGER ticket_tally_insert_delete AFTER INSERT OR DELETE ON ticket
     FOR EACH ROW EXECUTE FUNCTION ticket_tally_track()",
    "CREATE TRIGGER ticket_tally_update AFTER UPDATE OF status, requester_id, org_id ON ticket
     FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                        OR OLD.requester_id IS DISTINCT FROM NEW.requester_id
                        OR OLD.org_id IS DISTINCT FROM NEW.org_id)
     EXECUTE FUNCTION ticket_tally_track()",
];

const SQLITE_TRIGGERS: [&str; 3] = [
    "CREATE TRIGGER ticket_tally_insert AFTER INSERT ON ticket BEGIN
       INSERT INTO ticket_tally (requester_id, status, org_id, n)
       VALUES (NEW.requester_id, NEW.status, NEW.org_id, 1)
       ON CONFLICT (requester_id, status, org_id) DO UPDATE SET n = n + 1;
     END",
    "CREATE TRIGGER ticket_tally_delete AFTER DELETE ON ticket BEGIN
       UPDATE ticket_tally SET n = n - 1
        WHERE requester_id = OLD.requester_id AND status = OLD.status AND org_id = OLD.org_id;
     END",
    "CREATE TRIGGER ticket_tally_update AFTER UPDATE OF status, requester_id, org_id ON ticket
     WHEN OLD.status IS NOT NEW.status OR OLD.requester_id IS NOT NEW.requester_id
          OR OLD.org_id IS NOT NEW.org_id
     BEGIN
       UPDATE ticket_tally SET n = n - 1
        WHERE requester_id = OLD.requester_id AND status = OLD.status AND org_id = OLD.org_id;
       INSERT INTO ticket_tally (requester_id, status, org_id, n)
       VALUES (NEW.requester_id, NEW.status, NEW.org_id, 1)
       ON CONFLICT (requester_id, status, org_id) DO UPDATE SET n = n + 1;
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
        for sql in [CREATE, INDEX, BACKFILL].into_iter().chain(triggers) {
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
