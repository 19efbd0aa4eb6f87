//! The courier: in every replica, one task follows the event log and queues what it causes
//! (`domain::notify::planner`), and one worker per channel claims due deliveries under a
//! lease, sends them through `crate::outbound`, and records what happened.
//!
//! Nothing is sent before it is queued, and a delivery leaves the queue only when its
//! outcome is recorded, so a crash anywhere repeats at most the one attempt in flight
//! (the receiver sees the same Message-ID or `webhook-id` and can drop it): that, and not
//! more, is what "exactly once" can mean across a network.

mod backoff;
mod worker;

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    domain::notify::{mail::Links, planner},
    events::EventBus,
    metrics::Metrics,
    outbound::{mail::Mailer, webhook::WebhookSender},
};

pub use backoff::Backoff;

/// What the courier's tasks share.
#[derive(Clone)]
pub struct Courier {
    pub(crate) db: DatabaseConnection,
    pub(crate) mailer: Mailer,
    pub(crate) hooks: WebhookSender,
    pub(crate) links: Links,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) backoff: Backoff,
    pub(crate) lease: Duration,
    /// This process's name on the leases it takes.
    pub(crate) owner: Arc<str>,
    /// Bumped when the planner queued something; a worker that was busy still sees it.
    pub(crate) queued: watch::Sender<u64>,
    pub(crate) poll: Duration,
}

impl Courier {
    pub fn new(
        db: DatabaseConnection,
        mailer: Mailer,
        config: &Config,
        metrics: Arc<Metrics>,
    ) -> Courier {
        let links = Links::new(&config.notify.public_url, mailer.domain());
        Courier {
            db,
            hooks: WebhookSender::new(config.notify.webhook_allow_private),
            links,
            metrics,
            backoff: Backoff::new(config.notify.delivery_backoff_scale),
            lease: Duration::from_secs(config.notify.delivery_lease_secs.max(1)),
            owner: uuid::Uuid::new_v4().simple().to_string().into(),
            queued: watch::Sender::new(0),
            poll: Duration::from_millis(config.event_poll_ms.max(1)),
            mailer,
        }
    }

    /// Starts the planner and a worker per channel.
    pub fn spawn(self, bus: &EventBus, shutdown: CancellationToken) {
        tokio::spawn(self.clone().plan(bus.clone(), shutdown.clone()));
        for channel in [
            entity::DeliveryChannel::Email,
            entity::DeliveryChannel::Webhook,
        ] {
            tokio::spawn(self.clone().work(channel, shutdown.clone()));
        }
    }

    /// Follows the log: a step whenever the publisher has read further, and at every poll
    /// (another replica's events reach this one through its publisher too).
    async fn plan(self, bus: EventBus, shutdown: CancellationToken) {
        let mut moved = bus.watch_watermark();
        loop {
            match planner::step(&self.db).await {
                Ok(0) => {}
                Ok(_) => {
                    self.queued.send_modify(|n| *n = n.wrapping_add(1));
                    continue;
                }
                Err(err) => {
                    tracing::warn!(error = ?err, "delivery planner step failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    continue;
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = moved.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }
}
