//! Rate limits: each caller (a user, or an IP address when anonymous) spends points from a
//! budget that refills every window, like GitHub's GraphQL API. In memory, per process: behind
//! a load balancer each replica enforces its own budget.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant, SystemTime},
};

use chrono::{DateTime, Utc};

use crate::config::RateLimits;

/// Who is spending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    User(i64),
    Ip(IpAddr),
}

/// A caller's budget after a charge (or a refusal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    /// Points per window.
    pub limit: u32,
    /// What this request cost (or would have).
    pub cost: u32,
    /// Points spent in the current window.
    pub used: u32,
    /// Points left in the current window.
    pub remaining: u32,
    /// When the window ends and the budget refills.
    pub reset_at: DateTime<Utc>,
    /// Time until `reset_at`.
    pub reset_in: Duration,
}

impl RateStatus {
    /// Whole seconds until a refused caller may try again (at least 1), for `Retry-After`.
    pub fn retry_after_secs(&self) -> u64 {
        self.reset_in.as_secs() + u64::from(self.reset_in.subsec_nanos() > 0)
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    used: u32,
}

/// Fixed windows per caller, swept of expired entries as the map grows.
#[derive(Debug)]
pub struct RateLimiter {
    users: u32,
    anonymous: u32,
    window: Duration,
    windows: Mutex<HashMap<Caller, Window>>,
}

/// Entries kept before expired windows are swept out.
const SWEEP_AT: usize = 4_096;

impl RateLimiter {
    pub fn new(config: &RateLimits) -> Self {
        RateLimiter {
            users: config.rate_limit,
            anonymous: config.rate_limit_anonymous,
            window: Duration::from_secs(config.rate_limit_window_secs.max(1)),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The budget for this kind of caller; `None` when unlimited.
    fn limit(&self, caller: &Caller) -> Option<u32> {
        let limit = match caller {
            Caller::User(_) => self.users,
            Caller::Ip(_) => self.anonymous,
        };
        (limit > 0).then_some(limit)
    }

    /// Spends `cost` points. `Ok` with the new status, `Err` (nothing spent) when the budget
    /// cannot cover it; `Ok(None)` when this caller is unlimited.
    pub fn charge(&self, caller: Caller, cost: u32) -> Result<Option<RateStatus>, RateStatus> {
        let Some(limit) = self.limit(&caller) else {
            return Ok(None);
        };
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= SWEEP_AT {
            let window = self.window;
            windows.retain(|_, w| now.duration_since(w.started) < window);
        }
        let entry = windows.entry(caller).or_insert(Window {
            started: now,
            used: 0,
        });
        if now.duration_since(entry.started) >= self.window {
            *entry = Window {
                started: now,
                used: 0,
            };
        }
        let status = |used: u32| {
            let reset_in = (entry.started + self.window).saturating_duration_since(now);
            RateStatus {
                limit,
                cost,
                used,
                remaining: limit.saturating_sub(used),
                reset_at: DateTime::<Utc>::from(SystemTime::now() + reset_in),
                reset_in,
            }
        };
        let used = entry.used.saturating_add(cost);
        if used > limit {
            return Err(status(entry.used));
        }
        let ok = status(used);
        entry.used = used;
        Ok(Some(ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(users: u32, window_secs: u64) -> RateLimiter {
        RateLimiter::new(&RateLimits {
            rate_limit: users,
            rate_limit_anonymous: 2,
            rate_limit_window_secs: window_secs,
        })
    }

    #[test]
    fn spends_until_the_budget_is_gone_then_refuses_without_spending() {
        let rl = limiter(10, 60);
        let me = Caller::User(1);
        let s = rl.charge(me, 4).unwrap().unwrap();
        assert_eq!((s.used, s.remaining, s.cost), (4, 6, 4));
        let s = rl.charge(me, 6).unwrap().unwrap();
        assert_eq!(s.remaining, 0);
        let refused = rl.charge(me, 1).unwrap_err();
        assert_eq!((refused.used, refused.remaining), (10, 0));
        assert!(refused.retry_after_secs() >= 1 && refused.retry_after_secs() <= 60);
        // Someone else is unaffected.
        assert!(rl.charge(Caller::User(2), 10).is_ok());
    }

    #[test]
    fn anonymous_callers_are_limited_per_address() {
        let rl = limiter(10, 60);
        let a = Caller::Ip("10.0.0.1".parse().unwrap());
        let b = Caller::Ip("10.0.0.2".parse().unwrap());
        assert!(rl.charge(a, 2).is_ok());
        assert!(rl.charge(a, 1).is_err());
        assert!(rl.charge(b, 1).is_ok());
    }

    #[test]
    fn the_budget_refills_after_the_window() {
        let rl = limiter(1, 1);
        let me = Caller::User(1);
        assert!(rl.charge(me, 1).is_ok());
        assert!(rl.charge(me, 1).is_err());
        std::thread::sleep(Duration::from_millis(1_050));
        assert!(rl.charge(me, 1).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let rl = limiter(0, 60);
        assert_eq!(rl.charge(Caller::User(1), u32::MAX).unwrap(), None);
    }
}
