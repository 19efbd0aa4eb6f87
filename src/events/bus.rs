//! In-process fan-out of committed event ids. The event table is the truth; the bus only
//! says "look, something new", so a subscriber that lags re-reads from the table.

use tokio::sync::broadcast;

/// Capacity of the in-process channel; a receiver further behind than this is told it lagged.
const CAPACITY: usize = 4096;

/// Announces committed event ids to this process's subscribers.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<i64>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        EventBus { tx }
    }
}

impl EventBus {
    /// Called after a transaction that wrote events has committed.
    pub fn committed(&self, event_ids: &[i64]) {
        for id in event_ids {
            // No receivers is fine: nobody is listening.
            let _ = self.tx.send(*id);
        }
    }

    /// A new receiver of ids committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.tx.subscribe()
    }
}
