//! No N+1: the statements a ticket page costs do not grow with its size.

mod common;

use std::sync::atomic::Ordering;

use common::{TestApp, User, data};
use serde_json::json;

const PAGE: &str = r#"query($n: Int!) {
  tickets(first: $n) {
    totalCount
    edges { node {
      number subject
      requester { name }
      organization { name }
      assignee { name }
      comments(first: 3) { totalCount edges { node { body author { name } } } }
    } }
  }
}"#;

async fn statements_for(app: &TestApp, user: &User, n: i64) -> usize {
    // Warm up the viewer (provisioning writes on first sight only).
    data(&app.gql(Some(user), "{ viewer { id } }", json!({})).await);
    app.quiesce().await;
    let before = app.statements.load(Ordering::SeqCst);
    app.log.lock().unwrap().clear();
    let res = app.gql(Some(user), PAGE, json!({ "n": n })).await;
    let edges = data(&res)["tickets"]["edges"].as_array().unwrap().len();
    assert_eq!(edges as i64, n);
    app.statements.load(Ordering::SeqCst) - before
}

#[tokio::test]
async fn ticket_page_costs_the_same_for_5_and_50_tickets() {
    // The default 1 ms batching window: the page's nested rows are fetched ahead, so no
    // batch can be split by a slow scheduler.
    let app = TestApp::spawn().await;
    let agent = app.agent().await;
    let mut customers = Vec::new();
    for org in ["acme", "globex", "initech", "umbrella", "hooli"] {
        customers.push(app.customer(org).await);
    }
    for i in 0..50 {
        let c = &customers[i % customers.len()];
        let t = app.create_ticket(c, &format!("ticket {i}")).await;
        for j in 0..4 {
            app.comment(
                if j % 2 == 0 { c } else { &agent },
                &t,
                &format!("reply {j}"),
                true,
            )
            .await;
        }
    }
    let small = statements_for(&app, &agent, 5).await;
    let large = statements_for(&app, &agent, 50).await;
    let log = app.log.lock().unwrap().join("\n");
    assert_eq!(small, large, "statements grew with the page size:\n{log}");
    assert!(large <= 10, "{large} statements for one page:\n{log}");

    // A customer with organization scope pays the same constant (one extra scope check).
    let scoped = &customers[0];
    app.grant_scope(&app.admin().await, scoped).await;
    let mine = statements_for(&app, scoped, 10).await;
    assert!(mine <= 12, "{mine} statements for a customer's page");
}

/// The three benchmark pages (BENCHMARKS.md Q1–Q3) are fetched ahead from the query's
/// look-ahead: at the default 1 ms batching window, under concurrent load, each costs a
/// fixed number of statements, whatever the page size.
#[tokio::test]
async fn hot_pages_cost_a_fixed_number_of_statements_under_load() {
    let app = TestApp::spawn().await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;
    let mut customers = Vec::new();
    for org in ["acme", "globex", "initech"] {
        customers.push(app.customer(org).await);
    }
    let scoped = customers[0].clone();
    app.grant_scope(&app.admin().await, &scoped).await;
    let mut tickets = Vec::new();
    for i in 0..60 {
        let c = if i % 2 == 0 {
            &scoped
        } else {
            &customers[i % 3]
        };
        let t = app.create_ticket(c, &format!("ticket {i}")).await;
        for j in 0..3 {
            app.comment(
                if j == 1 { &agent } else { c },
                &t,
                &format!("reply {j}"),
                true,
            )
            .await;
        }
        tickets.push(t);
    }
    // The newest 40: the small pages hold escalated tickets too.
    for (i, t) in tickets.iter().enumerate().skip(20) {
        app.escalate(&agent, t, &format!("bug {i}"), "P2").await;
    }

    let q1 = "query($n: Int!) { tickets(first: $n) { totalCount nodes { id number subject status
      requester { name } comments(first: 3, order: NEWEST_FIRST) { nodes { body author { name } } }
      escalation { status track priority } } } }";
    let q2 = "query($id: ID!) { ticket(id: $id) { subject requester { name }
      comments(first: 100) { nodes { body public author { name } } } } }";
    let q3 = "query($n: Int!) { escalations(first: $n) { nodes { id title
      tickets(first: 1) { nodes { subject number organization { name } } } } } }";
    let cases: Vec<(&str, &User, &str, serde_json::Value, serde_json::Value)> = vec![
        (
            "Q1 scoped customer",
            &scoped,
            q1,
            json!({ "n": 5 }),
            json!({ "n": 50 }),
        ),
        (
            "Q1 agent",
            &agent,
            q1,
            json!({ "n": 5 }),
            json!({ "n": 50 }),
        ),
        (
            "Q2 agent",
            &agent,
            q2,
            json!({ "id": tickets[0] }),
            json!({ "id": tickets[1] }),
        ),
        (
            "Q3 triage lead",
            &lead,
            q3,
            json!({ "n": 5 }),
            json!({ "n": 40 }),
        ),
    ];
    for (name, user, query, small, large) in cases {
        data(&app.gql(Some(user), "{ viewer { id } }", json!({})).await);
        let mut counts = Vec::new();
        for vars in [small, large] {
            // Sixteen at once, as in the benchmark: only the statements are counted.
            app.quiesce().await;
            let before = app.statements.load(Ordering::SeqCst);
            let runs = (0..16).map(|_| app.gql(Some(user), query, vars.clone()));
            for res in futures_util::future::join_all(runs).await {
                data(&res);
            }
            counts.push(app.statements.load(Ordering::SeqCst) - before);
        }
        assert_eq!(
            counts[0], counts[1],
            "{name}: statements grew with the page size"
        );
        assert_eq!(
            counts[0] % 16,
            0,
            "{name}: {} statements for 16 pages",
            counts[0]
        );
        let per_page = counts[0] / 16;
        assert!(per_page <= 7, "{name}: {per_page} statements per page");
    }
}

/// A nested `totalCount` asked with its first page comes from the page's own statement (the
/// window that ranks the comments also counts them): no grouped count, and the number the
/// count gives, internal notes left out for a customer and the comments beyond the page
/// counted. A page after a cursor cannot count the whole ticket, so it takes the grouped
/// count, with the same answer.
#[tokio::test]
async fn a_nested_total_comes_with_its_first_page() {
    let app = TestApp::spawn().await;
    let customer = app.customer("acme").await;
    let agent = app.agent().await;
    let ticket = app.create_ticket(&customer, "counted").await;
    for j in 0..5 {
        app.comment(&agent, &ticket, &format!("public {j}"), true)
            .await;
    }
    for j in 0..3 {
        app.comment(&agent, &ticket, &format!("internal {j}"), false)
            .await;
    }
    let empty = app.create_ticket(&customer, "nothing said").await;
    let query = "query($id: ID!, $after: String) { ticket(id: $id) {
      comments(first: 2, after: $after) { totalCount nodes { body } pageInfo { endCursor } } } }";
    let grouped_counts = |app: &TestApp| {
        app.log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.contains("GROUP BY") && s.contains("comment"))
            .count()
    };
    for (who, expected) in [(&customer, 5), (&agent, 8)] {
        data(&app.gql(Some(who), "{ viewer { id } }", json!({})).await);
        app.quiesce().await;

        app.log.lock().unwrap().clear();
        let res = app.gql(Some(who), query, json!({ "id": ticket })).await;
        let first = data(&res)["ticket"]["comments"].clone();
        assert_eq!(first["totalCount"], expected, "{}: {first}", who.role);
        assert_eq!(first["nodes"].as_array().unwrap().len(), 2);
        assert_eq!(grouped_counts(&app), 0, "{}: counted apart", who.role);
        // Fetched ahead and found by the resolver: the page key both build is the same.
        let pages = app
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.contains("ROW_NUMBER"))
            .count();
        assert_eq!(pages, 1, "{}: the page was read twice", who.role);

        app.log.lock().unwrap().clear();
        let res = app.gql(Some(who), query, json!({ "id": empty })).await;
        assert_eq!(data(&res)["ticket"]["comments"]["totalCount"], 0);
        assert_eq!(grouped_counts(&app), 0, "{}: counted apart", who.role);

        app.log.lock().unwrap().clear();
        let after = first["pageInfo"]["endCursor"].clone();
        let res = app
            .gql(Some(who), query, json!({ "id": ticket, "after": after }))
            .await;
        assert_eq!(
            data(&res)["ticket"]["comments"]["totalCount"],
            expected,
            "{}: after a cursor",
            who.role
        );
        assert_eq!(grouped_counts(&app), 1, "{}: after a cursor", who.role);
    }
}
