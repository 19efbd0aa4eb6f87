//! Users and organizations: listing them, and granting or revoking a customer's
//! organization scope.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    domain::{organizations, scope, users},
    graphql::{
        connection::{Parts, page_args},
        context::ContextExt,
        ids::{self, Kind},
        types::{
            organization::OrganizationConnection,
            user::{User, UserConnection},
        },
    },
};

/// `users` and `organizations`.
#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    /// Users you may see: staff see everyone; customers themselves, staff, and (with
    /// organization scope) their organization's members. Anonymous callers:
    /// `UNAUTHENTICATED`.
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<UserConnection> {
        let page = users::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            page_args(first, after, last, before)?,
        )
        .await?;
        Ok(UserConnection(Parts::from(page)))
    }

    /// Organizations you may see: staff all, customers their own. Anonymous callers:
    /// `UNAUTHENTICATED`.
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OrganizationConnection> {
        let page = organizations::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            page_args(first, after, last, before)?,
        )
        .await?;
        Ok(OrganizationConnection(Parts::from(page)))
    }
}

/// Lets a customer see every ticket of their organization.
#[derive(InputObject)]
pub struct GrantOrganizationScopeInput {
    pub user_id: ID,
    /// When the grant lapses by itself; never, if omitted.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The user the grant was given to.
#[derive(SimpleObject)]
pub struct GrantOrganizationScopePayload {
    pub user: User,
}

/// Takes organization scope away, effective immediately.
#[derive(InputObject)]
pub struct RevokeOrganizationScopeInput {
    pub user_id: ID,
}

/// The user the grant was taken from.
#[derive(SimpleObject)]
pub struct RevokeOrganizationScopePayload {
    pub user: User,
}

/// `grantOrganizationScope` and `revokeOrganizationScope`.
#[derive(Default)]
pub struct PeopleMutation;

#[Object]
impl PeopleMutation {
    /// Grants a customer organization scope (admins).
    async fn grant_organization_scope(
        &self,
        ctx: &Context<'_>,
        input: GrantOrganizationScopeInput,
    ) -> Result<Option<GrantOrganizationScopePayload>> {
        let app = ctx.app()?;
        let user_id = ids::decode(Kind::User, &input.user_id)?;
        let user =
            scope::grant(&app.db, &app.bus, ctx.viewer()?, user_id, input.expires_at).await?;
        Ok(Some(GrantOrganizationScopePayload { user: User(user) }))
    }

    /// Revokes a customer's organization scope (admins); effective on their next request
    /// and on open subscriptions.
    async fn revoke_organization_scope(
        &self,
        ctx: &Context<'_>,
        input: RevokeOrganizationScopeInput,
    ) -> Result<Option<RevokeOrganizationScopePayload>> {
        let app = ctx.app()?;
        let user_id = ids::decode(Kind::User, &input.user_id)?;
        let user = scope::revoke(&app.db, &app.bus, ctx.viewer()?, user_id).await?;
        Ok(Some(RevokeOrganizationScopePayload { user: User(user) }))
    }
}
