//! The GraphQL layer: thin resolvers over the domain.

pub mod connection;
pub mod context;
pub mod error;
pub mod guard;
pub mod http;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod node;
pub mod prefetch;
pub mod query;
pub mod rate_limit;
pub mod schema;
pub mod subscription;
pub mod types;
pub mod workflow;
pub mod ws;

pub use schema::{AppSchema, build, sdl};
