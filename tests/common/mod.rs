//! Test harness: a real tier3 server on 127.0.0.1:0 over a real database — a temp-file
//! SQLite per test, or, when `TIER3_TEST_DATABASE_URL` is set, a fresh PostgreSQL
//! database `tier3_test_<uuid>` per test (dropped when the test ends).
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tier3::{
    App, Config, Server,
    auth::{Claims, Keys},
};

/// The HS256 secret every test server verifies with.
pub const SECRET: &str = "test-secret-0123456789abcdef";

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

/// A signed-in test user: their token and global id.
#[derive(Clone, Debug)]
pub struct User {
    pub sub: String,
    pub token: String,
    pub id: String,
    pub role: &'static str,
    pub org: Option<String>,
}

/// A database made for one test.
struct TestDb {
    url: String,
    /// (admin URL, database name) for PostgreSQL, dropped at the end.
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn create() -> TestDb {
        match std::env::var("TIER3_TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => {
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
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("tempdir");
                TestDb {
                    url: format!(
                        "sqlite://{}?mode=rwc",
                        dir.path().join("tier3.db").display()
                    ),
                    pg: None,
                    _dir: Some(dir),
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
        let mut config = Config::for_database(db.url.clone(), SECRET);
        // Suites send far more than a person would; rate limits get their own tests.
        config.rate.rate_limit = 1_000_000;
        config.rate.rate_limit_anonymous = 1_000_000;
        adjust(&mut config);
        Self::start(config, db).await
    }

    /// Starts a server on an existing test database.
    async fn start(config: Config, db: Arc<TestDb>) -> TestApp {
        let mut conn = tier3::db::connect(&config).await.expect("connect");
        tier3::db::migrate(&conn).await.expect("migrate");
        let statements = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        {
            let (statements, log) = (statements.clone(), log.clone());
            conn.set_metric_callback(move |info| {
                statements.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut l) = log.lock() {
                    l.push(info.statement.to_string());
                }
            });
        }
        let keys = Keys::from_config(&config).expect("keys");
        let app = App::with_db(config.clone(), conn).expect("app");
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

    /// Waits (up to 5 s) until this server has at least `n` live subscription feeds, so a
    /// test's next change is sure to reach them.
    pub async fn wait_subscribers(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.app.bus.active_feeds() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} subscribers",
                self.app.bus.active_feeds()
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
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

    /// `http://127.0.0.1:port` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Signs arbitrary claims with the server's key.
    pub fn sign(&self, claims: &Claims) -> String {
        self.keys.sign(claims).expect("sign")
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

    /// Signs in a new user with this role (provisioning them) and returns them.
    pub async fn user(&self, role: &'static str, org: Option<&str>) -> User {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let sub = format!("{role}-{n}-{}", uuid::Uuid::new_v4().simple());
        let token = self.sign(&Self::claims(&sub, role, org));
        let res = self
            .gql_token(Some(&token), "{ viewer { id } }", json!({}))
            .await;
        let id = res["data"]["viewer"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("viewer id for {sub}: {res}"))
            .to_owned();
        User {
            sub,
            token,
            id,
            role,
            org: org.map(Into::into),
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
        let mut req = self.client.post(self.url("/graphql")).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
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

    /// Opens a ticket as `user`; returns its global id.
    pub async fn create_ticket(&self, user: &User, subject: &str) -> String {
        let res = self
            .gql(
                Some(user),
                "mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticket { id } } }",
                json!({ "i": { "subject": subject, "description": format!("about {subject}") } }),
            )
            .await;
        res["data"]["createTicket"]["ticket"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createTicket: {res}"))
            .to_owned()
    }

    /// Adds a comment as `user`; returns the comment's global id.
    pub async fn comment(&self, user: &User, ticket: &str, body: &str, public: bool) -> String {
        let res = self
            .gql(
                Some(user),
                "mutation($i: AddCommentInput!) { addComment(input: $i) { comment { id } } }",
                json!({ "i": { "ticketId": ticket, "body": body, "public": public } }),
            )
            .await;
        res["data"]["addComment"]["comment"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("addComment: {res}"))
            .to_owned()
    }

    /// Grants organization scope to `user` as a fresh admin.
    pub async fn grant_scope(&self, user: &User) {
        let admin = self.admin().await;
        let res = self
            .gql(
                Some(&admin),
                "mutation($i: GrantOrganizationScopeInput!) { grantOrganizationScope(input: $i) { user { id } } }",
                json!({ "i": { "userId": user.id } }),
            )
            .await;
        assert!(res["errors"].is_null(), "grant: {res}");
    }

    /// Revokes organization scope from `user` as a fresh admin.
    pub async fn revoke_scope(&self, user: &User) {
        let admin = self.admin().await;
        let res = self
            .gql(
                Some(&admin),
                "mutation($i: RevokeOrganizationScopeInput!) { revokeOrganizationScope(input: $i) { user { id } } }",
                json!({ "i": { "userId": user.id } }),
            )
            .await;
        assert!(res["errors"].is_null(), "revoke: {res}");
    }

    /// Counts rows of a table straight from the database (to prove nothing changed).
    pub async fn count_rows(&self, table: &str) -> i64 {
        let row = self
            .app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.app.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// The first error's `extensions.code`, or "" if none.
pub fn code(res: &Value) -> &str {
    res["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// Asserts a response has no errors and returns its data.
pub fn data(res: &Value) -> &Value {
    assert!(res["errors"].is_null(), "unexpected errors: {res}");
    &res["data"]
}

/// A graphql-transport-ws client over a real WebSocket.
pub struct Ws {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// How a WebSocket session ended or what it produced next.
#[derive(Debug)]
pub enum WsEvent {
    /// A `next` payload for subscription `id`.
    Next(String, Value),
    /// An `error` message for subscription `id`.
    Error(String, Value),
    /// `complete` for subscription `id`.
    Complete(String),
    /// The server closed the socket with this code.
    Closed(u16),
}

impl TestApp {
    /// Opens `/graphql/ws` and sends `connection_init` with this payload; does not wait for
    /// the ack (see [`Ws::ack`]).
    pub async fn ws_raw(&self, init: Value) -> Ws {
        connect_ws(self.addr, init).await
    }

    /// Opens a WebSocket as `user` (or anonymously) and waits for `connection_ack`.
    pub async fn ws(&self, user: Option<&User>) -> Ws {
        let init = match user {
            Some(u) => json!({ "token": u.token }),
            None => json!({}),
        };
        let mut ws = self.ws_raw(init).await;
        ws.ack().await;
        ws
    }
}

/// Opens `/graphql/ws` on any server and sends `connection_init` with this payload.
pub async fn connect_ws(addr: SocketAddr, init: Value) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut req = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (socket, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("ws connect");
    let mut ws = Ws { socket };
    ws.send(json!({ "type": "connection_init", "payload": init }))
        .await;
    ws
}

impl Ws {
    async fn send(&mut self, msg: Value) {
        use futures_util::SinkExt as _;
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::Text(
                msg.to_string().into(),
            ))
            .await
            .expect("ws send");
    }

    /// Waits for `connection_ack`.
    pub async fn ack(&mut self) {
        let msg = self.raw_next().await;
        match msg {
            Some(m) if m["payload"]["type"] == "connection_ack" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    /// Starts a subscription with this id.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id, "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// Stops a subscription.
    pub async fn stop(&mut self, id: &str) {
        self.send(json!({ "id": id, "type": "complete" })).await;
    }

    /// The next protocol message as JSON (`None` once closed), within 10 s.
    async fn raw_next(&mut self) -> Option<Value> {
        match self.next_event().await {
            WsEvent::Closed(_) => None,
            WsEvent::Next(id, p) => Some(json!({ "type": "next", "id": id, "payload": p })),
            WsEvent::Error(id, p) => Some(json!({ "type": "error", "id": id, "payload": p })),
            WsEvent::Complete(id) => Some(json!({ "type": "complete", "id": id })),
        }
    }

    /// The next thing that happens on the socket, within 10 s (pings are answered).
    pub async fn next_event(&mut self) -> WsEvent {
        use futures_util::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(10), self.socket.next())
                .await
                .expect("no WebSocket message within 10 s");
            let text = match msg {
                None | Some(Err(_)) => return WsEvent::Closed(1006),
                Some(Ok(Message::Close(frame))) => {
                    return WsEvent::Closed(frame.map(|f| u16::from(f.code)).unwrap_or(1005));
                }
                Some(Ok(Message::Text(t))) => t.to_string(),
                Some(Ok(_)) => continue,
            };
            let v: Value = serde_json::from_str(&text).expect("json message");
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            match v["type"].as_str() {
                Some("next") => return WsEvent::Next(id, v["payload"].clone()),
                Some("error") => return WsEvent::Error(id, v["payload"].clone()),
                Some("complete") => return WsEvent::Complete(id),
                Some("ping") => self.send(json!({ "type": "pong" })).await,
                Some("connection_ack") => {
                    return WsEvent::Next("".into(), json!({ "type": "connection_ack" }));
                }
                _ => continue,
            }
        }
    }

    /// The next `next` payload's data for any subscription, panicking on anything else.
    pub async fn next_data(&mut self) -> (String, Value) {
        match self.next_event().await {
            WsEvent::Next(id, payload) => {
                assert!(payload["errors"].is_null(), "subscription error: {payload}");
                (id, payload["data"].clone())
            }
            other => panic!("expected a next message, got {other:?}"),
        }
    }
}
