//! Events: the append-only log, its safe reading order, the per-process publisher and the
//! cross-replica wake-ups.

pub mod bus;
pub mod event;
pub mod feed;
pub mod log;
pub mod position;
pub mod postgres;

pub use bus::{Envelope, EventBus};
pub use event::{EventKind, NewEvent, record};
pub use position::Position;
