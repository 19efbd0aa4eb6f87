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
