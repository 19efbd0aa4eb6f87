//! The application's parts: the database, keys, configuration, the event bus, the identity
//! cache, rate-limit budgets, open-socket counts and telemetry. What serves it over HTTP is `crate::http`;
//! nothing here knows of GraphQL or HTTP.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{Identities, Keys},
    config::Config,
    courier::Courier,
    db,
    events::EventBus,
    metrics::Metrics,
    outbound::mail::Mailer,
    ratelimit::{OpenSockets, RateLimiter},
};

/// Everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct App {
    /// Where writes (and everything but GraphQL queries) go: on SQLite the one writer.
    pub db: DatabaseConnection,
    /// Where GraphQL query operations read (`App::for_reads`): on SQLite a pool of read-only
    /// connections beside the writer, so reads never queue behind it; elsewhere `db` itself.
    pub reader: DatabaseConnection,
    pub keys: Arc<Keys>,
    pub config: Arc<Config>,
    pub bus: EventBus,
    pub metrics: Arc<Metrics>,
    /// Every caller's rate-limit budget, shared by every router and socket of the process.
    pub rate: Arc<RateLimiter>,
    /// Open WebSockets per user and per address, shared like the budgets.
    pub open_sockets: Arc<OpenSockets>,
    /// Recently provisioned identities (see `http::identity`).
    pub identities: Arc<Identities>,
    /// Cancelled on shutdown; ends long-lived work.
    pub shutdown: CancellationToken,
}

impl App {
    /// Connects to the configured database, migrates it, and loads the keys.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let conn = db::connect(&config).await?;
        db::migrate(&conn).await?;
        let reader = db::connect_readers(&config).await?;
        let mut app = App::with_db(config, conn)?;
        if let Some(reader) = reader {
            app = app.with_reader(reader);
        }
        app.keys.refresh_remote().await;
        Ok(app)
    }

    /// Assembles the app around an existing (migrated) connection and starts its event
    /// publisher (and, on PostgreSQL, the cross-replica listener) and its courier (mail and
    /// webhooks). Fails on settings that cannot work (an SMTP URL that does not parse).
    /// Needs a Tokio runtime.
    pub fn with_db(config: Config, db: DatabaseConnection) -> anyhow::Result<App> {
        let keys = Arc::new(Keys::from_config(&config)?);
        let shutdown = CancellationToken::new();
        tokio::spawn(keys.clone().watch(
            std::time::Duration::from_secs(config.jwt_jwks_refresh_secs),
            shutdown.clone(),
        ));
        let bus = EventBus::new(std::time::Duration::from_millis(
            config.event_poll_ms.max(1),
        ));
        if db::is_postgres(&db) {
            use crate::events::postgres;
            tokio::spawn(postgres::listen(db.clone(), bus.clone(), shutdown.clone()));
            tokio::spawn(postgres::hint(db.clone(), bus.clone(), shutdown.clone()));
        }
        tokio::spawn(bus.clone().run_publisher(db.clone(), shutdown.clone()));
        let metrics = Arc::new(Metrics::new());
        let mailer = Mailer::from_options(&config.notify, &config.mail_dir())?;
        if config.notify.delivery_worker {
            let (db, bus, config, metrics, shutdown) = (
                db.clone(),
                bus.clone(),
                config.clone(),
                metrics.clone(),
                shutdown.clone(),
            );
            tokio::spawn(async move {
                let db = courier_pool(&config, db).await;
                Courier::new(db, mailer, &config, metrics).spawn(&bus, shutdown);
            });
        }
        Ok(App {
            reader: db.clone(),
            db,
            keys,
            bus,
            metrics,
            rate: Arc::new(RateLimiter::new(&config.rate)),
            open_sockets: Arc::new(OpenSockets::new(&config.sockets)),
            identities: Arc::default(),
            config: Arc::new(config),
            shutdown,
        })
    }
}

impl App {
    /// The same app reading through `reader`.
    pub fn with_reader(self, reader: DatabaseConnection) -> App {
        App { reader, ..self }
    }

    /// The app a read-only operation (a GraphQL query) runs with: `db` is the read pool, so
    /// every resolver and loader under it reads there without knowing.
    pub fn for_reads(&self) -> App {
        App {
            db: self.reader.clone(),
            ..self.clone()
        }
    }
}

/// Connections the courier has to itself on PostgreSQL.
const COURIER_POOL: u32 = 4;

/// The courier's database handle. On PostgreSQL a small pool of its own: a busy API would
/// otherwise keep every pooled connection and starve delivery (claims timed out waiting for
/// one under the benchmark's read load), and a large mailing cannot take the API's
/// connections either. SQLite shares its one writer connection.
async fn courier_pool(config: &Config, api: DatabaseConnection) -> DatabaseConnection {
    if !db::is_postgres(&api) {
        return api;
    }
    let mut own = config.clone();
    own.db_pool = COURIER_POOL;
    match db::connect(&own).await {
        Ok(conn) => conn,
        Err(err) => {
            tracing::warn!(error = %err, "courier pool unavailable; sharing the API's");
            api
        }
    }
}
