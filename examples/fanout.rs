//! S1 fan-out benchmark: N idle sockets on one tier3 process, K subscriptions on each, then
//! status changes; for each change, the delay until every subscription has it, and the
//! server's resident memory per socket and per subscription. Method and recorded figures:
//! BENCHMARKS.md.
//!
//! ```sh
//! JWT_SECRET=… cargo run --release --example fanout -- --url http://127.0.0.1:8000 \
//!     --server-pid 1234 --subscribers 10000 --changes 20 [--per-socket K] [--sources M] \
//!     [--role agent|customer]
//! ```
//!
//! With `--role customer` every socket is a different customer of the ticket's
//! organization, each granted organization scope by an admin, so every event is authorized
//! for every one of them at delivery. `--sources M` spreads the sockets over the loopback
//! addresses 127.0.0.2 … 127.0.0.(M+1), each with its own ephemeral ports.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tier3::{
    Config,
    auth::{Claims, Keys},
};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

struct Args {
    url: String,
    pid: Option<u32>,
    /// Sockets.
    subscribers: usize,
    per_socket: usize,
    sources: u8,
    changes: usize,
    role: String,
}

/// The documents a socket's subscriptions take in turn: every one gets a status change,
/// and each is rendered on its own.
const DOCUMENTS: [&str; 6] = [
    "subscription { ticketStatusChanged { toStatus ticket { number } } }",
    "subscription { ticketStatusChanged { fromStatus toStatus } }",
    "subscription { ticketUpdates { kind toStatus } }",
    "subscription { ticketUpdates { kind createdAt ticket { subject status } } }",
    "subscription { ticketStatusChanged { toStatus ticket { subject status } } }",
    "subscription { ticketUpdates { cursor kind actor { name } } }",
];

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:8000".into(),
        pid: None,
        subscribers: 1000,
        per_socket: 1,
        sources: 1,
        changes: 20,
        role: "agent".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => a.url = value,
            "--server-pid" => a.pid = value.parse().ok(),
            "--subscribers" => a.subscribers = value.parse().expect("--subscribers N"),
            "--changes" => a.changes = value.parse().expect("--changes N"),
            "--per-socket" => a.per_socket = value.parse().expect("--per-socket K"),
            "--sources" => a.sources = value.parse().expect("--sources M (1-250)"),
            "--role" => a.role = value,
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        (1..=DOCUMENTS.len()).contains(&a.per_socket),
        "--per-socket 1-6"
    );
    assert!((1..=250).contains(&a.sources), "--sources 1-250");
    a
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn token(keys: &Keys, sub: &str, role: &str, org: Option<&str>) -> String {
    keys.sign(&Claims {
        sub: sub.into(),
        role: role.into(),
        org: org.map(Into::into),
        email: None,
        name: None,
        exp: jsonwebtoken::get_current_timestamp() + 3 * 3600,
        iss: None,
        aud: None,
    })
    .expect("sign")
}

async fn gql(client: &reqwest::Client, url: &str, token: &str, query: &str, vars: Value) -> Value {
    client
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// One `next` message: for which subscription (numbered across sockets), when, and whether
/// it carried errors.
type Arrival = (usize, Instant, bool);

/// One socket: connects from `source`, starts `per_socket` subscriptions numbered from
/// `first`, and reports the arrival of every `next` message on each.
async fn subscriber(
    ws_url: String,
    source: std::net::IpAddr,
    token: String,
    (first, per_socket): (usize, usize),
    ready: Arc<AtomicUsize>,
    tx: mpsc::UnboundedSender<Arrival>,
) {
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let host = req.uri().authority().unwrap().as_str().to_owned();
    let connect = async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind((source, 0).into())?;
        let stream = socket.connect(host.parse().expect("ip:port")).await?;
        tokio_tungstenite::client_async(req, stream)
            .await
            .map_err(std::io::Error::other)
    };
    let (mut ws, _) = match connect.await {
        Ok(ok) => ok,
        Err(err) => {
            eprintln!("connect failed: {err}");
            return;
        }
    };
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(
        json!({ "type": "connection_init", "payload": { "token": token } }),
    ))
    .await
    .ok();
    for (i, query) in DOCUMENTS.iter().take(per_socket).enumerate() {
        ws.send(send(json!({ "id": i.to_string(), "type": "subscribe",
            "payload": { "query": query } })))
            .await
            .ok();
    }
    let mut counted = false;
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg {
            if t.contains("connection_ack") && !counted {
                counted = true;
                ready.fetch_add(1, Ordering::SeqCst);
            } else if t.contains("\"next\"") {
                let at = Instant::now();
                let v: Value = serde_json::from_str(&t).unwrap_or_default();
                let id: usize = v["id"].as_str().and_then(|i| i.parse().ok()).unwrap_or(0);
                if id < per_socket {
                    let failed = !v["payload"]["errors"].is_null();
                    let _ = tx.send((first + id, at, failed));
                }
            } else if t.contains("\"ping\"") {
                ws.send(send(json!({ "type": "pong" }))).await.ok();
            }
        }
    }
}

/// What arrived for one change.
struct Got {
    /// Each subscription's first arrival since the change was sent.
    delays: Vec<Instant>,
    /// Further `next` messages for a subscription that already had this change's.
    repeats: usize,
    /// `next` messages carrying errors (a subscription ended or refused).
    errors: usize,
    /// Which subscriptions had one.
    seen: Vec<bool>,
}

impl Got {
    /// How many subscriptions of each document had nothing.
    fn missing_by_document(&self, per_socket: usize) -> Vec<usize> {
        let mut missing = vec![0; per_socket];
        for (sub, seen) in self.seen.iter().enumerate() {
            if !seen {
                missing[sub % per_socket] += 1;
            }
        }
        missing
    }
}

/// Waits until each of `subscriptions` has a message sent after `since`, or `patience` ran
/// out.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Arrival>,
    subscriptions: usize,
    since: Instant,
    patience: Duration,
) -> Got {
    let deadline = Instant::now() + patience;
    let mut got = Got {
        delays: Vec::with_capacity(subscriptions),
        repeats: 0,
        errors: 0,
        seen: vec![false; subscriptions],
    };
    while got.delays.len() < subscriptions {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some((_, at, _))) if at < since => {}
            Ok(Some((_, _, true))) => got.errors += 1,
            Ok(Some((sub, at, false))) => match got.seen.get_mut(sub) {
                Some(seen @ false) => {
                    *seen = true;
                    got.delays.push(at);
                }
                _ => got.repeats += 1,
            },
            _ => break,
        }
    }
    got
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

#[tokio::main]
async fn main() {
    let a = args();
    let config = Config::for_database("unused", std::env::var("JWT_SECRET").expect("JWT_SECRET"));
    let keys = Keys::from_config(&config).expect("keys");
    let client = reqwest::Client::new();
    let ws_url = a.url.replacen("http", "ws", 1) + "/graphql/ws";
    let run = std::process::id();

    // The ticket whose status changes, opened by a customer; an agent changes it.
    let customer = token(
        &keys,
        &format!("fanout-customer-{run}"),
        "customer",
        Some("fanout"),
    );
    let agent = token(&keys, &format!("fanout-agent-{run}"), "agent", None);
    let res = gql(&client, &a.url, &customer,
        "mutation { createTicket(input: { subject: \"fan-out\", description: \"bench\" }) { ticket { id } } }",
        json!({})).await;
    let ticket = res["data"]["createTicket"]["ticket"]["id"]
        .as_str()
        .expect("ticket")
        .to_owned();

    // Customers: each socket a colleague of the requester, granted organization scope, so
    // the policy decides every event for every one of them.
    let tokens: Vec<String> = match a.role.as_str() {
        "customer" => {
            let admin = token(&keys, &format!("fanout-admin-{run}"), "admin", None);
            let granted = Instant::now();
            let tokens: Vec<String> = futures_util::stream::iter(0..a.subscribers)
                .map(|i| {
                    let (client, url, keys, admin) = (&client, &a.url, &keys, &admin);
                    async move {
                        let sub = format!("fanout-colleague-{run}-{i}");
                        let t = token(keys, &sub, "customer", Some("fanout"));
                        let me = gql(client, url, &t, "{ viewer { id } }", json!({})).await;
                        let id = me["data"]["viewer"]["id"].as_str().expect("viewer").to_owned();
                        let res = gql(client, url, admin,
                            "mutation($i: GrantOrganizationScopeInput!) { grantOrganizationScope(input: $i) { user { id } } }",
                            json!({ "i": { "userId": id } })).await;
                        assert!(res["errors"].is_null(), "{res}");
                        t
                    }
                })
                .buffer_unordered(16)
                .collect()
                .await;
            println!(
                "granted organization scope to {} customers in {:.1}s",
                tokens.len(),
                granted.elapsed().as_secs_f64()
            );
            tokens
        }
        // Signed in once over HTTP first, as the customers are: provisioning a user is not
        // what an idle socket costs.
        role => {
            let tokens: Vec<String> = (0..a.subscribers)
                .map(|i| token(&keys, &format!("fanout-sub-{run}-{i}"), role, None))
                .collect();
            futures_util::stream::iter(&tokens)
                .map(|t| gql(&client, &a.url, t, "{ viewer { id } }", json!({})))
                .buffer_unordered(16)
                .for_each(|me| async move {
                    assert!(me["errors"].is_null(), "{me}");
                })
                .await;
            tokens
        }
    };

    let base_rss = a.pid.and_then(rss_kib);
    let ready = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    for (i, t) in tokens.into_iter().enumerate() {
        let source = std::net::Ipv4Addr::new(127, 0, 0, 2 + (i % a.sources as usize) as u8);
        tokio::spawn(subscriber(
            ws_url.clone(),
            source.into(),
            t,
            (i * a.per_socket, a.per_socket),
            ready.clone(),
            tx.clone(),
        ));
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    while ready.load(Ordering::SeqCst) < a.subscribers {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "only {} connected",
            ready.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let every subscribe message be processed before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let subscriptions = a.subscribers * a.per_socket;
    println!(
        "connected {} sockets with {subscriptions} subscriptions in {:.1}s",
        a.subscribers,
        started.elapsed().as_secs_f64()
    );
    let idle_rss = a.pid.and_then(rss_kib);

    // One change, not measured, that every subscription must receive before measuring: a
    // socket's `connection_ack` comes before its subscriptions are live, and nothing in the
    // protocol says when they are.
    let statuses = ["PENDING", "OPEN"];
    let change = |status: &'static str| {
        let (client, url, agent, ticket) = (&client, &a.url, &agent, &ticket);
        async move {
            let res = gql(
                client,
                url,
                agent,
                "mutation($i: UpdateTicketInput!) { updateTicket(input: $i) { ticket { status } } }",
                json!({ "i": { "ticketId": ticket, "status": status } }),
            )
            .await;
            assert!(res["errors"].is_null(), "{res}");
        }
    };
    let warm = Instant::now();
    let sent = Instant::now();
    change(statuses[1]).await;
    let warmup = collect(
        &mut rx,
        subscriptions,
        sent,
        Duration::from_secs(if subscriptions > 1000 { 120 } else { 10 }),
    )
    .await;
    println!(
        "warm-up change: {}/{subscriptions} subscriptions live after {:.1}s; missing by document: {:?}",
        warmup.delays.len(),
        warm.elapsed().as_secs_f64(),
        warmup.missing_by_document(a.per_socket)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    while rx.try_recv().is_ok() {}

    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    let mut alls = Vec::new();
    let mut extra_total = 0;
    for round in 0..a.changes {
        let sent = Instant::now();
        change(statuses[round % 2]).await;
        let committed = Instant::now();
        let got = collect(&mut rx, subscriptions, sent, Duration::from_secs(30)).await;
        let mut delays: Vec<f64> = got
            .delays
            .iter()
            .map(|at| at.saturating_duration_since(committed).as_secs_f64() * 1000.0)
            .collect();
        delays.sort_by(|x, y| x.partial_cmp(y).unwrap());
        let (p50, p99, all) = (
            percentile(&delays, 0.5),
            percentile(&delays, 0.99),
            *delays.last().unwrap_or(&f64::NAN),
        );
        // Anything more for this change, once every subscription had it: a repeat.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut repeats = got.repeats;
        while rx.try_recv().is_ok() {
            repeats += 1;
        }
        println!(
            "change {round:>2}: delivered {}/{}  p50 {p50:.1} ms  p99 {p99:.1} ms  all {all:.1} ms  errors {}  repeats {repeats}",
            delays.len(),
            subscriptions,
            got.errors,
        );
        extra_total += repeats + got.errors;
        p50s.push(p50);
        p99s.push(p99);
        alls.push(all);
    }
    println!("SUMMARY repeats_or_errors={extra_total}");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        percentile(v, 0.5)
    };
    println!(
        "SUMMARY sockets={} subscriptions={subscriptions} role={} median_p50_ms={:.1} median_p99_ms={:.1} median_all_ms={:.1}",
        a.subscribers,
        a.role,
        median(&mut p50s),
        median(&mut p99s),
        median(&mut alls)
    );
    if let (Some(base), Some(idle)) = (base_rss, idle_rss) {
        let grown = idle.saturating_sub(base) as f64 * 1024.0;
        println!(
            "SUMMARY server_rss_before_kib={base} server_rss_idle_kib={idle} per_socket_bytes={:.0} per_subscription_bytes={:.0}",
            grown / a.subscribers as f64,
            grown / subscriptions as f64
        );
    }
}
