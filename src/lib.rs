//! tier3: a GraphQL API for support desks built around Tier 3 escalations.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod ratelimit;
pub mod seed;

pub use app::App;
pub use config::Config;
pub use http::{Server, router};
