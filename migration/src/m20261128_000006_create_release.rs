use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Release::Table)
                    .col(big_pk_auto(Release::Id))
                    .col(string_uniq(Release::Version))
                    .col(string(Release::Kind))
                    .col(string(Release::Status))
                    .col(string_null(Release::Quarter))
                    .col(date_null(Release::PlannedFor))
                    .col(timestamp_with_time_zone_null(Release::ImminentAt))
                    .col(timestamp_with_time_zone_null(Release::ReleasedAt))
                    .col(big_integer(Release::CreatedById))
                    .col(integer(Release::LockVersion).default(0))
                    .col(timestamp_with_time_zone(Release::CreatedAt))
                    .col(timestamp_with_time_zone(Release::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_release_created_by_id")
                            .from(Release::Table, Release::CreatedById)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index("idx_release_status_id", [Release::Status, Release::Id]),
            index("idx_release_created_by_id", [Release::CreatedById]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Release::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [Release; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Release::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum Release {
    Table,
    Id,
    Version,
    Kind,
    Status,
    Quarter,
    PlannedFor,
    ImminentAt,
    ReleasedAt,
    CreatedById,
    LockVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}
