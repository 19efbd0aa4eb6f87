//! Fan-out of committed events inside one process.
//!
//! The event table is the truth. Writers only say "something committed" (SQLite: after
//! commit, in process; PostgreSQL: `pg_notify` inside the transaction, heard by every
//! replica's listener). One publisher task per process then reads the new rows once, in id
//! order, and broadcasts them to every subscriber of this process. A subscriber that falls
//! behind the bounded channel re-reads from the table.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use entity::{EscalationTrack, app_user, comment, escalation, event, ticket};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::error::AppResult;

/// Capacity of the in-process channel; a receiver further behind than this is told it
/// lagged and catches up from the table.
const CAPACITY: usize = 1024;
/// Rows read per catch-up query.
pub const BATCH: u64 = 500;
/// Longest a missing id holds delivery back: past this, a transaction that took an event
/// id is taken as stuck (our transactions end well within the request timeout).
const GAP_PATIENCE: Duration = Duration::from_secs(30);

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
    /// Every event id up to this one is settled (published, or known never to commit), and
    /// everything up to it has been broadcast. Stored before the broadcast, so a subscriber
    /// that subscribes and then reads it misses nothing.
    watermark: Arc<AtomicI64>,
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
            watermark: Arc::default(),
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

    /// The id up to which every event is settled and broadcast (see the field).
    pub fn watermark(&self) -> i64 {
        self.watermark.load(Ordering::SeqCst)
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

    /// Runs the publisher until `shutdown`: after each wake-up, reads the new rows and
    /// broadcasts them strictly in id order. An id that is missing below a visible one may
    /// belong to a transaction that has not committed yet (PostgreSQL takes ids before
    /// commit): delivery holds there until that is settled, so a subscriber's cursor never
    /// passes an event it has not had, and resuming from it loses nothing.
    pub async fn run_publisher(self, db: DatabaseConnection, shutdown: CancellationToken) {
        let start = loop {
            match latest_id(&db).await {
                Ok(last) => break last,
                Err(err) => {
                    tracing::warn!(error = %err, "event publisher cannot read the event table yet");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        self.watermark.store(start, Ordering::SeqCst);
        let mut publisher = Publisher {
            horizon: start,
            gap: None,
        };
        loop {
            let waiting = publisher.gap.is_some();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                // A held gap is settled within milliseconds; look again soon.
                _ = tokio::time::sleep(GAP_POLL), if waiting => {}
            }
            loop {
                match publisher.advance(&db).await {
                    Ok((batch, more)) => {
                        if let Some(last) = batch.last() {
                            self.watermark.store(last.event.id, Ordering::SeqCst);
                        }
                        for env in batch {
                            let _ = self.tx.send(Arc::new(env));
                        }
                        if !more {
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "event publisher read failed; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                        self.wake.notify_one();
                        break;
                    }
                }
            }
        }
    }
}

/// How often a held gap is looked at again.
const GAP_POLL: Duration = Duration::from_millis(10);

/// Keeps a feed counted in [`EventBus::active_feeds`] while it lives.
#[derive(Debug)]
pub struct FeedGuard(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for FeedGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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

/// Committed rows with ids in `(after, upto]`, enveloped, in id order (a feed's replay).
/// Everything up to the watermark is settled, so these are all there will ever be.
pub async fn settled_rows(
    db: &DatabaseConnection,
    after: i64,
    upto: i64,
) -> AppResult<Vec<Envelope>> {
    let rows = event::Entity::find()
        .filter(event::Column::Id.gt(after))
        .filter(event::Column::Id.lte(upto))
        .order_by(event::Column::Id, Order::Asc)
        .limit(BATCH)
        .all(db)
        .await?;
    envelop(db, rows).await
}

/// The publisher's position: everything up to `horizon` is settled and published.
struct Publisher {
    horizon: i64,
    /// Missing ids just above the horizon, below a visible row, waiting to settle.
    gap: Option<Gap>,
}

/// Ids `(horizon, before)` were missing when `before` was read. They are settled once
/// every transaction that could hold one of them has ended: a row among them is visible by
/// then, or never will be. Those are the transactions that had an xid when the gap was seen
/// (our writers assign theirs before they take an event id) and that had not completed.
struct Gap {
    before: i64,
    in_progress: Vec<u64>,
    since: tokio::time::Instant,
}

/// A PostgreSQL snapshot: xids below `xmax` not in `xip` have completed; those at or above
/// `xmax` may still be running (`xmax` is one past the latest *completed* xid).
struct Snapshot {
    xmax: u64,
    xip: Vec<u64>,
}

impl Snapshot {
    fn parse(text: &str) -> Option<Snapshot> {
        let mut parts = text.splitn(3, ':');
        let _xmin: u64 = parts.next()?.trim().parse().ok()?;
        let xmax = parts.next()?.trim().parse().ok()?;
        let xip = parts
            .next()
            .unwrap_or("")
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        Some(Snapshot { xmax, xip })
    }

    fn running(&self, xid: u64) -> bool {
        xid >= self.xmax || self.xip.contains(&xid)
    }
}

/// Most xids between a snapshot's `xmax` and a fresh xid that are tracked one by one.
const MAX_TRACKED: u64 = 10_000;

impl Gap {
    async fn open(db: &DatabaseConnection, before: i64) -> AppResult<Gap> {
        // SQLite has one connection: no transaction is in flight while we read.
        let in_progress = if crate::db::is_postgres(db) {
            // A fresh xid, later than every xid assigned before the gap was seen, and a
            // snapshot: the candidates are its running xids and every xid between its
            // `xmax` and the fresh one.
            let row = query_text(
                db,
                "SELECT pg_current_snapshot()::text AS s, pg_current_xact_id()::text AS x",
                &["s", "x"],
            )
            .await?;
            let (Some(snap), Some(fresh)) =
                (Snapshot::parse(&row[0]), row[1].trim().parse::<u64>().ok())
            else {
                return Err(crate::error::AppError::internal(anyhow::anyhow!(
                    "unreadable snapshot {row:?}"
                )));
            };
            let mut candidates = snap.xip;
            let upto = fresh.min(snap.xmax + MAX_TRACKED);
            candidates.extend(snap.xmax..upto);
            candidates
        } else {
            Vec::new()
        };
        Ok(Gap {
            before,
            in_progress,
            since: tokio::time::Instant::now(),
        })
    }

    async fn settled(&self, db: &DatabaseConnection) -> AppResult<bool> {
        if self.in_progress.is_empty() {
            return Ok(true);
        }
        if self.since.elapsed() >= GAP_PATIENCE {
            tracing::warn!(
                before = self.before,
                "a writing transaction stayed open for {GAP_PATIENCE:?}; moving past its event ids"
            );
            return Ok(true);
        }
        let row = query_text(db, "SELECT pg_current_snapshot()::text AS s", &["s"]).await?;
        let Some(now) = Snapshot::parse(&row[0]) else {
            return Ok(false);
        };
        Ok(!self.in_progress.iter().any(|x| now.running(*x)))
    }
}

/// One row of text columns from a raw query.
async fn query_text(
    db: &DatabaseConnection,
    sql: &str,
    columns: &[&str],
) -> AppResult<Vec<String>> {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| crate::error::AppError::internal(anyhow::anyhow!("no row from {sql}")))?;
    columns
        .iter()
        .map(|c| row.try_get::<String>("", c).map_err(Into::into))
        .collect()
}

impl Publisher {
    /// Reads past the horizon and returns the rows that may be published now, in order,
    /// and whether to read again at once. The horizon moves only once they are enveloped.
    async fn advance(&mut self, db: &DatabaseConnection) -> AppResult<(Vec<Envelope>, bool)> {
        // Settle first, then read: a row committed before the settling check is in the read.
        let settled_below = match &self.gap {
            Some(gap) if gap.settled(db).await? => gap.before,
            _ => self.horizon,
        };
        let rows = event::Entity::find()
            .filter(event::Column::Id.gt(self.horizon))
            .order_by(event::Column::Id, Order::Asc)
            .limit(BATCH)
            .all(db)
            .await?;
        let full = rows.len() as u64 >= BATCH;
        let mut expected = self.horizon + 1;
        let mut take = 0;
        let mut held_at = None;
        for row in &rows {
            if row.id != expected {
                if row.id > settled_below {
                    held_at = Some(row.id);
                    break;
                }
                tracing::debug!(
                    from = expected,
                    to = row.id - 1,
                    "event ids settled without a row (rolled back)"
                );
            }
            expected = row.id + 1;
            take += 1;
        }
        // Everything that can fail happens before the horizon moves, so a failed read is
        // simply read again: no row is skipped.
        let again = match held_at {
            None => full,
            Some(before) => {
                let same = self
                    .gap
                    .as_ref()
                    .is_some_and(|g| g.before == before && expected <= g.before);
                let gap = if same {
                    None
                } else {
                    let gap = Gap::open(db, before).await?;
                    tracing::debug!(
                        missing_from = expected,
                        before,
                        in_progress = ?gap.in_progress,
                        "holding delivery at a missing event id"
                    );
                    Some(gap)
                };
                // Nothing in progress: the gap is settled already; read again now.
                let settled = gap
                    .as_ref()
                    .or(self.gap.as_ref())
                    .is_some_and(|g| g.in_progress.is_empty());
                if let Some(gap) = gap {
                    self.gap = Some(gap);
                }
                settled
            }
        };
        let mut rows = rows;
        rows.truncate(take);
        let batch = envelop(db, rows).await?;
        if let Some(last) = batch.last() {
            self.horizon = last.event.id;
        }
        if held_at.is_none() {
            self.gap = None;
        }
        Ok((batch, again))
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
