use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReleaseNote::Table)
                    .col(big_pk_auto(ReleaseNote::Id))
                    // UNIQUE: at most one note per release; also its FK index.
                    .col(big_integer_uniq(ReleaseNote::ReleaseId))
                    .col(string(ReleaseNote::Title))
                    .col(text(ReleaseNote::Body))
                    .col(big_integer(ReleaseNote::PublishedById))
                    .col(timestamp_with_time_zone(ReleaseNote::PublishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_release_note_release_id")
                            .from(ReleaseNote::Table, ReleaseNote::ReleaseId)
                            .to(Release::Table, Release::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_release_note_published_by_id")
                            .from(ReleaseNote::Table, ReleaseNote::PublishedById)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_release_note_published_by_id")
                    .table(ReleaseNote::Table)
                    .col(ReleaseNote::PublishedById)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReleaseNote::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ReleaseNote {
    Table,
    Id,
    ReleaseId,
    Title,
    Body,
    PublishedById,
    PublishedAt,
}

#[derive(DeriveIden)]
enum Release {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}
