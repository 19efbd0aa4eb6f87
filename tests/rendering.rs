//! The lean renderer (`graphql::lean`): the hot node types render their plain fields in place
//! instead of through a resolver each. These tests hold it to the same answer as
//! async-graphql's executor, which still renders a node reached through `node(id:)`: every
//! plain field of every lean type, read both ways, must be equal; fragments, aliases and
//! `__typename` must land as the executor puts them; and what the viewer may not see stays
//! hidden on the lean path, for a customer of another organization and an anonymous caller.

mod common;

use common::{TestApp, User, assert_sign_in_required, data};
use serde_json::{Value, json};

/// Each lean type's plain fields (the ones `PlainFields::plain` answers), as a selection.
const TICKET: &str =
    "id number subject description status priority solvedBy createdAt updatedAt __typename";
const USER: &str = "id name role __typename";
const ORGANIZATION: &str = "id key name __typename";
const COMMENT: &str = "id body public createdAt __typename";
const ESCALATION: &str =
    "id title status track priority priorityLabel triagedAt createdAt updatedAt __typename";
const UPDATE: &str = "id body public createdAt __typename";

/// One ticket read through the lean path: the root `ticket`, its nested nodes, an escalation
/// page's linked tickets.
fn lean_query() -> String {
    format!(
        "query($id: ID!) {{ ticket(id: $id) {{ {TICKET}
           requester {{ {USER} }} assignee {{ {USER} }} organization {{ {ORGANIZATION} }}
           comments(first: 50) {{ nodes {{ {COMMENT} author {{ {USER} }} }}
                                  edges {{ node {{ {COMMENT} }} }} }}
           escalation {{ {ESCALATION} updates(first: 10) {{ nodes {{ {UPDATE} author {{ {USER} }} }} }}
                         tickets(first: 10) {{ nodes {{ {TICKET} }} }} }} }} }}"
    )
}

/// The same node through `node(id:)`, whose own fields async-graphql's executor renders.
fn reference_query(fields: &str, on: &str) -> String {
    format!("query($id: ID!) {{ node(id: $id) {{ ... on {on} {{ {fields} }} }} }}")
}

/// A ticket with an assignee, comments of both kinds, a triaged escalation with updates.
struct Scene {
    app: TestApp,
    agent: User,
    customer: User,
    ticket: String,
}

async fn scene() -> Scene {
    let app = TestApp::spawn().await;
    let customer = app.customer("acme").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;
    let dev = app.developer().await;
    let ticket = app.create_ticket(&customer, "Printer on fire").await;
    app.comment(&customer, &ticket, "It smokes", true).await;
    app.comment(&agent, &ticket, "internal: reproduce first", false)
        .await;
    app.comment(&agent, &ticket, "Looking into it", true).await;
    let res = app
        .update_ticket(
            &agent,
            json!({ "ticketId": ticket, "assigneeId": agent.id, "priority": "HIGH" }),
        )
        .await;
    data(&res);
    let escalation = app.escalate(&agent, &ticket, "Fuser overheats", "P2").await;
    app.triage(&lead, &escalation, "HOTFIX").await;
    app.post_update(&dev, &escalation, "Found it", true).await;
    app.post_update(&dev, &escalation, "internal: the thermistor", false)
        .await;
    Scene {
        app,
        agent,
        customer,
        ticket,
    }
}

/// Every object in `tree` that has an `id` and a `__typename`, cut to its type's plain
/// fields: (type, those fields).
fn objects(tree: &Value, out: &mut Vec<(String, Value)>) {
    match tree {
        Value::Object(map) => {
            if let (Some(Value::String(ty)), Some(Value::String(_))) =
                (map.get("__typename"), map.get("id"))
            {
                let fields: Vec<&str> = fields_of(ty).split_whitespace().collect();
                let plain: serde_json::Map<String, Value> = map
                    .iter()
                    .filter(|(k, _)| fields.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(plain.len(), fields.len(), "{ty} lacks a field: {tree}");
                out.push((ty.clone(), Value::Object(plain)));
            }
            map.values().for_each(|v| objects(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| objects(v, out)),
        _ => {}
    }
}

fn fields_of(ty: &str) -> &'static str {
    match ty {
        "Ticket" => TICKET,
        "User" => USER,
        "Organization" => ORGANIZATION,
        "Comment" => COMMENT,
        "Escalation" => ESCALATION,
        "EscalationUpdate" => UPDATE,
        other => panic!("no plain fields listed for {other}"),
    }
}

/// Reads the ticket leanly as `who` and checks every object in the answer against the
/// executor's rendering of the same node; returns the lean answer.
async fn lean_matches_executor(s: &Scene, who: &User) -> Value {
    let lean = s
        .app
        .gql(Some(who), &lean_query(), json!({ "id": s.ticket }))
        .await;
    let ticket = data(&lean)["ticket"].clone();
    let mut found = Vec::new();
    objects(&ticket, &mut found);
    for (ty, lean_object) in &found {
        let reference = s
            .app
            .gql(
                Some(who),
                &reference_query(fields_of(ty), ty),
                json!({ "id": lean_object["id"] }),
            )
            .await;
        assert_eq!(
            &data(&reference)["node"],
            lean_object,
            "{ty} renders differently on the lean path"
        );
    }
    ticket
}

#[tokio::test]
async fn every_plain_field_renders_as_the_executor_renders_it() {
    let s = scene().await;
    let ticket = lean_matches_executor(&s, &s.agent).await;
    let mut found = Vec::new();
    objects(&ticket, &mut found);
    let kinds: std::collections::BTreeSet<&str> = found.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Comment",
            "Escalation",
            "EscalationUpdate",
            "Organization",
            "Ticket",
            "User"
        ]
        .into(),
        "every lean type is covered: {ticket}"
    );
    // Values that differ from their defaults, so a plain field reading the wrong column shows.
    assert_eq!(ticket["priority"], "HIGH");
    assert_eq!(ticket["escalation"]["track"], "HOTFIX");
    assert!(ticket["escalation"]["triagedAt"].is_string(), "{ticket}");
    let bodies: Vec<&str> = ticket["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    assert!(
        bodies.contains(&"internal: reproduce first"),
        "staff see internal notes: {bodies:?}"
    );
    assert_eq!(ticket["assignee"]["id"], s.agent.id);

    // The requester's own view is checked the same way.
    lean_matches_executor(&s, &s.customer).await;
}

#[tokio::test]
async fn fragments_aliases_and_typename_land_as_the_executor_puts_them() {
    let s = scene().await;
    let query = "query($id: ID!) { ticket(id: $id) {
        a: subject subject ...F ... on Ticket { priority } ... on Node { id } ... { status }
        requester { ...U who: name } comments(first: 5) { nodes { ...C } } }
      }
      fragment F on Ticket { number subject requester { id } }
      fragment U on User { name __typename }
      fragment C on Comment { body b: body }";
    let res = s
        .app
        .gql(Some(&s.agent), query, json!({ "id": s.ticket }))
        .await;
    let t = &data(&res)["ticket"];
    assert_eq!(t["a"], "Printer on fire");
    assert_eq!(t["subject"], "Printer on fire");
    assert!(t["number"].is_i64(), "{t}");
    assert_eq!(t["priority"], "HIGH");
    assert_eq!(t["id"], s.ticket);
    assert!(t["status"].is_string(), "{t}");
    // `requester` selected twice (directly and in `F`): merged into one object.
    let requester = t["requester"].as_object().unwrap();
    let mut keys: Vec<&str> = requester.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["__typename", "id", "name", "who"], "{t}");
    assert_eq!(requester["id"], s.customer.id);
    assert_eq!(requester["name"], requester["who"]);
    for c in t["comments"]["nodes"].as_array().unwrap() {
        assert_eq!(c["body"], c["b"], "{c}");
    }

    // `@skip`/`@include` are applied before rendering.
    let res = s
        .app
        .gql(
            Some(&s.agent),
            "query($id: ID!, $no: Boolean!) { ticket(id: $id) { subject @skip(if: $no) number @include(if: $no) } }",
            json!({ "id": s.ticket, "no": true }),
        )
        .await;
    let t = &data(&res)["ticket"];
    assert!(t.get("subject").is_none(), "{t}");
    assert!(t["number"].is_i64(), "{t}");
}

#[tokio::test]
async fn the_lean_path_hides_what_the_viewer_may_not_see() {
    let s = scene().await;
    let outsider = s.app.customer("globex").await;

    // Another organization's customer and an anonymous caller reach nothing through it.
    let res = s
        .app
        .gql(Some(&outsider), &lean_query(), json!({ "id": s.ticket }))
        .await;
    assert!(res["data"]["ticket"].is_null(), "outsider: {res}");
    assert!(!res.to_string().contains("Printer"), "outsider: {res}");
    let res = s
        .app
        .gql(None, &lean_query(), json!({ "id": s.ticket }))
        .await;
    assert_sign_in_required("anonymous", &res, "ticket");
    assert!(!res.to_string().contains("Printer"), "anonymous: {res}");

    // The requester: public comments and updates only, no internal escalation details,
    // and the viewer-dependent fields next to plain ones still go through their rules.
    let query = "query($id: ID!) { ticket(id: $id) { subject
        assignee { name email } requester { name email }
        comments(first: 50) { nodes { body public } }
        escalation { title details assignee { id } declineReason
                     updates(first: 10) { nodes { body public } } } } }";
    let res = s
        .app
        .gql(Some(&s.customer), query, json!({ "id": s.ticket }))
        .await;
    let t = &data(&res)["ticket"];
    let text = t.to_string();
    assert!(
        !text.contains("internal:"),
        "customer sees internal text: {t}"
    );
    assert!(
        !text.contains("SECRET-DETAILS"),
        "customer sees details: {t}"
    );
    assert!(t["escalation"]["details"].is_null(), "{t}");
    assert!(t["escalation"]["assignee"].is_null(), "{t}");
    assert!(
        t["assignee"]["email"].is_null(),
        "agent's email leaked: {t}"
    );
    assert!(t["requester"]["email"].is_string(), "own email: {t}");
    let comments = t["comments"]["nodes"].as_array().unwrap();
    assert!(comments.iter().all(|c| c["public"] == true), "{t}");
    assert!(comments.iter().any(|c| c["body"] == "It smokes"), "{t}");
    assert_eq!(
        t["escalation"]["updates"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{t}"
    );

    // The triage queue renders leanly too; a customer gets no queue.
    let queue = "{ escalations(first: 10) { nodes { title details tickets(first: 5) {
        nodes { subject organization { name } } } } } }";
    let res = s.app.gql(Some(&s.agent), queue, json!({})).await;
    let nodes = &data(&res)["escalations"]["nodes"];
    assert_eq!(nodes[0]["title"], "Fuser overheats", "{res}");
    assert!(
        nodes[0]["details"]
            .as_str()
            .is_some_and(|d| d.contains("SECRET")),
        "{res}"
    );
    assert!(nodes[0]["tickets"]["nodes"][0]["organization"]["name"].is_string());
    let res = s.app.gql(Some(&outsider), queue, json!({})).await;
    assert!(!res.to_string().contains("Fuser"), "outsider: {res}");
}
