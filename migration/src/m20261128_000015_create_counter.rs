use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Name of the counter that hands out human-facing ticket numbers.
const TICKET_NUMBER: &str = "ticket_number";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Counter::Table)
                    .col(string(Counter::Name).primary_key())
                    .col(big_integer(Counter::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .execute(
                Query::insert()
                    .into_table(Counter::Table)
                    .columns([Counter::Name, Counter::Value])
                    .values_panic([TICKET_NUMBER.into(), 0i64.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Counter::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Counter {
    Table,
    Name,
    Value,
}
