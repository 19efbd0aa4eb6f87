//! Who is mailed, end to end: a real tier3 (real HTTP, real JWTs, SQLite or PostgreSQL)
//! sends through lettre to a real SMTP server on a free port (`common::smtp`), and the
//! tests read the raw messages it received — envelope recipients, headers, MIME parts.
//!
//! The contract: only users with an `email` claim are mailed, once per person and event,
//! never the person who caused it; release-note followers when a note is published; a
//! ticket's requester for public comments by someone else (relayed hotfix updates and the
//! automatic escalation comments included), once when it is solved, and when what they
//! asked for ships. Nothing internal is ever mailed. Every mail has a one-click unsubscribe
//! link (RFC 8058) for its category.

mod common;

use common::{
    TestApp, User, code, data, eventually, made_up,
    smtp::{Received, SmtpServer},
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// `TIER3_PUBLIC_URL` of every test server: the base of the links in mail.
const PUBLIC_URL: &str = "https://desk.example.test";

const PREFS: &str =
    "{ viewer { notificationPreferences { emailReleaseNotes emailTicketUpdates } } }";
const UPDATE_PREFS: &str = "mutation($i: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $i) {
    notificationPreferences { emailReleaseNotes emailTicketUpdates } } }";
const DELIVERIES: &str = "query($f: DeliveryFilter) { deliveries(first: 100, filter: $f) {
  nodes { id channel status attempts lastError target createdAt deliveredAt nextAttemptAt } } }";
const RETRY: &str = "mutation($i: RetryDeliveryInput!) { retryDelivery(input: $i) {
  delivery { id status attempts } } }";

/// A tier3 that mails through a real SMTP server.
struct Desk {
    app: TestApp,
    smtp: SmtpServer,
}

impl Desk {
    async fn new() -> Desk {
        let smtp = SmtpServer::start().await;
        let url = smtp.url();
        let app = TestApp::spawn_with(|c| {
            c.notify.smtp_url = Some(tier3::config::Secret(url));
            c.notify.public_url = PUBLIC_URL.into();
            // The first mail retry after 15 s × 0.05 < 1 s.
            c.notify.delivery_backoff_scale = 0.05;
        })
        .await;
        Desk { app, smtp }
    }

    /// The messages whose envelope names `user`'s address.
    fn mails_to(&self, user: &User) -> Vec<Received> {
        self.smtp.messages_to(&address(user))
    }

    /// Waits until the planner has decided every event in the log and no delivery is
    /// pending: from then on, what the SMTP server holds is all that will be sent.
    async fn settle(&self) {
        let latest = self.app.latest_position().await;
        let latest = (latest.tx, latest.id);
        let app = &self.app;
        let settled = eventually(20, || async move {
            cursor(app).await >= latest
                && app.count_rows("delivery WHERE status = 'PENDING'").await == 0
        })
        .await;
        assert!(
            settled,
            "deliveries did not settle: cursor {:?} < {latest:?} or pending rows; received:\n{}",
            cursor(app).await,
            show(&self.smtp.messages())
        );
    }

    /// A ticket's number, as `who` reads it.
    async fn number(&self, who: &User, ticket: &str) -> i64 {
        let res = self
            .app
            .gql(
                Some(who),
                "query($id: ID!) { ticket(id: $id) { number } }",
                json!({ "id": ticket }),
            )
            .await;
        data(&res)["ticket"]["number"].as_i64().expect("number")
    }

    /// `who`'s `{ emailReleaseNotes, emailTicketUpdates }` as the API shows them.
    async fn prefs(&self, who: &User) -> Value {
        let res = self.app.gql(Some(who), PREFS, json!({})).await;
        data(&res)["viewer"]["notificationPreferences"].clone()
    }

    async fn set_prefs(&self, who: &User, input: Value) -> Value {
        let res = self
            .app
            .gql(Some(who), UPDATE_PREFS, json!({ "i": input }))
            .await;
        data(&res)["updateNotificationPreferences"]["notificationPreferences"].clone()
    }

    /// The delivery rows an admin sees, optionally filtered.
    async fn deliveries(&self, admin: &User, filter: Value) -> Vec<Value> {
        let res = self
            .app
            .gql(Some(admin), DELIVERIES, json!({ "f": filter }))
            .await;
        data(&res)["deliveries"]["nodes"]
            .as_array()
            .expect("nodes")
            .clone()
    }

    /// A shipped hotfix release with nothing in it, ready for a note.
    async fn shipped_release(&self, lead: &User, version: &str) -> String {
        let rel = self.app.create_release(lead, version, "HOTFIX").await;
        self.app.ship(lead, &rel).await;
        rel
    }
}

/// The planner's stored position in the event log.
async fn cursor(app: &TestApp) -> (i64, i64) {
    use sea_orm::ConnectionTrait;
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
    (
        row.try_get("", "tx").unwrap(),
        row.try_get("", "event_id").unwrap(),
    )
}

/// The address every test user's token carries (`common::claims`).
fn address(user: &User) -> String {
    format!("{}@example.com", user.sub)
}

fn show(mails: &[Received]) -> String {
    if mails.is_empty() {
        return "(no mail)".into();
    }
    mails
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one message to `user`, failing with every message received when there is not
/// exactly one.
#[track_caller]
fn only_to(desk: &Desk, user: &User) -> Received {
    let got = desk.mails_to(user);
    assert_eq!(
        got.len(),
        1,
        "exactly one mail to {}; all mail:\n{}",
        address(user),
        show(&desk.smtp.messages())
    );
    got.into_iter().next().unwrap()
}

fn subject(m: &Received) -> String {
    m.parsed().decoded("Subject")
}

fn text(m: &Received) -> String {
    m.parsed().part("text/plain")
}

fn html(m: &Received) -> String {
    m.parsed().part("text/html")
}

/// The unsubscribe URL of a mail's `List-Unsubscribe: <…>` header.
#[track_caller]
fn unsubscribe_url(m: &Received) -> String {
    let value = m.parsed().one("List-Unsubscribe");
    let url = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or_else(|| panic!("List-Unsubscribe is not <url>: {value}\n{m}"));
    assert!(
        url.starts_with(&format!("{PUBLIC_URL}/unsubscribe?token=")),
        "List-Unsubscribe points at {url}, not {PUBLIC_URL}/unsubscribe?token=…\n{m}"
    );
    let token = &url[url.find("token=").unwrap() + "token=".len()..];
    assert!(
        token.len() >= 20
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_%".contains(c)),
        "an unguessable token: {token}\n{m}"
    );
    url.to_owned()
}

/// The same link on the test server (the public URL is the frontend's, in front of it).
fn on_server(app: &TestApp, url: &str) -> String {
    app.url(url.strip_prefix(PUBLIC_URL).expect("a public URL"))
}

/// Asserts `needle` appears in no message: raw, or any decoded part or header.
#[track_caller]
fn in_no_mail(desk: &Desk, needle: &str) {
    for m in desk.smtp.messages() {
        let p = m.parsed();
        let decoded: Vec<String> = p.parts().into_iter().map(|part| part.text).collect();
        assert!(
            !m.data.contains(needle)
                && !decoded.iter().any(|t| t.contains(needle))
                && !p.decoded("Subject").contains(needle),
            "`{needle}` must be in no mail, but is in:\n{m}"
        );
    }
}

/// Asserts nobody but `allowed` received anything.
#[track_caller]
fn only_mailed(desk: &Desk, allowed: &[&User]) {
    for m in desk.smtp.messages() {
        assert!(
            allowed.iter().any(|u| m.is_to(&address(u))),
            "mail to someone not concerned:\n{m}"
        );
        assert_eq!(m.rcpt.len(), 1, "one recipient per message:\n{m}");
    }
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// RFC 8058's one-click POST, with no credentials of any kind.
async fn one_click(url: &str) -> reqwest::Response {
    no_redirects()
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("POST the unsubscribe link")
}

// ---- the test server itself ---------------------------------------------------------------

#[tokio::test]
async fn the_test_smtp_server_stops_and_resumes_on_the_same_port() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port();
    let probe = || async move { tokio::net::TcpStream::connect(("127.0.0.1", port)).await };
    assert!(probe().await.is_ok(), "listening");
    smtp.stop().await;
    assert!(probe().await.is_err(), "refused while stopped");
    smtp.resume();
    assert!(probe().await.is_ok(), "listening again on {port}");
}

// ---- 1. release notes ---------------------------------------------------------------------

#[tokio::test]
async fn a_published_note_mails_each_follower_once_but_not_the_publisher_or_others() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let bob = app.customer("initech").await;
    let carol = app.customer("globex").await;
    let dave = app.customer("acme").await; // follows nothing
    let lead = app.triage_lead().await;
    for who in [&bob, &carol, &lead] {
        app.follow_release_notes(who).await;
    }

    let rel = desk.shipped_release(&lead, "4.3.0").await;
    desk.settle().await;
    assert!(
        desk.smtp.messages().is_empty(),
        "planning and shipping a release mails nobody:\n{}",
        show(&desk.smtp.messages())
    );
    app.publish_note(&lead, &rel, "Faster exports").await;
    desk.settle().await;

    let to_bob = only_to(&desk, &bob);
    let to_carol = only_to(&desk, &carol);
    assert!(desk.mails_to(&dave).is_empty(), "not a follower");
    assert!(
        desk.mails_to(&lead).is_empty(),
        "the publisher caused it:\n{}",
        show(&desk.mails_to(&lead))
    );
    only_mailed(&desk, &[&bob, &carol]);

    let mut ids = Vec::new();
    for m in [&to_bob, &to_carol] {
        let p = m.parsed();
        assert_eq!(subject(m), "Release 4.3.0: Faster exports", "{m}");
        let (t, h) = (text(m), html(m));
        for part in [&t, &h] {
            assert!(
                part.contains("4.3.0") && part.contains("Faster exports"),
                "the body names the version and the title:\n{m}"
            );
            assert!(
                part.contains("All about Faster exports"),
                "the note's body:\n{m}"
            );
        }
        let id = p.one("Message-ID");
        assert!(
            id.starts_with('<') && id.ends_with('>') && id.contains('@'),
            "Message-ID {id}:\n{m}"
        );
        ids.push(id);
        unsubscribe_url(m);
        assert_eq!(
            p.one("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click",
            "{m}"
        );
        assert!(
            p.one("Content-Type").starts_with("multipart/alternative"),
            "{m}"
        );
        assert!(
            p.one("To").contains(&address(m_owner(m, &bob, &carol))),
            "To names the recipient:\n{m}"
        );
    }
    assert_ne!(ids[0], ids[1], "a Message-ID per delivery");
    assert_ne!(
        unsubscribe_url(&to_bob),
        unsubscribe_url(&to_carol),
        "a token per user"
    );

    // User text in the HTML part is escaped; the text part has it as written.
    let rel = desk.shipped_release(&lead, "4.3.1").await;
    let title = r#"<b>x</b> & "y""#;
    app.publish_note(&lead, &rel, title).await;
    desk.settle().await;
    let mails = desk.mails_to(&bob);
    assert_eq!(mails.len(), 2, "{}", show(&mails));
    let m = &mails[1];
    assert_eq!(subject(m), format!("Release 4.3.1: {title}"), "{m}");
    let h = html(m);
    assert!(
        h.contains("&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;"),
        "escaped title in the html part:\n{h}\n{m}"
    );
    assert!(!h.contains("<b>x</b>"), "unescaped user text in html:\n{h}");
    assert!(text(m).contains(title), "the text part as written:\n{m}");
    assert_eq!(desk.mails_to(&carol).len(), 2);
    assert!(desk.mails_to(&lead).is_empty() && desk.mails_to(&dave).is_empty());
}

fn m_owner<'a>(m: &Received, a: &'a User, b: &'a User) -> &'a User {
    if m.is_to(&address(a)) { a } else { b }
}

// ---- 2. ticket comments -------------------------------------------------------------------

#[tokio::test]
async fn public_replies_by_others_mail_the_requester_and_nothing_else_does() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let other_agent = app.agent().await;

    let t = app.create_ticket(&alice, "invoice totals are wrong").await;
    let n = desk.number(&alice, &t).await;
    app.comment(&agent, &t, "INTERNAL-NOTE: ledger rounding bug", false)
        .await;
    app.set_status(&agent, &t, "PENDING").await;
    desk.settle().await;
    assert!(
        desk.smtp.messages().is_empty(),
        "creating, an internal note and a status change mail nobody:\n{}",
        show(&desk.smtp.messages())
    );

    app.comment(&agent, &t, "We are looking into it", true)
        .await;
    desk.settle().await;
    let first = only_to(&desk, &alice);
    assert!(desk.mails_to(&agent).is_empty(), "the author is not mailed");
    assert!(
        subject(&first).contains(&format!("[Ticket #{n}]")),
        "subject names the ticket:\n{first}"
    );
    assert!(
        subject(&first).contains("invoice totals are wrong"),
        "{first}"
    );
    assert!(text(&first).contains("We are looking into it"), "{first}");
    assert!(html(&first).contains("We are looking into it"), "{first}");

    // The requester's own reply (which also reopens the ticket) mails nobody.
    app.comment(&alice, &t, "Thanks, waiting for news", true)
        .await;
    desk.settle().await;
    assert_eq!(
        desk.smtp.messages().len(),
        1,
        "the requester caused it:\n{}",
        show(&desk.smtp.messages())
    );

    app.comment(
        &other_agent,
        &t,
        "Found it: the fix ships Friday <script>alert(1)</script> & more",
        true,
    )
    .await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(mails.len(), 2, "{}", show(&mails));
    only_mailed(&desk, &[&alice]);
    let second = &mails[1];
    assert!(
        text(second).contains("the fix ships Friday <script>alert(1)</script> & more"),
        "the text part as written:\n{second}"
    );
    let h = html(second);
    assert!(
        h.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more") && !h.contains("<script>"),
        "user text escaped in html:\n{h}"
    );
    assert!(
        subject(second).contains(&format!("[Ticket #{n}]")),
        "{second}"
    );
    let (a, b) = (first.parsed(), second.parsed());
    assert_ne!(a.one("Message-ID"), b.one("Message-ID"));
    assert!(!a.one("In-Reply-To").is_empty(), "{first}");
    assert_eq!(
        a.one("In-Reply-To"),
        b.one("In-Reply-To"),
        "one thread:\n{first}\n{second}"
    );
    assert_eq!(
        a.one("References"),
        b.one("References"),
        "one thread:\n{first}\n{second}"
    );
    in_no_mail(&desk, "INTERNAL-NOTE");
    in_no_mail(&desk, "ledger rounding");

    // Solved by an agent: one mail saying so; closing it afterwards mails nobody.
    app.set_status(&agent, &t, "SOLVED").await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(mails.len(), 3, "one mail for the solve:\n{}", show(&mails));
    let solved = &mails[2];
    assert!(
        subject(solved).contains(&format!("[Ticket #{n}]"))
            && subject(solved).to_lowercase().contains("solved"),
        "{solved}"
    );
    assert_eq!(
        solved.parsed().one("In-Reply-To"),
        a.one("In-Reply-To"),
        "the solve is in the ticket's thread:\n{solved}"
    );
    app.set_status(&agent, &t, "CLOSED").await;
    desk.settle().await;
    assert_eq!(
        desk.smtp.messages().len(),
        3,
        "closing mails nobody:\n{}",
        show(&desk.smtp.messages())
    );
}

// ---- 3. the hotfix story ------------------------------------------------------------------

#[tokio::test]
async fn hotfix_story_mails_each_public_step_and_the_solve_once() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let dev = app.developer().await;
    let lead = app.triage_lead().await;

    let carol = app.customer("globex").await;
    let t = app.create_ticket(&alice, "checkout returns 502").await;
    let n = desk.number(&alice, &t).await;
    let t2 = app.create_ticket(&carol, "GLOBEX-ONLY payments fail").await;
    let n2 = desk.number(&carol, &t2).await;
    desk.settle().await;
    assert!(
        desk.smtp.messages().is_empty(),
        "opening a ticket mails nobody"
    );

    // Escalated: the automatic public comment is one mail.
    let esc = app
        .escalate(&agent, &t, "Checkout fails for EUR payments", "P1")
        .await;
    desk.settle().await;
    let escalated = only_to(&desk, &alice);
    assert!(
        text(&escalated).contains("escalated") && text(&escalated).contains("Tier 3"),
        "{escalated}"
    );
    in_no_mail(&desk, "SECRET-DETAILS");

    // Another organization's ticket joins the escalation: its requester is told on it.
    app.link(&agent, &esc, &t2).await;
    desk.settle().await;
    let linked = desk.mails_to(&carol).len();
    assert_eq!(linked, 1, "{}", show(&desk.mails_to(&carol)));
    assert_eq!(
        desk.mails_to(&alice).len(),
        1,
        "alice is not told of carol's ticket"
    );

    // Triaged onto the hotfix track: its public comment is a mail (the move to on hold is
    // not another).
    app.triage_with(&lead, &esc, "HOTFIX", json!({ "assigneeId": dev.id }))
        .await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(mails.len(), 2, "{}", show(&mails));
    assert!(text(&mails[1]).contains("hotfix"), "{}", mails[1]);

    // A public update is relayed to the ticket, and mailed; an internal one is not.
    app.post_update(&dev, &esc, "PATCH-READY: we are testing a fix", true)
        .await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(mails.len(), 3, "{}", show(&mails));
    assert!(
        text(&mails[2]).contains("PATCH-READY: we are testing a fix"),
        "{}",
        mails[2]
    );
    app.post_update(&dev, &esc, "INTERNAL-ROOT: stale FX cache", false)
        .await;
    desk.settle().await;
    assert_eq!(
        desk.mails_to(&alice).len(),
        3,
        "{}",
        show(&desk.mails_to(&alice))
    );
    in_no_mail(&desk, "INTERNAL-ROOT");
    in_no_mail(&desk, "stale FX cache");

    let rel = app.create_release(&lead, "4.2.1", "HOTFIX").await;
    app.schedule(&lead, &esc, &rel).await;
    desk.settle().await;
    let before = desk.mails_to(&alice).len();

    // Imminent: the ticket is solved with a public comment — one mail for both.
    app.mark_imminent(&lead, &rel).await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(
        mails.len(),
        before + 1,
        "exactly one mail for the solve:\n{}",
        show(&mails[before..])
    );
    let solved = &mails[before];
    let s = subject(solved);
    assert!(
        s.contains(&format!("#{n}")) && s.to_lowercase().contains("solved"),
        "the subject says solved and names ticket #{n}: {s}\n{solved}"
    );
    assert!(
        text(solved).contains("being released"),
        "the solve's comment is in the solve's mail:\n{solved}"
    );

    // Shipping a hotfix whose tickets are solved mails nobody again.
    app.ship(&lead, &rel).await;
    desk.settle().await;
    assert_eq!(desk.mails_to(&alice).len(), before + 1);

    // Carol heard the same public steps about her own ticket — triage, the relayed
    // update, one solve — and neither customer's mail names the other's ticket.
    let to_carol = desk.mails_to(&carol);
    assert_eq!(to_carol.len(), linked + 3, "{}", show(&to_carol));
    let carol_solved = to_carol.last().unwrap();
    assert!(
        subject(carol_solved).contains(&format!("#{n2}"))
            && subject(carol_solved).to_lowercase().contains("solved"),
        "{carol_solved}"
    );
    for m in &to_carol {
        assert!(subject(m).contains(&format!("[Ticket #{n2}]")), "{m}");
        assert!(
            !m.data.contains("checkout returns 502"),
            "alice's ticket in carol's mail:\n{m}"
        );
    }
    for m in &desk.mails_to(&alice) {
        assert!(subject(m).contains(&format!("[Ticket #{n}]")), "{m}");
        assert!(
            !m.data.contains("GLOBEX-ONLY"),
            "carol's ticket in alice's mail:\n{m}"
        );
    }

    only_mailed(&desk, &[&alice, &carol]);
    let threads: Vec<String> = desk
        .mails_to(&alice)
        .iter()
        .map(|m| m.parsed().one("In-Reply-To"))
        .collect();
    assert!(
        threads.windows(2).all(|w| w[0] == w[1]),
        "every mail of the ticket in one thread: {threads:?}"
    );
    in_no_mail(&desk, "INTERNAL-ROOT");
    in_no_mail(&desk, "SECRET-DETAILS");
}

// ---- 4. the feature story -----------------------------------------------------------------

#[tokio::test]
async fn feature_story_mails_the_requester_when_the_request_ships() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;

    let t = app.create_ticket(&alice, "please add CSV export").await;
    let esc = app
        .escalate(&agent, &t, "CSV export for invoices", "P2")
        .await;
    desk.settle().await;
    assert_eq!(desk.mails_to(&alice).len(), 1, "the escalation comment");

    // Onto the feature track: the ticket is solved with a public comment, one mail.
    app.triage(&lead, &esc, "FEATURE_REQUEST").await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(
        mails.len(),
        2,
        "one mail for the solve at triage:\n{}",
        show(&mails)
    );
    assert!(
        subject(&mails[1]).to_lowercase().contains("solved"),
        "{}",
        mails[1]
    );
    assert!(text(&mails[1]).contains("reviewing"), "{}", mails[1]);

    let rel = app.create_release(&lead, "2026.4", "QUARTERLY").await;
    app.schedule(&lead, &esc, &rel).await;
    desk.settle().await;
    let before = desk.mails_to(&alice).len();

    app.ship(&lead, &rel).await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(
        mails.len(),
        before + 1,
        "one mail for the shipped request:\n{}",
        show(&mails[before..])
    );
    let shipped = &mails[before];
    let s = subject(shipped);
    assert!(
        s.contains("CSV export for invoices") && s.contains("2026.4"),
        "the subject names the escalation title and the release: {s}\n{shipped}"
    );
    for part in [text(shipped), html(shipped)] {
        assert!(
            part.contains("CSV export for invoices") && part.contains("2026.4"),
            "the body names the escalation title and the release:\n{shipped}"
        );
    }
    unsubscribe_url(shipped);
    only_mailed(&desk, &[&alice]);
    in_no_mail(&desk, "SECRET-DETAILS");
}

// ---- 5. preferences -----------------------------------------------------------------------

#[tokio::test]
async fn preferences_default_on_are_private_and_turn_ticket_mail_off() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let all_on = json!({ "emailReleaseNotes": true, "emailTicketUpdates": true });
    assert_eq!(desk.prefs(&alice).await, all_on);
    assert_eq!(desk.prefs(&agent).await, all_on);

    let t = app.create_ticket(&alice, "exports time out").await;
    app.comment(&agent, &t, "Looking", true).await;
    app.update_ticket(&agent, json!({ "ticketId": t, "assigneeId": agent.id }))
        .await;

    // Someone else's preferences are null, whoever asks and however they reach the user.
    let res = app
        .gql(
            Some(&alice),
            "query($id: ID!) { ticket(id: $id) {
               assignee { id notificationPreferences { emailTicketUpdates } }
               comments(first: 10) { nodes { author { id notificationPreferences { emailTicketUpdates } } } }
               requester { id notificationPreferences { emailTicketUpdates } } } }",
            json!({ "id": t }),
        )
        .await;
    let ticket = &data(&res)["ticket"];
    let author = &ticket["comments"]["nodes"][0]["author"];
    assert_eq!(author["id"], agent.id.as_str(), "{res}");
    assert!(author["notificationPreferences"].is_null(), "{res}");
    if !ticket["assignee"].is_null() {
        assert!(
            ticket["assignee"]["notificationPreferences"].is_null(),
            "{res}"
        );
    }
    assert_eq!(
        ticket["requester"]["notificationPreferences"],
        json!({ "emailTicketUpdates": true }),
        "one's own: {res}"
    );
    let res = app
        .gql(
            Some(&agent),
            "query($id: ID!) { ticket(id: $id) { requester { id email notificationPreferences { emailTicketUpdates } } } }",
            json!({ "id": t }),
        )
        .await;
    let requester = &data(&res)["ticket"]["requester"];
    assert_eq!(
        requester["email"],
        address(&alice),
        "staff see the address: {res}"
    );
    assert!(
        requester["notificationPreferences"].is_null(),
        "but not the preferences: {res}"
    );
    let res = app
        .gql(
            Some(&agent),
            "query($id: ID!) { node(id: $id) { ... on User { notificationPreferences { emailReleaseNotes } } } }",
            json!({ "id": alice.id }),
        )
        .await;
    assert!(
        res["data"]["node"]["notificationPreferences"].is_null(),
        "{res}"
    );

    desk.settle().await;
    assert_eq!(desk.mails_to(&alice).len(), 1, "mailed while on");

    // Off: no more ticket mail.
    let off = json!({ "emailReleaseNotes": true, "emailTicketUpdates": false });
    assert_eq!(
        desk.set_prefs(&alice, json!({ "emailTicketUpdates": false }))
            .await,
        off
    );
    assert_eq!(desk.prefs(&alice).await, off);
    app.comment(&agent, &t, "OFF-WHILE: still looking", true)
        .await;
    desk.settle().await;
    assert_eq!(
        desk.mails_to(&alice).len(),
        1,
        "turned off:\n{}",
        show(&desk.mails_to(&alice))
    );
    in_no_mail(&desk, "OFF-WHILE");

    // On again: mailed again (a field left out stays as it is).
    assert_eq!(
        desk.set_prefs(&alice, json!({ "emailTicketUpdates": true }))
            .await,
        all_on
    );
    app.comment(&agent, &t, "ON-AGAIN: found it", true).await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(mails.len(), 2, "{}", show(&mails));
    assert!(text(&mails[1]).contains("ON-AGAIN"), "{}", mails[1]);

    // Anonymous: refused.
    let res = app
        .gql(
            None,
            UPDATE_PREFS,
            json!({ "i": { "emailTicketUpdates": false } }),
        )
        .await;
    assert_eq!(code(&res), "UNAUTHENTICATED", "{res}");
    let res = app.gql(None, PREFS, json!({})).await;
    assert!(res["data"]["viewer"].is_null(), "{res}");
    assert_eq!(desk.prefs(&alice).await, all_on);
}

// ---- 6. one-click unsubscribe -------------------------------------------------------------

#[tokio::test]
async fn one_click_unsubscribe_turns_off_that_category_for_that_user_only() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let alice = app.customer("acme").await;
    let bob = app.customer("initech").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;
    app.follow_release_notes(&alice).await;
    app.follow_release_notes(&bob).await;
    let all_on = json!({ "emailReleaseNotes": true, "emailTicketUpdates": true });

    let t = app.create_ticket(&alice, "search is slow").await;
    app.comment(&agent, &t, "We are on it", true).await;
    desk.settle().await;
    let ticket_mail = only_to(&desk, &alice);
    let url = on_server(app, &unsubscribe_url(&ticket_mail));

    // GET is a confirmation page and changes nothing (link scanners fetch URLs in mail).
    let res = no_redirects().get(&url).send().await.expect("GET");
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    let content_type = res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = res.text().await.unwrap();
    assert!(page.to_lowercase().contains("unsubscribe"), "{page}");
    assert_eq!(desk.prefs(&alice).await, all_on, "GET changed nothing");

    // A body other than RFC 8058's changes nothing either.
    let res = no_redirects()
        .post(&url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("something=else")
        .send()
        .await
        .unwrap();
    assert!(!res.status().is_success(), "{}", res.status());
    assert_eq!(desk.prefs(&alice).await, all_on);

    // A forged token: 4xx, and nothing changes for anyone.
    let forged = format!(
        "{}/unsubscribe?token={}",
        app.url(""),
        uuid::Uuid::new_v4().simple()
    );
    for url in [
        forged.clone(),
        app.url("/unsubscribe"),
        app.url("/unsubscribe?token="),
    ] {
        let res = one_click(&url).await;
        assert!(res.status().is_client_error(), "{url}: {}", res.status());
    }
    assert_eq!(desk.prefs(&alice).await, all_on);
    assert_eq!(desk.prefs(&bob).await, all_on);

    // The one-click POST, with no credentials: 2xx, no redirect, ticket mail off.
    let res = one_click(&url).await;
    assert!(
        res.status().is_success(),
        "one-click answers 2xx, not {} (redirects are not followed by mail providers)",
        res.status()
    );
    assert_eq!(
        desk.prefs(&alice).await,
        json!({ "emailReleaseNotes": true, "emailTicketUpdates": false })
    );
    assert_eq!(desk.prefs(&bob).await, all_on, "only the token's user");
    let res = one_click(&url).await;
    assert!(res.status().is_success(), "idempotent: {}", res.status());

    // The next ticket event mails nothing; release notes still do.
    app.comment(&agent, &t, "AFTER-UNSUB: a fix is coming", true)
        .await;
    let rel = desk.shipped_release(&lead, "5.0.1").await;
    app.publish_note(&lead, &rel, "Search is fast again").await;
    desk.settle().await;
    in_no_mail(&desk, "AFTER-UNSUB");
    let mails = desk.mails_to(&alice);
    assert_eq!(mails.len(), 2, "{}", show(&mails));
    let note_mail = &mails[1];
    assert_eq!(
        subject(note_mail),
        "Release 5.0.1: Search is fast again",
        "{note_mail}"
    );
    let bob_note = only_to(&desk, &bob);

    // Each category and user has a token of its own: alice's release-note link turns off
    // alice's release notes, not bob's.
    let alice_notes = unsubscribe_url(note_mail);
    let bob_notes = unsubscribe_url(&bob_note);
    assert_ne!(
        alice_notes,
        unsubscribe_url(&ticket_mail),
        "a token per category"
    );
    assert_ne!(alice_notes, bob_notes, "a token per user");
    let res = one_click(&on_server(app, &alice_notes)).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        desk.prefs(&alice).await,
        json!({ "emailReleaseNotes": false, "emailTicketUpdates": false })
    );
    assert_eq!(desk.prefs(&bob).await, all_on);

    let rel = desk.shipped_release(&lead, "5.0.2").await;
    app.publish_note(&lead, &rel, "Even faster").await;
    desk.settle().await;
    assert_eq!(
        desk.mails_to(&alice).len(),
        2,
        "{}",
        show(&desk.mails_to(&alice))
    );
    let bob_mails = desk.mails_to(&bob);
    assert_eq!(bob_mails.len(), 2, "bob still mailed: {}", show(&bob_mails));
    assert_eq!(subject(&bob_mails[1]), "Release 5.0.2: Even faster");
}

// ---- 7. SMTP down ------------------------------------------------------------------------

#[tokio::test]
async fn a_note_published_while_smtp_is_down_reaches_every_follower_once_afterwards() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let admin = app.admin().await;
    let lead = app.triage_lead().await;
    let bob = app.customer("initech").await;
    let carol = app.customer("globex").await;
    app.follow_release_notes(&bob).await;
    app.follow_release_notes(&carol).await;
    let rel = desk.shipped_release(&lead, "6.1.0").await;
    desk.settle().await;

    desk.smtp.stop().await;
    app.publish_note(&lead, &rel, "Offline publishing").await;

    // Both deliveries are tried and fail while the server is down.
    let failed_once = eventually(20, || async {
        let rows = desk.deliveries(&admin, json!({ "channel": "EMAIL" })).await;
        rows.len() == 2
            && rows.iter().all(|r| {
                r["status"] == "PENDING"
                    && r["attempts"].as_i64() >= Some(1)
                    && r["lastError"].is_string()
            })
    })
    .await;
    let rows = desk.deliveries(&admin, json!({ "channel": "EMAIL" })).await;
    assert!(failed_once, "attempted and failed while down: {rows:#?}");
    assert!(desk.smtp.messages().is_empty());

    desk.smtp.resume();
    let arrived = eventually(20, || async {
        !desk.mails_to(&bob).is_empty() && !desk.mails_to(&carol).is_empty()
    })
    .await;
    assert!(
        arrived,
        "delivered after the server came back: {:#?}\n{}",
        desk.deliveries(&admin, json!({})).await,
        show(&desk.smtp.messages())
    );
    desk.settle().await;
    // A little longer: a duplicate would come from a retry in flight.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let to_bob = only_to(&desk, &bob);
    only_to(&desk, &carol);
    assert_eq!(
        subject(&to_bob),
        "Release 6.1.0: Offline publishing",
        "{to_bob}"
    );
    only_mailed(&desk, &[&bob, &carol]);

    let rows = desk.deliveries(&admin, json!({ "channel": "EMAIL" })).await;
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for r in &rows {
        assert_eq!(r["status"], "DELIVERED", "{r}");
        assert!(r["attempts"].as_i64() >= Some(2), "retried: {r}");
        assert!(r["deliveredAt"].is_string(), "{r}");
    }
    let mut targets: Vec<&str> = rows.iter().map(|r| r["target"].as_str().unwrap()).collect();
    targets.sort();
    let mut expected = vec![address(&bob), address(&carol)];
    expected.sort();
    assert_eq!(targets, expected);
    let delivered = desk
        .deliveries(&admin, json!({ "channel": "EMAIL", "status": "DELIVERED" }))
        .await;
    assert_eq!(delivered.len(), 2);
    assert!(
        desk.deliveries(&admin, json!({ "status": "PENDING" }))
            .await
            .is_empty()
    );
}

// ---- 8. who is never mailed ---------------------------------------------------------------

#[tokio::test]
async fn users_without_an_address_and_former_followers_are_not_mailed() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let admin = app.admin().await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;
    let mut claims = common::claims(&common::unique_sub("customer"), "customer", Some("acme"));
    claims.email = None;
    let nomail = app.sign_in(&claims).await;
    let eve = app.customer("acme").await;
    let bob = app.customer("initech").await;

    for who in [&nomail, &eve, &bob] {
        app.follow_release_notes(who).await;
    }
    let res = app
        .gql(
            Some(&eve),
            "mutation { unfollowReleaseNotes { following } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&res)["unfollowReleaseNotes"]["following"],
        false,
        "{res}"
    );

    let t = app.create_ticket(&nomail, "no address on file").await;
    app.comment(&agent, &t, "We will look", true).await;
    let esc = app
        .escalate(&agent, &t, "Address-less escalation", "P2")
        .await;
    app.triage(&lead, &esc, "FEATURE_REQUEST").await;
    let rel = desk.shipped_release(&lead, "7.0.0").await;
    app.publish_note(&lead, &rel, "For followers").await;
    desk.settle().await;

    only_to(&desk, &bob);
    assert!(
        desk.mails_to(&eve).is_empty(),
        "unfollowed before the publish:\n{}",
        show(&desk.mails_to(&eve))
    );
    only_mailed(&desk, &[&bob]);
    let rows = desk.deliveries(&admin, json!({ "channel": "EMAIL" })).await;
    assert!(
        rows.iter().all(|r| r["target"] == address(&bob)),
        "no delivery for anyone else: {rows:#?}"
    );
}

// ---- 9. who sees the queue ----------------------------------------------------------------

#[tokio::test]
async fn deliveries_and_retry_are_for_admins_only() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let agent = app.agent().await;
    let admin = app.admin().await;
    let t = app.create_ticket(&alice, "report a problem").await;
    app.comment(&agent, &t, "Answer", true).await;
    desk.settle().await;
    only_to(&desk, &alice);

    let rows = desk.deliveries(&admin, json!({ "channel": "EMAIL" })).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = &rows[0];
    assert_eq!(row["channel"], "EMAIL");
    assert_eq!(row["status"], "DELIVERED");
    assert_eq!(row["target"], address(&alice));
    assert_eq!(row["attempts"], 1);
    assert!(
        row["lastError"].is_null()
            && row["deliveredAt"].is_string()
            && row["createdAt"].is_string(),
        "{row}"
    );
    assert!(
        desk.deliveries(&admin, json!({ "channel": "WEBHOOK" }))
            .await
            .is_empty()
    );
    assert!(
        desk.deliveries(&admin, json!({ "status": "FAILED" }))
            .await
            .is_empty()
    );
    let id = row["id"].as_str().unwrap().to_owned();

    for (who, expected) in [
        (Some(&carol), "FORBIDDEN"),
        (Some(&alice), "FORBIDDEN"),
        (Some(&agent), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let res = app.gql(who, DELIVERIES, json!({ "f": null })).await;
        assert_eq!(
            code(&res),
            expected,
            "deliveries as {:?}: {res}",
            who.map(|u| u.role)
        );
        assert!(!res.to_string().contains(&address(&alice)), "{res}");
        let res = app
            .gql(who, RETRY, json!({ "i": { "deliveryId": id } }))
            .await;
        assert_eq!(
            code(&res),
            expected,
            "retryDelivery as {:?}: {res}",
            who.map(|u| u.role)
        );
    }

    let res = app
        .gql(Some(&admin), RETRY, json!({ "i": { "deliveryId": id } }))
        .await;
    assert_eq!(
        code(&res),
        "CONFLICT",
        "a delivered row is not retried: {res}"
    );
    let res = app
        .gql(
            Some(&admin),
            RETRY,
            json!({ "i": { "deliveryId": made_up("Delivery") } }),
        )
        .await;
    assert_eq!(code(&res), "NOT_FOUND", "{res}");

    desk.settle().await;
    assert_eq!(desk.smtp.messages().len(), 1, "nothing sent twice");
}

#[tokio::test]
async fn shipping_a_hotfix_never_marked_imminent_mails_the_solve_once_and_planning_ships_mail() {
    let desk = Desk::new().await;
    let app = &desk.app;
    let alice = app.customer("acme").await;
    let bob = app.customer("initech").await;
    let agent = app.agent().await;
    let lead = app.triage_lead().await;

    let t = app.create_ticket(&alice, "totals off by a cent").await;
    let n = desk.number(&alice, &t).await;
    let esc = app.escalate(&agent, &t, "Rounding in totals", "P1").await;
    app.triage(&lead, &esc, "HOTFIX").await;
    let rel = app.create_release(&lead, "4.2.9", "HOTFIX").await;
    app.schedule(&lead, &esc, &rel).await;
    desk.settle().await;
    let before = desk.mails_to(&alice).len();
    app.ship(&lead, &rel).await;
    desk.settle().await;
    let mails = desk.mails_to(&alice);
    assert_eq!(
        mails.len(),
        before + 1,
        "one mail for the solve at shipping:\n{}",
        show(&mails[before..])
    );
    let s = subject(&mails[before]);
    assert!(
        s.contains(&format!("#{n}")) && s.to_lowercase().contains("solved"),
        "{}",
        mails[before]
    );

    // Product planning: the requester is told when it ships.
    let t = app.create_ticket(&bob, "dark mode please").await;
    let esc = app.escalate(&agent, &t, "Dark mode", "P3").await;
    app.triage(&lead, &esc, "PRODUCT_PLANNING").await;
    let rel = app.create_release(&lead, "2026.5", "QUARTERLY").await;
    app.schedule(&lead, &esc, &rel).await;
    desk.settle().await;
    let before = desk.mails_to(&bob).len();
    app.ship(&lead, &rel).await;
    desk.settle().await;
    let mails = desk.mails_to(&bob);
    assert_eq!(mails.len(), before + 1, "{}", show(&mails[before..]));
    let s = subject(&mails[before]);
    assert!(
        s.contains("Dark mode") && s.contains("2026.5"),
        "{}",
        mails[before]
    );
    only_mailed(&desk, &[&alice, &bob]);
}
