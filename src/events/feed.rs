//! One subscriber's view of the event log: optional replay from a cursor, then live events,
//! without gaps or duplicates in between. Bounded memory: a subscriber that falls behind
//! the in-process channel re-reads from the table in batches, and one too far behind is
//! told so (with its cursor) and ended.

use std::{collections::VecDeque, sync::Arc};

use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::{
    error::AppResult,
    events::{
        Envelope, EventBus,
        bus::{FeedGuard, latest_id, settled_rows},
    },
};

/// How far (in events) a subscriber may fall behind before it is ended.
pub const MAX_LAG: u64 = 10_000;

/// What a feed yields.
#[derive(Debug, Clone)]
pub enum Item {
    Event(Arc<Envelope>),
    /// The subscriber fell too far behind; it may resume after this cursor.
    FellBehind(i64),
    /// Reading the log failed (the database, not the subscriber); it may resume after
    /// this cursor.
    Failed(i64),
}

struct Feed {
    db: DatabaseConnection,
    bus: EventBus,
    rx: broadcast::Receiver<Arc<Envelope>>,
    shutdown: CancellationToken,
    /// Reading settled rows from the table (a resume, or after lagging) up to the watermark.
    replaying: bool,
    /// Replayed events ready to hand out.
    ready: VecDeque<Envelope>,
    /// Highest id delivered (or skipped as before a live-only start). Events are published
    /// in id order, so anything at or below it is a duplicate.
    last: i64,
    done: bool,
    _guard: FeedGuard,
}

/// Events committed after `after` (replayed from the table first), or, without a cursor,
/// events committed from now on.
pub async fn feed(
    db: DatabaseConnection,
    bus: EventBus,
    shutdown: CancellationToken,
    after: Option<i64>,
) -> AppResult<impl Stream<Item = Item> + Send + 'static> {
    // Subscribe before reading the watermark: whatever is published after the read
    // arrives on the channel, whatever was published before is in the table.
    let rx = bus.subscribe();
    let watermark = bus.watermark();
    let (last, replaying) = match after {
        Some(after) => (after, after < watermark),
        // From now on: past whatever has committed, even if not yet published here.
        None => (latest_id(&db).await?.max(watermark), false),
    };
    let guard = bus.feed_guard();
    let state = Feed {
        db,
        bus,
        rx,
        shutdown,
        replaying,
        ready: VecDeque::new(),
        last,
        done: false,
        _guard: guard,
    };
    Ok(futures_util::stream::unfold(state, |mut f| async move {
        let item = f.next().await?;
        Some((item, f))
    }))
}

impl Feed {
    async fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        loop {
            if let Some(env) = self.ready.pop_front() {
                return Some(Item::Event(Arc::new(env)));
            }
            if self.replaying {
                let upto = self.bus.watermark();
                if self.last >= upto {
                    self.replaying = false;
                    continue;
                }
                // Boxed: an idle feed should not carry a database query's state inline.
                match Box::pin(settled_rows(&self.db, self.last, upto)).await {
                    Ok(batch) if batch.is_empty() => self.last = upto,
                    Ok(batch) => {
                        if let Some(env) = batch.last() {
                            self.last = env.event.id;
                        }
                        self.ready.extend(batch);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "subscription replay failed");
                        self.done = true;
                        return Some(Item::Failed(self.last));
                    }
                }
                continue;
            }
            // Shutdown ends the connection (1001), not the subscription: a client told
            // `complete` would not resubscribe after reconnecting.
            let received = tokio::select! {
                _ = self.shutdown.cancelled() => return std::future::pending().await,
                r = self.rx.recv() => r,
            };
            match received {
                Ok(env) if env.event.id > self.last => {
                    self.last = env.event.id;
                    return Some(Item::Event(env));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    if n > MAX_LAG {
                        self.done = true;
                        return Some(Item::FellBehind(self.last));
                    }
                    self.replaying = true;
                }
                Err(RecvError::Closed) => return std::future::pending().await,
            }
        }
    }
}
