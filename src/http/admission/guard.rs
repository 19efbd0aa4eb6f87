//! Admitting one operation: cost limits, then the rate limit, then introspection policy.
//! HTTP calls [`Admission::admit`] directly; WebSocket operations reach it through the
//! [`Guard`] extension.

use std::{
    any::{Any, TypeId},
    net::IpAddr,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Data, ErrorExtensions as _, Request, ServerError, ServerResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest},
};

use crate::{
    auth::Viewer,
    error::ErrorCode,
    graphql::error::coded,
    http::admission::{
        Admission,
        limits::{self, Refusal},
    },
    ratelimit::{Caller, RateStatus},
};

/// The caller's address, for rate-limiting anonymous callers.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// Where the guard leaves the caller's rate-limit status for the HTTP layer's headers.
#[derive(Debug, Clone, Default)]
pub struct RateSlot(pub Arc<Mutex<Option<RateStatus>>>);

impl RateSlot {
    pub fn get(&self) -> Option<RateStatus> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, status: RateStatus) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
    }
}

/// The cost limits and rate limit as an async-graphql extension.
pub struct Guard;

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension)
    }
}

struct GuardExtension;

/// Request data first (HTTP), then the connection's session data (WebSocket).
fn find<'a, T: Any + Send + Sync>(request: &'a Data, session: &'a Data) -> Option<&'a T> {
    request
        .get(&TypeId::of::<T>())
        .or_else(|| session.get(&TypeId::of::<T>()))
        .and_then(|d| d.downcast_ref::<T>())
}

/// Whether a variable holds a NUL character anywhere.
fn has_nul(value: &async_graphql::Value) -> bool {
    use async_graphql::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// A limit refusal as a coded error naming the limit.
pub fn refusal_error(refusal: &Refusal) -> ServerError {
    let mut err = coded(refusal.to_string(), ErrorCode::BadUserInput);
    if let (Refusal::Limit(l), Some(ext)) = (refusal, err.extensions.as_mut()) {
        ext.set("limit", l.limit.as_str());
        ext.set("max", l.max as u64);
        ext.set("actual", l.actual as u64);
    }
    err
}

/// A rate-limit refusal, carrying when to retry.
pub fn rate_limited_error(status: &RateStatus) -> ServerError {
    let message = format!(
        "rate limit exceeded: {} of {} points used, this request costs {}; retry in {} s",
        status.used,
        status.limit,
        status.cost,
        status.retry_after_secs()
    );
    let err = async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", ErrorCode::RateLimited);
        ext.set("retryAfter", status.retry_after_secs());
        ext.set("resetAt", status.reset_at.to_rfc3339());
    });
    err.into_server_error(async_graphql::Pos::default())
}

impl Admission {
    /// Admits one request: cost limits, the rate limit and introspection policy, before
    /// validation, resolvers or SQL. HTTP calls it directly (its schema carries no
    /// extensions, so no per-field extension chain); WebSocket operations reach it through
    /// [`Guard`].
    pub fn admit(
        &self,
        viewer: Option<&Viewer>,
        ip: Option<ClientIp>,
        slot: Option<&RateSlot>,
        mut request: Request,
    ) -> ServerResult<Request> {
        let limits = &self.limits;
        let refuse = |refusal: Refusal| {
            if let Refusal::Limit(l) = &refusal {
                self.metrics.refused(l.limit.as_str());
            }
            refusal_error(&refusal)
        };
        limits::check_text(&request.query).map_err(refuse)?;
        // PostgreSQL cannot store NUL in text: refuse it up front as bad input, on every database.
        if request.query.contains('\0') || request.variables.values().any(has_nul) {
            return Err(refusal_error(&Refusal::Argument(
                "text may not contain NUL (U+0000) characters".into(),
            )));
        }
        let doc = async_graphql::parser::parse_query(&request.query)?;
        let cost = limits::check_document(
            &doc,
            request.operation_name.as_deref(),
            &request.variables,
            limits,
            self.introspection,
        )
        .map_err(refuse)?;
        request.set_parsed_query(doc);

        let caller = match viewer.and_then(Viewer::actor) {
            Some(actor) => Some(Caller::User(actor.id)),
            None => ip.map(|ip| Caller::Ip(ip.0)),
        };
        if let Some(caller) = caller {
            match self.rate.charge(caller, cost.points()) {
                Ok(Some(status)) => {
                    if let Some(slot) = slot {
                        slot.set(status);
                    }
                    request.data.insert(status);
                }
                Ok(None) => {}
                Err(status) => {
                    self.metrics.rate_limited(matches!(caller, Caller::Ip(_)));
                    if let Some(slot) = slot {
                        slot.set(status);
                    }
                    return Err(rate_limited_error(&status));
                }
            }
        }
        if !self.introspection {
            request = request.disable_introspection();
        }
        Ok(request)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for GuardExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // The socket schema always runs with the edge's admission in its session data; an
        // operation without it is refused rather than run unguarded.
        let Some(admission) = find::<Arc<Admission>>(&request.data, ctx.session_data).cloned()
        else {
            return Err(coded(
                "this operation cannot be admitted",
                ErrorCode::InternalServerError,
            ));
        };
        let viewer = find::<Viewer>(&request.data, ctx.session_data).cloned();
        let ip = find::<ClientIp>(&request.data, ctx.session_data).copied();
        let slot = find::<RateSlot>(&request.data, ctx.session_data).cloned();
        let request = admission.admit(viewer.as_ref(), ip, slot.as_ref(), request)?;
        next.run(ctx, request).await
    }
}
