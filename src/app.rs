//! The application: its parts, and serving it.

use std::{net::SocketAddr, sync::Arc};

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::{Keys, edge::Identities},
    config::Config,
    db,
    events::EventBus,
    graphql::{self, AppSchema},
    metrics::Metrics,
    ratelimit::RateLimiter,
};

/// Everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub db: DatabaseConnection,
    pub keys: Arc<Keys>,
    pub config: Arc<Config>,
    pub bus: EventBus,
    /// The schema HTTP requests run on (guarded by the handler).
    pub schema: AppSchema,
    /// The schema WebSocket operations run on (guarded by its extensions).
    pub ws_schema: AppSchema,
    pub metrics: Arc<Metrics>,
    pub rate: Arc<RateLimiter>,
    /// Open WebSockets, so shutdown can wait for their close frames to go out.
    pub sockets: TaskTracker,
    /// Recently provisioned identities (see `auth::edge`).
    pub identities: Arc<Identities>,
    /// Cancelled on shutdown; ends long-lived work.
    pub shutdown: CancellationToken,
}

impl App {
    /// Connects to the configured database, migrates it, and loads the keys.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let conn = db::connect(&config).await?;
        db::migrate(&conn).await?;
        let app = App::with_db(config, conn)?;
        app.keys.refresh_remote().await;
        Ok(app)
    }

    /// Assembles the app around an existing (migrated) connection and starts its event
    /// publisher (and, on PostgreSQL, the cross-replica listener). Needs a Tokio runtime.
    pub fn with_db(config: Config, db: DatabaseConnection) -> anyhow::Result<App> {
        let keys = Arc::new(Keys::from_config(&config)?);
        let shutdown = CancellationToken::new();
        tokio::spawn(keys.clone().watch(
            std::time::Duration::from_secs(config.jwt_jwks_refresh_secs),
            shutdown.clone(),
        ));
        let bus = if db::is_postgres(&db) {
            let bus = EventBus::via_listener();
            tokio::spawn(crate::events::postgres::listen(
                db.clone(),
                bus.clone(),
                shutdown.clone(),
            ));
            bus
        } else {
            EventBus::local()
        };
        tokio::spawn(bus.clone().run_publisher(db.clone(), shutdown.clone()));
        Ok(App {
            db,
            keys,
            rate: Arc::new(RateLimiter::new(&config.rate)),
            config: Arc::new(config),
            bus,
            schema: graphql::schema::build_plain(),
            ws_schema: graphql::build(),
            metrics: Arc::new(Metrics::new()),
            identities: Arc::default(),
            sockets: TaskTracker::new(),
            shutdown,
        })
    }
}

/// A bound, not yet running server. Binding first lets callers learn the port (port 0).
pub struct Server {
    app: App,
    listener: TcpListener,
}

impl Server {
    /// Binds the configured address.
    pub async fn bind(app: App) -> std::io::Result<Server> {
        let listener = TcpListener::bind(app.config.bind).await?;
        Ok(Server { app, listener })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `app.shutdown` is cancelled, then lets in-flight requests finish for
    /// at most the configured grace period.
    pub async fn run(self) -> std::io::Result<()> {
        let app = self.app.clone();
        let token = app.shutdown.clone();
        let grace = app.config.shutdown_grace();
        if let Some(addr) = app.config.http.metrics_bind {
            let listener = TcpListener::bind(addr).await?;
            tracing::info!(%addr, "serving /metrics");
            let router = crate::metrics_router(app.clone());
            let token = token.clone();
            tokio::spawn(async move {
                let serve = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { token.cancelled().await });
                if let Err(err) = serve.await {
                    tracing::error!(error = %err, "metrics listener failed");
                }
            });
        }
        let router = crate::router(app.clone());
        let serve = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown({
            let token = token.clone();
            async move { token.cancelled().await }
        });
        let serve = std::pin::pin!(async {
            let res = serve.into_future().await;
            // Upgraded sockets are not the HTTP server's any more: wait for them to send
            // their close frames (1001) before the process goes.
            app.sockets.close();
            app.sockets.wait().await;
            res
        });
        tokio::select! {
            res = serve => res,
            _ = async { token.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(?grace, "grace period over; dropping remaining connections");
                Ok(())
            }
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
