//! No N+1: the statements a ticket page costs do not grow with its size.

mod common;

use std::sync::atomic::Ordering;

use common::{TestApp, data};
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

async fn statements_for(app: &TestApp, user: &common::User, n: i64) -> usize {
    // Warm up the viewer (provisioning writes on first sight only).
    data(&app.gql(Some(user), "{ viewer { id } }", json!({})).await);
    let before = app.statements.load(Ordering::SeqCst);
    app.log.lock().unwrap().clear();
    let res = app.gql(Some(user), PAGE, json!({ "n": n })).await;
    let edges = data(&res)["tickets"]["edges"].as_array().unwrap().len();
    assert_eq!(edges as i64, n);
    app.statements.load(Ordering::SeqCst) - before
}

#[tokio::test]
async fn ticket_page_costs_the_same_for_5_and_50_tickets() {
    // A roomy batching window: on a loaded CI machine the 1 ms default can split a batch
    // in two, which would make the count depend on timing rather than on the code.
    let app = TestApp::spawn_with(|c| c.loader_delay_ms = 25).await;
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
    app.grant_scope(scoped).await;
    let mine = statements_for(&app, scoped, 10).await;
    assert!(mine <= 12, "{mine} statements for a customer's page");
}
