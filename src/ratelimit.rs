//! Rate limits: each caller (a user, or an IP address when anonymous) spends points from a
//! budget that refills every window, like GitHub's GraphQL API; and open WebSockets are
//! counted per user and per address against their limits. In memory, per process: behind a
//! load balancer each replica enforces its own budgets and counts its own sockets.

use std::{
    collections::{HashMap, hash_map::Entry},
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use chrono::{DateTime, Utc};

use crate::config::{RateLimits, SocketLimits};

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

/// Open WebSockets per signed-in user and per client address, against their limits.
#[derive(Debug)]
pub struct OpenSockets {
    per_user: usize,
    per_address: usize,
    open: Mutex<HashMap<Caller, usize>>,
}

/// One socket counted against its user's or its address's limit, until it is dropped: a
/// socket ending in any way (closed by either side, an error, a panic) frees its slot.
#[derive(Debug)]
pub struct SocketSlot {
    sockets: Arc<OpenSockets>,
    caller: Caller,
}

/// A socket refused: its user or address already has `max` open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManySockets {
    pub max: usize,
}

impl OpenSockets {
    pub fn new(limits: &SocketLimits) -> Self {
        OpenSockets {
            per_user: limits.max_sockets_per_user,
            per_address: limits.max_sockets_per_address,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one more socket for `caller` (a user, or an address), unless it already has
    /// its limit open. `Ok(None)` when that kind of caller is unlimited: nothing is counted.
    pub fn open(self: &Arc<Self>, caller: Caller) -> Result<Option<SocketSlot>, TooManySockets> {
        let max = match caller {
            Caller::User(_) => self.per_user,
            Caller::Ip(_) => self.per_address,
        };
        if max == 0 {
            return Ok(None);
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(caller).or_insert(0);
        if *count >= max {
            return Err(TooManySockets { max });
        }
        *count += 1;
        Ok(Some(SocketSlot {
            sockets: self.clone(),
            caller,
        }))
    }

    /// Sockets counted for `caller` now.
    pub fn count(&self, caller: Caller) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&caller).copied().unwrap_or(0)
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.sockets.open.lock().unwrap_or_else(|e| e.into_inner());
        // Forget callers with nothing open, so the map holds only open sockets' callers.
        if let Entry::Occupied(mut entry) = open.entry(self.caller) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockets(per_user: usize, per_address: usize) -> Arc<OpenSockets> {
        Arc::new(OpenSockets::new(&SocketLimits {
            max_sockets_per_user: per_user,
            max_sockets_per_address: per_address,
            ..SocketLimits::default()
        }))
    }

    #[test]
    fn sockets_are_counted_until_their_slots_drop() {
        let open = sockets(2, 3);
        let me = Caller::User(1);
        let a = open.open(me).unwrap().unwrap();
        let b = open.open(me).unwrap().unwrap();
        assert_eq!(open.open(me).unwrap_err(), TooManySockets { max: 2 });
        // The refusal counted nothing; another user and an address have their own limits.
        assert_eq!(open.count(me), 2);
        assert!(open.open(Caller::User(2)).unwrap().is_some());
        let here = Caller::Ip("10.0.0.1".parse().unwrap());
        let held: Vec<_> = (0..3).map(|_| open.open(here).unwrap()).collect();
        assert_eq!(open.open(here).unwrap_err(), TooManySockets { max: 3 });
        drop(a);
        assert_eq!(open.count(me), 1);
        let c = open.open(me).unwrap();
        drop((b, c, held));
        assert_eq!((open.count(me), open.count(here)), (0, 0));
        assert!(open.open.lock().unwrap().get(&me).is_none());
    }

    #[test]
    fn zero_sockets_means_unlimited_and_uncounted() {
        let open = sockets(0, 0);
        let slots: Vec<_> = (0..100)
            .map(|_| open.open(Caller::User(1)).unwrap())
            .collect();
        assert!(slots.iter().all(Option::is_none));
        assert_eq!(open.count(Caller::User(1)), 0);
    }

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
