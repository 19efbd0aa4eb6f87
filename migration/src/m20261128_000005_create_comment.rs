use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Comment::Table)
                    .col(big_pk_auto(Comment::Id))
                    .col(big_integer(Comment::TicketId))
                    .col(big_integer(Comment::AuthorId))
                    .col(text(Comment::Body))
                    .col(boolean(Comment::Public))
                    .col(timestamp_with_time_zone(Comment::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_comment_ticket_id")
                            .from(Comment::Table, Comment::TicketId)
                            .to(Ticket::Table, Ticket::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_comment_author_id")
                            .from(Comment::Table, Comment::AuthorId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index("idx_comment_ticket_id_id", [Comment::TicketId, Comment::Id]),
            index("idx_comment_author_id", [Comment::AuthorId]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Comment::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [Comment; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Comment::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum Comment {
    Table,
    Id,
    TicketId,
    AuthorId,
    Body,
    Public,
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
