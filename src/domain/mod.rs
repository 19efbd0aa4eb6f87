//! Business rules. The GraphQL layer calls these; nothing here knows about GraphQL or HTTP.

pub mod comments;
pub mod escalations;
pub mod notifications;
pub mod organizations;
pub mod page;
pub mod policy;
pub mod release_notes;
pub mod releases;
pub mod rows;
pub mod scope;
pub mod ticket_events;
pub mod tickets;
pub mod transitions;
pub mod users;
