//! Events: the append-only table, the per-process publisher and the cross-replica listener.

pub mod bus;
pub mod event;
pub mod feed;
pub mod postgres;

pub use bus::{Envelope, EventBus};
pub use event::{EventKind, NewEvent, record};
