//! Building the schema (no runtime data attached, so `tier3 schema` needs no database).

use async_graphql::{MergedObject, Schema};

use crate::graphql::{
    error::ErrorCodes,
    guard::Guard,
    rate_limit::RateLimitQuery,
    roots::{
        escalations::{EscalationsMutation, EscalationsQuery},
        node::NodeQuery,
        notifications::{NotificationsMutation, NotificationsQuery},
        people::{PeopleMutation, PeopleQuery},
        releases::{ReleasesMutation, ReleasesQuery},
        tickets::{TicketsMutation, TicketsQuery},
    },
    subscription::Subscription,
};

/// Every query, by area.
// The SDL lists the fields in this order; keep it, so `schema.graphql` does not change.
#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    TicketsQuery,
    PeopleQuery,
    EscalationsQuery,
    ReleasesQuery,
    NotificationsQuery,
    RateLimitQuery,
);

/// Every mutation, by area.
#[derive(MergedObject, Default)]
pub struct Mutation(
    TicketsMutation,
    PeopleMutation,
    EscalationsMutation,
    ReleasesMutation,
    NotificationsMutation,
);

/// The tier3 schema type.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with its guard (cost and rate limits, see `graphql::guard`) and its
/// error-code extension: what WebSocket operations run on.
pub fn build() -> AppSchema {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .extension(ErrorCodes)
        .extension(Guard)
        .finish()
}

/// The same schema without extensions, for HTTP: the handler guards each request and stamps
/// error codes on the whole response itself, so no field pays for an extension chain.
pub fn build_plain() -> AppSchema {
    Schema::build(Query::default(), Mutation::default(), Subscription).finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    build().sdl()
}
