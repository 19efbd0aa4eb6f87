//! The GraphQL layer: the schema's roots by area (`roots`) and types (`types`), thin
//! resolvers that call the domain, the loaders that adapt its batched reads, connections
//! and global ids. No SQL here: every query is a domain function.

pub mod connection;
pub mod context;
pub mod error;
pub mod guard;
pub mod http;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod node;
pub mod prefetch;
pub mod rate_limit;
pub mod roots;
pub mod schema;
pub mod subscription;
pub mod types;
pub mod ws;

pub use schema::{AppSchema, build, sdl};
