//! Query root.

use async_graphql::{Context, ID, Object, Result};

use crate::{
    domain::{organizations, tickets, users},
    error::AppError,
    graphql::{
        connection::{Parts, page_args},
        context::ContextExt,
        ids::{self, Kind},
        node::{self, Node},
        prefetch,
        types::{
            organization::OrganizationConnection,
            ticket::{Ticket, TicketConnection, TicketFilter},
            user::{User, UserConnection},
        },
    },
};

/// Entry points for reading.
#[derive(Default)]
pub struct TicketQuery;

#[Object]
impl TicketQuery {
    /// Any object by its global id; `NOT_FOUND` if it does not exist or is not yours to see.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(Some(node::load(ctx.app()?, ctx.viewer()?, &id).await?))
    }

    /// The signed-in user; null when anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match ctx.viewer()?.user_id() {
            Some(id) => Ok(ctx.loaders()?.users().load_one(id).await?.map(User)),
            None => Ok(None),
        }
    }

    /// Tickets you may see, newest first: customers their own (or their organization's,
    /// with organization scope), staff all.
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<TicketFilter>,
    ) -> Result<TicketConnection> {
        let filter = filter.unwrap_or_default().into_domain();
        let page = tickets::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            &filter,
            page_args(first, after)?,
        )
        .await?;
        prefetch::tickets(ctx, &prefetch::items(&ctx.look_ahead()), &page.items).await?;
        Ok(TicketConnection(Parts::from(page)))
    }

    /// One ticket by global `id` or by human `number` (give exactly one).
    async fn ticket(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        number: Option<i64>,
    ) -> Result<Option<Ticket>> {
        let (db, v) = (&ctx.app()?.db, ctx.viewer()?);
        let t = match (id, number) {
            (Some(id), None) => {
                tickets::load_visible(db, v, ids::decode(Kind::Ticket, &id)?).await?
            }
            (None, Some(n)) => tickets::load_visible_by_number(db, v, n).await?,
            _ => {
                return Err(AppError::bad_input("give exactly one of `id` and `number`").into());
            }
        };
        prefetch::tickets(ctx, &[ctx.look_ahead()], std::slice::from_ref(&t)).await?;
        Ok(Some(Ticket(t)))
    }

    /// Users you may see: staff see everyone; customers themselves, staff, and (with
    /// organization scope) their organization's members.
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<UserConnection> {
        let page = users::list(&ctx.app()?.db, ctx.viewer()?, page_args(first, after)?).await?;
        Ok(UserConnection(Parts::from(page)))
    }

    /// Organizations you may see: staff all, customers their own.
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<OrganizationConnection> {
        let page =
            organizations::list(&ctx.app()?.db, ctx.viewer()?, page_args(first, after)?).await?;
        Ok(OrganizationConnection(Parts::from(page)))
    }
}
