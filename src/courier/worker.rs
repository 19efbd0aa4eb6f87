//! A channel's worker: claim due deliveries, attempt them a few at a time, record each
//! outcome, and sleep until the next is due or the planner queues more.

use std::time::Duration;

use chrono::Utc;
use entity::{DeliveryChannel, delivery};
use futures_util::StreamExt;

use super::Courier;
use crate::{
    domain::notify::{
        deliveries::{self, Outcome},
        mail::{self, Rendered},
        webhooks,
    },
    error::AppResult,
    outbound::{mail::SendError, webhook},
};

/// Deliveries claimed at once, and attempted at once: few enough in flight that the API
/// keeps most of the database pool while a large mailing runs.
const CLAIM: u64 = 100;
const IN_FLIGHT: usize = 8;

/// How long an endpoint may fail before it is turned off.
const FAILING_FOR: chrono::Duration = chrono::Duration::hours(24);

impl Courier {
    pub(super) async fn work(
        self,
        channel: DeliveryChannel,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let mut queued = self.queued.subscribe();
        loop {
            let claimed = match self.claim(channel).await {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::warn!(error = ?err, channel = channel.as_str(), "claiming deliveries failed");
                    Vec::new()
                }
            };
            if claimed.len() as u64 >= CLAIM {
                self.attempt_all(channel, claimed).await;
                continue;
            }
            let any = !claimed.is_empty();
            self.attempt_all(channel, claimed).await;
            if any {
                continue;
            }
            let wait = self.until_next_due(channel).await;
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = queued.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn claim(&self, channel: DeliveryChannel) -> AppResult<Vec<delivery::Model>> {
        let until = Utc::now() + chrono::Duration::from_std(self.lease).unwrap_or_default();
        deliveries::claim(&self.db, channel, &self.owner, until, CLAIM).await
    }

    /// How long to sleep: until the next pending delivery is due, at most the poll.
    async fn until_next_due(&self, channel: DeliveryChannel) -> Duration {
        match deliveries::next_due(&self.db, channel).await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::from_millis(10))
                .clamp(Duration::from_millis(10), self.poll),
            Ok(None) => self.poll,
            Err(_) => Duration::from_secs(1).min(self.poll),
        }
    }

    async fn attempt_all(&self, channel: DeliveryChannel, claimed: Vec<delivery::Model>) {
        if claimed.is_empty() {
            return;
        }
        let batch = match channel {
            DeliveryChannel::Email => match mail::Batch::load(&self.db, &claimed).await {
                Ok(batch) => batch,
                Err(err) => {
                    // The leases run out and the rows are claimed again.
                    tracing::warn!(error = ?err, "reading a batch of mail failed");
                    return;
                }
            },
            DeliveryChannel::Webhook => mail::Batch::default(),
        };
        let batch = &batch;
        futures_util::stream::iter(claimed)
            .for_each_concurrent(IN_FLIGHT, |d| async move {
                if let Err(err) = self.attempt(channel, &d, batch).await {
                    // The lease runs out and the delivery is tried again.
                    tracing::warn!(error = ?err, delivery = d.id, "delivery attempt failed");
                }
            })
            .await;
    }

    async fn attempt(
        &self,
        channel: DeliveryChannel,
        d: &delivery::Model,
        batch: &mail::Batch,
    ) -> AppResult<()> {
        let outcome = match channel {
            DeliveryChannel::Email => self.send_mail(d, batch).await?,
            DeliveryChannel::Webhook => self.send_webhook(d).await?,
        };
        let label = match &outcome {
            Outcome::Delivered => "sent",
            Outcome::Retry { .. } => "retried",
            Outcome::Failed { .. } => "failed",
        };
        if deliveries::record(&self.db, d.id, &self.owner, &outcome).await? {
            self.metrics
                .delivery(&channel.as_str().to_lowercase(), label);
        }
        // An endpoint that has failed this delivery for a day, and delivered nothing else
        // meanwhile, is turned off (and the admins told) rather than retried for days.
        let since = Utc::now() - FAILING_FOR;
        if let Some(endpoint) = d.endpoint_id
            && outcome != Outcome::Delivered
            && d.created_at <= since
            && deliveries::endpoint_failing_since(&self.db, endpoint, since).await?
        {
            webhooks::disable(&self.db, endpoint, "it failed every delivery for a day").await?;
        }
        Ok(())
    }

    /// The outcome of a failed attempt: try again on the schedule, or give up.
    fn retry_or_fail(
        &self,
        channel: DeliveryChannel,
        d: &delivery::Model,
        error: String,
        retry_after: Option<Duration>,
    ) -> Outcome {
        match self.backoff.next(channel, d.attempts, retry_after) {
            Some(at) => Outcome::Retry { error, at },
            None => Outcome::Failed {
                error: format!("gave up after {} attempts: {error}", d.attempts),
            },
        }
    }

    async fn send_mail(&self, d: &delivery::Model, batch: &mail::Batch) -> AppResult<Outcome> {
        let mail = match mail::render(&self.db, d, &self.links, batch).await? {
            Rendered::Send(mail) => mail,
            Rendered::Skip(why) => return Ok(Outcome::Failed { error: why }),
        };
        Ok(match self.mailer.send(&mail).await {
            Ok(()) => Outcome::Delivered,
            Err(SendError::Permanent(error)) => Outcome::Failed { error },
            Err(SendError::Transient(error)) => {
                self.retry_or_fail(DeliveryChannel::Email, d, error, None)
            }
        })
    }

    async fn send_webhook(&self, d: &delivery::Model) -> AppResult<Outcome> {
        let Some(endpoint_id) = d.endpoint_id else {
            return Ok(Outcome::Failed {
                error: "the endpoint was deleted".into(),
            });
        };
        let Some(endpoint) = webhooks::find(&self.db, endpoint_id).await? else {
            return Ok(Outcome::Failed {
                error: "the endpoint was deleted".into(),
            });
        };
        if !endpoint.enabled {
            return Ok(Outcome::Failed {
                error: "the endpoint is turned off".into(),
            });
        }
        let secrets = webhooks::signing_secrets(&self.db, endpoint.id).await?;
        let body = d.payload.clone().unwrap_or_default();
        let id = format!("msg_{}", d.id);
        Ok(
            match self
                .hooks
                .send(&endpoint.url, &id, body.as_bytes(), &secrets)
                .await
            {
                webhook::Outcome::Delivered { .. } => Outcome::Delivered,
                webhook::Outcome::Retry { error, after } => {
                    self.retry_or_fail(DeliveryChannel::Webhook, d, error, after)
                }
                webhook::Outcome::Gone => {
                    webhooks::disable(&self.db, endpoint.id, "the receiver answered 410 Gone")
                        .await?;
                    Outcome::Failed {
                        error: "HTTP 410: the receiver asked to stop".into(),
                    }
                }
            },
        )
    }
}
