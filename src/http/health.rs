//! `/healthz` (the process is up), `/readyz` (the database answers) and `/metrics`.

use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::http::Edge;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers (within a second).
pub async fn readyz(State(Edge { app, .. }): State<Edge>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), crate::db::ping(&app.db));
    if matches!(ping.await, Ok(true)) && !app.shutdown.is_cancelled() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(Edge { app, .. }): State<Edge>) -> Response {
    // A scrape must answer even when the database does not: the age is then left as it was.
    let oldest = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        crate::domain::notify::deliveries::oldest_pending(&app.db),
    )
    .await;
    if let Ok(Ok(oldest)) = oldest {
        let age = oldest.map_or(0, |at| (chrono::Utc::now() - at).num_seconds());
        app.metrics.set_oldest_pending(age);
    }
    let body = app.metrics.render(&app.db, app.bus.active_feeds());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
