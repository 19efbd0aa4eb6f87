//! A place in the event log. The log is ordered by `(tx, id)`: the writing transaction's
//! id, then the row's. On PostgreSQL that is the order in which readers may safely see
//! rows (see [`crate::events::log`]); on SQLite `tx` is always 0 and `id` is commit order.

use entity::event;

/// A position in the log: everything at or before it has been read by whoever holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// The writing transaction (compared first).
    pub tx: i64,
    /// The row.
    pub id: i64,
}

impl Position {
    /// Before every event.
    pub const START: Position = Position { tx: 0, id: 0 };

    /// The position of an event row.
    pub fn of(e: &event::Model) -> Position {
        Position { tx: e.tx, id: e.id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transaction_orders_before_the_row() {
        let early_tx_late_row = Position { tx: 5, id: 900 };
        let late_tx_early_row = Position { tx: 6, id: 10 };
        assert!(early_tx_late_row < late_tx_early_row);
        assert!(Position { tx: 6, id: 11 } > late_tx_early_row);
        assert!(Position::START < Position { tx: 0, id: 1 });
    }
}
