//! Robustness: arbitrary documents, variables, ids and bodies thrown at a real server, as
//! several viewers. Whatever arrives, the answer is never a 5xx, is JSON, every error has
//! one of the API's eight error codes, and no message leaks internals. Cases come from a
//! fixed seed, so a failure reproduces; the failing input is printed.

mod common;

use common::{TestApp, User};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config as RunnerConfig, TestRng, TestRunner},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CODES: [&str; 8] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "INVALID_TRANSITION",
    "CONFLICT",
    "RATE_LIMITED",
    "INTERNAL_SERVER_ERROR",
];
const LEAKS: [&str; 8] = [
    "sqlx",
    "select ",
    "insert ",
    "syntax error at",
    "panicked",
    "sea_orm",
    "database",
    "stack backtrace",
];
const CASES: usize = 250;

/// `n` values of a strategy from a fixed seed.
fn samples<S: Strategy>(strategy: S, n: usize, seed: u8) -> Vec<S::Value> {
    let mut runner = TestRunner::new_with_rng(
        RunnerConfig::default(),
        TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &[seed; 32]),
    );
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// Sends a raw body and checks the answer's shape.
async fn check(app: &TestApp, who: Option<&User>, body: Vec<u8>, what: &str) {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(u) = who {
        req = req.bearer_auth(&u.token);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(!status.is_server_error(), "{status} for {what}: {text}");
    let json: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON for {what}: {text}"));
    let responses = match &json {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    for r in responses {
        for err in r["errors"].as_array().into_iter().flatten() {
            let code = err["extensions"]["code"].as_str().unwrap_or("");
            assert!(CODES.contains(&code), "code {code:?} for {what}: {text}");
            let message = err["message"].as_str().unwrap_or("").to_lowercase();
            for leak in LEAKS {
                assert!(
                    !message.contains(leak),
                    "leaked {leak:?} for {what}: {text}"
                );
            }
        }
    }
    if status == StatusCode::OK && json.is_object() {
        assert!(
            json.get("data").is_some() || json.get("errors").is_some(),
            "neither data nor errors for {what}: {text}"
        );
    }
}

async fn setup() -> (TestApp, Vec<Option<User>>, String) {
    let app = TestApp::spawn().await;
    let customer = app.customer("acme").await;
    let ticket = app.create_ticket(&customer, "fuzzed").await;
    app.comment(&customer, &ticket, "hello", true).await;
    let viewers = vec![
        None,
        Some(customer),
        Some(app.agent().await),
        Some(app.admin().await),
    ];
    (app, viewers, ticket)
}

/// A GraphQL-ish document from real names, random structure.
fn document() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "tickets",
        "ticket",
        "node",
        "viewer",
        "escalations",
        "releases",
        "releaseNotes",
        "users",
        "organizations",
        "notifications",
        "rateLimit",
        "edges",
        "nodes",
        "comments",
        "requester",
        "organization",
        "escalation",
        "events",
        "id",
        "number",
        "subject",
        "status",
        "body",
        "totalCount",
        "pageInfo",
        "endCursor",
        "__typename",
        "__schema",
        "types",
        "name",
        "createTicket",
        "addComment",
        "updateTicket",
        "bogus",
    ]);
    let arg = prop_oneof![
        (0i64..200).prop_map(|n| format!("first: {n}")),
        Just("first: -1".to_string()),
        Just("first: 99999999999".to_string()),
        "[a-zA-Z0-9=+/]{0,24}".prop_map(|s| format!("after: \"{s}\"")),
        "[a-zA-Z0-9=+/:]{0,24}".prop_map(|s| format!("id: \"{s}\"")),
        (-5i64..5).prop_map(|n| format!("number: {n}")),
        Just("filter: { status: [NEW, SOLVED] }".to_string()),
        Just("filter: { hasOpenHotfix: true }".to_string()),
        Just("id: $id".to_string()),
        Just("input: { subject: \"s\", description: \"d\" }".to_string()),
        Just("input: $input".to_string()),
    ];
    let field = (
        proptest::option::of("[a-z]{1,3}"),
        names,
        prop::collection::vec(arg, 0..3),
        prop::sample::select(vec![
            "",
            " @include(if: true)",
            " @skip(if: $flag)",
            " @deprecated",
        ]),
    )
        .prop_map(|(alias, name, args, directive)| {
            let alias = alias.map(|a| format!("{a}: ")).unwrap_or_default();
            let args = if args.is_empty() {
                String::new()
            } else {
                format!("({})", args.join(", "))
            };
            format!("{alias}{name}{args}{directive}")
        });
    let leaf = field.clone();
    let tree = leaf.prop_recursive(6, 48, 5, move |inner| {
        (field.clone(), prop::collection::vec(inner, 1..5))
            .prop_map(|(f, kids)| format!("{f} {{ {} }}", kids.join(" ")))
    });
    (
        prop::sample::select(vec![
            "",
            "query ",
            "query Q($id: ID, $flag: Boolean!) ",
            "mutation ",
            "subscription ",
            "fragment F on Ticket ",
        ]),
        prop::collection::vec(tree, 1..4),
        prop::sample::select(vec![
            "",
            " fragment F on Ticket { id ...F }",
            " ...F",
            "}",
            "{",
        ]),
    )
        .prop_map(|(op, fields, tail)| format!("{op}{{ {} }}{tail}", fields.join(" ")))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        Just(Value::from("VGlja2V0OjE=")),
        Just(Value::from("x".repeat(30_000))),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::hash_map("[a-zA-Z]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[tokio::test]
async fn arbitrary_text_as_a_query() {
    let (app, viewers, _) = setup().await;
    for (i, query) in samples(".{0,300}", CASES, 1).into_iter().enumerate() {
        let body = json!({ "query": query }).to_string().into_bytes();
        check(
            &app,
            viewers[i % viewers.len()].as_ref(),
            body,
            &format!("query {query:?}"),
        )
        .await;
    }
}

#[tokio::test]
async fn random_documents_from_real_names() {
    let (app, viewers, ticket) = setup().await;
    let vars =
        json!({ "id": ticket, "flag": true, "input": { "subject": "s", "description": "d" } });
    for (i, query) in samples(document(), CASES, 2).into_iter().enumerate() {
        let body = json!({ "query": query, "variables": vars })
            .to_string()
            .into_bytes();
        check(
            &app,
            viewers[i % viewers.len()].as_ref(),
            body,
            &format!("document {query}"),
        )
        .await;
    }
}

#[tokio::test]
async fn wrong_variables_for_real_operations() {
    let (app, viewers, _) = setup().await;
    let operations = [
        "query($id: ID!) { ticket(id: $id) { id subject comments { nodes { body } } } }",
        "query($id: ID!) { node(id: $id) { id } }",
        "query($n: Int, $after: String) { tickets(first: $n, after: $after) { nodes { id } } }",
        "query($f: TicketFilter) { tickets(filter: $f) { totalCount } }",
        "mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticket { id } } }",
        "mutation($i: AddCommentInput!) { addComment(input: $i) { comment { id } } }",
        "mutation($i: UpdateTicketInput!) { updateTicket(input: $i) { ticket { id } } }",
        "mutation($i: EscalateTicketInput!) { escalateTicket(input: $i) { escalation { id } } }",
    ];
    let names = ["id", "n", "after", "f", "i"];
    let cases = samples(
        prop::collection::hash_map(prop::sample::select(names.to_vec()), json_value(), 0..4),
        CASES,
        3,
    );
    for (i, vars) in cases.into_iter().enumerate() {
        let query = operations[i % operations.len()];
        let vars: serde_json::Map<String, Value> =
            vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let body = json!({ "query": query, "variables": vars })
            .to_string()
            .into_bytes();
        check(
            &app,
            viewers[i % viewers.len()].as_ref(),
            body,
            &format!("{query} with {vars:?}"),
        )
        .await;
    }
}

#[tokio::test]
async fn random_ids_everywhere_ids_go() {
    let (app, viewers, _) = setup().await;
    use base64::Engine as _;
    let id = prop_oneof![
        ".{0,64}",
        ("[A-Za-z]{0,12}", any::<i64>()).prop_map(|(t, n)| {
            base64::engine::general_purpose::STANDARD.encode(format!("{t}:{n}"))
        }),
        prop::sample::select(vec![
            "Ticket",
            "Comment",
            "User",
            "Escalation",
            "Release",
            "ReleaseNote",
            "Organization",
            "Notification"
        ])
        .prop_flat_map(|t| (Just(t), any::<i64>()))
        .prop_map(|(t, n)| base64::engine::general_purpose::STANDARD.encode(format!("{t}:{n}"))),
        Just("x".repeat(5_000)),
    ];
    let uses = [
        "query($id: ID!) { node(id: $id) { id } }",
        "query($id: ID!) { ticket(id: $id) { id } }",
        "mutation($id: ID!) { addComment(input: { ticketId: $id, body: \"b\", public: true }) { comment { id } } }",
        "mutation($id: ID!) { updateTicket(input: { ticketId: $id, status: OPEN }) { ticket { id } } }",
        "mutation($id: ID!) { voteReleaseNote(input: { releaseNoteId: $id, helpful: true }) { releaseNote { id } } }",
        "mutation($id: ID!) { grantOrganizationScope(input: { userId: $id }) { user { id } } }",
    ];
    for (i, id) in samples(id, CASES, 4).into_iter().enumerate() {
        let query = uses[i % uses.len()];
        let body = json!({ "query": query, "variables": { "id": id } })
            .to_string()
            .into_bytes();
        check(
            &app,
            viewers[i % viewers.len()].as_ref(),
            body,
            &format!("{query} with {id:?}"),
        )
        .await;
    }
}

#[tokio::test]
async fn raw_bodies_that_are_not_requests() {
    let (app, viewers, _) = setup().await;
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (1usize..3000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (1usize..3000)
            .prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()),
        json_value().prop_map(
            |v| json!([{ "query": "{ viewer { id } }", "variables": v }])
                .to_string()
                .into_bytes()
        ),
    ];
    for (i, body) in samples(bodies, CASES, 5).into_iter().enumerate() {
        let what = format!(
            "body {:?}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
        check(&app, viewers[i % viewers.len()].as_ref(), body, &what).await;
    }
}
