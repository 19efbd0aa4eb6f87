//! GraphQL object types: thin wrappers over entity models.

pub mod comment;
pub mod enums;
pub mod escalation;
pub mod event;
pub mod notification;
pub mod notify;
pub mod organization;
pub mod release;
pub mod ticket;
pub mod user;
