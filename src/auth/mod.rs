//! Identity: token verification, the per-request viewer, and the edge that builds it.

pub mod edge;
pub mod jwt;
pub mod viewer;

pub use jwt::{Claims, Keys};
pub use viewer::{Actor, Viewer};
