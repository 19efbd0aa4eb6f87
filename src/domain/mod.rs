//! Business rules, and every query. The GraphQL layer calls these; nothing here knows about
//! GraphQL or HTTP. `policy` is the one door to data (row filters and `can_*` checks);
//! `transitions` the status machines; one module per aggregate (tickets, comments,
//! escalations, releases, release notes, notifications, users, organizations, organization
//! scope); `delivery` which events reach which subscriber; `notify` what leaves the process (mail, webhooks) and its durable queue; `linked_tickets` what escalation and release steps do to linked tickets; and
//! `page`, `rows` and `write` the helpers they share.

pub mod comments;
pub mod delivery;
pub mod escalations;
pub mod global_id;
pub mod linked_tickets;
pub mod notifications;
pub mod notify;
pub mod organizations;
pub mod page;
pub mod participants;
pub mod policy;
pub mod release_notes;
pub mod releases;
pub mod rows;
pub mod scope;
pub mod search;
pub mod ticket_events;
pub mod tickets;
pub mod transitions;
pub mod users;
pub mod write;
