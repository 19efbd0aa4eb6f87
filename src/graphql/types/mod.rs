//! GraphQL object types: thin wrappers over entity models.

pub mod comment;
pub mod enums;
pub mod event;
pub mod organization;
pub mod ticket;
pub mod user;
