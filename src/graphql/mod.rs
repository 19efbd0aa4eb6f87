//! The GraphQL layer: the schema's types and roots, thin resolvers over the domain, the
//! loaders that batch domain reads, connections and global ids. Knows nothing of HTTP: the
//! edge (`crate::http`) runs operations on the schema built here.

pub mod connection;
pub mod context;
pub mod error;
pub mod ids;
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

pub use schema::{AppSchema, sdl};
