//! Identity: token verification, the per-request viewer, and the edge that builds it.

pub mod edge;
pub mod jwt;
pub mod viewer;

pub use jwt::{Audience, Claims, Keys};
pub use viewer::{Actor, Viewer};
