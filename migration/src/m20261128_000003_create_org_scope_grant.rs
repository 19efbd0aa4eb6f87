use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgScopeGrant::Table)
                    .col(big_pk_auto(OrgScopeGrant::Id))
                    .col(big_integer(OrgScopeGrant::UserId))
                    .col(big_integer(OrgScopeGrant::OrgId))
                    .col(big_integer(OrgScopeGrant::GrantedById))
                    .col(timestamp_with_time_zone(OrgScopeGrant::GrantedAt))
                    .col(timestamp_with_time_zone_null(OrgScopeGrant::ExpiresAt))
                    .col(timestamp_with_time_zone_null(OrgScopeGrant::RevokedAt))
                    .col(big_integer_null(OrgScopeGrant::RevokedById))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_org_scope_grant_user_id")
                            .from(OrgScopeGrant::Table, OrgScopeGrant::UserId)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_org_scope_grant_org_id")
                            .from(OrgScopeGrant::Table, OrgScopeGrant::OrgId)
                            .to(Organization::Table, Organization::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_org_scope_grant_granted_by_id")
                            .from(OrgScopeGrant::Table, OrgScopeGrant::GrantedById)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_org_scope_grant_revoked_by_id")
                            .from(OrgScopeGrant::Table, OrgScopeGrant::RevokedById)
                            .to(AppUser::Table, AppUser::Id),
                    )
                    // Also serves as the index for `user_id`.
                    .index(
                        Index::create()
                            .name("uq_org_scope_grant_user_id_org_id")
                            .col(OrgScopeGrant::UserId)
                            .col(OrgScopeGrant::OrgId)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        for stmt in [
            index("idx_org_scope_grant_org_id", [OrgScopeGrant::OrgId]),
            index(
                "idx_org_scope_grant_granted_by_id",
                [OrgScopeGrant::GrantedById],
            ),
            index(
                "idx_org_scope_grant_revoked_by_id",
                [OrgScopeGrant::RevokedById],
            ),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrgScopeGrant::Table).to_owned())
            .await
    }
}

fn index<const N: usize>(name: &str, cols: [OrgScopeGrant; N]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(OrgScopeGrant::Table);
    for col in cols {
        index.col(col);
    }
    index
}

#[derive(DeriveIden)]
enum OrgScopeGrant {
    Table,
    Id,
    UserId,
    OrgId,
    GrantedById,
    GrantedAt,
    ExpiresAt,
    RevokedAt,
    RevokedById,
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
