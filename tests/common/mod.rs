//! Test harness: a real tier3 over a real database — a temp-file SQLite per test, or, when
//! `TIER3_TEST_DATABASE_URL` is set, a fresh PostgreSQL database `tier3_test_<uuid>` per
//! test (dropped when the test ends).
//!
//! - [`TestApp`] is a server on `127.0.0.1:0` with an HTTP client; its workflow steps
//!   (`create_ticket`, `escalate`, `triage`, `ship`, …) live in [`steps`], so a test reads
//!   as the story it tells.
//! - [`Local`] is the same application without a socket: for calling the domain services
//!   directly, or the router in-process with `tower::ServiceExt::oneshot`.
//! - [`ids`] builds global ids and cursors, and the made-up ids of "unknown" cases.
//! - [`expect`] holds the visibility assertions ("invisible answers like nonexistent").
//! - [`ws`] is a graphql-transport-ws client.
//! - [`smtp`] is a real SMTP server that keeps what it receives, and a reader for it.
// Each test file compiles its own copy of this module and uses a part of it.
#![allow(dead_code)]

pub mod expect;
pub mod ids;
pub mod smtp;
pub mod steps;
pub mod ws;

use std::{
    future::Future,
    io::Write as _,
    net::SocketAddr,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{StatusCode, header::HeaderMap};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tier3::{
    App, Config, Server,
    auth::{Claims, Keys},
};

// Each test binary uses some of these.
#[allow(unused_imports)]
pub use {
    expect::*,
    ids::*,
    ws::{Refused, Ws, WsEvent, connect_ws, try_connect_ws},
};

/// The HS256 secret every test application verifies with.
pub const SECRET: &str = "test-secret-0123456789abcdef";

/// The variable that points the suite at PostgreSQL.
pub const POSTGRES_VAR: &str = "TIER3_TEST_DATABASE_URL";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn init_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug,sqlx=warn"))
                .with_test_writer()
                .try_init();
        }
    });
}

// ---------------------------------------------------------------------------------------
// Which database the suite runs on.

/// The PostgreSQL server URL the suite runs against, if `TIER3_TEST_DATABASE_URL` is set.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_VAR).ok().filter(|v| !v.is_empty())
}

/// Says, where `cargo test` shows it, that a test did not run its body.
///
/// Written to the process's stderr directly: libtest captures `println!`/`eprintln!` of
/// passing tests, so a skip reported that way would be invisible and the test would look
/// like it had passed for real.
pub fn report_skip(test: &str, why: &str) {
    let line = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// For a test that needs PostgreSQL: `true` when it can run; otherwise it reports the
/// skip and returns `false`. Use as `if !common::needs_postgres("name") { return; }`.
pub fn needs_postgres(test: &str) -> bool {
    if postgres_url().is_some() {
        return true;
    }
    report_skip(
        test,
        &format!("needs PostgreSQL (set {POSTGRES_VAR}=postgres://…)"),
    );
    false
}

/// For a test whose subject has nothing to do with the database and that runs once, on
/// SQLite: `false` (and the skip reported) on a PostgreSQL run.
pub fn runs_on_sqlite_only(test: &str, why: &str) -> bool {
    if postgres_url().is_none() {
        return true;
    }
    report_skip(test, &format!("runs on the SQLite pass only ({why})"));
    false
}

/// Polls `check` every 200 ms until it holds, for at most `secs`; whether it ever did.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// The (tx, id) positions of every event after `after`, in log order.
pub async fn log_after(db: &DatabaseConnection, after: (i64, i64)) -> Vec<(i64, i64)> {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT tx, id FROM event WHERE (tx, id) > ($1, $2) ORDER BY tx, id",
            [after.0.into(), after.1.into()],
        ))
        .await
        .expect("read the log");
    rows.iter()
        .map(|r| (r.try_get("", "tx").unwrap(), r.try_get("", "id").unwrap()))
        .collect()
}

/// The real `tier3 serve` binary as a child process on a free loopback port, with a data
/// directory of its own and the test secret; `env` adds or overrides variables (an empty
/// value removes one). Killed when dropped.
pub struct Process {
    pub child: tokio::process::Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Process {
    /// Starts it and waits (up to 30 s) until `/healthz` answers.
    pub async fn start(env: &[(&str, &str)]) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tier3"));
        cmd.arg("serve")
            .env("TIER3_BIND", format!("127.0.0.1:{port}"))
            .env("TIER3_DATA_DIR", dir.path())
            .env("JWT_SECRET", SECRET)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        for (key, value) in env {
            if value.is_empty() {
                cmd.env_remove(key);
            } else {
                cmd.env(key, value);
            }
        }
        let child = cmd.spawn().unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let client = reqwest::Client::new();
        let up = eventually(30, || async {
            client
                .get(format!("http://{addr}/healthz"))
                .send()
                .await
                .is_ok()
        })
        .await;
        assert!(up, "the server process started");
        Process {
            child,
            addr,
            _dir: dir,
        }
    }

    /// Sends it a signal by name (`"TERM"`, `"KILL"`).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let sent = std::process::Command::new("kill")
            .args([format!("-{name}"), pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    }
}

// ---------------------------------------------------------------------------------------
// A database per test.

/// A database made for one test.
struct TestDb {
    url: String,
    /// (admin URL, database name) for PostgreSQL, dropped at the end.
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
    /// The server's data directory (mail written as `.eml` files lands in `mail/` here).
    data: tempfile::TempDir,
}

impl TestDb {
    async fn create() -> TestDb {
        match postgres_url() {
            Some(admin) => {
                let name = format!("tier3_test_{}", uuid::Uuid::new_v4().simple());
                let conn = Database::connect(&admin)
                    .await
                    .expect("connect TIER3_TEST_DATABASE_URL");
                conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                TestDb {
                    url: replace_db(&admin, &name),
                    pg: Some((admin, name)),
                    _dir: None,
                    data: tempfile::tempdir().expect("tempdir"),
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("tempdir");
                TestDb {
                    url: format!(
                        "sqlite://{}?mode=rwc",
                        dir.path().join("tier3.db").display()
                    ),
                    pg: None,
                    _dir: Some(dir),
                    data: tempfile::tempdir().expect("tempdir"),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside any runtime we may block: use a small one on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(conn) = Database::connect(&admin).await {
                            let _ = conn
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                            let _ = conn.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// Swaps the database name of a PostgreSQL URL.
fn replace_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The test configuration for a database: the test secret, and rate limits out of the way
/// (suites send far more than a person would; rate limits get their own tests), and the
/// event poll slowed to a minute: statement counts then see only the request's own, and a
/// lost wake-up shows as a stalled test instead of being papered over (the poll has its own
/// tests).
fn test_config(db: &TestDb, adjust: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::for_database(db.url.clone(), SECRET);
    config.data_dir = db.data.path().to_path_buf();
    config.rate.rate_limit = 1_000_000;
    config.rate.rate_limit_anonymous = 1_000_000;
    config.event_poll_ms = 60_000;
    adjust(&mut config);
    config
}

/// Counts rows of a table (or of any `FROM` clause) straight from the database.
pub async fn count_rows_in(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

/// Claims for a user, valid for an hour.
pub fn claims(sub: &str, role: &str, org: Option<&str>) -> Claims {
    Claims {
        sub: sub.into(),
        role: role.into(),
        org: org.map(Into::into),
        email: Some(format!("{sub}@example.com")),
        name: Some(format!("Name of {sub}")),
        exp: jsonwebtoken::get_current_timestamp() + 3600,
        iss: None,
        aud: None,
    }
}

/// A `sub` no other test user has.
pub fn unique_sub(role: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{role}-{n}-{}", uuid::Uuid::new_v4().simple())
}

/// `Bearer <token>`, for requests that set the `Authorization` header themselves.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

// ---------------------------------------------------------------------------------------
// The application without a server.

/// The application over a fresh test database, with no socket: call the domain services
/// with `app.db` and `app.bus`, or drive [`Local::router`] with `oneshot`.
pub struct Local {
    pub app: App,
    keys: Keys,
    _db: TestDb,
}

impl Local {
    /// With the default test configuration.
    pub async fn new() -> Local {
        Self::with(|_| {}).await
    }

    /// With a configuration the test adjusts first.
    pub async fn with(adjust: impl FnOnce(&mut Config)) -> Local {
        init_tracing();
        let db = TestDb::create().await;
        let config = test_config(&db, adjust);
        let conn = tier3::db::connect(&config).await.expect("connect");
        tier3::db::migrate(&conn).await.expect("migrate");
        let keys = Keys::from_config(&config).expect("keys");
        let app = App::with_db(config, conn).expect("app");
        Local { app, keys, _db: db }
    }

    /// The HTTP routes with their middleware, as the server runs them.
    pub fn router(&self) -> axum::Router {
        tier3::router(self.app.clone())
    }

    /// Signs claims with the application's key.
    pub fn sign(&self, claims: &Claims) -> String {
        self.keys.sign(claims).expect("sign")
    }

    /// Counts rows of a table straight from the database.
    pub async fn count_rows(&self, table: &str) -> i64 {
        count_rows_in(&self.app.db, table).await
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Stops the event publisher (and listener) before the database goes away.
        self.app.shutdown.cancel();
    }
}

// ---------------------------------------------------------------------------------------
// A running server.

/// A signed-in test user: their token and global id.
#[derive(Clone, Debug)]
pub struct User {
    pub sub: String,
    pub token: String,
    pub id: String,
    pub role: &'static str,
    pub org: Option<String>,
}

/// A running tier3 server and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub app: App,
    pub client: reqwest::Client,
    /// SQL statements run so far on the server's connection.
    pub statements: Arc<AtomicUsize>,
    /// The last statements run (for debugging query-count tests).
    pub log: Arc<Mutex<Vec<String>>>,
    keys: Keys,
    config: Config,
    db: Arc<TestDb>,
}

impl TestApp {
    /// A server with the default test configuration.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose configuration the test adjusts first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        init_tracing();
        let db = Arc::new(TestDb::create().await);
        let config = test_config(&db, adjust);
        Self::start(config, db).await
    }

    /// Starts a server on an existing test database.
    async fn start(config: Config, db: Arc<TestDb>) -> TestApp {
        let mut conn = tier3::db::connect(&config).await.expect("connect");
        tier3::db::migrate(&conn).await.expect("migrate");
        // As `App::build` does: SQLite's read pool beside the writer.
        let mut reader = tier3::db::connect_readers(&config).await.expect("readers");
        let statements = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        for conn in std::iter::once(&mut conn).chain(reader.as_mut()) {
            let (statements, log) = (statements.clone(), log.clone());
            conn.set_metric_callback(move |info| {
                statements.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut l) = log.lock() {
                    l.push(info.statement.to_string());
                }
            });
        }
        let keys = Keys::from_config(&config).expect("keys");
        let mut app = App::with_db(config.clone(), conn).expect("app");
        if let Some(reader) = reader {
            app = app.with_reader(reader);
        }
        let server = Server::bind(app.clone()).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        tokio::spawn(server.run());
        TestApp {
            addr,
            app,
            client: reqwest::Client::new(),
            statements,
            log,
            keys,
            config,
            db,
        }
    }

    /// Waits (up to 5 s) until the server's own background reads are done: every committed
    /// event published by its bus, and no statement run for 100 ms. Statement counts taken
    /// after this are the request's alone, not the publisher catching up on the setup's
    /// writes.
    pub async fn quiesce(&self) {
        let latest = self.latest_position().await;
        let settled = eventually(5, || async {
            let before = self.statements.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.app.bus.watermark() >= Some(latest)
                && self.statements.load(Ordering::SeqCst) == before
        })
        .await;
        assert!(settled, "the server did not settle within 5 s");
    }

    /// The newest position in the event log (committed rows; `START` when empty).
    pub async fn latest_position(&self) -> tier3::events::Position {
        self.app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.app.db.get_database_backend(),
                "SELECT tx, id FROM event ORDER BY tx DESC, id DESC LIMIT 1",
            ))
            .await
            .expect("latest event")
            .map(|row| tier3::events::Position {
                tx: row.try_get("", "tx").unwrap(),
                id: row.try_get("", "id").unwrap(),
            })
            .unwrap_or_default()
    }

    /// Waits (up to 5 s) until this server has at least `n` live subscription feeds, so a
    /// test's next change is sure to reach them.
    pub async fn wait_subscribers(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.app.bus.active_feeds() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} subscribers",
                self.app.bus.active_feeds()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Another tier3 process on the same database (a replica behind a load balancer).
    pub async fn replica(&self) -> TestApp {
        Self::start(self.config.clone(), self.db.clone()).await
    }

    /// Stops this server (graceful shutdown) and starts a fresh one on the same database.
    pub async fn restart(self) -> TestApp {
        self.app.shutdown.cancel();
        let _ = self.app.db.clone().close().await;
        Self::start(self.config.clone(), self.db.clone()).await
    }

    /// Where this server writes mail when no SMTP server is configured.
    pub fn mail_dir(&self) -> std::path::PathBuf {
        self.config.mail_dir()
    }

    /// `http://127.0.0.1:port` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Signs arbitrary claims with the server's key.
    pub fn sign(&self, claims: &Claims) -> String {
        self.keys.sign(claims).expect("sign")
    }

    /// Claims for a user, valid for an hour (see [`claims`]).
    pub fn claims(sub: &str, role: &str, org: Option<&str>) -> Claims {
        claims(sub, role, org)
    }

    /// Signs in a new user with this role (provisioning them) and returns them.
    pub async fn user(&self, role: &'static str, org: Option<&str>) -> User {
        self.sign_in(&claims(&unique_sub(role), role, org)).await
    }

    /// Signs in whoever these claims name (provisioning them on first sight).
    pub async fn sign_in(&self, claims: &Claims) -> User {
        let token = self.sign(claims);
        let res = self
            .gql_token(Some(&token), "{ viewer { id } }", json!({}))
            .await;
        let id = res["data"]["viewer"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("viewer id for {}: {res}", claims.sub))
            .to_owned();
        let role = match claims.role.as_str() {
            "customer" => "customer",
            "agent" => "agent",
            "developer" => "developer",
            "triage_lead" => "triage_lead",
            "admin" => "admin",
            other => panic!("not a role: {other}"),
        };
        User {
            sub: claims.sub.clone(),
            token,
            id,
            role,
            org: claims.org.clone(),
        }
    }

    pub async fn customer(&self, org: &str) -> User {
        self.user("customer", Some(org)).await
    }
    pub async fn agent(&self) -> User {
        self.user("agent", None).await
    }
    pub async fn developer(&self) -> User {
        self.user("developer", None).await
    }
    pub async fn triage_lead(&self) -> User {
        self.user("triage_lead", None).await
    }
    pub async fn admin(&self) -> User {
        self.user("admin", None).await
    }

    /// POSTs a GraphQL request; returns the status and the JSON body.
    pub async fn post(&self, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let (status, _, json) = self
            .post_raw(
                token.map(bearer).as_deref(),
                serde_json::to_vec(&body).expect("json"),
            )
            .await;
        (status, json)
    }

    /// POSTs raw bytes as `application/json` with this exact `Authorization` header (or
    /// none); returns the status, the headers and the JSON body (or the text as a string).
    pub async fn post_raw(
        &self,
        authorization: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        let res = req.send().await.expect("request");
        let (status, headers) = (res.status(), res.headers().clone());
        let text = res.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, json)
    }

    /// The Prometheus exposition from `/metrics`.
    pub async fn metrics_text(&self) -> String {
        let res = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics");
        res.text().await.expect("metrics body")
    }

    /// Runs a query as `user` (or anonymously) and returns the body.
    pub async fn gql(&self, user: Option<&User>, query: &str, variables: Value) -> Value {
        self.gql_token(user.map(|u| u.token.as_str()), query, variables)
            .await
    }

    /// Runs a query with a raw token.
    pub async fn gql_token(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.post(token, json!({ "query": query, "variables": variables }))
            .await
            .1
    }

    /// Counts rows of a table straight from the database (to prove nothing changed).
    pub async fn count_rows(&self, table: &str) -> i64 {
        count_rows_in(&self.app.db, table).await
    }

    /// Counts the rows of several tables at once, in order.
    pub async fn rows<const N: usize>(&self, tables: [&str; N]) -> [i64; N] {
        let mut counts = [0; N];
        for (count, table) in counts.iter_mut().zip(tables) {
            *count = self.count_rows(table).await;
        }
        counts
    }
}

/// The first error's `extensions.code`, or "" if none.
pub fn code(res: &Value) -> &str {
    res["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// Asserts a response has no errors and returns its data.
#[track_caller]
pub fn data(res: &Value) -> &Value {
    assert!(res["errors"].is_null(), "unexpected errors: {res}");
    &res["data"]
}
