//! When to try again: each channel's schedule, with jitter so that many deliveries failing
//! together (a mail server restarting) do not come back together.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::DeliveryChannel;
use rand::Rng;

use crate::outbound::webhook;

/// Mail: the first retry within 30 s, then minutes, then hours, for about a day.
const MAIL: [u64; 8] = [15, 60, 300, 1_800, 3_600, 3 * 3_600, 6 * 3_600, 12 * 3_600];

/// Retry delays, scaled (tests and drills shorten them).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    scale: f64,
}

impl Backoff {
    pub fn new(scale: f64) -> Self {
        Backoff {
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    /// The delay after failed attempt number `attempts` (1 for the first), or `None` when
    /// the schedule is exhausted and the delivery is given up.
    pub fn delay(&self, channel: DeliveryChannel, attempts: i32) -> Option<Duration> {
        let attempts = attempts.max(1) as usize;
        let base = match channel {
            DeliveryChannel::Email => Duration::from_secs(*MAIL.get(attempts - 1)?),
            DeliveryChannel::Webhook => webhook::retry_delay(attempts as u32)?,
        };
        // ±20 %: spreads a burst of retries without moving the schedule's shape.
        let jitter = rand::rng().random_range(0.8..1.2);
        Some(base.mul_f64(self.scale * jitter))
    }

    /// When to try again after failed attempt `attempts`, honouring a receiver's
    /// `Retry-After` when it gave one (never sooner than a second).
    pub fn next(
        &self,
        channel: DeliveryChannel,
        attempts: i32,
        retry_after: Option<Duration>,
    ) -> Option<DateTime<Utc>> {
        let scheduled = self.delay(channel, attempts)?;
        let wait = match retry_after {
            Some(asked) => asked.max(Duration::from_secs(1)),
            None => scheduled,
        };
        Some(Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_first_retry_within_30_seconds_and_gives_up_after_a_day_or_so() {
        let b = Backoff::new(1.0);
        let first = b.delay(DeliveryChannel::Email, 1).unwrap();
        assert!(first <= Duration::from_secs(30), "{first:?}");
        let total: Duration = (1..=MAIL.len() as i32)
            .map(|n| b.delay(DeliveryChannel::Email, n).unwrap())
            .sum();
        assert!(total > Duration::from_secs(12 * 3_600), "{total:?}");
        assert!(
            b.delay(DeliveryChannel::Email, MAIL.len() as i32 + 1)
                .is_none()
        );
    }

    #[test]
    fn webhook_first_retry_within_10_seconds() {
        let b = Backoff::new(1.0);
        assert!(b.delay(DeliveryChannel::Webhook, 1).unwrap() <= Duration::from_secs(10));
    }

    #[test]
    fn scale_shortens_every_delay() {
        let b = Backoff::new(0.01);
        assert!(b.delay(DeliveryChannel::Email, 1).unwrap() < Duration::from_secs(1));
    }
}
