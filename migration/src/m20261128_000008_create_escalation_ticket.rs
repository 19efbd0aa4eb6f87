use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EscalationTicket::Table)
                    .col(big_pk_auto(EscalationTicket::Id))
                    .col(big_integer(EscalationTicket::EscalationId))
                    .col(big_integer(EscalationTicket::TicketId))
                    // Holds `ticket_id` while the escalation is open and NULL once it is
                    // released or declined: a plain UNIQUE column enforces "one open
                    // escalation per ticket" on SQLite and PostgreSQL alike (NULLs never clash).
                    .col(big_integer_null(EscalationTicket::OpenTicketId).unique_key())
                    .col(big_integer(EscalationTicket::LinkedById))
                    .col(timestamp_with_time_zone(EscalationTicket::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_ticket_escalation_id")
                            .from(EscalationTicket::Table, EscalationTicket::EscalationId)
                            .to(Escalation::Table, Escalation::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_ticket_ticket_id")
                            .from(EscalationTicket::Table, EscalationTicket::TicketId)
                            .to(Ticket::Table, Ticket::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_ticket_linked_by_id")
                            .from(EscalationTicket::Table, EscalationTicket::LinkedById)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    // Also serves as the index for `escalation_id`.
                    .index(
                        Index::create()
                            .name("uq_escalation_ticket_escalation_id_ticket_id")
                            .col(EscalationTicket::EscalationId)
                            .col(EscalationTicket::TicketId)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(
                "idx_escalation_ticket_ticket_id",
                [EscalationTicket::TicketId],
            ),
            index(
                "idx_escalation_ticket_linked_by_id",
                [EscalationTicket::LinkedById],
            ),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EscalationTicket::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [EscalationTicket; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(EscalationTicket::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum EscalationTicket {
    Table,
    Id,
    EscalationId,
    TicketId,
    OpenTicketId,
    LinkedById,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Escalation {
    Table,
    Id,
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
