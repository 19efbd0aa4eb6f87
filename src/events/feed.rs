//! One subscriber's view of the event log: optional replay from a position, then live
//! events, without gaps or duplicates in between. Bounded memory: a subscriber that falls
//! behind the in-process channel re-reads from the log in batches, and one too far behind
//! is told so (with its position) and ended.
//!
//! Replays read only what the subscriber may receive: the caller's [`ReplayScope`] is a
//! row condition (its visibility and interest) applied in SQL, so replaying for a customer
//! reads that customer's events, not the table.

use std::{
    collections::{HashSet, VecDeque},
    future::Future,
    pin::Pin,
    sync::Arc,
};

use futures_util::Stream;
use sea_orm::{Condition, DatabaseConnection};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::{
    error::AppResult,
    events::{
        Envelope, EventBus, Position,
        bus::{FeedGuard, envelop},
        log,
    },
};

/// How far (in events) a subscriber may fall behind before it is ended.
pub const MAX_LAG: u64 = 10_000;

/// The rows a replay may read, asked afresh for every batch, so that a change in what the
/// subscriber may see (a revoked grant) holds from the next batch on.
pub type ReplayScope =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = AppResult<Condition>> + Send>> + Send + Sync>;

/// What a feed yields.
#[derive(Debug, Clone)]
pub enum Item {
    /// A live event: not yet checked against what the subscriber may see.
    Live(Arc<Envelope>),
    /// A replayed event, read through the feed's [`ReplayScope`].
    Replayed(Arc<Envelope>),
    /// The subscriber fell too far behind; it may resume after this position.
    FellBehind(Position),
    /// Reading the log failed (the database, not the subscriber); it may resume after
    /// this position.
    Failed(Position),
}

struct Feed {
    db: DatabaseConnection,
    bus: EventBus,
    rx: broadcast::Receiver<Arc<Envelope>>,
    shutdown: CancellationToken,
    scope: ReplayScope,
    /// Reading from the log (a resume, or after lagging) up to the watermark.
    replaying: bool,
    /// Replayed events ready to hand out.
    ready: VecDeque<Envelope>,
    /// Everything up to here has been handed out or was not for this subscriber. Events
    /// are published in log order, so anything at or before it is a duplicate.
    last: Position,
    /// Ids of events committed before a live-only feed started but after `last` (held
    /// behind an older open transaction): not for this feed. Emptied as they pass.
    before_now: HashSet<i64>,
    done: bool,
    _guard: Option<FeedGuard>,
}

/// Events after `after` (replayed from the log first, through `scope`), or, without a
/// position, events published from now on. Counted as a subscription while it lives.
pub async fn feed(
    db: DatabaseConnection,
    bus: EventBus,
    shutdown: CancellationToken,
    after: Option<Position>,
    scope: ReplayScope,
) -> AppResult<impl Stream<Item = Item> + Send + 'static> {
    open(db, bus, shutdown, after, scope, true).await
}

/// A [`feed`] that serves many subscriptions, each counted where it is kept, so not
/// counted itself.
pub async fn shared(
    db: DatabaseConnection,
    bus: EventBus,
    shutdown: CancellationToken,
    after: Position,
    scope: ReplayScope,
) -> AppResult<impl Stream<Item = Item> + Send + 'static> {
    open(db, bus, shutdown, Some(after), scope, false).await
}

async fn open(
    db: DatabaseConnection,
    bus: EventBus,
    shutdown: CancellationToken,
    after: Option<Position>,
    scope: ReplayScope,
    counted: bool,
) -> AppResult<impl Stream<Item = Item> + Send + 'static> {
    // Subscribe before reading the watermark: whatever is published after the read
    // arrives on the channel, whatever was published before is in the log.
    let rx = bus.subscribe();
    let watermark = bus.started_watermark().await;
    // From now on: past every settled row, but not past a row that a transaction still
    // open will commit (it comes live). Rows already committed beyond the settled ones
    // are skipped by id: they are from before now too.
    let (last, before_now) = match after {
        Some(after) => (after, HashSet::new()),
        None => {
            let settled = log::last_settled(&db).await?.max(watermark);
            let unsettled = log::committed_unsettled(&db, settled).await?;
            (settled, unsettled.into_iter().collect())
        }
    };
    let guard = counted.then(|| bus.feed_guard());
    let state = Feed {
        db,
        bus,
        rx,
        shutdown,
        scope,
        replaying: last < watermark,
        ready: VecDeque::new(),
        last,
        before_now,
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
                if self.was_before_start(&env) {
                    continue;
                }
                return Some(Item::Replayed(Arc::new(env)));
            }
            if self.replaying {
                let through = self.bus.watermark().unwrap_or_default();
                if self.last >= through {
                    self.replaying = false;
                    continue;
                }
                // Boxed: an idle feed should not carry a database query's state inline.
                match Box::pin(self.replay_batch(through)).await {
                    Ok(batch) => {
                        // A short batch is everything visible up to `through`.
                        self.last = match batch.last() {
                            Some(env) if batch.len() as u64 >= log::BATCH => env.position(),
                            _ => through,
                        };
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
                Ok(env) if env.position() > self.last => {
                    self.last = env.position();
                    if self.was_before_start(&env) {
                        continue;
                    }
                    return Some(Item::Live(env));
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

    fn was_before_start(&mut self, env: &Envelope) -> bool {
        !self.before_now.is_empty() && self.before_now.remove(&env.event.id)
    }

    async fn replay_batch(&self, through: Position) -> AppResult<Vec<Envelope>> {
        let only = (self.scope)().await?;
        let rows = log::between(&self.db, self.last, through, only).await?;
        envelop(&self.db, rows).await
    }
}
