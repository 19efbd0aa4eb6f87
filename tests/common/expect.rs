//! Assertions about what a viewer sees. The rule they check: a thing the viewer may not
//! see answers exactly like a thing that does not exist — same code, same message, no data.
//! For a signed-in viewer that code is `NOT_FOUND`; an anonymous caller is told to sign in
//! instead (`UNAUTHENTICATED`), the same way for real and made-up ids.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{TestApp, User, code, data, ids::made_up};

/// `node(id)` with the type and id of what it finds.
pub const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";

/// Whether a one-field response carries no data for its field. async-graphql 7.2 drops a
/// failed nullable field from its parent object (and an empty root object becomes
/// `"data": null`) instead of setting it to null, so accept all three spellings.
pub fn is_null_data(res: &Value) -> bool {
    match &res["data"] {
        Value::Null => true,
        Value::Object(fields) => fields.values().all(Value::is_null),
        _ => false,
    }
}

/// The code of a thing `who` may not see (or that does not exist): `NOT_FOUND`, or for an
/// anonymous caller `UNAUTHENTICATED`. Not for releases and release notes, which are open
/// to anonymous callers: a hidden one is `NOT_FOUND` for everyone.
pub fn hidden_code(who: Option<&User>) -> &'static str {
    match who {
        Some(_) => "NOT_FOUND",
        None => "UNAUTHENTICATED",
    }
}

/// Asserts an anonymous caller was told to sign in: one `UNAUTHENTICATED` error on root
/// `field`, and no data for it (not an empty list).
#[track_caller]
pub fn assert_sign_in_required(what: &str, res: &Value, field: &str) {
    assert_eq!(code(res), "UNAUTHENTICATED", "{what}: {res}");
    assert_eq!(
        res["errors"].as_array().map(Vec::len),
        Some(1),
        "{what}: {res}"
    );
    assert_eq!(res["errors"][0]["path"], json!([field]), "{what}: {res}");
    assert!(res["data"][field].is_null(), "{what}: data leaked: {res}");
}

/// Asserts `query` with `real` variables answers exactly like with `fake` ones (a made-up
/// id or number): [`hidden_code`], null data, same message, same everything.
pub async fn assert_like_nonexistent(
    app: &TestApp,
    who: Option<&User>,
    what: &str,
    query: &str,
    real: Value,
    fake: Value,
) {
    assert_like_nonexistent_as(app, who, what, query, real, fake, hidden_code(who)).await;
}

/// [`assert_like_nonexistent`] with the code both answers must carry.
pub async fn assert_like_nonexistent_as(
    app: &TestApp,
    who: Option<&User>,
    what: &str,
    query: &str,
    real: Value,
    fake: Value,
    expected: &str,
) {
    let res = app.gql(who, query, real).await;
    let made_up = app.gql(who, query, fake).await;
    assert_eq!(code(&made_up), expected, "{what}: made-up id: {made_up}");
    assert_eq!(code(&res), expected, "{what}: {res}");
    assert_eq!(res, made_up, "{what}: invisible differs from nonexistent");
    assert!(is_null_data(&res), "{what}: data must be null: {res}");
}

/// `node(id)` on a hidden thing answers exactly like on a made-up id of the same kind:
/// [`hidden_code`], except that a release anonymous callers may not see is `NOT_FOUND`
/// (released ones are open to them).
pub async fn assert_node_hidden(
    app: &TestApp,
    who: Option<&User>,
    what: &str,
    id: &str,
    kind: &str,
) {
    let expected = match kind {
        "Release" | "ReleaseNote" => "NOT_FOUND",
        _ => hidden_code(who),
    };
    assert_like_nonexistent_as(
        app,
        who,
        &format!("{what}: node({kind})"),
        NODE,
        json!({ "id": id }),
        json!({ "id": made_up(kind) }),
        expected,
    )
    .await;
}

/// `node(id)` on a visible thing returns it, as the kind it is.
pub async fn assert_node_visible(
    app: &TestApp,
    who: Option<&User>,
    what: &str,
    id: &str,
    kind: &str,
) {
    let res = app.gql(who, NODE, json!({ "id": id })).await;
    assert_eq!(data(&res)["node"]["__typename"], kind, "{what}: {res}");
    assert_eq!(data(&res)["node"]["id"], id, "{what}: {res}");
}

/// The ids of a connection's edges.
pub fn edge_ids(conn: &Value) -> BTreeSet<String> {
    conn["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {conn}"))
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("node id").to_owned())
        .collect()
}

/// A set of ids, to compare connections with.
pub fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).clone()).collect()
}

/// Asserts a connection holds exactly `expected` and counts exactly that many.
#[track_caller]
pub fn assert_conn(what: &str, conn: &Value, expected: &BTreeSet<String>) {
    assert_eq!(&edge_ids(conn), expected, "{what}: {conn}");
    assert_eq!(
        conn["totalCount"].as_u64(),
        Some(expected.len() as u64),
        "{what}: totalCount of {conn}"
    );
}
