//! The GraphQL layer: the schema's roots by area (`roots`) and types (`types`), thin
//! resolvers that call the domain, the loaders that adapt its batched reads, connections
//! and global ids. No SQL here: every query is a domain function. Knows nothing of HTTP: the
//! edge (`crate::http`) runs operations on the schema built here.

pub mod connection;
pub mod context;
pub mod error;
pub mod ids;
pub mod lean;
pub mod live;
pub mod loaders;
pub mod node;
pub mod prefetch;
pub mod roots;
pub mod schema;
pub mod subscription;
pub mod types;

pub use schema::{AppSchema, sdl};
