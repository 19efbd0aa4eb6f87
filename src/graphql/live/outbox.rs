//! What the shared live stream hands one socket: rendered payloads, tagged with the
//! subscription they are for, queued until the socket's task writes them.
//!
//! Not a tokio channel: a bounded mpsc allocates its first block of slots up front, which
//! for a mostly idle socket is most of what it costs; this queue allocates nothing until
//! something arrives.

use std::{collections::VecDeque, sync::Arc, sync::Mutex};

use tokio::sync::Notify;

/// How many payloads may wait for one socket; a subscription whose socket is this far
/// behind is ended (with a cursor to resume from) rather than queued without bound.
pub const CAPACITY: usize = 256;

/// One message for one subscription on a socket.
#[derive(Debug, Clone)]
pub enum Frame {
    /// An event for subscription `sub`: the `payload` of a `next` message (a GraphQL
    /// response, serialized once and shared by every socket that gets the same answer).
    Next { sub: u64, payload: Arc<str> },
    /// Subscription `sub` ended with this response (its errors say why): sent as `next`,
    /// then `complete`.
    End { sub: u64, payload: Arc<str> },
}

/// A socket's queue of frames.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: Mutex<VecDeque<Frame>>,
    ready: Notify,
}

impl Outbox {
    /// Queues a frame unless `CAPACITY` are waiting already (then `false`). An `End` is
    /// always queued, so the subscription hears why it stopped.
    pub fn push(&self, frame: Frame) -> bool {
        let Ok(mut queue) = self.queue.lock() else {
            return false;
        };
        if queue.len() >= CAPACITY && matches!(frame, Frame::Next { .. }) {
            return false;
        }
        queue.push_back(frame);
        drop(queue);
        self.ready.notify_one();
        true
    }

    /// The next frame, if any.
    pub fn pop(&self) -> Option<Frame> {
        let mut queue = self.queue.lock().ok()?;
        let frame = queue.pop_front();
        if queue.is_empty() && queue.capacity() > 8 {
            // A burst is over: give back what it grew to.
            queue.shrink_to_fit();
        }
        frame
    }

    /// Resolves once a frame may be waiting (at once if one was pushed since the last wait).
    pub async fn ready(&self) {
        self.ready.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(sub: u64) -> Frame {
        Frame::Next {
            sub,
            payload: "{}".into(),
        }
    }

    #[test]
    fn a_full_queue_refuses_events_but_not_the_end() {
        let outbox = Outbox::default();
        for i in 0..CAPACITY as u64 {
            assert!(outbox.push(next(i)));
        }
        assert!(!outbox.push(next(999)));
        assert!(outbox.push(Frame::End {
            sub: 1,
            payload: "{}".into()
        }));
        let mut n = 0;
        while outbox.pop().is_some() {
            n += 1;
        }
        assert_eq!(n, CAPACITY + 1);
    }

    #[tokio::test]
    async fn a_push_before_the_wait_is_not_missed() {
        let outbox = Outbox::default();
        outbox.push(next(1));
        // The permit from the push is kept: this resolves at once.
        tokio::time::timeout(std::time::Duration::from_secs(1), outbox.ready())
            .await
            .expect("ready");
        assert!(matches!(outbox.pop(), Some(Frame::Next { sub: 1, .. })));
        assert!(outbox.pop().is_none());
    }
}
