//! S1 fan-out benchmark: N idle subscribers on one tier3 process, then status changes; for
//! each change, the delay until every subscriber has it, and the server's resident memory
//! per subscriber. Method and recorded figures: BENCHMARKS.md.
//!
//! ```sh
//! JWT_SECRET=… cargo run --release --example fanout -- --url http://127.0.0.1:8000 \
//!     --server-pid 1234 --subscribers 10000 --changes 20
//! ```

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
    subscribers: usize,
    changes: usize,
    role: String,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:8000".into(),
        pid: None,
        subscribers: 1000,
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
            "--role" => a.role = value,
            other => panic!("unknown flag {other}"),
        }
    }
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

/// One subscriber: connects, subscribes, and reports the arrival time of every event.
async fn subscriber(
    ws_url: String,
    token: String,
    ready: Arc<AtomicUsize>,
    tx: mpsc::UnboundedSender<(usize, Instant)>,
) {
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = match tokio_tungstenite::connect_async(req).await {
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
    ws.send(send(json!({ "id": "s", "type": "subscribe",
        "payload": { "query": "subscription { ticketStatusChanged { toStatus ticket { number } } }" } })))
        .await
        .ok();
    let mut counted = false;
    let mut n = 0usize;
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg {
            if t.contains("connection_ack") && !counted {
                counted = true;
                ready.fetch_add(1, Ordering::SeqCst);
            } else if t.contains("\"next\"") {
                let _ = tx.send((n, Instant::now()));
                n += 1;
            } else if t.contains("\"ping\"") {
                ws.send(send(json!({ "type": "pong" }))).await.ok();
            }
        }
    }
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

    let base_rss = a.pid.and_then(rss_kib);
    let ready = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    for i in 0..a.subscribers {
        let t = match a.role.as_str() {
            "customer" => customer.clone(),
            _ => token(&keys, &format!("fanout-sub-{run}-{i}"), &a.role, None),
        };
        tokio::spawn(subscriber(ws_url.clone(), t, ready.clone(), tx.clone()));
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
    println!(
        "connected {} subscribers in {:.1}s",
        a.subscribers,
        started.elapsed().as_secs_f64()
    );
    let idle_rss = a.pid.and_then(rss_kib);

    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    let mut alls = Vec::new();
    let statuses = ["PENDING", "OPEN"];
    for round in 0..a.changes {
        let status = statuses[round % 2];
        let res = gql(
            &client,
            &a.url,
            &agent,
            "mutation($i: UpdateTicketInput!) { updateTicket(input: $i) { ticket { status } } }",
            json!({ "i": { "ticketId": ticket, "status": status } }),
        )
        .await;
        let committed = Instant::now();
        assert!(res["errors"].is_null(), "{res}");
        let mut delays = Vec::with_capacity(a.subscribers);
        let deadline = committed + Duration::from_secs(30);
        while delays.len() < a.subscribers {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((n, at))) if n == round => {
                    delays.push(at.saturating_duration_since(committed).as_secs_f64() * 1000.0)
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        delays.sort_by(|x, y| x.partial_cmp(y).unwrap());
        let (p50, p99, all) = (
            percentile(&delays, 0.5),
            percentile(&delays, 0.99),
            *delays.last().unwrap_or(&f64::NAN),
        );
        println!(
            "change {round:>2}: delivered {}/{}  p50 {p50:.1} ms  p99 {p99:.1} ms  all {all:.1} ms",
            delays.len(),
            a.subscribers
        );
        p50s.push(p50);
        p99s.push(p99);
        alls.push(all);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        percentile(v, 0.5)
    };
    println!(
        "SUMMARY subscribers={} role={} median_p50_ms={:.1} median_p99_ms={:.1} median_all_ms={:.1}",
        a.subscribers,
        a.role,
        median(&mut p50s),
        median(&mut p99s),
        median(&mut alls)
    );
    if let (Some(base), Some(idle)) = (base_rss, idle_rss) {
        let per = (idle.saturating_sub(base)) as f64 * 1024.0 / a.subscribers as f64;
        println!(
            "SUMMARY server_rss_before_kib={base} server_rss_idle_kib={idle} per_subscriber_bytes={per:.0}"
        );
    }
}
