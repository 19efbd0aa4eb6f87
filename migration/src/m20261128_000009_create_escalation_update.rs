use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EscalationUpdate::Table)
                    .col(big_pk_auto(EscalationUpdate::Id))
                    .col(big_integer(EscalationUpdate::EscalationId))
                    .col(big_integer(EscalationUpdate::AuthorId))
                    .col(text(EscalationUpdate::Body))
                    .col(boolean(EscalationUpdate::Public))
                    .col(timestamp_with_time_zone(EscalationUpdate::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_update_escalation_id")
                            .from(EscalationUpdate::Table, EscalationUpdate::EscalationId)
                            .to(Escalation::Table, Escalation::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_update_author_id")
                            .from(EscalationUpdate::Table, EscalationUpdate::AuthorId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(
                "idx_escalation_update_escalation_id_id",
                [EscalationUpdate::EscalationId, EscalationUpdate::Id],
            ),
            index(
                "idx_escalation_update_author_id",
                [EscalationUpdate::AuthorId],
            ),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EscalationUpdate::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [EscalationUpdate; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(EscalationUpdate::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum EscalationUpdate {
    Table,
    Id,
    EscalationId,
    AuthorId,
    Body,
    Public,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Escalation {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}
