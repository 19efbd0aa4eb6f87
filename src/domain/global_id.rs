//! The one spelling of a global id (`base64("Ticket:42")`), shared by the GraphQL schema and
//! by the payloads tier3 sends out (webhooks), so an integration can pass an id it received
//! straight back to `node(id:)`.

use base64::{Engine as _, engine::general_purpose::STANDARD};

/// The global id of row `id` of GraphQL type `type_name`.
pub fn encode(type_name: &str, id: i64) -> String {
    STANDARD.encode(format!("{type_name}:{id}"))
}
