//! The shared live stream: socket subscriptions that only go live are served from one
//! stream per process, rendered once per (document, audience). What must hold: sharing never
//! carries one viewer's answer to another, and nobody outside an event's audience gets it.

mod common;

use std::time::Duration;

use common::{TestApp, Ws, WsEvent};
use serde_json::{Value, json};

const STATUS: &str = "subscription { ticketStatusChanged { toStatus ticket { number subject } } }";

/// The value of a counter line in the metrics text (0 when absent).
fn counter(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn live_counts(app: &TestApp) -> (u64, u64) {
    let text = app.metrics_text().await;
    (
        counter(&text, "tier3_live_events_total{step=\"rendered\"}"),
        counter(&text, "tier3_live_events_total{step=\"sent\"}"),
    )
}

/// Nothing arrives on the socket for `quiet`.
async fn stays_quiet(ws: &mut Ws, quiet: Duration) {
    if let Ok(event) = tokio::time::timeout(quiet, ws.next_event()).await {
        panic!("expected nothing, got {event:?}");
    }
}

#[tokio::test]
async fn one_rendering_serves_every_agent_and_nobody_outside_the_ticket_gets_it() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let actor = app.agent().await;
    let t = app.create_ticket(&alice, "shared fan-out").await;

    let mut agents = Vec::new();
    for _ in 0..5 {
        let agent = app.agent().await;
        let mut ws = app.ws(Some(&agent)).await;
        ws.subscribe("s", STATUS, json!({})).await;
        agents.push(ws);
    }
    let mut a = app.ws(Some(&alice)).await;
    a.subscribe("s", STATUS, json!({})).await;
    let mut c = app.ws(Some(&carol)).await;
    c.subscribe("s", STATUS, json!({})).await;
    // Anonymous: refused at the start, so never on the shared stream.
    let mut anon = app.ws(None).await;
    anon.subscribe("s", STATUS, json!({})).await;
    match anon.next_event().await {
        WsEvent::Next(_, p) => assert_eq!(p["errors"][0]["extensions"]["code"], "UNAUTHENTICATED"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(matches!(anon.next_event().await, WsEvent::Complete(id) if id == "s"));
    app.wait_subscribers(7).await;
    let (rendered_before, sent_before) = live_counts(&app).await;

    app.set_status(&actor, &t, "PENDING").await;
    for ws in agents.iter_mut().chain([&mut a]) {
        let (id, d) = ws.next_data().await;
        assert_eq!(id, "s");
        assert_eq!(d["ticketStatusChanged"]["toStatus"], "PENDING");
        assert_eq!(
            d["ticketStatusChanged"]["ticket"]["subject"],
            "shared fan-out"
        );
    }
    stays_quiet(&mut c, Duration::from_millis(500)).await;
    stays_quiet(&mut anon, Duration::from_millis(100)).await;

    // One rendering for the five agents, one for Alice, none for Carol, who may not see it.
    let (rendered, sent) = live_counts(&app).await;
    assert_eq!(rendered - rendered_before, 2);
    assert_eq!(sent - sent_before, 6);
}

#[tokio::test]
async fn a_document_that_reads_the_person_is_rendered_for_each_person() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let (a1, a2) = (app.agent().await, app.agent().await);
    let t = app.create_ticket(&alice, "whose preferences").await;
    let q = "subscription { ticketUpdates { kind actor { name notificationPreferences { emailTicketUpdates } } } }";
    let mut w1 = app.ws(Some(&a1)).await;
    let mut w2 = app.ws(Some(&a2)).await;
    w1.subscribe("u", q, json!({})).await;
    w2.subscribe("u", q, json!({})).await;
    app.wait_subscribers(2).await;
    let (rendered_before, _) = live_counts(&app).await;

    app.comment(&a1, &t, "mine", false).await;
    let actor = |d: Value| d["ticketUpdates"]["actor"].clone();
    let (_, d1) = w1.next_data().await;
    let (_, d2) = w2.next_data().await;
    // Only the actor themself reads their preferences.
    assert_eq!(
        actor(d1)["notificationPreferences"]["emailTicketUpdates"],
        true
    );
    assert!(actor(d2)["notificationPreferences"].is_null());
    let (rendered, _) = live_counts(&app).await;
    assert_eq!(rendered - rendered_before, 2);
}

#[tokio::test]
async fn completing_one_subscription_leaves_the_others_and_a_closed_socket_leaves_none() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "two on one socket").await;
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe("one", STATUS, json!({})).await;
    ws.subscribe("two", STATUS, json!({})).await;
    app.wait_subscribers(2).await;
    ws.stop("one").await;
    match ws.next_event().await {
        WsEvent::Complete(id) => assert_eq!(id, "one"),
        other => panic!("expected complete, got {other:?}"),
    }
    app.set_status(&agent, &t, "PENDING").await;
    let (id, _) = ws.next_data().await;
    assert_eq!(id, "two");
    stays_quiet(&mut ws, Duration::from_millis(300)).await;

    ws.close().await;
    assert!(
        common::eventually(5, || async { app.app.bus.active_feeds() == 0 }).await,
        "a closed socket's subscriptions were left on the shared stream"
    );
}

#[tokio::test]
async fn a_subscription_that_replays_still_runs_and_resumes_exactly() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "replayed").await;
    let at = app.latest_position().await;
    let start = common::event_cursor((at.tx, at.id));
    app.set_status(&agent, &t, "PENDING").await;
    let mut ws = app.ws(Some(&alice)).await;
    ws.subscribe(
        "r",
        "subscription($a: String) { ticketUpdates(after: $a) { kind toStatus } }",
        json!({ "a": start }),
    )
    .await;
    let (_, d) = ws.next_data().await;
    assert_eq!(d["ticketUpdates"]["toStatus"], "PENDING");
    app.set_status(&agent, &t, "OPEN").await;
    let (_, d) = ws.next_data().await;
    assert_eq!(d["ticketUpdates"]["toStatus"], "OPEN");
    stays_quiet(&mut ws, Duration::from_millis(300)).await;
}
