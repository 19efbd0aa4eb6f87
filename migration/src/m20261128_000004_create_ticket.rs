use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Ticket::Table)
                    .col(big_pk_auto(Ticket::Id))
                    .col(big_integer_uniq(Ticket::Number))
                    .col(string(Ticket::Subject))
                    .col(text(Ticket::Description))
                    .col(string(Ticket::Status))
                    .col(string(Ticket::Priority))
                    .col(string_null(Ticket::SolvedBy))
                    .col(big_integer(Ticket::RequesterId))
                    .col(big_integer(Ticket::OrgId))
                    .col(big_integer_null(Ticket::AssigneeId))
                    .col(integer(Ticket::LockVersion).default(0))
                    .col(timestamp_with_time_zone(Ticket::CreatedAt))
                    .col(timestamp_with_time_zone(Ticket::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_requester_id")
                            .from(Ticket::Table, Ticket::RequesterId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_org_id")
                            .from(Ticket::Table, Ticket::OrgId)
                            .to(Organization::Table, Organization::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_assignee_id")
                            .from(Ticket::Table, Ticket::AssigneeId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index("idx_ticket_org_id_id", [Ticket::OrgId, Ticket::Id]),
            index(
                "idx_ticket_requester_id_id",
                [Ticket::RequesterId, Ticket::Id],
            ),
            index(
                "idx_ticket_assignee_id_id",
                [Ticket::AssigneeId, Ticket::Id],
            ),
            index("idx_ticket_status_id", [Ticket::Status, Ticket::Id]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Ticket::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [Ticket; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Ticket::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum Ticket {
    Table,
    Id,
    Number,
    Subject,
    Description,
    Status,
    Priority,
    SolvedBy,
    RequesterId,
    OrgId,
    AssigneeId,
    LockVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}
