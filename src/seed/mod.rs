//! `tier3 seed --demo`: a small, realistic data set written through the domain services,
//! so it obeys every rule and writes every event a real session would.

pub mod scale;

use std::sync::Arc;

use entity::{TicketPriority, TicketStatus, app_user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::{
    app::App,
    auth::{Claims, Viewer},
    domain::{
        comments::{self, NewComment},
        escalations::{self, NewEscalation, Triage},
        release_notes,
        releases::{self, NewRelease},
        scope,
        tickets::{self, NewTicket, TicketChanges},
        users,
    },
};

async fn sign_in(
    app: &App,
    sub: &str,
    role: &str,
    org: Option<&str>,
    name: &str,
) -> anyhow::Result<Viewer> {
    let claims = Claims {
        sub: sub.into(),
        role: role.into(),
        org: org.map(Into::into),
        email: Some(format!("{sub}@example.com")),
        name: Some(name.into()),
        exp: u64::MAX / 2,
        iss: None,
        aud: None,
    };
    Ok(Viewer::User(Arc::new(
        users::provision(&app.db, &claims).await?,
    )))
}

/// Loads the demo data set once; a second run changes nothing.
pub async fn demo(app: &App) -> anyhow::Result<()> {
    let already = app_user::Entity::find()
        .filter(app_user::Column::Sub.eq("demo-alice"))
        .count(&app.db)
        .await?;
    if already > 0 {
        println!("demo data already present");
        return Ok(());
    }
    let (db, bus) = (&app.db, &app.bus);
    let alice = sign_in(app, "demo-alice", "customer", Some("acme"), "Alice Anders").await?;
    let bob = sign_in(app, "demo-bob", "customer", Some("acme"), "Bob Brandt").await?;
    let carol = sign_in(app, "demo-carol", "customer", Some("globex"), "Carol Chen").await?;
    let dave = sign_in(app, "demo-dave", "customer", Some("initech"), "Dave Dorsey").await?;
    let agent = sign_in(app, "demo-agnes", "agent", None, "Agnes Agent").await?;
    let dev = sign_in(app, "demo-devon", "developer", None, "Devon Developer").await?;
    let lead = sign_in(app, "demo-tristan", "triage_lead", None, "Tristan Triage").await?;
    let admin = sign_in(app, "demo-ada", "admin", None, "Ada Admin").await?;

    let open = |v: &Viewer, subject: &str, description: &str, priority| {
        let (v, subject, description) = (v.clone(), subject.to_owned(), description.to_owned());
        async move {
            tickets::create(
                db,
                bus,
                &v,
                NewTicket {
                    subject,
                    description,
                    priority: Some(priority),
                },
            )
            .await
        }
    };
    let say = |v: &Viewer, ticket_id: i64, body: &str, public: bool| {
        let (v, body) = (v.clone(), body.to_owned());
        async move {
            comments::add(
                db,
                bus,
                &v,
                NewComment {
                    ticket_id,
                    body,
                    public,
                },
            )
            .await
        }
    };
    let set = |ticket_id: i64, status: TicketStatus| {
        let agent = agent.clone();
        async move {
            tickets::update(
                db,
                bus,
                &agent,
                ticket_id,
                TicketChanges {
                    status: Some(status),
                    ..Default::default()
                },
            )
            .await
        }
    };
    let agent_id = agent.user_id().unwrap_or_default();

    // NEW
    open(
        &alice,
        "Invoice PDF export is blank",
        "Exporting any invoice since this morning gives an empty PDF.",
        TicketPriority::High,
    )
    .await?;
    // OPEN, assigned, with an internal note
    let t = open(
        &bob,
        "Cannot add a second admin",
        "The invite button is greyed out for our second admin.",
        TicketPriority::Normal,
    )
    .await?;
    say(&agent, t.id, "Thanks Bob, looking into it now.", true).await?;
    say(
        &agent,
        t.id,
        "Reproduced on staging; the seat limit check is off by one.",
        false,
    )
    .await?;
    tickets::update(
        db,
        bus,
        &agent,
        t.id,
        TicketChanges {
            status: Some(TicketStatus::Open),
            assignee: Some(Some(agent_id)),
            ..Default::default()
        },
    )
    .await?;
    // PENDING
    let t = open(
        &carol,
        "Sync stalls at 99%",
        "Our nightly sync stalls at 99% and never finishes.",
        TicketPriority::Urgent,
    )
    .await?;
    say(
        &agent,
        t.id,
        "Could you send us the sync log from last night?",
        true,
    )
    .await?;
    set(t.id, TicketStatus::Pending).await?;
    // ON_HOLD
    let checkout = open(
        &alice,
        "Checkout fails for EUR customers",
        "Every EUR checkout returns error 502.",
        TicketPriority::Urgent,
    )
    .await?;
    let t = checkout.clone();
    say(
        &agent,
        t.id,
        "We can reproduce this and have asked our developers to look at it.",
        true,
    )
    .await?;
    set(t.id, TicketStatus::OnHold).await?;
    // SOLVED by the customer
    let t = open(
        &dave,
        "How do I rotate API keys?",
        "Where is the API key rotation setting?",
        TicketPriority::Low,
    )
    .await?;
    say(
        &agent,
        t.id,
        "Settings → API → Rotate. It keeps the old key valid for 24h.",
        true,
    )
    .await?;
    tickets::update(
        db,
        bus,
        &dave,
        t.id,
        TicketChanges {
            status: Some(TicketStatus::Solved),
            ..Default::default()
        },
    )
    .await?;
    // CLOSED
    let t = open(
        &bob,
        "Typo on the login page",
        "It says 'Pasword'.",
        TicketPriority::Low,
    )
    .await?;
    say(&agent, t.id, "Fixed, thanks for the sharp eyes!", true).await?;
    set(t.id, TicketStatus::Solved).await?;
    set(t.id, TicketStatus::Closed).await?;

    workflow(
        app,
        &Cast {
            carol: &carol,
            dave: &dave,
            agent: &agent,
            dev: &dev,
            lead: &lead,
        },
        checkout.id,
    )
    .await?;

    // Alice sees all of acme's tickets.
    if let Some(alice_id) = alice.user_id() {
        scope::grant(db, bus, &admin, alice_id, None).await?;
    }

    println!(
        "demo data loaded: 3 organizations, 8 users, 12 tickets, 6 escalations on every track, \
         4 releases (2 shipped with notes)"
    );
    println!("try: cargo run --release -- token --sub demo-alice --role customer --org acme");
    println!("     cargo run --release -- token --sub demo-agnes --role agent");
    Ok(())
}

/// The people the workflow part of the demo needs.
struct Cast<'a> {
    carol: &'a Viewer,
    dave: &'a Viewer,
    agent: &'a Viewer,
    dev: &'a Viewer,
    lead: &'a Viewer,
}

/// Escalations on every track and status, a shipped and a planned quarterly release with
/// notes, a shipped hotfix release, and a hotfix in flight.
async fn workflow(app: &App, c: &Cast<'_>, checkout: i64) -> anyhow::Result<()> {
    use entity::{EscalationPriority as P, EscalationTrack as Track, ReleaseKind};
    let (db, bus) = (&app.db, &app.bus);
    let ticket = |v: &Viewer, subject: &str| {
        let (v, subject) = (v.clone(), subject.to_owned());
        async move {
            tickets::create(
                db,
                bus,
                &v,
                NewTicket {
                    description: format!("{subject}. Details in the attached screenshots."),
                    subject,
                    priority: Some(TicketPriority::High),
                },
            )
            .await
        }
    };
    let escalate = |ticket_id: i64, title: &str, priority| {
        let (agent, title) = (c.agent.clone(), title.to_owned());
        async move {
            escalations::escalate(
                db,
                bus,
                &agent,
                NewEscalation {
                    ticket_id,
                    title,
                    details: "Reproduced on staging; logs attached to the internal wiki.".into(),
                    priority,
                },
            )
            .await
        }
    };
    let triage = |escalation_id: i64, track| {
        let lead = c.lead.clone();
        let dev = c.dev.user_id();
        async move {
            escalations::triage(
                db,
                bus,
                &lead,
                Triage {
                    escalation_id,
                    track,
                    priority: None,
                    assignee_id: dev,
                },
            )
            .await
        }
    };
    let release = |version: &str, kind, quarter: Option<&str>| {
        let (lead, version, quarter) = (
            c.lead.clone(),
            version.to_owned(),
            quarter.map(str::to_owned),
        );
        async move {
            releases::create(
                db,
                bus,
                &lead,
                NewRelease {
                    version,
                    kind,
                    quarter,
                    planned_for: None,
                },
            )
            .await
        }
    };

    // A hotfix in flight: two organizations hit it, Tier 3 posts updates, a hotfix release
    // is planned.
    let hot = escalate(checkout, "EUR checkout returns 502", P::P0).await?;
    let carols = ticket(c.carol, "Payments in EUR fail with 502").await?;
    escalations::link_ticket(db, bus, c.agent, hot.id, carols.id).await?;
    triage(hot.id, Track::Hotfix).await?;
    escalations::post_update(
        db,
        bus,
        c.dev,
        hot.id,
        "We found the cause and are testing a fix.",
        true,
    )
    .await?;
    escalations::post_update(
        db,
        bus,
        c.dev,
        hot.id,
        "Stale FX-rate cache after the 03:00 deploy.",
        false,
    )
    .await?;
    let hotfix = release("4.2.1", ReleaseKind::Hotfix, None).await?;
    escalations::schedule(db, bus, c.lead, hot.id, hotfix.id).await?;

    // A shipped hotfix with its note.
    let t = ticket(c.dave, "Password reset emails arrive twice").await?;
    let e = escalate(t.id, "Duplicate password-reset emails", P::P2).await?;
    triage(e.id, Track::Hotfix).await?;
    let shipped_hotfix = release("4.2.0", ReleaseKind::Hotfix, None).await?;
    escalations::schedule(db, bus, c.lead, e.id, shipped_hotfix.id).await?;
    releases::mark_imminent(db, bus, c.lead, shipped_hotfix.id).await?;
    releases::ship(db, bus, c.lead, shipped_hotfix.id).await?;
    release_notes::publish(
        db,
        bus,
        c.lead,
        shipped_hotfix.id,
        "Hotfix 4.2.0",
        "Password-reset emails are sent once again.",
    )
    .await?;

    // Product planning scheduled into the next quarter.
    let t = ticket(c.dave, "We need more than one organization admin").await?;
    let e = escalate(t.id, "Allow more than one organization admin", P::P2).await?;
    triage(e.id, Track::ProductPlanning).await?;
    let next_quarter = release("2026.4", ReleaseKind::Quarterly, Some("2026-Q4")).await?;
    escalations::schedule(db, bus, c.lead, e.id, next_quarter.id).await?;

    // A feature request that shipped last quarter, with its note and votes.
    let t = ticket(c.dave, "Dark mode, please").await?;
    let e = escalate(t.id, "Dark mode", P::P3).await?;
    triage(e.id, Track::FeatureRequest).await?;
    let last_quarter = release("2026.3", ReleaseKind::Quarterly, Some("2026-Q3")).await?;
    escalations::schedule(db, bus, c.lead, e.id, last_quarter.id).await?;
    releases::ship(db, bus, c.lead, last_quarter.id).await?;
    let note = release_notes::publish(
        db,
        bus,
        c.lead,
        last_quarter.id,
        "2026 Q3",
        "Dark mode and a faster dashboard.",
    )
    .await?;
    release_notes::vote(db, bus, c.dave, note.id, true).await?;
    release_notes::vote(db, bus, c.carol, note.id, false).await?;

    // A declined feature request, and one still awaiting triage.
    let t = ticket(c.carol, "Export tickets to a fax machine").await?;
    let e = escalate(t.id, "Fax export", P::P3).await?;
    triage(e.id, Track::FeatureRequest).await?;
    escalations::decline(db, bus, c.lead, e.id, "No demand beyond one customer.").await?;
    let t = ticket(c.dave, "Search ignores accents").await?;
    escalate(t.id, "Accent-insensitive search", P::P1).await?;
    release_notes::set_following(db, bus, c.carol, true).await?;
    Ok(())
}
