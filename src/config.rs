//! Configuration: environment variables, overridden by flags. Tests build values directly.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

/// A value that must never appear in logs or `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(pub T);

impl<T> Secret<T> {
    /// The wrapped value; call only where it is used, never to print it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret<String> {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Server configuration shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    /// Default: the embedded SQLite file `<data dir>/tier3.db`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Address to listen on (port 0 picks a free one).
    #[arg(
        long,
        env = "TIER3_BIND",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub bind: SocketAddr,

    /// Directory for the embedded database and the generated development secret.
    #[arg(long, env = "TIER3_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// HS256 shared secret for verifying (and minting) tokens.
    #[arg(long, env = "JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<Secret<String>>,

    /// PEM file with the public key that verifies tokens (RS256, ES256 or EdDSA, by key type).
    #[arg(
        long,
        env = "JWT_PUBLIC_KEY",
        global = true,
        conflicts_with = "jwt_secret"
    )]
    pub jwt_public_key: Option<PathBuf>,

    /// PEM file with the matching private key; only `tier3 token` uses it.
    #[arg(long, env = "JWT_PRIVATE_KEY", global = true)]
    pub jwt_private_key: Option<PathBuf>,

    /// Required `iss` claim, when set.
    #[arg(long, env = "JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim, when set.
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// Largest database connection pool (PostgreSQL; SQLite uses one writer connection).
    #[arg(long, env = "TIER3_DB_POOL", default_value_t = 16, global = true)]
    pub db_pool: u32,

    /// Log format: `text` (human) or `json` (one object per line, for log shippers).
    #[arg(long, env = "TIER3_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,

    /// Milliseconds a DataLoader waits to gather keys into one batch.
    #[arg(
        long,
        env = "TIER3_LOADER_DELAY_MS",
        default_value_t = 1,
        global = true
    )]
    pub loader_delay_ms: u64,

    /// Seconds a request may take before it is answered with a timeout.
    #[arg(
        long,
        env = "TIER3_REQUEST_TIMEOUT",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// Seconds to let in-flight requests finish after SIGTERM / Ctrl-C.
    #[arg(
        long,
        env = "TIER3_SHUTDOWN_GRACE",
        default_value_t = 10,
        global = true
    )]
    pub shutdown_grace_secs: u64,
}

impl Config {
    /// A configuration for tests and tools: everything default, the given database and secret.
    pub fn for_database(database_url: impl Into<String>, jwt_secret: impl Into<String>) -> Self {
        Config {
            database_url: Some(database_url.into()),
            bind: "127.0.0.1:0".parse().expect("static address"),
            data_dir: PathBuf::from("./data"),
            jwt_secret: Some(Secret(jwt_secret.into())),
            jwt_public_key: None,
            jwt_private_key: None,
            jwt_issuer: None,
            jwt_audience: None,
            db_pool: 8,
            loader_delay_ms: 1,
            log_format: LogFormat::Text,
            request_timeout_secs: 30,
            shutdown_grace_secs: 10,
        }
    }

    /// The database URL, defaulting to the embedded SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tier3.db").display()
            ),
        }
    }

    /// Whether the embedded default (no `DATABASE_URL`) is in use.
    pub fn uses_default_database(&self) -> bool {
        self.database_url.is_none()
    }

    /// Request timeout as a `Duration`.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Shutdown grace period as a `Duration`.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret("hunter2".to_string());
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let c = Config::for_database("sqlite::memory:", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
