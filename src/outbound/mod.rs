//! Talking to the outside: mail over SMTP (or to `.eml` files) and signed webhooks over
//! HTTP. Nothing here reads the database or knows who a message is for: the domain decides
//! and renders, the courier claims and calls these, and records what they answer.

pub mod mail;
pub mod webhook;
