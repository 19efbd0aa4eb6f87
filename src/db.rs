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
