//! tier3: a GraphQL API for support desks built around Tier 3 escalations.
//!
//! The layers, each importing only those below it (`tests/layers.rs` checks it):
//!
//! | layer | holds |
//! |---|---|
//! | [`cli`] | the commands: serve, migrate, schema, token, seed |
//! | [`http`], [`seed`] | the edge (routes, admission, sockets, identity); demo and benchmark data |
//! | [`graphql`] | the schema: types, roots by area, thin resolvers, loaders |
//! | [`app`] | the application's parts: database, keys, configuration, bus, identities |
//! | [`courier`] | the delivery planner and workers: mail and webhooks out of the durable queue |
//! | [`domain`] | the business rules and every query; [`domain::policy`] is the one door to data |
//! | [`events`], [`metrics`], [`ratelimit`], [`outbound`] | the event log and its bus; telemetry; budgets; SMTP and webhook transports |
//! | [`db`], [`auth`] | connecting and migrating; tokens, viewers, credentials |
//! | [`config`], [`error`] | settings; errors and their codes |
//!
//! docs/ARCHITECTURE.md tells how a request and an event travel through them.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod courier;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod outbound;
pub mod ratelimit;
pub mod seed;

pub use app::App;
pub use config::Config;
pub use http::{Server, router};
