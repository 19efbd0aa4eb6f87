//! `use entity::prelude::*` brings every entity in as `<TableName>` (e.g. `Ticket`), like the
//! prelude `sea-orm-cli` generates. The enums live at the crate root (`entity::Role`).

pub use crate::app_user::Entity as AppUser;
pub use crate::comment::Entity as Comment;
pub use crate::counter::Entity as Counter;
pub use crate::delivery::Entity as Delivery;
pub use crate::delivery_cursor::Entity as DeliveryCursor;
pub use crate::escalation::Entity as Escalation;
pub use crate::escalation_ticket::Entity as EscalationTicket;
pub use crate::escalation_update::Entity as EscalationUpdate;
pub use crate::event::Entity as Event;
pub use crate::notification::Entity as Notification;
pub use crate::org_scope_grant::Entity as OrgScopeGrant;
pub use crate::organization::Entity as Organization;
pub use crate::release::Entity as Release;
pub use crate::release_note::Entity as ReleaseNote;
pub use crate::release_note_follow::Entity as ReleaseNoteFollow;
pub use crate::release_note_vote::Entity as ReleaseNoteVote;
pub use crate::ticket::Entity as Ticket;
pub use crate::ticket_participant::Entity as TicketParticipant;
pub use crate::unsubscribe_token::Entity as UnsubscribeToken;
pub use crate::webhook_endpoint::Entity as WebhookEndpoint;
pub use crate::webhook_secret::Entity as WebhookSecret;
