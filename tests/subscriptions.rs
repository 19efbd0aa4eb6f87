//! Live updates over a real WebSocket against a spawned server (graphql-transport-ws).

mod common;

use common::{TestApp, WsEvent, data, event_position, made_up, steps::ADD_COMMENT};
use serde_json::{Value, json};

const EVENT: &str = "cursor kind fromStatus toStatus public ticket { id } comment { body public }";

/// Reads `next` messages until one satisfies `pred`, returning every kind seen before it.
async fn until(
    ws: &mut common::Ws,
    field: &str,
    pred: impl Fn(&Value) -> bool,
) -> (Vec<Value>, Value) {
    let mut before = Vec::new();
    loop {
        let (_, d) = ws.next_data().await;
        let e = d[field].clone();
        if pred(&e) {
            return (before, e);
        }
        before.push(e);
    }
}

#[tokio::test]
async fn hotfix_updates_reach_their_customer_only() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let agent = app.agent().await;
    let dev = app.developer().await;
    let lead = app.triage_lead().await;
    let alices = app.create_ticket(&alice, "EUR checkout 502").await;
    let carols = app.create_ticket(&carol, "unrelated").await;

    let q = format!("subscription {{ hotfixUpdates {{ {EVENT} }} }}");
    let mut a = app.ws(Some(&alice)).await;
    let mut c = app.ws(Some(&carol)).await;
    let mut s = app.ws(Some(&agent)).await;
    for ws in [&mut a, &mut c, &mut s] {
        ws.subscribe("h", &q, json!({})).await;
    }
    app.wait_subscribers(3).await;

    let esc = app.escalate(&agent, &alices, "Checkout 502", "P1").await;
    app.triage(&lead, &esc, "HOTFIX").await;
    app.post_update(&dev, &esc, "internal: FX cache", false)
        .await;
    app.post_update(&dev, &esc, "fix being tested", true).await;
    let rel = app.create_release(&lead, "1.0.1", "HOTFIX").await;
    app.schedule(&lead, &esc, &rel).await;
    app.mark_imminent(&lead, &rel).await;

    // Alice: triage, the public update (and its relay), scheduling, then her ticket solved.
    let (before, solved) = until(&mut a, "hotfixUpdates", |e| e["toStatus"] == "SOLVED").await;
    let kinds: Vec<&str> = before.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"TRIAGED"), "{kinds:?}");
    assert!(kinds.contains(&"ESCALATION_UPDATE_POSTED"), "{kinds:?}");
    assert!(
        before
            .iter()
            .all(|e| e["public"] == true && e["ticket"]["id"] == alices.as_str()),
        "{before:?}"
    );
    assert!(
        !format!("{before:?}").contains("FX cache"),
        "an internal update reached the customer"
    );
    assert_eq!(solved["ticket"]["id"], alices.as_str());

    // Staff see the internal update too.
    let (staff, _) = until(&mut s, "hotfixUpdates", |e| e["toStatus"] == "SOLVED").await;
    assert!(
        staff
            .iter()
            .any(|e| e["kind"] == "ESCALATION_UPDATE_POSTED" && e["public"] == false),
        "{staff:?}"
    );

    // Carol got nothing about Alice's ticket: the first thing she receives is her own
    // ticket's hotfix event, triggered now as a sentinel (delivery is in commit order).
    let esc2 = app.escalate(&agent, &carols, "Checkout 502", "P1").await;
    app.triage(&lead, &esc2, "HOTFIX").await;
    let (_, first) = c.next_data().await;
    assert_eq!(
        first["hotfixUpdates"]["ticket"]["id"],
        carols.as_str(),
        "{first}"
    );
}

#[tokio::test]
async fn revoking_scope_stops_events_about_colleagues_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let bob = app.customer("acme").await;
    let admin = app.admin().await;
    app.grant_scope(&admin, &alice).await;
    let bobs = app.create_ticket(&bob, "bob's").await;
    let alices = app.create_ticket(&alice, "alice's").await;

    let mut a = app.ws(Some(&alice)).await;
    a.subscribe(
        "u",
        &format!("subscription {{ ticketUpdates {{ {EVENT} }} }}"),
        json!({}),
    )
    .await;
    app.wait_subscribers(1).await;
    app.comment(&bob, &bobs, "first from bob", true).await;
    let (_, d) = a.next_data().await;
    assert_eq!(d["ticketUpdates"]["comment"]["body"], "first from bob");

    app.revoke_scope(&admin, &alice).await;
    app.comment(&bob, &bobs, "second from bob", true).await;
    app.comment(&alice, &alices, "sentinel", true).await;
    let (_, d) = a.next_data().await;
    assert_eq!(d["ticketUpdates"]["comment"]["body"], "sentinel", "{d}");
}

#[tokio::test]
async fn internal_comments_reach_staff_only() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "x").await;
    let mut a = app.ws(Some(&alice)).await;
    let mut s = app.ws(Some(&agent)).await;
    let q = format!("subscription {{ ticketUpdates {{ {EVENT} }} }}");
    a.subscribe("u", &q, json!({})).await;
    s.subscribe("u", &q, json!({})).await;
    app.wait_subscribers(2).await;
    app.comment(&agent, &t, "internal note", false).await;
    app.comment(&agent, &t, "public reply", true).await;
    let (_, d) = a.next_data().await;
    assert_eq!(d["ticketUpdates"]["comment"]["body"], "public reply");
    let (_, d) = s.next_data().await;
    assert_eq!(d["ticketUpdates"]["comment"]["body"], "internal note");
}

#[tokio::test]
async fn ticket_status_changed_follows_one_ticket_or_all_visible() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t1 = app.create_ticket(&alice, "one").await;
    let t2 = app.create_ticket(&alice, "two").await;
    let mut ws = app.ws(Some(&alice)).await;
    ws.subscribe(
        "one",
        "subscription($t: ID) { ticketStatusChanged(ticketId: $t) { ticket { id } toStatus } }",
        json!({ "t": t2 }),
    )
    .await;
    ws.subscribe(
        "all",
        "subscription { ticketStatusChanged { ticket { id } toStatus } }",
        json!({}),
    )
    .await;
    app.wait_subscribers(2).await;
    app.set_status(&agent, &t1, "OPEN").await;
    app.set_status(&agent, &t2, "PENDING").await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let (id, d) = ws.next_data().await;
        got.push((
            id,
            d["ticketStatusChanged"]["ticket"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            d["ticketStatusChanged"]["toStatus"]
                .as_str()
                .unwrap()
                .to_owned(),
        ));
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            ("all".into(), t1.clone(), "OPEN".into()),
            ("all".into(), t2.clone(), "PENDING".into()),
            ("one".into(), t2.clone(), "PENDING".into()),
        ]
    );
}

#[tokio::test]
async fn bad_subscription_input_gets_a_clear_error() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let carols = app.create_ticket(&carol, "not yours").await;
    let mut ws = app.ws(Some(&alice)).await;
    let q = "subscription($t: ID) { ticketStatusChanged(ticketId: $t) { toStatus } }";
    for (id, vars, code) in [
        ("a", json!({ "t": carols }), "NOT_FOUND"),
        ("b", json!({ "t": made_up("Ticket") }), "NOT_FOUND"),
        ("c", json!({ "t": "garbage" }), "NOT_FOUND"),
    ] {
        ws.subscribe(id, q, vars).await;
        let mut ev = ws.next_event().await;
        while matches!(ev, WsEvent::Complete(_)) {
            ev = ws.next_event().await;
        }
        match ev {
            WsEvent::Next(got, payload) | WsEvent::Error(got, payload) => {
                assert_eq!(got, id);
                let err = if payload.is_array() {
                    payload[0].clone()
                } else {
                    payload["errors"][0].clone()
                };
                assert_eq!(err["extensions"]["code"], code, "{payload}");
            }
            other => panic!("{other:?}"),
        }
    }
    ws.subscribe(
        "d",
        "subscription { ticketUpdates(after: \"nope\") { kind } }",
        json!({}),
    )
    .await;
    let mut ev = ws.next_event().await;
    while matches!(ev, WsEvent::Complete(_)) {
        ev = ws.next_event().await;
    }
    match ev {
        WsEvent::Next(_, payload) | WsEvent::Error(_, payload) => {
            let err = if payload.is_array() {
                payload[0].clone()
            } else {
                payload["errors"][0].clone()
            };
            assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{payload}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_bad_token_closes_the_socket_with_4401() {
    let app = TestApp::spawn().await;
    let mut ws = app.ws_raw(json!({ "token": "not-a-jwt" })).await;
    match ws.next_event().await {
        WsEvent::Closed(code) => assert_eq!(code, 4401),
        other => panic!("{other:?}"),
    }
    let mut ws = app.ws_raw(json!({ "Authorization": "Basic abc" })).await;
    match ws.next_event().await {
        WsEvent::Closed(code) => assert_eq!(code, 4401),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_expiring_token_ends_the_connection() {
    let app = TestApp::spawn().await;
    let mut claims = TestApp::claims("short-lived", "agent", None);
    // Refused (over HTTP too) once the leeway after `exp` is over: in about 2 s.
    claims.exp = jsonwebtoken::get_current_timestamp() + 2 - app.app.config.jwt_leeway_secs;
    let token = app.sign(&claims);
    let mut ws = app
        .ws_raw(json!({ "Authorization": format!("Bearer {token}") }))
        .await;
    ws.ack().await;
    ws.subscribe("u", "subscription { ticketUpdates { kind } }", json!({}))
        .await;
    match ws.next_event().await {
        WsEvent::Closed(code) => assert_eq!(code, 4401),
        other => panic!("{other:?}"),
    }
}

/// Seconds since the epoch, with the fraction, by the wall clock tokens are checked with.
fn wall_clock() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// While events stream, the socket still ends when its token does: the expiry is checked
/// before every message sent, at the instant HTTP starts refusing the same token (`exp`
/// plus the leeway), and nothing is sent after it.
#[tokio::test]
async fn an_expired_token_receives_nothing_while_events_stream() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let ticket = app.create_ticket(&alice, "busy ticket").await;

    let mut claims = TestApp::claims(&alice.sub, "customer", Some("acme"));
    claims.exp = jsonwebtoken::get_current_timestamp() + 2 - app.app.config.jwt_leeway_secs;
    let token = app.sign(&claims);
    // The first second jsonwebtoken refuses the token in: `exp < now - leeway`.
    let refused_from = (claims.exp + app.app.config.jwt_leeway_secs + 1) as f64;
    let mut ws = app.ws_raw(json!({ "token": token })).await;
    ws.ack().await;
    ws.subscribe(
        "u",
        "subscription { ticketUpdates { kind createdAt } }",
        json!({}),
    )
    .await;
    app.wait_subscribers(1).await;

    // Public comments on her ticket every 50 ms for 4 s: through the expiry and past it.
    let producer = {
        let (client, url, token, ticket) = (
            app.client.clone(),
            app.url("/graphql"),
            agent.token.clone(),
            ticket.clone(),
        );
        tokio::spawn(async move {
            let mut last_created = 0.0;
            for i in 0..80 {
                let body = json!({ "query": ADD_COMMENT, "variables": { "i": {
                    "ticketId": ticket, "body": format!("update {i}"), "public": true } } });
                let res: Value = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .expect("post")
                    .json()
                    .await
                    .expect("json");
                assert!(res["errors"].is_null(), "{res}");
                last_created = wall_clock();
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            last_created
        })
    };

    let mut arrivals = Vec::new();
    let (code, closed_at) = loop {
        match ws.next_event().await {
            WsEvent::Next(_, payload) => {
                let at = wall_clock();
                let created = chrono::DateTime::parse_from_rfc3339(
                    payload["data"]["ticketUpdates"]["createdAt"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{payload}")),
                )
                .expect("createdAt");
                arrivals.push((at, created.timestamp_millis() as f64 / 1000.0));
            }
            WsEvent::Closed(code) => break (code, wall_clock()),
            other => panic!("expected next or a close, got {other:?}"),
        }
    };
    assert_eq!(code, 4401, "closed with {code}");
    // Nothing after the close frame: the stream just ends.
    assert!(matches!(ws.next_event().await, WsEvent::Closed(_)));
    let last_created = producer.await.expect("producer");

    assert!(
        arrivals.len() >= 10,
        "only {} events before expiry",
        arrivals.len()
    );
    for (at, created) in &arrivals {
        // An event committed after the expiry was sent after it; an arrival may trail the
        // send by the loopback hop and this process's scheduling.
        assert!(
            *created < refused_from,
            "event of {created} sent after {refused_from}"
        );
        assert!(
            *at < refused_from + 0.25,
            "event arrived at {at}, refused from {refused_from}"
        );
    }
    // Closed when the token became invalid: not before, and promptly after.
    assert!(
        closed_at >= refused_from,
        "closed at {closed_at}, before {refused_from}"
    );
    assert!(
        closed_at < refused_from + 1.0,
        "closed at {closed_at}, refused from {refused_from}"
    );
    // Events went on after the close: they were withheld, not absent.
    assert!(
        last_created > closed_at + 0.5,
        "the producer stopped at {last_created}"
    );
    // And HTTP refuses the same token now.
    let (status, body) = app
        .post(
            Some(&app.sign(&claims)),
            json!({ "query": "{ viewer { id } }" }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{body}");
}

/// Disconnect, change things, reconnect with the last cursor: every missed event arrives
/// exactly once, in order — also after a server restart.
#[tokio::test]
async fn resume_from_a_cursor_misses_nothing_even_across_a_restart() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "resumable").await;
    let q =
        "subscription($after: String) { ticketUpdates(after: $after) { cursor comment { body } } }";

    let mut ws = app.ws(Some(&alice)).await;
    ws.subscribe("u", q, json!({ "after": null })).await;
    app.wait_subscribers(1).await;
    app.comment(&agent, &t, "m0", true).await;
    let (_, d) = ws.next_data().await;
    assert_eq!(d["ticketUpdates"]["comment"]["body"], "m0");
    let cursor = d["ticketUpdates"]["cursor"].as_str().unwrap().to_owned();
    drop(ws);

    for i in 1..=3 {
        app.comment(&agent, &t, &format!("m{i}"), true).await;
    }
    let app = app.restart().await;
    app.comment(&agent, &t, "m4", true).await;

    let mut ws = app.ws(Some(&alice)).await;
    ws.subscribe("u", q, json!({ "after": cursor })).await;
    app.comment(&agent, &t, "m5", true).await;
    let mut bodies = Vec::new();
    while bodies.len() < 5 {
        let (_, d) = ws.next_data().await;
        bodies.push(
            d["ticketUpdates"]["comment"]["body"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(bodies, ["m1", "m2", "m3", "m4", "m5"]);
}

/// Two tier3 processes on one PostgreSQL database: a change made through one reaches a
/// subscriber of the other (LISTEN/NOTIFY). SQLite is single-instance by design.
#[tokio::test]
async fn events_fan_out_across_replicas_on_postgres() {
    if !common::needs_postgres("events_fan_out_across_replicas_on_postgres") {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.replica().await;
    let alice = a.customer("acme").await;
    let agent = a.agent().await;
    let t = a.create_ticket(&alice, "across replicas").await;
    let mut ws = b.ws(Some(&alice)).await;
    ws.subscribe(
        "u",
        "subscription { ticketUpdates { comment { body } } }",
        json!({}),
    )
    .await;
    b.wait_subscribers(1).await;
    a.comment(&agent, &t, "from replica A", true).await;
    let (_, d) = ws.next_data().await;
    assert_eq!(
        d["ticketUpdates"]["comment"]["body"], "from replica A",
        "{d}"
    );
}

/// The PostgreSQL listener loses its connection (the backend is terminated): it reconnects
/// and catches up from the table, so nothing committed meanwhile is lost.
#[tokio::test]
async fn listener_reconnects_and_catches_up_on_postgres() {
    use sea_orm::ConnectionTrait as _;
    if !common::needs_postgres("listener_reconnects_and_catches_up_on_postgres") {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "listener").await;
    let mut ws = app.ws(Some(&alice)).await;
    ws.subscribe(
        "u",
        "subscription { ticketUpdates { comment { body } } }",
        json!({}),
    )
    .await;
    app.wait_subscribers(1).await;

    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                WHERE datname = current_database() AND query ILIKE 'LISTEN%'";
    let killed = app
        .app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            kill,
        ))
        .await
        .expect("terminate the listener");
    assert!(!killed.is_empty(), "no LISTEN backend found");
    app.comment(&agent, &t, "while the listener was down", true)
        .await;
    let (_, d) = ws.next_data().await;
    assert_eq!(
        d["ticketUpdates"]["comment"]["body"],
        "while the listener was down"
    );
}

/// Anonymous subscribers are refused ticket events (`UNAUTHENTICATED`, and the socket stays
/// open) and hear published release notes. tests/anonymous.rs covers every subscription.
#[tokio::test]
async fn anonymous_subscribers_hear_only_release_notes() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;
    let t = app.create_ticket(&alice, "private").await;
    let mut anon = app.ws(None).await;
    anon.subscribe("t", "subscription { ticketUpdates { kind } }", json!({}))
        .await;
    let err = match anon.next_event().await {
        WsEvent::Next(id, p) if id == "t" => p["errors"][0].clone(),
        WsEvent::Error(id, p) if id == "t" => p[0].clone(),
        other => panic!("expected the refusal, got {other:?}"),
    };
    assert_eq!(err["extensions"]["code"], "UNAUTHENTICATED", "{err}");
    anon.subscribe(
        "n",
        "subscription { releaseNotePublished { title items } }",
        json!({}),
    )
    .await;
    app.wait_subscribers(1).await;

    app.comment(&agent, &t, "not for strangers", true).await;
    let rel = app.create_release(&lead, "2.0.0", "HOTFIX").await;
    app.ship(&lead, &rel).await;
    app.publish_note(&lead, &rel, "2.0.0").await;
    let mut ev = anon.next_event().await;
    // The refused subscription's `complete`, if the refusal came as `next`.
    if matches!(&ev, WsEvent::Complete(id) if id == "t") {
        ev = anon.next_event().await;
    }
    match ev {
        WsEvent::Next(id, p) => {
            assert_eq!(id, "n", "{p}");
            assert_eq!(p["data"]["releaseNotePublished"]["title"], "2.0.0", "{p}");
        }
        other => panic!("expected the note, got {other:?}"),
    }
}

/// A row whose kind this version does not name (written by a newer one, sharing the
/// database) reads as `OTHER`: live, replayed and in the history, and the events after it
/// still arrive.
#[tokio::test]
async fn an_unknown_event_kind_is_other_and_blocks_nothing() {
    use base64::Engine as _;
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "from the future").await;
    let q =
        "subscription($after: String) { ticketUpdates(after: $after) { kind comment { body } } }";
    let mut ws = app.ws(Some(&alice)).await;
    ws.subscribe("u", q, json!({ "after": null })).await;
    app.wait_subscribers(1).await;
    // A copy of the ticket's creation event under a kind nobody here knows.
    app.app
        .db
        .execute_unprepared(
            "INSERT INTO event (kind, public, actor_id, org_id, ticket_id, created_at) \
             SELECT 'FROM_A_NEWER_VERSION', public, actor_id, org_id, ticket_id, created_at \
             FROM event ORDER BY id DESC LIMIT 1",
        )
        .await
        .unwrap();
    app.comment(&agent, &t, "after it", true).await;
    async fn next_kinds(ws: &mut common::Ws, n: usize) -> Vec<String> {
        let mut seen = Vec::new();
        while seen.len() < n {
            let (_, d) = ws.next_data().await;
            let e = &d["ticketUpdates"];
            seen.push(format!("{} {}", e["kind"], e["comment"]["body"]));
        }
        seen
    }
    assert_eq!(
        next_kinds(&mut ws, 2).await,
        [r#""OTHER" null"#, r#""COMMENT_ADDED" "after it""#]
    );

    let from_start = base64::engine::general_purpose::STANDARD.encode("cursor:0");
    let mut replay = app.ws(Some(&alice)).await;
    replay
        .subscribe("u", q, json!({ "after": from_start }))
        .await;
    assert_eq!(
        next_kinds(&mut replay, 3).await,
        [
            r#""TICKET_CREATED" null"#,
            r#""OTHER" null"#,
            r#""COMMENT_ADDED" "after it""#
        ]
    );

    let res = app
        .gql(
            Some(&alice),
            "query($id: ID!) { ticket(id: $id) { events { nodes { kind } } } }",
            json!({ "id": t }),
        )
        .await;
    let history: Vec<&str> = data(&res)["ticket"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["TICKET_CREATED", "OTHER", "COMMENT_ADDED"]);
}

/// PostgreSQL hands out event ids before commit, so a later event can commit first. The log
/// is read in transaction order and only below the oldest running transaction, so delivery
/// waits while an earlier transaction is open (cursors never pass an event that will still
/// arrive), delivers it first when it commits, and does not stall when it rolls back — with
/// no wake-up from that transaction's writer (here the test itself).
/// SQLite commits one transaction at a time, so there its ids become visible in order.
#[tokio::test]
async fn a_late_commit_is_delivered_in_order_and_a_rollback_does_not_stall_on_postgres() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if !common::needs_postgres(
        "a_late_commit_is_delivered_in_order_and_a_rollback_does_not_stall_on_postgres",
    ) {
        return;
    }
    let app = TestApp::spawn().await;
    let agent = app.agent().await;
    let customer = app.customer("acme").await;
    let t = app.create_ticket(&customer, "late commits").await;
    app.comment(&agent, &t, "original", false).await;
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe(
        "u",
        &format!("subscription {{ ticketUpdates {{ {EVENT} }} }}"),
        json!({}),
    )
    .await;
    app.wait_subscribers(1).await;
    // Another writer takes the next event id and has not committed yet.
    let copy = "INSERT INTO event (kind, public, actor_id, org_id, ticket_id, comment_id, \
                from_status, to_status, data, created_at) \
                SELECT kind, public, actor_id, org_id, ticket_id, comment_id, from_status, \
                to_status, data, now() FROM event WHERE kind = 'COMMENT_ADDED' \
                ORDER BY id DESC LIMIT 1";
    for outcome in ["commit", "rollback"] {
        let txn = app.app.db.begin().await.unwrap();
        txn.execute_unprepared(copy).await.unwrap();
        let body = format!("after the {outcome}");
        app.comment(&agent, &t, &body, false).await;
        let early =
            tokio::time::timeout(std::time::Duration::from_millis(500), ws.next_data()).await;
        assert!(
            early.is_err(),
            "delivered past an uncommitted id: {early:?}"
        );
        if outcome == "commit" {
            txn.commit().await.unwrap();
            let (_, first) = ws.next_data().await;
            assert_eq!(first["ticketUpdates"]["comment"]["body"], "original");
        } else {
            txn.rollback().await.unwrap();
        }
        let (_, next) = ws.next_data().await;
        assert_eq!(next["ticketUpdates"]["comment"]["body"], body.as_str());
    }
}

/// Many writers at once: a subscriber gets every ticket event of the log, once, in log order.
#[tokio::test]
async fn concurrent_writers_lose_no_event_and_keep_log_order() {
    let app = TestApp::spawn_with(|c| c.db_pool = 16).await;
    let agent = app.agent().await;
    let mut tickets = Vec::new();
    for i in 0..8 {
        let customer = app.customer("acme").await;
        tickets.push((
            customer.clone(),
            app.create_ticket(&customer, &format!("busy {i}")).await,
        ));
    }
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe("u", "subscription { ticketUpdates { cursor } }", json!({}))
        .await;
    app.wait_subscribers(1).await;
    let start = app.latest_position().await;
    let writers: Vec<_> = (0..24)
        .map(|w| {
            let app_url = app.url("/graphql");
            let client = app.client.clone();
            let (user, ticket) = tickets[w % tickets.len()].clone();
            tokio::spawn(async move {
                for n in 0..25 {
                    let body = json!({
                        "query": ADD_COMMENT,
                        "variables": { "i": { "ticketId": ticket, "body": format!("w{w} n{n}"), "public": true } },
                    });
                    let _ = client.post(&app_url).bearer_auth(&user.token).json(&body).send().await;
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    // Every event written since, in the log's order: (writing transaction, id).
    let written = common::log_after(&app.app.db, (start.tx, start.id)).await;
    assert!(written.len() > 100, "{}", written.len());
    let mut received = Vec::new();
    for _ in 0..written.len() {
        let (_, d) = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next_data())
            .await
            .expect("every event arrives");
        received.push(event_position(
            d["ticketUpdates"]["cursor"].as_str().unwrap(),
        ));
    }
    assert_eq!(received, written, "each event once, in log order");
}

/// A replay the server cannot read (here the event table is gone) is the server's failure:
/// `INTERNAL_SERVER_ERROR` with the cursor to resume from, never `RATE_LIMITED`.
#[tokio::test]
async fn a_replay_that_cannot_read_the_log_is_an_internal_error() {
    use sea_orm::ConnectionTrait as _;
    let app = TestApp::spawn().await;
    let agent = app.agent().await;
    let alice = app.customer("acme").await;
    app.create_ticket(&alice, "soon unreadable").await;
    // Published, so a subscriber from the start must read it from the table.
    assert!(
        common::eventually(5, || async {
            app.app.bus.watermark().is_some_and(|w| w.id >= 1)
        })
        .await
    );
    app.app
        .db
        .execute_unprepared("ALTER TABLE event RENAME TO event_gone")
        .await
        .expect("rename");
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe(
        "u",
        "subscription($after: String) { ticketUpdates(after: $after) { kind } }",
        json!({ "after": common::cursor(0) }),
    )
    .await;
    let err = match ws.next_event().await {
        WsEvent::Next(_, p) if !p["errors"].is_null() => p["errors"][0].clone(),
        WsEvent::Error(_, p) => p[0].clone(),
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(err["extensions"]["code"], "INTERNAL_SERVER_ERROR", "{err}");
    assert!(err["extensions"]["cursor"].is_string(), "{err}");
    assert!(!err.to_string().contains("event_gone"), "{err}");
}
