//! Building the schema (no runtime data attached, so `tier3 schema` needs no database).

use async_graphql::{MergedObject, Schema};

use crate::graphql::{
    error::ErrorCodes,
    mutation::TicketMutation,
    query::TicketQuery,
    subscription::Subscription,
    workflow::{WorkflowMutation, WorkflowQuery},
};

/// Every query, by area.
#[derive(MergedObject, Default)]
pub struct Query(TicketQuery, WorkflowQuery);

/// Every mutation, by area.
#[derive(MergedObject, Default)]
pub struct Mutation(TicketMutation, WorkflowMutation);

/// The tier3 schema type.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Deepest query accepted. GraphiQL's introspection query nests about 13 levels.
pub const MAX_DEPTH: usize = 16;
/// Most expensive query accepted; lists cost `first × their children`.
pub const MAX_COMPLEXITY: usize = 50_000;

/// Builds the schema with its limits and error-code extension.
pub fn build() -> AppSchema {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .extension(ErrorCodes)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    build().sdl()
}
