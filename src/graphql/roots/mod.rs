//! The query and mutation roots, one file per area, each with its inputs and payloads.
//! `schema` merges them; the order of the merge is the order of the fields in the SDL.

pub mod escalations;
pub mod node;
pub mod notifications;
pub mod notify;
pub mod people;
pub mod rate_limit;
pub mod releases;
pub mod tickets;
