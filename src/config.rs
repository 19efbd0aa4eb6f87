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

    /// Seconds a database statement (PostgreSQL) or lock wait (SQLite) may take, and the
    /// longest wait for a pooled connection.
    #[arg(long, env = "TIER3_DB_TIMEOUT", default_value_t = 10, global = true)]
    pub db_timeout_secs: u64,

    /// Milliseconds between looks at the event log when nothing announced a commit: the
    /// most a lost wake-up (or a write from outside tier3) delays live delivery.
    #[arg(
        long,
        env = "TIER3_EVENT_POLL_MS",
        default_value_t = 500,
        global = true
    )]
    pub event_poll_ms: u64,

    /// A JWKS file (`{"keys": [...]}`) of verification keys chosen by the token's `kid`;
    /// re-read when it changes, so keys rotate without a restart.
    #[arg(long, env = "JWT_JWKS_FILE", global = true)]
    pub jwt_jwks_file: Option<PathBuf>,

    /// A JWKS URL (an identity provider's `jwks_uri`), fetched at start and refreshed on a
    /// schedule and when a token names an unknown `kid`.
    #[arg(long, env = "JWT_JWKS_URL", global = true)]
    pub jwt_jwks_url: Option<String>,

    /// Seconds between JWKS URL refreshes.
    #[arg(long, env = "JWT_JWKS_REFRESH", default_value_t = 300, global = true)]
    pub jwt_jwks_refresh_secs: u64,

    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    #[arg(long, env = "JWT_LEEWAY", default_value_t = 60, global = true)]
    pub jwt_leeway_secs: u64,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub rate: RateLimits,

    #[command(flatten)]
    pub sockets: SocketLimits,

    #[command(flatten)]
    pub http: HttpOptions,

    #[command(flatten)]
    pub notify: NotifyOptions,
}

/// What one GraphQL request may ask for. Checked on the parsed document before validation,
/// resolvers or SQL; the defaults admit every query a frontend needs and GraphiQL's
/// introspection query.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Deepest field nesting.
    #[arg(long, env = "TIER3_MAX_DEPTH", default_value_t = 16, global = true)]
    pub max_depth: usize,

    /// Most nodes a query may return: every connection counts `first` (default 20) times
    /// what it contains, as GitHub's node limit does.
    #[arg(
        long,
        env = "TIER3_MAX_COMPLEXITY",
        default_value_t = 50_000,
        global = true
    )]
    pub max_complexity: usize,

    /// Most aliased fields in one document.
    #[arg(long, env = "TIER3_MAX_ALIASES", default_value_t = 100, global = true)]
    pub max_aliases: usize,

    /// Most directives on one field or fragment.
    #[arg(long, env = "TIER3_MAX_DIRECTIVES", default_value_t = 4, global = true)]
    pub max_directives: usize,

    /// Most fields written in one document (before fragments are expanded).
    #[arg(long, env = "TIER3_MAX_FIELDS", default_value_t = 1_000, global = true)]
    pub max_fields: usize,

    /// Most operations in one batch (a JSON array of requests).
    #[arg(long, env = "TIER3_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,

    /// Largest request body, in bytes.
    #[arg(long, env = "TIER3_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 16,
            max_complexity: 50_000,
            max_aliases: 100,
            max_directives: 4,
            max_fields: 1_000,
            max_batch: 10,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Rate limits: points per window, per user (per IP address for anonymous callers). A
/// request costs one point per 100 nodes it may return, at least one.
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimits {
    /// Points a signed-in user may spend per window (0: no limit).
    #[arg(long, env = "TIER3_RATE_LIMIT", default_value_t = 1_000, global = true)]
    pub rate_limit: u32,

    /// Points an anonymous caller (per IP address) may spend per window (0: no limit).
    #[arg(
        long,
        env = "TIER3_RATE_LIMIT_ANONYMOUS",
        default_value_t = 300,
        global = true
    )]
    pub rate_limit_anonymous: u32,

    /// Length of a rate-limit window, in seconds.
    #[arg(
        long,
        env = "TIER3_RATE_LIMIT_WINDOW",
        default_value_t = 60,
        global = true
    )]
    pub rate_limit_window_secs: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            rate_limit: 1_000,
            rate_limit_anonymous: 300,
            rate_limit_window_secs: 60,
        }
    }
}

/// How many WebSockets and subscriptions one client may hold open. Counted in memory, per
/// server process: behind a load balancer each replica counts its own sockets. A client is
/// its address as the server sees it (the peer of the TCP connection).
#[derive(Debug, Clone, clap::Args)]
pub struct SocketLimits {
    /// Open WebSockets per signed-in user (0: no limit): a browser's tabs, a phone, a script.
    #[arg(
        long,
        env = "TIER3_MAX_SOCKETS_PER_USER",
        default_value_t = SocketLimits::PER_USER,
        global = true
    )]
    pub max_sockets_per_user: usize,

    /// Open WebSockets per client address, signed in or not (0: no limit): an office behind
    /// one NAT. Behind a proxy every socket has the proxy's address: raise it or set 0.
    #[arg(
        long,
        env = "TIER3_MAX_SOCKETS_PER_ADDRESS",
        default_value_t = SocketLimits::PER_ADDRESS,
        global = true
    )]
    pub max_sockets_per_address: usize,

    /// Operations running at once on one WebSocket (0: no limit): its subscriptions, and
    /// any query or mutation still being answered.
    #[arg(
        long,
        env = "TIER3_MAX_SUBSCRIPTIONS_PER_SOCKET",
        default_value_t = SocketLimits::PER_SOCKET,
        global = true
    )]
    pub max_subscriptions_per_socket: usize,
}

impl SocketLimits {
    /// Default sockets per user: a browser with a few tabs open, each with its own socket,
    /// and some to spare.
    pub const PER_USER: usize = 16;
    /// Default sockets per address: a few hundred people behind one office NAT.
    pub const PER_ADDRESS: usize = 500;
    /// Default operations per socket: a frontend keeps a handful of subscriptions open.
    pub const PER_SOCKET: usize = 20;
}

impl Default for SocketLimits {
    fn default() -> Self {
        SocketLimits {
            max_sockets_per_user: SocketLimits::PER_USER,
            max_sockets_per_address: SocketLimits::PER_ADDRESS,
            max_subscriptions_per_socket: SocketLimits::PER_SOCKET,
        }
    }
}

/// What the HTTP side exposes.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpOptions {
    /// Browser origins allowed to call the API (comma-separated, or `*`). Default: none,
    /// so only same-origin pages and non-browser clients can.
    #[arg(long, env = "TIER3_CORS_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_origins: Vec<String>,

    /// Serve GraphiQL at `GET /graphql` (turn off in production).
    #[arg(
        long,
        env = "TIER3_GRAPHIQL",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub graphiql: bool,

    /// Answer introspection queries (turn off in production).
    #[arg(
        long,
        env = "TIER3_INTROSPECTION",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub introspection: bool,

    /// Serve `/metrics` on this address instead of the API's (keeps it off the internet).
    #[arg(long, env = "TIER3_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            cors_origins: Vec::new(),
            graphiql: true,
            introspection: true,
            metrics_bind: None,
        }
    }
}

/// Where mail and webhooks go, and how hard delivery tries.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyOptions {
    /// SMTP server for mail: `smtp://host:port` (plain), `smtp://user:pass@host:587?tls=starttls`,
    /// `smtps://host:465` (implicit TLS). Unset: mail is written as `.eml` files under
    /// `<data dir>/mail/` and nothing is sent.
    #[arg(long, env = "TIER3_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<Secret<String>>,

    /// The `From` of every mail.
    #[arg(
        long,
        env = "TIER3_MAIL_FROM",
        default_value = NotifyOptions::FROM,
        global = true
    )]
    pub mail_from: String,

    /// Base of the links in mail (the frontend's address in production).
    #[arg(
        long,
        env = "TIER3_PUBLIC_URL",
        default_value = NotifyOptions::PUBLIC_URL,
        global = true
    )]
    pub public_url: String,

    /// PEM file with the private key (RSA or Ed25519) that DKIM-signs mail, when set.
    #[arg(
        long,
        env = "TIER3_DKIM_KEY",
        global = true,
        requires = "dkim_selector"
    )]
    pub dkim_key: Option<PathBuf>,

    /// The DKIM selector published in DNS (`<selector>._domainkey.<domain>`).
    #[arg(long, env = "TIER3_DKIM_SELECTOR", global = true)]
    pub dkim_selector: Option<String>,

    /// Let webhook endpoints point at private, loopback and link-local addresses (a lab, or
    /// an integration inside the same network).
    #[arg(
        long,
        env = "TIER3_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub webhook_allow_private: bool,

    /// Seconds a worker holds the deliveries it claimed before another replica may take
    /// them over (a crashed replica's claims are retried after this).
    #[arg(
        long,
        env = "TIER3_DELIVERY_LEASE",
        default_value_t = 120,
        global = true
    )]
    pub delivery_lease_secs: u64,

    /// Multiplies every retry delay (1.0 in production; drills and tests shorten it).
    #[arg(
        long,
        env = "TIER3_DELIVERY_BACKOFF_SCALE",
        default_value_t = 1.0,
        global = true
    )]
    pub delivery_backoff_scale: f64,

    /// Run the courier (the delivery planner and workers) in this process; `false` when
    /// other replicas send (and for `tier3 seed`, whose history mails nobody).
    #[arg(
        long,
        env = "TIER3_DELIVERY_WORKER",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub delivery_worker: bool,
}

impl NotifyOptions {
    pub const FROM: &'static str = "tier3 <no-reply@localhost>";
    pub const PUBLIC_URL: &'static str = "http://127.0.0.1:8000";
}

impl Default for NotifyOptions {
    fn default() -> Self {
        NotifyOptions {
            smtp_url: None,
            mail_from: NotifyOptions::FROM.into(),
            public_url: NotifyOptions::PUBLIC_URL.into(),
            dkim_key: None,
            dkim_selector: None,
            webhook_allow_private: false,
            delivery_lease_secs: 120,
            delivery_backoff_scale: 1.0,
            delivery_worker: true,
        }
    }
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
            db_timeout_secs: 10,
            event_poll_ms: 500,
            jwt_jwks_file: None,
            jwt_jwks_url: None,
            jwt_jwks_refresh_secs: 300,
            jwt_leeway_secs: 60,
            limits: Limits::default(),
            rate: RateLimits::default(),
            sockets: SocketLimits::default(),
            http: HttpOptions::default(),
            notify: NotifyOptions::default(),
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

    /// Where mail goes when no SMTP server is configured.
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// Request timeout as a `Duration`.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// Database statement and pool-wait timeout as a `Duration`.
    pub fn db_timeout(&self) -> Duration {
        Duration::from_secs(self.db_timeout_secs)
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
