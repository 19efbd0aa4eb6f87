use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReleaseNoteVote::Table)
                    .col(big_pk_auto(ReleaseNoteVote::Id))
                    .col(big_integer(ReleaseNoteVote::ReleaseNoteId))
                    .col(big_integer(ReleaseNoteVote::UserId))
                    .col(boolean(ReleaseNoteVote::Helpful))
                    .col(timestamp_with_time_zone(ReleaseNoteVote::CreatedAt))
                    .col(timestamp_with_time_zone(ReleaseNoteVote::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_release_note_vote_release_note_id")
                            .from(ReleaseNoteVote::Table, ReleaseNoteVote::ReleaseNoteId)
                            .to(ReleaseNote::Table, ReleaseNote::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_release_note_vote_user_id")
                            .from(ReleaseNoteVote::Table, ReleaseNoteVote::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    // One vote per user and note; also the index for `release_note_id`.
                    .index(
                        Index::create()
                            .name("uq_release_note_vote_release_note_id_user_id")
                            .col(ReleaseNoteVote::ReleaseNoteId)
                            .col(ReleaseNoteVote::UserId)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_release_note_vote_user_id")
                    .table(ReleaseNoteVote::Table)
                    .col(ReleaseNoteVote::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReleaseNoteVote::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ReleaseNoteVote {
    Table,
    Id,
    ReleaseNoteId,
    UserId,
    Helpful,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReleaseNote {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}
