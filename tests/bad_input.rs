//! Bad input end to end: every refusal carries one of the API's error codes in
//! `extensions.code`, leaks no SQL or internals, and changes nothing; concurrent writes to
//! one ticket lose nothing.

mod common;

use common::{
    MADE_UP, TestApp, User, b64, code, data, gid,
    steps::{ADD_COMMENT, CREATE_TICKET, UPDATE_TICKET},
};
use serde_json::{Value, json};

const TICKET: &str = "query($id: ID) { ticket(id: $id) { id status priority assignee { id } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { id } }";
const STATE: &str = "query($id: ID!) { ticket(id: $id) { status priority solvedBy assignee { id }
  comments(first: 100) { totalCount }
  events(first: 100) { totalCount nodes { kind fromStatus toStatus } } } }";

/// SQL that would mean a statement reached a client (case-sensitive: GraphQL's own parse
/// errors legitimately say "selection").
const SQL: [&str; 5] = ["SELECT", "INSERT", "UPDATE \"", "DELETE FROM", "WHERE"];
/// Names of internals (any case).
const INTERNALS: [&str; 8] = [
    "sqlx",
    "sea_orm",
    "sea-orm",
    "constraint",
    "postgres",
    "sqlite",
    "panicked",
    "src/",
];

/// Every error message of a response, checked for leaks.
fn assert_no_leaks(res: &Value) {
    for err in res["errors"].as_array().into_iter().flatten() {
        let message = err["message"].as_str().unwrap_or("");
        for word in SQL {
            assert!(
                !message.contains(word),
                "error message leaks {word:?}: {err}"
            );
        }
        let lower = message.to_ascii_lowercase();
        for word in INTERNALS {
            assert!(!lower.contains(word), "error message leaks {word:?}: {err}");
        }
    }
}

/// Asserts the first error's code, that there is a message, and that nothing leaks.
#[track_caller]
fn assert_code(case: &str, res: &Value, expected: &str) {
    assert_eq!(code(res), expected, "{case}: {res}");
    let message = res["errors"][0]["message"].as_str().unwrap_or("");
    assert!(!message.trim().is_empty(), "{case}: no message: {res}");
    assert_no_leaks(res);
}

/// Row counts of the tables a ticket write touches.
async fn snapshot(app: &TestApp) -> [i64; 3] {
    app.rows(["ticket", "comment", "event"]).await
}

/// The ticket as an agent sees it (status, priority, assignee, comments, events).
async fn state(app: &TestApp, agent: &User, id: &str) -> Value {
    let res = app.gql(Some(agent), STATE, json!({ "id": id })).await;
    data(&res)["ticket"].clone()
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_not_found() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let id = app.create_ticket(&alice, "real").await;
    app.comment(&agent, &id, "a real comment", true).await;
    let before = snapshot(&app).await;
    let ticket_before = state(&app, &agent, &id).await;

    let bad_ids: Vec<(&str, String)> = vec![
        ("unknown ticket", gid("Ticket", MADE_UP)),
        ("ticket id 0", gid("Ticket", 0)),
        ("negative ticket id", gid("Ticket", -1)),
        ("non-numeric ticket id", b64("Ticket:abc")),
        (
            "ticket id overflowing i64",
            b64("Ticket:99999999999999999999"),
        ),
        ("unknown kind", b64("Spaceship:1")),
        ("no kind", b64("1")),
        ("garbage", "garbage!!".into()),
        ("empty", String::new()),
        ("raw number", "1".into()),
        ("SQL", "1 OR 1=1; DROP TABLE ticket".into()),
        ("very long", "A".repeat(10_000)),
    ];
    // A User id (or a Comment id) where a Ticket id is expected.
    let wrong_kind: Vec<(&str, String)> = vec![
        ("a user id", alice.id.clone()),
        ("an agent's user id", agent.id.clone()),
        ("a comment id", gid("Comment", 1)),
    ];

    for (case, bad) in bad_ids.iter().chain(&wrong_kind) {
        for user in [&alice, &agent] {
            let case = format!("{case} as {}", user.role);
            let res = app.gql(Some(user), TICKET, json!({ "id": bad })).await;
            assert_code(&format!("ticket(id): {case}"), &res, "NOT_FOUND");
            assert!(res["data"]["ticket"].is_null(), "{case}: {res}");

            let res = app
                .gql(
                    Some(user),
                    ADD_COMMENT,
                    json!({ "i": { "ticketId": bad, "body": "hello", "public": true } }),
                )
                .await;
            assert_code(&format!("addComment: {case}"), &res, "NOT_FOUND");
            assert!(res["data"]["addComment"].is_null(), "{case}: {res}");

            let res = app
                .update_ticket(user, json!({ "ticketId": bad, "status": "SOLVED" }))
                .await;
            assert_code(&format!("updateTicket: {case}"), &res, "NOT_FOUND");
            assert!(res["data"]["updateTicket"].is_null(), "{case}: {res}");
        }
    }
    // `node(id)` takes any kind: only the malformed and unknown ones are NOT_FOUND.
    for (case, bad) in &bad_ids {
        for user in [&alice, &agent] {
            let res = app.gql(Some(user), NODE, json!({ "id": bad })).await;
            assert_code(&format!("node: {case}"), &res, "NOT_FOUND");
            assert!(res["data"]["node"].is_null(), "{case}: {res}");
        }
    }
    for kind in ["Ticket", "Comment", "User", "Organization"] {
        let res = app
            .gql(Some(&agent), NODE, json!({ "id": gid(kind, MADE_UP) }))
            .await;
        assert_code(&format!("node: unknown {kind}"), &res, "NOT_FOUND");
    }
    // By number too.
    let res = app
        .gql(
            Some(&agent),
            "query($n: Int!) { ticket(number: $n) { id } }",
            json!({ "n": MADE_UP }),
        )
        .await;
    assert_code("ticket(number): unknown", &res, "NOT_FOUND");

    assert_eq!(snapshot(&app).await, before);
    assert_eq!(state(&app, &agent, &id).await, ticket_before);
}

#[tokio::test]
async fn ticket_needs_exactly_one_of_id_and_number() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let id = app.create_ticket(&alice, "one").await;
    for (case, q, vars) in [
        ("neither", "{ ticket { id } }", json!({})),
        (
            "both",
            "query($id: ID, $n: Int) { ticket(id: $id, number: $n) { id } }",
            json!({ "id": id, "n": 1 }),
        ),
        (
            "both null",
            "query($id: ID, $n: Int) { ticket(id: $id, number: $n) { id } }",
            json!({ "id": null, "n": null }),
        ),
    ] {
        let res = app.gql(Some(&alice), q, vars).await;
        assert_code(case, &res, "BAD_USER_INPUT");
        assert!(res["data"]["ticket"].is_null(), "{case}: {res}");
    }
}

#[tokio::test]
async fn text_fields_are_required_and_bounded() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let id = app.create_ticket(&alice, "existing").await;
    let before = snapshot(&app).await;

    let long_subject = "s".repeat(201);
    let long_body = "b".repeat(20_001);
    // Characters, not bytes: 201 two-byte characters are too many.
    let long_accented = "é".repeat(201);
    for (case, subject, description) in [
        ("empty subject", "", "fine"),
        ("whitespace subject", " \t\n  ", "fine"),
        ("subject over 200", long_subject.as_str(), "fine"),
        ("accented subject over 200", long_accented.as_str(), "fine"),
        ("empty description", "fine", ""),
        ("whitespace description", "fine", "   \n\n  "),
        ("description over 20,000", "fine", long_body.as_str()),
    ] {
        let res = app
            .gql(
                Some(&alice),
                CREATE_TICKET,
                json!({ "i": { "subject": subject, "description": description } }),
            )
            .await;
        assert_code(case, &res, "BAD_USER_INPUT");
        assert!(res["data"]["createTicket"].is_null(), "{case}: {res}");
    }
    for (case, body) in [
        ("empty body", ""),
        ("whitespace body", " \r\n\t "),
        ("body over 20,000", long_body.as_str()),
    ] {
        for (user, public) in [(&alice, true), (&agent, true), (&agent, false)] {
            let res = app
                .gql(
                    Some(user),
                    ADD_COMMENT,
                    json!({ "i": { "ticketId": id, "body": body, "public": public } }),
                )
                .await;
            assert_code(case, &res, "BAD_USER_INPUT");
            assert!(res["data"]["addComment"].is_null(), "{case}: {res}");
        }
    }
    // Bad text on a ticket that does not exist: either refusal is fine, nothing changes.
    let res = app
        .gql(
            Some(&agent),
            ADD_COMMENT,
            json!({ "i": { "ticketId": gid("Ticket", MADE_UP), "body": "", "public": true } }),
        )
        .await;
    assert!(
        ["BAD_USER_INPUT", "NOT_FOUND"].contains(&code(&res)),
        "{res}"
    );
    assert_eq!(snapshot(&app).await, before);

    // The limits themselves are accepted (and counted in characters).
    let res = app
        .gql(
            Some(&alice),
            CREATE_TICKET,
            json!({ "i": { "subject": "é".repeat(200), "description": "d".repeat(20_000) } }),
        )
        .await;
    assert!(data(&res)["createTicket"]["ticket"]["id"].is_string());
    app.comment(&alice, &id, &"c".repeat(20_000), true).await;
}

#[tokio::test]
async fn page_sizes_and_cursors_are_validated() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let id = app.create_ticket(&alice, "paged").await;
    app.comment(&agent, &id, "one", true).await;
    let before = snapshot(&app).await;

    let lists = [
        "query($first: Int, $after: String) { tickets(first: $first, after: $after) { totalCount nodes { id } } }",
        "query($first: Int, $after: String) { users(first: $first, after: $after) { nodes { id } } }",
        "query($first: Int, $after: String) { organizations(first: $first, after: $after) { nodes { id } } }",
    ];
    let nested = [
        "query($id: ID!, $first: Int, $after: String) { ticket(id: $id) { comments(first: $first, after: $after) { nodes { id } } } }",
        "query($id: ID!, $first: Int, $after: String) { ticket(id: $id) { events(first: $first, after: $after) { nodes { kind } } } }",
    ];
    let bad_cursors = [
        "garbage".to_owned(),
        b64("cursor:abc"),
        b64("cursor:-5"),
        b64("cursor:"),
        id.clone(), // a node id is not a cursor
        String::new(),
    ];
    for q in lists.iter().chain(&nested) {
        let vars = |extra: Value| {
            let mut v = json!({ "id": id });
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        for first in [101, -1, 1000, i32::MIN as i64] {
            let res = app
                .gql(Some(&agent), q, vars(json!({ "first": first })))
                .await;
            assert_code(&format!("first: {first} on {q}"), &res, "BAD_USER_INPUT");
        }
        // Not an Int at all: variable coercion refuses it.
        let res = app
            .gql(Some(&agent), q, vars(json!({ "first": 3_000_000_000i64 })))
            .await;
        assert_code(&format!("first: 3e9 on {q}"), &res, "BAD_USER_INPUT");
        for after in &bad_cursors {
            let res = app
                .gql(Some(&agent), q, vars(json!({ "after": after })))
                .await;
            assert_code(&format!("after: {after:?} on {q}"), &res, "BAD_USER_INPUT");
        }
        for first in [100, 0, 1] {
            let res = app
                .gql(Some(&agent), q, vars(json!({ "first": first })))
                .await;
            data(&res);
        }
    }
    // A cursor the server handed out works.
    let res = app
        .gql(
            Some(&agent),
            "{ tickets(first: 1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    let cursor = data(&res)["tickets"]["edges"][0]["cursor"].clone();
    let res = app
        .gql(
            Some(&agent),
            lists[0],
            json!({ "first": 100, "after": cursor }),
        )
        .await;
    assert_eq!(data(&res)["tickets"]["totalCount"], 1);
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn malformed_requests_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let id = app.create_ticket(&alice, "target").await;
    let before = snapshot(&app).await;
    let ticket_before = state(&app, &agent, &id).await;

    let cases: Vec<(&str, &str, Value)> = vec![
        ("syntax error", "{ tickets { nodes { id } ", json!({})),
        ("not GraphQL", "hello world", json!({})),
        ("empty document", "", json!({})),
        (
            "unknown field",
            "{ tickets { nodes { id secretColumn } } }",
            json!({}),
        ),
        ("unknown root field", "{ dropAllTickets }", json!({})),
        (
            "unknown argument",
            "{ tickets(sort: \"id\") { totalCount } }",
            json!({}),
        ),
        (
            "syntax error in a mutation",
            "mutation { updateTicket(input: { ticketId: \"x\" status: SOLVED ) { ticket { id } } }",
            json!({}),
        ),
        (
            "unknown input field",
            UPDATE_TICKET,
            json!({ "i": { "ticketId": id, "status": "SOLVED", "lockVersion": 0 } }),
        ),
        (
            "wrong variable type (string for Int)",
            "query($n: Int!) { ticket(number: $n) { id } }",
            json!({ "n": "one" }),
        ),
        (
            "wrong variable type (number for an input object)",
            UPDATE_TICKET,
            json!({ "i": 42 }),
        ),
        (
            "wrong variable type (bool for String)",
            ADD_COMMENT,
            json!({ "i": { "ticketId": id, "body": true, "public": true } }),
        ),
        (
            "unknown enum value",
            UPDATE_TICKET,
            json!({ "i": { "ticketId": id, "status": "DONE" } }),
        ),
        (
            "enum in the wrong case",
            UPDATE_TICKET,
            json!({ "i": { "ticketId": id, "priority": "high" } }),
        ),
        (
            "missing required input field",
            ADD_COMMENT,
            json!({ "i": { "ticketId": id, "public": true } }),
        ),
        ("missing required variable", UPDATE_TICKET, json!({})),
        (
            "null for a non-null field",
            ADD_COMMENT,
            json!({ "i": { "ticketId": id, "body": null, "public": true } }),
        ),
    ];
    for (case, q, vars) in cases {
        for user in [&alice, &agent] {
            let res = app.gql(Some(user), q, vars.clone()).await;
            assert_code(case, &res, "BAD_USER_INPUT");
            assert!(
                res["data"].is_null()
                    || res["data"]
                        .as_object()
                        .is_some_and(|d| d.values().all(Value::is_null)),
                "{case}: {res}"
            );
        }
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(state(&app, &agent, &id).await, ticket_before);
}

/// Every error carries `extensions.code` and leaks no internals. A body that
/// is not a GraphQL request is answered by async-graphql-axum's extractor rejection
/// instead: `400` with the plain text `InvalidRequest(Error("key must be a string", ...))`.
#[tokio::test]
async fn malformed_http_bodies_get_a_coded_error() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let before = snapshot(&app).await;
    for body in ["{not json", "", r#"{"query": 5}"#, r#"{"variables": {}}"#] {
        let res = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&alice.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), reqwest::StatusCode::BAD_REQUEST, "{body:?}");
        let text = res.text().await.expect("body");
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{body:?}: not a JSON error body: {text}"));
        assert_code(body, &json, "BAD_USER_INPUT");
        assert!(json["data"].is_null(), "{body:?}: {json}");
        for internal in ["InvalidRequest", "BatchRequest", "Error("] {
            assert!(
                !text.contains(internal),
                "{body:?} leaks {internal}: {text}"
            );
        }
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn update_ticket_refuses_empty_changes_and_bad_assignees() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let bob = app.customer("globex").await;
    let agent = app.agent().await;
    let developer = app.developer().await;
    let id = app.create_ticket(&alice, "assign me").await;
    let before = snapshot(&app).await;
    let ticket_before = state(&app, &agent, &id).await;

    let res = app.update_ticket(&agent, json!({ "ticketId": id })).await;
    assert_code("no changes", &res, "BAD_USER_INPUT");
    let res = app
        .update_ticket(
            &agent,
            json!({ "ticketId": id, "status": null, "priority": null }),
        )
        .await;
    assert_code("only nulls", &res, "BAD_USER_INPUT");

    for (case, assignee) in [
        ("the requester (a customer)", alice.id.clone()),
        ("another customer", bob.id.clone()),
        ("a developer", developer.id.clone()),
        ("an unknown user", gid("User", MADE_UP)),
        ("a ticket id", id.clone()),
        ("garbage", "garbage".into()),
        ("empty", String::new()),
    ] {
        let res = app
            .update_ticket(&agent, json!({ "ticketId": id, "assigneeId": assignee }))
            .await;
        assert_code(&format!("assign to {case}"), &res, "BAD_USER_INPUT");
        // Together with a valid change, the whole update is refused.
        let res = app.update_ticket(&agent,
            json!({ "ticketId": id, "status": "OPEN", "priority": "URGENT", "assigneeId": assignee }),
        )
        .await;
        assert_code(
            &format!("assign to {case} + status"),
            &res,
            "BAD_USER_INPUT",
        );
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(state(&app, &agent, &id).await, ticket_before);

    // The right assignee works.
    let res = app
        .update_ticket(&agent, json!({ "ticketId": id, "assigneeId": agent.id }))
        .await;
    assert_eq!(
        data(&res)["updateTicket"]["ticket"]["assignee"]["id"],
        agent.id.as_str()
    );
}

#[tokio::test]
async fn invalid_status_transitions_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;

    // NEW -> NEW, and an invalid move bundled with a valid priority change.
    let id = app.create_ticket(&alice, "new").await;
    let before = snapshot(&app).await;
    let ticket_before = state(&app, &agent, &id).await;
    for input in [
        json!({ "ticketId": id, "status": "NEW" }),
        json!({ "ticketId": id, "status": "NEW", "priority": "URGENT" }),
        json!({ "ticketId": id, "status": "CLOSED", "assigneeId": agent.id }),
    ] {
        let res = app.update_ticket(&agent, input.clone()).await;
        assert_code(&format!("NEW: {input}"), &res, "INVALID_TRANSITION");
        assert!(res["data"]["updateTicket"].is_null(), "{res}");
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(state(&app, &agent, &id).await, ticket_before);

    // SOLVED -> PENDING (and the other moves solved does not allow).
    app.set_status(&agent, &id, "SOLVED").await;
    let before = snapshot(&app).await;
    let ticket_before = state(&app, &agent, &id).await;
    for to in ["PENDING", "NEW", "ON_HOLD", "SOLVED"] {
        let res = app
            .update_ticket(&agent, json!({ "ticketId": id, "status": to }))
            .await;
        assert_code(&format!("SOLVED -> {to}"), &res, "INVALID_TRANSITION");
    }
    let res = app
        .update_ticket(&alice, json!({ "ticketId": id, "status": "SOLVED" }))
        .await;
    assert!(
        ["INVALID_TRANSITION", "FORBIDDEN"].contains(&code(&res)),
        "{res}"
    );
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(state(&app, &agent, &id).await, ticket_before);

    // CLOSED -> anything, and no other change either.
    app.set_status(&agent, &id, "CLOSED").await;
    let before = snapshot(&app).await;
    let ticket_before = state(&app, &agent, &id).await;
    let mut inputs: Vec<Value> = ["NEW", "OPEN", "PENDING", "ON_HOLD", "SOLVED", "CLOSED"]
        .iter()
        .map(|to| json!({ "ticketId": id, "status": to }))
        .collect();
    inputs.push(json!({ "ticketId": id, "priority": "LOW" }));
    inputs.push(json!({ "ticketId": id, "assigneeId": agent.id }));
    inputs.push(json!({ "ticketId": id, "assigneeId": null }));
    for input in inputs {
        let res = app.update_ticket(&agent, input.clone()).await;
        assert_code(&format!("CLOSED: {input}"), &res, "INVALID_TRANSITION");
    }
    let res = app
        .update_ticket(&alice, json!({ "ticketId": id, "status": "SOLVED" }))
        .await;
    assert!(
        ["INVALID_TRANSITION", "FORBIDDEN"].contains(&code(&res)),
        "{res}"
    );
    for (user, public) in [(&alice, true), (&agent, true), (&agent, false)] {
        let res = app
            .gql(
                Some(user),
                ADD_COMMENT,
                json!({ "i": { "ticketId": id, "body": "hello?", "public": public } }),
            )
            .await;
        assert_code("comment on CLOSED", &res, "INVALID_TRANSITION");
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(state(&app, &agent, &id).await, ticket_before);
}

/// One racer's outcome: `Some(ticket)` if acknowledged, `None` if cleanly refused.
fn outcome(case: &str, res: &Value, field: &str) -> Option<Value> {
    if res["errors"].is_null() {
        let t = res["data"][field]["ticket"].clone();
        assert!(t.is_object(), "{case}: {res}");
        return Some(t);
    }
    assert!(
        ["CONFLICT", "INVALID_TRANSITION"].contains(&code(res)),
        "{case}: unexpected refusal {res}"
    );
    assert_no_leaks(res);
    None
}

fn events_of<'a>(t: &'a Value, kind: &str) -> Vec<&'a Value> {
    t["events"]["nodes"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// Status events chain (each starts where the last ended) and end at the current status.
#[track_caller]
fn assert_status_chain(case: &str, t: &Value) {
    let mut current = json!("NEW");
    for e in t["events"]["nodes"].as_array().expect("events") {
        match e["kind"].as_str() {
            Some("TICKET_CREATED") => current = e["toStatus"].clone(),
            Some("STATUS_CHANGED") => {
                assert_eq!(e["fromStatus"], current, "{case}: broken chain {t}");
                current = e["toStatus"].clone();
            }
            _ => {}
        }
    }
    assert_eq!(
        t["status"], current,
        "{case}: status disagrees with events {t}"
    );
}

const ROUNDS: usize = 10;

#[tokio::test]
async fn concurrent_updates_of_different_fields_lose_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let (a1, a2) = (app.agent().await, app.agent().await);
    for round in 0..ROUNDS {
        let case = format!("round {round}");
        let id = app.create_ticket(&alice, &case).await;
        let events_before = app.count_rows("event").await;
        let (r1, r2) = tokio::join!(
            app.update_ticket(&a1, json!({ "ticketId": id, "priority": "HIGH" })),
            app.update_ticket(&a2, json!({ "ticketId": id, "status": "PENDING" })),
        );
        let priority_acked = outcome(&case, &r1, "updateTicket").is_some();
        let status_acked = outcome(&case, &r2, "updateTicket").is_some();
        // Different fields never conflict for good: both should land.
        assert!(priority_acked && status_acked, "{case}: {r1} {r2}");

        let t = state(&app, &a1, &id).await;
        assert_eq!(t["priority"], "HIGH", "{case}: lost priority {t}");
        assert_eq!(t["status"], "PENDING", "{case}: lost status {t}");
        assert_eq!(events_of(&t, "PRIORITY_CHANGED").len(), 1, "{case}: {t}");
        assert_eq!(events_of(&t, "STATUS_CHANGED").len(), 1, "{case}: {t}");
        assert_eq!(t["events"]["totalCount"], 3, "{case}: {t}");
        assert_eq!(app.count_rows("event").await, events_before + 2, "{case}");
        assert_status_chain(&case, &t);
    }
}

/// Many writers on one ticket at once, each writing again as soon as its last write is
/// acknowledged: every comment lands, none is refused as contended, and each has its event.
/// (Before writers queued on the ticket's row, one of them could lose the optimistic-lock
/// race on every retry and be told to try again.)
#[tokio::test]
async fn a_busy_ticket_takes_every_comment() {
    const WRITERS: usize = 6;
    const EACH: usize = 8;
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let mut agents = Vec::new();
    for _ in 0..WRITERS {
        agents.push(app.agent().await);
    }
    let id = app.create_ticket(&alice, "busy").await;
    let (comments_before, events_before) = (
        app.count_rows("comment").await,
        app.count_rows("event").await,
    );

    let writers = agents.iter().enumerate().map(|(w, agent)| {
        let (app, id) = (&app, &id);
        async move {
            for n in 0..EACH {
                let input =
                    json!({ "ticketId": id, "body": format!("w{w} n{n}"), "public": n % 2 == 0 });
                let res = app
                    .gql(Some(agent), ADD_COMMENT, json!({ "i": input }))
                    .await;
                assert!(res["errors"].is_null(), "writer {w}, comment {n}: {res}");
            }
        }
    });
    futures_util::future::join_all(writers).await;

    let written = (WRITERS * EACH) as i64;
    assert_eq!(app.count_rows("comment").await, comments_before + written);
    assert_eq!(app.count_rows("event").await, events_before + written);
    let t = app
        .gql(
            Some(&agents[0]),
            "query($id: ID!) { ticket(id: $id) { comments(first: 1) { totalCount } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&t)["ticket"]["comments"]["totalCount"], written, "{t}");
}

#[tokio::test]
async fn concurrent_status_moves_serialize() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let (a1, a2) = (app.agent().await, app.agent().await);

    // Both targets are valid from each other: both land, one after the other.
    for round in 0..ROUNDS {
        let case = format!("OPEN -> PENDING | ON_HOLD, round {round}");
        let id = app.create_ticket(&alice, &case).await;
        app.set_status(&a1, &id, "OPEN").await;
        let events_before = app.count_rows("event").await;
        let (r1, r2) = tokio::join!(
            app.update_ticket(&a1, json!({ "ticketId": id, "status": "PENDING" })),
            app.update_ticket(&a2, json!({ "ticketId": id, "status": "ON_HOLD" })),
        );
        let acks = [
            outcome(&case, &r1, "updateTicket"),
            outcome(&case, &r2, "updateTicket"),
        ];
        let acked = acks.iter().flatten().count();
        assert!(acked >= 1, "{case}: nobody won {r1} {r2}");
        let t = state(&app, &a1, &id).await;
        assert_status_chain(&case, &t);
        // One event per acknowledged move (plus created and the move to OPEN).
        assert_eq!(
            events_of(&t, "STATUS_CHANGED").len(),
            1 + acked,
            "{case}: {t}"
        );
        assert_eq!(
            app.count_rows("event").await,
            events_before + acked as i64,
            "{case}"
        );
        // The last acknowledged write is what the row shows.
        let last = events_of(&t, "STATUS_CHANGED").last().unwrap()["toStatus"].clone();
        assert!(
            acks.iter().flatten().any(|a| a["status"] == last),
            "{case}: final status {last} was never acknowledged: {r1} {r2}"
        );
    }

    // From SOLVED, reopening and closing exclude each other: exactly one lands.
    for round in 0..ROUNDS {
        let case = format!("SOLVED -> OPEN | CLOSED, round {round}");
        let id = app.create_ticket(&alice, &case).await;
        app.set_status(&a1, &id, "SOLVED").await;
        let events_before = app.count_rows("event").await;
        let (r1, r2) = tokio::join!(
            app.update_ticket(&a1, json!({ "ticketId": id, "status": "OPEN" })),
            app.update_ticket(&a2, json!({ "ticketId": id, "status": "CLOSED" })),
        );
        let reopened = outcome(&case, &r1, "updateTicket");
        let closed = outcome(&case, &r2, "updateTicket");
        assert_eq!(
            reopened.is_some() as u8 + closed.is_some() as u8,
            1,
            "{case}: {r1} {r2}"
        );
        let t = state(&app, &a1, &id).await;
        assert_status_chain(&case, &t);
        let expected = if closed.is_some() { "CLOSED" } else { "OPEN" };
        assert_eq!(t["status"], expected, "{case}: {t}");
        assert_eq!(app.count_rows("event").await, events_before + 1, "{case}");
    }
}

#[tokio::test]
async fn a_customer_reply_racing_a_close_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    for round in 0..ROUNDS {
        let case = format!("reply | close, round {round}");
        let id = app.create_ticket(&alice, &case).await;
        app.set_status(&agent, &id, "SOLVED").await;
        let [tickets, comments, events] = snapshot(&app).await;
        let (reply, close) = tokio::join!(
            app.gql(
                Some(&alice),
                "mutation($i: AddCommentInput!) { addComment(input: $i) { comment { id } ticket { status } } }",
                json!({ "i": { "ticketId": id, "body": "still broken", "public": true } }),
            ),
            app.update_ticket(&agent, json!({ "ticketId": id, "status": "CLOSED" })),
        );
        let replied = outcome(&case, &reply, "addComment").is_some();
        let closed = outcome(&case, &close, "updateTicket").is_some();
        // The reply reopens (SOLVED -> OPEN), after which closing is invalid; a close first
        // makes the ticket read-only. Exactly one wins.
        assert_eq!(replied as u8 + closed as u8, 1, "{case}: {reply} {close}");
        let t = state(&app, &agent, &id).await;
        assert_status_chain(&case, &t);
        assert_eq!(
            t["status"],
            if closed { "CLOSED" } else { "OPEN" },
            "{case}"
        );
        assert_eq!(t["comments"]["totalCount"], replied as i64, "{case}: {t}");
        // A reply is two events (comment, reopen); a close is one.
        let new_events = if replied { 2 } else { 1 };
        assert_eq!(
            snapshot(&app).await,
            [tickets, comments + replied as i64, events + new_events],
            "{case}"
        );
    }
}

/// A quarter is checked byte by byte: text that splits a multi-byte character where a
/// string slice would is refused as bad input, and the server goes on answering.
#[tokio::test]
async fn a_quarter_with_multibyte_characters_is_bad_input() {
    let app = TestApp::spawn().await;
    let lead = app.triage_lead().await;
    let create = "mutation($q: String) { createRelease(input: { version: \"9\", kind: QUARTERLY, quarter: $q }) { release { id } } }";
    for quarter in ["202é-Q", "2026-Qé", "é026-Q1"] {
        let res = app.gql(Some(&lead), create, json!({ "q": quarter })).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{quarter}: {res}");
    }
    assert_eq!(app.count_rows("release").await, 0);
    let res = app
        .gql(Some(&lead), create, json!({ "q": "2026-Q3" }))
        .await;
    assert!(
        data(&res)["createRelease"]["release"]["id"].is_string(),
        "{res}"
    );
}
