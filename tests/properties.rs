//! Properties of every mutation that takes text, over arbitrary strings passed as GraphQL
//! variables: multi-byte and combining characters, right-to-left text and bidi controls,
//! emoji, NUL and other control characters, strings of only whitespace, and strings of
//! 10,000 characters and more. Whatever the string, the answer is never a 5xx (a 4xx carries a
//! GraphQL error body), every error has one of the API's codes and none is
//! `INTERNAL_SERVER_ERROR`, text that was accepted is stored as sent (trimmed), and the server
//! still answers a simple query afterwards.
//!
//! Typed fields (quarters, versions, dates) get mostly near-misses of valid values, among them
//! runs of ASCII replaced by one character of as many bytes, which is what trips a check that
//! counts bytes and then slices (`check_quarter`'s old bug, found and shrunk to `20€Q3`).
//!
//! One server for all of them. Cases come from a fixed seed, so a failure reproduces, and
//! proptest shrinks it to a small failing string; `PROPTEST_CASES` sets the cases per
//! mutation (48 by default).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{TestApp, User};
use proptest::{
    prelude::*,
    test_runner::{Config as RunnerConfig, RngAlgorithm, TestError, TestRng, TestRunner},
};
use serde_json::{Value, json};

const CODES: [&str; 7] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "INVALID_TRANSITION",
    "CONFLICT",
    "RATE_LIMITED",
];

/// Characters that have broken text handling somewhere: controls, bidi and zero-width
/// marks, combining marks, characters whose case mapping changes their length, emoji parts,
/// noncharacters, and what SQL or GraphQL might treat specially.
const SPECIAL: &[char] = &[
    '\0',
    '\u{1}',
    '\u{8}',
    '\t',
    '\n',
    '\r',
    '\u{b}',
    '\u{c}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{ad}',
    '\u{300}',
    '\u{301}',
    '\u{34f}',
    '\u{5d0}',
    '\u{627}',
    '\u{645}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{200e}',
    '\u{200f}',
    '\u{202a}',
    '\u{202e}',
    '\u{2028}',
    '\u{2029}',
    '\u{2066}',
    '\u{2069}',
    '\u{3000}',
    '\u{feff}',
    '\u{fffd}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{e000}',
    '\u{1f600}',
    '\u{1f469}',
    '\u{1f3fd}',
    '\u{1f1fa}',
    '\u{10ffff}',
    'İ',
    'ß',
    'ﬃ',
    'ǅ',
    'é',
    '"',
    '\\',
    '\'',
    '%',
    '_',
    '{',
    '$',
    '#',
];

/// Unicode whitespace and the invisible characters `trim` does not remove.
const BLANK: &[char] = &[
    ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
    '\u{2007}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{200b}',
    '\u{feff}',
];

/// Pieces repeated up to the text limits (200, 50 and 20,000 characters).
const PIECES: &[&str] = &[
    "a",
    "é",
    "e\u{301}",
    "\u{1f44d}",
    "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}",
    "\u{627}\u{644}",
    "\u{5e9}\u{5dc}\u{5d5}\u{5dd} ",
    "\u{202e}abc",
    "\u{1}",
];

/// Any character but NUL (which proptest favours, and which would hide the rest of the
/// string from the domain: it is refused first; see `text`).
fn character() -> impl Strategy<Value = char> {
    let any_but_nul = any::<char>().prop_filter("NUL has its own kind of text", |c| *c != '\0');
    prop_oneof![3 => any_but_nul, 2 => prop::sample::select(SPECIAL)]
}

/// `n` characters cycled from `piece`.
fn cycled(piece: &str, n: usize) -> String {
    piece.chars().cycle().take(n).collect()
}

/// Valid values of the typed text fields, to be bent a little: near-misses are what reach
/// a parser's deeper branches.
const QUARTERS: &[&str] = &["2026-Q3", "2026-q4"];
const VERSIONS: &[&str] = &["4.2.1", "2026.12"];
const DATES: &[&str] = &["2026-01-31", "2027-12-01"];
const DATE_TIMES: &[&str] = &["2027-01-31T12:00:00Z", "2027-06-30T23:59:59+02:00"];
const TEMPLATES: &[&str] = &[
    "2026-Q3",
    "4.2.1",
    "2026-01-31",
    "2027-01-31T12:00:00Z",
    "VGlja2V0OjE=",
];

/// Characters of each UTF-8 width from 2 to 4 bytes, to stand in for as many ASCII ones.
const WIDE: [&[char]; 3] = [
    &['é', 'ß', '\u{85}', '\u{301}', '\u{5d0}', '\u{627}'],
    &[
        '€', '\u{200b}', '\u{202e}', '\u{3000}', '\u{feff}', '\u{ffff}',
    ],
    &['\u{1f44d}', '\u{1f600}', '\u{10ffff}'],
];

/// One of `templates` as it is, or bent at one place: a character replaced or inserted, or
/// a run of 2–4 characters replaced by one character of as many bytes (the same byte length
/// with different character boundaries: what trips checks that count bytes, then slice);
/// perhaps padded with blanks.
fn near_miss(templates: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        prop::sample::select(templates),
        prop::sample::select(vec!["keep", "replace", "insert", "same bytes"]),
        any::<prop::sample::Index>(),
        character(),
        (0..WIDE.len(), any::<prop::sample::Index>()),
        prop::sample::select(BLANK),
        any::<bool>(),
    )
        .prop_map(|(template, bend, at, c, (wide, pick), blank, pad)| {
            let mut chars: Vec<char> = template.chars().collect();
            let at = at.index(chars.len() + 1);
            let width = wide + 2;
            match bend {
                "keep" => {}
                "replace" if at < chars.len() => chars[at] = c,
                "same bytes" if at + width <= chars.len() => {
                    let c = WIDE[wide][pick.index(WIDE[wide].len())];
                    chars.splice(at..at + width, [c]);
                }
                _ => chars.insert(at, c),
            }
            let text: String = chars.into_iter().collect();
            if pad {
                format!("{blank}{text}{blank}")
            } else {
                text
            }
        })
}

/// Text for a field that has a shape (`templates`): mostly near-misses of it, some anything.
fn shaped(templates: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![3 => near_miss(templates), 1 => text()]
}

/// Arbitrary text, weighted towards the kinds that break things.
fn text() -> impl Strategy<Value = String> {
    let short = || prop::collection::vec(character(), 0..64).prop_map(String::from_iter);
    // NUL is refused before anything runs, so it gets a kind of its own rather than
    // hiding every other character from the domain.
    let with_nul = (short(), any::<prop::sample::Index>()).prop_map(|(text, at)| {
        let mut chars: Vec<char> = text.chars().collect();
        chars.insert(at.index(chars.len() + 1), '\0');
        chars.into_iter().collect::<String>()
    });
    let blank =
        prop::collection::vec(prop::sample::select(BLANK), 0..40).prop_map(String::from_iter);
    let at_limits = (
        prop::sample::select(vec![49usize, 50, 51, 199, 200, 201, 19_999, 20_000, 20_001]),
        prop::sample::select(PIECES),
    )
        .prop_map(|(n, piece)| cycled(piece, n));
    let long = (
        10_000usize..30_000,
        prop::collection::vec(character(), 1..8).prop_map(String::from_iter),
    )
        .prop_map(|(n, piece)| cycled(&piece, n));
    prop_oneof![
        5 => short(),
        1 => with_nul,
        1 => blank,
        2 => near_miss(TEMPLATES),
        2 => at_limits,
        1 => long,
    ]
}

/// The mutations that take text, each with the state it needs for the text to reach the
/// domain's checks and, when accepted, the database.
#[derive(Debug, Clone, Copy)]
enum Target {
    CreateTicket,
    AddComment,
    EscalateTicket,
    PostEscalationUpdate,
    DeclineEscalation,
    CreateReleaseVersion,
    CreateReleaseQuarter,
    CreateReleasePlannedFor,
    PublishReleaseNote,
    FollowReleaseNotes,
    GrantScopeExpiresAt,
}

const TARGETS: [Target; 11] = [
    Target::CreateTicket,
    Target::AddComment,
    Target::EscalateTicket,
    Target::PostEscalationUpdate,
    Target::DeclineEscalation,
    Target::CreateReleaseVersion,
    Target::CreateReleaseQuarter,
    Target::CreateReleasePlannedFor,
    Target::PublishReleaseNote,
    Target::FollowReleaseNotes,
    Target::GrantScopeExpiresAt,
];

impl Target {
    /// The strings a case sends.
    fn strings(self) -> BoxedStrategy<Vec<String>> {
        let shape = match self {
            Target::CreateReleaseVersion => VERSIONS,
            Target::CreateReleaseQuarter => QUARTERS,
            Target::CreateReleasePlannedFor => DATES,
            Target::GrantScopeExpiresAt => DATE_TIMES,
            Target::CreateTicket | Target::EscalateTicket | Target::PublishReleaseNote => {
                return prop::collection::vec(text(), 2).boxed();
            }
            _ => return prop::collection::vec(text(), 1).boxed(),
        };
        prop::collection::vec(shaped(shape), 1).boxed()
    }
}

/// One mutation to send: as whom, its root field and selection, its input, and where in the
/// payload accepted text comes back (and as what).
struct Mutation<'a> {
    who: &'a User,
    field: &'static str,
    selection: &'static str,
    input: Value,
    echoes: Vec<(&'static str, String)>,
}

/// The server and the people and things every case uses.
struct World {
    app: TestApp,
    customer: User,
    agent: User,
    developer: User,
    lead: User,
    admin: User,
    /// The customer's ticket, for comments.
    ticket: String,
    /// A hotfix escalation in progress, for updates.
    hotfix: String,
    serial: AtomicUsize,
}

impl World {
    async fn new() -> World {
        let app = TestApp::spawn().await;
        let customer = app.customer("acme").await;
        let (agent, developer) = (app.agent().await, app.developer().await);
        let (lead, admin) = (app.triage_lead().await, app.admin().await);
        let ticket = app.create_ticket(&customer, "text goes here").await;
        let hotfixed = app.create_ticket(&customer, "hotfix me").await;
        let hotfix = app.escalate(&agent, &hotfixed, "Hotfix", "P1").await;
        app.triage(&lead, &hotfix, "HOTFIX").await;
        World {
            app,
            customer,
            agent,
            developer,
            lead,
            admin,
            ticket,
            hotfix,
            serial: AtomicUsize::new(0),
        }
    }

    /// A release version no case has used.
    fn version(&self) -> String {
        format!("p-{}", self.serial.fetch_add(1, Ordering::SeqCst))
    }

    /// Sets up what `target` needs, sends it with `s`, and checks the answer.
    async fn case(&self, target: Target, s: &[String]) {
        let app = &self.app;
        let m = match target {
            Target::CreateTicket => Mutation {
                who: &self.customer,
                field: "createTicket",
                selection: "ticket { subject description }",
                input: json!({ "subject": s[0], "description": s[1] }),
                echoes: vec![
                    ("/ticket/subject", s[0].trim().into()),
                    ("/ticket/description", s[1].trim().into()),
                ],
            },
            Target::AddComment => Mutation {
                who: &self.customer,
                field: "addComment",
                selection: "comment { body }",
                input: json!({ "ticketId": self.ticket, "body": s[0], "public": true }),
                echoes: vec![("/comment/body", s[0].trim().into())],
            },
            Target::EscalateTicket => {
                let ticket = app.create_ticket(&self.customer, "to escalate").await;
                Mutation {
                    who: &self.agent,
                    field: "escalateTicket",
                    selection: "escalation { title details }",
                    input: json!({ "ticketId": ticket, "title": s[0], "details": s[1],
                                   "priority": "P2" }),
                    echoes: vec![
                        ("/escalation/title", s[0].trim().into()),
                        ("/escalation/details", s[1].trim().into()),
                    ],
                }
            }
            Target::PostEscalationUpdate => Mutation {
                who: &self.developer,
                field: "postEscalationUpdate",
                selection: "escalationUpdate { body }",
                input: json!({ "escalationId": self.hotfix, "body": s[0], "public": true }),
                echoes: vec![("/escalationUpdate/body", s[0].trim().into())],
            },
            Target::DeclineEscalation => {
                let ticket = app.create_ticket(&self.customer, "to decline").await;
                let esc = app.escalate(&self.agent, &ticket, "Idea", "P3").await;
                app.triage(&self.lead, &esc, "FEATURE_REQUEST").await;
                Mutation {
                    who: &self.lead,
                    field: "declineEscalation",
                    selection: "escalation { status }",
                    input: json!({ "escalationId": esc, "reason": s[0] }),
                    echoes: vec![],
                }
            }
            Target::CreateReleaseVersion => Mutation {
                who: &self.lead,
                field: "createRelease",
                selection: "release { version }",
                input: json!({ "version": s[0], "kind": "HOTFIX" }),
                echoes: vec![("/release/version", s[0].trim().into())],
            },
            Target::CreateReleaseQuarter => Mutation {
                who: &self.lead,
                field: "createRelease",
                selection: "release { quarter }",
                input: json!({ "version": self.version(), "kind": "QUARTERLY", "quarter": s[0] }),
                echoes: vec![],
            },
            Target::CreateReleasePlannedFor => Mutation {
                who: &self.lead,
                field: "createRelease",
                selection: "release { plannedFor }",
                input: json!({ "version": self.version(), "kind": "HOTFIX", "plannedFor": s[0] }),
                echoes: vec![],
            },
            Target::PublishReleaseNote => {
                let release = app
                    .create_release(&self.lead, &self.version(), "HOTFIX")
                    .await;
                app.mark_imminent(&self.lead, &release).await;
                Mutation {
                    who: &self.lead,
                    field: "publishReleaseNote",
                    selection: "releaseNote { title body }",
                    input: json!({ "releaseId": release, "title": s[0], "body": s[1] }),
                    echoes: vec![
                        ("/releaseNote/title", s[0].trim().into()),
                        ("/releaseNote/body", s[1].trim().into()),
                    ],
                }
            }
            Target::FollowReleaseNotes => Mutation {
                who: &self.customer,
                field: "followReleaseNotes",
                selection: "following clientMutationId",
                input: json!({ "clientMutationId": s[0] }),
                // Echoed as sent, untrimmed: it is the client's, not text we keep.
                echoes: vec![("/clientMutationId", s[0].clone())],
            },
            Target::GrantScopeExpiresAt => Mutation {
                who: &self.admin,
                field: "grantOrganizationScope",
                selection: "user { id }",
                input: json!({ "userId": self.customer.id, "expiresAt": s[0] }),
                echoes: vec![],
            },
        };
        let Mutation {
            who,
            field,
            selection,
            input,
            echoes,
        } = m;
        let input_type = format!("{}{}Input", field[..1].to_uppercase(), &field[1..]);
        let query =
            format!("mutation($i: {input_type}!) {{ {field}(input: $i) {{ {selection} }} }}");
        let body = json!({ "query": query, "variables": { "i": input } });
        let (status, res) = app.post(Some(&who.token), body).await;
        assert!(!status.is_server_error(), "{status} for {target:?}: {res}");
        let errors = res["errors"].as_array().cloned().unwrap_or_default();
        if !status.is_success() {
            assert!(
                !errors.is_empty(),
                "{status} without errors for {target:?}: {res}"
            );
        }
        for err in &errors {
            let code = err["extensions"]["code"].as_str().unwrap_or("");
            assert!(CODES.contains(&code), "code {code:?} for {target:?}: {res}");
        }
        if errors.is_empty() {
            let payload = &res["data"][field];
            assert!(payload.is_object(), "no payload for {target:?}: {res}");
            for (pointer, expected) in echoes {
                assert_eq!(
                    payload.pointer(pointer).and_then(Value::as_str),
                    Some(expected.as_str()),
                    "{target:?} stored {pointer} differently"
                );
            }
        }
        // The server is still there and still answers.
        let res = app
            .gql(Some(&self.customer), "{ viewer { id } }", json!({}))
            .await;
        assert_eq!(
            res["data"]["viewer"]["id"],
            self.customer.id.as_str(),
            "{res}"
        );
    }
}

#[test]
fn no_text_breaks_a_mutation() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let world = runtime.block_on(World::new());
    let mut failures = Vec::new();
    for (i, target) in TARGETS.into_iter().enumerate() {
        let config = RunnerConfig {
            cases,
            failure_persistence: None,
            ..RunnerConfig::default()
        };
        let seed = [u8::try_from(i).expect("few targets"); 32];
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let strings = target.strings();
        let outcome = runner.run(&strings, |s| {
            runtime.block_on(world.case(target, &s));
            Ok(())
        });
        match outcome {
            Ok(()) => {}
            Err(TestError::Fail(why, s)) => failures.push(format!("{target:?} with {s:?}: {why}")),
            Err(TestError::Abort(why)) => failures.push(format!("{target:?} aborted: {why}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
