//! Who sees what in the tickets slice, role by role and path by path. The rules: staff
//! (agents, developers, the triage lead, admins) see every ticket; a customer sees the
//! tickets they requested, and with organization scope every ticket of their organization;
//! customers never see internal comments or internal events; anonymous callers are told to
//! sign in (`UNAUTHENTICATED`) wherever a signed-in stranger would find nothing. A thing the
//! viewer may not see must be indistinguishable from a thing that does not exist — on
//! lists, counts, `ticket(id | number)`, `node(id)` and nested fields — and organization
//! scope must bite (and stop biting) on the very next request.

mod common;

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use common::{
    MADE_UP, NODE, TestApp, User, assert_conn, assert_like_nonexistent, assert_sign_in_required,
    code, data, edge_ids, gid, is_null_data,
    steps::{ADD_COMMENT, CREATE_TICKET, GRANT_SCOPE, REVOKE_SCOPE, UPDATE_TICKET},
};
use serde_json::{Value, json};

const TICKETS: &str = "{ tickets { totalCount edges { node { id } } } }";
const TICKET_BY_ID: &str = "query($id: ID!) { ticket(id: $id) { id } }";
const TICKET_BY_NUMBER: &str = "query($n: Int!) { ticket(number: $n) { id } }";
const COMMENT_TICKET: &str =
    "query($id: ID!) { node(id: $id) { ... on Comment { id public ticket { id } } } }";
const USER_TICKETS: &str = "query($id: ID!) { node(id: $id) { ... on User { id
  tickets { totalCount edges { node { id } } } } } }";
const VIEWER_TICKETS: &str =
    "{ viewer { id email hasOrganizationScope tickets { totalCount edges { node { id } } } } }";
const ORG_TICKETS: &str = "query($id: ID!) { node(id: $id) { ... on Organization { id key
  tickets { totalCount edges { node { id } } } } } }";
const ORGANIZATIONS: &str = "{ organizations { totalCount edges { node { id key
  tickets { totalCount edges { node { id } } } } } } }";
const USERS: &str =
    "{ users(first: 100) { totalCount edges { node { id role email hasOrganizationScope } } } }";
const CHILDREN: &str = "query($id: ID!) { ticket(id: $id) {
  comments { totalCount edges { node { id body public } } }
  events { totalCount edges { node { kind public comment { id } } } } } }";
const LIST_CHILDREN: &str = "{ tickets { edges { node { id
  comments { totalCount nodes { id public } } events { totalCount nodes { public } } } } } }";
const STATE: &str = "query($id: ID!) { ticket(id: $id) { status priority updatedAt
  comments(first: 100) { totalCount } events(first: 100) { totalCount } } }";

/// A ticket of the fixture with its two comments.
struct Tk {
    id: String,
    number: i64,
    public_comment: String,
    internal_comment: String,
}

/// alice and bob of acme (alice with organization scope), carol of globex, an agent and an
/// admin; one ticket requested by each customer, each with a public comment by its requester
/// and an internal note by the agent.
struct World {
    app: TestApp,
    alice: User,
    bob: User,
    carol: User,
    agent: User,
    admin: User,
    acme: String,
    globex: String,
    a: Tk,
    b: Tk,
    c: Tk,
}

impl World {
    async fn build() -> World {
        let app = TestApp::spawn().await;
        let alice = app.customer("acme").await;
        let bob = app.customer("acme").await;
        let carol = app.customer("globex").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        app.grant_scope(&admin, &alice).await;

        let mut made = Vec::new();
        for (who, subject) in [(&alice, "alice's"), (&bob, "bob's"), (&carol, "carol's")] {
            let id = app.create_ticket(who, subject).await;
            let public_comment = app
                .comment(who, &id, &format!("public on {subject}"), true)
                .await;
            let internal_comment = app
                .comment(&agent, &id, &format!("internal on {subject}"), false)
                .await;
            let res = app
                .gql(
                    Some(&admin),
                    "query($id: ID!) { ticket(id: $id) { number } }",
                    json!({ "id": id }),
                )
                .await;
            let number = data(&res)["ticket"]["number"].as_i64().expect("number");
            made.push(Tk {
                id,
                number,
                public_comment,
                internal_comment,
            });
        }
        let org_of = |res: Value| {
            data(&res)["viewer"]["organization"]["id"]
                .as_str()
                .expect("organization id")
                .to_owned()
        };
        const ORG: &str = "{ viewer { organization { id } } }";
        let acme = org_of(app.gql(Some(&alice), ORG, json!({})).await);
        let globex = org_of(app.gql(Some(&carol), ORG, json!({})).await);
        let mut made = made.into_iter();
        let (a, b, c) = (
            made.next().unwrap(),
            made.next().unwrap(),
            made.next().unwrap(),
        );
        World {
            app,
            alice,
            bob,
            carol,
            agent,
            admin,
            acme,
            globex,
            a,
            b,
            c,
        }
    }

    /// Every actor of the matrix; `None` is anonymous.
    fn actors(&self) -> [(&'static str, Option<&User>); 6] {
        [
            ("alice", Some(&self.alice)),
            ("bob", Some(&self.bob)),
            ("carol", Some(&self.carol)),
            ("anonymous", None),
            ("agent", Some(&self.agent)),
            ("admin", Some(&self.admin)),
        ]
    }

    fn tickets(&self) -> [(&'static str, &Tk); 3] {
        [("a", &self.a), ("b", &self.b), ("c", &self.c)]
    }

    /// Ids of the named fixture tickets.
    fn ids(&self, names: &[&str]) -> BTreeSet<String> {
        self.tickets()
            .into_iter()
            .filter(|(n, _)| names.contains(n))
            .map(|(_, t)| t.id.clone())
            .collect()
    }
}

/// Which fixture tickets each actor may see: staff all, a customer their own, alice (with
/// organization scope) all of acme's.
fn sees(actor: &str, ticket: &str) -> bool {
    matches!(
        (actor, ticket),
        ("alice", "a" | "b") | ("bob", "b") | ("carol", "c") | ("agent" | "admin", _)
    )
}

fn is_staff(actor: &str) -> bool {
    matches!(actor, "agent" | "admin")
}

/// The visible state of a ticket, read by staff, to prove a refused write changed nothing.
async fn state(w: &World, id: &str) -> Value {
    let res = w.app.gql(Some(&w.admin), STATE, json!({ "id": id })).await;
    data(&res)["ticket"].clone()
}

/// Row counts of the tables a ticket write touches.
async fn rows(app: &TestApp) -> [i64; 4] {
    app.rows(["ticket", "comment", "event", "org_scope_grant"])
        .await
}

#[tokio::test]
async fn ticket_list_and_total_count_per_role() {
    let w = World::build().await;
    for (actor, who) in w.actors() {
        let expected: BTreeSet<String> = w
            .tickets()
            .into_iter()
            .filter(|(t, _)| sees(actor, t))
            .map(|(_, t)| t.id.clone())
            .collect();
        let res = w.app.gql(who, TICKETS, json!({})).await;
        match who {
            Some(_) => assert_conn(actor, &data(&res)["tickets"], &expected),
            None => assert_sign_in_required(actor, &res, "tickets"),
        }
    }

    // A client filter narrows and never widens.
    const FILTERED: &str =
        "query($f: TicketFilter) { tickets(filter: $f) { totalCount edges { node { id } } } }";
    let cases = [
        (
            "bob: acme",
            &w.bob,
            json!({ "organizationId": w.acme }),
            w.ids(&["b"]),
        ),
        (
            "bob: alice's",
            &w.bob,
            json!({ "requesterId": w.alice.id }),
            w.ids(&[]),
        ),
        (
            "carol: acme",
            &w.carol,
            json!({ "organizationId": w.acme }),
            w.ids(&[]),
        ),
        (
            "carol: alice's",
            &w.carol,
            json!({ "requesterId": w.alice.id }),
            w.ids(&[]),
        ),
        (
            "alice: bob's",
            &w.alice,
            json!({ "requesterId": w.bob.id }),
            w.ids(&["b"]),
        ),
        (
            "alice: globex",
            &w.alice,
            json!({ "organizationId": w.globex }),
            w.ids(&[]),
        ),
        (
            "agent: globex",
            &w.agent,
            json!({ "organizationId": w.globex }),
            w.ids(&["c"]),
        ),
    ];
    for (what, who, filter, expected) in cases {
        let res = w.app.gql(Some(who), FILTERED, json!({ "f": filter })).await;
        assert_conn(what, &data(&res)["tickets"], &expected);
    }
}

#[tokio::test]
async fn ticket_by_id_number_and_node_hide_what_is_not_yours() {
    let w = World::build().await;
    let fake_id = gid("Ticket", MADE_UP);
    for (actor, who) in w.actors() {
        for (name, t) in w.tickets() {
            let what = format!("{actor} → ticket {name}");
            if sees(actor, name) {
                let res = w.app.gql(who, TICKET_BY_ID, json!({ "id": t.id })).await;
                assert_eq!(data(&res)["ticket"]["id"], t.id.as_str(), "{what}");
                let res = w
                    .app
                    .gql(who, TICKET_BY_NUMBER, json!({ "n": t.number }))
                    .await;
                assert_eq!(data(&res)["ticket"]["id"], t.id.as_str(), "{what}");
                let res = w.app.gql(who, NODE, json!({ "id": t.id })).await;
                assert_eq!(data(&res)["node"]["__typename"], "Ticket", "{what}");
                assert_eq!(data(&res)["node"]["id"], t.id.as_str(), "{what}");
            } else {
                assert_like_nonexistent(
                    &w.app,
                    who,
                    &format!("{what} by id"),
                    TICKET_BY_ID,
                    json!({ "id": t.id }),
                    json!({ "id": fake_id }),
                )
                .await;
                assert_like_nonexistent(
                    &w.app,
                    who,
                    &format!("{what} by number"),
                    TICKET_BY_NUMBER,
                    json!({ "n": t.number }),
                    json!({ "n": MADE_UP }),
                )
                .await;
                assert_like_nonexistent(
                    &w.app,
                    who,
                    &format!("{what} by node"),
                    NODE,
                    json!({ "id": t.id }),
                    json!({ "id": fake_id }),
                )
                .await;
            }
        }
    }
}

#[tokio::test]
async fn comments_users_and_organizations_through_node() {
    let w = World::build().await;
    let fake_comment = gid("Comment", MADE_UP);
    for (actor, who) in w.actors() {
        // Comments: visible with their ticket, internal notes for staff only; and the
        // comment leads back to its ticket.
        for (name, t) in w.tickets() {
            for (comment, public) in [(&t.public_comment, true), (&t.internal_comment, false)] {
                let what = format!("{actor} → comment on {name} (public: {public})");
                if sees(actor, name) && (public || is_staff(actor)) {
                    let res = w
                        .app
                        .gql(who, COMMENT_TICKET, json!({ "id": comment }))
                        .await;
                    let node = &data(&res)["node"];
                    assert_eq!(node["id"], comment.as_str(), "{what}");
                    assert_eq!(node["public"], public, "{what}");
                    assert_eq!(node["ticket"]["id"], t.id.as_str(), "{what}");
                } else {
                    assert_like_nonexistent(
                        &w.app,
                        who,
                        &what,
                        COMMENT_TICKET,
                        json!({ "id": comment }),
                        json!({ "id": fake_comment }),
                    )
                    .await;
                }
            }
        }

        // Users: a customer sees themself, staff, and (with scope) their organization.
        let fake_user = gid("User", MADE_UP);
        for (other, user) in [
            ("alice", &w.alice),
            ("bob", &w.bob),
            ("carol", &w.carol),
            ("agent", &w.agent),
            ("admin", &w.admin),
        ] {
            let visible = match actor {
                "anonymous" => false,
                "agent" | "admin" => true,
                _ => actor == other || is_staff(other) || (actor == "alice" && other == "bob"),
            };
            let what = format!("{actor} → user {other}");
            if visible {
                let res = w.app.gql(who, NODE, json!({ "id": user.id })).await;
                assert_eq!(data(&res)["node"]["__typename"], "User", "{what}");
                assert_eq!(data(&res)["node"]["id"], user.id.as_str(), "{what}");
            } else {
                assert_like_nonexistent(
                    &w.app,
                    who,
                    &what,
                    NODE,
                    json!({ "id": user.id }),
                    json!({ "id": fake_user }),
                )
                .await;
            }
        }

        // Organizations: a customer sees their own, staff all, anonymous none.
        let fake_org = gid("Organization", MADE_UP);
        for (org, id) in [("acme", &w.acme), ("globex", &w.globex)] {
            let visible = match actor {
                "alice" | "bob" => org == "acme",
                "carol" => org == "globex",
                "anonymous" => false,
                _ => true,
            };
            let what = format!("{actor} → organization {org}");
            if visible {
                let res = w.app.gql(who, NODE, json!({ "id": id })).await;
                assert_eq!(data(&res)["node"]["__typename"], "Organization", "{what}");
                assert_eq!(data(&res)["node"]["id"], id.as_str(), "{what}");
            } else {
                assert_like_nonexistent(
                    &w.app,
                    who,
                    &what,
                    NODE,
                    json!({ "id": id }),
                    json!({ "id": fake_org }),
                )
                .await;
            }
        }
    }
}

#[tokio::test]
async fn user_and_organization_tickets_never_widen() {
    let w = World::build().await;
    let app = &w.app;

    // viewer.tickets: what they requested (and may see).
    for (actor, who, own) in [
        ("alice", &w.alice, "a"),
        ("bob", &w.bob, "b"),
        ("carol", &w.carol, "c"),
    ] {
        let res = app.gql(Some(who), VIEWER_TICKETS, json!({})).await;
        assert_conn(actor, &data(&res)["viewer"]["tickets"], &w.ids(&[own]));
    }
    for who in [&w.agent, &w.admin] {
        let res = app.gql(Some(who), VIEWER_TICKETS, json!({})).await;
        assert_conn(
            "staff viewer",
            &data(&res)["viewer"]["tickets"],
            &w.ids(&[]),
        );
    }
    let res = app.gql(None, VIEWER_TICKETS, json!({})).await;
    assert!(data(&res)["viewer"].is_null(), "{res}");

    // user.tickets through node(id) on a user the viewer sees.
    let cases = [
        ("alice → bob", &w.alice, &w.bob, w.ids(&["b"])),
        ("alice → alice", &w.alice, &w.alice, w.ids(&["a"])),
        ("bob → bob", &w.bob, &w.bob, w.ids(&["b"])),
        ("bob → agent", &w.bob, &w.agent, w.ids(&[])),
        ("carol → carol", &w.carol, &w.carol, w.ids(&["c"])),
        ("agent → alice", &w.agent, &w.alice, w.ids(&["a"])),
        ("agent → carol", &w.agent, &w.carol, w.ids(&["c"])),
        ("admin → bob", &w.admin, &w.bob, w.ids(&["b"])),
    ];
    for (what, who, user, expected) in cases {
        let res = app
            .gql(Some(who), USER_TICKETS, json!({ "id": user.id }))
            .await;
        assert_eq!(data(&res)["node"]["id"], user.id.as_str(), "{what}");
        assert_conn(what, &data(&res)["node"]["tickets"], &expected);
    }

    // organization.tickets through organizations { … } and node(id) on an organization.
    let acme_for = |actor| match actor {
        "alice" | "agent" | "admin" => w.ids(&["a", "b"]),
        "bob" => w.ids(&["b"]),
        _ => w.ids(&[]),
    };
    for (actor, who) in w.actors() {
        let res = app.gql(who, ORGANIZATIONS, json!({})).await;
        if who.is_none() {
            assert_sign_in_required(actor, &res, "organizations");
            continue;
        }
        let orgs = &data(&res)["organizations"];
        let expected: BTreeSet<String> = match actor {
            "alice" | "bob" => [w.acme.clone()].into(),
            "carol" => [w.globex.clone()].into(),
            _ => [w.acme.clone(), w.globex.clone()].into(),
        };
        assert_conn(&format!("{actor}: organizations"), orgs, &expected);
        for edge in orgs["edges"].as_array().unwrap() {
            let node = &edge["node"];
            let tickets = if node["id"] == w.acme.as_str() {
                acme_for(actor)
            } else if node["id"] == w.globex.as_str() {
                if is_staff(actor) || actor == "carol" {
                    w.ids(&["c"])
                } else {
                    w.ids(&[])
                }
            } else {
                panic!("{actor}: an organization outside the fixture: {node}");
            };
            assert_conn(
                &format!("{actor}: organizations → {}", node["key"]),
                &node["tickets"],
                &tickets,
            );
        }

        for (org, id) in [("acme", &w.acme), ("globex", &w.globex)] {
            if !expected.contains(id) {
                continue; // NOT_FOUND through node: covered above
            }
            let res = app.gql(who, ORG_TICKETS, json!({ "id": id })).await;
            let tickets = if org == "acme" {
                acme_for(actor)
            } else {
                w.ids(&["c"])
            };
            assert_conn(
                &format!("{actor}: node({org}).tickets"),
                &data(&res)["node"]["tickets"],
                &tickets,
            );
        }
    }
}

#[tokio::test]
async fn customers_never_see_internal_comments_or_events() {
    let w = World::build().await;
    for (actor, who) in w.actors() {
        for (name, t) in w.tickets() {
            if !sees(actor, name) {
                continue;
            }
            let what = format!("{actor} → ticket {name}");
            let res = w.app.gql(who, CHILDREN, json!({ "id": t.id })).await;
            let ticket = &data(&res)["ticket"];
            let comments = &ticket["comments"];
            let events = &ticket["events"];
            let comment_ids = edge_ids(comments);
            if is_staff(actor) {
                let both: BTreeSet<String> =
                    [t.public_comment.clone(), t.internal_comment.clone()].into();
                assert_conn(&what, comments, &both);
                // TICKET_CREATED, and COMMENT_ADDED twice (one internal).
                assert_eq!(events["totalCount"], 3, "{what}: {events}");
                let internal = events["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["node"]["public"] == false)
                    .count();
                assert_eq!(internal, 1, "{what}: {events}");
            } else {
                assert_conn(&what, comments, &[t.public_comment.clone()].into());
                assert!(!comment_ids.contains(&t.internal_comment));
                let nodes = events["edges"].as_array().unwrap();
                assert_eq!(events["totalCount"], 2, "{what}: {events}");
                assert_eq!(nodes.len(), 2, "{what}: {events}");
                for e in nodes {
                    assert_eq!(e["node"]["public"], true, "{what}: {events}");
                    assert_ne!(
                        e["node"]["comment"]["id"],
                        t.internal_comment.as_str(),
                        "{what}"
                    );
                }
                assert!(
                    !res.to_string().contains("internal on"),
                    "{what}: an internal body leaked: {res}"
                );
            }
        }

        // The same through the list, where counts are batched.
        let res = w.app.gql(who, LIST_CHILDREN, json!({})).await;
        if who.is_none() {
            assert_sign_in_required(actor, &res, "tickets");
            continue;
        }
        for edge in data(&res)["tickets"]["edges"].as_array().unwrap() {
            let node = &edge["node"];
            let (comments, events) = if is_staff(actor) { (2, 3) } else { (1, 2) };
            assert_eq!(node["comments"]["totalCount"], comments, "{actor}: {node}");
            assert_eq!(
                node["comments"]["nodes"].as_array().unwrap().len(),
                comments,
                "{actor}: {node}"
            );
            assert_eq!(node["events"]["totalCount"], events, "{actor}: {node}");
            if !is_staff(actor) {
                assert!(
                    node["events"]["nodes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|e| e["public"] == true),
                    "{actor}: {node}"
                );
            }
        }
    }
}

#[tokio::test]
async fn user_lists_emails_and_scope_flags() {
    let w = World::build().await;
    let named = [
        ("alice", &w.alice),
        ("bob", &w.bob),
        ("carol", &w.carol),
        ("agent", &w.agent),
        ("admin", &w.admin),
    ];
    for (actor, who) in w.actors() {
        let res = w.app.gql(who, USERS, json!({})).await;
        let Some(me) = who else {
            assert_sign_in_required(actor, &res, "users");
            continue;
        };
        let users = &data(&res)["users"];
        let listed = edge_ids(users);
        assert_eq!(
            users["totalCount"].as_u64(),
            Some(listed.len() as u64),
            "{actor}: {users}"
        );
        for (other, user) in named {
            let visible = is_staff(actor)
                || actor == other
                || is_staff(other)
                || (actor == "alice" && other == "bob");
            assert_eq!(
                listed.contains(&user.id),
                visible,
                "{actor} lists {other}: {users}"
            );
        }
        for edge in users["edges"].as_array().unwrap() {
            let node = &edge["node"];
            let is_me = node["id"] == me.id.as_str();
            if is_staff(actor) || is_me {
                assert!(node["email"].is_string(), "{actor}: {node}");
                assert!(node["hasOrganizationScope"].is_boolean(), "{actor}: {node}");
            } else {
                assert!(node["email"].is_null(), "{actor} reads an email: {node}");
                assert!(
                    node["hasOrganizationScope"].is_null(),
                    "{actor} reads a scope flag: {node}"
                );
                if actor != "alice" {
                    // Without scope a customer lists only themself and staff.
                    assert_ne!(node["role"], "CUSTOMER", "{actor}: {node}");
                }
            }
            if is_me {
                assert_eq!(
                    node["email"],
                    format!("{}@example.com", me.sub),
                    "{actor}: own email"
                );
            }
        }
        // Staff read every customer's scope flag.
        if is_staff(actor) {
            for edge in users["edges"].as_array().unwrap() {
                let node = &edge["node"];
                let expected = node["id"] == w.alice.id.as_str();
                if node["role"] == "CUSTOMER" {
                    assert_eq!(node["hasOrganizationScope"], expected, "{actor}: {node}");
                }
            }
        }
    }

    // A customer's own flag through viewer; another's is null even when visible.
    for (who, scoped) in [(&w.alice, true), (&w.bob, false), (&w.carol, false)] {
        let res = w.app.gql(Some(who), VIEWER_TICKETS, json!({})).await;
        assert_eq!(data(&res)["viewer"]["hasOrganizationScope"], scoped);
        assert_eq!(
            data(&res)["viewer"]["email"],
            format!("{}@example.com", who.sub)
        );
    }
    const PERSON: &str =
        "query($id: ID!) { node(id: $id) { ... on User { email hasOrganizationScope } } }";
    let res = w
        .app
        .gql(Some(&w.alice), PERSON, json!({ "id": w.bob.id }))
        .await;
    assert_eq!(
        data(&res)["node"],
        json!({ "email": null, "hasOrganizationScope": null })
    );
    let res = w
        .app
        .gql(Some(&w.bob), PERSON, json!({ "id": w.agent.id }))
        .await;
    assert_eq!(
        data(&res)["node"],
        json!({ "email": null, "hasOrganizationScope": null })
    );
    let res = w
        .app
        .gql(Some(&w.agent), PERSON, json!({ "id": w.alice.id }))
        .await;
    assert_eq!(
        data(&res)["node"],
        json!({ "email": format!("{}@example.com", w.alice.sub), "hasOrganizationScope": true })
    );
}

/// What bob (acme, no scope) sees: his own ticket only; alice and her things do not exist.
async fn bob_without_scope(w: &World, label: &str) {
    let (app, bob) = (&w.app, &w.bob);
    let res = app.gql(Some(bob), TICKETS, json!({})).await;
    assert_conn(label, &data(&res)["tickets"], &w.ids(&["b"]));
    for (what, query, real, made_up) in [
        (
            "alice's ticket",
            TICKET_BY_ID,
            json!({ "id": w.a.id }),
            json!({ "id": gid("Ticket", MADE_UP) }),
        ),
        (
            "alice",
            NODE,
            json!({ "id": w.alice.id }),
            json!({ "id": gid("User", MADE_UP) }),
        ),
        (
            "alice's comment",
            NODE,
            json!({ "id": w.a.public_comment }),
            json!({ "id": gid("Comment", MADE_UP) }),
        ),
    ] {
        assert_like_nonexistent(
            app,
            Some(bob),
            &format!("{label}: {what}"),
            query,
            real,
            made_up,
        )
        .await;
    }
    let res = app.gql(Some(bob), VIEWER_TICKETS, json!({})).await;
    assert_eq!(
        data(&res)["viewer"]["hasOrganizationScope"],
        false,
        "{label}"
    );
    let res = app
        .gql(Some(bob), ORG_TICKETS, json!({ "id": w.acme }))
        .await;
    assert_conn(label, &data(&res)["node"]["tickets"], &w.ids(&["b"]));
}

#[tokio::test]
async fn scope_grant_and_revoke_bite_on_the_next_request() {
    let w = World::build().await;
    let (app, bob) = (&w.app, &w.bob);
    let fake = gid("Ticket", MADE_UP);

    bob_without_scope(&w, "before the grant").await;

    app.grant_scope(&w.admin, bob).await;
    let res = app
        .gql(Some(bob), TICKET_BY_ID, json!({ "id": w.a.id }))
        .await;
    assert_eq!(data(&res)["ticket"]["id"], w.a.id.as_str());
    let res = app.gql(Some(bob), TICKETS, json!({})).await;
    assert_conn("granted", &data(&res)["tickets"], &w.ids(&["a", "b"]));
    let res = app
        .gql(Some(bob), ORG_TICKETS, json!({ "id": w.acme }))
        .await;
    assert_conn(
        "granted: acme",
        &data(&res)["node"]["tickets"],
        &w.ids(&["a", "b"]),
    );
    let res = app
        .gql(Some(bob), USER_TICKETS, json!({ "id": w.alice.id }))
        .await;
    assert_conn(
        "granted: alice",
        &data(&res)["node"]["tickets"],
        &w.ids(&["a"]),
    );
    let res = app
        .gql(
            Some(bob),
            COMMENT_TICKET,
            json!({ "id": w.a.public_comment }),
        )
        .await;
    assert_eq!(data(&res)["node"]["ticket"]["id"], w.a.id.as_str());
    let res = app.gql(Some(bob), VIEWER_TICKETS, json!({})).await;
    assert_eq!(data(&res)["viewer"]["hasOrganizationScope"], true);
    // Scope is for bob's own organization only, and never opens internal notes.
    for (what, query, real, made_up) in [
        (
            "carol's ticket",
            TICKET_BY_ID,
            json!({ "id": w.c.id }),
            json!({ "id": fake }),
        ),
        (
            "alice's internal note",
            NODE,
            json!({ "id": w.a.internal_comment }),
            json!({ "id": gid("Comment", MADE_UP) }),
        ),
        (
            "carol",
            NODE,
            json!({ "id": w.carol.id }),
            json!({ "id": gid("User", MADE_UP) }),
        ),
    ] {
        assert_like_nonexistent(
            app,
            Some(bob),
            &format!("granted: {what}"),
            query,
            real,
            made_up,
        )
        .await;
    }

    app.revoke_scope(&w.admin, bob).await;
    bob_without_scope(&w, "after the revoke").await;

    // Alice's own grant was never touched.
    let res = app.gql(Some(&w.alice), TICKETS, json!({})).await;
    assert_conn("alice", &data(&res)["tickets"], &w.ids(&["a", "b"]));
}

#[tokio::test]
async fn scope_grants_expire_by_themselves() {
    let w = World::build().await;
    let (app, bob) = (&w.app, &w.bob);
    let grant = |expires: chrono::DateTime<chrono::Utc>| json!({ "i": { "userId": bob.id, "expiresAt": expires.to_rfc3339() } });

    // An expiry in the past is refused and writes nothing.
    let rows_before = rows(app).await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let res = app.gql(Some(&w.admin), GRANT_SCOPE, grant(past)).await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(rows(app).await, rows_before);
    let res = app
        .gql(Some(bob), TICKET_BY_ID, json!({ "id": w.a.id }))
        .await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");

    // A grant for the next few seconds works at once…
    let until = chrono::Utc::now() + chrono::Duration::seconds(3);
    let res = app.gql(Some(&w.admin), GRANT_SCOPE, grant(until)).await;
    assert_eq!(
        data(&res)["grantOrganizationScope"]["user"]["hasOrganizationScope"],
        true
    );
    let res = app
        .gql(Some(bob), TICKET_BY_ID, json!({ "id": w.a.id }))
        .await;
    assert_eq!(data(&res)["ticket"]["id"], w.a.id.as_str(), "{res}");

    // …and lapses by itself: poll until alice's ticket is gone again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = app
            .gql(Some(bob), TICKET_BY_ID, json!({ "id": w.a.id }))
            .await;
        if code(&res) == "NOT_FOUND" {
            break;
        }
        assert_eq!(data(&res)["ticket"]["id"], w.a.id.as_str(), "{res}");
        assert!(
            Instant::now() < deadline,
            "the grant never lapsed (expiresAt {until})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(chrono::Utc::now() > until, "the grant lapsed early");
    assert_like_nonexistent(
        app,
        Some(bob),
        "expired: alice's ticket",
        TICKET_BY_ID,
        json!({ "id": w.a.id }),
        json!({ "id": gid("Ticket", MADE_UP) }),
    )
    .await;
    let res = app.gql(Some(bob), TICKETS, json!({})).await;
    assert_conn("expired", &data(&res)["tickets"], &w.ids(&["b"]));
    let res = app.gql(Some(bob), VIEWER_TICKETS, json!({})).await;
    assert_eq!(data(&res)["viewer"]["hasOrganizationScope"], false);
    const FLAG: &str = "query($id: ID!) { node(id: $id) { ... on User { hasOrganizationScope } } }";
    let res = app.gql(Some(&w.admin), FLAG, json!({ "id": bob.id })).await;
    assert_eq!(data(&res)["node"]["hasOrganizationScope"], false);
}

#[tokio::test]
async fn writes_through_invisible_tickets_are_not_found_and_write_nothing() {
    let w = World::build().await;
    let app = &w.app;
    let fake = gid("Ticket", MADE_UP);
    let before = rows(app).await;
    let a_before = state(&w, &w.a.id).await;

    for (who, name) in [(&w.carol, "carol"), (&w.bob, "bob")] {
        let mutations = [
            (
                ADD_COMMENT,
                json!({ "ticketId": w.a.id, "body": "let me in", "public": true }),
            ),
            // Invisibility comes before permission: not FORBIDDEN, NOT_FOUND.
            (
                ADD_COMMENT,
                json!({ "ticketId": w.a.id, "body": "psst", "public": false }),
            ),
            (
                UPDATE_TICKET,
                json!({ "ticketId": w.a.id, "status": "SOLVED" }),
            ),
            (
                UPDATE_TICKET,
                json!({ "ticketId": w.a.id, "priority": "URGENT" }),
            ),
        ];
        for (query, input) in mutations {
            let mut made_up = input.clone();
            made_up["ticketId"] = json!(fake);
            assert_like_nonexistent(
                app,
                Some(who),
                &format!("{name}: {input}"),
                query,
                json!({ "i": input }),
                json!({ "i": made_up }),
            )
            .await;
        }
    }
    assert_eq!(rows(app).await, before, "a refused write wrote something");
    assert_eq!(state(&w, &w.a.id).await, a_before);
}

#[tokio::test]
async fn forbidden_writes_on_visible_things_change_nothing() {
    let w = World::build().await;
    let app = &w.app;
    let before = rows(app).await;
    let (a_before, b_before) = (state(&w, &w.a.id).await, state(&w, &w.b.id).await);
    let user = |u: &User| json!({ "i": { "userId": u.id } });

    let cases = [
        (
            "alice reprioritizes her own ticket",
            &w.alice,
            UPDATE_TICKET,
            json!({ "i": { "ticketId": w.a.id, "priority": "URGENT" } }),
            "FORBIDDEN",
        ),
        (
            "alice solves and reprioritizes her own ticket",
            &w.alice,
            UPDATE_TICKET,
            json!({ "i": { "ticketId": w.a.id, "status": "SOLVED", "priority": "LOW" } }),
            "FORBIDDEN",
        ),
        (
            "alice assigns her own ticket",
            &w.alice,
            UPDATE_TICKET,
            json!({ "i": { "ticketId": w.a.id, "assigneeId": w.agent.id } }),
            "FORBIDDEN",
        ),
        (
            "alice (scope) solves bob's ticket",
            &w.alice,
            UPDATE_TICKET,
            json!({ "i": { "ticketId": w.b.id, "status": "SOLVED" } }),
            "FORBIDDEN",
        ),
        (
            "alice posts an internal note on her own ticket",
            &w.alice,
            ADD_COMMENT,
            json!({ "i": { "ticketId": w.a.id, "body": "secret", "public": false } }),
            "FORBIDDEN",
        ),
        (
            "alice (scope) posts an internal note on bob's ticket",
            &w.alice,
            ADD_COMMENT,
            json!({ "i": { "ticketId": w.b.id, "body": "secret", "public": false } }),
            "FORBIDDEN",
        ),
        (
            "agent grants scope",
            &w.agent,
            GRANT_SCOPE,
            user(&w.bob),
            "FORBIDDEN",
        ),
        (
            "agent revokes scope",
            &w.agent,
            REVOKE_SCOPE,
            user(&w.alice),
            "FORBIDDEN",
        ),
        // A customer sees themself: the user is found, the role may not.
        (
            "bob grants himself scope",
            &w.bob,
            GRANT_SCOPE,
            user(&w.bob),
            "FORBIDDEN",
        ),
        // With scope alice sees bob, but still may not.
        (
            "alice grants bob scope",
            &w.alice,
            GRANT_SCOPE,
            user(&w.bob),
            "FORBIDDEN",
        ),
        (
            "alice revokes her own scope",
            &w.alice,
            REVOKE_SCOPE,
            user(&w.alice),
            "FORBIDDEN",
        ),
        // Users a customer cannot see do not exist for them.
        (
            "bob grants alice scope",
            &w.bob,
            GRANT_SCOPE,
            user(&w.alice),
            "NOT_FOUND",
        ),
        (
            "bob revokes alice's scope",
            &w.bob,
            REVOKE_SCOPE,
            user(&w.alice),
            "NOT_FOUND",
        ),
        (
            "carol grants bob scope",
            &w.carol,
            GRANT_SCOPE,
            user(&w.bob),
            "NOT_FOUND",
        ),
    ];
    for (what, who, query, vars, expected) in cases {
        let res = app.gql(Some(who), query, vars).await;
        assert_eq!(code(&res), expected, "{what}: {res}");
        assert!(is_null_data(&res), "{what}: {res}");
    }
    assert_eq!(rows(app).await, before, "a refused write wrote something");
    assert_eq!(state(&w, &w.a.id).await, a_before);
    assert_eq!(state(&w, &w.b.id).await, b_before);
    for (who, scoped) in [(&w.alice, true), (&w.bob, false)] {
        let res = app.gql(Some(who), VIEWER_TICKETS, json!({})).await;
        assert_eq!(data(&res)["viewer"]["hasOrganizationScope"], scoped);
    }
}

#[tokio::test]
async fn anonymous_is_told_to_sign_in_and_writes_nothing() {
    let w = World::build().await;
    let app = &w.app;

    for (query, field) in [
        (TICKETS, "tickets"),
        (USERS, "users"),
        (ORGANIZATIONS, "organizations"),
    ] {
        let res = app.gql(None, query, json!({})).await;
        assert_sign_in_required(query, &res, field);
    }
    let res = app.gql(None, VIEWER_TICKETS, json!({})).await;
    assert!(data(&res)["viewer"].is_null());

    let before = rows(app).await;
    let a_before = state(&w, &w.a.id).await;
    let cases = [
        (
            CREATE_TICKET,
            json!({ "i": { "subject": "anonymous", "description": "hello" } }),
        ),
        (
            ADD_COMMENT,
            json!({ "i": { "ticketId": w.a.id, "body": "hi", "public": true } }),
        ),
        (
            UPDATE_TICKET,
            json!({ "i": { "ticketId": w.a.id, "status": "SOLVED" } }),
        ),
        (GRANT_SCOPE, json!({ "i": { "userId": w.bob.id } })),
        (REVOKE_SCOPE, json!({ "i": { "userId": w.alice.id } })),
    ];
    for (query, vars) in cases {
        let res = app.gql(None, query, vars).await;
        assert_eq!(code(&res), "UNAUTHENTICATED", "{query}: {res}");
        assert!(is_null_data(&res), "{query}: {res}");
    }
    assert_eq!(
        rows(app).await,
        before,
        "an anonymous write wrote something"
    );
    assert_eq!(state(&w, &w.a.id).await, a_before);
}
