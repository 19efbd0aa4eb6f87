//! Events: the append-only table and the bus that announces new rows.

pub mod bus;
pub mod event;

pub use bus::EventBus;
pub use event::{EventKind, NewEvent, record};
