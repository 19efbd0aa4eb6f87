//! The embedded default: without an SMTP server, mail lands as `.eml` files under the data
//! directory, one per recipient and event, and nobody is mailed for internal text.

mod common;

use std::{path::Path, time::Duration};

use common::{TestApp, eventually};

fn eml_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| std::fs::read_to_string(e.path()).expect("read eml"))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_public_comment_writes_one_eml_for_the_requester_and_an_internal_one_none() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let ticket = app.create_ticket(&alice, "invoice totals are wrong").await;
    app.comment(&agent, &ticket, "internal: looks like rounding", false)
        .await;
    app.comment(&agent, &ticket, "We are looking into it", true)
        .await;
    let dir = app.mail_dir();
    assert!(
        eventually(10, || async { !eml_files(&dir).is_empty() }).await,
        "no mail written under {}",
        dir.display()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = eml_files(&dir);
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let mail = &mails[0];
    assert!(
        mail.contains(&format!("To: \"Name of {}\"", alice.sub)) || mail.contains(&alice.sub),
        "{mail}"
    );
    assert!(mail.contains("We are looking into it"), "{mail}");
    assert!(!mail.contains("rounding"), "internal text leaked: {mail}");
    assert!(
        mail.contains("List-Unsubscribe: <http://127.0.0.1:8000/unsubscribe?token="),
        "{mail}"
    );
    assert!(
        mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{mail}"
    );
}

#[tokio::test]
async fn metrics_count_sent_mail_and_show_the_oldest_pending_age() {
    let app = TestApp::spawn().await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let ticket = app.create_ticket(&alice, "the export is empty").await;
    app.comment(&agent, &ticket, "Fixed in the next build", true)
        .await;
    let dir = app.mail_dir();
    assert!(eventually(10, || async { !eml_files(&dir).is_empty() }).await);
    let metrics = || app.metrics_text();
    let sent = eventually(5, || async {
        metrics()
            .await
            .contains(r#"tier3_deliveries_total{channel="email",outcome="sent"} 1"#)
    })
    .await;
    assert!(sent, "{}", metrics().await);
    assert!(
        metrics()
            .await
            .contains("tier3_delivery_oldest_pending_seconds 0"),
        "nothing pending: {}",
        metrics().await
    );
}

/// An SMTP URL that cannot work stops the server at start, with the reason and a failing
/// exit code, before it listens.
#[test]
fn an_smtp_url_that_does_not_parse_stops_the_server_at_start() {
    for bad in [
        "ftp://mail.example.com",
        "smtp://",
        "smtp://host:99999",
        "smtp://h?tls=bogus",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tier3"))
            .arg("serve")
            .env("TIER3_BIND", "127.0.0.1:0")
            .env("TIER3_DATA_DIR", dir.path())
            .env("JWT_SECRET", "a-test-secret-of-enough-length")
            .env_remove("DATABASE_URL")
            .env("TIER3_SMTP_URL", bad)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad}: exited {:?}", out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.to_lowercase().contains("smtp"),
            "{bad}: the reason names the setting: {stderr}"
        );
    }
}
