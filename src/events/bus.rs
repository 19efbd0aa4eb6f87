//! Fan-out of committed events inside one process.
//!
//! The event table is the truth. Writers only say "something committed" (SQLite: after
//! commit, in process; PostgreSQL: `pg_notify` inside the transaction, heard by every
//! replica's listener). One publisher task per process then reads the new rows once, in id
//! order, and broadcasts them to every subscriber of this process. A subscriber that falls
//! behind the bounded channel re-reads from the table.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use entity::{EscalationTrack, app_user, comment, escalation, event, ticket};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::error::AppResult;

/// Capacity of the in-process channel; a receiver further behind than this is told it
/// lagged and catches up from the table.
const CAPACITY: usize = 1024;
/// Rows read per catch-up query.
pub const BATCH: u64 = 500;
/// How long an id that was skipped (a transaction that took its id but had not committed
/// when a later one was read) is looked for again before it is taken as rolled back.
const GAP_PATIENCE: Duration = Duration::from_secs(60);

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
    /// The track of the event's escalation, if it concerns one.
    pub track: Option<EscalationTrack>,
}

impl Envelope {
    /// The requester of the event's ticket.
    pub fn requester_id(&self) -> Option<i64> {
        self.ticket.as_ref().map(|t| t.requester_id)
    }
}

/// Announces committed events to this process's subscribers.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Envelope>>,
    wake: Arc<Notify>,
    /// Subscription feeds established on this process (see [`FeedGuard`]).
    feeds: Arc<std::sync::atomic::AtomicUsize>,
    /// On PostgreSQL the listener is the only local path (it hears our own NOTIFYs too).
    via_listener: bool,
}

impl EventBus {
    /// A bus for in-process fan-out (SQLite).
    pub fn local() -> Self {
        Self::new(false)
    }

    /// A bus fed by the PostgreSQL listener.
    pub fn via_listener() -> Self {
        Self::new(true)
    }

    fn new(via_listener: bool) -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        EventBus {
            tx,
            wake: Arc::new(Notify::new()),
            feeds: Arc::default(),
            via_listener,
        }
    }

    /// Called after a transaction that wrote events has committed.
    pub fn committed(&self, event_ids: &[i64]) {
        if !event_ids.is_empty() && !self.via_listener {
            self.wake.notify_one();
        }
    }

    /// Tells the publisher to look for new rows (the PostgreSQL listener calls this).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A new receiver of events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.tx.subscribe()
    }

    /// How many subscription feeds are established (the `active subscriptions` figure).
    pub fn active_feeds(&self) -> usize {
        self.feeds.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Counts a feed as established until the guard is dropped.
    pub fn feed_guard(&self) -> FeedGuard {
        self.feeds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        FeedGuard(self.feeds.clone())
    }

    /// Runs the publisher until `shutdown`: reads new rows after each wake-up and
    /// broadcasts them in id order, at most once each.
    pub async fn run_publisher(self, db: DatabaseConnection, shutdown: CancellationToken) {
        let mut cursor = Cursor::default();
        loop {
            match latest_id(&db).await {
                Ok(last) => {
                    cursor.last = last;
                    break;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "event publisher cannot read the event table yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                // A safety net: skipped ids are looked for again even if nothing wakes us.
                _ = tokio::time::sleep(Duration::from_secs(5)), if !cursor.gaps.is_empty() => {}
            }
            loop {
                match cursor.next_batch(&db).await {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => {
                        let full = batch.len() as u64 >= BATCH;
                        for env in batch {
                            let _ = self.tx.send(Arc::new(env));
                        }
                        if !full {
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "event publisher read failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        self.wake.notify_one();
                        break;
                    }
                }
            }
        }
    }
}

/// Keeps a feed counted in [`EventBus::active_feeds`] while it lives.
#[derive(Debug)]
pub struct FeedGuard(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for FeedGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The largest event id so far (0 when none).
pub async fn latest_id(db: &DatabaseConnection) -> AppResult<i64> {
    let max: Option<Option<i64>> = event::Entity::find()
        .select_only()
        .column_as(event::Column::Id.max(), "max")
        .into_tuple()
        .one(db)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Reading position in the event log, with ids skipped over that may still commit
/// (PostgreSQL hands out ids before commit, so they can become visible out of order).
#[derive(Debug, Default, Clone)]
pub struct Cursor {
    pub last: i64,
    gaps: BTreeMap<i64, tokio::time::Instant>,
}

impl Cursor {
    /// Starts after `last`.
    pub fn after(last: i64) -> Self {
        Cursor {
            last,
            gaps: BTreeMap::new(),
        }
    }

    /// The next rows after the cursor (and any late gap rows), enveloped, in id order.
    pub async fn next_batch(&mut self, db: &DatabaseConnection) -> AppResult<Vec<Envelope>> {
        let now = tokio::time::Instant::now();
        self.gaps
            .retain(|_, since| now.duration_since(*since) < GAP_PATIENCE);
        let mut which = Condition::any().add(event::Column::Id.gt(self.last));
        if !self.gaps.is_empty() {
            which = which.add(event::Column::Id.is_in(self.gaps.keys().copied()));
        }
        let rows = event::Entity::find()
            .filter(which)
            .order_by(event::Column::Id, Order::Asc)
            .limit(BATCH)
            .all(db)
            .await?;
        for row in &rows {
            if self.gaps.remove(&row.id).is_none() && row.id > self.last {
                for missing in self.last + 1..row.id {
                    self.gaps.insert(missing, now);
                }
                self.last = row.id;
            }
        }
        envelop(db, rows).await
    }
}

/// Reads the rows a batch of events names (four queries a batch, whatever its size).
pub async fn envelop(db: &DatabaseConnection, rows: Vec<event::Model>) -> AppResult<Vec<Envelope>> {
    use std::collections::HashMap;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    fn ids(rows: &[event::Model], f: impl Fn(&event::Model) -> Option<i64>) -> Vec<i64> {
        let mut v: Vec<i64> = rows.iter().filter_map(f).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    let ticket_ids = ids(&rows, |e| e.ticket_id);
    let comment_ids = ids(&rows, |e| e.comment_id);
    let actor_ids = ids(&rows, |e| e.actor_id);
    let escalation_ids = ids(&rows, |e| e.escalation_id);
    let tickets: HashMap<i64, ticket::Model> = if ticket_ids.is_empty() {
        HashMap::new()
    } else {
        ticket::Entity::find()
            .filter(ticket::Column::Id.is_in(ticket_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect()
    };
    let comments: HashMap<i64, comment::Model> = if comment_ids.is_empty() {
        HashMap::new()
    } else {
        comment::Entity::find()
            .filter(comment::Column::Id.is_in(comment_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    let actors: HashMap<i64, app_user::Model> = if actor_ids.is_empty() {
        HashMap::new()
    } else {
        app_user::Entity::find()
            .filter(app_user::Column::Id.is_in(actor_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect()
    };
    let tracks: HashMap<i64, Option<EscalationTrack>> = if escalation_ids.is_empty() {
        HashMap::new()
    } else {
        escalation::Entity::find()
            .select_only()
            .column(escalation::Column::Id)
            .column(escalation::Column::Track)
            .filter(escalation::Column::Id.is_in(escalation_ids))
            .into_tuple::<(i64, Option<EscalationTrack>)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|event| Envelope {
            ticket: event.ticket_id.and_then(|t| tickets.get(&t).cloned()),
            comment: event.comment_id.and_then(|c| comments.get(&c).cloned()),
            actor: event.actor_id.and_then(|a| actors.get(&a).cloned()),
            track: event
                .escalation_id
                .and_then(|e| tracks.get(&e).copied().flatten()),
            event,
        })
        .collect())
}
