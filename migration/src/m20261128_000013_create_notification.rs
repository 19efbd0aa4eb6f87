use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notification::Table)
                    .col(big_pk_auto(Notification::Id))
                    .col(big_integer(Notification::UserId))
                    .col(string(Notification::Kind))
                    .col(text(Notification::Message))
                    .col(boolean(Notification::Read).default(false))
                    .col(big_integer_null(Notification::TicketId))
                    .col(big_integer_null(Notification::EscalationId))
                    .col(big_integer_null(Notification::ReleaseNoteId))
                    .col(timestamp_with_time_zone(Notification::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_user_id")
                            .from(Notification::Table, Notification::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_ticket_id")
                            .from(Notification::Table, Notification::TicketId)
                            .to(Ticket::Table, Ticket::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_escalation_id")
                            .from(Notification::Table, Notification::EscalationId)
                            .to(Escalation::Table, Escalation::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_release_note_id")
                            .from(Notification::Table, Notification::ReleaseNoteId)
                            .to(ReleaseNote::Table, ReleaseNote::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(
                "idx_notification_user_id_id",
                [Notification::UserId, Notification::Id],
            ),
            index("idx_notification_ticket_id", [Notification::TicketId]),
            index(
                "idx_notification_escalation_id",
                [Notification::EscalationId],
            ),
            index(
                "idx_notification_release_note_id",
                [Notification::ReleaseNoteId],
            ),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notification::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [Notification; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Notification::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum Notification {
    Table,
    Id,
    UserId,
    Kind,
    Message,
    Read,
    TicketId,
    EscalationId,
    ReleaseNoteId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Ticket {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Escalation {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ReleaseNote {
    Table,
    Id,
}
