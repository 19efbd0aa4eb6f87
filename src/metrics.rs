//! Prometheus metrics: what operators watch. Labels are bounded: operation names are
//! client-chosen, so only well-formed ones are kept, and at most [`MAX_OPERATIONS`] of them.

use std::{collections::HashSet, sync::Mutex, time::Duration};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use sea_orm::DatabaseConnection;

/// Distinct operation names kept as labels; later ones are counted as `other`.
pub const MAX_OPERATIONS: usize = 200;

/// The metrics of one process.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    refusals: IntCounterVec,
    rate_limited: IntCounterVec,
    websockets: IntGauge,
    deliveries: IntCounterVec,
    live: IntCounterVec,
    oldest_pending: IntGauge,
    subscriptions: IntGauge,
    pool_size: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    known_operations: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn register<C: prometheus::core::Collector + Clone + 'static>(registry: &Registry, c: C) -> C {
    registry
        .register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("tier3".into()), None).expect("static prefix");
        let requests = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "graphql_requests_total",
                    "GraphQL operations by operation name and outcome (ok or the first error code)",
                ),
                &["operation", "outcome"],
            )
            .expect("static metric"),
        );
        let latency = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "graphql_request_duration_seconds",
                    "Time to answer a GraphQL operation",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["operation"],
            )
            .expect("static metric"),
        );
        let refusals = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "limit_refusals_total",
                    "Requests refused before execution, by the limit they broke",
                ),
                &["limit"],
            )
            .expect("static metric"),
        );
        let rate_limited = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "rate_limited_total",
                    "Requests refused by the rate limiter, by caller kind",
                ),
                &["caller"],
            )
            .expect("static metric"),
        );
        let deliveries = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "deliveries_total",
                    "Mail and webhook attempts by channel and outcome (sent, retried, failed)",
                ),
                &["channel", "outcome"],
            )
            .expect("static metric"),
        );
        let live = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "live_events_total",
                    "Live events on the shared stream: rendered (once per document and audience) \
                     and sent (once per subscription)",
                ),
                &["step"],
            )
            .expect("static metric"),
        );
        let gauge = |name: &str, help: &str| {
            register(&registry, IntGauge::new(name, help).expect("static metric"))
        };
        Metrics {
            requests,
            latency,
            refusals,
            rate_limited,
            websockets: gauge("websocket_connections", "Open WebSocket connections"),
            deliveries,
            live,
            oldest_pending: gauge(
                "delivery_oldest_pending_seconds",
                "Age of the oldest mail or webhook still waiting to be delivered (0: none)",
            ),
            subscriptions: gauge("active_subscriptions", "Open subscription streams"),
            pool_size: gauge("db_pool_connections", "Database connections open"),
            pool_idle: gauge("db_pool_idle_connections", "Database connections idle"),
            pool_max: gauge("db_pool_max_connections", "Database pool size limit"),
            known_operations: Mutex::new(HashSet::new()),
            registry,
        }
    }

    /// The label for a client-chosen operation name.
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".into();
        };
        let well_formed = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !well_formed {
            return "other".into();
        }
        let mut known = self
            .known_operations
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if known.contains(name) {
            return name.to_owned();
        }
        if known.len() < MAX_OPERATIONS {
            known.insert(name.to_owned());
            return name.to_owned();
        }
        "other".into()
    }

    /// Records one answered operation.
    pub fn observe(&self, operation: &str, outcome: &str, took: Duration) {
        self.requests.with_label_values(&[operation, outcome]).inc();
        self.latency
            .with_label_values(&[operation])
            .observe(took.as_secs_f64());
    }

    /// Counts a request refused by a limit.
    pub fn refused(&self, limit: &str) {
        self.refusals.with_label_values(&[limit]).inc();
    }

    /// Counts a request refused by the rate limiter.
    pub fn rate_limited(&self, anonymous: bool) {
        let caller = if anonymous { "anonymous" } else { "user" };
        self.rate_limited.with_label_values(&[caller]).inc();
    }

    /// A WebSocket opened (`+1`) or closed (`-1`).
    pub fn websocket(&self, delta: i64) {
        self.websockets.add(delta);
    }

    /// Counts one delivery attempt's outcome: `sent`, `retried` or `failed`.
    pub fn delivery(&self, channel: &str, outcome: &str) {
        self.deliveries.with_label_values(&[channel, outcome]).inc();
    }

    /// Counts one event's work on the shared live stream: its renderings and the
    /// subscriptions it was queued for.
    pub fn live_event(&self, rendered: usize, sent: usize) {
        self.live
            .with_label_values(&["rendered"])
            .inc_by(rendered as u64);
        self.live.with_label_values(&["sent"]).inc_by(sent as u64);
    }

    /// Sets the age of the oldest pending delivery, read by the caller before rendering.
    pub fn set_oldest_pending(&self, seconds: i64) {
        self.oldest_pending.set(seconds.max(0));
    }

    /// The text exposition, with gauges read now.
    pub fn render(&self, db: &DatabaseConnection, active_subscriptions: usize) -> String {
        self.subscriptions
            .set(i64::try_from(active_subscriptions).unwrap_or(i64::MAX));
        let (size, idle, max) = pool_usage(db);
        self.pool_size.set(size);
        self.pool_idle.set(idle);
        self.pool_max.set(max);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics");
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Open, idle and maximum connections of the pool.
fn pool_usage(db: &DatabaseConnection) -> (i64, i64, i64) {
    if crate::db::is_postgres(db) {
        let pool = db.get_postgres_connection_pool();
        (
            i64::from(pool.size()),
            pool.num_idle() as i64,
            i64::from(pool.options().get_max_connections()),
        )
    } else {
        let pool = db.get_sqlite_connection_pool();
        (
            i64::from(pool.size()),
            pool.num_idle() as i64,
            i64::from(pool.options().get_max_connections()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_bounded() {
        let m = Metrics::new();
        assert_eq!(m.operation_label(None), "anonymous");
        assert_eq!(m.operation_label(Some("TicketPage")), "TicketPage");
        assert_eq!(m.operation_label(Some("drop table;")), "other");
        assert_eq!(m.operation_label(Some(&"x".repeat(65))), "other");
        for i in 0..MAX_OPERATIONS {
            m.operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(m.operation_label(Some("OneTooMany")), "other");
        assert_eq!(m.operation_label(Some("TicketPage")), "TicketPage");
    }
}
