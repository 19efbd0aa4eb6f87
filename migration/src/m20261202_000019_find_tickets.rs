//! Finding tickets: participants (colleagues copied on one ticket), a priority rank to
//! sort by, indexes for every order of the ticket list, and the full-text search index.
//!
//! Search reads one document per ticket, kept by triggers in `ticket_search`: the subject,
//! the description and the public comments (what a customer may read), and the same plus
//! the internal comments (what staff read), so "several words must all match" holds across
//! the whole ticket and a customer's search never touches internal text. Comments are only
//! ever added, so a new comment appends to the documents instead of rebuilding them.
//!
//! - PostgreSQL: two `tsvector` columns with GIN indexes (`english` configuration), queried
//!   with `websearch_to_tsquery`.
//! - SQLite: the texts in `ticket_search`, indexed by the external-content FTS5 table
//!   `ticket_fts` (porter stemming) that triggers keep in step with it.
//!
//! The trigger SQL is public ([`crate::search`]) because the bulk seed switches the
//! triggers off, loads, and rebuilds the index in one pass.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::search;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The ticket indexes every list order needs. The old `(x, id)` ones served the list when
/// it was ordered by id; `(x, created_at, id)` serves the same lookups and the new default
/// order (newest first by creation time).
const OLD_INDEXES: [&str; 4] = [
    "idx_ticket_org_id_id",
    "idx_ticket_requester_id_id",
    "idx_ticket_assignee_id_id",
    "idx_ticket_status_id",
];

const NEW_INDEXES: [(&str, &str); 7] = [
    ("idx_ticket_org_id_created_at_id", "org_id, created_at, id"),
    (
        "idx_ticket_requester_id_created_at_id",
        "requester_id, created_at, id",
    ),
    (
        "idx_ticket_assignee_id_created_at_id",
        "assignee_id, created_at, id",
    ),
    ("idx_ticket_status_created_at_id", "status, created_at, id"),
    ("idx_ticket_created_at_id", "created_at, id"),
    ("idx_ticket_updated_at_id", "updated_at, id"),
    ("idx_ticket_priority_rank_id", "priority_rank, id"),
];

/// LOW < NORMAL < HIGH < URGENT, as a number the database can index and compare.
const RANK: &str = "CASE priority WHEN 'LOW' THEN 1 WHEN 'NORMAL' THEN 2 WHEN 'HIGH' THEN 3 \
                    WHEN 'URGENT' THEN 4 ELSE 0 END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TicketParticipant::Table)
                    .col(big_integer(TicketParticipant::TicketId))
                    .col(big_integer(TicketParticipant::UserId))
                    .col(big_integer_null(TicketParticipant::AddedById))
                    .col(timestamp_with_time_zone(TicketParticipant::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TicketParticipant::TicketId)
                            .col(TicketParticipant::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_participant_ticket_id")
                            .from(TicketParticipant::Table, TicketParticipant::TicketId)
                            .to(Ticket::Table, Ticket::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_participant_user_id")
                            .from(TicketParticipant::Table, TicketParticipant::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_participant_added_by_id")
                            .from(TicketParticipant::Table, TicketParticipant::AddedById)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_participant_user_id_ticket_id")
                    .table(TicketParticipant::Table)
                    .col(TicketParticipant::UserId)
                    .col(TicketParticipant::TicketId)
                    .to_owned(),
            )
            .await?;

        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        // Not in the entity: the database computes it, nobody writes it.
        db.execute_unprepared(&match backend {
            DbBackend::Postgres => format!(
                "ALTER TABLE ticket ADD COLUMN priority_rank SMALLINT \
                 GENERATED ALWAYS AS ({RANK}) STORED"
            ),
            // SQLite can add only a virtual generated column; it can be indexed all the same.
            _ => format!(
                "ALTER TABLE ticket ADD COLUMN priority_rank INTEGER \
                 GENERATED ALWAYS AS ({RANK}) VIRTUAL"
            ),
        })
        .await?;
        for name in OLD_INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        for (name, cols) in NEW_INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON ticket ({cols})"))
                .await?;
        }

        for sql in search::create(backend)
            .iter()
            .chain(search::triggers(backend))
            .chain(search::rebuild(backend))
        {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for sql in search::drop_triggers(backend)
            .iter()
            .chain(search::drop(backend))
        {
            db.execute_unprepared(sql).await?;
        }
        for (name, _) in NEW_INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        db.execute_unprepared("ALTER TABLE ticket DROP COLUMN priority_rank")
            .await?;
        for (name, cols) in [
            ("idx_ticket_org_id_id", "org_id, id"),
            ("idx_ticket_requester_id_id", "requester_id, id"),
            ("idx_ticket_assignee_id_id", "assignee_id, id"),
            ("idx_ticket_status_id", "status, id"),
        ] {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON ticket ({cols})"))
                .await?;
        }
        manager
            .drop_table(Table::drop().table(TicketParticipant::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TicketParticipant {
    Table,
    TicketId,
    UserId,
    AddedById,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Ticket {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}
