//! Opaque global ids (`base64("Ticket:42")`) and cursors. A malformed id, or one of another
//! type, behaves exactly like an unknown id.

use async_graphql::ID;
use base64::{Engine as _, engine::general_purpose::STANDARD};

use crate::{
    domain::{delivery::Resume, page::Place},
    error::{AppError, AppResult},
    events::Position,
};

/// The node types that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ticket,
    Comment,
    User,
    Organization,
    Escalation,
    EscalationUpdate,
    Release,
    ReleaseNote,
    Notification,
    WebhookEndpoint,
    Delivery,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Ticket => "Ticket",
            Kind::Comment => "Comment",
            Kind::User => "User",
            Kind::Organization => "Organization",
            Kind::Escalation => "Escalation",
            Kind::EscalationUpdate => "EscalationUpdate",
            Kind::Release => "Release",
            Kind::ReleaseNote => "ReleaseNote",
            Kind::Notification => "Notification",
            Kind::WebhookEndpoint => "WebhookEndpoint",
            Kind::Delivery => "Delivery",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Ticket" => Kind::Ticket,
            "Comment" => Kind::Comment,
            "User" => Kind::User,
            "Organization" => Kind::Organization,
            "Escalation" => Kind::Escalation,
            "EscalationUpdate" => Kind::EscalationUpdate,
            "Release" => Kind::Release,
            "ReleaseNote" => Kind::ReleaseNote,
            "Notification" => Kind::Notification,
            "WebhookEndpoint" => Kind::WebhookEndpoint,
            "Delivery" => Kind::Delivery,
            _ => return None,
        })
    }
}

/// Encodes a global id.
pub fn encode(kind: Kind, id: i64) -> ID {
    ID(crate::domain::global_id::encode(kind.as_str(), id))
}

/// Decodes any global id into its kind and row id; `None` if malformed.
pub fn decode_any(id: &str) -> Option<(Kind, i64)> {
    let raw = STANDARD.decode(id.trim()).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (kind, num) = text.split_once(':')?;
    let num: i64 = num.parse().ok()?;
    (num > 0).then_some(())?;
    Some((Kind::parse(kind)?, num))
}

/// Decodes a global id that must be of `kind`; anything else is `NOT_FOUND`.
pub fn decode(kind: Kind, id: &ID) -> AppResult<i64> {
    match decode_any(id) {
        Some((k, n)) if k == kind => Ok(n),
        _ => Err(AppError::NotFound),
    }
}

/// Like [`decode`], for ids that name something the mutation refers to (an input field):
/// an unknown id there is the client's mistake, reported as `BAD_USER_INPUT`.
pub fn decode_input(kind: Kind, field: &str, id: &ID) -> AppResult<i64> {
    decode(kind, id)
        .map_err(|_| AppError::bad_input(format!("`{field}` is not a valid {} id", kind.as_str())))
}

/// Encodes a pagination cursor: a row's place in a list ordered by id.
pub fn cursor(id: i64) -> String {
    STANDARD.encode(format!("cursor:{id}"))
}

/// Encodes a cursor of a list sorted by `sort` (a name such as `CREATED_AT`), then id.
pub fn sorted_cursor(sort: &str, p: Place) -> String {
    match p.key {
        Some(key) => STANDARD.encode(format!("cursor:{sort}:{key}:{}", p.id)),
        None => cursor(p.id),
    }
}

/// A page cursor's parts: the sort's name and key (for a sorted list) and the row's id.
type CursorParts = (Option<String>, Option<i64>, i64);

fn parse_cursor(cursor: &str) -> Option<CursorParts> {
    let text = String::from_utf8(STANDARD.decode(cursor.trim()).ok()?).ok()?;
    let rest = text.strip_prefix("cursor:")?;
    let (tag, key, id) = match rest.split(':').collect::<Vec<_>>()[..] {
        [id] => (None, None, id),
        [tag, key, id] if !tag.is_empty() => (Some(tag.to_owned()), Some(key.parse().ok()?), id),
        _ => return None,
    };
    let id = id.parse::<i64>().ok().filter(|n| *n >= 0)?;
    Some((tag, key, id))
}

/// Whether `s` is any cursor this server hands out (a page's, sorted or not, or a position
/// in the event log): the admission check, before the field knows its order.
pub fn is_cursor(s: &str) -> bool {
    parse_cursor(s).is_some() || decode_event_cursor(Some(s)).is_ok()
}

/// Decodes an `after`/`before` cursor of a list sorted by `sort` (`None`: by id alone);
/// malformed is `BAD_USER_INPUT`, and so is a cursor of the same list in another order: its
/// position means nothing in this one.
pub fn decode_sorted_cursor(
    arg: &str,
    sort: Option<&str>,
    cursor: Option<&str>,
) -> AppResult<Option<Place>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    match parse_cursor(cursor) {
        Some((tag, key, id)) if tag.as_deref() == sort => Ok(Some(Place { key, id })),
        Some(_) => Err(AppError::bad_input(format!(
            "`{arg}` is a cursor of this list in another order"
        ))),
        None => Err(AppError::bad_input(format!(
            "`{arg}` is not a valid cursor"
        ))),
    }
}

/// Encodes a position in the event log (`TicketEvent.cursor`, resumable with
/// `ticketUpdates(after:)`).
pub fn event_cursor(p: Position) -> String {
    STANDARD.encode(format!("event:{}:{}", p.tx, p.id))
}

/// Decodes an event-log cursor: a position, or the plain id cursor issued before the log
/// recorded transactions (still accepted; the caller looks its position up). Malformed is
/// `BAD_USER_INPUT`.
pub fn decode_event_cursor(after: Option<&str>) -> AppResult<Option<Resume>> {
    let Some(after) = after else { return Ok(None) };
    let text = STANDARD
        .decode(after.trim())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok());
    let parsed = text.as_deref().and_then(|s| {
        if let Some(rest) = s.strip_prefix("event:") {
            let (tx, id) = rest.split_once(':')?;
            let p = Position {
                tx: tx.parse().ok()?,
                id: id.parse().ok()?,
            };
            (p.tx >= 0 && p.id >= 0).then_some(Resume::At(p))
        } else {
            let id = s.strip_prefix("cursor:")?.parse::<i64>().ok()?;
            (id >= 0).then_some(Resume::AfterId(id))
        }
    });
    parsed
        .map(Some)
        .ok_or_else(|| AppError::bad_input("`after` is not a valid cursor"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_kinds() {
        let id = encode(Kind::Ticket, 42);
        assert_eq!(decode(Kind::Ticket, &id).unwrap(), 42);
        assert_eq!(decode(Kind::User, &id).unwrap_err().code(), "NOT_FOUND");
        for bad in ["", "!!!", "VGlja2V0", "VGlja2V0Onh5eg==", "VGlja2V0Oi0x"] {
            assert_eq!(
                decode(Kind::Ticket, &ID(bad.into())).unwrap_err().code(),
                "NOT_FOUND",
                "{bad}"
            );
        }
    }

    #[test]
    fn event_cursors_round_trip_and_old_ones_still_parse() {
        let p = Position { tx: 812, id: 9 };
        assert_eq!(
            decode_event_cursor(Some(&event_cursor(p))).unwrap(),
            Some(Resume::At(p))
        );
        assert_eq!(
            decode_event_cursor(Some(&cursor(9))).unwrap(),
            Some(Resume::AfterId(9))
        );
        for bad in [
            "garbage",
            "ZXZlbnQ6MQ==",
            "ZXZlbnQ6LTE6Mg==",
            "ZXZlbnQ6eDp5",
        ] {
            assert_eq!(
                decode_event_cursor(Some(bad)).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(
            decode_sorted_cursor("after", None, Some(&cursor(9))).unwrap(),
            Some(Place::id(9))
        );
        assert_eq!(decode_sorted_cursor("after", None, None).unwrap(), None);
        assert_eq!(
            decode_sorted_cursor("after", None, Some("garbage"))
                .unwrap_err()
                .code(),
            "BAD_USER_INPUT"
        );
        let sorted = Place {
            key: Some(-5),
            id: 3,
        };
        let c = sorted_cursor("PRIORITY", sorted);
        assert_eq!(
            decode_sorted_cursor("before", Some("PRIORITY"), Some(&c)).unwrap(),
            Some(sorted)
        );
        for (sort, c) in [
            (None, c.clone()),
            (Some("NUMBER"), c.clone()),
            (Some("NUMBER"), cursor(3)),
        ] {
            assert_eq!(
                decode_sorted_cursor("after", sort, Some(&c))
                    .unwrap_err()
                    .code(),
                "BAD_USER_INPUT"
            );
        }
    }
}
