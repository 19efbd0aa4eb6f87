//! What leaves the process: mail to the people a change concerns and signed webhooks to
//! integrations, through a durable queue.
//!
//! - [`planner`] reads the committed event log from a stored position and decides who is
//!   told what (one `delivery` row per event, recipient and channel), moving its position
//!   in the same transaction;
//! - [`deliveries`] is the queue: claims under leases, outcomes, the admins' view;
//! - [`mail`] and [`payload`] render a delivery into a message;
//! - [`preferences`] and [`webhooks`] are what users and admins manage.
//!
//! Sending is the courier's (`crate::courier`); the transports are `crate::outbound`.

pub mod deliveries;
pub mod mail;
pub mod payload;
pub mod planner;
pub mod preferences;
pub mod webhooks;
