//! `rateLimit`: the caller's budget, like GitHub's.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::ratelimit::RateStatus;

/// Your rate-limit budget as of this request.
#[derive(SimpleObject)]
pub struct RateLimit {
    /// Points you may spend per window.
    pub limit: i32,
    /// What this request cost: one point per 100 nodes it may return, at least one.
    pub cost: i32,
    /// Points spent in the current window, this request included.
    pub used: i32,
    /// Points left in the current window.
    pub remaining: i32,
    /// When the window ends and the budget refills.
    pub reset_at: DateTime<Utc>,
}

impl From<&RateStatus> for RateLimit {
    fn from(s: &RateStatus) -> Self {
        let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        RateLimit {
            limit: int(s.limit),
            cost: int(s.cost),
            used: int(s.used),
            remaining: int(s.remaining),
            reset_at: s.reset_at,
        }
    }
}

#[derive(Default)]
pub struct RateLimitQuery;

#[Object]
impl RateLimitQuery {
    /// Your rate-limit budget (per user; per IP address when anonymous); null when rate
    /// limiting is off.
    async fn rate_limit(&self, ctx: &Context<'_>) -> Option<RateLimit> {
        ctx.data_opt::<RateStatus>().map(RateLimit::from)
    }
}
