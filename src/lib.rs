//! tier3: a GraphQL API for support desks built around Tier 3 escalations.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod metrics;
pub mod ratelimit;
pub mod seed;

use std::time::Duration;

use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, Request, header},
    routing::get,
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use app::{App, Server};
pub use config::Config;

/// The HTTP routes with their middleware.
pub fn router(app: App) -> Router {
    // The handlers answer a slow request themselves (as a GraphQL error); this is the net
    // under everything else.
    let timeout = app.config.request_timeout() + Duration::from_secs(5);
    let cors = cors(&app.config.http.cors_origins);
    let metrics_here = app.config.http.metrics_bind.is_none();
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql::http::graphql_get)
                .post(graphql::http::graphql_post)
                .fallback(graphql::http::method_not_allowed),
        )
        .route("/graphql/ws", get(graphql::ws::graphql_ws))
        .route("/healthz", get(graphql::http::healthz))
        .route("/readyz", get(graphql::http::readyz));
    if metrics_here {
        router = router.route("/metrics", get(graphql::http::metrics));
    }
    if app.config.http.graphiql {
        router = router.route("/graphiql/{file}", get(graphiql::asset));
    }
    router
        .with_state(app)
        .layer(cors)
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The routes of a separate metrics listener (`TIER3_METRICS_BIND`).
pub fn metrics_router(app: App) -> Router {
    Router::new()
        .route("/metrics", get(graphql::http::metrics))
        .with_state(app)
}

/// Every log line of a request carries its id; the path but not the query string (which may
/// hold variables), and never headers (which hold tokens).
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// CORS: no origin unless configured (`*` for any). Only what a GraphQL client needs.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}
