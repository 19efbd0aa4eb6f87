//! The HTTP edge: the router and its middleware (request ids, tracing, CORS, timeouts),
//! GraphQL over HTTP, the `/graphql/ws` socket loop, health, readiness and metrics,
//! admission (limits and rate limits), turning credentials into a viewer, GraphiQL, and the
//! server itself. The only layer that knows of HTTP; it runs operations on the schemas of
//! `crate::graphql` with the parts of `crate::app`.

pub mod admission;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod identity;
pub mod server;
pub mod unsubscribe;
pub mod ws;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, Request, header},
    routing::get,
};
use tokio_util::task::TaskTracker;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    app::App,
    graphql::{AppSchema, error::ErrorCodes, live::Live, schema},
};
use admission::{Admission, Guard};

pub use server::{Server, shutdown_signal};

/// The two schemas the edge runs operations on: the same types, admitted differently.
#[derive(Clone)]
pub struct Schemas {
    /// For `POST`/`GET /graphql`: no extensions. The handler admits each request and
    /// finishes each response itself, so no field pays for an extension chain.
    pub http: AppSchema,
    /// For `/graphql/ws`: async-graphql runs socket operations in its own loop, so admission
    /// ([`Guard`]) and error codes ([`ErrorCodes`]) ride along as extensions.
    pub socket: AppSchema,
}

impl Schemas {
    pub fn new() -> Schemas {
        Schemas {
            http: schema::builder().finish(),
            socket: schema::builder()
                .extension(ErrorCodes)
                .extension(Guard)
                .finish(),
        }
    }
}

impl Default for Schemas {
    fn default() -> Self {
        Schemas::new()
    }
}

/// The edge's state: the application, the schemas it runs, admission, and its sockets.
#[derive(Clone)]
pub struct Edge {
    pub app: App,
    pub schemas: Schemas,
    pub admission: Arc<Admission>,
    /// Open WebSockets, so shutdown can wait for their close frames to go out.
    pub sockets: TaskTracker,
    /// The shared live stream the sockets' subscriptions are served from.
    pub live: Live,
}

impl Edge {
    pub fn new(app: App) -> Edge {
        // Renderings of live events: the socket's types and error codes, no admission.
        let render = schema::builder().extension(ErrorCodes).finish();
        Edge {
            admission: Arc::new(Admission::new(&app)),
            schemas: Schemas::new(),
            sockets: TaskTracker::new(),
            live: Live::new(app.clone(), render),
            app,
        }
    }
}

/// The HTTP routes of an app with their middleware.
pub fn router(app: App) -> Router {
    routes(Edge::new(app))
}

/// The HTTP routes with their middleware, over an edge.
pub fn routes(edge: Edge) -> Router {
    let config = edge.app.config.clone();
    // The handlers answer a slow request themselves (as a GraphQL error); this is the net
    // under everything else.
    let timeout = config.request_timeout() + Duration::from_secs(5);
    let cors = cors(&config.http.cors_origins);
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql::graphql_get)
                .post(graphql::graphql_post)
                .fallback(graphql::method_not_allowed),
        )
        .route("/graphql/ws", get(ws::graphql_ws))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(
            "/unsubscribe",
            get(unsubscribe::page).post(unsubscribe::one_click),
        );
    if config.http.metrics_bind.is_none() {
        router = router.route("/metrics", get(health::metrics));
    }
    if config.http.graphiql {
        router = router.route("/graphiql/{file}", get(graphiql::asset));
    }
    router
        .with_state(edge)
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
pub fn metrics_router(edge: Edge) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(edge)
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
