//! SeaORM entities for tier3, one module per table (singular table names). SeaORM only: no
//! GraphQL derives here. Enum columns use the string-backed enums in [`enums`], re-exported at
//! the crate root.

pub mod enums;
pub mod prelude;

pub mod app_user;
pub mod comment;
pub mod counter;
pub mod delivery;
pub mod delivery_cursor;
pub mod escalation;
pub mod escalation_ticket;
pub mod escalation_update;
pub mod event;
pub mod notification;
pub mod org_scope_grant;
pub mod organization;
pub mod release;
pub mod release_note;
pub mod release_note_follow;
pub mod release_note_vote;
pub mod ticket;
pub mod ticket_participant;
pub mod ticket_tally;
pub mod unsubscribe_token;
pub mod webhook_endpoint;
pub mod webhook_secret;

pub use enums::*;
