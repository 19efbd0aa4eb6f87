//! Live delivery you can prove: the event log is read in transaction order, so a writer
//! that keeps its transaction open delays delivery and loses nothing; a subscriber that
//! resumes on another replica after one is killed sees every event once; a lost wake-up
//! costs one poll interval.
//!
//! The PostgreSQL tests here hold transactions open on purpose. The oldest running
//! transaction is the whole server's, so while one is held every database on it waits:
//! they run one at a time, in this binary of their own.

mod common;

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use common::{TestApp, User, Ws, WsEvent, data, event_cursor, event_position, log_after};
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, TransactionTrait,
};
use serde_json::{Value, json};

/// One held-transaction test at a time (see the module comment).
static HOLDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const UPDATES: &str = "subscription($after: String) { ticketUpdates(after: $after) { cursor kind comment { body } } }";

/// The server's database, on a connection of the test's own (a writer tier3 does not know).
async fn outside_writer(app: &TestApp) -> DatabaseConnection {
    let url = app.app.config.database_url.clone().expect("database url");
    Database::connect(&url)
        .await
        .expect("connect as an outside writer")
}

/// Opens a transaction that writes one public `PRIORITY_CHANGED` event on `ticket` and
/// stays open until the caller commits it.
async fn hold_an_event(db: &DatabaseConnection, ticket: i64) -> (DatabaseTransaction, i64) {
    let txn = db.begin().await.unwrap();
    let row = txn
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            txn.get_database_backend(),
            "INSERT INTO event (kind, public, org_id, ticket_id, created_at) \
             SELECT 'PRIORITY_CHANGED', true, org_id, id, CURRENT_TIMESTAMP FROM ticket \
             WHERE id = $1 RETURNING id",
            [ticket.into()],
        ))
        .await
        .unwrap()
        .expect("the held event");
    (txn, row.try_get("", "id").unwrap())
}

/// Commits a held transaction and then, as tier3's own writers do, hints every replica
/// (outside the transaction). Without the hint the event would wait for the next poll.
async fn commit_and_hint(txn: DatabaseTransaction, db: &DatabaseConnection) {
    txn.commit().await.unwrap();
    db.execute_unprepared("NOTIFY tier3_events").await.unwrap();
}

/// The next `n` events on subscription `u`, as log positions.
async fn positions(ws: &mut Ws, n: usize, within: Duration) -> Vec<(i64, i64)> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while seen.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let (_, d) = tokio::time::timeout(left, ws.next_data())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events: {seen:?}", seen.len()));
        seen.push(event_position(
            d["ticketUpdates"]["cursor"].as_str().unwrap(),
        ));
    }
    seen
}

/// Public comments from `writers` tasks, `each` apiece, through `servers` in turn.
async fn write_comments(
    servers: &[&TestApp],
    writers: usize,
    each: usize,
    who: &User,
    ticket: &str,
) {
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let urls: Vec<String> = servers.iter().map(|s| s.url("/graphql")).collect();
            let client = servers[0].client.clone();
            let (token, ticket) = (who.token.clone(), ticket.to_owned());
            tokio::spawn(async move {
                for n in 0..each {
                    let body = json!({
                        "query": common::steps::ADD_COMMENT,
                        "variables": { "i": { "ticketId": ticket, "body": format!("w{w} n{n}"), "public": true } },
                    });
                    let res = client
                        .post(&urls[(w + n) % urls.len()])
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .expect("write");
                    let res: Value = res.json().await.unwrap();
                    assert!(res["errors"].is_null(), "{res}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

fn ticket_row(id: &str) -> i64 {
    common::row_id(id)
}

/// A transaction held open for a minute — longer than any timeout the server has — after
/// writing its event, while four other writers commit through two replicas: both replicas'
/// subscribers get every event once, in log order, the held one first (its transaction
/// started before theirs, so theirs wait behind it), and a replay says the same.
#[tokio::test]
async fn a_transaction_held_for_a_minute_is_delivered_once_in_order_on_two_replicas() {
    if !common::needs_postgres(
        "a_transaction_held_for_a_minute_is_delivered_once_in_order_on_two_replicas",
    ) {
        return;
    }
    let _one = HOLDING.lock().await;
    let a = TestApp::spawn().await;
    let b = a.replica().await;
    let alice = a.customer("acme").await;
    let agent = a.agent().await;
    let t = a.create_ticket(&alice, "held open").await;
    a.quiesce().await;
    let start = a.latest_position().await;
    let from = event_cursor((start.tx, start.id));

    let mut on_a = a.ws(Some(&agent)).await;
    let mut on_b = b.ws(Some(&agent)).await;
    on_a.subscribe("u", UPDATES, json!({ "after": from })).await;
    on_b.subscribe("u", UPDATES, json!({ "after": from })).await;
    a.wait_subscribers(1).await;
    b.wait_subscribers(1).await;

    let outside = outside_writer(&a).await;
    let held_since = Instant::now();
    let (held, held_id) = hold_an_event(&outside, ticket_row(&t)).await;
    write_comments(&[&a, &b], 4, 5, &agent, &t).await;
    // Committed, but behind the open transaction: nobody has them yet.
    on_a.stays_quiet(Duration::from_secs(2)).await;
    on_b.stays_quiet(Duration::from_secs(1)).await;
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(held_since.elapsed())).await;
    commit_and_hint(held, &outside).await;

    let log = log_after(&a.app.db, (start.tx, start.id)).await;
    assert_eq!(log.len(), 21, "{log:?}");
    assert_eq!(
        log[0].1, held_id,
        "the held transaction's event comes first"
    );
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(positions(ws, log.len(), Duration::from_secs(20)).await, log);
        ws.stays_quiet(Duration::from_millis(500)).await;
    }
    // A replay from the same cursor, on either replica, is the same list.
    for server in [&a, &b] {
        let mut ws = server.ws(Some(&agent)).await;
        ws.subscribe("r", UPDATES, json!({ "after": from })).await;
        assert_eq!(
            positions(&mut ws, log.len(), Duration::from_secs(10)).await,
            log
        );
    }
}

/// A live-only subscription made while an event is held behind an open transaction (and a
/// later one has committed) receives the held event when it commits: "from now" never
/// starts past an event that is still to come.
#[tokio::test]
async fn a_subscription_started_while_a_gap_is_open_gets_the_event_that_closes_it() {
    if !common::needs_postgres(
        "a_subscription_started_while_a_gap_is_open_gets_the_event_that_closes_it",
    ) {
        return;
    }
    let _one = HOLDING.lock().await;
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "gap").await;
    let outside = outside_writer(&app).await;
    let (held, held_id) = hold_an_event(&outside, ticket_row(&t)).await;
    // A later transaction commits: the log now has a committed event after an open one.
    app.comment(&agent, &t, "before the subscription", true)
        .await;

    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe("u", UPDATES, json!({ "after": null })).await;
    app.wait_subscribers(1).await;
    commit_and_hint(held, &outside).await;
    let (_, first) = ws.next_data().await;
    app.comment(&agent, &t, "after the subscription", true)
        .await;
    assert_eq!(
        first["ticketUpdates"]["kind"], "PRIORITY_CHANGED",
        "{first}"
    );
    assert_eq!(
        event_position(first["ticketUpdates"]["cursor"].as_str().unwrap()).1,
        held_id
    );
    // The comment committed before the subscription is not replayed to it.
    let (_, next) = ws.next_data().await;
    assert_eq!(
        next["ticketUpdates"]["comment"]["body"], "after the subscription",
        "{next}"
    );
}

/// Two replicas on one database, four writers, the replica serving a subscriber killed with
/// SIGKILL mid-stream: resuming on the other replica from the last cursor received, the
/// subscriber has every event exactly once, in log order.
#[tokio::test]
async fn a_subscriber_resuming_on_another_replica_after_sigkill_has_every_event_once() {
    if !common::needs_postgres(
        "a_subscriber_resuming_on_another_replica_after_sigkill_has_every_event_once",
    ) {
        return;
    }
    let _one = HOLDING.lock().await;
    let survivor = TestApp::spawn().await;
    let alice = survivor.customer("acme").await;
    let agent = survivor.agent().await;
    let t = survivor.create_ticket(&alice, "failover").await;
    survivor.quiesce().await;
    let start = survivor.latest_position().await;

    // The victim: the real binary on the same database.
    let db_url = survivor.app.config.database_url.clone().unwrap();
    let mut victim =
        common::Process::start(&[("DATABASE_URL", &db_url), ("TIER3_RATE_LIMIT", "1000000")]).await;
    let victim_addr = victim.addr;

    let mut ws = common::connect_ws(victim_addr, json!({ "token": agent.token })).await;
    ws.ack().await;
    ws.subscribe(
        "u",
        UPDATES,
        json!({ "after": event_cursor((start.tx, start.id)) }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let writers = {
        let survivor_url = survivor.url("/graphql");
        let client = survivor.client.clone();
        let (token, ticket) = (agent.token.clone(), t.clone());
        tokio::spawn(async move {
            let tasks: Vec<_> = (0..4)
                .map(|w| {
                    let (client, url, token, ticket) =
                        (client.clone(), survivor_url.clone(), token.clone(), ticket.clone());
                    tokio::spawn(async move {
                        for n in 0..40 {
                            let body = json!({
                                "query": common::steps::ADD_COMMENT,
                                "variables": { "i": { "ticketId": ticket, "body": format!("w{w} n{n}"), "public": true } },
                            });
                            let res = client.post(&url).bearer_auth(&token).json(&body).send().await;
                            assert!(res.expect("write").status().is_success());
                            tokio::time::sleep(Duration::from_millis(15)).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        })
    };

    // Mid-stream: some events in, then the victim dies without a word.
    let mut received = positions(&mut ws, 30, Duration::from_secs(20)).await;
    victim.signal("KILL");
    let _ = victim.child.wait().await;
    // Whatever was in flight before the socket dropped still counts.
    while let Ok(WsEvent::Next(_, d)) =
        tokio::time::timeout(Duration::from_secs(2), ws.next_event()).await
    {
        let cursor = d["data"]["ticketUpdates"]["cursor"].as_str();
        received.push(event_position(
            cursor.unwrap_or_else(|| panic!("not an event: {d}")),
        ));
    }

    let last = *received.last().unwrap();
    let mut ws = survivor.ws(Some(&agent)).await;
    ws.subscribe("u", UPDATES, json!({ "after": event_cursor(last) }))
        .await;
    writers.await.unwrap();
    // The log is the truth (a write may have lost an optimistic-lock race and been refused).
    let log = log_after(&survivor.app.db, (start.tx, start.id)).await;
    assert!(log.len() >= 120, "{}", log.len());
    let rest = positions(&mut ws, log.len() - received.len(), Duration::from_secs(20)).await;
    received.extend(rest);
    assert_eq!(received, log, "every event exactly once, in log order");
    ws.stays_quiet(Duration::from_millis(500)).await;
}

/// An event written without telling anyone (a wake-up lost as a client disconnects during
/// commit, or a write from outside tier3) is still delivered: every publisher polls.
#[tokio::test]
async fn a_lost_wake_up_costs_a_poll_interval_not_an_event() {
    let app = TestApp::spawn_with(|c| c.event_poll_ms = 200).await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "quiet write").await;
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe("u", UPDATES, json!({ "after": null })).await;
    app.wait_subscribers(1).await;
    let outside = outside_writer(&app).await;
    let (txn, id) = hold_an_event(&outside, ticket_row(&t)).await;
    txn.commit().await.unwrap();
    let got = positions(&mut ws, 1, Duration::from_secs(5)).await;
    assert_eq!(got[0].1, id);
}

/// `hotfixUpdates` judges the track as of each event: an escalation's events from before it
/// was triaged onto the hotfix track are not hotfix updates, even when they are read after.
#[tokio::test]
async fn the_hotfix_track_is_judged_as_of_the_event() {
    let _one = HOLDING.lock().await;
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;
    let t = app.create_ticket(&alice, "crash on save").await;
    let mut ws = app.ws(Some(&alice)).await;
    ws.subscribe("h", "subscription { hotfixUpdates { kind } }", json!({}))
        .await;
    app.wait_subscribers(1).await;

    // On PostgreSQL, hold delivery back so both events are read after the triage.
    let outside = outside_writer(&app).await;
    let held = if common::postgres_url().is_some() {
        Some(hold_an_event(&outside, ticket_row(&t)).await.0)
    } else {
        None
    };
    let e = app.escalate(&agent, &t, "crash on save", "P1").await;
    app.triage(&lead, &e, "HOTFIX").await;
    if let Some(held) = held {
        commit_and_hint(held, &outside).await;
    }
    let (_, d) = ws.next_data().await;
    assert_eq!(d["hotfixUpdates"]["kind"], "TRIAGED", "not ESCALATED: {d}");

    // What the log says, on either backend.
    let tracks = app
        .app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.app.db.get_database_backend(),
            "SELECT kind, escalation_track FROM event WHERE escalation_id IS NOT NULL ORDER BY tx, id",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "kind").unwrap(),
                r.try_get::<Option<String>>("", "escalation_track").unwrap(),
            )
        })
        .collect::<Vec<_>>();
    assert!(
        tracks.contains(&("ESCALATED".into(), None))
            && tracks.contains(&("TRIAGED".into(), Some("HOTFIX".into()))),
        "{tracks:?}"
    );
}

/// Replaying the whole log as a customer of a small organization reads that customer's
/// events, not the table: a bounded number of statements, however many events other
/// organizations have.
#[tokio::test]
async fn a_customer_replay_from_the_start_runs_a_bounded_number_of_statements() {
    let app = TestApp::spawn().await;
    let alice = app.customer("tiny").await;
    let bob = app.customer("huge").await;
    let agent = app.agent().await;
    let mine = app.create_ticket(&alice, "mine").await;
    app.comment(&agent, &mine, "public reply", true).await;
    app.comment(&agent, &mine, "internal note", false).await;
    let theirs = app.create_ticket(&bob, "theirs").await;
    // Three thousand events on another organization's ticket, six replay batches' worth.
    app.app
        .db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            app.app.db.get_database_backend(),
            "INSERT INTO event (kind, public, org_id, ticket_id, created_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
             SELECT 'PRIORITY_CHANGED', true, org_id, id, CURRENT_TIMESTAMP FROM ticket, n \
             WHERE ticket.id = $1",
            [ticket_row(&theirs).into()],
        ))
        .await
        .unwrap();
    app.app.bus.wake();
    app.quiesce().await;

    let mut ws = app.ws(Some(&alice)).await;
    app.quiesce().await;
    let before = app.statements.load(Ordering::SeqCst);
    app.log.lock().unwrap().clear();
    ws.subscribe("u", UPDATES, json!({ "after": event_cursor((0, 0)) }))
        .await;
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let (_, d) = ws.next_data().await;
        kinds.push(d["ticketUpdates"]["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds, ["TICKET_CREATED", "COMMENT_ADDED"]);
    ws.stays_quiet(Duration::from_millis(300)).await;
    let used = app.statements.load(Ordering::SeqCst) - before;
    let log = app.log.lock().unwrap().join("\n");
    assert!(
        used <= 6,
        "{used} statements for a replay of two events:\n{log}"
    );
    data(&app.gql(Some(&alice), "{ viewer { id } }", json!({})).await);
}
