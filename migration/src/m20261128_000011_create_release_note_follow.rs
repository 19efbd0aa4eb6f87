use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReleaseNoteFollow::Table)
                    .col(big_pk_auto(ReleaseNoteFollow::Id))
                    // UNIQUE: a user follows release notes at most once; also its FK index.
                    .col(big_integer_uniq(ReleaseNoteFollow::UserId))
                    .col(timestamp_with_time_zone(ReleaseNoteFollow::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_release_note_follow_user_id")
                            .from(ReleaseNoteFollow::Table, ReleaseNoteFollow::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReleaseNoteFollow::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ReleaseNoteFollow {
    Table,
    Id,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}
