//! Identity: token verification, the viewer a request acts as, where credentials are found,
//! and the cache of recently provisioned identities. Knows nothing of HTTP or the database;
//! the edge (`crate::http::identity`) puts these together.

pub mod credentials;
pub mod identities;
pub mod jwt;
pub mod viewer;

pub use identities::Identities;
pub use jwt::{Audience, Claims, Keys};
pub use viewer::{Actor, Viewer};
