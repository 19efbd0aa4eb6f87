//! The shared live stream: socket subscriptions that only go live are served from one
//! stream per process, rendered once per (document, audience). What must hold: sharing never
//! carries one viewer's answer to another, and nobody outside an event's audience gets it.

mod common;

use std::time::Duration;

use common::{TestApp, User, Ws, WsEvent};
use serde_json::{Value, json};

const STATUS: &str = "subscription { ticketStatusChanged { toStatus ticket { number subject } } }";

/// The value of a counter line in the metrics text (0 when absent).
fn counter(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn live_counts(app: &TestApp) -> (u64, u64) {
    let text = app.metrics_text().await;
    (
        counter(&text, "tier3_live_events_total{step=\"rendered\"}"),
        counter(&text, "tier3_live_events_total{step=\"sent\"}"),
    )
}

#[tokio::test]
async fn one_rendering_serves_every_agent_and_nobody_outside_the_ticket_gets_it() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let carol = app.customer("globex").await;
    let actor = app.agent().await;
    let t = app.create_ticket(&alice, "shared fan-out").await;

    let mut agents = Vec::new();
    for _ in 0..5 {
        let agent = app.agent().await;
        let mut ws = app.ws(Some(&agent)).await;
        ws.subscribe("s", STATUS, json!({})).await;
        agents.push(ws);
    }
    let mut a = app.ws(Some(&alice)).await;
    a.subscribe("s", STATUS, json!({})).await;
    let mut c = app.ws(Some(&carol)).await;
    c.subscribe("s", STATUS, json!({})).await;
    // Anonymous: refused at the start, so never on the shared stream.
    let mut anon = app.ws(None).await;
    anon.subscribe("s", STATUS, json!({})).await;
    match anon.next_event().await {
        WsEvent::Next(_, p) => assert_eq!(p["errors"][0]["extensions"]["code"], "UNAUTHENTICATED"),
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(matches!(anon.next_event().await, WsEvent::Complete(id) if id == "s"));
    app.wait_subscribers(7).await;
    let (rendered_before, sent_before) = live_counts(&app).await;

    app.set_status(&actor, &t, "PENDING").await;
    for ws in agents.iter_mut().chain([&mut a]) {
        let (id, d) = ws.next_data().await;
        assert_eq!(id, "s");
        assert_eq!(d["ticketStatusChanged"]["toStatus"], "PENDING");
        assert_eq!(
            d["ticketStatusChanged"]["ticket"]["subject"],
            "shared fan-out"
        );
    }
    c.stays_quiet(Duration::from_millis(500)).await;
    anon.stays_quiet(Duration::from_millis(100)).await;

    // One rendering for the five agents, one for Alice, none for Carol, who may not see it.
    let (rendered, sent) = live_counts(&app).await;
    assert_eq!(rendered - rendered_before, 2);
    assert_eq!(sent - sent_before, 6);
}

#[tokio::test]
async fn a_document_that_reads_the_person_is_rendered_for_each_person() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let (a1, a2) = (app.agent().await, app.agent().await);
    let t = app.create_ticket(&alice, "whose preferences").await;
    let q = "subscription { ticketUpdates { kind actor { name notificationPreferences { emailTicketUpdates } } } }";
    let mut w1 = app.ws(Some(&a1)).await;
    let mut w2 = app.ws(Some(&a2)).await;
    w1.subscribe("u", q, json!({})).await;
    w2.subscribe("u", q, json!({})).await;
    app.wait_subscribers(2).await;
    let (rendered_before, _) = live_counts(&app).await;

    app.comment(&a1, &t, "mine", false).await;
    let actor = |d: Value| d["ticketUpdates"]["actor"].clone();
    let (_, d1) = w1.next_data().await;
    let (_, d2) = w2.next_data().await;
    // Only the actor themself reads their preferences.
    assert_eq!(
        actor(d1)["notificationPreferences"]["emailTicketUpdates"],
        true
    );
    assert!(actor(d2)["notificationPreferences"].is_null());
    let (rendered, _) = live_counts(&app).await;
    assert_eq!(rendered - rendered_before, 2);
}

#[tokio::test]
async fn completing_one_subscription_leaves_the_others_and_a_closed_socket_leaves_none() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "two on one socket").await;
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe("one", STATUS, json!({})).await;
    ws.subscribe("two", STATUS, json!({})).await;
    app.wait_subscribers(2).await;
    ws.stop("one").await;
    match ws.next_event().await {
        WsEvent::Complete(id) => assert_eq!(id, "one"),
        other => panic!("expected complete, got {other:?}"),
    }
    app.set_status(&agent, &t, "PENDING").await;
    let (id, _) = ws.next_data().await;
    assert_eq!(id, "two");
    ws.stays_quiet(Duration::from_millis(300)).await;

    ws.close().await;
    assert!(
        common::eventually(5, || async { app.app.bus.active_feeds() == 0 }).await,
        "a closed socket's subscriptions were left on the shared stream"
    );
}

#[tokio::test]
async fn a_subscription_that_replays_still_runs_and_resumes_exactly() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let t = app.create_ticket(&alice, "replayed").await;
    let at = app.latest_position().await;
    let start = common::event_cursor((at.tx, at.id));
    app.set_status(&agent, &t, "PENDING").await;
    let mut ws = app.ws(Some(&alice)).await;
    ws.subscribe(
        "r",
        "subscription($a: String) { ticketUpdates(after: $a) { kind toStatus } }",
        json!({ "a": start }),
    )
    .await;
    let (_, d) = ws.next_data().await;
    assert_eq!(d["ticketUpdates"]["toStatus"], "PENDING");
    app.set_status(&agent, &t, "OPEN").await;
    let (_, d) = ws.next_data().await;
    assert_eq!(d["ticketUpdates"]["toStatus"], "OPEN");
    ws.stays_quiet(Duration::from_millis(300)).await;
}

/// Statements the server ran while `change` happened and everything it set off settled,
/// leaving out the publisher's reads of the event log and the commit's wake-up notice: how
/// many of those there are depends on whether the in-process wake-up and the `NOTIFY`
/// coalesce into one read (CI once saw two), not on who is subscribed.
async fn statements_during<F: std::future::Future<Output = ()>>(app: &TestApp, change: F) -> usize {
    fn publishing(sql: &str) -> bool {
        sql.contains(r#"FROM "event""#) || sql.contains("FROM event") || sql.contains("pg_notify")
    }
    app.quiesce().await;
    let before = app.log.lock().unwrap().len();
    change.await;
    app.quiesce().await;
    app.log.lock().unwrap()[before..]
        .iter()
        .filter(|sql| !publishing(sql))
        .count()
}

/// Alice's ticket and who is around it: an admin, an agent, and Carol of globex, who holds
/// a grant of her own and may still not see acme's tickets.
struct Scene {
    admin: User,
    agent: User,
    alice: User,
    carol: User,
    ticket: String,
}

impl Scene {
    async fn new(app: &TestApp, subject: &str) -> Scene {
        let admin = app.admin().await;
        let agent = app.agent().await;
        let alice = app.customer("acme").await;
        let ticket = app.create_ticket(&alice, subject).await;
        let carol = app.customer("globex").await;
        app.grant_scope(&admin, &carol).await;
        Scene {
            admin,
            agent,
            alice,
            carol,
            ticket,
        }
    }

    fn colleagues<'a>(&'a self, app: &'a TestApp) -> Colleagues<'a> {
        Colleagues {
            app,
            admin: &self.admin,
            requester: &self.alice,
            ticket: &self.ticket,
        }
    }
}

/// Colleagues of a ticket's requester, of every kind the policy tells apart.
struct Colleagues<'a> {
    app: &'a TestApp,
    admin: &'a User,
    requester: &'a User,
    ticket: &'a str,
}

impl Colleagues<'_> {
    /// One with a grant and one copied on the ticket (into `may`), one with neither (into
    /// `may_not`), each subscribed to status changes; the one with the grant.
    async fn add(&self, may: &mut Vec<Ws>, may_not: &mut Vec<Ws>) -> User {
        let (app, org) = (self.app, self.requester.org.as_deref().unwrap());
        let scoped = app.customer(org).await;
        app.grant_scope(self.admin, &scoped).await;
        let copied = app.customer(org).await;
        app.add_participant(self.requester, self.ticket, &copied)
            .await;
        let neither = app.customer(org).await;
        may.push(self.watching(&scoped).await);
        may.push(self.watching(&copied).await);
        may_not.push(self.watching(&neither).await);
        scoped
    }

    async fn watching(&self, who: &User) -> Ws {
        let mut ws = self.app.ws(Some(who)).await;
        ws.subscribe("s", STATUS, json!({})).await;
        ws
    }
}

#[tokio::test]
async fn customers_of_the_ticket_organization_are_decided_together_at_a_fixed_cost() {
    let app = TestApp::spawn().await;
    let scene = Scene::new(&app, "decided together").await;
    let (admin, agent, t) = (&scene.admin, &scene.agent, &scene.ticket);
    // Who may see it: Alice (hers), colleagues with a grant, colleagues copied on it.
    // Who may not: colleagues with neither, and Carol of globex even with a grant of hers.
    let colleagues = scene.colleagues(&app);
    let mut may = vec![colleagues.watching(&scene.alice).await];
    let mut may_not = vec![colleagues.watching(&scene.carol).await];
    let scoped = colleagues.add(&mut may, &mut may_not).await;
    app.wait_subscribers(5).await;

    async fn change(app: &TestApp, by: &User, t: &str, to: &str, may: &mut [Ws]) {
        app.set_status(by, t, to).await;
        for ws in may.iter_mut() {
            let (_, d) = ws.next_data().await;
            assert_eq!(d["ticketStatusChanged"]["toStatus"], to);
        }
    }
    let few = statements_during(&app, change(&app, agent, t, "PENDING", &mut may)).await;
    change(&app, agent, t, "OPEN", &mut may).await;

    // Ten times as many colleagues, of every kind: the policy reads them in the same
    // statements.
    for _ in 0..10 {
        colleagues.add(&mut may, &mut may_not).await;
    }
    app.wait_subscribers(35).await;
    let many = statements_during(&app, change(&app, agent, t, "PENDING", &mut may)).await;
    assert_eq!(many, few, "{:#?}", app.log.lock().unwrap());
    for ws in may_not.iter_mut() {
        ws.stays_quiet(Duration::from_millis(200)).await;
    }

    // A revoked grant stops the next event; the rest still get it.
    app.revoke_scope(admin, &scoped).await;
    app.set_status(agent, t, "OPEN").await;
    for (_, ws) in may.iter_mut().enumerate().filter(|(i, _)| *i != 1) {
        let (_, d) = ws.next_data().await;
        assert_eq!(d["ticketStatusChanged"]["toStatus"], "OPEN");
    }
    may[1].stays_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn admitted_customers_share_one_rendering_made_as_one_of_them() {
    let app = TestApp::spawn().await;
    let scene = Scene::new(&app, "shared by customers").await;
    let (agent, t, alice) = (&scene.agent, &scene.ticket, &scene.alice);
    let colleagues = scene.colleagues(&app);
    // Refused ones subscribe first, so a rendering made as whoever came first would be
    // theirs: Carol and acme colleagues with neither a grant nor a place on the ticket.
    let mut refused = vec![colleagues.watching(&scene.carol).await];
    for _ in 0..3 {
        refused.push(colleagues.watching(&app.customer("acme").await).await);
    }
    let (mut admitted, mut also_refused) = (vec![colleagues.watching(alice).await], Vec::new());
    let bob = colleagues.add(&mut admitted, &mut also_refused).await;
    app.wait_subscribers(8).await;
    let (rendered_before, sent_before) = live_counts(&app).await;

    app.set_status(agent, t, "PENDING").await;
    for ws in admitted.iter_mut() {
        let (_, d) = ws.next_data().await;
        assert_eq!(d["ticketStatusChanged"]["toStatus"], "PENDING");
        assert_eq!(
            d["ticketStatusChanged"]["ticket"]["subject"],
            "shared by customers"
        );
    }
    for ws in refused.iter_mut().chain(also_refused.iter_mut()) {
        ws.stays_quiet(Duration::from_millis(200)).await;
    }
    let (rendered, sent) = live_counts(&app).await;
    assert_eq!(
        rendered - rendered_before,
        1,
        "one rendering for three customers"
    );
    assert_eq!(sent - sent_before, 3);

    // An email is each customer's own: a document reading one is rendered per person.
    let q = "subscription { ticketStatusChanged { ticket { requester { email } } } }";
    let mut a = app.ws(Some(alice)).await;
    let mut b = app.ws(Some(&bob)).await;
    a.subscribe("e", q, json!({})).await;
    b.subscribe("e", q, json!({})).await;
    app.wait_subscribers(10).await;
    app.set_status(agent, t, "OPEN").await;
    let email = |d: Value| d["ticketStatusChanged"]["ticket"]["requester"]["email"].clone();
    let (_, d) = a.next_data().await;
    assert_eq!(email(d), format!("{}@example.com", alice.sub));
    let (_, d) = b.next_data().await;
    assert!(
        email(d).is_null(),
        "a colleague does not see Alice's address"
    );
}
