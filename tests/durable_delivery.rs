//! Delivery survives what kills processes: a tier3 killed with SIGKILL while a mail is in
//! flight sends it once after a restart, and two replicas on one PostgreSQL database with one
//! mail server send every message once between them. The mail server is a real SMTP server
//! over TCP (`common::smtp`); the killed server is the real binary.

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{TestApp, User, eventually, needs_postgres, smtp::SmtpServer};
use sea_orm::{ConnectionTrait, Statement};
use tokio::net::TcpListener;

/// Followers of release notes, each with an address; returns them.
async fn followers(app: &TestApp, n: usize) -> Vec<User> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let u = app.customer("acme").await;
        app.follow_release_notes(&u).await;
        out.push(u);
    }
    out
}

async fn publish(app: &TestApp, title: &str) {
    let lead = app.triage_lead().await;
    let release = app
        .create_release(&lead, &format!("9.{}", rand_version()), "QUARTERLY")
        .await;
    app.mark_imminent(&lead, &release).await;
    app.publish_note(&lead, &release, title).await;
}

fn rand_version() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32 % 100_000
}

fn address(u: &User) -> String {
    format!("{}@example.com", u.sub)
}

/// How many messages each address received.
fn per_address(smtp: &SmtpServer) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for m in smtp.messages() {
        for r in &m.rcpt {
            *out.entry(r.trim_matches(|c| c == '<' || c == '>').to_lowercase())
                .or_default() += 1;
        }
    }
    out
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let db = &app.app.db;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

/// A port that accepts connections and never says a word: a mail server hung mid-session,
/// which keeps a send in flight for as long as the test likes.
async fn silent_port() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, task)
}

#[tokio::test]
async fn a_mail_in_flight_when_the_server_is_killed_is_sent_once_after_restart() {
    // The API runs in this process without a courier; the courier runs in the real binary.
    let app = TestApp::spawn_with(|c| c.notify.delivery_worker = false).await;
    let db_url = app.app.config.database_url.clone().unwrap();
    let people = followers(&app, 3).await;

    let (hung, hung_task) = silent_port().await;
    let hung_url = format!("smtp://127.0.0.1:{hung}");
    let env = |smtp: &str| {
        vec![
            ("DATABASE_URL".to_owned(), db_url.clone()),
            ("TIER3_SMTP_URL".to_owned(), smtp.to_owned()),
            ("TIER3_DELIVERY_LEASE".to_owned(), "2".to_owned()),
            ("TIER3_EVENT_POLL_MS".to_owned(), "100".to_owned()),
        ]
    };
    let as_refs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };
    let first_env = as_refs(&env(&hung_url));
    let first: Vec<(&str, &str)> = first_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let victim = common::Process::start(&first).await;

    publish(&app, "Killed mid-send").await;
    // Every follower's mail is claimed and in flight (leased, first attempt, not done).
    let in_flight = eventually(20, || async {
        scalar(
            &app,
            "SELECT COUNT(*) FROM delivery WHERE channel = 'EMAIL' AND status = 'PENDING' \
             AND attempts = 1 AND lease_owner IS NOT NULL",
        )
        .await
            == people.len() as i64
    })
    .await;
    assert!(in_flight, "the killed server had claimed every mail");
    victim.signal("KILL");
    drop(victim);
    hung_task.abort();

    let smtp = SmtpServer::start().await;
    let second_env = as_refs(&env(&smtp.url()));
    let second: Vec<(&str, &str)> = second_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let _restarted = common::Process::start(&second).await;
    let all = eventually(30, || async { smtp.messages().len() >= people.len() }).await;
    assert!(
        all,
        "after the restart every mail arrived: {:?}",
        per_address(&smtp)
    );
    // Give a duplicate every chance to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = per_address(&smtp);
    for p in &people {
        assert_eq!(
            got.get(&address(p)),
            Some(&1),
            "{} once: {got:?}",
            address(p)
        );
    }
    assert_eq!(got.len(), people.len(), "nobody else: {got:?}");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM delivery WHERE status = 'DELIVERED'"
        )
        .await,
        people.len() as i64
    );
}

#[tokio::test]
async fn two_replicas_on_postgres_send_each_message_once() {
    if !needs_postgres("two_replicas_on_postgres_send_each_message_once") {
        return;
    }
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let a = TestApp::spawn_with(|c| {
        c.notify.smtp_url = Some(tier3::config::Secret(url.clone()));
        c.event_poll_ms = 100;
    })
    .await;
    let b = a.replica().await;
    let people = followers(&a, 40).await;
    // Both replicas' planners and workers race for the same rows.
    publish(&a, "Two replicas, one mail each").await;
    publish(&b, "And once more from the other").await;
    let want = 2 * people.len();
    let all = eventually(60, || async { smtp.messages().len() >= want }).await;
    assert!(all, "{} of {want} arrived", smtp.messages().len());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = per_address(&smtp);
    for p in &people {
        assert_eq!(got.get(&address(p)), Some(&2), "{}: {got:?}", address(p));
    }
    assert_eq!(smtp.messages().len(), want, "no duplicates");
    let message_ids: std::collections::BTreeSet<String> = smtp
        .messages()
        .iter()
        .map(|m| m.parsed().one("message-id"))
        .collect();
    assert_eq!(message_ids.len(), want, "one Message-ID per message");
}
