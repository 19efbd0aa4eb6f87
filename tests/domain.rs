//! The domain services called directly, without HTTP or GraphQL, over a real database: the
//! rules hold one layer below the API. Identities come from token claims through
//! `domain::users::provision`, exactly as the edge builds them.

mod common;

use std::sync::Arc;

use common::{Local, MADE_UP, claims, unique_sub};
use entity::{Role, TicketStatus};
use sea_orm::ConnectionTrait as _;
use tier3::{
    auth::{Actor, Viewer},
    domain::{
        comments::{self, NewComment},
        policy,
        tickets::{self, NewTicket},
        users,
    },
    error::AppError,
};

/// Provisions a new user with this role (and organization) and returns them as a viewer.
async fn sign_in(local: &Local, role: &str, org: Option<&str>) -> Viewer {
    let actor = users::provision(&local.app.db, &claims(&unique_sub(role), role, org))
        .await
        .expect("provision");
    Viewer::User(Arc::new(actor))
}

fn actor(v: &Viewer) -> &Actor {
    v.actor().expect("signed in")
}

fn new_ticket(subject: &str) -> NewTicket {
    NewTicket {
        subject: subject.into(),
        description: format!("about {subject}"),
        priority: None,
    }
}

fn comment_on(ticket_id: i64, body: &str, public: bool) -> NewComment {
    NewComment {
        ticket_id,
        body: body.into(),
        public,
    }
}

/// Row counts of what a ticket write touches.
async fn rows(local: &Local) -> [i64; 3] {
    [
        local.count_rows("ticket").await,
        local.count_rows("comment").await,
        local.count_rows("event").await,
    ]
}

/// A customer's ticket is theirs and staff's: a customer of another organization, and a
/// colleague without organization scope, load it exactly like one that does not exist; an
/// anonymous caller is told to sign in, for it and for a nonexistent one alike.
#[tokio::test]
async fn a_ticket_is_not_found_for_customers_it_is_not_for() {
    let local = Local::new().await;
    let (db, bus) = (&local.app.db, &local.app.bus);
    let alice = sign_in(&local, "customer", Some("acme")).await;
    let bob = sign_in(&local, "customer", Some("acme")).await;
    let carol = sign_in(&local, "customer", Some("globex")).await;
    let agent = sign_in(&local, "agent", None).await;

    let t = tickets::create(db, bus, &alice, new_ticket("printer on fire"))
        .await
        .expect("create");
    assert_eq!(t.status, TicketStatus::New);
    assert_eq!(t.requester_id, actor(&alice).id);
    assert_eq!(Some(t.org_id), actor(&alice).org_id);

    for (who, v) in [("alice", &alice), ("agent", &agent)] {
        let seen = tickets::load_visible(db, v, t.id).await.expect(who);
        assert_eq!(seen, t, "{who}");
    }
    for (who, v) in [
        ("carol (globex)", &carol),
        ("bob (acme, no scope)", &bob),
        ("anonymous", &Viewer::Anonymous),
    ] {
        let err = tickets::load_visible(db, v, t.id).await.unwrap_err();
        match v {
            Viewer::Anonymous => {
                assert!(
                    matches!(err, AppError::Unauthenticated(_)),
                    "{who}: {err:?}"
                )
            }
            Viewer::User(_) => assert!(matches!(err, AppError::NotFound), "{who}: {err:?}"),
        }
        let nonexistent = tickets::load_visible(db, v, MADE_UP).await.unwrap_err();
        assert_eq!(err.to_string(), nonexistent.to_string(), "{who}");
    }
}

/// Customers and admins of an organization open tickets; staff and anonymous callers do
/// not, and a refused or malformed ticket writes nothing.
#[tokio::test]
async fn only_customers_open_tickets_and_refusals_write_nothing() {
    let local = Local::new().await;
    let (db, bus) = (&local.app.db, &local.app.bus);
    let agent = sign_in(&local, "agent", None).await;
    let developer = sign_in(&local, "developer", None).await;
    let alice = sign_in(&local, "customer", Some("acme")).await;
    let before = rows(&local).await;

    for (who, v) in [("agent", &agent), ("developer", &developer)] {
        let err = tickets::create(db, bus, v, new_ticket("not mine to open"))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Forbidden(_)), "{who}: {err:?}");
    }
    let err = tickets::create(db, bus, &Viewer::Anonymous, new_ticket("who am I"))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Unauthenticated(_)), "{err:?}");
    for subject in ["", "   ", &"s".repeat(201)] {
        let err = tickets::create(db, bus, &alice, new_ticket(subject))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::BadInput(_)), "{subject:?}: {err:?}");
    }
    assert_eq!(rows(&local).await, before);

    // The same customer with a valid ticket: one ticket, one event.
    tickets::create(db, bus, &alice, new_ticket("  trimmed  "))
        .await
        .expect("create");
    assert_eq!(
        rows(&local).await,
        [before[0] + 1, before[1], before[2] + 1]
    );
}

/// A customer posts public replies only: an internal note is `Forbidden` (by the policy
/// and by the service) and writes nothing; the public reply goes through. A customer who
/// cannot see the ticket gets `NotFound` either way: invisibility comes before permission.
#[tokio::test]
async fn a_customer_may_not_comment_internally() {
    let local = Local::new().await;
    let (db, bus) = (&local.app.db, &local.app.bus);
    let alice = sign_in(&local, "customer", Some("acme")).await;
    let carol = sign_in(&local, "customer", Some("globex")).await;
    let agent = sign_in(&local, "agent", None).await;
    let t = tickets::create(db, bus, &alice, new_ticket("invoice is wrong"))
        .await
        .expect("create");

    assert!(matches!(
        policy::can_comment(actor(&alice), false),
        Err(AppError::Forbidden(_))
    ));
    assert!(policy::can_comment(actor(&alice), true).is_ok());
    assert!(policy::can_comment(actor(&agent), false).is_ok());

    let before = rows(&local).await;
    let err = comments::add(db, bus, &alice, comment_on(t.id, "psst", false))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    for public in [true, false] {
        let err = comments::add(db, bus, &carol, comment_on(t.id, "let me in", public))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::NotFound),
            "public {public}: {err:?}"
        );
    }
    assert_eq!(rows(&local).await, before);
    assert_eq!(tickets::load_visible(db, &agent, t.id).await.unwrap(), t);

    let (c, _) = comments::add(db, bus, &alice, comment_on(t.id, "any news?", true))
        .await
        .expect("public reply");
    assert!(c.public);
    assert_eq!(c.author_id, actor(&alice).id);
    let (note, _) = comments::add(db, bus, &agent, comment_on(t.id, "internal", false))
        .await
        .expect("agent's internal note");
    assert!(!note.public);
}

/// A closed ticket takes no comments: the move is an `InvalidTransition` for everyone who
/// may comment, and the ticket, its comments and its events stay exactly as they were.
#[tokio::test]
async fn an_invalid_transition_changes_nothing() {
    let local = Local::new().await;
    let (db, bus) = (&local.app.db, &local.app.bus);
    let alice = sign_in(&local, "customer", Some("acme")).await;
    let agent = sign_in(&local, "agent", None).await;
    let t = tickets::create(db, bus, &alice, new_ticket("please close me"))
        .await
        .expect("create");
    // Closed by hand: this test is about the comment rule, not the way there.
    db.execute_unprepared(&format!(
        "UPDATE ticket SET status = 'CLOSED' WHERE id = {}",
        t.id
    ))
    .await
    .expect("close");
    let closed = tickets::load_visible(db, &agent, t.id).await.unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);

    let before = rows(&local).await;
    for (who, v, public) in [
        ("alice", &alice, true),
        ("agent", &agent, true),
        ("agent", &agent, false),
    ] {
        let err = comments::add(db, bus, v, comment_on(t.id, "hello?", public))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::InvalidTransition { .. }),
            "{who}, public {public}: {err:?}"
        );
    }
    assert_eq!(rows(&local).await, before);
    assert_eq!(
        tickets::load_visible(db, &agent, t.id).await.unwrap(),
        closed
    );
}

/// The role comes from the token every time: the same `sub` with another role is the same
/// user acting in the new role, and the `can_*` questions follow the role.
#[tokio::test]
async fn provisioning_takes_the_role_from_the_token_and_policy_follows_it() {
    let local = Local::new().await;
    let db = &local.app.db;
    let sub = unique_sub("dana");
    let as_customer = users::provision(db, &claims(&sub, "customer", Some("acme")))
        .await
        .expect("customer");
    let as_agent = users::provision(db, &claims(&sub, "agent", None))
        .await
        .expect("agent");
    assert_eq!(as_customer.id, as_agent.id);
    assert_eq!(as_customer.role, Role::Customer);
    assert_eq!(as_agent.role, Role::Agent);
    assert_eq!(local.count_rows("app_user").await, 1);

    assert!(policy::can_create_ticket(&as_customer).is_ok());
    assert!(policy::can_create_ticket(&as_agent).is_err());
    assert!(policy::can_escalate(&as_agent).is_ok());
    assert!(policy::can_escalate(&as_customer).is_err());
    assert!(!policy::is_staff(as_customer.role));
    assert!(policy::is_staff(as_agent.role));

    // Claims tier3 cannot act on are refused before anything is written.
    for (why, bad) in [
        ("unknown role", claims("mallory", "root", None)),
        ("customer without org", claims("orphan", "customer", None)),
        ("empty sub", claims("", "agent", None)),
    ] {
        let err = users::provision(db, &bad).await.unwrap_err();
        assert!(
            matches!(err, AppError::Unauthenticated(_)),
            "{why}: {err:?}"
        );
    }
    assert_eq!(local.count_rows("app_user").await, 1);

    // Who does what, by role.
    let roles = ["customer", "agent", "developer", "triage_lead", "admin"];
    let mut actors = Vec::new();
    for role in roles {
        let org = (role == "customer").then_some("acme");
        actors.push(sign_in(&local, role, org).await);
    }
    let may = |check: fn(&Actor) -> Result<(), AppError>| -> Vec<bool> {
        actors.iter().map(|v| check(actor(v)).is_ok()).collect()
    };
    //                                        customer agent  developer lead   admin
    assert_eq!(may(policy::can_escalate), [false, true, false, false, true]);
    assert_eq!(may(policy::can_triage), [false, false, false, true, true]);
    assert_eq!(
        may(policy::can_post_escalation_update),
        [false, false, true, true, true]
    );
    assert_eq!(
        may(policy::can_manage_scope),
        [false, false, false, false, true]
    );
}
