//! The tickets slice end to end over HTTP with real tokens.

mod common;

use common::{TestApp, code, data, steps::ADD_COMMENT};
use serde_json::json;

const TICKET: &str = "query($id: ID!) { ticket(id: $id) { id number status solvedBy subject
  comments { totalCount nodes { body public } } events { nodes { kind fromStatus toStatus public } } } }";

#[tokio::test]
async fn a_ticket_lives_its_life() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;

    let id = app.create_ticket(&alice, "printer on fire").await;
    let t = app.gql(Some(&alice), TICKET, json!({ "id": id })).await;
    assert_eq!(data(&t)["ticket"]["status"], "NEW");
    assert!(data(&t)["ticket"]["number"].as_i64().unwrap() >= 1);

    app.comment(&agent, &id, "on it", true).await;
    app.comment(&agent, &id, "internal: blame the toner", false)
        .await;
    let res = app
        .update_ticket(&agent, json!({ "ticketId": id, "status": "SOLVED", "priority": "HIGH", "assigneeId": agent.id }))
        .await;
    let updated = &data(&res)["updateTicket"]["ticket"];
    assert_eq!(updated["status"], "SOLVED");
    assert_eq!(updated["solvedBy"], "AGENT");
    assert_eq!(updated["priority"], "HIGH");
    assert_eq!(updated["assignee"]["id"], agent.id.as_str());

    // The customer sees public comments and public events only.
    let t = app.gql(Some(&alice), TICKET, json!({ "id": id })).await;
    let ticket = &data(&t)["ticket"];
    assert_eq!(ticket["comments"]["totalCount"], 1);
    assert_eq!(ticket["comments"]["nodes"][0]["body"], "on it");
    assert!(
        ticket["events"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["public"] == true)
    );

    // A customer reply reopens the solved ticket.
    app.comment(&alice, &id, "still smoking", true).await;
    let t = app.gql(Some(&alice), TICKET, json!({ "id": id })).await;
    assert_eq!(data(&t)["ticket"]["status"], "OPEN");
    assert!(data(&t)["ticket"]["solvedBy"].is_null());

    // The customer solves their own ticket; then the agent closes it.
    let res = app
        .update_ticket(&alice, json!({ "ticketId": id, "status": "SOLVED" }))
        .await;
    assert_eq!(data(&res)["updateTicket"]["ticket"]["solvedBy"], "CUSTOMER");
    let res = app
        .update_ticket(&agent, json!({ "ticketId": id, "status": "CLOSED" }))
        .await;
    assert_eq!(data(&res)["updateTicket"]["ticket"]["status"], "CLOSED");

    // Closed is read-only: no comment, no change, nothing written.
    let comments_before = app.count_rows("comment").await;
    let events_before = app.count_rows("event").await;
    let res = app
        .gql(
            Some(&alice),
            ADD_COMMENT,
            json!({ "i": { "ticketId": id, "body": "hello?", "public": true } }),
        )
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    let res = app
        .update_ticket(&agent, json!({ "ticketId": id, "status": "OPEN" }))
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    let res = app
        .update_ticket(&agent, json!({ "ticketId": id, "priority": "LOW" }))
        .await;
    assert_eq!(code(&res), "INVALID_TRANSITION");
    assert_eq!(app.count_rows("comment").await, comments_before);
    assert_eq!(app.count_rows("event").await, events_before);
}

#[tokio::test]
async fn ticket_by_number_and_history() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let id = app.create_ticket(&alice, "one").await;
    let t = app.gql(Some(&alice), TICKET, json!({ "id": id })).await;
    let number = data(&t)["ticket"]["number"].clone();
    let by_number = app
        .gql(
            Some(&alice),
            "query($n: Int!) { ticket(number: $n) { id } }",
            json!({ "n": number }),
        )
        .await;
    assert_eq!(data(&by_number)["ticket"]["id"], id.as_str());
    let events = &data(&t)["ticket"]["events"]["nodes"];
    assert_eq!(events[0]["kind"], "TICKET_CREATED");
    assert_eq!(events[0]["toStatus"], "NEW");
}

#[tokio::test]
async fn comments_can_be_read_newest_first() {
    let app = TestApp::spawn().await;
    let customer = app.customer("acme").await;
    let agent = app.agent().await;
    let ticket = app.create_ticket(&customer, "order").await;
    for body in ["one", "two", "three"] {
        app.comment(&customer, &ticket, body, true).await;
    }
    app.comment(&agent, &ticket, "internal", false).await;
    let q = "query($id: ID!, $after: String) { ticket(id: $id) {
        comments(first: 2, after: $after, order: NEWEST_FIRST) {
          nodes { body } pageInfo { hasNextPage endCursor } } } }";
    let bodies = |res: &serde_json::Value| -> Vec<String> {
        res["data"]["ticket"]["comments"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["body"].as_str().unwrap().to_owned())
            .collect()
    };
    // The customer never sees the internal comment, newest first or not.
    let res = app.gql(Some(&customer), q, json!({ "id": ticket })).await;
    assert_eq!(bodies(&res), ["three", "two"]);
    let page = &res["data"]["ticket"]["comments"]["pageInfo"];
    assert_eq!(page["hasNextPage"], true);
    let after = page["endCursor"].clone();
    let res = app
        .gql(Some(&customer), q, json!({ "id": ticket, "after": after }))
        .await;
    assert_eq!(bodies(&res), ["one"]);
    let res = app.gql(Some(&agent), q, json!({ "id": ticket })).await;
    assert_eq!(bodies(&res), ["internal", "three"]);
}

/// `totalCount` of ticket lists comes from the trigger-kept tally: it must agree with the
/// rows themselves for every viewer and status filter, after creates and status changes,
/// and the tally must equal a fresh `GROUP BY` of the ticket table.
#[tokio::test]
async fn ticket_counts_follow_every_write() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let bob = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let (agent, admin) = (app.agent().await, app.admin().await);
    app.grant_scope(&admin, &bob).await;

    let mut alice_tickets = Vec::new();
    for i in 0..4 {
        alice_tickets.push(app.create_ticket(&alice, &format!("alice {i}")).await);
    }
    app.create_ticket(&bob, "bob's").await;
    app.create_ticket(&carol, "carol's").await;
    for (id, status) in alice_tickets.iter().zip(["OPEN", "PENDING", "SOLVED"]) {
        let res = app
            .update_ticket(&agent, json!({ "ticketId": id, "status": status }))
            .await;
        assert_eq!(
            data(&res)["updateTicket"]["ticket"]["status"],
            status,
            "{res}"
        );
    }
    // A second change of the same ticket moves it between two tallies.
    let res = app
        .update_ticket(
            &agent,
            json!({ "ticketId": alice_tickets[0], "status": "SOLVED" }),
        )
        .await;
    assert_eq!(code(&res), "", "{res}");

    const LIST: &str = "query($s: [TicketStatus!]) { tickets(first: 100, filter: { status: $s }) { totalCount nodes { id } } }";
    let filters = [
        json!(null),
        json!(["NEW"]),
        json!(["OPEN"]),
        json!(["SOLVED"]),
        json!(["NEW", "SOLVED"]),
        json!(["CLOSED"]),
    ];
    for (who, user) in [
        ("alice", &alice),
        ("bob (scoped)", &bob),
        ("carol", &carol),
        ("agent", &agent),
    ] {
        for s in &filters {
            let res = app.gql(Some(user), LIST, json!({ "s": s })).await;
            let list = &data(&res)["tickets"];
            assert_eq!(
                list["totalCount"].as_u64().unwrap() as usize,
                list["nodes"].as_array().unwrap().len(),
                "{who} {s}: {res}"
            );
        }
    }
    let res = app.gql(Some(&bob), LIST, json!({ "s": null })).await;
    assert_eq!(
        data(&res)["tickets"]["totalCount"],
        5,
        "bob sees acme's five: {res}"
    );
    let res = app
        .gql(Some(&alice), LIST, json!({ "s": ["SOLVED"] }))
        .await;
    assert_eq!(data(&res)["tickets"]["totalCount"], 2, "{res}");

    let drift = app
        .count_rows(
            "(SELECT org_id, status, COUNT(*) AS n FROM ticket GROUP BY org_id, status
              EXCEPT SELECT org_id, status, n FROM ticket_tally WHERE n > 0) AS missing",
        )
        .await;
    assert_eq!(
        drift, 0,
        "every (requester, status, organization) group is tallied exactly"
    );
    let stale = app
        .count_rows(
            "ticket_tally tt WHERE n <> (SELECT COUNT(*) FROM ticket t
              WHERE t.status = tt.status AND t.org_id = tt.org_id)",
        )
        .await;
    assert_eq!(stale, 0, "no tally row disagrees with the tickets");
}
