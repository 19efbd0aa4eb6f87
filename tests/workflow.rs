//! The Tier 3 story end to end over HTTP with real tokens (DESIGN.md "The workflow it serves").

mod common;

use common::{TestApp, User, code, data};
use serde_json::{Value, json};

async fn run(app: &TestApp, user: &User, mutation: &str, input: Value) -> Value {
    let field = mutation.split('(').next().unwrap().trim().to_owned();
    let query = format!(
        "mutation($i: {}Input!) {{ {mutation} }}",
        upper_first(&field)
    );
    app.gql(Some(user), &query, json!({ "i": input })).await
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

const TICKET: &str = r#"query($id: ID!) { ticket(id: $id) { status solvedBy
  comments(first: 100) { nodes { body public } }
  escalation { id title details status track priority priorityLabel assignee { id }
    release { version kind status } updates { totalCount nodes { body public } }
    tickets { totalCount nodes { id } } } } }"#;

async fn ticket(app: &TestApp, user: &User, id: &str) -> Value {
    let res = app.gql(Some(user), TICKET, json!({ "id": id })).await;
    data(&res)["ticket"].clone()
}

async fn escalate(app: &TestApp, agent: &User, ticket: &str, title: &str) -> String {
    let res = run(app, agent, "escalateTicket(input: $i) { escalation { id status } }",
        json!({ "ticketId": ticket, "title": title, "details": "stack trace: boom at checkout.rs:42", "priority": "P1" })).await;
    assert_eq!(
        data(&res)["escalateTicket"]["escalation"]["status"],
        "AWAITING_TRIAGE"
    );
    data(&res)["escalateTicket"]["escalation"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn release(app: &TestApp, lead: &User, version: &str, kind: &str) -> String {
    let mut input = json!({ "version": version, "kind": kind });
    if kind == "QUARTERLY" {
        input["quarter"] = json!("2026-Q4");
    }
    let res = run(
        app,
        lead,
        "createRelease(input: $i) { release { id status } }",
        input,
    )
    .await;
    assert_eq!(data(&res)["createRelease"]["release"]["status"], "PLANNED");
    data(&res)["createRelease"]["release"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn public_bodies(t: &Value) -> Vec<String> {
    t["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn hotfix_story() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let agent = app.agent().await;
    let dev = app.developer().await;
    let lead = app.triage_lead().await;

    let t1 = app.create_ticket(&alice, "checkout returns 502").await;
    let t2 = app.create_ticket(&carol, "payments fail with 502").await;
    let esc = escalate(&app, &agent, &t1, "Checkout fails for EUR payments").await;

    // The customer is told on the ticket and sees the customer view of the escalation.
    let t = ticket(&app, &alice, &t1).await;
    assert!(
        public_bodies(&t).iter().any(|b| b.contains("Tier 3")),
        "{t}"
    );
    assert_eq!(t["escalation"]["status"], "AWAITING_TRIAGE");
    assert_eq!(t["escalation"]["priorityLabel"], "Business Impacted");
    assert!(t["escalation"]["details"].is_null());

    // Another organization's ticket is linked; neither customer learns of the other ticket.
    let res = run(
        &app,
        &agent,
        "linkTicketToEscalation(input: $i) { ticket { id } }",
        json!({ "escalationId": esc, "ticketId": t2 }),
    )
    .await;
    data(&res);
    let t = ticket(&app, &alice, &t1).await;
    assert_eq!(t["escalation"]["tickets"]["totalCount"], 1);
    assert_eq!(t["escalation"]["tickets"]["nodes"][0]["id"], t1.as_str());
    let staff = ticket(&app, &agent, &t1).await;
    assert_eq!(staff["escalation"]["tickets"]["totalCount"], 2);
    assert!(staff["escalation"]["details"].is_string());

    // Triage to hotfix: the tickets stay open, on hold.
    let res = run(
        &app,
        &lead,
        "triageEscalation(input: $i) { escalation { status track assignee { id } } }",
        json!({ "escalationId": esc, "track": "HOTFIX", "priority": "P0", "assigneeId": dev.id }),
    )
    .await;
    assert_eq!(
        data(&res)["triageEscalation"]["escalation"]["status"],
        "IN_PROGRESS"
    );
    for (who, id) in [(&alice, &t1), (&carol, &t2)] {
        let t = ticket(&app, who, id).await;
        assert_eq!(t["status"], "ON_HOLD", "{t}");
        assert_eq!(t["escalation"]["priorityLabel"], "Business Halted");
        assert!(
            t["escalation"]["assignee"].is_null(),
            "customers never see the assignee"
        );
    }

    // Updates: the public one reaches the customer's ticket, the internal one does not.
    for (body, public) in [
        ("We found the cause and are testing a fix.", true),
        ("root cause: stale FX cache", false),
    ] {
        let res = run(
            &app,
            &dev,
            "postEscalationUpdate(input: $i) { escalationUpdate { id } }",
            json!({ "escalationId": esc, "body": body, "public": public }),
        )
        .await;
        data(&res);
    }
    let t = ticket(&app, &alice, &t1).await;
    let bodies = public_bodies(&t);
    assert!(
        bodies.iter().any(|b| b.contains("testing a fix")),
        "{bodies:?}"
    );
    assert!(
        !bodies.iter().any(|b| b.contains("stale FX cache")),
        "{bodies:?}"
    );
    assert_eq!(t["escalation"]["updates"]["totalCount"], 1);
    assert_eq!(t["status"], "ON_HOLD");
    let staff = ticket(&app, &agent, &t1).await;
    assert_eq!(staff["escalation"]["updates"]["totalCount"], 2);

    // Scheduled into a hotfix release; imminent solves every linked ticket exactly once.
    let rel = release(&app, &lead, "4.2.1", "HOTFIX").await;
    let res = run(
        &app,
        &lead,
        "scheduleEscalation(input: $i) { escalation { status } }",
        json!({ "escalationId": esc, "releaseId": rel }),
    )
    .await;
    assert_eq!(
        data(&res)["scheduleEscalation"]["escalation"]["status"],
        "SCHEDULED"
    );
    let res = run(
        &app,
        &lead,
        "markReleaseImminent(input: $i) { release { status } }",
        json!({ "releaseId": rel }),
    )
    .await;
    assert_eq!(
        data(&res)["markReleaseImminent"]["release"]["status"],
        "IMMINENT"
    );
    for (who, id) in [(&alice, &t1), (&carol, &t2)] {
        let t = ticket(&app, who, id).await;
        assert_eq!(t["status"], "SOLVED");
        assert_eq!(t["solvedBy"], "RELEASE");
        assert_eq!(t["escalation"]["release"]["status"], "IMMINENT");
    }
    let solved_comments = |t: &Value| {
        public_bodies(t)
            .iter()
            .filter(|b| b.contains("being released"))
            .count()
    };
    assert_eq!(solved_comments(&ticket(&app, &alice, &t1).await), 1);

    // Shipping: the escalation is released, and no second solve comment is posted.
    let res = run(
        &app,
        &lead,
        "shipRelease(input: $i) { release { status releasedAt } }",
        json!({ "releaseId": rel }),
    )
    .await;
    assert_eq!(data(&res)["shipRelease"]["release"]["status"], "RELEASED");
    let t = ticket(&app, &alice, &t1).await;
    assert_eq!(t["escalation"]["status"], "RELEASED");
    assert_eq!(solved_comments(&t), 1);

    // Shipping twice is refused and changes nothing.
    let events = app.count_rows("event").await;
    let res = run(
        &app,
        &lead,
        "shipRelease(input: $i) { release { status } }",
        json!({ "releaseId": rel }),
    )
    .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    assert_eq!(app.count_rows("event").await, events);
}

#[tokio::test]
async fn planning_story_with_notes_follows_and_votes() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let bob = app.customer("initech").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;

    let t1 = app.create_ticket(&alice, "please add CSV export").await;
    let esc = escalate(&app, &agent, &t1, "CSV export for invoices").await;
    let res = run(
        &app,
        &lead,
        "triageEscalation(input: $i) { escalation { status track } }",
        json!({ "escalationId": esc, "track": "FEATURE_REQUEST" }),
    )
    .await;
    assert_eq!(
        data(&res)["triageEscalation"]["escalation"]["status"],
        "UNDER_REVIEW"
    );
    let t = ticket(&app, &alice, &t1).await;
    assert_eq!(t["status"], "SOLVED");
    assert_eq!(t["solvedBy"], "TRIAGE");
    assert!(
        public_bodies(&t).iter().any(|b| b.contains("reviewing")),
        "{t}"
    );

    // Followers: bob follows; alice does not.
    let res = app
        .gql(
            Some(&bob),
            "mutation { followReleaseNotes { following viewer { followsReleaseNotes } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&res)["followReleaseNotes"]["following"], true);

    let rel = release(&app, &lead, "2026.4", "QUARTERLY").await;
    let res = run(
        &app,
        &lead,
        "scheduleEscalation(input: $i) { escalation { status } }",
        json!({ "escalationId": esc, "releaseId": rel }),
    )
    .await;
    assert_eq!(
        data(&res)["scheduleEscalation"]["escalation"]["status"],
        "SCHEDULED"
    );

    // A note cannot be published for a planned release.
    let res = run(
        &app,
        &lead,
        "publishReleaseNote(input: $i) { releaseNote { id } }",
        json!({ "releaseId": rel, "title": "Q4", "body": "What is new" }),
    )
    .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");

    let res = run(
        &app,
        &lead,
        "shipRelease(input: $i) { release { status } }",
        json!({ "releaseId": rel }),
    )
    .await;
    assert_eq!(data(&res)["shipRelease"]["release"]["status"], "RELEASED");
    // The requester is told what they asked for shipped.
    let inbox = app
        .gql(
            Some(&alice),
            "{ notifications { totalCount nodes { kind message read } } }",
            json!({}),
        )
        .await;
    let nodes = &data(&inbox)["notifications"]["nodes"];
    assert_eq!(nodes[0]["kind"], "REQUEST_SHIPPED", "{inbox}");
    assert!(nodes[0]["message"].as_str().unwrap().contains("CSV export"));

    let res = run(
        &app,
        &lead,
        "publishReleaseNote(input: $i) { releaseNote { id items } }",
        json!({ "releaseId": rel, "title": "2026 Q4", "body": "What is new this quarter" }),
    )
    .await;
    let note = data(&res)["publishReleaseNote"]["releaseNote"].clone();
    assert_eq!(note["items"], json!(["CSV export for invoices"]));
    let note_id = note["id"].as_str().unwrap().to_owned();

    // The follower is notified, nobody else.
    let inbox = app
        .gql(
            Some(&bob),
            "{ notifications { totalCount nodes { kind } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&inbox)["notifications"]["totalCount"], 1);
    assert_eq!(
        data(&inbox)["notifications"]["nodes"][0]["kind"],
        "RELEASE_NOTE_PUBLISHED"
    );
    let inbox = app
        .gql(Some(&alice), "{ notifications { totalCount } }", json!({}))
        .await;
    assert_eq!(data(&inbox)["notifications"]["totalCount"], 1);

    // Anyone reads published notes; no customer data in them.
    let res = app.gql(None, "{ releaseNotes { nodes { title items helpfulCount voteCount viewerVote } } releases { nodes { version status } } }", json!({})).await;
    let notes = &data(&res)["releaseNotes"]["nodes"];
    assert_eq!(notes[0]["title"], "2026 Q4");
    assert!(!res.to_string().contains("acme"));
    assert_eq!(data(&res)["releases"]["nodes"][0]["version"], "2026.4");

    // Votes: one per user, changeable. "1 out of 2 found this helpful".
    for (who, helpful) in [
        (&alice, false),
        (&bob, true),
        (&alice, true),
        (&alice, false),
    ] {
        let res = run(
            &app,
            who,
            "voteReleaseNote(input: $i) { releaseNote { viewerVote } }",
            json!({ "releaseNoteId": note_id, "helpful": helpful }),
        )
        .await;
        assert_eq!(
            data(&res)["voteReleaseNote"]["releaseNote"]["viewerVote"],
            helpful
        );
    }
    let res = app.gql(Some(&bob), "query($id: ID!) { node(id: $id) { ... on ReleaseNote { helpfulCount voteCount viewerVote } } }", json!({ "id": note_id })).await;
    assert_eq!(
        data(&res)["node"],
        json!({ "helpfulCount": 1, "voteCount": 2, "viewerVote": true })
    );
}

#[tokio::test]
async fn refusals_change_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let dev = app.developer().await;
    let lead = app.triage_lead().await;
    let t1 = app.create_ticket(&alice, "broken").await;

    // Only agents escalate.
    for who in [&alice, &dev, &lead] {
        let res = run(
            &app,
            who,
            "escalateTicket(input: $i) { escalation { id } }",
            json!({ "ticketId": t1, "title": "x", "details": "y", "priority": "P2" }),
        )
        .await;
        assert_eq!(code(&res), "FORBIDDEN", "{res}");
    }
    assert_eq!(app.count_rows("escalation").await, 0);
    let esc = escalate(&app, &agent, &t1, "Broken thing").await;

    // Escalating twice is refused.
    let before = app.count_rows("event").await;
    let res = run(
        &app,
        &agent,
        "escalateTicket(input: $i) { escalation { id } }",
        json!({ "ticketId": t1, "title": "again", "details": "y", "priority": "P2" }),
    )
    .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    assert_eq!(app.count_rows("escalation").await, 1);

    // Only the triage lead triages; double triage is refused.
    for who in [&agent, &dev, &alice] {
        let res = run(
            &app,
            who,
            "triageEscalation(input: $i) { escalation { id } }",
            json!({ "escalationId": esc, "track": "HOTFIX" }),
        )
        .await;
        assert!(matches!(code(&res), "FORBIDDEN" | "NOT_FOUND"), "{res}");
    }
    assert_eq!(app.count_rows("event").await, before);
    let res = run(
        &app,
        &lead,
        "triageEscalation(input: $i) { escalation { id } }",
        json!({ "escalationId": esc, "track": "HOTFIX" }),
    )
    .await;
    data(&res);
    let before = app.count_rows("event").await;
    let res = run(
        &app,
        &lead,
        "triageEscalation(input: $i) { escalation { id } }",
        json!({ "escalationId": esc, "track": "PRODUCT_PLANNING" }),
    )
    .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    assert_eq!(app.count_rows("event").await, before);

    // Assignment only to developers or triage leads.
    let res = run(
        &app,
        &lead,
        "assignEscalation(input: $i) { escalation { id } }",
        json!({ "escalationId": esc, "assigneeId": agent.id }),
    )
    .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // A hotfix does not go into a quarterly release; a declined move from the wrong state.
    let quarterly = release(&app, &lead, "2027.1", "QUARTERLY").await;
    let before_release = app.count_rows("event").await;
    let res = run(
        &app,
        &lead,
        "scheduleEscalation(input: $i) { escalation { id } }",
        json!({ "escalationId": esc, "releaseId": quarterly }),
    )
    .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    let res = run(
        &app,
        &lead,
        "declineEscalation(input: $i) { escalation { id } }",
        json!({ "escalationId": esc, "reason": "no" }),
    )
    .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    assert_eq!(app.count_rows("event").await, before_release);

    // Nothing is scheduled into a released release.
    let hotfix = release(&app, &lead, "9.9.9", "HOTFIX").await;
    let res = run(
        &app,
        &lead,
        "shipRelease(input: $i) { release { status } }",
        json!({ "releaseId": hotfix }),
    )
    .await;
    data(&res);
    let res = run(
        &app,
        &lead,
        "scheduleEscalation(input: $i) { escalation { id } }",
        json!({ "escalationId": esc, "releaseId": hotfix }),
    )
    .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");

    // Duplicate release versions conflict.
    let res = run(
        &app,
        &lead,
        "createRelease(input: $i) { release { id } }",
        json!({ "version": "9.9.9", "kind": "HOTFIX" }),
    )
    .await;
    assert_eq!(code(&res), "CONFLICT");
}

#[tokio::test]
async fn concurrent_triage_and_double_ship_have_one_outcome() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let (lead1, lead2) = (app.triage_lead().await, app.triage_lead().await);
    for round in 0..5 {
        let t = app.create_ticket(&alice, &format!("race {round}")).await;
        let esc = escalate(&app, &agent, &t, "race").await;
        let a = run(
            &app,
            &lead1,
            "triageEscalation(input: $i) { escalation { track } }",
            json!({ "escalationId": esc, "track": "HOTFIX" }),
        );
        let b = run(
            &app,
            &lead2,
            "triageEscalation(input: $i) { escalation { track } }",
            json!({ "escalationId": esc, "track": "FEATURE_REQUEST" }),
        );
        let (a, b) = tokio::join!(a, b);
        let ok: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|r| r["errors"].is_null())
            .collect();
        assert_eq!(ok.len(), 1, "exactly one triage wins: {a} {b}");
        let loser = if a["errors"].is_null() { &b } else { &a };
        assert_eq!(code(loser), "INVALID_TRANSITION", "{loser}");
        let t = ticket(&app, &agent, &t).await;
        let track = ok[0]["data"]["triageEscalation"]["escalation"]["track"].clone();
        assert_eq!(t["escalation"]["track"], track);
        let expected = if track == "HOTFIX" {
            "ON_HOLD"
        } else {
            "SOLVED"
        };
        assert_eq!(t["status"], expected);
    }

    let rel = release(&app, &lead1, "1.0.1", "HOTFIX").await;
    let a = run(
        &app,
        &lead1,
        "shipRelease(input: $i) { release { status } }",
        json!({ "releaseId": rel }),
    );
    let b = run(
        &app,
        &lead2,
        "shipRelease(input: $i) { release { status } }",
        json!({ "releaseId": rel }),
    );
    let (a, b) = tokio::join!(a, b);
    let wins = [&a, &b].iter().filter(|r| r["errors"].is_null()).count();
    assert_eq!(wins, 1, "{a} {b}");
}
