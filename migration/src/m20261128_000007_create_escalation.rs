use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Escalation::Table)
                    .col(big_pk_auto(Escalation::Id))
                    .col(string(Escalation::Title))
                    .col(text(Escalation::Details))
                    .col(string(Escalation::Status))
                    .col(string_null(Escalation::Track))
                    .col(string(Escalation::Priority))
                    .col(big_integer_null(Escalation::AssigneeId))
                    .col(big_integer_null(Escalation::ReleaseId))
                    .col(big_integer(Escalation::CreatedById))
                    .col(text_null(Escalation::DeclineReason))
                    .col(integer(Escalation::LockVersion).default(0))
                    .col(timestamp_with_time_zone_null(Escalation::TriagedAt))
                    .col(timestamp_with_time_zone(Escalation::CreatedAt))
                    .col(timestamp_with_time_zone(Escalation::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_assignee_id")
                            .from(Escalation::Table, Escalation::AssigneeId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_release_id")
                            .from(Escalation::Table, Escalation::ReleaseId)
                            .to(Release::Table, Release::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_escalation_created_by_id")
                            .from(Escalation::Table, Escalation::CreatedById)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index(
                "idx_escalation_status_priority_id",
                [Escalation::Status, Escalation::Priority, Escalation::Id],
            ),
            index("idx_escalation_release_id", [Escalation::ReleaseId]),
            index("idx_escalation_assignee_id", [Escalation::AssigneeId]),
            index("idx_escalation_created_by_id", [Escalation::CreatedById]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Escalation::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [Escalation; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Escalation::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum Escalation {
    Table,
    Id,
    Title,
    Details,
    Status,
    Track,
    Priority,
    AssigneeId,
    ReleaseId,
    CreatedById,
    DeclineReason,
    LockVersion,
    TriagedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Release {
    Table,
    Id,
}
