//! Connecting to the database and keeping its schema current.

use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};

use crate::config::Config;

/// Opens the configured database: the embedded SQLite file by default, or PostgreSQL.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = config.database_url();
    if config.uses_default_database() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    }
    let mut opts = ConnectOptions::new(url.clone());
    opts.connect_timeout(Duration::from_secs(5))
        .acquire_timeout(config.db_timeout())
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One connection: SQLite has one writer anyway, and a single connection means
        // transactions never hit SQLITE_BUSY on lock upgrade; it also keeps `sqlite::memory:`
        // a single database.
        opts.max_connections(1).min_connections(1);
        let db_timeout = config.db_timeout();
        opts.map_sqlx_sqlite_opts(move |o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(db_timeout)
                .foreign_keys(true)
        });
    } else {
        // Ping a pooled connection before use only if it sat idle: a ping before every
        // checkout was a second round trip per statement under load, while a connection
        // idle long enough to have been dropped (a restarted server, a proxy's timeout)
        // is still checked before a request relies on it.
        opts.max_connections(config.db_pool.max(2))
            .min_connections(1)
            .test_before_acquire_if_idle_for(Duration::from_secs(1))
            .statement_timeout(config.db_timeout());
    }
    Database::connect(opts)
        .await
        .with_context(|| format!("connecting to {}", redact_url(&url)))
}

/// Read-only connections beside the writer, for an SQLite file: in WAL mode readers never
/// wait for the writer or for each other, where the one connection made every read queue
/// behind every write. `None` for PostgreSQL (its pool serves reads in parallel already)
/// and for an in-memory database (a second connection would be another, empty database).
/// One connection per core, at least two.
pub async fn connect_readers(config: &Config) -> anyhow::Result<Option<DatabaseConnection>> {
    let url = config.database_url();
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let size = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)) as u32;
    let mut opts = ConnectOptions::new(url.clone());
    opts.connect_timeout(Duration::from_secs(5))
        .acquire_timeout(config.db_timeout())
        .max_connections(size)
        .min_connections(1)
        .sqlx_logging(false);
    let db_timeout = config.db_timeout();
    // The journal mode is the file's, set by the writer; a read-only connection may not set it.
    opts.map_sqlx_sqlite_opts(move |o| {
        o.read_only(true)
            .create_if_missing(false)
            .busy_timeout(db_timeout)
    });
    let readers = Database::connect(opts)
        .await
        .with_context(|| format!("opening readers of {}", redact_url(&url)))?;
    Ok(Some(readers))
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running migrations")
}

/// Whether the database answers; `/readyz` uses it.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// Whether this connection is PostgreSQL (fan-out and locking differ).
pub fn is_postgres(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Drops the password from a URL before it is logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/tier3"),
            "postgres://app:***@db:5432/tier3"
        );
        assert_eq!(
            redact_url("postgres://app@db/tier3"),
            "postgres://app@db/tier3"
        );
        assert_eq!(redact_url("sqlite://./data/t.db"), "sqlite://./data/t.db");
    }
}
