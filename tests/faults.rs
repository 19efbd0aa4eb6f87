//! Failure behaviour: the database going away and coming back, and SIGTERM.

mod common;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use common::{SECRET, TestApp, WsEvent, code, data, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::broadcast,
};

/// A TCP proxy in front of PostgreSQL that can "stop the database": every open connection
/// is cut and new ones are refused until it is "started" again.
struct DbProxy {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
    cut: broadcast::Sender<()>,
}

impl DbProxy {
    async fn start(upstream: String) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let (cut, _) = broadcast::channel(4);
        let (d, c) = (down.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if d.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = c.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.recv() => {}
                    }
                });
            }
        });
        DbProxy { addr, down, cut }
    }

    fn stop_database(&self) {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    fn start_database(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn host_port(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    let rest = rest.rsplit('@').next().unwrap();
    let host = rest.split('/').next().unwrap();
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

async fn ready(app: &TestApp) -> StatusCode {
    app.client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Only PostgreSQL can go away from under a running server; the embedded SQLite file cannot.
#[tokio::test]
async fn the_server_rides_out_a_database_outage_on_postgres() {
    if !common::needs_postgres("the_server_rides_out_a_database_outage_on_postgres") {
        return;
    }
    let admin = common::postgres_url().expect("PostgreSQL");
    let proxy = DbProxy::start(host_port(&admin)).await;
    let proxy_addr = proxy.addr;
    let app = TestApp::spawn_with(move |c| {
        let url = c.database_url.clone().unwrap();
        c.database_url = Some(url.replacen(&host_port(&url), &proxy_addr.to_string(), 1));
        c.db_timeout_secs = 2;
    })
    .await;
    let customer = app.customer("acme").await;
    let agent = app.agent().await;
    let ticket = app.create_ticket(&customer, "before the outage").await;
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe(
        "1",
        "subscription { ticketUpdates { cursor kind } }",
        json!({}),
    )
    .await;
    app.wait_subscribers(1).await;
    assert_eq!(ready(&app).await, StatusCode::OK);

    proxy.stop_database();
    assert!(
        eventually(5, || async {
            ready(&app).await == StatusCode::SERVICE_UNAVAILABLE
        })
        .await,
        "/readyz must fail while the database is down"
    );
    let create = r#"mutation($s: String!) { createTicket(input: { subject: $s, description: "d" }) { ticket { id } } }"#;
    for (who, query, vars) in [
        (
            &customer,
            "{ tickets(first: 5) { nodes { id } } }",
            json!({}),
        ),
        (&customer, create, json!({ "s": "during the outage" })),
    ] {
        let (status, body) = app
            .post(
                Some(&who.token),
                json!({ "query": query, "variables": vars }),
            )
            .await;
        assert!(body.is_object(), "a JSON answer: {status} {body}");
        assert_eq!(code(&body), "INTERNAL_SERVER_ERROR", "{body}");
        let text = body.to_string().to_lowercase();
        for leak in [
            "sqlx",
            "postgres",
            "connection",
            "pool",
            "refused",
            "select",
        ] {
            assert!(!text.contains(leak), "leaked `{leak}`: {body}");
        }
    }

    proxy.start_database();
    assert!(
        eventually(15, || async { ready(&app).await == StatusCode::OK }).await,
        "recovers without a restart"
    );
    // Reads and writes work again; the failed write left nothing behind.
    let ok = eventually(15, || async {
        app.gql(Some(&customer), create, json!({ "s": "after the outage" }))
            .await["errors"]
            .is_null()
    })
    .await;
    assert!(ok);
    let res = app
        .gql(
            Some(&agent),
            "{ tickets(first: 10) { nodes { subject } } }",
            json!({}),
        )
        .await;
    let subjects: Vec<&str> = data(&res)["tickets"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["subject"].as_str())
        .collect();
    assert!(subjects.contains(&"after the outage"));
    assert!(subjects.contains(&"before the outage"));
    assert!(!subjects.contains(&"during the outage"), "{subjects:?}");
    // And live updates flow again to the subscriber that was open all along.
    app.comment(&agent, &ticket, "back", false).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(Instant::now() < deadline, "no live event after the outage");
        match ws.next_event().await {
            WsEvent::Next(_, payload)
                if payload["data"]["ticketUpdates"]["kind"] == "COMMENT_ADDED" =>
            {
                break;
            }
            WsEvent::Next(..) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Runs the real binary, sends it SIGTERM mid-request, and watches it leave.
#[tokio::test]
async fn sigterm_drains_requests_closes_sockets_and_exits_in_time() {
    if !common::runs_on_sqlite_only(
        "sigterm_drains_requests_closes_sockets_and_exits_in_time",
        "nothing database-specific; the SQLite pass covers it",
    ) {
        return;
    }
    let mut server = common::Process::start(&[
        ("TIER3_SHUTDOWN_GRACE", "5"),
        // Every DataLoader batch waits 1.5 s: a request that is reliably in flight.
        ("TIER3_LOADER_DELAY_MS", "1500"),
    ])
    .await;
    let (addr, base) = (server.addr, format!("http://{}", server.addr));
    let client = reqwest::Client::new();

    let keys =
        tier3::auth::Keys::from_config(&tier3::Config::for_database("sqlite::memory:", SECRET))
            .unwrap();
    let agent = keys
        .sign(&TestApp::claims("sigterm-agent", "agent", None))
        .unwrap();
    let slow = {
        let (client, base, agent) = (client.clone(), base.clone(), agent.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/graphql"))
                .bearer_auth(agent)
                .json(&json!({ "query": "{ viewer { name organization { name } } }" }))
                .send()
                .await
        })
    };
    let mut ws = common::connect_ws(addr, json!({ "token": agent })).await;
    ws.ack().await;
    ws.subscribe("1", "subscription { ticketUpdates { cursor } }", json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;

    let started = Instant::now();
    server.signal("TERM");

    // The socket is closed with 1001 "going away".
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no close frame");
        match ws.next_event().await {
            WsEvent::Closed(code) => {
                assert_eq!(code, 1001);
                break;
            }
            _ => continue,
        }
    }
    // The in-flight request still gets its full answer.
    let res = slow.await.unwrap().expect("in-flight request answered");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["viewer"].is_object());

    let status = tokio::time::timeout(Duration::from_secs(8), server.child.wait())
        .await
        .expect("exited within the grace period")
        .unwrap();
    assert!(status.success(), "clean exit: {status}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    // Nothing listens any more.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}

/// A client that hangs up cancels its request: the work is dropped, not finished.
#[tokio::test]
async fn a_client_that_goes_away_cancels_its_work() {
    let app = TestApp::spawn_with(|c| c.loader_delay_ms = 2_000).await;
    let agent = app.agent().await;
    let slow = json!({
        "query": "query Abandoned { viewer { organization { name } } }",
        "operationName": "Abandoned",
    });
    let request = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&agent.token)
        .json(&slow)
        .send();
    // Hang up while the DataLoader is still waiting.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), request)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let metrics = app.metrics_text().await;
    assert!(
        !metrics.contains("operation=\"Abandoned\""),
        "the abandoned request ran to completion:\n{metrics}"
    );
    // The same request, waited for, does complete and is counted.
    let (status, _) = app.post(Some(&agent.token), slow).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = app.metrics_text().await;
    assert!(metrics.contains("operation=\"Abandoned\",outcome=\"ok\"} 1"));
}
