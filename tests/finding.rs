//! Finding tickets, end to end over HTTP (DESIGN.md "Finding tickets"):
//!
//! - `tickets(filter: { search })`: full text over subject, description and the comments the
//!   viewer may see (a customer never matches on internal text); web-search syntax (all
//!   words, `"phrases"`, `-excluded`), case-insensitive, English stemming, `% _ * '` plain
//!   text; blank or longer than 500 characters is `BAD_USER_INPUT`; hostile input never an
//!   internal error.
//! - `tickets(orderBy: { field, direction })`: `CREATED_AT | UPDATED_AT | PRIORITY | NUMBER`,
//!   `ASC | DESC`, default `CREATED_AT DESC`, ties broken by id in the same direction.
//! - Relay's `last`/`before` on every connection: walking backward from the end yields the
//!   forward list exactly, for every order (ties included), on root and nested lists; a
//!   cursor belongs to the order it was issued for.
//! - A searched page costs a fixed number of statements, whatever its size.

mod common;

use std::{collections::BTreeMap, sync::atomic::Ordering};

use common::{
    TestApp, User, assert_sign_in_required, code, data, is_null_data, steps::CREATE_TICKET,
};
use serde_json::{Value, json};

/// The ticket list with every argument this slice adds.
const LIST: &str = "query($f: TicketFilter, $o: TicketOrder, $first: Int, $after: String,
  $last: Int, $before: String) {
  tickets(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

/// A ticket's comments, as a connection to page through.
const COMMENTS: &str = "query($id: ID!, $order: ListOrder!, $first: Int, $after: String,
  $last: Int, $before: String) { ticket(id: $id) {
  comments(order: $order, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";

/// A ticket's history (events have no id: their `cursor` field identifies them).
const EVENTS: &str = "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  ticket(id: $id) { events(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { cursor kind } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";

const NOTIFICATIONS: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  notifications(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

const RELEASE_NOTES: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
  releaseNotes(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

const FIELDS: [&str; 4] = ["CREATED_AT", "UPDATED_AT", "PRIORITY", "NUMBER"];
const DIRECTIONS: [&str; 2] = ["ASC", "DESC"];

/// `{ field, direction }` of a `TicketOrder`.
fn order(field: &str, direction: &str) -> Value {
    json!({ "field": field, "direction": direction })
}

/// `who` (a customer) opens a ticket with this subject, description and priority; its id.
async fn open(
    app: &TestApp,
    who: &User,
    subject: &str,
    description: &str,
    priority: &str,
) -> String {
    let res = app
        .gql(
            Some(who),
            CREATE_TICKET,
            json!({ "i": { "subject": subject, "description": description, "priority": priority } }),
        )
        .await;
    data(&res)["createTicket"]["ticket"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createTicket: {res}"))
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// Connections as pages, walked forward and backward.

/// One page of a connection: the keys of its nodes (their `id`, or another node field), the
/// edges' cursors, `totalCount` and the page info.
#[derive(Debug, Clone)]
struct Page {
    keys: Vec<String>,
    cursors: Vec<String>,
    total: Option<u64>,
    has_next: bool,
    has_previous: bool,
}

/// Reads a connection selected as `totalCount edges { cursor node { <key> } } pageInfo {…}`,
/// asserting that `startCursor`/`endCursor` are the first and last edges' cursors.
#[track_caller]
fn page_of(what: &str, conn: &Value, key: &str) -> Page {
    let edges = conn["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no edges in {conn}"));
    let keys: Vec<String> = edges
        .iter()
        .map(|e| {
            e["node"][key]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no node {key} in {conn}"))
                .to_owned()
        })
        .collect();
    let cursors: Vec<String> = edges
        .iter()
        .map(|e| {
            e["cursor"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no cursor in {conn}"))
                .to_owned()
        })
        .collect();
    let info = &conn["pageInfo"];
    assert_eq!(
        info["startCursor"].as_str(),
        cursors.first().map(String::as_str),
        "{what}: startCursor is the first edge's cursor: {conn}"
    );
    assert_eq!(
        info["endCursor"].as_str(),
        cursors.last().map(String::as_str),
        "{what}: endCursor is the last edge's cursor: {conn}"
    );
    Page {
        keys,
        cursors,
        total: conn["totalCount"].as_u64(),
        has_next: info["hasNextPage"]
            .as_bool()
            .unwrap_or_else(|| panic!("{what}: hasNextPage in {conn}")),
        has_previous: info["hasPreviousPage"]
            .as_bool()
            .unwrap_or_else(|| panic!("{what}: hasPreviousPage in {conn}")),
    }
}

/// A connection to page through: a query declaring `$first: Int, $after: String, $last: Int,
/// $before: String` (and whatever `vars` fills in), the path to the connection in its data,
/// and the node field that identifies an item.
struct List<'a> {
    app: &'a TestApp,
    who: Option<&'a User>,
    what: String,
    query: &'a str,
    vars: Value,
    path: &'a [&'a str],
    key: &'a str,
}

impl<'a> List<'a> {
    /// `tickets(filter, orderBy)` as `who`.
    fn tickets(
        app: &'a TestApp,
        who: Option<&'a User>,
        what: impl Into<String>,
        filter: Option<Value>,
        order_by: Option<Value>,
    ) -> List<'a> {
        let mut vars = json!({});
        if let Some(f) = filter {
            vars["f"] = f;
        }
        if let Some(o) = order_by {
            vars["o"] = o;
        }
        List {
            app,
            who,
            what: what.into(),
            query: LIST,
            vars,
            path: &["tickets"],
            key: "id",
        }
    }

    /// The response to the query with these page arguments added to its variables.
    async fn raw(&self, args: Value) -> Value {
        let mut vars = self.vars.clone();
        let extra = args.as_object().expect("page arguments object").clone();
        vars.as_object_mut().unwrap().extend(extra);
        self.app.gql(self.who, self.query, vars).await
    }

    /// The page these arguments ask for, which must come without errors.
    async fn page(&self, args: Value) -> Page {
        let res = self.raw(args.clone()).await;
        assert!(
            res["errors"].is_null(),
            "{} with {args}: unexpected errors: {res}",
            self.what
        );
        let mut conn = &res["data"];
        for field in self.path {
            conn = &conn[*field];
        }
        page_of(&format!("{} with {args}", self.what), conn, self.key)
    }

    /// The whole list in one page (`first: 100`): it must fit, and count what it holds.
    async fn all(&self) -> Page {
        let p = self.page(json!({ "first": 100 })).await;
        assert!(!p.has_next, "{}: more than one page: {p:?}", self.what);
        assert!(
            !p.has_previous,
            "{}: nothing precedes the first page",
            self.what
        );
        assert_eq!(
            p.total,
            Some(p.keys.len() as u64),
            "{}: totalCount of the whole list",
            self.what
        );
        p
    }
}

/// Walks `list` forward `k` at a time (`first`/`after: endCursor`), asserting each page is
/// the next slice of `full`, with `hasNextPage` exact and `totalCount` the whole list's.
async fn walk_forward(list: &List<'_>, k: usize, full: &[String]) {
    let mut after: Option<String> = None;
    let mut pos = 0;
    loop {
        let mut args = json!({ "first": k });
        if let Some(a) = &after {
            args["after"] = json!(a);
        }
        let p = list.page(args).await;
        let end = (pos + k).min(full.len());
        assert_eq!(
            p.keys,
            full[pos..end],
            "{}: forward page {pos}..{end} (first: {k})",
            list.what
        );
        assert_eq!(
            p.has_next,
            end < full.len(),
            "{}: hasNextPage of forward page {pos}..{end} (first: {k})",
            list.what
        );
        if pos == 0 {
            assert!(
                !p.has_previous,
                "{}: the first page has no predecessor",
                list.what
            );
        }
        if let Some(total) = p.total {
            assert_eq!(
                total,
                full.len() as u64,
                "{}: totalCount on page {pos}",
                list.what
            );
        }
        pos = end;
        if !p.has_next {
            break;
        }
        after = p.cursors.last().cloned();
    }
    assert_eq!(
        pos,
        full.len(),
        "{}: the forward walk stopped early",
        list.what
    );
}

/// Walks `list` backward from its end `k` at a time (`last`, then `before: startCursor`),
/// asserting each page is the slice of `full` just before the previous one (in forward
/// order), `hasPreviousPage` exact, and that the pages put together are `full`: same order,
/// nothing skipped, nothing repeated.
async fn walk_backward(list: &List<'_>, k: usize, full: &[String]) {
    let mut before: Option<String> = None;
    let mut end = full.len();
    let mut walked: Vec<String> = Vec::new();
    loop {
        let mut args = json!({ "last": k });
        if let Some(b) = &before {
            args["before"] = json!(b);
        }
        let p = list.page(args).await;
        let start = end.saturating_sub(k);
        assert_eq!(
            p.keys,
            full[start..end],
            "{}: backward page {start}..{end} (last: {k})",
            list.what
        );
        assert_eq!(
            p.has_previous,
            start > 0,
            "{}: hasPreviousPage of backward page {start}..{end} (last: {k})",
            list.what
        );
        if before.is_none() {
            assert!(!p.has_next, "{}: nothing follows the last page", list.what);
        }
        if let Some(total) = p.total {
            assert_eq!(
                total,
                full.len() as u64,
                "{}: totalCount on page {start}",
                list.what
            );
        }
        let mut joined = p.keys.clone();
        joined.extend(walked);
        walked = joined;
        end = start;
        if !p.has_previous {
            break;
        }
        before = p.cursors.first().cloned();
    }
    assert_eq!(
        walked, full,
        "{}: the backward walk is the forward list",
        list.what
    );
}

/// Splits the list at every item's cursor: what comes `after` it and what comes `before`
/// it, with the item between them, is the whole list (every tie included).
async fn split_at_every_cursor(list: &List<'_>, full: &Page) {
    let whole = list.page(json!({ "last": 100 })).await;
    assert_eq!(
        whole.keys, full.keys,
        "{}: last: 100 is the whole list",
        list.what
    );
    assert!(
        !whole.has_previous && !whole.has_next,
        "{}: {whole:?}",
        list.what
    );
    for (i, cursor) in full.cursors.iter().enumerate() {
        let after = list.page(json!({ "first": 100, "after": cursor })).await;
        assert_eq!(
            after.keys,
            full.keys[i + 1..],
            "{}: after item {i}",
            list.what
        );
        assert!(!after.has_next, "{}: after item {i}: {after:?}", list.what);
        let before = list.page(json!({ "last": 100, "before": cursor })).await;
        assert_eq!(
            before.keys,
            full.keys[..i],
            "{}: before item {i}",
            list.what
        );
        assert!(
            !before.has_previous,
            "{}: before item {i}: all of it fits: {before:?}",
            list.what
        );
    }
}

/// Every way through a list: forward and backward `k` at a time, and split at each cursor.
async fn assert_walks(list: &List<'_>, full: &Page, ks: &[usize]) {
    for &k in ks {
        walk_forward(list, k, &full.keys).await;
        walk_backward(list, k, &full.keys).await;
    }
    split_at_every_cursor(list, full).await;
}

// ---------------------------------------------------------------------------------------
// Search.

/// The ids `who` finds for `search` (one page of up to 100, in the default order), asserting
/// that `totalCount` agrees with the rows returned.
async fn search(app: &TestApp, who: &User, search: &str) -> Vec<String> {
    searched(app, who, search, json!({}), None).await
}

/// [`search`] combined with more of the filter and an order.
async fn searched(
    app: &TestApp,
    who: &User,
    search: &str,
    more: Value,
    order_by: Option<Value>,
) -> Vec<String> {
    let mut filter = json!({ "search": search });
    filter
        .as_object_mut()
        .unwrap()
        .extend(more.as_object().expect("filter object").clone());
    let list = List::tickets(
        app,
        Some(who),
        format!("search {search:?}"),
        Some(filter),
        order_by,
    );
    list.all().await.keys
}

/// Asserts `who` finds exactly `expected`, in this order (newest first unless ordered).
#[track_caller]
fn found(what: &str, got: Vec<String>, expected: &[&String]) {
    let expected: Vec<String> = expected.iter().map(|s| (*s).clone()).collect();
    assert_eq!(got, expected, "{what}");
}

/// Asserts an anonymous caller is told to sign in for each of these searches, whatever
/// else the list asks for.
async fn anonymous_must_sign_in(
    app: &TestApp,
    searches: &[&str],
    more: Value,
    order_by: Option<Value>,
) {
    for s in searches {
        let mut filter = json!({ "search": s });
        filter
            .as_object_mut()
            .unwrap()
            .extend(more.as_object().expect("filter object").clone());
        let mut vars = json!({ "f": filter, "first": 100 });
        if let Some(o) = &order_by {
            vars["o"] = o.clone();
        }
        let res = app.gql(None, LIST, vars).await;
        assert_sign_in_required(&format!("anonymous search {s:?}"), &res, "tickets");
    }
}

/// The search corpus. acme: alice, bob, dave (with organization scope); globex: carol.
///
/// | ticket | requester | subject / description | comments |
/// | --- | --- | --- | --- |
/// | jams | alice | Printer jams on page two / The office printer stops every morning (HIGH) | agent public "Try the rear tray first"; agent internal "Toner vendor is Kestrel" |
/// | invoices | alice | Invoices missing from the export / The March invoices never arrive | alice public "Still waiting on accounting"; agent internal "Finance says quasar outage" |
/// | crashes | bob | Printer driver crashes / After the latest update it crashed twice (URGENT) | |
/// | offline | carol | Printer offline since Monday / Also our invoices look odd (LOW) | carol public "rear door open" |
/// | quota | alice | Disk quota exceeded / Uploads fail for the design team | |
/// | shared_disk | alice | Quota for the shared disk / Please raise it | |
/// | obrien | alice | O'Brien cannot log in / 50% of logins fail with error_code 7 | |
struct Corpus {
    app: TestApp,
    alice: User,
    bob: User,
    dave: User,
    carol: User,
    agent: User,
    jams: String,
    invoices: String,
    crashes: String,
    offline: String,
    quota: String,
    shared_disk: String,
    obrien: String,
}

impl Corpus {
    async fn build() -> Corpus {
        let app = TestApp::spawn().await;
        let alice = app.customer("acme").await;
        let bob = app.customer("acme").await;
        let dave = app.customer("acme").await;
        let carol = app.customer("globex").await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        app.grant_scope(&admin, &dave).await;

        let jams = open(
            &app,
            &alice,
            "Printer jams on page two",
            "The office printer stops every morning",
            "HIGH",
        )
        .await;
        app.comment(&agent, &jams, "Try the rear tray first", true)
            .await;
        app.comment(&agent, &jams, "Toner vendor is Kestrel", false)
            .await;
        let invoices = open(
            &app,
            &alice,
            "Invoices missing from the export",
            "The March invoices never arrive",
            "NORMAL",
        )
        .await;
        app.comment(&alice, &invoices, "Still waiting on accounting", true)
            .await;
        app.comment(&agent, &invoices, "Finance says quasar outage", false)
            .await;
        let crashes = open(
            &app,
            &bob,
            "Printer driver crashes",
            "After the latest update it crashed twice",
            "URGENT",
        )
        .await;
        let offline = open(
            &app,
            &carol,
            "Printer offline since Monday",
            "Also our invoices look odd",
            "LOW",
        )
        .await;
        app.comment(&carol, &offline, "rear door open", true).await;
        let quota = open(
            &app,
            &alice,
            "Disk quota exceeded",
            "Uploads fail for the design team",
            "NORMAL",
        )
        .await;
        let shared_disk = open(
            &app,
            &alice,
            "Quota for the shared disk",
            "Please raise it",
            "NORMAL",
        )
        .await;
        let obrien = open(
            &app,
            &alice,
            "O'Brien cannot log in",
            "50% of logins fail with error_code 7",
            "NORMAL",
        )
        .await;
        Corpus {
            app,
            alice,
            bob,
            dave,
            carol,
            agent,
            jams,
            invoices,
            crashes,
            offline,
            quota,
            shared_disk,
            obrien,
        }
    }
}

#[tokio::test]
async fn search_finds_words_in_subject_description_and_the_comments_the_viewer_may_see() {
    let c = Corpus::build().await;
    let app = &c.app;
    let cases: Vec<(&str, &User, &str, Vec<&String>)> = vec![
        // Subject, description, a public comment by the agent, the customer's own comment.
        ("alice: subject", &c.alice, "jams", vec![&c.jams]),
        ("alice: description", &c.alice, "morning", vec![&c.jams]),
        ("alice: public comment", &c.alice, "tray", vec![&c.jams]),
        (
            "alice: her own comment",
            &c.alice,
            "accounting",
            vec![&c.invoices],
        ),
        // Internal notes: staff only.
        ("alice: internal note", &c.alice, "kestrel", vec![]),
        ("alice: internal note", &c.alice, "quasar", vec![]),
        ("dave (scope): internal note", &c.dave, "kestrel", vec![]),
        ("dave (scope): internal note", &c.dave, "quasar", vec![]),
        ("agent: internal note", &c.agent, "kestrel", vec![&c.jams]),
        (
            "agent: internal note",
            &c.agent,
            "quasar",
            vec![&c.invoices],
        ),
        // Within the list's visibility, newest first.
        ("alice: printer", &c.alice, "printer", vec![&c.jams]),
        ("bob: printer", &c.bob, "printer", vec![&c.crashes]),
        (
            "dave (scope): printer",
            &c.dave,
            "printer",
            vec![&c.crashes, &c.jams],
        ),
        ("carol: printer", &c.carol, "printer", vec![&c.offline]),
        (
            "agent: printer",
            &c.agent,
            "printer",
            vec![&c.offline, &c.crashes, &c.jams],
        ),
        // A public comment of another organization's ticket is not found through it.
        ("alice: rear", &c.alice, "rear", vec![&c.jams]),
        ("carol: rear", &c.carol, "rear", vec![&c.offline]),
        ("carol: jams", &c.carol, "jams", vec![]),
        ("bob: jams", &c.bob, "jams", vec![]),
        ("agent: rear", &c.agent, "rear", vec![&c.offline, &c.jams]),
        ("agent: nothing", &c.agent, "xylophone", vec![]),
    ];
    for (what, who, s, expected) in cases {
        found(what, search(app, who, s).await, &expected);
    }

    // Anonymous callers are told to sign in, with or without a search.
    for filter in [
        json!({ "search": "printer" }),
        json!({ "search": "kestrel" }),
    ] {
        let res = app
            .gql(None, LIST, json!({ "f": filter, "first": 10 }))
            .await;
        assert_sign_in_required("anonymous search", &res, "tickets");
    }
}

#[tokio::test]
async fn several_words_must_all_match_anywhere_in_the_ticket() {
    let c = Corpus::build().await;
    let app = &c.app;
    let cases: Vec<(&str, &User, &str, Vec<&String>)> = vec![
        // One word in the subject, another in a public comment or the description.
        (
            "alice: subject + comment",
            &c.alice,
            "jams rear",
            vec![&c.jams],
        ),
        (
            "alice: description + comment",
            &c.alice,
            "morning tray",
            vec![&c.jams],
        ),
        (
            "alice: subject + description",
            &c.alice,
            "printer office",
            vec![&c.jams],
        ),
        (
            "alice: two tickets' words",
            &c.alice,
            "jams invoices",
            vec![],
        ),
        ("alice: a word nowhere", &c.alice, "jams xylophone", vec![]),
        // A customer never matches on an internal note's word, even beside a visible one.
        (
            "alice: subject + internal",
            &c.alice,
            "jams kestrel",
            vec![],
        ),
        (
            "dave (scope): subject + internal",
            &c.dave,
            "printer kestrel",
            vec![],
        ),
        (
            "agent: subject + internal",
            &c.agent,
            "jams kestrel",
            vec![&c.jams],
        ),
        (
            "agent: subject + internal",
            &c.agent,
            "printer kestrel",
            vec![&c.jams],
        ),
        (
            "agent: subject + public comments",
            &c.agent,
            "printer rear",
            vec![&c.offline, &c.jams],
        ),
        (
            "carol: subject + her comment",
            &c.carol,
            "printer rear",
            vec![&c.offline],
        ),
        (
            "bob: subject + another's comment",
            &c.bob,
            "printer rear",
            vec![],
        ),
        ("carol: alice's words", &c.carol, "jams rear", vec![]),
        (
            "carol: her words and alice's",
            &c.carol,
            "printer tray",
            vec![],
        ),
    ];
    for (what, who, s, expected) in cases {
        found(what, search(app, who, s).await, &expected);
    }
    anonymous_must_sign_in(app, &["jams rear", "printer kestrel"], json!({}), None).await;
}

#[tokio::test]
async fn quoted_phrases_match_as_phrases_and_minus_excludes() {
    let c = Corpus::build().await;
    let app = &c.app;
    let cases: Vec<(&str, &User, &str, Vec<&String>)> = vec![
        ("phrase", &c.alice, "\"disk quota\"", vec![&c.quota]),
        (
            "the same words loose",
            &c.alice,
            "disk quota",
            vec![&c.shared_disk, &c.quota],
        ),
        ("the phrase reversed", &c.alice, "\"quota disk\"", vec![]),
        (
            "a phrase in a comment",
            &c.alice,
            "\"rear tray\"",
            vec![&c.jams],
        ),
        (
            "a phrase and a word",
            &c.alice,
            "\"disk quota\" uploads",
            vec![&c.quota],
        ),
        (
            "exclusion",
            &c.alice,
            "quota -exceeded",
            vec![&c.shared_disk],
        ),
        (
            "exclusion of a phrase",
            &c.alice,
            "quota -\"disk quota\"",
            vec![&c.shared_disk],
        ),
        (
            "agent: exclusion",
            &c.agent,
            "printer -jams",
            vec![&c.offline, &c.crashes],
        ),
        // The excluded word is only in an internal note: for a customer the ticket does
        // not contain it (nor does the exclusion tell them it is there).
        (
            "alice: excluding an internal word",
            &c.alice,
            "printer -kestrel",
            vec![&c.jams],
        ),
        (
            "dave (scope): excluding an internal word",
            &c.dave,
            "printer -kestrel",
            vec![&c.crashes, &c.jams],
        ),
        (
            "agent: excluding an internal word",
            &c.agent,
            "printer -kestrel",
            vec![&c.offline, &c.crashes],
        ),
        (
            "agent: excluding a public comment's word",
            &c.agent,
            "printer -rear",
            vec![&c.crashes],
        ),
        ("carol: alice's phrase", &c.carol, "\"disk quota\"", vec![]),
        (
            "carol: exclusion",
            &c.carol,
            "printer -jams",
            vec![&c.offline],
        ),
        (
            "carol: excluding her own word",
            &c.carol,
            "printer -rear",
            vec![],
        ),
    ];
    for (what, who, s, expected) in cases {
        found(what, search(app, who, s).await, &expected);
    }
    anonymous_must_sign_in(app, &["\"disk quota\"", "printer -jams"], json!({}), None).await;
}

#[tokio::test]
async fn search_is_case_insensitive_stemmed_and_takes_punctuation_as_plain_text() {
    let c = Corpus::build().await;
    let app = &c.app;
    let cases: Vec<(&str, &User, &str, Vec<&String>)> = vec![
        ("upper case", &c.alice, "PRINTER JAMS", vec![&c.jams]),
        ("mixed case", &c.alice, "pRiNtEr", vec![&c.jams]),
        (
            "singular finds plural",
            &c.alice,
            "invoice",
            vec![&c.invoices],
        ),
        (
            "capitalized singular",
            &c.alice,
            "Invoice",
            vec![&c.invoices],
        ),
        (
            "agent: singular finds plural",
            &c.agent,
            "invoice",
            vec![&c.offline, &c.invoices],
        ),
        (
            "stem of crashes/crashed",
            &c.agent,
            "crash",
            vec![&c.crashes],
        ),
        ("another form", &c.agent, "crashing", vec![&c.crashes]),
        ("plural finds plural", &c.bob, "crashes", vec![&c.crashes]),
        ("stem of logins", &c.alice, "login", vec![&c.obrien]),
        // Punctuation is text, never syntax: no wildcards, no prefix matches.
        ("an apostrophe", &c.alice, "O'Brien", vec![&c.obrien]),
        (
            "an apostrophe, lower case",
            &c.alice,
            "o'brien",
            vec![&c.obrien],
        ),
        ("a percent sign", &c.alice, "50%", vec![&c.obrien]),
        ("an underscore", &c.alice, "error_code", vec![&c.obrien]),
        ("% is no wildcard", &c.alice, "inv%", vec![]),
        ("% is no wildcard", &c.agent, "prin%er", vec![]),
        ("_ is no wildcard", &c.alice, "in_oices", vec![]),
        ("_ is no wildcard", &c.agent, "printe_", vec![]),
        ("* is no prefix", &c.alice, "inv*", vec![]),
        ("* is no prefix", &c.agent, "prin*", vec![]),
        ("carol: upper case", &c.carol, "PRINTER", vec![&c.offline]),
        (
            "carol: singular finds plural",
            &c.carol,
            "invoice",
            vec![&c.offline],
        ),
        ("carol: alice's apostrophe", &c.carol, "O'Brien", vec![]),
        ("carol: alice's stem", &c.carol, "login", vec![]),
    ];
    for (what, who, s, expected) in cases {
        found(
            &format!("{what}: {s:?}"),
            search(app, who, s).await,
            &expected,
        );
    }
    anonymous_must_sign_in(
        app,
        &["PRINTER", "invoice", "O'Brien", "inv%"],
        json!({}),
        None,
    )
    .await;
}

#[tokio::test]
async fn search_combines_with_filters_orders_and_pages() {
    let c = Corpus::build().await;
    let (app, agent) = (&c.app, &c.agent);
    app.set_status(agent, &c.crashes, "OPEN").await;
    let none = json!({});

    // Filters are ANDed with the search.
    let cases: Vec<(&str, Value, Vec<&String>)> = vec![
        ("status", json!({ "status": ["OPEN"] }), vec![&c.crashes]),
        (
            "status",
            json!({ "status": ["NEW"] }),
            vec![&c.offline, &c.jams],
        ),
        (
            "requester",
            json!({ "requesterId": c.carol.id }),
            vec![&c.offline],
        ),
        (
            "priority",
            json!({ "priority": ["HIGH", "LOW"] }),
            vec![&c.offline, &c.jams],
        ),
        (
            "status and priority",
            json!({ "status": ["NEW"], "priority": ["URGENT"] }),
            vec![],
        ),
    ];
    for (what, more, expected) in cases {
        found(
            what,
            searched(app, agent, "printer", more, None).await,
            &expected,
        );
    }
    // …and never widen what the viewer may see.
    found(
        "alice: bob's printer",
        searched(
            app,
            &c.alice,
            "printer",
            json!({ "requesterId": c.bob.id }),
            None,
        )
        .await,
        &[],
    );

    // Ordered searches.
    let cases: Vec<(&str, &str, Vec<&String>)> = vec![
        ("PRIORITY", "DESC", vec![&c.crashes, &c.jams, &c.offline]),
        ("PRIORITY", "ASC", vec![&c.offline, &c.jams, &c.crashes]),
        ("NUMBER", "ASC", vec![&c.jams, &c.crashes, &c.offline]),
        ("NUMBER", "DESC", vec![&c.offline, &c.crashes, &c.jams]),
        ("CREATED_AT", "DESC", vec![&c.offline, &c.crashes, &c.jams]),
        ("CREATED_AT", "ASC", vec![&c.jams, &c.crashes, &c.offline]),
        // crashes was updated last (its status change).
        ("UPDATED_AT", "DESC", vec![&c.crashes, &c.offline, &c.jams]),
    ];
    for (field, direction, expected) in cases {
        found(
            &format!("printer by {field} {direction}"),
            searched(
                app,
                agent,
                "printer",
                none.clone(),
                Some(order(field, direction)),
            )
            .await,
            &expected,
        );
    }
    found(
        "alice: printer by PRIORITY ASC",
        searched(
            app,
            &c.alice,
            "printer",
            none.clone(),
            Some(order("PRIORITY", "ASC")),
        )
        .await,
        &[&c.jams],
    );

    // Another organization's customer: her own ticket, whatever the filter or order.
    for (more, order_by, expected) in [
        (json!({ "status": ["NEW"] }), None, vec![&c.offline]),
        (json!({ "requesterId": c.alice.id }), None, vec![]),
        (json!({}), Some(order("PRIORITY", "DESC")), vec![&c.offline]),
        (json!({ "priority": ["URGENT", "HIGH"] }), None, vec![]),
    ] {
        found(
            &format!("carol: printer, {more}, {order_by:?}"),
            searched(app, &c.carol, "printer", more, order_by).await,
            &expected,
        );
    }
    anonymous_must_sign_in(
        app,
        &["printer"],
        json!({ "status": ["OPEN"] }),
        Some(order("PRIORITY", "DESC")),
    )
    .await;

    // Paged both ways, one at a time, with the search's own totalCount on every page.
    for (field, direction) in [
        ("PRIORITY", "DESC"),
        ("CREATED_AT", "DESC"),
        ("NUMBER", "ASC"),
    ] {
        let list = List::tickets(
            app,
            Some(agent),
            format!("agent: printer by {field} {direction}"),
            Some(json!({ "search": "printer" })),
            Some(order(field, direction)),
        );
        let full = list.all().await;
        assert_eq!(full.keys.len(), 3, "{full:?}");
        assert_walks(&list, &full, &[1, 2]).await;
    }
    // A customer's search pages within what she may see.
    let list = List::tickets(
        app,
        Some(&c.alice),
        "alice: quota",
        Some(json!({ "search": "quota" })),
        None,
    );
    let full = list.all().await;
    assert_eq!(full.keys, [c.shared_disk.clone(), c.quota.clone()]);
    assert_walks(&list, &full, &[1]).await;
}

/// Exactly `chars` characters of words of `letter` (nine or ten letters each), one blank
/// between them and none at either end.
fn words_of(letter: &str, chars: usize) -> String {
    let word = letter.repeat(9);
    let mut s = String::new();
    while s.chars().count() + 10 <= chars {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&word);
    }
    while s.chars().count() < chars {
        s.push_str(letter);
    }
    assert_eq!(s.chars().count(), chars);
    s
}

#[tokio::test]
async fn blank_and_overlong_searches_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    open(&app, &alice, "Printer jams", "every morning", "NORMAL").await;
    let before = app.rows(["ticket", "comment", "event"]).await;

    let bad = [
        String::new(),
        " ".into(),
        "   ".into(),
        "\t\n ".into(),
        words_of("a", 501),
        words_of("é", 501),
        "x".repeat(10_000),
        format!("printer {}", "y".repeat(10_000)),
    ];
    for who in [&alice, &agent] {
        for s in &bad {
            let what = format!("{} search of {} chars", who.role, s.chars().count());
            let res = app
                .gql(
                    Some(who),
                    LIST,
                    json!({ "f": { "search": s }, "first": 10 }),
                )
                .await;
            assert_eq!(code(&res), "BAD_USER_INPUT", "{what}: {res}");
            assert!(is_null_data(&res), "{what}: no data: {res}");
            let message = res["errors"][0]["message"].as_str().unwrap_or("");
            assert!(!message.trim().is_empty(), "{what}: a message: {res}");
        }
        // Exactly 500 characters is allowed (characters, not bytes: 'é' is two bytes).
        for s in [words_of("a", 500), words_of("é", 500)] {
            let what = format!("{} search of 500 chars", who.role);
            let res = app
                .gql(
                    Some(who),
                    LIST,
                    json!({ "f": { "search": s }, "first": 10 }),
                )
                .await;
            let list = &data(&res)["tickets"];
            assert_eq!(list["totalCount"], 0, "{what}: {res}");
            assert_eq!(list["edges"], json!([]), "{what}: {res}");
        }
    }
    // A bad search is still refused when combined with other arguments.
    let res = app
        .gql(
            Some(&agent),
            LIST,
            json!({ "f": { "search": "  ", "status": ["NEW"] }, "o": order("PRIORITY", "ASC"), "last": 5 }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(app.rows(["ticket", "comment", "event"]).await, before);
}

/// Whether a hostile input must be refused, must be answered, or may be either.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Refused,
    Answered,
    Either,
}

#[tokio::test]
async fn hostile_search_input_is_never_an_internal_error() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let agent = app.agent().await;
    let jams = open(
        &app,
        &alice,
        "Printer jams on page two",
        "NEAR the OR tray",
        "HIGH",
    )
    .await;
    app.comment(
        &agent,
        &jams,
        "col:abc {x} (y) ^z 50% a_b *star* it's",
        true,
    )
    .await;
    app.comment(&agent, &jams, "internal: NOT for customers", false)
        .await;
    let offline = open(&app, &carol, "Printer offline", "AND more", "LOW").await;
    let before = app.rows(["ticket", "comment", "event", "app_user"]).await;

    use Expect::*;
    let mut cases: Vec<(String, Expect)> = [
        ("\"", Either),
        ("\"\"", Either),
        ("\"abc", Either),
        ("abc\"", Either),
        ("\"printer", Either),
        ("\"printer jams", Either),
        ("printer \"jams", Either),
        ("\"\"\"", Either),
        ("'", Either),
        ("''", Either),
        ("'printer'", Either),
        ("*", Either),
        ("**", Either),
        ("printer*", Either),
        ("*printer", Either),
        ("NEAR(", Either),
        ("NEAR(printer jams)", Either),
        ("NEAR(printer jams, 2)", Either),
        ("a NEAR b", Either),
        ("printer NEAR jams", Either),
        ("-", Either),
        ("--", Either),
        ("- -", Either),
        ("-printer", Either),
        ("-\"printer\"", Either),
        ("--printer", Either),
        ("printer -", Either),
        ("+printer", Either),
        ("%", Either),
        ("%%", Either),
        ("%printer%", Either),
        ("_", Either),
        ("__", Either),
        ("'; DROP TABLE ticket; --", Either),
        ("\"; DROP TABLE ticket; --", Either),
        ("') OR ('1'='1", Either),
        ("1 OR 1=1", Either),
        ("OR", Either),
        ("AND", Either),
        ("NOT", Either),
        ("a OR", Either),
        ("OR a", Either),
        ("a AND", Either),
        ("AND a", Either),
        ("NOT a", Either),
        ("a NOT", Either),
        ("printer OR jams", Either),
        ("printer AND NOT jams", Either),
        ("printer or", Either),
        (":", Either),
        ("::", Either),
        ("col:abc", Either),
        ("subject:printer", Either),
        ("printer:*", Either),
        (":*", Either),
        ("printer:A", Either),
        ("{}", Either),
        ("{subject}: printer", Either),
        ("()", Either),
        ("(", Either),
        (")", Either),
        ("(printer", Either),
        ("printer)", Either),
        ("[]", Either),
        ("^", Either),
        ("^printer", Either),
        ("&", Either),
        ("|", Either),
        ("!", Either),
        ("!printer", Either),
        ("printer & jams", Either),
        ("printer | jams", Either),
        ("printer <-> jams", Either),
        ("<->", Either),
        ("<2>", Either),
        ("~printer", Either),
        ("\\", Either),
        ("\\\\", Either),
        ("\\\"", Either),
        ("\\%", Either),
        ("\\_", Either),
        ("$1", Either),
        ("?", Either),
        ("@@", Either),
        ("\u{0}", Either),
        ("printer\u{0}jams", Either),
        ("%00", Either),
        ("\u{200b}", Either),
        ("\u{feff}printer", Either),
        ("\u{202e}printer", Either),
        ("🖨️", Either),
        ("🖨️ printer", Either),
        ("printer 🔥🔥🔥", Either),
        ("👨‍👩‍👧‍👦", Either),
        ("打印机", Either),
        ("שלום", Either),
        ("e\u{301}", Either),
        ("\r\nprinter\r\n", Either),
        ("NULL", Either),
        ("printer", Answered),
        ("printer jams", Answered),
        ("", Refused),
        ("   ", Refused),
    ]
    .into_iter()
    .map(|(s, e)| (s.to_owned(), e))
    .collect();
    cases.push((words_of("a", 500), Answered));
    cases.push((format!("\"{}\"", words_of("b", 498)), Either));
    cases.push(("-".repeat(500), Either));
    cases.push(("\"".repeat(500), Either));
    cases.push(("(".repeat(500), Either));
    cases.push(("NEAR(".repeat(100), Either));
    cases.push((words_of("a", 501), Refused));
    cases.push(("\"".repeat(501), Refused));
    cases.push(("x".repeat(10_000), Refused));

    let searchers = [
        ("alice", Some(&alice)),
        ("carol", Some(&carol)),
        ("agent", Some(&agent)),
        ("anonymous", None),
    ];
    for (name, who) in searchers {
        // What each may find at most: alice and carol their own ticket, anonymous nothing.
        let may_find: Option<&String> = match name {
            "alice" => Some(&jams),
            "carol" => Some(&offline),
            _ => None,
        };
        for (s, expect) in &cases {
            // Ordered too for alice (the order is part of the statement built).
            let orders = match name {
                "alice" => vec![None, Some(order("PRIORITY", "ASC"))],
                _ => vec![None],
            };
            for order_by in orders {
                let what = format!("{name}: search {s:?} (orderBy {order_by:?})");
                let mut vars = json!({ "f": { "search": s }, "first": 100 });
                if let Some(o) = &order_by {
                    vars["o"] = o.clone();
                }
                let (status, res) = app
                    .post(
                        who.map(|u| u.token.as_str()),
                        json!({ "query": LIST, "variables": vars }),
                    )
                    .await;
                assert!(!status.is_server_error(), "{what}: {status}: {res}");
                for err in res["errors"].as_array().into_iter().flatten() {
                    let c = err["extensions"]["code"].as_str().unwrap_or("");
                    assert_ne!(c, "INTERNAL_SERVER_ERROR", "{what}: {res}");
                    if who.is_some() {
                        assert_eq!(c, "BAD_USER_INPUT", "{what}: {res}");
                    } else {
                        assert!(
                            c == "UNAUTHENTICATED" || c == "BAD_USER_INPUT",
                            "{what}: {res}"
                        );
                    }
                }
                let refused = !res["errors"].is_null();
                if who.is_none() {
                    assert!(refused, "{what}: anonymous must sign in: {res}");
                } else {
                    match expect {
                        Refused => assert!(refused, "{what}: must be refused: {res}"),
                        Answered => assert!(!refused, "{what}: must be answered: {res}"),
                        Either => {}
                    }
                }
                if refused {
                    assert!(is_null_data(&res), "{what}: {res}");
                } else {
                    let list = &res["data"]["tickets"];
                    let edges = list["edges"]
                        .as_array()
                        .unwrap_or_else(|| panic!("{what}: {res}"));
                    assert_eq!(
                        list["totalCount"].as_u64(),
                        Some(edges.len() as u64),
                        "{what}: totalCount agrees with the rows: {res}"
                    );
                    if let Some(own) = may_find {
                        // Whatever it means, it finds nothing they may not see.
                        for e in edges {
                            assert_eq!(e["node"]["id"], own.as_str(), "{what}: {res}");
                        }
                    }
                }
            }
        }
    }

    // Nothing was dropped or written, and the server still answers searches.
    assert_eq!(
        app.rows(["ticket", "comment", "event", "app_user"]).await,
        before
    );
    found(
        "alice afterwards",
        search(&app, &alice, "printer").await,
        &[&jams],
    );
    assert_eq!(search(&app, &agent, "printer").await.len(), 2);
    let res = app.gql(Some(&alice), "{ viewer { id } }", json!({})).await;
    assert_eq!(data(&res)["viewer"]["id"], alice.id.as_str());
}

// ---------------------------------------------------------------------------------------
// Ordering.

/// 1 LOW < 2 NORMAL < 3 HIGH < 4 URGENT.
fn rank(priority: &str) -> u8 {
    match priority {
        "LOW" => 1,
        "NORMAL" => 2,
        "HIGH" => 3,
        "URGENT" => 4,
        other => panic!("not a priority: {other}"),
    }
}

/// What the orders sort on, as the server reports it.
#[derive(Debug, Clone)]
struct Sortable {
    id: String,
    row: i64,
    number: i64,
    priority: u8,
    created: chrono::DateTime<chrono::FixedOffset>,
    updated: chrono::DateTime<chrono::FixedOffset>,
}

/// Every ticket `who` sees with what the orders sort on.
async fn sortables(app: &TestApp, who: &User) -> Vec<Sortable> {
    let res = app
        .gql(
            Some(who),
            "{ tickets(first: 100) { nodes { id number priority createdAt updatedAt } } }",
            json!({}),
        )
        .await;
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    data(&res)["tickets"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| Sortable {
            id: n["id"].as_str().unwrap().to_owned(),
            row: common::row_id(n["id"].as_str().unwrap()),
            number: n["number"].as_i64().unwrap(),
            priority: rank(n["priority"].as_str().unwrap()),
            created: time(&n["createdAt"]),
            updated: time(&n["updatedAt"]),
        })
        .collect()
}

/// The ids in `field` `direction` order, ties broken by id in the same direction.
fn expected_order(rows: &[Sortable], field: &str, direction: &str) -> Vec<String> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        let by_field = match field {
            "CREATED_AT" => a.created.cmp(&b.created),
            "UPDATED_AT" => a.updated.cmp(&b.updated),
            "PRIORITY" => a.priority.cmp(&b.priority),
            "NUMBER" => a.number.cmp(&b.number),
            other => panic!("not an order field: {other}"),
        };
        by_field.then(a.row.cmp(&b.row))
    });
    if direction == "DESC" {
        rows.reverse();
    }
    rows.into_iter().map(|r| r.id).collect()
}

/// alice (acme) has seven tickets of mixed priorities, ties included; carol (globex) one,
/// opened among them; then the agent replies on four of alice's in an order unlike their
/// creation, so `UPDATED_AT` differs from `CREATED_AT`.
struct Ordered {
    app: TestApp,
    alice: User,
    carol: User,
    agent: User,
    /// alice's tickets in creation order.
    mine: Vec<String>,
    /// Indexes into `mine` in the order the agent replied to them.
    bumped: Vec<usize>,
    carols: String,
}

impl Ordered {
    async fn build() -> Ordered {
        let app = TestApp::spawn().await;
        let alice = app.customer("acme").await;
        let carol = app.customer("globex").await;
        let agent = app.agent().await;
        let priorities = [
            "NORMAL", "URGENT", "LOW", "NORMAL", "HIGH", "URGENT", "NORMAL",
        ];
        let mut mine = Vec::new();
        let mut carols = String::new();
        for (i, p) in priorities.iter().enumerate() {
            mine.push(open(&app, &alice, &format!("ordered {i}"), "about ordering", p).await);
            if i == 3 {
                carols = open(&app, &carol, "carol's", "about ordering", "HIGH").await;
            }
        }
        let bumped = vec![3, 0, 5, 1];
        for &i in &bumped {
            // A small pause: consecutive writes never share a timestamp.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            app.comment(&agent, &mine[i], "a reply moves updatedAt", true)
                .await;
        }
        Ordered {
            app,
            alice,
            carol,
            agent,
            mine,
            bumped,
            carols,
        }
    }
}

#[tokio::test]
async fn tickets_order_by_each_field_and_direction_with_ties_broken_by_id() {
    let o = Ordered::build().await;
    let app = &o.app;
    let m = &o.mine;

    // The expectations spelled out for alice, from the story itself.
    let by_hand: Vec<(&str, &str, Vec<&String>)> = vec![
        ("CREATED_AT", "ASC", m.iter().collect()),
        ("CREATED_AT", "DESC", m.iter().rev().collect()),
        ("NUMBER", "ASC", m.iter().collect()),
        ("NUMBER", "DESC", m.iter().rev().collect()),
        // Untouched ones by creation, then the replied-to in reply order.
        (
            "UPDATED_AT",
            "ASC",
            vec![&m[2], &m[4], &m[6], &m[3], &m[0], &m[5], &m[1]],
        ),
        (
            "UPDATED_AT",
            "DESC",
            vec![&m[1], &m[5], &m[0], &m[3], &m[6], &m[4], &m[2]],
        ),
        // LOW < NORMAL < HIGH < URGENT; ties by id, in the same direction.
        (
            "PRIORITY",
            "ASC",
            vec![&m[2], &m[0], &m[3], &m[6], &m[4], &m[1], &m[5]],
        ),
        (
            "PRIORITY",
            "DESC",
            vec![&m[5], &m[1], &m[4], &m[6], &m[3], &m[0], &m[2]],
        ),
    ];
    assert_eq!(o.bumped, [3, 0, 5, 1], "the story above");
    for (field, direction, expected) in by_hand {
        let list = List::tickets(
            app,
            Some(&o.alice),
            format!("alice by {field} {direction}"),
            None,
            Some(order(field, direction)),
        );
        found(&list.what.clone(), list.all().await.keys, &expected);
    }

    // The default is CREATED_AT DESC.
    let default = List::tickets(app, Some(&o.alice), "alice, default order", None, None);
    found(
        "default order",
        default.all().await.keys,
        &m.iter().rev().collect::<Vec<_>>(),
    );

    // Every viewer, every order: what the server reports, sorted, ties by id.
    for (name, who) in [
        ("alice", &o.alice),
        ("carol", &o.carol),
        ("agent", &o.agent),
    ] {
        let rows = sortables(app, who).await;
        let expected_len = match name {
            "alice" => 7,
            "carol" => 1,
            _ => 8,
        };
        assert_eq!(rows.len(), expected_len, "{name} sees {rows:?}");
        if name == "carol" {
            assert_eq!(rows[0].id, o.carols);
        }
        for field in FIELDS {
            for direction in DIRECTIONS {
                let list = List::tickets(
                    app,
                    Some(who),
                    format!("{name} by {field} {direction}"),
                    None,
                    Some(order(field, direction)),
                );
                assert_eq!(
                    list.all().await.keys,
                    expected_order(&rows, field, direction),
                    "{}",
                    list.what
                );
            }
        }
    }
    // Ordering does not open anything to anonymous callers.
    let res = app
        .gql(
            None,
            LIST,
            json!({ "o": order("PRIORITY", "DESC"), "last": 5 }),
        )
        .await;
    assert_sign_in_required("anonymous ordered list", &res, "tickets");
}

#[tokio::test]
async fn walking_backward_from_the_end_yields_the_forward_list_in_every_order() {
    let o = Ordered::build().await;
    let app = &o.app;
    for (name, who, ks) in [
        ("alice", &o.alice, &[1usize, 2, 3][..]),
        ("agent", &o.agent, &[3][..]),
        ("carol", &o.carol, &[2][..]),
    ] {
        let mut orders: Vec<Option<Value>> = vec![None];
        for field in FIELDS {
            for direction in DIRECTIONS {
                orders.push(Some(order(field, direction)));
            }
        }
        for order_by in orders {
            let list = List::tickets(
                app,
                Some(who),
                format!("{name} by {order_by:?}"),
                None,
                order_by,
            );
            let full = list.all().await;
            assert_walks(&list, &full, ks).await;
        }
    }

    // With a filter too: alice's NORMAL tickets by priority are all ties.
    let list = List::tickets(
        app,
        Some(&o.alice),
        "alice: NORMAL by PRIORITY DESC",
        Some(json!({ "priority": ["NORMAL"] })),
        Some(order("PRIORITY", "DESC")),
    );
    let full = list.all().await;
    assert_eq!(
        full.keys,
        [o.mine[6].clone(), o.mine[3].clone(), o.mine[0].clone()]
    );
    assert_walks(&list, &full, &[1, 2]).await;

    // Anonymous callers page nothing.
    let res = app.gql(None, LIST, json!({ "last": 2 })).await;
    assert_sign_in_required("anonymous last", &res, "tickets");
}

#[tokio::test]
async fn cursors_belong_to_their_order_and_page_sizes_are_bounded() {
    let o = Ordered::build().await;
    let app = &o.app;
    let alice = &o.alice;
    let cursor_of = |what: &str, order_by: Option<Value>| {
        let list = List::tickets(app, Some(alice), what.to_owned(), None, order_by);
        async move {
            let full = list.all().await;
            full.cursors[2].clone()
        }
    };
    let by_default = cursor_of("default", None).await;
    let by_priority = cursor_of("priority", Some(order("PRIORITY", "DESC"))).await;
    let by_updated = cursor_of("updated", Some(order("UPDATED_AT", "ASC"))).await;
    let by_number = cursor_of("number", Some(order("NUMBER", "ASC"))).await;

    // A cursor used with another order field, after or before: BAD_USER_INPUT.
    let mixed = [
        (
            "default cursor, PRIORITY",
            &by_default,
            Some(order("PRIORITY", "ASC")),
        ),
        (
            "default cursor, UPDATED_AT",
            &by_default,
            Some(order("UPDATED_AT", "DESC")),
        ),
        (
            "PRIORITY cursor, NUMBER",
            &by_priority,
            Some(order("NUMBER", "ASC")),
        ),
        ("PRIORITY cursor, default", &by_priority, None),
        (
            "UPDATED_AT cursor, CREATED_AT",
            &by_updated,
            Some(order("CREATED_AT", "ASC")),
        ),
        (
            "NUMBER cursor, PRIORITY",
            &by_number,
            Some(order("PRIORITY", "DESC")),
        ),
    ];
    for (what, cursor, order_by) in mixed {
        let list = List::tickets(app, Some(alice), what, None, order_by);
        for args in [
            json!({ "first": 2, "after": cursor }),
            json!({ "last": 2, "before": cursor }),
        ] {
            let res = list.raw(args.clone()).await;
            assert_eq!(code(&res), "BAD_USER_INPUT", "{what} {args}: {res}");
            assert!(is_null_data(&res), "{what} {args}: {res}");
        }
    }
    // The default order is CREATED_AT DESC: its cursors work with it spelled out.
    let implicit = List::tickets(app, Some(alice), "implicit", None, None);
    let explicit = List::tickets(
        app,
        Some(alice),
        "explicit",
        None,
        Some(order("CREATED_AT", "DESC")),
    );
    let a = implicit
        .page(json!({ "first": 2, "after": by_default }))
        .await;
    let b = explicit
        .page(json!({ "first": 2, "after": by_default }))
        .await;
    assert_eq!(a.keys, b.keys);
    assert_eq!(a.keys, [o.mine[3].clone(), o.mine[2].clone()]);

    // Page sizes: `first` and `last` are 0..=100 / 1..=100, never both.
    let list = List::tickets(
        app,
        Some(alice),
        "alice",
        None,
        Some(order("PRIORITY", "ASC")),
    );
    for args in [
        json!({ "first": 101 }),
        json!({ "first": -1 }),
        json!({ "last": 101 }),
        json!({ "last": -1 }),
        json!({ "last": 1000 }),
        json!({ "first": 2, "last": 2 }),
        json!({ "first": 1, "last": 1, "after": by_number }),
        json!({ "last": 2, "before": "garbage" }),
        json!({ "last": 2, "before": common::b64("cursor:abc") }),
        json!({ "last": 2, "before": o.mine[0] }),
    ] {
        let res = list.raw(args.clone()).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{args}: {res}");
        assert!(is_null_data(&res), "{args}: {res}");
    }
    for (args, n) in [
        (json!({ "last": 100 }), 7),
        (json!({ "last": 1 }), 1),
        (json!({ "first": 100 }), 7),
    ] {
        assert_eq!(list.page(args.clone()).await.keys.len(), n, "{args}");
    }

    // Every connection takes `last` and `before`, bounded like `first`.
    let admin = app.admin().await;
    let ticket = &o.mine[0];
    let connections = [
        "query($n: Int) { users(last: $n) { totalCount nodes { id } } }",
        "query($n: Int) { organizations(last: $n) { totalCount nodes { id } } }",
        "query($n: Int) { escalations(last: $n) { totalCount nodes { id } } }",
        "query($n: Int) { releases(last: $n) { totalCount nodes { id } } }",
        "query($n: Int) { releaseNotes(last: $n) { totalCount nodes { id } } }",
        "query($n: Int) { notifications(last: $n) { totalCount nodes { id } } }",
        "query($n: Int) { webhookEndpoints(last: $n) { totalCount nodes { id } } }",
        "query($n: Int) { deliveries(last: $n) { totalCount nodes { id } } }",
        "query($n: Int) { viewer { tickets(last: $n) { totalCount nodes { id } } } }",
        "query($n: Int) { organizations(first: 1) { nodes { tickets(last: $n) { nodes { id } } } } }",
        "query($n: Int, $t: ID!) { ticket(id: $t) { comments(last: $n) { nodes { id } } } }",
        "query($n: Int, $t: ID!) { ticket(id: $t) { events(last: $n) { nodes { kind } } } }",
    ];
    for q in connections {
        let vars = |n: i64| {
            let mut v = json!({ "n": n });
            if q.contains("$t") {
                v["t"] = json!(ticket);
            }
            v
        };
        for n in [101, -1] {
            let res = app.gql(Some(&admin), q, vars(n)).await;
            assert_eq!(code(&res), "BAD_USER_INPUT", "last: {n} on {q}: {res}");
        }
        let res = app.gql(Some(&admin), q, vars(1)).await;
        assert!(res["errors"].is_null(), "last: 1 on {q}: {res}");
    }
}

// ---------------------------------------------------------------------------------------
// Backward pages of nested and other root lists.

#[tokio::test]
async fn comments_and_events_page_backward_within_what_the_viewer_may_see() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let agent = app.agent().await;
    let t = open(&app, &alice, "A long thread", "many replies", "NORMAL").await;
    let mut public = Vec::new();
    let mut all = Vec::new();
    for (i, (who, is_public)) in [
        (&alice, true),
        (&agent, true),
        (&agent, false),
        (&alice, true),
        (&agent, false),
        (&agent, true),
        (&alice, true),
        (&agent, true),
    ]
    .into_iter()
    .enumerate()
    {
        let id = app.comment(who, &t, &format!("reply {i}"), is_public).await;
        if is_public {
            public.push(id.clone());
        }
        all.push(id);
    }

    for (name, who, visible) in [("alice", &alice, &public), ("agent", &agent, &all)] {
        for (list_order, expected) in [
            ("OLDEST_FIRST", visible.clone()),
            (
                "NEWEST_FIRST",
                visible.iter().rev().cloned().collect::<Vec<_>>(),
            ),
        ] {
            let list = List {
                app: &app,
                who: Some(who),
                what: format!("{name}: comments {list_order}"),
                query: COMMENTS,
                vars: json!({ "id": t, "order": list_order }),
                path: &["ticket", "comments"],
                key: "id",
            };
            let full = list.all().await;
            assert_eq!(full.keys, expected, "{}", list.what);
            assert_walks(&list, &full, &[2, 3]).await;
        }

        // The history: created, then one event per comment the viewer may see.
        let list = List {
            app: &app,
            who: Some(who),
            what: format!("{name}: events"),
            query: EVENTS,
            vars: json!({ "id": t }),
            path: &["ticket", "events"],
            key: "cursor",
        };
        let full = list.all().await;
        assert_eq!(
            full.keys.len(),
            1 + visible.len(),
            "{}: {full:?}",
            list.what
        );
        assert_walks(&list, &full, &[2, 4]).await;
    }

    // Bounds on the nested lists too.
    for q in [COMMENTS, EVENTS] {
        for args in [
            json!({ "last": 101 }),
            json!({ "last": -1 }),
            json!({ "first": 1, "last": 1 }),
            json!({ "last": 1, "before": "garbage" }),
        ] {
            let mut vars = json!({ "id": t });
            if q == COMMENTS {
                vars["order"] = json!("OLDEST_FIRST");
            }
            vars.as_object_mut()
                .unwrap()
                .extend(args.as_object().unwrap().clone());
            let res = app.gql(Some(&agent), q, vars).await;
            assert_eq!(code(&res), "BAD_USER_INPUT", "{args}: {res}");
        }
    }

    // Nobody else pages through it.
    let vars = json!({ "id": t, "order": "OLDEST_FIRST", "last": 2 });
    let res = app.gql(Some(&carol), COMMENTS, vars.clone()).await;
    assert_eq!(code(&res), "NOT_FOUND", "carol: {res}");
    assert!(is_null_data(&res), "carol: {res}");
    let res = app.gql(None, COMMENTS, vars).await;
    assert_eq!(code(&res), "UNAUTHENTICATED", "anonymous: {res}");
    assert!(is_null_data(&res), "anonymous: {res}");
}

#[tokio::test]
async fn notifications_and_release_notes_page_backward() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let lead = app.triage_lead().await;
    app.follow_release_notes(&alice).await;
    let mut notes = Vec::new();
    for i in 0..5 {
        let rel = app
            .create_release(&lead, &format!("9.0.{i}"), "HOTFIX")
            .await;
        app.ship(&lead, &rel).await;
        notes.push(app.publish_note(&lead, &rel, &format!("Notes {i}")).await);
    }

    // alice's inbox: one notification per note, newest first.
    let inbox = List {
        app: &app,
        who: Some(&alice),
        what: "alice: notifications".into(),
        query: NOTIFICATIONS,
        vars: json!({}),
        path: &["notifications"],
        key: "id",
    };
    let full = inbox.all().await;
    assert_eq!(full.keys, app.notification_ids(&alice).await);
    assert_eq!(full.keys.len(), 5);
    assert_walks(&inbox, &full, &[2, 5]).await;

    // carol follows nothing: an empty inbox, both ways.
    let empty = List {
        app: &app,
        who: Some(&carol),
        what: "carol: notifications".into(),
        query: NOTIFICATIONS,
        vars: json!({}),
        path: &["notifications"],
        key: "id",
    };
    let p = empty.page(json!({ "last": 2 })).await;
    assert!(p.keys.is_empty() && !p.has_previous && !p.has_next, "{p:?}");
    assert_eq!(p.total, Some(0));
    // Anonymous callers have no inbox.
    let res = app.gql(None, NOTIFICATIONS, json!({ "last": 2 })).await;
    assert_sign_in_required("anonymous notifications", &res, "notifications");

    // Release notes, newest first, for anyone (anonymous callers included).
    let newest_first: Vec<String> = notes.iter().rev().cloned().collect();
    for (name, who) in [
        ("alice", Some(&alice)),
        ("carol", Some(&carol)),
        ("anonymous", None),
    ] {
        let list = List {
            app: &app,
            who,
            what: format!("{name}: release notes"),
            query: RELEASE_NOTES,
            vars: json!({}),
            path: &["releaseNotes"],
            key: "id",
        };
        let full = list.all().await;
        assert_eq!(full.keys, newest_first, "{}", list.what);
        assert_walks(&list, &full, &[2]).await;
    }
}

// ---------------------------------------------------------------------------------------
// Statements.

/// The page of the query-count test: searched, with nested comments.
const SEARCHED_PAGE: &str = r#"query($n: Int!) {
  tickets(filter: { search: "word" }, first: $n) {
    nodes { id subject participants { id } comments(first: 3) { nodes { id } } }
    totalCount } }"#;

/// Statements the server runs for one searched page of `n` (which must hold `n` tickets).
async fn statements_for_search(app: &TestApp, user: &User, n: i64) -> usize {
    // Warm up the viewer (provisioning writes on first sight only).
    data(&app.gql(Some(user), "{ viewer { id } }", json!({})).await);
    app.quiesce().await;
    let before = app.statements.load(Ordering::SeqCst);
    app.log.lock().unwrap().clear();
    let res = app.gql(Some(user), SEARCHED_PAGE, json!({ "n": n })).await;
    let nodes = data(&res)["tickets"]["nodes"].as_array().unwrap().len();
    assert_eq!(nodes as i64, n, "{res}");
    app.statements.load(Ordering::SeqCst) - before
}

/// No N+1 in search: a searched page of 2 and one of 20 cost the same statements, for staff,
/// a customer and a customer with organization scope. (Could live in tests/query_counts.rs
/// with `open` and `statements_for_search`.)
#[tokio::test]
async fn a_searched_page_costs_the_same_for_2_and_20_tickets() {
    let app = TestApp::spawn().await;
    let agent = app.agent().await;
    let alice = app.customer("acme").await;
    let bob = app.customer("acme").await;
    let carol = app.customer("globex").await;
    app.grant_scope(&app.admin().await, &bob).await;
    let mut by_requester: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..30 {
        let (name, who) = match i % 6 {
            0 => ("bob", &bob),
            1 => ("carol", &carol),
            _ => ("alice", &alice),
        };
        *by_requester.entry(name).or_default() += 1;
        let t = open(
            &app,
            who,
            &format!("word {i}"),
            "the word is here",
            "NORMAL",
        )
        .await;
        app.comment(&agent, &t, &format!("public reply {i}"), true)
            .await;
        app.comment(&agent, &t, &format!("internal word {i}"), false)
            .await;
    }
    // Tickets without the word, which the search must skip.
    for i in 0..5 {
        open(
            &app,
            &alice,
            &format!("other {i}"),
            "nothing to find",
            "NORMAL",
        )
        .await;
    }
    assert_eq!(by_requester["alice"], 20);

    for (name, who) in [("agent", &agent), ("alice", &alice), ("bob (scope)", &bob)] {
        let small = statements_for_search(&app, who, 2).await;
        let large = statements_for_search(&app, who, 20).await;
        let log = app.log.lock().unwrap().join("\n");
        assert_eq!(
            small, large,
            "{name}: statements grew with the searched page's size:\n{log}"
        );
    }
}
