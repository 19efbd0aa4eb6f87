//! The door every operation passes, over HTTP and WebSocket alike: cost limits, then the rate
//! limit, then introspection policy, all before validation, resolvers or SQL.

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
    app::App,
    auth::Viewer,
    graphql::limits::{self, Refusal},
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
    let mut err = ServerError::new(refusal.to_string(), None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "BAD_USER_INPUT");
    if let Refusal::Limit(l) = refusal {
        ext.set("limit", l.limit);
        ext.set("max", l.max as u64);
        ext.set("actual", l.actual as u64);
    }
    err.extensions = Some(ext);
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
        ext.set("code", "RATE_LIMITED");
        ext.set("retryAfter", status.retry_after_secs());
        ext.set("resetAt", status.reset_at.to_rfc3339());
    });
    err.into_server_error(async_graphql::Pos::default())
}

/// Admits one request: cost limits, the rate limit and introspection policy, before
/// validation, resolvers or SQL. HTTP calls it directly (its schema carries no extensions,
/// so no per-field extension chain); WebSocket operations reach it through [`Guard`].
pub fn admit(
    app: &App,
    viewer: Option<&Viewer>,
    ip: Option<ClientIp>,
    slot: Option<&RateSlot>,
    mut request: Request,
) -> ServerResult<Request> {
    let limits = &app.config.limits;
    let refuse = |refusal: Refusal| {
        if let Refusal::Limit(l) = &refusal {
            app.metrics.refused(l.limit);
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
        app.config.http.introspection,
    )
    .map_err(refuse)?;
    request.set_parsed_query(doc);

    let caller = match viewer.and_then(Viewer::actor) {
        Some(actor) => Some(Caller::User(actor.id)),
        None => ip.map(|ip| Caller::Ip(ip.0)),
    };
    if let Some(caller) = caller {
        match app.rate.charge(caller, cost.points()) {
            Ok(Some(status)) => {
                if let Some(slot) = slot {
                    slot.set(status);
                }
                request.data.insert(status);
            }
            Ok(None) => {}
            Err(status) => {
                app.metrics.rate_limited(matches!(caller, Caller::Ip(_)));
                if let Some(slot) = slot {
                    slot.set(status);
                }
                return Err(rate_limited_error(&status));
            }
        }
    }
    if !app.config.http.introspection {
        request = request.disable_introspection();
    }
    Ok(request)
}

#[async_graphql::async_trait::async_trait]
impl Extension for GuardExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // A schema executed without the app (the SDL export, unit tests) has nothing to guard.
        let Some(app) = find::<App>(&request.data, ctx.session_data).cloned() else {
            return next.run(ctx, request).await;
        };
        let viewer = find::<Viewer>(&request.data, ctx.session_data).cloned();
        let ip = find::<ClientIp>(&request.data, ctx.session_data).copied();
        let slot = find::<RateSlot>(&request.data, ctx.session_data).cloned();
        let request = admit(&app, viewer.as_ref(), ip, slot.as_ref(), request)?;
        next.run(ctx, request).await
    }
}
