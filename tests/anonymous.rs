//! Callers without a token read published release notes and released releases; everything
//! else answers `UNAUTHENTICATED` (not an empty list, not `NOT_FOUND`), so a frontend knows
//! to sign in. The answer depends only on what is asked for, never on what exists, and a
//! refused ticket subscription starts nothing.

mod common;

use std::{collections::BTreeMap, sync::atomic::Ordering};

use common::{
    MADE_UP, NODE, TestApp, WsEvent, assert_sign_in_required, code, cursor, data, made_up, ws::Ws,
};
use serde_json::{Value, json};

/// Root fields an anonymous caller may use. Every other root field must refuse them:
/// `every_root_field_is_open_by_decision_only` walks the schema, so a new field that
/// answers anonymous callers fails there until it is added here, on purpose.
const OPEN_QUERIES: &[&str] = &["node", "viewer", "releases", "releaseNotes", "rateLimit"];
const OPEN_SUBSCRIPTIONS: &[&str] = &["releaseNotePublished"];

/// The ticket subscriptions, each refused to anonymous callers.
const TICKET_SUBSCRIPTIONS: &[(&str, &str)] = &[
    ("status", "subscription { ticketStatusChanged { kind } }"),
    (
        "status-one",
        "subscription($t: ID) { ticketStatusChanged(ticketId: $t) { kind } }",
    ),
    (
        "updates",
        "subscription($after: String) { ticketUpdates(after: $after) { kind cursor } }",
    ),
    ("hotfix", "subscription { hotfixUpdates { kind } }"),
];

/// The first error a WebSocket sends for subscription `id`, whether as an `error` message or
/// as a `next` carrying errors (then `complete`): async-graphql 7.2 answers a subscription
/// whose resolver fails the second way.
async fn socket_error(ws: &mut Ws, id: &str) -> Value {
    match ws.next_event().await {
        WsEvent::Error(got, payload) if got == id => payload[0].clone(),
        WsEvent::Next(got, payload) if got == id && !payload["errors"].is_null() => {
            assert!(
                payload["data"].is_null(),
                "{id}: data with the refusal: {payload}"
            );
            match ws.next_event().await {
                WsEvent::Complete(done) if done == id => {}
                other => panic!("{id}: expected complete after the error, got {other:?}"),
            }
            payload["errors"][0].clone()
        }
        other => panic!("expected an error for {id}, got {other:?}"),
    }
}

/// What a signed-in customer can see, to prove the refusals are not empty answers.
struct World {
    app: TestApp,
    ticket: String,
    number: i64,
    comment: String,
    escalation: String,
    update: String,
    notification: String,
    customer_id: String,
    organization_id: String,
    released: String,
    planned: String,
    note: String,
}

impl World {
    async fn build() -> World {
        let app = TestApp::spawn().await;
        let alice = app.customer("acme").await;
        let (agent, dev, lead) = (
            app.agent().await,
            app.developer().await,
            app.triage_lead().await,
        );
        let ticket = app.create_ticket(&alice, "please add CSV export").await;
        let comment = app.comment(&agent, &ticket, "on it", true).await;
        let escalation = app
            .escalate(&agent, &ticket, "CSV export for invoices", "P2")
            .await;
        app.triage(&lead, &escalation, "FEATURE_REQUEST").await;
        let update = app
            .post_update(&dev, &escalation, "Looks doable.", true)
            .await;
        let released = app.create_release(&lead, "2026.3", "QUARTERLY").await;
        app.schedule(&lead, &escalation, &released).await;
        app.ship(&lead, &released).await;
        let note = app.publish_note(&lead, &released, "2026 Q3").await;
        let planned = app.create_release(&lead, "4.3.1", "HOTFIX").await;
        let notification = app.notification_ids(&alice).await[0].clone();
        let res = app
            .gql(
                Some(&alice),
                "query($id: ID!) { viewer { id organization { id } }
                   ticket(id: $id) { number } }",
                json!({ "id": ticket }),
            )
            .await;
        let d = data(&res);
        World {
            number: d["ticket"]["number"].as_i64().expect("number"),
            customer_id: d["viewer"]["id"].as_str().unwrap().to_owned(),
            organization_id: d["viewer"]["organization"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            app,
            ticket,
            comment,
            escalation,
            update,
            notification,
            released,
            planned,
            note,
        }
    }
}

#[tokio::test]
async fn anonymous_callers_are_told_to_sign_in_not_given_empty_answers() {
    let w = World::build().await;
    let app = &w.app;
    let admin = app.admin().await;
    let cases: [(&str, &str, Value); 10] = [
        ("tickets", "{ tickets { totalCount } }", json!({})),
        (
            "tickets",
            "query($f: TicketFilter) { tickets(first: 5, filter: $f) { edges { node { id } } } }",
            json!({ "f": { "status": ["NEW", "SOLVED"] } }),
        ),
        (
            "ticket",
            "query($id: ID) { ticket(id: $id) { id } }",
            json!({ "id": w.ticket }),
        ),
        (
            "ticket",
            "query($n: Int) { ticket(number: $n) { id } }",
            json!({ "n": w.number }),
        ),
        ("escalations", "{ escalations { totalCount } }", json!({})),
        (
            "escalations",
            "{ escalations(filter: { open: false }) { edges { node { id title } } } }",
            json!({}),
        ),
        ("users", "{ users { totalCount } }", json!({})),
        (
            "organizations",
            "{ organizations { totalCount } }",
            json!({}),
        ),
        (
            "notifications",
            "{ notifications { totalCount } }",
            json!({}),
        ),
        (
            "notifications",
            "{ notifications(unreadOnly: true) { edges { node { id } } } }",
            json!({}),
        ),
    ];
    for (field, query, vars) in cases {
        // The control: there is something to see.
        let res = app.gql(Some(&admin), query, vars.clone()).await;
        assert!(res["errors"].is_null(), "{field} as admin: {res}");
        assert!(!data(&res)[field].is_null(), "{field} as admin: {res}");

        let (status, res) = app
            .post(None, json!({ "query": query, "variables": vars }))
            .await;
        assert_eq!(status, 200, "{query}: {res}");
        assert_sign_in_required(query, &res, field);
    }

    // Beside an open field, only the refused one is missing: `viewer` is null, the notes
    // are there.
    let res = app
        .gql(
            None,
            "{ viewer { id } tickets { totalCount } releaseNotes { totalCount } }",
            json!({}),
        )
        .await;
    assert_sign_in_required("beside open fields", &res, "tickets");
    assert!(res["data"]["viewer"].is_null(), "{res}");
    assert_eq!(res["data"]["releaseNotes"]["totalCount"], 1, "{res}");

    // A made-up ticket answers the same: the refusal says nothing about what exists.
    for (query, real, fake) in [
        (
            "query($id: ID) { ticket(id: $id) { id } }",
            json!({ "id": w.ticket }),
            json!({ "id": made_up("Ticket") }),
        ),
        (
            "query($n: Int) { ticket(number: $n) { id } }",
            json!({ "n": w.number }),
            json!({ "n": MADE_UP }),
        ),
    ] {
        assert_eq!(
            app.gql(None, query, real).await,
            app.gql(None, query, fake).await,
            "{query}"
        );
    }
}

/// `node(id)` answers anonymous callers like `ticket(id)` does: `UNAUTHENTICATED` for every
/// kind they may never see, decided by the kind alone (a made-up id of that kind answers
/// the same); releases and release notes stay open, an unreleased release is `NOT_FOUND`
/// like a made-up one, and a malformed id is `NOT_FOUND` as for everyone.
#[tokio::test]
async fn node_answers_anonymous_callers_by_kind() {
    let w = World::build().await;
    let app = &w.app;
    for (kind, id) in [
        ("Ticket", &w.ticket),
        ("Comment", &w.comment),
        ("Escalation", &w.escalation),
        ("EscalationUpdate", &w.update),
        ("User", &w.customer_id),
        ("Organization", &w.organization_id),
        ("Notification", &w.notification),
    ] {
        let res = app.gql(None, NODE, json!({ "id": id })).await;
        assert_sign_in_required(kind, &res, "node");
        let fake = app.gql(None, NODE, json!({ "id": made_up(kind) })).await;
        assert_eq!(res, fake, "{kind}: a real id answers unlike a made-up one");
    }
    for (kind, id) in [("Release", &w.released), ("ReleaseNote", &w.note)] {
        let res = app.gql(None, NODE, json!({ "id": id })).await;
        assert_eq!(data(&res)["node"]["__typename"], kind, "{res}");
        assert_eq!(data(&res)["node"]["id"], id.as_str(), "{res}");
    }
    let hidden = app.gql(None, NODE, json!({ "id": w.planned })).await;
    assert_eq!(code(&hidden), "NOT_FOUND", "{hidden}");
    assert_eq!(
        hidden,
        app.gql(None, NODE, json!({ "id": made_up("Release") }))
            .await
    );
    let malformed = app.gql(None, NODE, json!({ "id": "not-an-id" })).await;
    assert_eq!(code(&malformed), "NOT_FOUND", "{malformed}");
}

/// What stays open: published notes, released releases (and, through them, no
/// escalation: a note names them by public title instead), `viewer` as null.
#[tokio::test]
async fn release_notes_and_released_releases_stay_open() {
    let w = World::build().await;
    let res = w
        .app
        .gql(
            None,
            "{ viewer { id }
               releaseNotes { totalCount nodes { id title items } }
               releases { totalCount nodes { id status note { id }
                 escalations { totalCount } } } }",
            json!({}),
        )
        .await;
    assert!(res["errors"].is_null(), "{res}");
    let d = data(&res);
    assert!(d["viewer"].is_null(), "{res}");
    assert_eq!(d["releaseNotes"]["totalCount"], 1, "{res}");
    assert_eq!(d["releaseNotes"]["nodes"][0]["id"], w.note.as_str());
    assert_eq!(
        d["releaseNotes"]["nodes"][0]["items"],
        json!(["CSV export for invoices"])
    );
    assert_eq!(
        d["releases"],
        json!({ "totalCount": 1, "nodes": [{ "id": w.released, "status": "RELEASED",
            "note": { "id": w.note }, "escalations": { "totalCount": 0 } }] })
    );
}

/// The ticket subscriptions refuse an anonymous socket with `UNAUTHENTICATED` before they
/// start: no feed, no replay, not one statement; `releaseNotePublished` on the same socket
/// still delivers.
#[tokio::test]
async fn ticket_subscriptions_refuse_anonymous_sockets_before_they_start() {
    let w = World::build().await;
    let app = &w.app;
    let lead = app.triage_lead().await;
    let mut ws = app.ws(None).await;
    app.quiesce().await;
    app.log.lock().unwrap().clear();
    let before = app.statements.load(Ordering::SeqCst);
    for (id, query) in TICKET_SUBSCRIPTIONS {
        // A cursor from the start of the log: a replay would read every event.
        let vars = json!({ "t": w.ticket, "after": cursor(0) });
        ws.subscribe(id, query, vars).await;
        let err = socket_error(&mut ws, id).await;
        assert_eq!(err["extensions"]["code"], "UNAUTHENTICATED", "{id}: {err}");
    }
    assert_eq!(
        app.app.bus.active_feeds(),
        0,
        "a refused subscription started a feed"
    );
    let log = app.log.lock().unwrap().join("\n");
    assert_eq!(
        app.statements.load(Ordering::SeqCst),
        before,
        "a refused subscription ran statements:\n{log}"
    );

    ws.subscribe(
        "notes",
        "subscription { releaseNotePublished { title } }",
        json!({}),
    )
    .await;
    app.wait_subscribers(1).await;
    let rel = app.create_release(&lead, "2026.4", "QUARTERLY").await;
    app.ship(&lead, &rel).await;
    app.publish_note(&lead, &rel, "2026 Q4").await;
    let (id, d) = ws.next_data().await;
    assert_eq!(id, "notes", "{d}");
    assert_eq!(d["releaseNotePublished"]["title"], "2026 Q4");
}

/// Root fields as introspection describes them.
struct RootField {
    name: String,
    args: Vec<Value>,
    ty: Value,
}

const ROOTS: &str = r#"{ __schema {
  queryType { ...Root } mutationType { ...Root } subscriptionType { ...Root }
  types { name kind enumValues { name } inputFields { name type { ...T } defaultValue } }
} }
fragment Root on __Type { fields { name args { name type { ...T } defaultValue } type { ...T } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"#;

/// The schema's root fields (query, mutation, subscription) and its types by name.
async fn schema(app: &TestApp) -> ([Vec<RootField>; 3], BTreeMap<String, Value>) {
    let res = app.gql(None, ROOTS, json!({})).await;
    let s = &data(&res)["__schema"];
    let roots = ["queryType", "mutationType", "subscriptionType"].map(|root| {
        s[root]["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("no {root}: {res}"))
            .iter()
            .map(|f| RootField {
                name: f["name"].as_str().unwrap().to_owned(),
                args: f["args"].as_array().unwrap().clone(),
                ty: f["type"].clone(),
            })
            .collect()
    });
    let types = s["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect();
    (roots, types)
}

/// The named type under any `NON_NULL` and `LIST` wrappers.
fn named(ty: &Value) -> &Value {
    match ty["ofType"].is_null() {
        true => ty,
        false => named(&ty["ofType"]),
    }
}

/// Whether an argument or input field must be given.
fn required(input: &Value) -> bool {
    input["type"]["kind"] == "NON_NULL" && input["defaultValue"].is_null()
}

/// A well-formed literal of `ty`: ids are made-up ids of the kind `kind` names, so that a
/// resolver decoding them gets past the decoding. Only required input fields are given.
fn literal(ty: &Value, kind: &str, types: &BTreeMap<String, Value>) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => literal(&ty["ofType"], kind, types),
        "LIST" => format!("[{}]", literal(&ty["ofType"], kind, types)),
        "ENUM" => types[ty["name"].as_str().unwrap()]["enumValues"][0]["name"]
            .as_str()
            .unwrap()
            .to_owned(),
        "INPUT_OBJECT" => {
            let fields = types[ty["name"].as_str().unwrap()]["inputFields"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| required(f))
                .map(|f| {
                    let name = f["name"].as_str().unwrap();
                    format!(
                        "{name}: {}",
                        literal(&f["type"], &id_kind(name, kind), types)
                    )
                })
                .collect::<Vec<_>>();
            format!("{{ {} }}", fields.join(", "))
        }
        _ => match ty["name"].as_str().unwrap() {
            "ID" => format!("{:?}", made_up(kind)),
            "String" => "\"x\"".into(),
            "Int" => "1".into(),
            "Float" => "1.0".into(),
            "Boolean" => "true".into(),
            "DateTime" => "\"2030-01-01T00:00:00Z\"".into(),
            "NaiveDate" | "Date" => "\"2030-01-01\"".into(),
            other => panic!("teach `literal` a value of scalar {other}"),
        },
    }
}

/// The kind of object an id argument or input field names: `ticketId` a `Ticket`,
/// `assigneeId` and `userId` a `User`; a bare `id` the field's own type.
fn id_kind(name: &str, own: &str) -> String {
    match name.strip_suffix("Id") {
        Some("assignee" | "user") => "User".into(),
        Some(stem) if !stem.is_empty() => {
            let mut c = stem.chars();
            c.next().unwrap().to_uppercase().chain(c).collect()
        }
        _ => own.into(),
    }
}

/// `keyword { field(args) { __typename } }` with the required arguments and at most one
/// optional one: the operation without optional arguments, then one per optional argument
/// (so a field that needs one of several, like `ticket`, is asked each way). Arguments are
/// well-formed and name things that do not exist.
fn operations(keyword: &str, f: &RootField, types: &BTreeMap<String, Value>) -> Vec<String> {
    let own = named(&f.ty)["name"].as_str().unwrap();
    let arg = |a: &Value| {
        let name = a["name"].as_str().unwrap();
        format!(
            "{name}: {}",
            literal(&a["type"], &id_kind(name, own), types)
        )
    };
    let required_args: Vec<String> = f.args.iter().filter(|a| required(a)).map(arg).collect();
    let mut arg_lists = vec![required_args.clone()];
    for optional in f.args.iter().filter(|a| !required(a)) {
        let mut args = required_args.clone();
        args.push(arg(optional));
        arg_lists.push(args);
    }
    let selection = match named(&f.ty)["kind"].as_str().unwrap() {
        "OBJECT" | "INTERFACE" | "UNION" => " { __typename }",
        _ => "",
    };
    arg_lists
        .into_iter()
        .map(|args| {
            let args = match args.is_empty() {
                true => String::new(),
                false => format!("({})", args.join(", ")),
            };
            format!("{keyword} {{ {}{args}{selection} }}", f.name)
        })
        .collect()
}

/// Asserts every operation on a closed root field refuses an anonymous caller: each one
/// answers `UNAUTHENTICATED` with no data, or `BAD_USER_INPUT` (a malformed request, such
/// as a made-up cursor, is refused as such for everyone), and at least one is
/// `UNAUTHENTICATED`.
fn assert_closed(field: &str, answers: &[(String, Value)]) {
    for (op, res) in answers {
        match code(res) {
            "UNAUTHENTICATED" => assert_sign_in_required(op, res, field),
            "BAD_USER_INPUT" => assert!(res["data"][field].is_null(), "{op}: {res}"),
            _ => panic!("{op}: anonymous callers must be refused: {res}"),
        }
    }
    assert!(
        answers
            .iter()
            .any(|(_, res)| code(res) == "UNAUTHENTICATED"),
        "{field}: no well-formed operation was refused as UNAUTHENTICATED: {answers:?}"
    );
}

/// Every query, mutation and subscription root field either is on the open list or
/// refuses an anonymous caller with `UNAUTHENTICATED` and no data, even with well-formed
/// arguments naming things that do not exist. A new root field is judged here the day it
/// is added.
#[tokio::test]
async fn every_root_field_is_open_by_decision_only() {
    let app = TestApp::spawn().await;
    let ([queries, mutations, subscriptions], types) = schema(&app).await;
    let names = |fields: &[RootField]| fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    for open in OPEN_QUERIES {
        assert!(names(&queries).iter().any(|n| n == open), "stale: {open}");
    }
    for open in OPEN_SUBSCRIPTIONS {
        assert!(
            names(&subscriptions).iter().any(|n| n == open),
            "stale: {open}"
        );
    }

    for (keyword, fields, open) in [
        ("query", &queries, OPEN_QUERIES),
        ("mutation", &mutations, &[][..]),
    ] {
        for f in fields {
            let mut answers = Vec::new();
            for op in operations(keyword, f, &types) {
                let res = app.gql(None, &op, json!({})).await;
                answers.push((op, res));
            }
            if open.contains(&f.name.as_str()) {
                for (op, res) in &answers {
                    assert_ne!(code(res), "UNAUTHENTICATED", "open {op}: {res}");
                }
            } else {
                assert_closed(&f.name, &answers);
            }
        }
    }

    let mut ws = app.ws(None).await;
    for f in subscriptions
        .iter()
        .filter(|f| !OPEN_SUBSCRIPTIONS.contains(&f.name.as_str()))
    {
        let mut answers = Vec::new();
        for (i, op) in operations("subscription", f, &types)
            .into_iter()
            .enumerate()
        {
            let id = format!("{}-{i}", f.name);
            ws.subscribe(&id, &op, json!({})).await;
            let err = socket_error(&mut ws, &id).await;
            // In the shape of a query's answer, to judge it the same way.
            let res = json!({ "data": null, "errors": [err] });
            answers.push((op, res));
        }
        assert_closed(&f.name, &answers);
    }
    assert_eq!(app.app.bus.active_feeds(), 0);
}
