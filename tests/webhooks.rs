//! Webhooks end to end: admins manage endpoints through the API, the workflow's events
//! reach a real HTTP receiver in the test, and every request is verified with the
//! independent reference implementation (`standardwebhooks`), never with our own signer.
//! Nothing here needs the internet: receivers are on loopback (with
//! `webhook_allow_private`), and public addresses appear only as literals that are checked,
//! never contacted.

mod common;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use common::{TestApp, User, b64, code, data, eventually, gid, made_up, row_id};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use standardwebhooks::Webhook;

/// Seconds to wait for what an event causes to arrive. Generous: on PostgreSQL an event is
/// read only once every older transaction *on the whole server* has ended, so other suites
/// sharing it can hold deliveries back for a while. A passing test never waits this long.
const ARRIVAL: u64 = 60;

// ---------------------------------------------------------------------------------------
// A receiver that records what arrives and answers as the test scripted.

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// A status with `Retry-After: <secs>`.
    RetryAfter(u16, u64),
    /// `302 Found` to this path.
    Redirect(&'static str),
    /// 200, after this many seconds.
    Slow(u64),
}

#[derive(Default)]
struct Inner {
    seen: Vec<Seen>,
    /// Replies per path, used up in order; then `always`, then 200.
    script: HashMap<String, VecDeque<Reply>>,
    always: HashMap<String, Reply>,
}

type Shared = Arc<Mutex<Inner>>;

struct Receiver {
    addr: SocketAddr,
    inner: Shared,
}

impl Receiver {
    async fn start() -> Receiver {
        let inner: Shared = Arc::default();
        let app = Router::new().fallback(answer).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { addr, inner }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next requests to `path` get these replies, in order.
    fn script(&self, path: &str, replies: &[Reply]) {
        self.inner
            .lock()
            .unwrap()
            .script
            .insert(path.to_owned(), replies.iter().copied().collect());
    }

    /// Every request to `path` (after the script) gets this reply.
    fn always(&self, path: &str, reply: Reply) {
        self.inner
            .lock()
            .unwrap()
            .always
            .insert(path.to_owned(), reply);
    }

    /// What reached `path` so far, in arrival order.
    fn seen(&self, path: &str) -> Vec<Seen> {
        self.inner
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }

    /// Waits (up to `secs`) until at least `n` requests reached `path`; returns them all.
    async fn wait_for(&self, path: &str, n: usize, secs: u64) -> Vec<Seen> {
        let arrived = eventually(secs, || async { self.seen(path).len() >= n }).await;
        let seen = self.seen(path);
        assert!(
            arrived,
            "{n} requests to {path} within {secs} s; got {}: {:?}",
            seen.len(),
            seen.iter()
                .map(|s| String::from_utf8_lossy(&s.body).into_owned())
                .collect::<Vec<_>>()
        );
        seen
    }
}

async fn answer(
    State(inner): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let reply = {
        let mut inner = inner.lock().unwrap();
        inner.seen.push(Seen {
            path: path.clone(),
            headers,
            body,
            at: Instant::now(),
        });
        let scripted = inner.script.get_mut(&path).and_then(VecDeque::pop_front);
        scripted
            .or_else(|| inner.always.get(&path).copied())
            .unwrap_or(Reply::Status(200))
    };
    match reply {
        Reply::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Reply::RetryAfter(code, secs) => (
            StatusCode::from_u16(code).unwrap(),
            [(header::RETRY_AFTER, secs.to_string())],
        )
            .into_response(),
        Reply::Redirect(to) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
        Reply::Slow(secs) => {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            StatusCode::OK.into_response()
        }
    }
}

/// Verifies a request with the reference crate and `secret`.
fn verify(secret: &str, seen: &Seen) -> Result<(), standardwebhooks::WebhookError> {
    Webhook::new(secret)?.verify(&seen.body, &seen.headers)
}

#[track_caller]
fn assert_verifies(secret: &str, seen: &Seen) {
    if let Err(e) = verify(secret, seen) {
        panic!(
            "does not verify ({e:?}): headers {:?}, body {}",
            seen.headers,
            String::from_utf8_lossy(&seen.body)
        );
    }
}

// ---------------------------------------------------------------------------------------
// The API's side.

const CREATE: &str = "createWebhookEndpoint(input: $i) { webhookEndpoint { id url events enabled description createdAt } secret }";
const UPDATE: &str = "updateWebhookEndpoint(input: $i) { webhookEndpoint { id url events enabled description disabledReason } }";
const DELETE: &str = "deleteWebhookEndpoint(input: $i) { deletedWebhookEndpointId }";
const ROTATE: &str = "rotateWebhookSecret(input: $i) { webhookEndpoint { id url } secret }";
const RETRY: &str = "retryDelivery(input: $i) { delivery { id status attempts } }";
const ENDPOINTS: &str = "{ webhookEndpoints(first: 50) { nodes { id url events enabled disabledReason description createdAt } } }";
const DELIVERIES: &str = "query($f: DeliveryFilter) { deliveries(first: 100, filter: $f) {
  nodes { id channel status kind attempts lastError target createdAt deliveredAt nextAttemptAt } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { id ... on WebhookEndpoint { url } ... on Delivery { status } } }";

/// A server that may send to loopback, with retry delays shortened 50 times.
async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| {
        c.notify.webhook_allow_private = true;
        c.notify.delivery_backoff_scale = 0.02;
    })
    .await
}

/// [`spawn`] with the production poll (500 ms) instead of the harness's minute: a worker
/// finds a delivery an admin put back in the queue at its next poll, as in production.
async fn spawn_polling() -> TestApp {
    TestApp::spawn_with(|c| {
        c.notify.webhook_allow_private = true;
        c.notify.delivery_backoff_scale = 0.02;
        c.event_poll_ms = 500;
    })
    .await
}

/// `admin` creates an endpoint; its (global id, secret).
async fn create_endpoint(
    app: &TestApp,
    admin: &User,
    url: &str,
    events: &[&str],
) -> (String, String) {
    let p = app
        .mutate_ok(
            admin,
            CREATE,
            json!({ "url": url, "events": events, "description": "test receiver" }),
        )
        .await;
    let endpoint = &p["webhookEndpoint"];
    assert_eq!(endpoint["url"], url, "{p}");
    assert_eq!(endpoint["enabled"], true, "{p}");
    let secret = p["secret"].as_str().expect("a secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (endpoint["id"].as_str().unwrap().to_owned(), secret)
}

/// The endpoints as `admin` lists them.
async fn endpoints(app: &TestApp, admin: &User) -> Vec<Value> {
    let res = app.gql(Some(admin), ENDPOINTS, json!({})).await;
    data(&res)["webhookEndpoints"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// The webhook deliveries as `admin` lists them, newest first.
async fn webhook_deliveries(app: &TestApp, admin: &User) -> Vec<Value> {
    let res = app
        .gql(
            Some(admin),
            DELIVERIES,
            json!({ "f": { "channel": "WEBHOOK" } }),
        )
        .await;
    data(&res)["deliveries"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits (up to `secs`) until the only webhook delivery to `target` satisfies `check`;
/// returns it.
async fn wait_delivery(
    app: &TestApp,
    admin: &User,
    target: &str,
    secs: u64,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let last = std::cell::RefCell::new(Value::Null);
    let ok = eventually(secs, || async {
        let to: Vec<_> = webhook_deliveries(app, admin)
            .await
            .into_iter()
            .filter(|d| d["target"] == target)
            .collect();
        let done = to.len() == 1 && check(&to[0]);
        *last.borrow_mut() = json!(to);
        done
    })
    .await;
    let last = last.into_inner();
    assert!(ok, "the delivery to {target} never got there: {last}");
    last[0].clone()
}

fn types_of(seen: &[Seen]) -> Vec<String> {
    let mut types: Vec<String> = seen
        .iter()
        .map(|s| s.json()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    types
}

fn rfc3339(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {v}"))
}

// ---------------------------------------------------------------------------------------
// 1. What is sent, and how it is signed.

#[tokio::test]
async fn subscribed_events_arrive_signed_with_the_apis_ids() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let customer = app.customer("acme").await;
    let agent = app.agent().await;
    let url = rx.url("/hook");

    let p = app
        .mutate_ok(
            &admin,
            CREATE,
            json!({ "url": url, "events": ["COMMENT_ADDED", "TICKET_CREATED"],
                    "description": "the CRM" }),
        )
        .await;
    let endpoint = &p["webhookEndpoint"];
    let mut events: Vec<_> = endpoint["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    events.sort();
    assert_eq!(events, ["COMMENT_ADDED", "TICKET_CREATED"], "{p}");
    assert_eq!(endpoint["enabled"], true);
    assert_eq!(endpoint["description"], "the CRM");
    rfc3339(&endpoint["createdAt"]);
    let secret = p["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    // The secret is shown once: the list does not have it.
    let listed = endpoints(&app, &admin).await;
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].to_string().contains(&secret[6..]));

    let ticket = app.create_ticket(&customer, "printer on fire").await;
    let internal = app
        .comment(
            &agent,
            &ticket,
            "internal: customer is on the old plan",
            false,
        )
        .await;
    let public = app
        .comment(&agent, &ticket, "We are looking into it", true)
        .await;

    let seen = rx.wait_for("/hook", 3, ARRIVAL).await;
    assert_eq!(
        types_of(&seen),
        ["comment.added", "comment.added", "ticket.created"],
        "exactly the ticket and its two comments"
    );

    // The API's own view of the ticket, to compare with.
    let api = app
        .gql(
            Some(&admin),
            "query($id: ID!) { node(id: $id) { ... on Ticket {
               id number subject organization { id key } } } }",
            json!({ "id": ticket }),
        )
        .await;
    let api_ticket = data(&api)["node"].clone();
    assert_eq!(api_ticket["id"], ticket, "{api}");

    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for s in &seen {
        assert_verifies(&secret, s);
        assert!(
            verify(&tier3::outbound::webhook::generate_secret(), s).is_err(),
            "another secret must not verify"
        );
        assert_eq!(s.header("content-type"), "application/json");
        let timestamp: i64 = s.header("webhook-timestamp").parse().unwrap();
        assert!(
            (now.timestamp() - 60..=now.timestamp() + 1).contains(&timestamp),
            "webhook-timestamp {timestamp}"
        );
        assert!(s.header("webhook-signature").starts_with("v1,"));
        ids.push(s.header("webhook-id").to_owned());

        let body = s.json();
        rfc3339(&body["timestamp"]);
        let t = &body["data"]["ticket"];
        assert_eq!(t["id"], ticket, "{body}");
        assert_eq!(t["number"], api_ticket["number"], "{body}");
        assert_eq!(t["subject"], "printer on fire", "{body}");
        assert_eq!(t["organization"], api_ticket["organization"], "{body}");
        assert_eq!(t["organization"]["key"], "acme", "{body}");
        assert!(t["status"].is_string(), "{body}");
        match body["type"].as_str().unwrap() {
            "ticket.created" => {
                assert_eq!(body["data"]["actor"]["id"], customer.id.as_str(), "{body}");
                assert_eq!(
                    body["data"]["actor"]["name"],
                    format!("Name of {}", customer.sub),
                    "{body}"
                );
            }
            "comment.added" => {
                assert_eq!(body["data"]["actor"]["id"], agent.id.as_str(), "{body}");
                let c = &body["data"]["comment"];
                if c["id"] == internal.as_str() {
                    assert_eq!(c["public"], false, "{body}");
                    assert_eq!(c["body"], "internal: customer is on the old plan");
                } else {
                    assert_eq!(c["id"], public.as_str(), "{body}");
                    assert_eq!(c["public"], true, "{body}");
                    assert_eq!(c["body"], "We are looking into it");
                }
            }
            other => panic!("unexpected type {other}"),
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each message has its own webhook-id");

    // Events it did not subscribe to are not sent: a status change and an escalation (whose
    // automatic comment on the ticket is a comment, and is sent), then one more comment.
    // The planner reads the log in order, so once that comment is here the others were
    // decided — and nothing of another type came.
    app.set_status(&agent, &ticket, "PENDING").await;
    app.escalate(&agent, &ticket, "Printers burn", "P2").await;
    let sentinel = app.comment(&agent, &ticket, "still on it", true).await;
    let arrived = eventually(ARRIVAL, || async {
        rx.seen("/hook")
            .iter()
            .any(|s| s.json()["data"]["comment"]["id"] == sentinel.as_str())
    })
    .await;
    assert!(arrived, "the last comment arrives");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen_now = rx.seen("/hook");
    assert_eq!(
        types_of(&seen_now),
        [
            "comment.added",
            "comment.added",
            "comment.added",
            "comment.added",
            "ticket.created"
        ],
        "the automatic escalation comment and the last one; no status change, no escalation"
    );
    for s in &seen_now {
        assert_verifies(&secret, s);
    }
    // And the queue agrees: as many webhook deliveries, all delivered, to the endpoint's URL.
    let all = webhook_deliveries(&app, &admin).await;
    assert_eq!(all.len(), seen_now.len(), "{all:?}");
    let delivered = eventually(10, || async {
        webhook_deliveries(&app, &admin)
            .await
            .iter()
            .all(|d| d["status"] == "DELIVERED")
    })
    .await;
    assert!(delivered, "{:?}", webhook_deliveries(&app, &admin).await);
    for d in webhook_deliveries(&app, &admin).await {
        assert_eq!(d["target"], url.as_str(), "{d}");
        assert_eq!(d["channel"], "WEBHOOK", "{d}");
        assert_eq!(d["attempts"], 1, "{d}");
        assert!(d["deliveredAt"].is_string(), "{d}");
        assert!(d["nextAttemptAt"].is_null(), "{d}");
    }
}

/// Every event type, with the `type` it is sent as and the parts of `data` it concerns.
#[tokio::test]
async fn every_event_type_is_sent_with_its_wire_name_and_data() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let customer = app.customer("acme").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;
    let dev = app.developer().await;
    let all = [
        "TICKET_CREATED",
        "TICKET_STATUS_CHANGED",
        "COMMENT_ADDED",
        "TICKET_ESCALATED",
        "ESCALATION_TRIAGED",
        "ESCALATION_UPDATED",
        "RELEASE_IMMINENT",
        "RELEASE_SHIPPED",
        "RELEASE_NOTE_PUBLISHED",
    ];
    let (_, secret) = create_endpoint(&app, &admin, &rx.url("/all"), &all).await;

    let ticket = app.create_ticket(&customer, "export is slow").await;
    app.set_status(&agent, &ticket, "OPEN").await;
    let esc = app.escalate(&agent, &ticket, "Export slow", "P1").await;
    app.triage(&lead, &esc, "HOTFIX").await;
    app.post_update(&dev, &esc, "found it", false).await;
    let rel = app.create_release(&lead, "9.9.1", "HOTFIX").await;
    app.schedule(&lead, &esc, &rel).await;
    app.mark_imminent(&lead, &rel).await;
    app.ship(&lead, &rel).await;
    let note = app.publish_note(&lead, &rel, "Faster exports").await;

    let wire = [
        "ticket.created",
        "ticket.status_changed",
        "comment.added",
        "ticket.escalated",
        "escalation.triaged",
        "escalation.updated",
        "release.imminent",
        "release.shipped",
        "release_note.published",
    ];
    let ok = eventually(ARRIVAL, || async {
        let types = types_of(&rx.seen("/all"));
        wire.iter().all(|w| types.iter().any(|t| t == w))
    })
    .await;
    let seen = rx.seen("/all");
    assert!(ok, "every type arrives; got {:?}", types_of(&seen));

    for s in &seen {
        assert_verifies(&secret, s);
        let body = s.json();
        let d = &body["data"];
        let ty = body["type"].as_str().unwrap();
        assert!(wire.contains(&ty), "{ty}");
        match ty {
            "ticket.created" | "ticket.status_changed" | "comment.added" => {
                assert_eq!(d["ticket"]["id"], ticket, "{body}");
            }
            "ticket.escalated" | "escalation.triaged" | "escalation.updated" => {
                let e = &d["escalation"];
                assert_eq!(e["id"], esc, "{body}");
                assert_eq!(e["title"], "Export slow", "{body}");
                for field in ["status", "priority"] {
                    assert!(e[field].is_string(), "{field}: {body}");
                }
                assert!(e.get("track").is_some(), "track: {body}");
                if ty == "escalation.triaged" {
                    assert_eq!(e["track"], "HOTFIX", "{body}");
                }
            }
            "release.imminent" | "release.shipped" => {
                let r = &d["release"];
                assert_eq!(r["id"], rel, "{body}");
                assert_eq!(r["version"], "9.9.1", "{body}");
                assert_eq!(r["kind"], "HOTFIX", "{body}");
                assert!(r["status"].is_string(), "{body}");
            }
            "release_note.published" => {
                assert_eq!(d["releaseNote"]["id"], note, "{body}");
                assert_eq!(d["releaseNote"]["title"], "Faster exports", "{body}");
                assert_eq!(d["release"]["id"], rel, "{body}");
            }
            _ => unreachable!(),
        }
        if let Some(a) = d.get("actor").filter(|a| !a.is_null()) {
            assert!(a["id"].is_string() && a["name"].is_string(), "{body}");
        }
    }
    let by_type = |t: &str| {
        seen.iter()
            .map(Seen::json)
            .find(|b| b["type"] == t)
            .unwrap()
    };
    assert_eq!(
        by_type("ticket.status_changed")["data"]["actor"]["id"],
        agent.id.as_str()
    );
    assert_eq!(
        by_type("ticket.escalated")["data"]["ticket"]["id"],
        ticket.as_str()
    );
    assert_eq!(
        by_type("escalation.triaged")["data"]["actor"]["id"],
        lead.id.as_str()
    );
}

// ---------------------------------------------------------------------------------------
// 2. Retries.

#[tokio::test]
async fn a_failed_attempt_is_retried_with_the_same_id_and_body() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let customer = app.customer("acme").await;
    rx.script("/flaky", &[Reply::Status(500)]);
    let url = rx.url("/flaky");
    let (_, secret) = create_endpoint(&app, &admin, &url, &["TICKET_CREATED"]).await;

    app.create_ticket(&customer, "sometimes fails").await;
    let seen = rx.wait_for("/flaky", 2, ARRIVAL).await;
    assert_eq!(seen.len(), 2);
    let (first, second) = (&seen[0], &seen[1]);
    assert_eq!(first.header("webhook-id"), second.header("webhook-id"));
    assert_eq!(first.body, second.body, "the same body");
    assert_verifies(&secret, first);
    assert_verifies(&secret, second);
    assert!(
        second.at - first.at <= Duration::from_secs(10),
        "the first retry within 10 s: {:?}",
        second.at - first.at
    );

    let d = wait_delivery(&app, &admin, &url, 10, |d| d["status"] == "DELIVERED").await;
    assert_eq!(d["attempts"], 2, "{d}");
    assert_eq!(d["channel"], "WEBHOOK", "{d}");
    assert_eq!(d["kind"], "ticket.created", "{d}");
    assert!(d["deliveredAt"].is_string(), "{d}");
    assert!(d["nextAttemptAt"].is_null(), "{d}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.seen("/flaky").len(), 2, "nothing after the 200");
}

#[tokio::test]
async fn retry_after_on_429_is_honoured() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let customer = app.customer("acme").await;
    rx.script("/busy", &[Reply::RetryAfter(429, 1)]);
    let url = rx.url("/busy");
    let (_, secret) = create_endpoint(&app, &admin, &url, &["TICKET_CREATED"]).await;

    app.create_ticket(&customer, "too many requests").await;
    let first = rx.wait_for("/busy", 1, ARRIVAL).await;
    // While it waits, the queue says when it comes back and why.
    let pending = wait_delivery(&app, &admin, &url, 5, |d| {
        d["status"] == "PENDING" && d["lastError"].is_string()
    })
    .await;
    assert!(
        pending["lastError"].as_str().unwrap().contains("429"),
        "{pending}"
    );
    let next = rfc3339(&pending["nextAttemptAt"]);
    let created = rfc3339(&pending["createdAt"]);
    assert!(
        next - created >= chrono::Duration::milliseconds(900),
        "{pending}"
    );

    let seen = rx.wait_for("/busy", 2, ARRIVAL).await;
    let gap = seen[1].at - first[0].at;
    assert!(
        gap >= Duration::from_secs(1),
        "the retry waited for Retry-After: {gap:?}"
    );
    assert!(gap < Duration::from_secs(10), "and no longer: {gap:?}");
    assert_eq!(seen[0].header("webhook-id"), seen[1].header("webhook-id"));
    assert_verifies(&secret, &seen[1]);
    let d = wait_delivery(&app, &admin, &url, 10, |d| d["status"] == "DELIVERED").await;
    assert_eq!(d["attempts"], 2, "{d}");
}

#[tokio::test]
async fn a_redirect_is_retried_not_followed() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let customer = app.customer("acme").await;
    rx.script("/moved", &[Reply::Redirect("/elsewhere")]);
    let url = rx.url("/moved");
    create_endpoint(&app, &admin, &url, &["TICKET_CREATED"]).await;

    app.create_ticket(&customer, "moved away").await;
    let seen = rx.wait_for("/moved", 2, ARRIVAL).await;
    assert_eq!(seen[0].header("webhook-id"), seen[1].header("webhook-id"));
    let d = wait_delivery(&app, &admin, &url, 10, |d| d["status"] == "DELIVERED").await;
    assert_eq!(d["attempts"], 2, "{d}");
    assert!(
        rx.seen("/elsewhere").is_empty(),
        "the redirect was followed"
    );
}

/// A receiver that does not answer within 15 s is given up on for this attempt and tried
/// again (this test takes those 15 s).
#[tokio::test]
async fn a_receiver_that_times_out_is_retried() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let customer = app.customer("acme").await;
    rx.script("/slow", &[Reply::Slow(30)]);
    let url = rx.url("/slow");
    create_endpoint(&app, &admin, &url, &["TICKET_CREATED"]).await;

    app.create_ticket(&customer, "slow receiver").await;
    let first = rx.wait_for("/slow", 1, ARRIVAL).await;
    let seen = rx.wait_for("/slow", 2, 40).await;
    let gap = seen[1].at - first[0].at;
    assert!(
        gap >= Duration::from_secs(14) && gap < Duration::from_secs(25),
        "given up after 15 s, and retried soon after: {gap:?}"
    );
    assert_eq!(seen[0].header("webhook-id"), seen[1].header("webhook-id"));
    let d = wait_delivery(&app, &admin, &url, 10, |d| d["status"] == "DELIVERED").await;
    assert_eq!(d["attempts"], 2, "{d}");
}

// ---------------------------------------------------------------------------------------
// 3. Rotation.

#[tokio::test]
async fn after_rotation_both_secrets_sign_and_each_verifies_alone() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let customer = app.customer("acme").await;
    let (id, old) = create_endpoint(&app, &admin, &rx.url("/rot"), &["TICKET_CREATED"]).await;

    app.create_ticket(&customer, "before rotation").await;
    let seen = rx.wait_for("/rot", 1, ARRIVAL).await;
    let signature = seen[0].header("webhook-signature");
    assert_eq!(signature.split(' ').count(), 1, "{signature}");
    assert_verifies(&old, &seen[0]);

    let p = app
        .mutate_ok(&admin, ROTATE, json!({ "webhookEndpointId": id }))
        .await;
    assert_eq!(p["webhookEndpoint"]["id"], id.as_str(), "{p}");
    let new = p["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_"), "{new}");
    assert_ne!(new, old);

    app.create_ticket(&customer, "after rotation").await;
    let seen = rx.wait_for("/rot", 2, ARRIVAL).await;
    let after = &seen[1];
    assert_eq!(after.json()["data"]["ticket"]["subject"], "after rotation");
    let signature = after.header("webhook-signature");
    let entries: Vec<_> = signature.split(' ').collect();
    assert_eq!(entries.len(), 2, "{signature}");
    assert!(entries.iter().all(|e| e.starts_with("v1,")), "{signature}");
    assert_ne!(entries[0], entries[1]);
    assert_verifies(&old, after);
    assert_verifies(&new, after);
    assert!(verify(&tier3::outbound::webhook::generate_secret(), after).is_err());
    // Each entry is one secret's signature: with only one of them, each secret still
    // verifies exactly one of the two.
    for secret in [&old, &new] {
        let verifying = entries
            .iter()
            .filter(|e| {
                let mut alone = after.clone();
                alone
                    .headers
                    .insert("webhook-signature", e.parse().unwrap());
                verify(secret, &alone).is_ok()
            })
            .count();
        assert_eq!(verifying, 1, "{secret}");
    }

    // The old secret signs for 24 hours: its expiry is a day after the rotation…
    let db = &app.app.db;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT secret, expires_at FROM webhook_secret ORDER BY id",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let expiry: Option<chrono::DateTime<chrono::Utc>> = rows[0].try_get("", "expires_at").unwrap();
    let expiry = expiry.expect("the old secret expires");
    let day = chrono::Utc::now() + chrono::Duration::hours(24);
    assert!(
        (day - expiry).num_seconds().abs() < 120,
        "expires {expiry}, a day from now is {day}"
    );
    let new_expiry: Option<chrono::DateTime<chrono::Utc>> =
        rows[1].try_get("", "expires_at").unwrap();
    assert!(new_expiry.is_none());
    // …and once that has passed, only the new one signs.
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE webhook_secret SET expires_at = $1 WHERE expires_at IS NOT NULL",
        [(chrono::Utc::now() - chrono::Duration::seconds(1)).into()],
    ))
    .await
    .unwrap();
    app.create_ticket(&customer, "a day later").await;
    let seen = rx.wait_for("/rot", 3, ARRIVAL).await;
    let later = &seen[2];
    assert_eq!(later.header("webhook-signature").split(' ').count(), 1);
    assert_verifies(&new, later);
    assert!(
        verify(&old, later).is_err(),
        "the old secret no longer signs"
    );
}

// ---------------------------------------------------------------------------------------
// 4. 410 Gone.

#[tokio::test]
async fn gone_turns_the_endpoint_off_and_tells_the_admins() {
    let app = spawn_polling().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let other_admin = app.admin().await;
    let customer = app.customer("acme").await;
    let agent = app.agent().await;
    rx.always("/gone", Reply::Status(410));
    let url = rx.url("/gone");
    let (id, _) = create_endpoint(&app, &admin, &url, &["TICKET_CREATED", "COMMENT_ADDED"]).await;
    // A second endpoint, to know when later events have been decided.
    let (_, _) = create_endpoint(&app, &admin, &rx.url("/sentinel"), &["COMMENT_ADDED"]).await;

    let ticket = app.create_ticket(&customer, "nobody home").await;
    rx.wait_for("/gone", 1, ARRIVAL).await;
    let off = eventually(10, || async {
        endpoints(&app, &admin)
            .await
            .iter()
            .any(|e| e["id"] == id.as_str() && e["enabled"] == false)
    })
    .await;
    let listed = endpoints(&app, &admin).await;
    assert!(off, "turned off: {listed:?}");
    let e = listed.iter().find(|e| e["id"] == id.as_str()).unwrap();
    assert!(
        e["disabledReason"].as_str().unwrap_or("").contains("410"),
        "{e}"
    );
    let d = wait_delivery(&app, &admin, &url, 10, |d| d["status"] == "FAILED").await;
    assert_eq!(d["attempts"], 1, "{d}");
    assert!(d["lastError"].as_str().unwrap().contains("410"), "{d}");

    // Nothing more is sent to it.
    app.comment(&agent, &ticket, "anyone?", true).await;
    rx.wait_for("/sentinel", 1, ARRIVAL).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.seen("/gone").len(), 1, "no delivery after the 410");
    let to_gone = webhook_deliveries(&app, &admin)
        .await
        .into_iter()
        .filter(|d| d["target"] == url.as_str())
        .count();
    assert_eq!(to_gone, 1, "nothing more queued for it");

    // Every admin has an in-app notification naming the endpoint; others do not.
    for who in [&admin, &other_admin] {
        let res = app
            .gql(
                Some(who),
                "{ notifications(first: 50) { nodes { kind message } } }",
                json!({}),
            )
            .await;
        let nodes = data(&res)["notifications"]["nodes"]
            .as_array()
            .unwrap()
            .clone();
        assert!(
            nodes
                .iter()
                .any(|n| n["message"].as_str().unwrap_or("").contains(&url)),
            "{nodes:?}"
        );
    }
    let res = app
        .gql(
            Some(&agent),
            "{ notifications(first: 50) { nodes { message } } }",
            json!({}),
        )
        .await;
    assert!(!data(&res).to_string().contains(&url), "{res}");

    // Turning it back on clears the reason.
    let p = app
        .mutate_ok(
            &admin,
            UPDATE,
            json!({ "webhookEndpointId": id, "enabled": true }),
        )
        .await;
    assert_eq!(p["webhookEndpoint"]["enabled"], true, "{p}");
    assert!(p["webhookEndpoint"]["disabledReason"].is_null(), "{p}");

    // The receiver is back; an admin retries the failed delivery: it goes out again, due
    // now, with the same webhook-id and body.
    rx.always("/gone", Reply::Status(200));
    let p = app
        .mutate_ok(&admin, RETRY, json!({ "deliveryId": d["id"] }))
        .await;
    assert_eq!(p["delivery"]["status"], "PENDING", "{p}");
    let seen = rx.wait_for("/gone", 2, 10).await;
    assert_eq!(seen[0].header("webhook-id"), seen[1].header("webhook-id"));
    assert_eq!(seen[0].body, seen[1].body);
    let done = wait_delivery(&app, &admin, &url, 10, |d| d["status"] == "DELIVERED").await;
    assert_eq!(done["attempts"], 2, "{done}");
    assert!(done["lastError"].is_null(), "{done}");
    // A delivered one is not sent twice.
    let res = app
        .mutate(Some(&admin), RETRY, json!({ "deliveryId": d["id"] }))
        .await;
    assert_eq!(code(&res), "CONFLICT", "{res}");
}

// ---------------------------------------------------------------------------------------
// 6. Who may.

#[tokio::test]
async fn only_admins_manage_webhooks_and_see_deliveries() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let own = app.customer("acme").await;
    let other = app.customer("globex").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;
    let dev = app.developer().await;
    let url = rx.url("/authz");
    let (id, secret) = create_endpoint(&app, &admin, &url, &["TICKET_CREATED"]).await;
    app.create_ticket(&own, "for a delivery").await;
    let delivery = wait_delivery(&app, &admin, &url, ARRIVAL, |d| d["status"] == "DELIVERED").await;
    let delivery_id = delivery["id"].as_str().unwrap().to_owned();

    let before_endpoints = endpoints(&app, &admin).await;
    let before_deliveries = webhook_deliveries(&app, &admin).await;
    let before_rows = app
        .rows(["webhook_endpoint", "webhook_secret", "delivery"])
        .await;

    let mutations: Vec<(&str, Value)> = vec![
        (
            CREATE,
            json!({ "url": rx.url("/evil"), "events": ["TICKET_CREATED"] }),
        ),
        (
            UPDATE,
            json!({ "webhookEndpointId": id, "url": rx.url("/evil"), "enabled": false }),
        ),
        (DELETE, json!({ "webhookEndpointId": id })),
        (ROTATE, json!({ "webhookEndpointId": id })),
        (RETRY, json!({ "deliveryId": delivery_id })),
    ];
    let queries: Vec<(&str, Value)> = vec![
        (ENDPOINTS, json!({})),
        (DELIVERIES, json!({ "f": { "channel": "WEBHOOK" } })),
        (DELIVERIES, json!({})),
        (NODE, json!({ "id": id })),
        (NODE, json!({ "id": delivery_id })),
    ];
    let expect = |who: Option<&User>, res: &Value, what: &str| {
        let want = if who.is_some() {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        };
        assert_eq!(
            code(res),
            want,
            "{} on {what}: {res}",
            who.map_or("anonymous", |u| u.role)
        );
        // Nothing of it leaks in the answer.
        let text = res["data"].to_string();
        assert!(
            !text.contains(&url) && !text.contains(&secret[6..]),
            "{res}"
        );
    };
    for who in [
        Some(&own),
        Some(&other),
        Some(&agent),
        Some(&lead),
        Some(&dev),
        None,
    ] {
        for (m, input) in &mutations {
            let res = app.mutate(who, m, input.clone()).await;
            expect(who, &res, m);
        }
        for (q, vars) in &queries {
            let res = app.gql(who, q, vars.clone()).await;
            expect(who, &res, q);
        }
    }

    // Nothing changed.
    assert_eq!(endpoints(&app, &admin).await, before_endpoints);
    assert_eq!(webhook_deliveries(&app, &admin).await, before_deliveries);
    assert_eq!(
        app.rows(["webhook_endpoint", "webhook_secret", "delivery"])
            .await,
        before_rows
    );
    // The secret was not rotated: the next delivery is signed by the first secret alone.
    app.create_ticket(&own, "after the attempts").await;
    let seen = rx.wait_for("/authz", 2, ARRIVAL).await;
    assert_eq!(seen.len(), 2, "nothing sent to /evil, nothing sent twice");
    assert!(rx.seen("/evil").is_empty());
    assert_eq!(seen[1].header("webhook-signature").split(' ').count(), 1);
    assert_verifies(&secret, &seen[1]);
}

// ---------------------------------------------------------------------------------------
// 7. SSRF.

#[tokio::test]
async fn internal_addresses_are_refused_by_default() {
    let app = TestApp::spawn().await; // webhook_allow_private: false
    let admin = app.admin().await;
    let refused = [
        "http://127.0.0.1:9/".to_owned(),
        format!("http://127.0.0.1:{}/", app.addr.port()),
        "http://localhost/".to_owned(),
        "http://169.254.169.254/".to_owned(),
        "http://10.1.2.3/".to_owned(),
        "http://192.168.0.1/hook".to_owned(),
        "http://[::1]/".to_owned(),
        "ftp://x/".to_owned(),
        "not a url".to_owned(),
        "".to_owned(),
    ];
    for url in &refused {
        let res = app
            .mutate(
                Some(&admin),
                CREATE,
                json!({ "url": url, "events": ["RELEASE_SHIPPED"] }),
            )
            .await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{url}: {res}");
        assert!(res["data"]["createWebhookEndpoint"].is_null(), "{res}");
    }
    assert!(endpoints(&app, &admin).await.is_empty());
    assert_eq!(app.count_rows("webhook_endpoint").await, 0);
    assert_eq!(app.count_rows("webhook_secret").await, 0);

    // A public literal is accepted (never contacted: nothing it subscribes to happens).
    let public = "https://93.184.216.34/hook";
    let (id, _) = create_endpoint(&app, &admin, public, &["RELEASE_SHIPPED"]).await;
    assert_eq!(endpoints(&app, &admin).await.len(), 1);

    // Moving it to an internal address is refused too, and it stays where it was.
    for url in [
        "http://127.0.0.1:9/",
        "http://localhost:8080/x",
        "http://[::1]:80/",
    ] {
        let res = app
            .mutate(
                Some(&admin),
                UPDATE,
                json!({ "webhookEndpointId": id, "url": url }),
            )
            .await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{url}: {res}");
    }
    let listed = endpoints(&app, &admin).await;
    assert_eq!(listed[0]["url"], public, "{listed:?}");
}

// ---------------------------------------------------------------------------------------
// 8. Bad input.

#[tokio::test]
async fn bad_input_is_refused_and_creates_nothing() {
    let app = spawn().await;
    let admin = app.admin().await;
    let url = "http://127.0.0.1:9/hook";

    // An event type that does not exist: a GraphQL error before any resolver.
    let res = app
        .mutate(
            Some(&admin),
            CREATE,
            json!({ "url": url, "events": ["TICKET_CREATED", "TICKET_EXPLODED"] }),
        )
        .await;
    assert!(res["errors"].is_array(), "{res}");
    assert!(
        res["data"].is_null() || res["data"]["createWebhookEndpoint"].is_null(),
        "{res}"
    );
    assert!(
        res["errors"].to_string().contains("TICKET_EXPLODED"),
        "{res}"
    );
    // The wire name is not the enum's name.
    let res = app
        .mutate(
            Some(&admin),
            CREATE,
            json!({ "url": url, "events": ["ticket.created"] }),
        )
        .await;
    assert!(res["errors"].is_array(), "{res}");

    let res = app
        .mutate(Some(&admin), CREATE, json!({ "url": url, "events": [] }))
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");

    let long = "d".repeat(10_000);
    let res = app
        .mutate(
            Some(&admin),
            CREATE,
            json!({ "url": url, "events": ["TICKET_CREATED"], "description": long }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    let long_url = format!("http://127.0.0.1:9/{}", "a".repeat(3_000));
    let res = app
        .mutate(
            Some(&admin),
            CREATE,
            json!({ "url": long_url, "events": ["TICKET_CREATED"] }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");

    assert!(endpoints(&app, &admin).await.is_empty());
    assert_eq!(app.count_rows("webhook_endpoint").await, 0);

    // Malformed, unknown and other-kind ids.
    let (id, _) = create_endpoint(&app, &admin, url, &["TICKET_CREATED"]).await;
    let row = row_id(&id);
    let bad_ids = [
        "not-an-id".to_owned(),
        "".to_owned(),
        b64("WebhookEndpoint:abc"),
        b64("WebhookEndpoint:-1"),
        gid("Ticket", row),
        made_up("WebhookEndpoint"),
    ];
    for bad in &bad_ids {
        for (m, input) in [
            (
                UPDATE,
                json!({ "webhookEndpointId": bad, "enabled": false }),
            ),
            (DELETE, json!({ "webhookEndpointId": bad })),
            (ROTATE, json!({ "webhookEndpointId": bad })),
        ] {
            let res = app.mutate(Some(&admin), m, input).await;
            assert_eq!(code(&res), "NOT_FOUND", "{bad:?} on {m}: {res}");
        }
    }
    for bad in [
        "not-an-id".to_owned(),
        made_up("Delivery"),
        gid("Ticket", 1),
    ] {
        let res = app
            .mutate(Some(&admin), RETRY, json!({ "deliveryId": bad }))
            .await;
        assert_eq!(code(&res), "NOT_FOUND", "{bad:?}: {res}");
    }

    // The same checks on update.
    for input in [
        json!({ "webhookEndpointId": id, "events": [] }),
        json!({ "webhookEndpointId": id, "description": "d".repeat(10_000) }),
        json!({ "webhookEndpointId": id, "url": "ftp://x/" }),
        json!({ "webhookEndpointId": id, "url": "not a url" }),
    ] {
        let res = app.mutate(Some(&admin), UPDATE, input.clone()).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{input}: {res}");
    }
    let listed = endpoints(&app, &admin).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["url"], url);
    assert_eq!(listed[0]["events"], json!(["TICKET_CREATED"]));
    assert_eq!(listed[0]["enabled"], true);
    assert_eq!(app.count_rows("webhook_secret").await, 1);

    // And a good update changes what it names, only.
    let p = app
        .mutate_ok(
            &admin,
            UPDATE,
            json!({ "webhookEndpointId": id, "events": ["RELEASE_SHIPPED", "COMMENT_ADDED"] }),
        )
        .await;
    let mut events: Vec<_> = p["webhookEndpoint"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    events.sort();
    assert_eq!(events, ["COMMENT_ADDED", "RELEASE_SHIPPED"], "{p}");
    assert_eq!(p["webhookEndpoint"]["url"], url, "{p}");
    assert_eq!(p["webhookEndpoint"]["description"], "test receiver", "{p}");
}

/// With `webhook_allow_private`, loopback is allowed on update too (the other side of 8);
/// and the list pages.
#[tokio::test]
async fn loopback_is_allowed_when_configured() {
    let app = spawn().await;
    let admin = app.admin().await;
    let mut made = Vec::new();
    for n in 0..3 {
        let url = format!("http://127.0.0.1:9/page{n}");
        made.push(
            create_endpoint(&app, &admin, &url, &["RELEASE_SHIPPED"])
                .await
                .0,
        );
    }
    let page = "query($after: String) { webhookEndpoints(first: 2, after: $after) {
      nodes { id } pageInfo { hasNextPage endCursor } } }";
    let res = app.gql(Some(&admin), page, json!({})).await;
    let first = &data(&res)["webhookEndpoints"];
    assert_eq!(
        first["nodes"],
        json!([{ "id": made[0] }, { "id": made[1] }]),
        "{res}"
    );
    assert_eq!(first["pageInfo"]["hasNextPage"], true, "{res}");
    let res = app
        .gql(
            Some(&admin),
            page,
            json!({ "after": first["pageInfo"]["endCursor"] }),
        )
        .await;
    let second = &data(&res)["webhookEndpoints"];
    assert_eq!(second["nodes"], json!([{ "id": made[2] }]), "{res}");
    assert_eq!(second["pageInfo"]["hasNextPage"], false, "{res}");

    let (id, _) = create_endpoint(&app, &admin, "http://127.0.0.1:9/a", &["RELEASE_SHIPPED"]).await;
    let p = app
        .mutate_ok(
            &admin,
            UPDATE,
            json!({ "webhookEndpointId": id, "url": "http://localhost:9/b" }),
        )
        .await;
    assert!(
        p["webhookEndpoint"]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost:9/b"),
        "{p}"
    );
    // Still only http(s).
    let res = app
        .mutate(
            Some(&admin),
            UPDATE,
            json!({ "webhookEndpointId": id, "url": "file:///etc/passwd" }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
}

// ---------------------------------------------------------------------------------------
// 9. Deleting.

#[tokio::test]
async fn deleting_an_endpoint_gives_up_what_was_waiting_for_it() {
    let app = spawn().await;
    let rx = Receiver::start().await;
    let admin = app.admin().await;
    let customer = app.customer("acme").await;
    // Busy for an hour: the delivery waits, pending.
    rx.always("/later", Reply::RetryAfter(503, 3_600));
    let url = rx.url("/later");
    let (id, _) = create_endpoint(&app, &admin, &url, &["TICKET_CREATED"]).await;
    let (keep, _) = create_endpoint(&app, &admin, &rx.url("/keep"), &["TICKET_CREATED"]).await;

    app.create_ticket(&customer, "will wait").await;
    rx.wait_for("/later", 1, ARRIVAL).await;
    let pending = wait_delivery(&app, &admin, &url, 10, |d| {
        d["status"] == "PENDING" && d["attempts"] == 1 && d["lastError"].is_string()
    })
    .await;
    let next = rfc3339(&pending["nextAttemptAt"]);
    assert!(
        next > chrono::Utc::now() + chrono::Duration::minutes(30),
        "Retry-After on 503 honoured: {pending}"
    );

    let p = app
        .mutate_ok(&admin, DELETE, json!({ "webhookEndpointId": id }))
        .await;
    assert_eq!(p["deletedWebhookEndpointId"], id.as_str(), "{p}");

    let listed = endpoints(&app, &admin).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], keep.as_str());
    let d = wait_delivery(&app, &admin, &url, 5, |d| d["status"] == "FAILED").await;
    assert_eq!(d["id"], pending["id"], "{d}");
    let error = d["lastError"].as_str().unwrap_or("");
    assert!(error.contains("deleted"), "{d}");
    assert!(d["nextAttemptAt"].is_null(), "{d}");

    // Gone everywhere: by id, and a second delete.
    let res = app.gql(Some(&admin), NODE, json!({ "id": id })).await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");
    let res = app
        .mutate(Some(&admin), DELETE, json!({ "webhookEndpointId": id }))
        .await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");
    for m in [UPDATE, ROTATE] {
        let res = app
            .mutate(Some(&admin), m, json!({ "webhookEndpointId": id }))
            .await;
        assert_eq!(code(&res), "NOT_FOUND", "{m}: {res}");
    }

    // Later events go to the one that is left only.
    app.create_ticket(&customer, "after the delete").await;
    let kept = rx.wait_for("/keep", 2, ARRIVAL).await;
    assert_eq!(kept.len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.seen("/later").len(), 1);
}
