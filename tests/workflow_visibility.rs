//! Who sees what of the Tier 3 workflow: escalations, their updates and linked tickets,
//! releases, release notes and notifications, on every path (lists, `node(id)`, nested
//! fields, counts, filters), and refusals that change nothing. The rules: staff see
//! everything; a customer sees an escalation only through a linked ticket they may see
//! (and then never its internal details, assignee, decline reason or internal updates), a
//! release only when it is released or carries such an escalation, and their own
//! notifications; anonymous callers read released releases and published notes and are
//! told to sign in (`UNAUTHENTICATED`) for the rest. A thing the viewer may not see must
//! answer exactly like a thing that does not exist.

mod common;

use std::collections::BTreeSet;

use common::{
    MADE_UP, TestApp, User, assert_conn, assert_like_nonexistent, assert_node_hidden,
    assert_node_visible, assert_sign_in_required, code, cursor, data, gid, is_null_data, row_id,
    set, steps::field_of,
};
use serde_json::{Value, json};

const ESCALATIONS: &str = "query($f: EscalationFilter) {
  escalations(first: 100, filter: $f) { totalCount edges { node { id } } } }";
const RELEASES: &str = "{ releases(first: 100) { totalCount edges { node { id } } } }";
const TICKETS: &str = "query($f: TicketFilter) {
  tickets(first: 100, filter: $f) { totalCount edges { node { id } } } }";

/// Asserts `escalations(filter)` gives `who` exactly `expected`; an anonymous caller, who
/// may expect nothing, is told to sign in instead.
async fn assert_escalations(
    app: &TestApp,
    who: Option<&User>,
    what: &str,
    filter: Value,
    expected: &BTreeSet<String>,
) {
    let res = app.gql(who, ESCALATIONS, json!({ "f": filter })).await;
    if who.is_none() {
        assert!(
            expected.is_empty(),
            "{what}: anonymous callers see no escalation"
        );
        return assert_sign_in_required(what, &res, "escalations");
    }
    assert_conn(
        &format!("{what}: escalations({filter})"),
        &data(&res)["escalations"],
        expected,
    );
}

/// Asserts `releases` gives `who` exactly `expected`.
async fn assert_releases(
    app: &TestApp,
    who: Option<&User>,
    what: &str,
    expected: &BTreeSet<String>,
) {
    let res = app.gql(who, RELEASES, json!({})).await;
    assert_conn(
        &format!("{what}: releases"),
        &data(&res)["releases"],
        expected,
    );
}

/// Asserts `tickets(filter)` gives `who` exactly `expected`; an anonymous caller, who may
/// expect nothing, is told to sign in instead.
async fn assert_tickets(
    app: &TestApp,
    who: Option<&User>,
    what: &str,
    filter: Value,
    expected: &BTreeSet<String>,
) {
    let res = app.gql(who, TICKETS, json!({ "f": filter })).await;
    if who.is_none() {
        assert!(
            expected.is_empty(),
            "{what}: anonymous callers see no ticket"
        );
        return assert_sign_in_required(what, &res, "tickets");
    }
    assert_conn(
        &format!("{what}: tickets({filter})"),
        &data(&res)["tickets"],
        expected,
    );
}

// ---------------------------------------------------------------------------------------
// Proving that nothing changed.

/// Every table a workflow write touches.
const TABLES: [&str; 11] = [
    "ticket",
    "escalation",
    "escalation_ticket",
    "escalation_update",
    "comment",
    "event",
    "release",
    "release_note",
    "notification",
    "release_note_vote",
    "release_note_follow",
];

/// Everything a refused write could have touched: row counts, and the state of every
/// escalation, release, note and ticket as staff see it.
async fn snapshot(app: &TestApp, staff: &User) -> (Vec<(&'static str, i64)>, Value) {
    let mut rows = Vec::new();
    for t in TABLES {
        rows.push((t, app.count_rows(t).await));
    }
    let res = app
        .gql(
            Some(staff),
            "{ escalations(first: 100) { nodes { id status track priority details declineReason
                 assignee { id } release { id } updates(first: 50) { totalCount }
                 tickets(first: 10) { totalCount } } }
               releases(first: 100) { nodes { id status imminentAt releasedAt
                 note { id title body helpfulCount voteCount } } }
               tickets(first: 100) { nodes { id status solvedBy updatedAt } } }",
            json!({}),
        )
        .await;
    (rows, data(&res).clone())
}

/// Runs a mutation that must be refused with `expected`, return no data, and change nothing.
async fn refused(
    app: &TestApp,
    staff: &User,
    who: Option<&User>,
    mutation: &str,
    input: Value,
    expected: &str,
) -> Value {
    let before = snapshot(app, staff).await;
    let res = app.mutate(who, mutation, input.clone()).await;
    let what = format!(
        "{} → {} {input}",
        who.map(|u| u.role).unwrap_or("anonymous"),
        field_of(mutation)
    );
    assert_eq!(code(&res), expected, "{what}: {res}");
    assert!(is_null_data(&res), "{what}: no data on refusal: {res}");
    let after = snapshot(app, staff).await;
    assert_eq!(before.0, after.0, "{what}: rows changed");
    assert_eq!(before.1, after.1, "{what}: state changed");
    res
}

/// alice's escalation and everything hanging off it.
struct Hidden<'a> {
    escalation: &'a String,
    public_update: &'a String,
    internal_update: &'a String,
    release: &'a String,
    ticket: &'a String,
    assignee: &'a User,
}

/// Asserts `who` sees nothing of `h` on any path, while still seeing their own escalations,
/// releases and open-hotfix tickets.
async fn assert_hidden(
    app: &TestApp,
    h: &Hidden<'_>,
    name: &str,
    who: &User,
    own_escalations: &BTreeSet<String>,
    own_releases: &BTreeSet<String>,
    own_hotfix_tickets: &BTreeSet<String>,
) {
    let none = BTreeSet::new();
    for (filter, expected) in [
        (json!({}), own_escalations),
        (json!({ "track": ["HOTFIX"] }), own_escalations),
        (json!({ "status": ["SCHEDULED"] }), own_escalations),
        (json!({ "open": true }), own_escalations),
        (json!({ "priority": ["P1"] }), &none),
        (json!({ "releaseId": h.release }), &none),
        (json!({ "assigneeId": h.assignee.id }), &none),
    ] {
        assert_escalations(app, Some(who), name, filter, expected).await;
    }
    assert_node_hidden(app, Some(who), name, h.escalation, "Escalation").await;
    assert_node_hidden(app, Some(who), name, h.public_update, "EscalationUpdate").await;
    assert_node_hidden(app, Some(who), name, h.internal_update, "EscalationUpdate").await;
    assert_node_hidden(app, Some(who), name, h.release, "Release").await;
    assert_node_hidden(app, Some(who), name, h.ticket, "Ticket").await;
    assert_releases(app, Some(who), name, own_releases).await;
    assert_tickets(
        app,
        Some(who),
        name,
        json!({ "hasOpenHotfix": true }),
        own_hotfix_tickets,
    )
    .await;
    // Nor does it leak through the escalations of a release they may see.
    let res = app
        .gql(
            Some(who),
            "{ releases(first: 100) { nodes { escalations(first: 100) { totalCount
                 edges { node { id } } } } } }",
            json!({}),
        )
        .await;
    let text = data(&res).to_string();
    assert!(!text.contains(h.escalation.as_str()), "{name}: {text}");
}

// ---------------------------------------------------------------------------------------

/// A customer of another organization (and a colleague without organization scope) sees
/// none of an escalation that is not linked to a ticket they can see — on every path — and
/// organization scope makes it appear and, revoked, disappear again at once.
#[tokio::test]
async fn stranger_sees_nothing_of_an_unlinked_escalation() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let bob = app.customer("acme-corp").await;
    let carol = app.customer("globex-corp").await;
    let (agent, dev, lead) = (
        app.agent().await,
        app.developer().await,
        app.triage_lead().await,
    );

    let ta = app.create_ticket(&alice, "checkout returns 502").await;
    let esc = app
        .escalate(&agent, &ta, "Checkout fails for EUR", "P1")
        .await;
    app.triage_with(&lead, &esc, "HOTFIX", json!({ "assigneeId": dev.id }))
        .await;
    let public_update = app
        .post_update(&dev, &esc, "We are testing a fix.", true)
        .await;
    let internal_update = app
        .post_update(&dev, &esc, "root cause: stale FX cache", false)
        .await;
    let rel = app.create_release(&lead, "7.0.1", "HOTFIX").await;
    app.schedule(&lead, &esc, &rel).await;

    // carol has an escalation and a planned release of her own, so her lists are not empty.
    let tc = app.create_ticket(&carol, "carol's reports are slow").await;
    let esc_c = app.escalate(&agent, &tc, "Slow reports", "P2").await;
    app.triage(&lead, &esc_c, "HOTFIX").await;
    let rel_c = app.create_release(&lead, "7.0.2", "HOTFIX").await;
    app.schedule(&lead, &esc_c, &rel_c).await;

    // Staff and alice do see it (so the hidden cases below are not vacuous).
    assert_escalations(
        &app,
        Some(&agent),
        "agent",
        json!({}),
        &set(&[&esc, &esc_c]),
    )
    .await;
    assert_escalations(&app, Some(&alice), "alice", json!({}), &set(&[&esc])).await;
    assert_node_visible(
        &app,
        Some(&alice),
        "alice",
        &public_update,
        "EscalationUpdate",
    )
    .await;
    assert_node_visible(
        &app,
        Some(&agent),
        "agent",
        &internal_update,
        "EscalationUpdate",
    )
    .await;
    assert_node_visible(&app, Some(&alice), "alice", &rel, "Release").await;
    assert_releases(&app, Some(&alice), "alice", &set(&[&rel])).await;

    let h = Hidden {
        escalation: &esc,
        public_update: &public_update,
        internal_update: &internal_update,
        release: &rel,
        ticket: &ta,
        assignee: &dev,
    };
    assert_hidden(
        &app,
        &h,
        "carol",
        &carol,
        &set(&[&esc_c]),
        &set(&[&rel_c]),
        &set(&[&tc]),
    )
    .await;
    let none = BTreeSet::new();
    assert_hidden(&app, &h, "bob", &bob, &none, &none, &none).await;

    // Organization scope: bob now sees alice's ticket, hence the escalation and its release.
    let admin = app.admin().await;
    app.grant_scope(&admin, &bob).await;
    assert_escalations(&app, Some(&bob), "bob with scope", json!({}), &set(&[&esc])).await;
    assert_node_visible(&app, Some(&bob), "bob with scope", &esc, "Escalation").await;
    assert_node_visible(
        &app,
        Some(&bob),
        "bob with scope",
        &public_update,
        "EscalationUpdate",
    )
    .await;
    assert_node_hidden(
        &app,
        Some(&bob),
        "bob with scope",
        &internal_update,
        "EscalationUpdate",
    )
    .await;
    assert_node_visible(&app, Some(&bob), "bob with scope", &rel, "Release").await;
    assert_releases(&app, Some(&bob), "bob with scope", &set(&[&rel])).await;

    // Revoked: gone again on the very next request.
    app.revoke_scope(&admin, &bob).await;
    assert_hidden(&app, &h, "bob revoked", &bob, &none, &none, &none).await;
}

/// One escalation linking tickets of two organizations: each customer sees it only through
/// their own ticket and never learns of the other ticket; staff see both.
#[tokio::test]
async fn shared_escalation_shows_each_customer_only_their_own_ticket() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let carol = app.customer("globex-corp").await;
    let (agent, dev, lead) = (
        app.agent().await,
        app.developer().await,
        app.triage_lead().await,
    );

    // Markers contain '-', which never occurs inside a base64 id or cursor.
    let ta = app.create_ticket(&alice, "zebra-7731 invoices fail").await;
    let tc = app.create_ticket(&carol, "walrus-4410 payments fail").await;
    let tc2 = app.create_ticket(&carol, "walrus-5520 refunds fail").await;
    let esc = app
        .escalate(&agent, &ta, "Payments gateway returns 502", "P1")
        .await;
    app.link(&agent, &esc, &tc).await;
    app.triage_with(&lead, &esc, "HOTFIX", json!({ "assigneeId": dev.id }))
        .await;
    app.post_update(&dev, &esc, "We are testing a fix.", true)
        .await;
    // carol's second escalation ships in the same release; alice must not learn of it.
    let esc2 = app
        .escalate(&agent, &tc2, "ostrich-9 refund rounding", "P2")
        .await;
    app.triage(&lead, &esc2, "HOTFIX").await;
    let rel = app.create_release(&lead, "8.1.1", "HOTFIX").await;
    app.schedule(&lead, &esc, &rel).await;
    app.schedule(&lead, &esc2, &rel).await;

    const VIEW: &str = r#"query($t: ID!, $e: ID!, $r: ID!) {
      ticket(id: $t) { id
        escalation { id tickets { totalCount edges { cursor node { id number subject
          organization { key name } requester { id name } } } } }
        comments(first: 50) { nodes { body } }
        events(first: 50) { nodes { kind ticket { id subject }
          escalation { id tickets { totalCount nodes { id subject } } } } } }
      escalations(first: 20) { totalCount nodes { id title
        tickets(first: 10) { totalCount nodes { id subject organization { key } } } } }
      node(id: $e) { ... on Escalation { id tickets { totalCount nodes { id subject } }
        release { version escalations(first: 10) { totalCount nodes { id title
          tickets(first: 10) { totalCount nodes { id subject } } } } } } }
      releases(first: 10) { nodes { id version escalations(first: 10) { totalCount nodes { id title } } } }
      release: node(id: $r) { ... on Release { escalations(first: 10) { totalCount nodes { id title } } } }
    }"#;

    for (name, who, own, other_tickets, others, foreign) in [
        (
            "alice",
            &alice,
            &ta,
            vec![&tc, &tc2],
            vec![&tc, &tc2, &esc2],
            vec!["walrus-", "globex-corp", "ostrich-9"],
        ),
        (
            "carol",
            &carol,
            &tc,
            vec![&ta],
            vec![&ta],
            vec!["zebra-", "acme-corp"],
        ),
    ] {
        let res = app
            .gql(Some(who), VIEW, json!({ "t": own, "e": esc, "r": rel }))
            .await;
        let d = data(&res);
        let only_own = set(&[own]);
        assert_conn(name, &d["ticket"]["escalation"]["tickets"], &only_own);
        assert_eq!(d["ticket"]["escalation"]["id"], esc.as_str());
        let node_tickets = &d["node"]["tickets"];
        assert_eq!(node_tickets["totalCount"], 1, "{name}: {node_tickets}");
        assert_eq!(node_tickets["nodes"][0]["id"], own.as_str(), "{name}");
        // Every escalation shows its one ticket of this customer; the shared one shows theirs.
        for e in d["escalations"]["nodes"].as_array().unwrap() {
            assert_eq!(e["tickets"]["totalCount"], 1, "{name}: {e}");
            if e["id"] == esc.as_str() {
                assert_eq!(e["tickets"]["nodes"][0]["id"], own.as_str(), "{name}: {e}");
            }
        }
        for e in d["node"]["release"]["escalations"]["nodes"]
            .as_array()
            .unwrap()
        {
            assert_eq!(e["tickets"]["totalCount"], 1, "{name}: {e}");
        }
        let expected_escalations = if name == "alice" {
            set(&[&esc])
        } else {
            set(&[&esc, &esc2])
        };
        let listed: BTreeSet<String> = d["escalations"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(listed, expected_escalations, "{name}");
        let n = expected_escalations.len() as u64;
        assert_eq!(d["escalations"]["totalCount"], n, "{name}");
        assert_eq!(
            d["node"]["release"]["escalations"]["totalCount"], n,
            "{name}"
        );
        assert_eq!(d["release"]["escalations"]["totalCount"], n, "{name}");
        assert_eq!(
            d["releases"]["nodes"][0]["escalations"]["totalCount"], n,
            "{name}"
        );
        assert_eq!(
            d["releases"]["nodes"].as_array().unwrap().len(),
            1,
            "{name}"
        );

        // Nothing of the other organization's tickets anywhere in the response.
        let text = res.to_string();
        for id in &others {
            assert!(
                !text.contains(id.as_str()),
                "{name} learned of {id}: {text}"
            );
        }
        for marker in &foreign {
            assert!(!text.contains(marker), "{name} learned {marker:?}: {text}");
        }

        // And the other ticket itself is not found, like a made-up one.
        for id in other_tickets {
            assert_node_hidden(&app, Some(who), name, id, "Ticket").await;
        }
    }

    // Staff see both linked tickets, on every path.
    let res = app
        .gql(Some(&agent), VIEW, json!({ "t": ta, "e": esc, "r": rel }))
        .await;
    let d = data(&res);
    let both = set(&[&ta, &tc]);
    assert_conn("agent", &d["ticket"]["escalation"]["tickets"], &both);
    assert_eq!(d["node"]["tickets"]["totalCount"], 2);
    assert_eq!(d["release"]["escalations"]["totalCount"], 2);
    assert_eq!(d["escalations"]["totalCount"], 2);
}

/// The customer view of an escalation: status, track, priority, its label, the release and
/// public updates; never the internal details, the assignee, the decline reason or internal
/// updates — on `Ticket.escalation`, `escalations`, `node(id)` and `Release.escalations`.
#[tokio::test]
async fn customer_view_hides_internal_parts() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let (agent, dev, lead) = (
        app.agent().await,
        app.developer().await,
        app.triage_lead().await,
    );

    let ta = app.create_ticket(&alice, "exports time out").await;
    let esc = app.escalate(&agent, &ta, "Exports time out", "P1").await;
    app.triage_with(
        &lead,
        &esc,
        "HOTFIX",
        json!({ "priority": "P0", "assigneeId": dev.id }),
    )
    .await;
    let public_update = app
        .post_update(&dev, &esc, "PUBLIC-UPDATE testing a fix", true)
        .await;
    let internal_update = app
        .post_update(&dev, &esc, "INTERNAL-UPDATE root cause: stale cache", false)
        .await;
    let rel = app.create_release(&lead, "4.2.1", "HOTFIX").await;
    app.schedule(&lead, &esc, &rel).await;

    const VIEW: &str = "fragment E on Escalation { id title details status track priority
        priorityLabel declineReason assignee { id email }
        release { id version kind status }
        updates(first: 50) { totalCount edges { node { id body public } } } }
      query($t: ID!, $e: ID!, $r: ID!) {
        ticket(id: $t) { escalation { ...E } }
        escalations(first: 50) { nodes { ...E } }
        node(id: $e) { ...E }
        release: node(id: $r) { ... on Release { version status note { id }
          escalations(first: 50) { totalCount nodes { ...E } } } } }";
    let vars = json!({ "t": ta, "e": esc, "r": rel });

    let res = app.gql(Some(&alice), VIEW, vars.clone()).await;
    let d = data(&res);
    let views = [
        ("Ticket.escalation", &d["ticket"]["escalation"]),
        ("escalations", &d["escalations"]["nodes"][0]),
        ("node", &d["node"]),
        (
            "Release.escalations",
            &d["release"]["escalations"]["nodes"][0],
        ),
    ];
    for (path, e) in views {
        assert_eq!(e["id"], esc.as_str(), "{path}: {e}");
        assert_eq!(e["title"], "Exports time out", "{path}");
        assert!(e["details"].is_null(), "{path}: details: {e}");
        assert!(e["assignee"].is_null(), "{path}: assignee: {e}");
        assert!(e["declineReason"].is_null(), "{path}: declineReason: {e}");
        assert_eq!(e["status"], "SCHEDULED", "{path}");
        assert_eq!(e["track"], "HOTFIX", "{path}");
        assert_eq!(e["priority"], "P0", "{path}");
        assert_eq!(e["priorityLabel"], "Business Halted", "{path}");
        assert_eq!(
            e["release"],
            json!({ "id": rel, "version": "4.2.1", "kind": "HOTFIX", "status": "PLANNED" }),
            "{path}"
        );
        let updates = &e["updates"];
        assert_conn(path, updates, &set(&[&public_update]));
        assert_eq!(
            updates["edges"][0]["node"]["body"],
            "PUBLIC-UPDATE testing a fix"
        );
        assert_eq!(updates["edges"][0]["node"]["public"], true);
    }
    assert_eq!(d["escalations"]["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(d["release"]["escalations"]["totalCount"], 1);
    assert!(d["release"]["note"].is_null());
    let text = res.to_string();
    for secret in [
        "SECRET-DETAILS",
        "INTERNAL-UPDATE",
        internal_update.as_str(),
        dev.id.as_str(),
    ] {
        assert!(!text.contains(secret), "alice learned {secret:?}: {text}");
    }
    assert_node_hidden(
        &app,
        Some(&alice),
        "alice",
        &internal_update,
        "EscalationUpdate",
    )
    .await;
    let res = app
        .gql(
            Some(&alice),
            "query($id: ID!) { node(id: $id) { ... on EscalationUpdate { body public } } }",
            json!({ "id": public_update }),
        )
        .await;
    assert_eq!(
        data(&res)["node"],
        json!({ "body": "PUBLIC-UPDATE testing a fix", "public": true })
    );

    // The client filters narrow alice's view by what she may see, nothing more.
    let mine = set(&[&esc]);
    let none = BTreeSet::new();
    for (filter, expected) in [
        (json!({ "track": ["HOTFIX"] }), &mine),
        (
            json!({ "track": ["FEATURE_REQUEST", "PRODUCT_PLANNING"] }),
            &none,
        ),
        (
            json!({ "status": ["SCHEDULED"], "priority": ["P0"] }),
            &mine,
        ),
        (json!({ "priority": ["P1"] }), &none),
        (json!({ "releaseId": rel }), &mine),
        (json!({ "open": true }), &mine),
        (json!({ "open": false }), &none),
    ] {
        assert_escalations(&app, Some(&alice), "alice", filter, expected).await;
    }

    // Staff see the internal parts.
    for staff in [&agent, &dev] {
        let res = app.gql(Some(staff), VIEW, vars.clone()).await;
        let e = &data(&res)["node"];
        assert_eq!(e["details"], "SECRET-DETAILS of Exports time out", "{e}");
        assert_eq!(e["assignee"]["id"], dev.id.as_str(), "{e}");
        assert_conn(
            staff.role,
            &e["updates"],
            &set(&[&public_update, &internal_update]),
        );
    }

    // Through imminent and released the customer keeps the same view, and sees the note.
    app.mark_imminent(&lead, &rel).await;
    app.ship(&lead, &rel).await;
    let note = app.publish_note(&lead, &rel, "Hotfix 4.2.1").await;
    let res = app.gql(Some(&alice), VIEW, vars.clone()).await;
    let d = data(&res);
    assert_eq!(d["node"]["status"], "RELEASED");
    assert_eq!(d["node"]["release"]["status"], "RELEASED");
    assert!(d["node"]["details"].is_null());
    assert!(d["node"]["assignee"].is_null());
    assert_eq!(d["node"]["updates"]["totalCount"], 1);
    assert_eq!(d["release"]["note"]["id"], note.as_str());
    assert!(!res.to_string().contains("INTERNAL-UPDATE"));
}

/// Anonymous callers read published release notes and released releases, and nothing else:
/// every other read and every workflow mutation is refused with `UNAUTHENTICATED`, and
/// writes nothing.
#[tokio::test]
async fn anonymous_reads_only_notes_and_released_releases() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let carol = app.customer("globex-corp").await;
    let (agent, dev, lead, admin) = (
        app.agent().await,
        app.developer().await,
        app.triage_lead().await,
        app.admin().await,
    );

    // A shipped quarterly release with a published, voted note.
    let t1 = app.create_ticket(&alice, "please add CSV export").await;
    let shipped = app
        .escalate(&agent, &t1, "CSV export for invoices", "P2")
        .await;
    app.triage(&lead, &shipped, "FEATURE_REQUEST").await;
    let released = app.create_release(&lead, "2026.3", "QUARTERLY").await;
    app.schedule(&lead, &shipped, &released).await;
    app.ship(&lead, &released).await;
    app.follow_release_notes(&alice).await;
    let note = app.publish_note(&lead, &released, "2026 Q3").await;
    app.vote(&alice, &note, true).await;
    app.vote(&carol, &note, false).await;
    let alice_inbox = app.notification_ids(&alice).await;
    assert_eq!(alice_inbox.len(), 2, "shipped + published");

    // A planned hotfix release carrying an escalation with a public update, and an
    // imminent quarterly one.
    let t2 = app.create_ticket(&alice, "checkout 502").await;
    let hot = app.escalate(&agent, &t2, "Checkout 502", "P0").await;
    app.triage_with(&lead, &hot, "HOTFIX", json!({ "assigneeId": dev.id }))
        .await;
    let update = app.post_update(&dev, &hot, "We are on it.", true).await;
    let planned = app.create_release(&lead, "4.3.1", "HOTFIX").await;
    app.schedule(&lead, &hot, &planned).await;
    let upcoming = app.create_release(&lead, "2026.4", "QUARTERLY").await;
    app.mark_imminent(&lead, &upcoming).await;
    // Targets for the mutations below, each in a state where its move would be valid.
    let t3 = app.create_ticket(&alice, "dark mode please").await;
    let awaiting = app.escalate(&agent, &t3, "Dark mode", "P3").await;
    let t4 = app.create_ticket(&alice, "bulk edit please").await;
    let review = app.escalate(&agent, &t4, "Bulk edit", "P3").await;
    app.triage(&lead, &review, "PRODUCT_PLANNING").await;
    let free = app.create_ticket(&carol, "also checkout 502").await;

    // Reads.
    let res = app
        .gql(
            None,
            "{ releaseNotes(first: 100) { totalCount nodes { id title body items helpfulCount
                 voteCount viewerVote publishedAt release { id version status } } } }",
            json!({}),
        )
        .await;
    let notes = &data(&res)["releaseNotes"];
    assert_eq!(notes["totalCount"], 1, "{res}");
    let n = &notes["nodes"][0];
    assert_eq!(n["id"], note.as_str());
    assert_eq!(n["title"], "2026 Q3");
    assert_eq!(n["items"], json!(["CSV export for invoices"]));
    assert_eq!(n["helpfulCount"], 1);
    assert_eq!(n["voteCount"], 2);
    assert!(n["viewerVote"].is_null(), "{n}");
    assert_eq!(n["release"]["version"], "2026.3");
    assert!(!res.to_string().contains("acme"), "{res}");

    let res = app
        .gql(
            None,
            "{ releases(first: 100) { totalCount edges { node { id version status
                 note { id title items } escalations(first: 10) { totalCount edges { node { id } } } } } } }",
            json!({}),
        )
        .await;
    let releases = &data(&res)["releases"];
    assert_conn("anonymous releases", releases, &set(&[&released]));
    let r = &releases["edges"][0]["node"];
    assert_eq!(r["status"], "RELEASED");
    assert_eq!(r["note"]["id"], note.as_str());
    assert_eq!(r["note"]["items"], json!(["CSV export for invoices"]));
    assert_conn(
        "anonymous Release.escalations",
        &r["escalations"],
        &BTreeSet::new(),
    );

    assert_node_visible(&app, None, "anonymous", &released, "Release").await;
    let res = app
        .gql(
            None,
            "query($id: ID!) { node(id: $id) { ... on ReleaseNote { id helpfulCount voteCount viewerVote } } }",
            json!({ "id": note }),
        )
        .await;
    assert_eq!(
        data(&res)["node"],
        json!({ "id": note, "helpfulCount": 1, "voteCount": 2, "viewerVote": null })
    );
    for (id, kind) in [
        (&planned, "Release"),
        (&upcoming, "Release"),
        (&shipped, "Escalation"),
        (&hot, "Escalation"),
        (&update, "EscalationUpdate"),
        (&alice_inbox[0], "Notification"),
        (&t1, "Ticket"),
    ] {
        assert_node_hidden(&app, None, "anonymous", id, kind).await;
    }
    assert_escalations(&app, None, "anonymous", json!({}), &BTreeSet::new()).await;
    assert_escalations(
        &app,
        None,
        "anonymous",
        json!({ "open": false }),
        &BTreeSet::new(),
    )
    .await;
    assert_tickets(
        &app,
        None,
        "anonymous",
        json!({ "hasOpenHotfix": true }),
        &BTreeSet::new(),
    )
    .await;
    for query in [
        "{ viewer { id } notifications(first: 100) { totalCount edges { node { id } } } }",
        "{ viewer { id } notifications(unreadOnly: true) { totalCount } }",
    ] {
        let res = app.gql(None, query, json!({})).await;
        assert_sign_in_required(query, &res, "notifications");
        assert!(res["data"]["viewer"].is_null(), "{res}");
    }

    // Writes: every workflow mutation is refused before it does anything.
    let mutations = [
        (
            "escalateTicket(input: $i) { escalation { id } }",
            json!({ "ticketId": free, "title": "x", "details": "y", "priority": "P1" }),
        ),
        (
            "linkTicketToEscalation(input: $i) { ticket { id } }",
            json!({ "escalationId": hot, "ticketId": free }),
        ),
        (
            "triageEscalation(input: $i) { escalation { id } }",
            json!({ "escalationId": awaiting, "track": "HOTFIX" }),
        ),
        (
            "assignEscalation(input: $i) { escalation { id } }",
            json!({ "escalationId": hot, "assigneeId": lead.id }),
        ),
        (
            "postEscalationUpdate(input: $i) { escalationUpdate { id } }",
            json!({ "escalationId": hot, "body": "hi", "public": true }),
        ),
        (
            "declineEscalation(input: $i) { escalation { id } }",
            json!({ "escalationId": review, "reason": "no" }),
        ),
        (
            "createRelease(input: $i) { release { id } }",
            json!({ "version": "9.9.9", "kind": "HOTFIX" }),
        ),
        (
            "scheduleEscalation(input: $i) { escalation { id } }",
            json!({ "escalationId": review, "releaseId": upcoming }),
        ),
        (
            "markReleaseImminent(input: $i) { release { id } }",
            json!({ "releaseId": planned }),
        ),
        (
            "shipRelease(input: $i) { release { id } }",
            json!({ "releaseId": planned }),
        ),
        (
            "publishReleaseNote(input: $i) { releaseNote { id } }",
            json!({ "releaseId": upcoming, "title": "t", "body": "b" }),
        ),
        (
            "voteReleaseNote(input: $i) { releaseNote { id } }",
            json!({ "releaseNoteId": note, "helpful": true }),
        ),
        (
            "markNotificationRead(input: $i) { notification { id } }",
            json!({ "notificationId": alice_inbox[0] }),
        ),
    ];
    for (mutation, input) in mutations {
        refused(&app, &admin, None, mutation, input, "UNAUTHENTICATED").await;
    }
    for field in ["followReleaseNotes", "unfollowReleaseNotes"] {
        let before = snapshot(&app, &admin).await;
        for query in [
            format!("mutation {{ {field} {{ following }} }}"),
            format!("mutation {{ {field}(input: {{ clientMutationId: \"m\" }}) {{ following }} }}"),
        ] {
            let res = app.gql(None, &query, json!({})).await;
            assert_eq!(code(&res), "UNAUTHENTICATED", "{field}: {res}");
            assert!(is_null_data(&res), "{field}: {res}");
        }
        assert_eq!(
            before,
            snapshot(&app, &admin).await,
            "{field} changed something"
        );
    }
    // alice's notification is still unread and she still follows.
    let res = app
        .gql(
            Some(&alice),
            "{ viewer { followsReleaseNotes } notifications(unreadOnly: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&res)["viewer"]["followsReleaseNotes"], true);
    assert_eq!(data(&res)["notifications"]["totalCount"], 2);
}

/// Notifications are their recipient's alone: by list, by `node(id)` and for
/// `markNotificationRead`; the recipient marks their own, and `unreadOnly` then skips it.
#[tokio::test]
async fn notifications_are_their_recipients_only() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let bob = app.customer("acme-corp").await;
    let carol = app.customer("globex-corp").await;
    let (agent, lead, admin) = (
        app.agent().await,
        app.triage_lead().await,
        app.admin().await,
    );
    app.grant_scope(&admin, &bob).await; // even a colleague with scope does not see alice's inbox

    let ta = app.create_ticket(&alice, "please add CSV export").await;
    let esc = app.escalate(&agent, &ta, "CSV export", "P2").await;
    app.triage(&lead, &esc, "FEATURE_REQUEST").await;
    let rel = app.create_release(&lead, "2026.3", "QUARTERLY").await;
    app.schedule(&lead, &esc, &rel).await;
    app.follow_release_notes(&carol).await;
    app.ship(&lead, &rel).await;
    app.publish_note(&lead, &rel, "2026 Q3").await;

    const INBOX: &str = "{ notifications(first: 100) { totalCount edges { node { id kind read
        ticket { id } releaseNote { title } } } }
      unread: notifications(unreadOnly: true) { totalCount edges { node { id } } } }";
    let res = app.gql(Some(&alice), INBOX, json!({})).await;
    let d = data(&res);
    assert_eq!(d["notifications"]["totalCount"], 1, "{res}");
    let mine = &d["notifications"]["edges"][0]["node"];
    assert_eq!(mine["kind"], "REQUEST_SHIPPED");
    assert_eq!(mine["read"], false);
    assert_eq!(mine["ticket"]["id"], ta.as_str());
    let alice_n = mine["id"].as_str().unwrap().to_owned();
    assert_conn("alice unread", &d["unread"], &set(&[&alice_n]));

    let res = app.gql(Some(&carol), INBOX, json!({})).await;
    let d = data(&res);
    assert_eq!(d["notifications"]["totalCount"], 1, "{res}");
    let theirs = &d["notifications"]["edges"][0]["node"];
    assert_eq!(theirs["kind"], "RELEASE_NOTE_PUBLISHED");
    assert_eq!(theirs["releaseNote"]["title"], "2026 Q3");
    let carol_n = theirs["id"].as_str().unwrap().to_owned();

    for (name, who) in [("bob", &bob), ("agent", &agent), ("lead", &lead)] {
        let res = app.gql(Some(who), INBOX, json!({})).await;
        assert_conn(name, &data(&res)["notifications"], &BTreeSet::new());
    }

    // Another's notification is not found, by node or by markNotificationRead.
    for (name, who, other) in [
        ("carol", &carol, &alice_n),
        ("bob", &bob, &alice_n),
        ("agent", &agent, &alice_n),
        ("alice", &alice, &carol_n),
    ] {
        assert_node_hidden(&app, Some(who), name, other, "Notification").await;
        let mark = "mutation($i: MarkNotificationReadInput!) {
            markNotificationRead(input: $i) { notification { id read } } }";
        assert_like_nonexistent(
            &app,
            Some(who),
            &format!("{name}: markNotificationRead"),
            mark,
            json!({ "i": { "notificationId": other } }),
            json!({ "i": { "notificationId": gid("Notification", MADE_UP) } }),
        )
        .await;
    }
    // ... and nobody else's attempt marked it read.
    let res = app.gql(Some(&alice), INBOX, json!({})).await;
    assert_eq!(data(&res)["unread"]["totalCount"], 1);
    let res = app.gql(Some(&carol), INBOX, json!({})).await;
    assert_eq!(data(&res)["unread"]["totalCount"], 1);

    // The recipient marks their own (idempotently) and unreadOnly then leaves it out.
    for _ in 0..2 {
        let p = app
            .mutate_ok(
                &alice,
                "markNotificationRead(input: $i) { notification { id read } }",
                json!({ "notificationId": alice_n }),
            )
            .await;
        assert_eq!(p["notification"], json!({ "id": alice_n, "read": true }));
    }
    let res = app.gql(Some(&alice), INBOX, json!({})).await;
    let d = data(&res);
    assert_conn("alice unread after", &d["unread"], &BTreeSet::new());
    assert_conn("alice all after", &d["notifications"], &set(&[&alice_n]));
    assert_eq!(d["notifications"]["edges"][0]["node"]["read"], true);
    let res = app
        .gql(
            Some(&alice),
            "query($id: ID!) { node(id: $id) { ... on Notification { id read } } }",
            json!({ "id": alice_n }),
        )
        .await;
    assert_eq!(data(&res)["node"], json!({ "id": alice_n, "read": true }));
    // carol's stays unread.
    let res = app.gql(Some(&carol), INBOX, json!({})).await;
    assert_conn("carol unread", &data(&res)["unread"], &set(&[&carol_n]));
}

/// A desk mid-workflow, for the refusal tests.
struct Desk {
    app: TestApp,
    alice: User,
    carol: User,
    agent: User,
    dev: User,
    lead: User,
    admin: User,
    /// alice's ticket without an escalation.
    alice_free: String,
    /// carol's ticket without an escalation.
    carol_free: String,
    /// alice's ticket on `hotfix`.
    hotfix_ticket: String,
    /// A hotfix in progress, scheduled into `planned_hotfix`.
    hotfix: String,
    /// alice's ticket on `review`.
    review_ticket: String,
    /// Product planning, under review.
    review: String,
    /// A feature request shipped in `released`.
    shipped: String,
    /// A planned hotfix release carrying `hotfix` (alice may see it).
    planned_hotfix: String,
    /// A planned, empty quarterly release (no customer may see it).
    planned: String,
    /// An imminent, empty quarterly release without a note (no customer may see it).
    upcoming: String,
    /// A released quarterly release with its note (everyone may see it).
    released: String,
    note: String,
}

impl Desk {
    async fn build() -> Desk {
        let app = TestApp::spawn().await;
        let alice = app.customer("acme-corp").await;
        let carol = app.customer("globex-corp").await;
        let (agent, dev, lead, admin) = (
            app.agent().await,
            app.developer().await,
            app.triage_lead().await,
            app.admin().await,
        );
        let alice_free = app.create_ticket(&alice, "free ticket of alice").await;
        let carol_free = app.create_ticket(&carol, "free ticket of carol").await;

        let hotfix_ticket = app.create_ticket(&alice, "checkout 502").await;
        let hotfix = app
            .escalate(&agent, &hotfix_ticket, "Checkout 502", "P1")
            .await;
        app.triage_with(&lead, &hotfix, "HOTFIX", json!({ "assigneeId": dev.id }))
            .await;
        let planned_hotfix = app.create_release(&lead, "5.0.1", "HOTFIX").await;
        app.schedule(&lead, &hotfix, &planned_hotfix).await;

        let review_ticket = app.create_ticket(&alice, "roadmap idea").await;
        let review = app
            .escalate(&agent, &review_ticket, "Roadmap idea", "P3")
            .await;
        app.triage(&lead, &review, "PRODUCT_PLANNING").await;

        let shipped_ticket = app.create_ticket(&alice, "CSV export please").await;
        let shipped = app
            .escalate(&agent, &shipped_ticket, "CSV export", "P2")
            .await;
        app.triage(&lead, &shipped, "FEATURE_REQUEST").await;
        let released = app.create_release(&lead, "2026.2", "QUARTERLY").await;
        app.schedule(&lead, &shipped, &released).await;
        app.ship(&lead, &released).await;
        let note = app.publish_note(&lead, &released, "2026 Q2").await;

        let planned = app.create_release(&lead, "2026.4", "QUARTERLY").await;
        let upcoming = app.create_release(&lead, "2026.3", "QUARTERLY").await;
        app.mark_imminent(&lead, &upcoming).await;

        Desk {
            app,
            alice,
            carol,
            agent,
            dev,
            lead,
            admin,
            alice_free,
            carol_free,
            hotfix_ticket,
            hotfix,
            review_ticket,
            review,
            shipped,
            planned_hotfix,
            planned,
            upcoming,
            released,
            note,
        }
    }

    async fn refused(&self, who: &User, mutation: &str, input: Value, expected: &str) -> Value {
        refused(&self.app, &self.admin, Some(who), mutation, input, expected).await
    }

    /// Refused with `NOT_FOUND`, exactly like the same mutation on a made-up id.
    async fn not_found(&self, who: &User, mutation: &str, input: Value, made_up: Value) {
        let res = self.refused(who, mutation, input, "NOT_FOUND").await;
        let fake = self.app.mutate(Some(who), mutation, made_up).await;
        assert_eq!(
            res,
            fake,
            "{}: invisible differs from nonexistent",
            field_of(mutation)
        );
    }
}

const CREATE_RELEASE: &str = "createRelease(input: $i) { release { id } }";
const IMMINENT: &str = "markReleaseImminent(input: $i) { release { id status } }";
const SHIP: &str = "shipRelease(input: $i) { release { id status } }";
const PUBLISH: &str = "publishReleaseNote(input: $i) { releaseNote { id } }";
const POST_UPDATE: &str = "postEscalationUpdate(input: $i) { escalationUpdate { id } }";
const LINK: &str = "linkTicketToEscalation(input: $i) { ticket { id } escalation { id } }";
const SCHEDULE: &str = "scheduleEscalation(input: $i) { escalation { id status } }";
const DECLINE: &str = "declineEscalation(input: $i) { escalation { id status } }";
const ESCALATE: &str = "escalateTicket(input: $i) { escalation { id } }";
const VOTE: &str = "voteReleaseNote(input: $i) { releaseNote { id } }";

/// Roles that may not run releases, post updates or link tickets are refused — `FORBIDDEN`
/// for a thing they may see, `NOT_FOUND` for one they may not — and nothing changes.
#[tokio::test]
async fn role_refusals_change_nothing() {
    let d = Desk::build().await;
    let rel = |id: &String| json!({ "releaseId": id });
    let note = |id: &String| json!({ "releaseId": id, "title": "Notes", "body": "What is new" });

    // Developers and agents are staff: they see every release, and their role may not
    // create, advance, ship or publish.
    for who in [&d.dev, &d.agent] {
        d.refused(
            who,
            CREATE_RELEASE,
            json!({ "version": "6.0.0", "kind": "HOTFIX" }),
            "FORBIDDEN",
        )
        .await;
        d.refused(
            who,
            CREATE_RELEASE,
            json!({ "version": "2027.1", "kind": "QUARTERLY", "quarter": "2027-Q1" }),
            "FORBIDDEN",
        )
        .await;
        d.refused(who, IMMINENT, rel(&d.planned_hotfix), "FORBIDDEN")
            .await;
        d.refused(who, IMMINENT, rel(&d.planned), "FORBIDDEN").await;
        d.refused(who, SHIP, rel(&d.planned_hotfix), "FORBIDDEN")
            .await;
        d.refused(who, SHIP, rel(&d.upcoming), "FORBIDDEN").await;
        d.refused(who, PUBLISH, note(&d.upcoming), "FORBIDDEN")
            .await;
    }

    // A customer may never create one (no release is involved, so it is the role).
    d.refused(
        &d.alice,
        CREATE_RELEASE,
        json!({ "version": "6.0.0", "kind": "HOTFIX" }),
        "FORBIDDEN",
    )
    .await;
    // A release a customer may see — released ones, and the one their escalation is
    // scheduled into — is FORBIDDEN; any other is NOT_FOUND, like a made-up id.
    let fake_rel = rel(&gid("Release", MADE_UP));
    let fake_note = note(&gid("Release", MADE_UP));
    d.refused(&d.alice, IMMINENT, rel(&d.planned_hotfix), "FORBIDDEN")
        .await;
    d.refused(&d.alice, SHIP, rel(&d.planned_hotfix), "FORBIDDEN")
        .await;
    d.refused(&d.alice, PUBLISH, note(&d.planned_hotfix), "FORBIDDEN")
        .await;
    d.refused(&d.alice, SHIP, rel(&d.released), "FORBIDDEN")
        .await;
    d.refused(&d.alice, PUBLISH, note(&d.released), "FORBIDDEN")
        .await;
    d.not_found(&d.alice, IMMINENT, rel(&d.planned), fake_rel.clone())
        .await;
    d.not_found(&d.alice, SHIP, rel(&d.upcoming), fake_rel.clone())
        .await;
    d.not_found(&d.alice, PUBLISH, note(&d.upcoming), fake_note.clone())
        .await;
    d.not_found(&d.carol, IMMINENT, rel(&d.planned_hotfix), fake_rel.clone())
        .await;
    d.not_found(&d.carol, SHIP, rel(&d.planned_hotfix), fake_rel.clone())
        .await;
    d.not_found(
        &d.carol,
        PUBLISH,
        note(&d.planned_hotfix),
        fake_note.clone(),
    )
    .await;
    d.refused(&d.carol, SHIP, rel(&d.released), "FORBIDDEN")
        .await;

    // Only Tier 3 posts escalation updates.
    for public in [true, false] {
        let input = json!({ "escalationId": d.hotfix, "body": "update", "public": public });
        d.refused(&d.agent, POST_UPDATE, input.clone(), "FORBIDDEN")
            .await;
        d.refused(&d.alice, POST_UPDATE, input, "FORBIDDEN").await;
    }
    d.not_found(
        &d.carol,
        POST_UPDATE,
        json!({ "escalationId": d.hotfix, "body": "update", "public": true }),
        json!({ "escalationId": gid("Escalation", MADE_UP), "body": "update", "public": true }),
    )
    .await;

    // Only agents link tickets: a customer who sees both is FORBIDDEN; a customer who does
    // not see the escalation is NOT_FOUND.
    d.refused(
        &d.alice,
        LINK,
        json!({ "escalationId": d.hotfix, "ticketId": d.alice_free }),
        "FORBIDDEN",
    )
    .await;
    d.not_found(
        &d.carol,
        LINK,
        json!({ "escalationId": d.hotfix, "ticketId": d.carol_free }),
        json!({ "escalationId": gid("Escalation", MADE_UP), "ticketId": d.carol_free }),
    )
    .await;
    d.refused(
        &d.dev,
        LINK,
        json!({ "escalationId": d.hotfix, "ticketId": d.carol_free }),
        "FORBIDDEN",
    )
    .await;

    // The refusals were about roles: the triage lead's own moves still work.
    let p = d
        .app
        .mutate_ok(&d.lead, IMMINENT, rel(&d.planned_hotfix))
        .await;
    assert_eq!(p["release"]["status"], "IMMINENT");
    let p = d.app.mutate_ok(&d.lead, PUBLISH, note(&d.upcoming)).await;
    assert!(p["releaseNote"]["id"].is_string());
    let p = d
        .app
        .mutate_ok(
            &d.dev,
            POST_UPDATE,
            json!({ "escalationId": d.hotfix, "body": "ok", "public": false }),
        )
        .await;
    assert!(p["escalationUpdate"]["id"].is_string());
    let p = d
        .app
        .mutate_ok(
            &d.agent,
            LINK,
            json!({ "escalationId": d.hotfix, "ticketId": d.carol_free }),
        )
        .await;
    assert_eq!(p["ticket"]["id"], d.carol_free.as_str());
}

/// Moves the status machines refuse (`INVALID_TRANSITION`), unknown things (`NOT_FOUND`)
/// and malformed input (`BAD_USER_INPUT`) change nothing.
#[tokio::test]
async fn invalid_moves_and_bad_input_change_nothing() {
    let d = Desk::build().await;
    let lead = &d.lead;

    // Notes: one per release, and only once it is imminent or released.
    for (release, title) in [
        (&d.released, "second note"),
        (&d.planned, "too early"),
        (&d.planned_hotfix, "too early"),
    ] {
        d.refused(
            lead,
            PUBLISH,
            json!({ "releaseId": release, "title": title, "body": "b" }),
            "INVALID_TRANSITION",
        )
        .await;
    }
    // Releases move forward only.
    d.refused(
        lead,
        IMMINENT,
        json!({ "releaseId": d.upcoming }),
        "INVALID_TRANSITION",
    )
    .await;
    d.refused(
        lead,
        IMMINENT,
        json!({ "releaseId": d.released }),
        "INVALID_TRANSITION",
    )
    .await;
    d.refused(
        lead,
        SHIP,
        json!({ "releaseId": d.released }),
        "INVALID_TRANSITION",
    )
    .await;

    // Planning goes into quarterly releases only; hotfixes are not declined.
    d.refused(
        lead,
        SCHEDULE,
        json!({ "escalationId": d.review, "releaseId": d.planned_hotfix }),
        "INVALID_TRANSITION",
    )
    .await;
    d.refused(
        lead,
        DECLINE,
        json!({ "escalationId": d.hotfix, "reason": "not now" }),
        "INVALID_TRANSITION",
    )
    .await;
    d.refused(
        lead,
        DECLINE,
        json!({ "escalationId": d.shipped, "reason": "not now" }),
        "INVALID_TRANSITION",
    )
    .await;

    // A ticket has one open escalation at a time; released escalations take no links.
    for (escalation, ticket) in [
        (&d.hotfix, &d.review_ticket),
        (&d.review, &d.hotfix_ticket),
        (&d.hotfix, &d.hotfix_ticket),
        (&d.shipped, &d.carol_free),
        (&d.shipped, &d.alice_free),
    ] {
        d.refused(
            &d.agent,
            LINK,
            json!({ "escalationId": escalation, "ticketId": ticket }),
            "INVALID_TRANSITION",
        )
        .await;
    }
    d.refused(
        &d.agent,
        ESCALATE,
        json!({ "ticketId": d.hotfix_ticket, "title": "again", "details": "d", "priority": "P1" }),
        "INVALID_TRANSITION",
    )
    .await;

    // Votes on an unknown note (or an id of another kind) are NOT_FOUND.
    for id in [
        gid("ReleaseNote", MADE_UP),
        d.released.clone(),
        gid("ReleaseNote", row_id(&d.note) + 1),
    ] {
        d.refused(
            &d.alice,
            VOTE,
            json!({ "releaseNoteId": id, "helpful": true }),
            "NOT_FOUND",
        )
        .await;
    }

    // Malformed input.
    for quarter in [
        "2026-Q5", "2026-Q0", "Q3-2026", "2026-3", "26-Q1", "2026-Q12",
    ] {
        d.refused(
            lead,
            CREATE_RELEASE,
            json!({ "version": format!("v-{quarter}"), "kind": "QUARTERLY", "quarter": quarter }),
            "BAD_USER_INPUT",
        )
        .await;
    }
    for version in ["", "   "] {
        for kind in ["HOTFIX", "QUARTERLY"] {
            d.refused(
                lead,
                CREATE_RELEASE,
                json!({ "version": version, "kind": kind, "quarter": "2027-Q1" }),
                "BAD_USER_INPUT",
            )
            .await;
        }
    }
    for (title, body) in [("", "b"), ("   ", "b"), ("t", ""), ("t", " \n ")] {
        d.refused(
            lead,
            PUBLISH,
            json!({ "releaseId": d.upcoming, "title": title, "body": body }),
            "BAD_USER_INPUT",
        )
        .await;
    }
    for title in ["", "  "] {
        d.refused(
            &d.agent,
            ESCALATE,
            json!({ "ticketId": d.alice_free, "title": title, "details": "d", "priority": "P2" }),
            "BAD_USER_INPUT",
        )
        .await;
    }

    // The valid versions of the same moves go through.
    let p = d
        .app
        .mutate_ok(
            lead,
            PUBLISH,
            json!({ "releaseId": d.upcoming, "title": "2026 Q3", "body": "b" }),
        )
        .await;
    assert!(p["releaseNote"]["id"].is_string());
    let p = d
        .app
        .mutate_ok(
            lead,
            CREATE_RELEASE,
            json!({ "version": "2027.1", "kind": "QUARTERLY", "quarter": "2027-q1" }),
        )
        .await;
    assert!(p["release"]["id"].is_string());
    let p = d
        .app
        .mutate_ok(
            lead,
            SCHEDULE,
            json!({ "escalationId": d.review, "releaseId": d.planned }),
        )
        .await;
    assert_eq!(p["escalation"]["status"], "SCHEDULED");
    let p = d
        .app
        .mutate_ok(
            &d.agent,
            ESCALATE,
            json!({ "ticketId": d.alice_free, "title": "New", "details": "d", "priority": "P2" }),
        )
        .await;
    assert!(p["escalation"]["id"].is_string());
}

/// `tickets(filter: {hasOpenHotfix: true})` gives exactly the viewer's visible tickets that
/// wait on a hotfix that has not shipped; `false` the others.
#[tokio::test]
async fn open_hotfix_filter_lists_exactly_the_viewers_waiting_tickets() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let bob = app.customer("acme-corp").await;
    let carol = app.customer("globex-corp").await;
    let (agent, lead) = (app.agent().await, app.triage_lead().await);

    let a_hot = app.create_ticket(&alice, "alice: checkout 502").await;
    let a_feature = app.create_ticket(&alice, "alice: dark mode").await;
    let a_plain = app.create_ticket(&alice, "alice: password reset").await;
    let a_untriaged = app.create_ticket(&alice, "alice: slow search").await;
    let c_linked = app.create_ticket(&carol, "carol: checkout 502 too").await;
    let c_plain = app.create_ticket(&carol, "carol: question").await;
    let b_hot = app.create_ticket(&bob, "bob: exports broken").await;

    let hot = app.escalate(&agent, &a_hot, "Checkout 502", "P0").await;
    app.link(&agent, &hot, &c_linked).await;
    app.triage(&lead, &hot, "HOTFIX").await;
    let feature = app.escalate(&agent, &a_feature, "Dark mode", "P3").await;
    app.triage(&lead, &feature, "FEATURE_REQUEST").await;
    app.escalate(&agent, &a_untriaged, "Slow search", "P2")
        .await;
    let bob_hot = app.escalate(&agent, &b_hot, "Exports broken", "P1").await;
    app.triage(&lead, &bob_hot, "HOTFIX").await;

    let yes = json!({ "hasOpenHotfix": true });
    let no = json!({ "hasOpenHotfix": false });
    assert_tickets(&app, Some(&alice), "alice", yes.clone(), &set(&[&a_hot])).await;
    assert_tickets(
        &app,
        Some(&alice),
        "alice",
        no.clone(),
        &set(&[&a_feature, &a_plain, &a_untriaged]),
    )
    .await;
    assert_tickets(&app, Some(&carol), "carol", yes.clone(), &set(&[&c_linked])).await;
    assert_tickets(&app, Some(&carol), "carol", no.clone(), &set(&[&c_plain])).await;
    assert_tickets(&app, Some(&bob), "bob", yes.clone(), &set(&[&b_hot])).await;
    assert_tickets(
        &app,
        Some(&agent),
        "agent",
        yes.clone(),
        &set(&[&a_hot, &c_linked, &b_hot]),
    )
    .await;
    assert_tickets(&app, None, "anonymous", yes.clone(), &BTreeSet::new()).await;
    // ANDed with the other filters, never widening them.
    assert_tickets(
        &app,
        Some(&agent),
        "agent",
        json!({ "hasOpenHotfix": true, "requesterId": carol.id }),
        &set(&[&c_linked]),
    )
    .await;
    assert_tickets(
        &app,
        Some(&carol),
        "carol",
        json!({ "hasOpenHotfix": true, "requesterId": alice.id }),
        &BTreeSet::new(),
    )
    .await;

    // Organization scope widens bob's view to alice's hotfix ticket; revoking narrows it.
    let admin = app.admin().await;
    app.grant_scope(&admin, &bob).await;
    assert_tickets(
        &app,
        Some(&bob),
        "bob with scope",
        yes.clone(),
        &set(&[&a_hot, &b_hot]),
    )
    .await;
    app.revoke_scope(&admin, &bob).await;
    assert_tickets(
        &app,
        Some(&bob),
        "bob revoked",
        yes.clone(),
        &set(&[&b_hot]),
    )
    .await;

    // Still waiting once scheduled into a planned release; no longer once it ships.
    let rel = app.create_release(&lead, "3.0.1", "HOTFIX").await;
    app.schedule(&lead, &hot, &rel).await;
    assert_tickets(
        &app,
        Some(&alice),
        "alice scheduled",
        yes.clone(),
        &set(&[&a_hot]),
    )
    .await;
    assert_tickets(
        &app,
        Some(&carol),
        "carol scheduled",
        yes.clone(),
        &set(&[&c_linked]),
    )
    .await;
    app.ship(&lead, &rel).await;
    assert_tickets(
        &app,
        Some(&alice),
        "alice shipped",
        yes.clone(),
        &BTreeSet::new(),
    )
    .await;
    assert_tickets(
        &app,
        Some(&carol),
        "carol shipped",
        yes.clone(),
        &BTreeSet::new(),
    )
    .await;
    assert_tickets(
        &app,
        Some(&carol),
        "carol shipped",
        no.clone(),
        &set(&[&c_linked, &c_plain]),
    )
    .await;
    assert_tickets(
        &app,
        Some(&agent),
        "agent shipped",
        yes.clone(),
        &set(&[&b_hot]),
    )
    .await;
}

/// A declined escalation frees its ticket: the same ticket can be escalated again, and the
/// customer sees the new escalation without the decline reason.
#[tokio::test]
async fn declined_escalation_frees_its_ticket() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let bob = app.customer("acme-corp").await;
    let (agent, lead, admin) = (
        app.agent().await,
        app.triage_lead().await,
        app.admin().await,
    );

    let ta = app.create_ticket(&alice, "please add SSO").await;
    let first = app.escalate(&agent, &ta, "SSO login", "P2").await;
    app.triage(&lead, &first, "FEATURE_REQUEST").await;
    // Under review it is still open: the ticket cannot be escalated again yet.
    refused(
        &app,
        &admin,
        Some(&agent),
        ESCALATE,
        json!({ "ticketId": ta, "title": "again", "details": "d", "priority": "P2" }),
        "INVALID_TRANSITION",
    )
    .await;

    let p = app
        .mutate_ok(
            &lead,
            "declineEscalation(input: $i) { escalation { status declineReason } }",
            json!({ "escalationId": first, "reason": "INTERNAL-REASON not on the roadmap" }),
        )
        .await;
    assert_eq!(
        p["escalation"],
        json!({ "status": "DECLINED", "declineReason": "INTERNAL-REASON not on the roadmap" })
    );

    const ESC: &str = "query($id: ID!) { node(id: $id) { ... on Escalation { id status
        declineReason details tickets { totalCount } } } }";
    let res = app.gql(Some(&alice), ESC, json!({ "id": first })).await;
    assert_eq!(
        data(&res)["node"],
        json!({ "id": first, "status": "DECLINED", "declineReason": null, "details": null,
                "tickets": { "totalCount": 1 } })
    );
    let res = app.gql(Some(&agent), ESC, json!({ "id": first })).await;
    assert_eq!(
        data(&res)["node"]["declineReason"],
        "INTERNAL-REASON not on the roadmap"
    );
    assert_node_hidden(&app, Some(&bob), "bob", &first, "Escalation").await;
    // A declined escalation takes no more links.
    let other = app.create_ticket(&bob, "SSO for us too").await;
    refused(
        &app,
        &admin,
        Some(&agent),
        LINK,
        json!({ "escalationId": first, "ticketId": other }),
        "INVALID_TRANSITION",
    )
    .await;

    // The same ticket is escalated again.
    let second = app.escalate(&agent, &ta, "SSO login (again)", "P1").await;
    assert_ne!(first, second);
    const TICKET: &str = "query($id: ID!) { ticket(id: $id) { escalation { id status title
        declineReason } } }";
    let res = app.gql(Some(&alice), TICKET, json!({ "id": ta })).await;
    assert_eq!(
        data(&res)["ticket"]["escalation"],
        json!({ "id": second, "status": "AWAITING_TRIAGE", "title": "SSO login (again)",
                "declineReason": null })
    );
    let both = set(&[&first, &second]);
    assert_escalations(&app, Some(&alice), "alice", json!({}), &both).await;
    assert_escalations(
        &app,
        Some(&alice),
        "alice",
        json!({ "open": true }),
        &set(&[&second]),
    )
    .await;
    assert_escalations(
        &app,
        Some(&alice),
        "alice",
        json!({ "open": false }),
        &set(&[&first]),
    )
    .await;
    assert_escalations(
        &app,
        Some(&alice),
        "alice",
        json!({ "status": ["DECLINED"] }),
        &set(&[&first]),
    )
    .await;
    assert_escalations(&app, Some(&bob), "bob", json!({}), &BTreeSet::new()).await;
    // It follows its new track like any other.
    app.triage(&lead, &second, "HOTFIX").await;
    assert_tickets(
        &app,
        Some(&alice),
        "alice",
        json!({ "hasOpenHotfix": true }),
        &set(&[&ta]),
    )
    .await;
}

/// A customer never learns who an escalation is assigned to, so filtering the queue by
/// assignee must not tell them either: any developer's id answers alike.
#[tokio::test]
async fn assignee_filter_does_not_reveal_the_assignee_to_customers() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let (agent, lead) = (app.agent().await, app.triage_lead().await);
    let (dev, other_dev) = (app.developer().await, app.developer().await);
    let ta = app.create_ticket(&alice, "exports time out").await;
    let esc = app.escalate(&agent, &ta, "Exports time out", "P1").await;
    app.triage_with(&lead, &esc, "HOTFIX", json!({ "assigneeId": dev.id }))
        .await;

    // Staff filter by assignee.
    assert_escalations(
        &app,
        Some(&agent),
        "agent",
        json!({ "assigneeId": dev.id }),
        &set(&[&esc]),
    )
    .await;
    assert_escalations(
        &app,
        Some(&agent),
        "agent",
        json!({ "assigneeId": other_dev.id }),
        &BTreeSet::new(),
    )
    .await;

    // For alice the answer must not depend on who the assignee is.
    let assigned = app
        .gql(
            Some(&alice),
            ESCALATIONS,
            json!({ "f": { "assigneeId": dev.id } }),
        )
        .await;
    let not_assigned = app
        .gql(
            Some(&alice),
            ESCALATIONS,
            json!({ "f": { "assigneeId": other_dev.id } }),
        )
        .await;
    assert_eq!(
        assigned, not_assigned,
        "the assignee filter tells a customer who works on their escalation"
    );
}

/// A cursor naming an escalation the customer may not see continues the queue exactly like a
/// cursor naming one that does not exist.
#[tokio::test]
async fn cursor_of_a_hidden_escalation_behaves_like_a_nonexistent_one() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme-corp").await;
    let carol = app.customer("globex-corp").await;
    let agent = app.agent().await;
    // alice's escalation comes first (lower id) with a lower priority than carol's.
    let ta = app.create_ticket(&alice, "alice: slow search").await;
    let mine = app.escalate(&agent, &ta, "Slow search", "P2").await;
    let tc = app.create_ticket(&carol, "carol: outage").await;
    let hidden = app.escalate(&agent, &tc, "Outage", "P0").await;
    let next_free = row_id(&hidden) + 1; // no escalation has this id

    const PAGE: &str = "query($after: String) { escalations(first: 10, after: $after) {
        totalCount edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } }";
    let via_hidden = app
        .gql(
            Some(&alice),
            PAGE,
            json!({ "after": cursor(row_id(&hidden)) }),
        )
        .await;
    let via_nonexistent = app
        .gql(Some(&alice), PAGE, json!({ "after": cursor(next_free) }))
        .await;
    // Without carol's escalation, "after id N" would skip alice's (lower id) one: so must
    // the hidden cursor, or alice learns that a P0/P1 escalation with that id exists.
    assert_eq!(
        via_hidden, via_nonexistent,
        "a hidden escalation's cursor reveals it exists (and its priority); mine = {mine}"
    );
}
