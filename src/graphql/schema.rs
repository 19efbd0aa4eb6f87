//! Building the schema (no runtime data attached, so `tier3 schema` needs no database).

use async_graphql::{MergedObject, Schema, SchemaBuilder};

use crate::graphql::{
    mutation::TicketMutation,
    query::TicketQuery,
    rate_limit::RateLimitQuery,
    subscription::Subscription,
    workflow::{WorkflowMutation, WorkflowQuery},
};

/// Every query, by area.
#[derive(MergedObject, Default)]
pub struct Query(TicketQuery, WorkflowQuery, RateLimitQuery);

/// Every mutation, by area.
#[derive(MergedObject, Default)]
pub struct Mutation(TicketMutation, WorkflowMutation);

/// The tier3 schema type.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema's builder, with no runtime data and no extensions: the edge adds what each
/// transport needs (see `crate::http::Schemas`).
pub fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}
