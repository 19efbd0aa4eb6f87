//! One subscriber's view of the event log: optional replay from a cursor, then live events,
//! without gaps or duplicates in between. Bounded memory: a subscriber that falls behind
//! the in-process channel re-reads from the table in batches, and one too far behind is
//! told so (with its cursor) and ended.

use std::{
    collections::{BTreeSet, VecDeque},
    sync::Arc,
};

use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::{
    error::AppResult,
    events::{
        Envelope, EventBus,
        bus::{Cursor, FeedGuard, latest_id},
    },
};

/// How far (in events) a subscriber may fall behind before it is ended.
pub const MAX_LAG: u64 = 10_000;
/// How many recently delivered ids are remembered for de-duplication.
const SEEN: usize = 4096;

/// What a feed yields.
#[derive(Debug, Clone)]
pub enum Item {
    Event(Arc<Envelope>),
    /// The subscriber fell too far behind; it may resume after this cursor.
    FellBehind(i64),
}

struct Feed {
    db: DatabaseConnection,
    rx: broadcast::Receiver<Arc<Envelope>>,
    shutdown: CancellationToken,
    replay: Option<Cursor>,
    /// Admitted events (replayed from the table), ready to hand out.
    ready: VecDeque<Arc<Envelope>>,
    /// Live events, admitted one by one.
    pending: VecDeque<Arc<Envelope>>,
    /// Highest id delivered, and the recent ids delivered (late gap ids may arrive lower).
    last: i64,
    seen: BTreeSet<i64>,
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
    // Subscribe before reading the position, so nothing committed after it is missed;
    // live-only feeds start after the newest committed event, cursors replay the table.
    let rx = bus.subscribe();
    let (last, replay) = match after {
        Some(after) => (after, Some(Cursor::after(after))),
        None => (latest_id(&db).await?, None),
    };
    let guard = bus.feed_guard();
    let state = Feed {
        db,
        rx,
        shutdown,
        replay,
        ready: VecDeque::new(),
        pending: VecDeque::new(),
        last,
        seen: BTreeSet::new(),
        done: false,
        _guard: guard,
    };
    Ok(futures_util::stream::unfold(state, |mut f| async move {
        let item = f.next().await?;
        Some((item, f))
    }))
}

impl Feed {
    fn remember(&mut self, id: i64) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        if self.seen.len() > SEEN {
            self.seen.pop_first();
        }
        self.last = self.last.max(id);
        true
    }

    async fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        loop {
            if let Some(env) = self.ready.pop_front() {
                return Some(Item::Event(env));
            }
            while let Some(env) = self.pending.pop_front() {
                let id = env.event.id;
                // Live duplicates of replayed rows, and rows before a live-only start.
                let old = self.seen.first().is_none_or(|lowest| id < *lowest) && id <= self.last;
                if old || !self.remember(id) {
                    continue;
                }
                return Some(Item::Event(env));
            }
            if let Some(cursor) = self.replay.as_mut() {
                // Boxed: an idle feed should not carry a database query's state inline.
                match Box::pin(cursor.next_batch(&self.db)).await {
                    Ok(batch) if batch.is_empty() => self.replay = None,
                    Ok(batch) => {
                        // Rows read after our cursor are new by construction.
                        for env in batch {
                            if self.remember(env.event.id) {
                                self.ready.push_back(Arc::new(env));
                            }
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "subscription replay failed");
                        self.done = true;
                        return Some(Item::FellBehind(self.last));
                    }
                }
                continue;
            }
            let received = tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                r = self.rx.recv() => r,
            };
            match received {
                Ok(env) => self.pending.push_back(env),
                Err(RecvError::Lagged(n)) => {
                    if n > MAX_LAG {
                        self.done = true;
                        return Some(Item::FellBehind(self.last));
                    }
                    self.replay = Some(Cursor::after(self.last));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
