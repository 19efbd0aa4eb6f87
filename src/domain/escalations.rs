//! Tier 3 escalations: a ticket's problem handed to the development team, triaged onto a
//! track (hotfix, product planning, feature request), assigned, updated, declined or
//! scheduled into a release. Reads are in `reads`, commands in `commands`; what they do to
//! the linked tickets is `linked_tickets`, shared with `releases`.

mod commands;
mod reads;

use entity::EscalationPriority;

pub use commands::{
    NewEscalation, Triage, assign, decline, escalate, link_ticket, post_update, schedule, triage,
};
pub use reads::{
    EscalationFilter, count_ticket_links, count_updates, latest_for_tickets, list, list_in_release,
    load_many, load_update, load_visible, ticket_link_pages, update_pages,
};

/// What each priority is called in the product: how badly the customer's business is hit.
pub fn priority_label(p: EscalationPriority) -> &'static str {
    match p {
        EscalationPriority::P0 => "Business Halted",
        EscalationPriority::P1 => "Business Impacted",
        EscalationPriority::P2 => "Standard",
        EscalationPriority::P3 => "Service Request",
    }
}
