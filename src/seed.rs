//! `tier3 seed --demo`: a small, realistic data set written through the domain services,
//! so it obeys every rule and writes every event a real session would.

use std::sync::Arc;

use entity::{TicketPriority, TicketStatus, app_user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::{
    app::App,
    auth::{Claims, Viewer},
    domain::{
        comments::{self, NewComment},
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
    sign_in(app, "demo-devon", "developer", None, "Devon Developer").await?;
    sign_in(app, "demo-tristan", "triage_lead", None, "Tristan Triage").await?;
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
    let t = open(
        &alice,
        "Checkout fails for EUR customers",
        "Every EUR checkout returns error 502.",
        TicketPriority::Urgent,
    )
    .await?;
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

    // Alice sees all of acme's tickets.
    if let Some(alice_id) = alice.user_id() {
        scope::grant(db, bus, &admin, alice_id, None).await?;
    }

    println!("demo data loaded: 3 organizations, 8 users, 6 tickets");
    println!("try: cargo run --release -- token --sub demo-alice --role customer --org acme");
    println!("     cargo run --release -- token --sub demo-agnes --role agent");
    Ok(())
}
