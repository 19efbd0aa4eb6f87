//! tier3: a GraphQL API for support desks built around Tier 3 escalations.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod seed;

use axum::{Router, routing::get};
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use app::{App, Server};
pub use config::Config;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The HTTP routes with their middleware.
pub fn router(app: App) -> Router {
    let timeout = app.config.request_timeout();
    Router::new()
        .route(
            "/graphql",
            get(graphql::http::graphiql).post(graphql::http::graphql),
        )
        .route("/graphql/ws", get(graphql::ws::graphql_ws))
        .route("/healthz", get(graphql::http::healthz))
        .route("/readyz", get(graphql::http::readyz))
        .with_state(app)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
