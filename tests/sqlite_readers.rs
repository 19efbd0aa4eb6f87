//! SQLite's read pool: GraphQL queries read through read-only connections beside the one
//! writer, so a long write does not hold up reads, and what a write committed is what the
//! next read sees. SQLite only (PostgreSQL reads through its pool already).

mod common;

use std::time::Duration;

use common::{TestApp, code, data};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

const WHY: &str = "the read pool exists on SQLite only";

#[tokio::test]
async fn queries_answer_while_a_write_holds_the_writer() {
    if !common::runs_on_sqlite_only("queries_answer_while_a_write_holds_the_writer", WHY) {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let other = app.customer("globex").await;
    app.create_ticket(&alice, "before the long write").await;

    // A write transaction that holds the one writer connection (and SQLite's write lock).
    let txn = app.app.db.begin().await.unwrap();
    txn.execute_unprepared("UPDATE counter SET value = value WHERE name = 'ticket_number'")
        .await
        .unwrap();

    let list = "{ tickets { totalCount nodes { subject } } }";
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        app.gql(Some(&alice), list, json!({})),
    )
    .await
    .expect("a query must not wait for the writer");
    assert_eq!(data(&res)["tickets"]["totalCount"], 1, "{res}");
    assert_eq!(
        data(&res)["tickets"]["nodes"][0]["subject"],
        "before the long write"
    );
    // The read pool goes through the same visibility rule.
    let res = app.gql(Some(&other), list, json!({})).await;
    assert_eq!(data(&res)["tickets"]["totalCount"], 0, "{res}");
    let res = app.gql(None, list, json!({})).await;
    assert_eq!(code(&res), "UNAUTHENTICATED", "{res}");
    txn.rollback().await.unwrap();

    // What a mutation committed, the very next query reads (another connection).
    let id = app.create_ticket(&alice, "just written").await;
    let res = app
        .gql(
            Some(&alice),
            "query($id: ID!) { ticket(id: $id) { subject } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&res)["ticket"]["subject"], "just written", "{res}");
}

#[tokio::test]
async fn the_read_pool_cannot_write() {
    if !common::runs_on_sqlite_only("the_read_pool_cannot_write", WHY) {
        return;
    }
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    app.create_ticket(&alice, "kept").await;
    let err = app
        .app
        .reader
        .execute_unprepared("DELETE FROM comment")
        .await
        .expect_err("read-only");
    assert!(err.to_string().contains("readonly"), "{err}");
    assert_eq!(app.count_rows("ticket").await, 1);
}
