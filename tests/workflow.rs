//! The Tier 3 story end to end over HTTP with real tokens: a customer's ticket is escalated
//! by an agent, triaged by the triage lead onto a track (hotfix, feature request, product
//! planning), worked by a developer, scheduled into a release that goes imminent (solving
//! the linked tickets) and ships, and announced in a release note that followers hear of.

mod common;

use common::{TestApp, User, code, data};
use serde_json::{Value, json};

const TICKET: &str = r#"query($id: ID!) { ticket(id: $id) { status solvedBy
  comments(first: 100) { nodes { body public } }
  escalation { id title details status track priority priorityLabel assignee { id }
    release { version kind status } updates { totalCount nodes { body public } }
    tickets { totalCount nodes { id } } } } }"#;

async fn ticket(app: &TestApp, user: &User, id: &str) -> Value {
    let res = app.gql(Some(user), TICKET, json!({ "id": id })).await;
    data(&res)["ticket"].clone()
}

fn public_bodies(t: &Value) -> Vec<String> {
    t["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_owned())
        .collect()
}

/// The mutations the refusal cases send as they are (`TestApp::mutate`).
const ESCALATE: &str = "escalateTicket(input: $i) { escalation { id } }";
const TRIAGE: &str = "triageEscalation(input: $i) { escalation { id track } }";
const SCHEDULE: &str = "scheduleEscalation(input: $i) { escalation { id } }";
const SHIP: &str = "shipRelease(input: $i) { release { status } }";
const PUBLISH: &str = "publishReleaseNote(input: $i) { releaseNote { id } }";

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
    let esc = app
        .escalate(&agent, &t1, "Checkout fails for EUR payments", "P1")
        .await;

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
    app.link(&agent, &esc, &t2).await;
    let t = ticket(&app, &alice, &t1).await;
    assert_eq!(t["escalation"]["tickets"]["totalCount"], 1);
    assert_eq!(t["escalation"]["tickets"]["nodes"][0]["id"], t1.as_str());
    let staff = ticket(&app, &agent, &t1).await;
    assert_eq!(staff["escalation"]["tickets"]["totalCount"], 2);
    assert!(staff["escalation"]["details"].is_string());

    // Triage to hotfix: the tickets stay open, on hold.
    let triaged = app
        .triage_with(
            &lead,
            &esc,
            "HOTFIX",
            json!({ "priority": "P0", "assigneeId": dev.id }),
        )
        .await;
    assert_eq!(triaged["status"], "IN_PROGRESS");
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
    app.post_update(
        &dev,
        &esc,
        "We found the cause and are testing a fix.",
        true,
    )
    .await;
    app.post_update(&dev, &esc, "root cause: stale FX cache", false)
        .await;
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
    let rel = app.create_release(&lead, "4.2.1", "HOTFIX").await;
    app.schedule(&lead, &esc, &rel).await;
    app.mark_imminent(&lead, &rel).await;
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
    app.ship(&lead, &rel).await;
    let t = ticket(&app, &alice, &t1).await;
    assert_eq!(t["escalation"]["status"], "RELEASED");
    assert_eq!(solved_comments(&t), 1);

    // Shipping twice is refused and changes nothing.
    let events = app.count_rows("event").await;
    let res = app
        .mutate(Some(&lead), SHIP, json!({ "releaseId": rel }))
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
    let esc = app
        .escalate(&agent, &t1, "CSV export for invoices", "P1")
        .await;
    let triaged = app.triage(&lead, &esc, "FEATURE_REQUEST").await;
    assert_eq!(triaged["status"], "UNDER_REVIEW");
    let t = ticket(&app, &alice, &t1).await;
    assert_eq!(t["status"], "SOLVED");
    assert_eq!(t["solvedBy"], "TRIAGE");
    assert!(
        public_bodies(&t).iter().any(|b| b.contains("reviewing")),
        "{t}"
    );

    // Followers: bob follows; alice does not.
    app.follow_release_notes(&bob).await;

    let rel = app.create_release(&lead, "2026.4", "QUARTERLY").await;
    app.schedule(&lead, &esc, &rel).await;

    // A note cannot be published for a planned release.
    let res = app
        .mutate(
            Some(&lead),
            PUBLISH,
            json!({ "releaseId": rel, "title": "Q4", "body": "What is new" }),
        )
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");

    app.ship(&lead, &rel).await;
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

    // The note lists what shipped.
    let note_id = app.publish_note(&lead, &rel, "2026 Q4").await;
    let res = app
        .gql(
            Some(&lead),
            "query($id: ID!) { node(id: $id) { ... on ReleaseNote { items } } }",
            json!({ "id": note_id }),
        )
        .await;
    assert_eq!(
        data(&res)["node"]["items"],
        json!(["CSV export for invoices"])
    );

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
        app.vote(who, &note_id, helpful).await;
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
        let res = app
            .mutate(
                Some(who),
                ESCALATE,
                json!({ "ticketId": t1, "title": "x", "details": "y", "priority": "P2" }),
            )
            .await;
        assert_eq!(code(&res), "FORBIDDEN", "{res}");
    }
    assert_eq!(app.count_rows("escalation").await, 0);
    let esc = app.escalate(&agent, &t1, "Broken thing", "P1").await;

    // Escalating twice is refused.
    let before = app.count_rows("event").await;
    let res = app
        .mutate(
            Some(&agent),
            ESCALATE,
            json!({ "ticketId": t1, "title": "again", "details": "y", "priority": "P2" }),
        )
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    assert_eq!(app.count_rows("escalation").await, 1);

    // Only the triage lead triages; double triage is refused.
    for who in [&agent, &dev, &alice] {
        let res = app
            .mutate(
                Some(who),
                TRIAGE,
                json!({ "escalationId": esc, "track": "HOTFIX" }),
            )
            .await;
        assert!(matches!(code(&res), "FORBIDDEN" | "NOT_FOUND"), "{res}");
    }
    assert_eq!(app.count_rows("event").await, before);
    app.triage(&lead, &esc, "HOTFIX").await;
    let before = app.count_rows("event").await;
    let res = app
        .mutate(
            Some(&lead),
            TRIAGE,
            json!({ "escalationId": esc, "track": "PRODUCT_PLANNING" }),
        )
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    assert_eq!(app.count_rows("event").await, before);

    // Assignment only to developers or triage leads.
    let res = app
        .mutate(
            Some(&lead),
            "assignEscalation(input: $i) { escalation { id } }",
            json!({ "escalationId": esc, "assigneeId": agent.id }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // A hotfix does not go into a quarterly release; a declined move from the wrong state.
    let quarterly = app.create_release(&lead, "2027.1", "QUARTERLY").await;
    let before_release = app.count_rows("event").await;
    let res = app
        .mutate(
            Some(&lead),
            SCHEDULE,
            json!({ "escalationId": esc, "releaseId": quarterly }),
        )
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    let res = app
        .mutate(
            Some(&lead),
            "declineEscalation(input: $i) { escalation { id } }",
            json!({ "escalationId": esc, "reason": "no" }),
        )
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    assert_eq!(app.count_rows("event").await, before_release);

    // Nothing is scheduled into a released release.
    let hotfix = app.create_release(&lead, "9.9.9", "HOTFIX").await;
    app.ship(&lead, &hotfix).await;
    let res = app
        .mutate(
            Some(&lead),
            SCHEDULE,
            json!({ "escalationId": esc, "releaseId": hotfix }),
        )
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");

    // Duplicate release versions conflict.
    let res = app
        .mutate(
            Some(&lead),
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
        let esc = app.escalate(&agent, &t, "race", "P1").await;
        let a = app.mutate(
            Some(&lead1),
            TRIAGE,
            json!({ "escalationId": esc, "track": "HOTFIX" }),
        );
        let b = app.mutate(
            Some(&lead2),
            TRIAGE,
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

    let rel = app.create_release(&lead1, "1.0.1", "HOTFIX").await;
    let a = app.mutate(Some(&lead1), SHIP, json!({ "releaseId": rel }));
    let b = app.mutate(Some(&lead2), SHIP, json!({ "releaseId": rel }));
    let (a, b) = tokio::join!(a, b);
    let wins = [&a, &b].iter().filter(|r| r["errors"].is_null()).count();
    assert_eq!(wins, 1, "{a} {b}");
}
