//! Ticket participants (a colleague copied on a ticket, DESIGN.md "Finding tickets"):
//! `addTicketParticipant` / `removeTicketParticipant` and `Ticket.participants`.
//!
//! The rules: the requester, agents and admins add and remove; a participant may remove
//! themself but not add others (`FORBIDDEN`); any other customer does not see the ticket
//! (`NOT_FOUND`, exactly like a ticket that does not exist), anonymous callers are told to
//! sign in; only customers of the ticket's organization can be added (`BAD_USER_INPUT`
//! otherwise); adding twice lists once. Each change is a public ticket event. A participant
//! sees the ticket as its requester does — public comments only — on every path (lists,
//! counts, by id and number, `node`, nested fields, search, subscriptions, mail), never the
//! requester's other tickets, and loses it on every path the moment they are removed.

mod common;

use std::collections::BTreeSet;

use common::{
    MADE_UP, NODE, TestApp, User, WsEvent, assert_like_nonexistent, assert_sign_in_required, code,
    data, eventually, gid, is_null_data, made_up,
    smtp::{Received, SmtpServer},
};
use serde_json::{Value, json};

const ADD: &str = "mutation($t: ID!, $u: ID!) {
  addTicketParticipant(input: { ticketId: $t, userId: $u }) { ticket { id participants { id } } } }";
const REMOVE: &str = "mutation($t: ID!, $u: ID!) {
  removeTicketParticipant(input: { ticketId: $t, userId: $u }) { ticket { id participants { id } } } }";
/// Removal selecting nothing of the ticket: after removing themself, a participant may no
/// longer be able to read it.
const LEAVE: &str = "mutation($t: ID!, $u: ID!) {
  removeTicketParticipant(input: { ticketId: $t, userId: $u }) { __typename } }";

const TICKETS: &str = "query($f: TicketFilter) { tickets(first: 100, filter: $f) {
  totalCount edges { node { id } } } }";
const SEARCH: &str = "query($s: String!) { tickets(first: 100, filter: { search: $s }) {
  totalCount edges { node { id } } } }";
const BY_ID: &str = "query($id: ID!) { ticket(id: $id) { id } }";
const BY_NUMBER: &str = "query($n: Int!) { ticket(number: $n) { id } }";
const PARTICIPANTS: &str = "query($id: ID!) { ticket(id: $id) { id participants { id } } }";
const NODE_PARTICIPANTS: &str =
    "query($id: ID!) { node(id: $id) { ... on Ticket { id participants { id } } } }";
const COMMENT: &str =
    "query($id: ID!) { node(id: $id) { ... on Comment { id body public ticket { id } } } }";
const VIEWER_TICKETS: &str =
    "{ viewer { tickets(first: 100) { totalCount edges { node { id } } } } }";
const ORG_TICKETS: &str = "{ viewer { organization {
  tickets(first: 100) { totalCount edges { node { id } } } } } }";
const HISTORY: &str = "query($id: ID!) { ticket(id: $id) {
  events(first: 100) { totalCount nodes { kind public actor { id } } } } }";
/// What a viewer sees of a ticket and everything under it (no user fields whose visibility
/// depends on who asks, such as authors' or the requester's).
const VIEW: &str = "query($id: ID!) { ticket(id: $id) {
  id number subject description status priority solvedBy createdAt updatedAt
  participants { id }
  comments(first: 100) { totalCount edges { cursor node { id body public createdAt } } }
  events(first: 100) { totalCount edges { cursor node { cursor kind public fromStatus toStatus
    comment { id body } } } } } }";
const EVENT: &str = "cursor kind public toStatus ticket { id } comment { body public }";

/// A ticket of the fixture and the comments on it.
#[derive(Clone, Debug)]
struct Tk {
    id: String,
    number: i64,
    public_comment: String,
    internal_comment: String,
}

/// acme: alice (the requester), bob and erin (the participants to be), dave (a colleague
/// without organization scope); globex: carol; an agent and an admin.
///
/// - `shared`: alice's "Checkout button ignores clicks" (words: checkout, clicks), a public
///   reply by the agent ("…reload the zeppelin page") and an internal note ("…kestrel…").
/// - `other`: alice's other ticket, "Quarterly invoices disappear", with a public reply
///   ("…marmalade…"); never shared.
/// - `bobs`: bob's own ticket; `carols`: carol's.
struct World {
    app: TestApp,
    alice: User,
    bob: User,
    erin: User,
    dave: User,
    carol: User,
    agent: User,
    admin: User,
    shared: Tk,
    other: Tk,
    bobs: String,
    carols: String,
}

impl World {
    async fn build() -> World {
        Self::on(TestApp::spawn().await).await
    }

    async fn on(app: TestApp) -> World {
        let alice = app.customer("acme").await;
        let bob = app.customer("acme").await;
        let erin = app.customer("acme").await;
        let dave = app.customer("acme").await;
        let carol = app.customer("globex").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let shared = ticket(
            &app,
            &alice,
            &agent,
            "Checkout button ignores clicks",
            "A workaround: reload the zeppelin page",
            "INTERNAL: kestrel cache bug",
        )
        .await;
        let other = ticket(
            &app,
            &alice,
            &agent,
            "Quarterly invoices disappear",
            "Restored from the marmalade backup",
            "INTERNAL: other ticket's note",
        )
        .await;
        let bobs = app.create_ticket(&bob, "Bob's laptop is slow").await;
        let carols = app.create_ticket(&carol, "Carol's printer").await;
        World {
            app,
            alice,
            bob,
            erin,
            dave,
            carol,
            agent,
            admin,
            shared,
            other,
            bobs,
            carols,
        }
    }

    /// The strangers to `shared`: a colleague without scope, another organization's
    /// customer, and an anonymous caller.
    fn strangers(&self) -> [(&'static str, Option<&User>); 3] {
        [
            ("dave (acme, no scope)", Some(&self.dave)),
            ("carol (globex)", Some(&self.carol)),
            ("anonymous", None),
        ]
    }
}

/// `requester` opens a ticket on which `agent` posts a public reply and an internal note.
async fn ticket(
    app: &TestApp,
    requester: &User,
    agent: &User,
    subject: &str,
    public: &str,
    internal: &str,
) -> Tk {
    let id = app.create_ticket(requester, subject).await;
    let public_comment = app.comment(agent, &id, public, true).await;
    let internal_comment = app.comment(agent, &id, internal, false).await;
    let res = app
        .gql(
            Some(requester),
            "query($id: ID!) { ticket(id: $id) { number } }",
            json!({ "id": id }),
        )
        .await;
    let number = data(&res)["ticket"]["number"].as_i64().expect("number");
    Tk {
        id,
        number,
        public_comment,
        internal_comment,
    }
}

/// The participant ids of a `{ ticket { participants { id } } }` (under `field`, or the
/// root `ticket`), asserting nobody is listed twice.
#[track_caller]
fn participant_ids(what: &str, ticket: &Value) -> BTreeSet<String> {
    let list = ticket["participants"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no participants in {ticket}"));
    let ids: Vec<String> = list
        .iter()
        .map(|u| u["id"].as_str().expect("user id").to_owned())
        .collect();
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(
        set.len(),
        ids.len(),
        "{what}: someone is listed twice: {ticket}"
    );
    set
}

fn users(list: &[&User]) -> BTreeSet<String> {
    list.iter().map(|u| u.id.clone()).collect()
}

fn ids(list: &[&String]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).clone()).collect()
}

/// `who` adds `user` to `ticket`, which must work; the participants after it.
async fn add(app: &TestApp, who: &User, ticket: &str, user: &User) -> BTreeSet<String> {
    let res = app
        .gql(Some(who), ADD, json!({ "t": ticket, "u": user.id }))
        .await;
    let t = &data(&res)["addTicketParticipant"]["ticket"];
    assert_eq!(t["id"], ticket, "{res}");
    participant_ids("add", t)
}

/// `who` removes `user` from `ticket`, which must work; the participants after it.
async fn remove(app: &TestApp, who: &User, ticket: &str, user: &User) -> BTreeSet<String> {
    let res = app
        .gql(Some(who), REMOVE, json!({ "t": ticket, "u": user.id }))
        .await;
    let t = &data(&res)["removeTicketParticipant"]["ticket"];
    assert_eq!(t["id"], ticket, "{res}");
    participant_ids("remove", t)
}

/// `who` removes themself from `ticket`, which must work.
async fn leave(app: &TestApp, who: &User, ticket: &str) {
    let res = app
        .gql(Some(who), LEAVE, json!({ "t": ticket, "u": who.id }))
        .await;
    assert!(
        data(&res)["removeTicketParticipant"].is_object(),
        "leave: {res}"
    );
}

/// The participants as `who` reads them through `ticket(id:)`.
async fn participants_seen_by(app: &TestApp, who: &User, ticket: &str) -> BTreeSet<String> {
    let res = app
        .gql(Some(who), PARTICIPANTS, json!({ "id": ticket }))
        .await;
    participant_ids("participants", &data(&res)["ticket"])
}

/// The ids and `totalCount` of a ticket connection, which must agree.
#[track_caller]
fn conn_ids(what: &str, conn: &Value) -> BTreeSet<String> {
    let edges = conn["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no edges in {conn}"));
    assert_eq!(
        conn["totalCount"].as_u64(),
        Some(edges.len() as u64),
        "{what}: totalCount agrees with the rows: {conn}"
    );
    edges
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The tickets `who` finds searching `s`.
async fn search(app: &TestApp, who: &User, s: &str) -> BTreeSet<String> {
    let res = app.gql(Some(who), SEARCH, json!({ "s": s })).await;
    conn_ids(&format!("search {s:?}"), &data(&res)["tickets"])
}

/// Asserts `who` (a participant of `t`, or its requester) sees `t` on every path, exactly as
/// the requester does, with its public comment and never its internal note; `list` is every
/// ticket `who` should have in `tickets`.
async fn assert_sees(w: &World, name: &str, who: &User, t: &Tk, list: &[&String]) {
    let app = &w.app;
    let what = |path: &str| format!("{name} → {path}");

    let res = app.gql(Some(who), TICKETS, json!({})).await;
    assert_eq!(
        conn_ids(&what("tickets"), &data(&res)["tickets"]),
        ids(list),
        "{}",
        what("tickets")
    );
    let res = app.gql(Some(who), BY_ID, json!({ "id": t.id })).await;
    assert_eq!(
        data(&res)["ticket"]["id"],
        t.id.as_str(),
        "{}",
        what("by id")
    );
    let res = app
        .gql(Some(who), BY_NUMBER, json!({ "n": t.number }))
        .await;
    assert_eq!(
        data(&res)["ticket"]["id"],
        t.id.as_str(),
        "{}",
        what("by number")
    );
    let res = app.gql(Some(who), NODE, json!({ "id": t.id })).await;
    assert_eq!(
        data(&res)["node"]["__typename"],
        "Ticket",
        "{}",
        what("node")
    );
    assert_eq!(data(&res)["node"]["id"], t.id.as_str(), "{}", what("node"));

    // Everything under it, exactly as the requester sees it.
    let mine = app.gql(Some(who), VIEW, json!({ "id": t.id })).await;
    let requesters = app.gql(Some(&w.alice), VIEW, json!({ "id": t.id })).await;
    assert_eq!(
        data(&mine),
        data(&requesters),
        "{}",
        what("as the requester sees it")
    );
    let comments = &data(&mine)["ticket"]["comments"];
    assert_eq!(comments["totalCount"], 1, "{}: {mine}", what("comments"));
    assert_eq!(
        comments["edges"][0]["node"]["id"],
        t.public_comment.as_str(),
        "{}: {mine}",
        what("comments")
    );
    let events = data(&mine)["ticket"]["events"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        events.iter().all(|e| e["node"]["public"] == true),
        "{}: only public events: {mine}",
        what("events")
    );
    assert!(
        !mine.to_string().to_lowercase().contains("kestrel")
            && !mine.to_string().contains("INTERNAL"),
        "{}: internal text leaked: {mine}",
        what("view")
    );

    // Its comments through node: the public one, and the internal note does not exist.
    let res = app
        .gql(Some(who), COMMENT, json!({ "id": t.public_comment }))
        .await;
    assert_eq!(
        data(&res)["node"]["ticket"]["id"],
        t.id.as_str(),
        "{}",
        what("public comment")
    );
    assert_like_nonexistent(
        app,
        Some(who),
        &what("internal note"),
        COMMENT,
        json!({ "id": t.internal_comment }),
        json!({ "id": made_up("Comment") }),
    )
    .await;
}

/// Asserts `who` (`None`: anonymous) reaches `t` on no path: by id, by number, `node`, its
/// participants, its comments — each answered exactly like a ticket that does not exist —
/// and it is in none of their lists or searches (`word` is in its public reply).
async fn assert_blind(app: &TestApp, name: &str, who: Option<&User>, t: &Tk, word: &str) {
    let what = |path: &str| format!("{name} → {path}");
    let fake = gid("Ticket", MADE_UP);
    for (path, query, real, made) in [
        ("by id", BY_ID, json!({ "id": t.id }), json!({ "id": fake })),
        (
            "by number",
            BY_NUMBER,
            json!({ "n": t.number }),
            json!({ "n": MADE_UP }),
        ),
        ("node", NODE, json!({ "id": t.id }), json!({ "id": fake })),
        (
            "participants",
            PARTICIPANTS,
            json!({ "id": t.id }),
            json!({ "id": fake }),
        ),
        (
            "node participants",
            NODE_PARTICIPANTS,
            json!({ "id": t.id }),
            json!({ "id": fake }),
        ),
        (
            "history",
            HISTORY,
            json!({ "id": t.id }),
            json!({ "id": fake }),
        ),
        (
            "public comment",
            COMMENT,
            json!({ "id": t.public_comment }),
            json!({ "id": made_up("Comment") }),
        ),
    ] {
        assert_like_nonexistent(app, who, &what(path), query, real, made).await;
    }
    match who {
        Some(u) => {
            let res = app.gql(Some(u), TICKETS, json!({})).await;
            let list = conn_ids(&what("tickets"), &data(&res)["tickets"]);
            assert!(!list.contains(&t.id), "{}: {res}", what("tickets"));
            let found = search(app, u, word).await;
            assert!(!found.contains(&t.id), "{}: {found:?}", what("search"));
        }
        None => {
            let res = app.gql(None, TICKETS, json!({})).await;
            assert_sign_in_required(&what("tickets"), &res, "tickets");
            let res = app.gql(None, SEARCH, json!({ "s": word })).await;
            assert_sign_in_required(&what("search"), &res, "tickets");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Who may add and remove whom.

#[tokio::test]
async fn the_requester_and_staff_add_and_remove_participants_and_nobody_else_does() {
    let w = World::build().await;
    let (app, t) = (&w.app, &w.shared.id);
    assert_eq!(participants_seen_by(app, &w.alice, t).await, users(&[]));

    // The requester adds a colleague; twice lists them once.
    assert_eq!(add(app, &w.alice, t, &w.bob).await, users(&[&w.bob]));
    assert_eq!(add(app, &w.alice, t, &w.bob).await, users(&[&w.bob]));
    // Staff add and remove too.
    assert_eq!(
        add(app, &w.agent, t, &w.erin).await,
        users(&[&w.bob, &w.erin])
    );
    assert_eq!(
        add(app, &w.agent, t, &w.erin).await,
        users(&[&w.bob, &w.erin])
    );
    assert_eq!(remove(app, &w.admin, t, &w.erin).await, users(&[&w.bob]));
    assert_eq!(
        add(app, &w.admin, t, &w.erin).await,
        users(&[&w.bob, &w.erin])
    );
    assert_eq!(remove(app, &w.agent, t, &w.erin).await, users(&[&w.bob]));
    assert_eq!(
        add(app, &w.alice, t, &w.erin).await,
        users(&[&w.bob, &w.erin])
    );
    assert_eq!(remove(app, &w.alice, t, &w.erin).await, users(&[&w.bob]));
    for who in [&w.alice, &w.bob, &w.agent, &w.admin] {
        assert_eq!(
            participants_seen_by(app, who, t).await,
            users(&[&w.bob]),
            "{}",
            who.sub
        );
    }

    assert_eq!(
        add(app, &w.alice, t, &w.erin).await,
        users(&[&w.bob, &w.erin])
    );
    // Nothing refused below writes anything.
    let before = app.rows(["ticket", "comment", "event"]).await;

    // A participant may not add others, nor remove another participant.
    let res = app
        .gql(Some(&w.bob), ADD, json!({ "t": t, "u": w.dave.id }))
        .await;
    assert_eq!(code(&res), "FORBIDDEN", "bob adds dave: {res}");
    assert!(is_null_data(&res), "{res}");
    let res = app
        .gql(Some(&w.bob), REMOVE, json!({ "t": t, "u": w.erin.id }))
        .await;
    assert_eq!(code(&res), "FORBIDDEN", "bob removes erin: {res}");
    assert!(is_null_data(&res), "{res}");

    // Strangers: the ticket does not exist for them (anonymous: sign in).
    let fake = made_up("Ticket");
    for (name, who) in w.strangers() {
        for (action, mutation, target) in [
            ("adds dave", ADD, &w.dave),
            ("adds carol", ADD, &w.carol),
            ("removes bob", REMOVE, &w.bob),
            ("removes erin", REMOVE, &w.erin),
        ] {
            assert_like_nonexistent(
                app,
                who,
                &format!("{name} {action}"),
                mutation,
                json!({ "t": t, "u": target.id }),
                json!({ "t": fake, "u": target.id }),
            )
            .await;
        }
    }
    // An unknown ticket is NOT_FOUND for everyone who may add.
    for who in [&w.alice, &w.agent, &w.admin] {
        let res = app
            .gql(Some(who), ADD, json!({ "t": fake, "u": w.dave.id }))
            .await;
        assert_eq!(code(&res), "NOT_FOUND", "{res}");
    }

    // Only customers of the ticket's organization can be added.
    let not_addable = [
        ("a customer of another organization", w.carol.id.clone()),
        ("an agent", w.agent.id.clone()),
        ("an admin", w.admin.id.clone()),
        ("an unknown user", made_up("User")),
        ("a ticket's id", w.other.id.clone()),
    ];
    for who in [&w.alice, &w.agent, &w.admin] {
        for (what, user) in &not_addable {
            let res = app.gql(Some(who), ADD, json!({ "t": t, "u": user })).await;
            assert_eq!(
                code(&res),
                "BAD_USER_INPUT",
                "{} adds {what}: {res}",
                who.sub
            );
            assert!(is_null_data(&res), "{res}");
        }
    }
    assert_eq!(
        app.rows(["ticket", "comment", "event"]).await,
        before,
        "a refusal wrote"
    );
    assert_eq!(
        participants_seen_by(app, &w.alice, t).await,
        users(&[&w.bob, &w.erin])
    );

    // A participant may remove themself.
    leave(app, &w.erin, t).await;
    assert_eq!(
        participants_seen_by(app, &w.alice, t).await,
        users(&[&w.bob])
    );
    // Participation is per ticket: bob is on none of alice's others.
    assert_eq!(
        participants_seen_by(app, &w.alice, &w.other.id).await,
        users(&[])
    );
}

#[tokio::test]
async fn each_change_is_a_public_event_in_the_tickets_history() {
    let w = World::build().await;
    let (app, t) = (&w.app, &w.shared.id);
    add(app, &w.alice, t, &w.bob).await;
    add(app, &w.agent, t, &w.erin).await;
    leave(app, &w.bob, t).await;
    remove(app, &w.admin, t, &w.erin).await;
    add(app, &w.alice, t, &w.bob).await;

    let participant_events = |res: &Value| -> Vec<Value> {
        data(res)["ticket"]["events"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"].as_str().unwrap_or("").starts_with("PARTICIPANT_"))
            .cloned()
            .collect()
    };
    let kinds = [
        "PARTICIPANT_ADDED",
        "PARTICIPANT_ADDED",
        "PARTICIPANT_REMOVED",
        "PARTICIPANT_REMOVED",
        "PARTICIPANT_ADDED",
    ];
    // Staff see who did each.
    let res = app.gql(Some(&w.admin), HISTORY, json!({ "id": t })).await;
    let events = participant_events(&res);
    let got: Vec<(&str, bool, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["public"].as_bool().unwrap(),
                e["actor"]["id"].as_str().unwrap_or("(none)"),
            )
        })
        .collect();
    let expected: Vec<(&str, bool, &str)> = kinds
        .iter()
        .zip([&w.alice, &w.agent, &w.bob, &w.admin, &w.alice])
        .map(|(k, u)| (*k, true, u.id.as_str()))
        .collect();
    assert_eq!(got, expected, "{res}");

    // The requester and the participant see the same public history.
    for who in [&w.alice, &w.bob] {
        let res = app.gql(Some(who), HISTORY, json!({ "id": t })).await;
        let events = participant_events(&res);
        let got: Vec<(&str, bool)> = events
            .iter()
            .map(|e| (e["kind"].as_str().unwrap(), e["public"].as_bool().unwrap()))
            .collect();
        let want: Vec<(&str, bool)> = kinds.iter().map(|k| (*k, true)).collect();
        assert_eq!(got, want, "{}: {res}", who.sub);
        let total = data(&res)["ticket"]["events"]["totalCount"].as_u64();
        let nodes = data(&res)["ticket"]["events"]["nodes"]
            .as_array()
            .unwrap()
            .len() as u64;
        assert_eq!(total, Some(nodes), "{res}");
    }
    // The other ticket's history has none of it.
    let res = app
        .gql(Some(&w.admin), HISTORY, json!({ "id": w.other.id }))
        .await;
    assert!(participant_events(&res).is_empty(), "{res}");

    // Those who left, and strangers, see no history at all.
    for (name, who) in [("erin (removed)", Some(&w.erin))]
        .into_iter()
        .chain(w.strangers())
    {
        assert_like_nonexistent(
            app,
            who,
            &format!("{name}: history"),
            HISTORY,
            json!({ "id": t }),
            json!({ "id": made_up("Ticket") }),
        )
        .await;
    }
}

// ---------------------------------------------------------------------------------------
// What a participant sees.

#[tokio::test]
async fn a_participant_sees_the_ticket_as_its_requester_does_until_removed() {
    let w = World::build().await;
    let app = &w.app;
    let (shared, other) = (&w.shared, &w.other);

    // Before: bob has his own ticket only.
    assert_blind(app, "bob before", Some(&w.bob), shared, "zeppelin").await;

    add(app, &w.alice, &shared.id, &w.bob).await;
    assert_sees(&w, "bob", &w.bob, shared, &[&w.bobs, &shared.id]).await;
    assert_sees(&w, "alice", &w.alice, shared, &[&shared.id, &other.id]).await;

    // Search finds it by its words, never by its internal note's.
    for (word, expected) in [
        ("zeppelin", ids(&[&shared.id])),
        ("checkout", ids(&[&shared.id])),
        ("checkout clicks", ids(&[&shared.id])),
        ("kestrel", ids(&[])),
        ("checkout kestrel", ids(&[])),
        // The requester's other ticket is not his.
        ("marmalade", ids(&[])),
        ("quarterly", ids(&[])),
    ] {
        assert_eq!(
            search(app, &w.bob, word).await,
            expected,
            "bob searches {word:?}"
        );
    }
    // Filters narrow within what he sees: alice's tickets are the shared one only.
    let res = app
        .gql(
            Some(&w.bob),
            TICKETS,
            json!({ "f": { "requesterId": w.alice.id } }),
        )
        .await;
    assert_eq!(
        conn_ids("bob: alice's", &data(&res)["tickets"]),
        ids(&[&shared.id])
    );
    let res = app
        .gql(Some(&w.bob), TICKETS, json!({ "f": { "status": ["NEW"] } }))
        .await;
    assert_eq!(
        conn_ids("bob: NEW", &data(&res)["tickets"]),
        ids(&[&w.bobs, &shared.id])
    );
    // His organization's tickets hold it too; the tickets he requested do not.
    let res = app.gql(Some(&w.bob), ORG_TICKETS, json!({})).await;
    assert_eq!(
        conn_ids(
            "bob: acme's",
            &data(&res)["viewer"]["organization"]["tickets"]
        ),
        ids(&[&w.bobs, &shared.id])
    );
    let res = app.gql(Some(&w.bob), VIEWER_TICKETS, json!({})).await;
    assert_eq!(
        conn_ids("bob: requested", &data(&res)["viewer"]["tickets"]),
        ids(&[&w.bobs])
    );

    // Never the requester's other ticket.
    assert_blind(app, "bob: alice's other", Some(&w.bob), other, "marmalade").await;

    // Everyone else: as before.
    for (name, who) in w.strangers() {
        assert_blind(app, name, who, shared, "zeppelin").await;
    }
    assert_blind(app, "erin (never added)", Some(&w.erin), shared, "zeppelin").await;
    let res = app.gql(Some(&w.carol), TICKETS, json!({})).await;
    assert_eq!(conn_ids("carol", &data(&res)["tickets"]), ids(&[&w.carols]));
    let res = app.gql(Some(&w.dave), TICKETS, json!({})).await;
    assert_eq!(conn_ids("dave", &data(&res)["tickets"]), ids(&[]));

    // Removed: gone on every path at once.
    remove(app, &w.alice, &shared.id, &w.bob).await;
    assert_blind(app, "bob after removal", Some(&w.bob), shared, "zeppelin").await;
    let res = app.gql(Some(&w.bob), TICKETS, json!({})).await;
    assert_eq!(
        conn_ids("bob after", &data(&res)["tickets"]),
        ids(&[&w.bobs])
    );
    let res = app
        .gql(
            Some(&w.bob),
            TICKETS,
            json!({ "f": { "requesterId": w.alice.id } }),
        )
        .await;
    assert_eq!(
        conn_ids("bob after: alice's", &data(&res)["tickets"]),
        ids(&[])
    );
    let res = app.gql(Some(&w.bob), ORG_TICKETS, json!({})).await;
    assert_eq!(
        conn_ids(
            "bob after: acme's",
            &data(&res)["viewer"]["organization"]["tickets"]
        ),
        ids(&[&w.bobs])
    );
    assert_eq!(search(app, &w.bob, "checkout").await, ids(&[]));
    // …and the requester still has it.
    assert_sees(
        &w,
        "alice after",
        &w.alice,
        shared,
        &[&shared.id, &other.id],
    )
    .await;
}

#[tokio::test]
async fn a_participant_who_leaves_loses_the_ticket_at_once() {
    let w = World::build().await;
    let (app, shared) = (&w.app, &w.shared);
    add(app, &w.agent, &shared.id, &w.bob).await;
    assert_sees(&w, "bob", &w.bob, shared, &[&w.bobs, &shared.id]).await;

    leave(app, &w.bob, &shared.id).await;
    assert_blind(app, "bob after leaving", Some(&w.bob), shared, "zeppelin").await;
    assert_eq!(
        participants_seen_by(app, &w.alice, &shared.id).await,
        users(&[])
    );
    // The ticket no longer exists for him: leaving again, or coming back, is NOT_FOUND.
    for (action, mutation) in [("leaves again", REMOVE), ("adds himself back", ADD)] {
        assert_like_nonexistent(
            app,
            Some(&w.bob),
            &format!("bob after leaving {action}"),
            mutation,
            json!({ "t": shared.id, "u": w.bob.id }),
            json!({ "t": made_up("Ticket"), "u": w.bob.id }),
        )
        .await;
    }
    for (name, who) in w.strangers() {
        assert_blind(app, name, who, shared, "zeppelin").await;
    }
}

// ---------------------------------------------------------------------------------------
// Live delivery.

/// The next `next` payload's data on any subscription, skipping the `complete` that follows
/// a refused subscription.
async fn next_data(ws: &mut common::Ws) -> (String, Value) {
    loop {
        match ws.next_event().await {
            WsEvent::Next(id, payload) => {
                assert!(
                    payload["errors"].is_null(),
                    "subscription {id} error: {payload}"
                );
                return (id, payload["data"].clone());
            }
            WsEvent::Complete(_) => continue,
            other => panic!("expected a next message, got {other:?}"),
        }
    }
}

/// The `ticketUpdates` events on subscription `u` up to and including the first that
/// satisfies `pred`.
async fn updates_until(ws: &mut common::Ws, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let (id, d) = next_data(ws).await;
        assert_eq!(id, "u", "{d}");
        let e = d["ticketUpdates"].clone();
        got.push(e.clone());
        if pred(&e) {
            return got;
        }
    }
}

/// The error a subscription `id` was refused with.
async fn refusal(ws: &mut common::Ws, id: &str) -> Value {
    loop {
        match ws.next_event().await {
            WsEvent::Next(got, p) if got == id => return p["errors"][0].clone(),
            WsEvent::Error(got, p) if got == id => return p[0].clone(),
            // The end of an earlier (refused or ended) subscription.
            WsEvent::Complete(_) => continue,
            WsEvent::Error(got, _) if got != id => continue,
            other => panic!("expected the refusal of {id}, got {other:?}"),
        }
    }
}

fn comment_is(body: &str) -> impl Fn(&Value) -> bool + '_ {
    move |e| e["comment"]["body"] == body
}

#[tokio::test]
async fn live_updates_reach_a_participant_until_removed() {
    let w = World::build().await;
    let (app, t) = (&w.app, &w.shared.id);
    let updates = format!("subscription {{ ticketUpdates {{ {EVENT} }} }}");
    const ONE: &str =
        "subscription($t: ID) { ticketStatusChanged(ticketId: $t) { ticket { id } toStatus } }";

    let mut a = app.ws(Some(&w.alice)).await;
    let mut b = app.ws(Some(&w.bob)).await;
    let mut c = app.ws(Some(&w.carol)).await;
    let mut d = app.ws(Some(&w.dave)).await;
    let mut anon = app.ws(None).await;
    for ws in [&mut a, &mut b, &mut c, &mut d] {
        ws.subscribe("u", &updates, json!({})).await;
    }
    // Not yet a participant: the ticket does not exist for bob; anonymous: sign in.
    b.subscribe("early", ONE, json!({ "t": t })).await;
    let err = refusal(&mut b, "early").await;
    assert_eq!(err["extensions"]["code"], "NOT_FOUND", "{err}");
    anon.subscribe("one", ONE, json!({ "t": t })).await;
    let err = refusal(&mut anon, "one").await;
    assert_eq!(err["extensions"]["code"], "UNAUTHENTICATED", "{err}");
    anon.subscribe("u", &updates, json!({})).await;
    let err = refusal(&mut anon, "u").await;
    assert_eq!(err["extensions"]["code"], "UNAUTHENTICATED", "{err}");
    app.wait_subscribers(4).await;

    add(app, &w.alice, t, &w.bob).await;
    app.comment(&w.agent, t, "INTERNAL: kestrel live note", false)
        .await;
    app.comment(&w.agent, t, "first public reply", true).await;

    // The requester hears the addition, then the public reply (not the note).
    let got = updates_until(&mut a, comment_is("first public reply")).await;
    let kinds: Vec<&str> = got.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["PARTICIPANT_ADDED", "COMMENT_ADDED"], "{got:?}");
    assert!(
        got.iter()
            .all(|e| e["ticket"]["id"] == t.as_str() && e["public"] == true)
    );
    // So does bob, the moment he is on it.
    let got = updates_until(&mut b, comment_is("first public reply")).await;
    let kinds: Vec<&str> = got.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["PARTICIPANT_ADDED", "COMMENT_ADDED"], "{got:?}");
    assert!(
        got.iter()
            .all(|e| e["ticket"]["id"] == t.as_str() && e["public"] == true)
    );
    assert!(
        !format!("{got:?}").contains("kestrel"),
        "an internal note reached bob"
    );

    // He may follow the one ticket now.
    b.subscribe("one", ONE, json!({ "t": t })).await;
    app.wait_subscribers(5).await;
    app.set_status(&w.agent, t, "PENDING").await;
    let mut heard = Vec::new();
    for _ in 0..2 {
        let (id, d) = next_data(&mut b).await;
        let e = if id == "one" {
            &d["ticketStatusChanged"]
        } else {
            &d["ticketUpdates"]
        };
        heard.push((id, e["ticket"]["id"].clone(), e["toStatus"].clone()));
    }
    heard.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        heard,
        vec![
            ("one".to_owned(), json!(t), json!("PENDING")),
            ("u".to_owned(), json!(t), json!("PENDING")),
        ]
    );
    updates_until(&mut a, |e| e["toStatus"] == "PENDING").await;

    // Removed: nothing more about the ticket reaches him, on either subscription.
    remove(app, &w.alice, t, &w.bob).await;
    app.comment(&w.agent, t, "after removal", true).await;
    app.set_status(&w.agent, t, "OPEN").await;
    app.comment(&w.agent, &w.bobs, "sentinel for bob", true)
        .await;
    let mut removals = 0;
    loop {
        match b.next_event().await {
            WsEvent::Next(id, p) if id == "u" => {
                let e = &p["data"]["ticketUpdates"];
                if e["kind"] == "PARTICIPANT_REMOVED" && e["ticket"]["id"] == t.as_str() {
                    // The removal itself may or may not reach him; nothing after it may.
                    removals += 1;
                    assert_eq!(removals, 1, "{p}");
                    continue;
                }
                assert_eq!(
                    e["comment"]["body"], "sentinel for bob",
                    "after removal: {p}"
                );
                assert_eq!(e["ticket"]["id"], w.bobs.as_str(), "{p}");
                break;
            }
            // The one-ticket subscription may end; it may not deliver.
            WsEvent::Complete(id) | WsEvent::Error(id, _) if id == "one" => continue,
            WsEvent::Complete(id) if id == "early" => continue,
            other => panic!("bob after removal: {other:?}"),
        }
    }
    // The requester heard all of it (it happened).
    let got = updates_until(&mut a, comment_is("after removal")).await;
    assert_eq!(got[0]["kind"], "PARTICIPANT_REMOVED", "{got:?}");
    // And he cannot follow it again.
    b.subscribe("late", ONE, json!({ "t": t })).await;
    let err = refusal(&mut b, "late").await;
    assert_eq!(err["extensions"]["code"], "NOT_FOUND", "{err}");

    // Strangers heard nothing of the ticket, before or after: their first event is their
    // own sentinel.
    app.comment(&w.agent, &w.carols, "sentinel for carol", true)
        .await;
    let got = updates_until(&mut c, comment_is("sentinel for carol")).await;
    assert_eq!(got.len(), 1, "carol heard about another ticket: {got:?}");
    assert_eq!(got[0]["ticket"]["id"], w.carols.as_str());
    let daves = app.create_ticket(&w.dave, "Dave's own").await;
    let got = updates_until(&mut d, |e| e["ticket"]["id"] == daves.as_str()).await;
    assert_eq!(got.len(), 1, "dave heard about another ticket: {got:?}");
}

// ---------------------------------------------------------------------------------------
// Mail.

/// A server that mails through a real SMTP server (as tests/notifications.rs sets it up).
async fn mailing() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = TestApp::spawn_with(|c| {
        c.notify.smtp_url = Some(tier3::config::Secret(url));
        c.notify.public_url = "https://desk.example.test".into();
        c.notify.delivery_backoff_scale = 0.05;
    })
    .await;
    (app, smtp)
}

/// Waits until the mail planner has decided every event in the log and nothing is pending.
async fn settle(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    let latest = app.latest_position().await;
    let latest = (latest.tx, latest.id);
    let cursor = || async {
        let row = app
            .app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.app.db.get_database_backend(),
                "SELECT tx, event_id FROM delivery_cursor WHERE name = 'notifications'",
            ))
            .await
            .expect("read the cursor")
            .expect("the cursor row");
        let at: (i64, i64) = (
            row.try_get("", "tx").unwrap(),
            row.try_get("", "event_id").unwrap(),
        );
        at
    };
    let settled = eventually(20, || async {
        cursor().await >= latest && app.count_rows("delivery WHERE status = 'PENDING'").await == 0
    })
    .await;
    assert!(settled, "deliveries did not settle");
}

fn to(smtp: &SmtpServer, user: &User) -> Vec<Received> {
    smtp.messages_to(&format!("{}@example.com", user.sub))
}

fn show(mails: &[Received]) -> String {
    mails
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_participant_is_mailed_public_replies_by_others_until_removed() {
    let (app, smtp) = mailing().await;
    let w = World::on(app).await;
    let (app, t) = (&w.app, &w.shared.id);
    settle(app).await;
    smtp.clear();

    add(app, &w.alice, t, &w.bob).await;
    app.comment(&w.agent, t, "INTERNAL: mail-kestrel", false)
        .await;
    settle(app).await;
    assert!(
        smtp.messages().is_empty(),
        "adding a participant and an internal note mail nobody:\n{}",
        show(&smtp.messages())
    );

    app.comment(&w.agent, t, "We found the zeppelin fix", true)
        .await;
    settle(app).await;
    for (name, who) in [("alice", &w.alice), ("bob", &w.bob)] {
        let mails = to(&smtp, who);
        assert_eq!(
            mails.len(),
            1,
            "{name}: one mail:\n{}",
            show(&smtp.messages())
        );
        let text = mails[0].parsed().part("text/plain");
        assert!(
            text.contains("We found the zeppelin fix"),
            "{name}:\n{}",
            mails[0]
        );
    }
    for (name, who) in [
        ("agent", &w.agent),
        ("dave", &w.dave),
        ("carol", &w.carol),
        ("erin", &w.erin),
    ] {
        assert!(
            to(&smtp, who).is_empty(),
            "{name} was mailed:\n{}",
            show(&to(&smtp, who))
        );
    }
    for m in smtp.messages() {
        assert!(!m.data.contains("kestrel"), "internal text in mail:\n{m}");
        assert_eq!(m.rcpt.len(), 1, "one recipient per message:\n{m}");
    }

    // Removed: the next reply mails the requester only.
    remove(app, &w.alice, t, &w.bob).await;
    app.comment(&w.agent, t, "Second reply after removal", true)
        .await;
    settle(app).await;
    assert_eq!(to(&smtp, &w.alice).len(), 2, "{}", show(&smtp.messages()));
    assert_eq!(
        to(&smtp, &w.bob).len(),
        1,
        "bob was mailed after removal:\n{}",
        show(&to(&smtp, &w.bob))
    );
    assert_eq!(smtp.messages().len(), 3, "{}", show(&smtp.messages()));

    // And the ticket is out of reach of strangers throughout.
    for (name, who) in w.strangers() {
        assert_blind(app, name, who, &w.shared, "zeppelin").await;
    }
    assert_blind(
        app,
        "bob after removal",
        Some(&w.bob),
        &w.shared,
        "zeppelin",
    )
    .await;
}
