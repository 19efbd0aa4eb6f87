//! Building the schema (no runtime data attached, so `tier3 schema` needs no database).

use async_graphql::{MergedObject, Schema, SchemaBuilder};

use crate::graphql::{
    roots::{
        escalations::{EscalationsMutation, EscalationsQuery},
        node::NodeQuery,
        notifications::{NotificationsMutation, NotificationsQuery},
        notify::{NotifyMutation, NotifyQuery},
        people::{PeopleMutation, PeopleQuery},
        rate_limit::RateLimitQuery,
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
    NotifyQuery,
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
    NotifyMutation,
);

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
