//! The application: its parts, and serving it.

use std::{net::SocketAddr, sync::Arc};

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::Keys,
    config::Config,
    db,
    events::EventBus,
    graphql::{self, AppSchema},
};

/// Everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub db: DatabaseConnection,
    pub keys: Arc<Keys>,
    pub config: Arc<Config>,
    pub bus: EventBus,
    pub schema: AppSchema,
    /// Cancelled on shutdown; ends long-lived work.
    pub shutdown: CancellationToken,
}

impl App {
    /// Connects to the configured database, migrates it, and loads the keys.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let conn = db::connect(&config).await?;
        db::migrate(&conn).await?;
        App::with_db(config, conn)
    }

    /// Assembles the app around an existing (migrated) connection and starts its event
    /// publisher (and, on PostgreSQL, the cross-replica listener). Needs a Tokio runtime.
    pub fn with_db(config: Config, db: DatabaseConnection) -> anyhow::Result<App> {
        let keys = Keys::from_config(&config)?;
        let shutdown = CancellationToken::new();
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
            keys: Arc::new(keys),
            config: Arc::new(config),
            bus,
            schema: graphql::build(),
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
        let router = crate::router(app);
        let serve = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown({
            let token = token.clone();
            async move { token.cancelled().await }
        });
        let serve = std::pin::pin!(serve.into_future());
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
