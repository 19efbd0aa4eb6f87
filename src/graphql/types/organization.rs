//! `Organization`: a customer company.

use async_graphql::{Context, ID, Object, Result};
use entity::organization;

use crate::{
    domain::tickets,
    graphql::{
        connection::{Parts, connection, page_args},
        context::ContextExt,
        ids::{self, Kind},
        types::ticket::{TicketConnection, TicketFilter},
    },
};

/// A customer company; provisioned from the `org` claim.
#[derive(Clone)]
pub struct Organization(pub organization::Model);

connection!(
    OrganizationConnection,
    OrganizationEdge,
    Organization,
    entity::organization::Entity,
    "organizations"
);

#[Object]
impl Organization {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Organization, self.0.id)
    }
    /// The key tokens carry in their `org` claim.
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Tickets of this organization that the viewer may see, newest first.
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<TicketFilter>,
    ) -> Result<TicketConnection> {
        let mut filter = filter.unwrap_or_default().into_domain();
        filter.org_id = Some(self.0.id);
        let page = tickets::list(
            &ctx.app()?.db,
            ctx.viewer()?,
            &filter,
            page_args(first, after)?,
        )
        .await?;
        Ok(TicketConnection(Parts::from(page)))
    }
}
