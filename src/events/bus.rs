//! Fan-out of committed events inside one process.
//!
//! The event log is the truth. Writers commit, then say so ([`EventBus::committed`]): that
//! wakes this process's publisher at once and, on PostgreSQL, asks for one coalesced
//! `NOTIFY` (sent on its own, never inside a business transaction) that wakes every other
//! replica's. Every publisher also polls the log on a short interval, so a lost wake-up
//! (a client gone during commit, a listener reconnecting, a write from outside tier3) costs
//! latency, never an event.
//!
//! One publisher task per process reads the settled rows once, in log order
//! ([`crate::events::log`]), envelopes them and broadcasts them to every subscriber of this
//! process. A subscriber that falls behind the bounded channel re-reads from the log.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use entity::{app_user, comment, event, ticket};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::{Notify, broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    error::AppResult,
    events::{Position, log},
};

/// Capacity of the in-process channel; a receiver further behind than this is told it
/// lagged and catches up from the log.
const CAPACITY: usize = 1024;

/// A committed event with what delivery needs, read once per process for all subscribers:
/// the rows it names (as they are when it is read), so that thousands of subscribers
/// authorize and render it without a query each.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub event: event::Model,
    /// The event's ticket, if it concerns one.
    pub ticket: Option<ticket::Model>,
    /// The event's comment, if it announces one.
    pub comment: Option<comment::Model>,
    /// Who caused it.
    pub actor: Option<app_user::Model>,
}

impl Envelope {
    /// The requester of the event's ticket.
    pub fn requester_id(&self) -> Option<i64> {
        self.ticket.as_ref().map(|t| t.requester_id)
    }

    /// Where the event is in the log.
    pub fn position(&self) -> Position {
        Position::of(&self.event)
    }
}

/// Announces committed events to this process's subscribers.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Envelope>>,
    /// Wakes this process's publisher.
    wake: Arc<Notify>,
    /// Asks for a cross-replica hint (PostgreSQL; see [`crate::events::postgres::hint`]).
    hint: Arc<Notify>,
    /// Everything up to this position has been broadcast; `None` until the publisher has
    /// read where the log stands. Stored before each broadcast, so a subscriber that
    /// subscribes and then reads it misses nothing.
    watermark: watch::Sender<Option<Position>>,
    /// Subscription feeds established on this process (see [`FeedGuard`]).
    feeds: Arc<AtomicUsize>,
    /// How often the publisher looks at the log without being woken.
    poll: Duration,
    /// Names this process in its cross-replica hints.
    origin: Arc<str>,
}

impl EventBus {
    /// A bus whose publisher also polls the log every `poll`.
    pub fn new(poll: Duration) -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        EventBus {
            tx,
            wake: Arc::new(Notify::new()),
            hint: Arc::new(Notify::new()),
            watermark: watch::Sender::new(None),
            feeds: Arc::default(),
            poll,
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }

    /// Called after a transaction that wrote events has committed.
    pub fn committed(&self, event_ids: &[i64]) {
        if !event_ids.is_empty() {
            self.wake.notify_one();
            self.hint.notify_one();
        }
    }

    /// Tells the publisher to look for new rows (the PostgreSQL listener calls this).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits until a commit asks for a cross-replica hint; several commits meanwhile are
    /// one hint.
    pub async fn hint_requested(&self) {
        self.hint.notified().await
    }

    /// This process's name in cross-replica hints.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A new receiver of events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.tx.subscribe()
    }

    /// The position up to which every event has been broadcast (see the field), or `None`
    /// before the publisher has started.
    pub fn watermark(&self) -> Option<Position> {
        *self.watermark.borrow()
    }

    /// A receiver that sees the watermark move: every time the publisher has read further
    /// into the log (the delivery planner follows it).
    pub fn watch_watermark(&self) -> watch::Receiver<Option<Position>> {
        self.watermark.subscribe()
    }

    /// Like [`EventBus::watermark`], waiting for the publisher to have started.
    pub async fn started_watermark(&self) -> Position {
        let mut rx = self.watermark.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(w) => w.unwrap_or_default(),
            // The sender lives in `self`: it cannot be gone.
            Err(_) => Position::START,
        }
    }

    /// How many subscription feeds are established (the `active subscriptions` figure).
    pub fn active_feeds(&self) -> usize {
        self.feeds.load(Ordering::SeqCst)
    }

    /// Counts a feed as established until the guard is dropped.
    pub fn feed_guard(&self) -> FeedGuard {
        self.feeds.fetch_add(1, Ordering::SeqCst);
        FeedGuard(self.feeds.clone())
    }

    /// Runs the publisher until `shutdown`: on every wake-up and every poll interval, reads
    /// the settled rows past what it has published and broadcasts them in log order.
    pub async fn run_publisher(self, db: DatabaseConnection, shutdown: CancellationToken) {
        let mut horizon = loop {
            match log::last_settled(&db).await {
                Ok(last) => break last,
                Err(err) => {
                    tracing::warn!(error = %err, "event publisher cannot read the event log yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        self.watermark.send_replace(Some(horizon));
        let mut retry = HELD_RETRY_FIRST;
        loop {
            let mut held = false;
            loop {
                match publish_batch(&db, horizon).await {
                    Ok((batch, behind)) => {
                        let full = batch.len() as u64 >= log::BATCH;
                        if let Some(last) = batch.last() {
                            horizon = last.position();
                            self.watermark.send_replace(Some(horizon));
                        }
                        for env in batch {
                            let _ = self.tx.send(Arc::new(env));
                        }
                        held = behind;
                        if !full {
                            break;
                        }
                    }
                    // Nothing moved: the same rows are read again on the next wake-up or poll.
                    Err(err) => {
                        tracing::warn!(error = %err, "event publisher read failed; retrying");
                        break;
                    }
                }
            }
            // Rows wait behind an open transaction: look again soon, then less often. The
            // writer's own hint usually comes first, but the transaction holding them back
            // may be anyone's (even another database's on the same server).
            let wait = if held {
                let wait = retry;
                retry = (retry * 2).min(HELD_RETRY_MAX).min(self.poll);
                wait
            } else {
                retry = HELD_RETRY_FIRST;
                self.poll
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// First and longest wait before looking again at rows held back behind an open transaction.
const HELD_RETRY_FIRST: Duration = Duration::from_millis(5);
const HELD_RETRY_MAX: Duration = Duration::from_millis(200);

/// The next settled rows past `horizon`, enveloped, and (when that is all of them) whether
/// committed rows wait behind an open transaction.
async fn publish_batch(
    db: &DatabaseConnection,
    horizon: Position,
) -> AppResult<(Vec<Envelope>, bool)> {
    let rows = log::settled_after(db, horizon).await?;
    let held = if (rows.len() as u64) < log::BATCH {
        let last = rows.last().map_or(horizon, Position::of);
        log::any_after(db, last).await?
    } else {
        false
    };
    Ok((envelop(db, rows).await?, held))
}

/// Keeps a feed counted in [`EventBus::active_feeds`] while it lives.
#[derive(Debug)]
pub struct FeedGuard(Arc<AtomicUsize>);

impl Drop for FeedGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads the rows a batch of events names (at most three queries a batch, whatever its
/// size).
pub async fn envelop(db: &DatabaseConnection, rows: Vec<event::Model>) -> AppResult<Vec<Envelope>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    fn ids(rows: &[event::Model], f: impl Fn(&event::Model) -> Option<i64>) -> Vec<i64> {
        let mut v: Vec<i64> = rows.iter().filter_map(f).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    let tickets: HashMap<i64, ticket::Model> =
        by_id::<ticket::Entity, _>(db, ids(&rows, |e| e.ticket_id), ticket::Column::Id, |t| {
            t.id
        })
        .await?;
    let comments: HashMap<i64, comment::Model> =
        by_id::<comment::Entity, _>(db, ids(&rows, |e| e.comment_id), comment::Column::Id, |c| {
            c.id
        })
        .await?;
    let actors: HashMap<i64, app_user::Model> =
        by_id::<app_user::Entity, _>(db, ids(&rows, |e| e.actor_id), app_user::Column::Id, |u| {
            u.id
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|event| Envelope {
            ticket: event.ticket_id.and_then(|t| tickets.get(&t).cloned()),
            comment: event.comment_id.and_then(|c| comments.get(&c).cloned()),
            actor: event.actor_id.and_then(|a| actors.get(&a).cloned()),
            event,
        })
        .collect())
}

/// The rows of `E` with these ids, by id (no statement when there are none).
async fn by_id<E, C>(
    db: &DatabaseConnection,
    ids: Vec<i64>,
    column: C,
    key: impl Fn(&E::Model) -> i64,
) -> AppResult<HashMap<i64, E::Model>>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(E::find()
        .filter(column.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (key(&m), m))
        .collect())
}
