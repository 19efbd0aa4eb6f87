//! Admission: the door every operation passes, over HTTP and WebSocket alike — cost limits,
//! the rate limit and introspection policy, all before validation, resolvers or SQL.

pub mod guard;
pub mod limits;

use std::sync::Arc;

use crate::{app::App, config::Limits, metrics::Metrics, ratelimit::RateLimiter};

pub use guard::{ClientIp, Guard, RateSlot};
pub use limits::{Limit, LimitExceeded, Refusal};

/// What admitting a request needs: the limits, the rate limiter (the app's, so every router
/// of one process charges one budget), and where refusals are counted.
pub struct Admission {
    pub limits: Limits,
    pub introspection: bool,
    pub rate: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
}

impl Admission {
    /// The admission of an app, from its configuration.
    pub fn new(app: &App) -> Admission {
        Admission {
            limits: app.config.limits.clone(),
            introspection: app.config.http.introspection,
            rate: app.rate.clone(),
            metrics: app.metrics.clone(),
        }
    }
}
