use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppUser::Table)
                    .col(big_pk_auto(AppUser::Id))
                    .col(string_uniq(AppUser::Sub))
                    .col(string(AppUser::Role))
                    .col(big_integer_null(AppUser::OrgId))
                    .col(string_null(AppUser::Email))
                    .col(string(AppUser::Name))
                    .col(timestamp_with_time_zone(AppUser::CreatedAt))
                    .col(timestamp_with_time_zone(AppUser::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_app_user_org_id")
                            .from(AppUser::Table, AppUser::OrgId)
                            .to(Organization::Table, Organization::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_app_user_org_id")
                    .table(AppUser::Table)
                    .col(AppUser::OrgId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AppUser::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    Sub,
    Role,
    OrgId,
    Email,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}
