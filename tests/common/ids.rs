//! Global ids and cursors as the server encodes them, and made-up ids for "unknown" cases.
//!
//! A global id is `base64("Kind:row id")` and a cursor `base64("cursor:row id")`. Tests
//! build them to ask for things that do not exist, or exist but are of another kind.

use base64::{Engine as _, engine::general_purpose::STANDARD};

/// A row id no fixture ever reaches (and a ticket number none is given): the "nonexistent"
/// side of every "invisible answers like nonexistent" comparison. It fits an `Int`.
pub const MADE_UP: i64 = 987_654_321;

/// A global id: `gid("Ticket", 7)` is ticket 7's id.
pub fn gid(kind: &str, id: i64) -> String {
    STANDARD.encode(format!("{kind}:{id}"))
}

/// An id of a `kind` that does not exist: `gid(kind, MADE_UP)`.
pub fn made_up(kind: &str) -> String {
    gid(kind, MADE_UP)
}

/// The row id inside a global id (or a cursor).
pub fn row_id(global: &str) -> i64 {
    let raw = String::from_utf8(STANDARD.decode(global).expect("base64 id")).expect("utf-8 id");
    raw.rsplit_once(':')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or_else(|| panic!("not a global id: {raw}"))
}

/// A pagination cursor pointing after row `id`.
pub fn cursor(id: i64) -> String {
    STANDARD.encode(format!("cursor:{id}"))
}

/// The `TicketEvent.cursor` of a (transaction, row) position in the event log.
pub fn event_cursor((tx, id): (i64, i64)) -> String {
    STANDARD.encode(format!("event:{tx}:{id}"))
}

/// The (transaction, row) position a `TicketEvent.cursor` names; panics on anything else.
pub fn event_position(cursor: &str) -> (i64, i64) {
    let raw = String::from_utf8(STANDARD.decode(cursor).expect("base64 cursor")).expect("utf-8");
    raw.strip_prefix("event:")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(tx, id)| Some((tx.parse().ok()?, id.parse().ok()?)))
        .unwrap_or_else(|| panic!("not an event cursor: {raw}"))
}

/// Base64 of arbitrary text, for ids that are well-formed base64 but not well-formed ids.
pub fn b64(text: &str) -> String {
    STANDARD.encode(text)
}
