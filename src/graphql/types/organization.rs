//! `Organization`: a customer company.

use async_graphql::{Context, ID, Object, Result, Value};
use entity::organization;

use crate::graphql::{
    connection::connection,
    ids::{self, Kind},
    lean::{PlainFields, text, value},
    types::ticket::{self, TicketConnection, TicketFilter, TicketOrder},
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

impl PlainFields for Organization {
    fn plain(&self, field: &str) -> Option<Value> {
        let o = &self.0;
        Some(match field {
            "id" => value(ids::encode(Kind::Organization, o.id)),
            "key" => text(&o.key),
            "name" => text(&o.name),
            _ => return None,
        })
    }
}

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
    /// Tickets of this organization that the viewer may see, newest first unless `orderBy` says otherwise.
    // One parameter per GraphQL argument: the schema, not a function to refactor.
    #[allow(clippy::too_many_arguments)]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<TicketFilter>,
        order_by: Option<TicketOrder>,
    ) -> Result<TicketConnection> {
        let mut filter = filter.unwrap_or_default().into_domain()?;
        filter.org_id = Some(self.0.id);
        let parts = ticket::list(ctx, filter, order_by, (first, after, last, before)).await?;
        Ok(TicketConnection(parts))
    }
}
