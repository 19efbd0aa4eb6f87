//! The mail transport against real servers: an embedded SMTP server (`common::smtp`) on a
//! free port that keeps what it receives, and the `.eml` file transport in a temp dir. The
//! received bytes are read as a mail client would (headers unfolded) and, for DKIM, the
//! signature is checked by recomputing it independently of lettre and verifying it with the
//! OpenSSL command line against the fixture public keys.

use std::{
    collections::BTreeMap,
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

mod common;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use common::smtp::{Parsed, SmtpServer, decode_words};
use sha2::{Digest, Sha256};
use tier3::{
    config::{NotifyOptions, Secret},
    outbound::mail::{
        MAX_SUBJECT_CHARS, Mail, Mailer, SendError, SmtpEndpoint, SmtpTls, escape_html,
        sanitize_header_text,
    },
};

// ---- setup ------------------------------------------------------------------------------

fn smtp_options(port: u16) -> NotifyOptions {
    NotifyOptions {
        smtp_url: Some(Secret(format!("smtp://127.0.0.1:{port}"))),
        mail_from: "Support Desk <desk@example.org>".into(),
        ..NotifyOptions::default()
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A mailer that must not touch its mail directory (SMTP is configured).
fn mailer(opts: &NotifyOptions) -> Mailer {
    Mailer::from_options(opts, Path::new("/nonexistent/mail")).expect("mailer")
}

fn sample() -> Mail {
    Mail {
        to: "carla@example.net".into(),
        to_name: Some("Carla Customer".into()),
        subject: "Ticket #42 was escalated".into(),
        text: "Your ticket moved to Tier 3.\n".into(),
        html: "<p>Your ticket moved to <b>Tier 3</b>.</p>\n".into(),
        message_id: "delivery-42.abc123@example.org".into(),
        in_reply_to: Some("ticket-42@example.org".into()),
        references: vec![
            "ticket-42@example.org".into(),
            "delivery-41.xyz@example.org".into(),
        ],
        list_unsubscribe: Some("https://desk.example.org/unsubscribe?token=t0k3n".into()),
    }
}

// ---- SMTP ---------------------------------------------------------------------------------

#[tokio::test]
async fn smtp_delivers_multipart_with_threading_and_unsubscribe_headers() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port();
    let mailer = mailer(&smtp_options(port));
    assert!(mailer.is_smtp());
    assert_eq!(mailer.domain(), "example.org");
    assert_eq!(
        mailer.describe(),
        format!("smtp://127.0.0.1:{port} (plain)")
    );

    mailer.send(&sample()).await.expect("sent");

    let got = smtp.only_message();
    assert_eq!(got.rcpt.len(), 1);
    assert!(got.rcpt[0].contains("carla@example.net"), "{:?}", got.rcpt);
    let mail = Parsed::new(&got.data);
    assert!(
        mail.one("From").contains("Support Desk")
            && mail.one("From").contains("<desk@example.org>")
    );
    let to = mail.one("To");
    assert!(
        to.contains("Carla Customer") && to.ends_with("<carla@example.net>"),
        "{to}"
    );
    assert_eq!(mail.one("Subject"), "Ticket #42 was escalated");
    assert!(!mail.one("Date").is_empty());
    assert_eq!(mail.one("Message-ID"), "<delivery-42.abc123@example.org>");
    assert_eq!(mail.one("In-Reply-To"), "<ticket-42@example.org>");
    assert_eq!(
        mail.one("References"),
        "<ticket-42@example.org> <delivery-41.xyz@example.org>"
    );
    assert_eq!(
        mail.one("List-Unsubscribe"),
        "<https://desk.example.org/unsubscribe?token=t0k3n>"
    );
    assert_eq!(
        mail.one("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert_eq!(mail.one("Auto-Submitted"), "auto-generated");
    assert_eq!(mail.one("MIME-Version"), "1.0");
    assert!(
        mail.one("Content-Type")
            .starts_with("multipart/alternative;")
    );
    let plain = mail
        .body
        .find("Content-Type: text/plain")
        .expect("a text/plain part");
    let html = mail
        .body
        .find("Content-Type: text/html")
        .expect("a text/html part");
    assert!(
        plain < html,
        "plain first: the last alternative is the preferred one"
    );
    assert!(mail.body.contains("Your ticket moved to Tier 3."));
    assert!(
        mail.body
            .contains("<p>Your ticket moved to <b>Tier 3</b>.</p>")
    );
    assert!(mail.all("DKIM-Signature").is_empty(), "no key configured");

    // A second message over the same (pooled) transport, without threading headers.
    let plain_mail = Mail {
        message_id: "delivery-43.def@example.org".into(),
        in_reply_to: None,
        references: Vec::new(),
        list_unsubscribe: None,
        to_name: None,
        ..sample()
    };
    mailer.send(&plain_mail).await.expect("second message sent");
    let second = Parsed::new(&smtp.messages()[1].data);
    assert_eq!(second.one("Message-ID"), "<delivery-43.def@example.org>");
    assert_eq!(second.one("To"), "carla@example.net");
    for absent in [
        "In-Reply-To",
        "References",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    ] {
        assert!(second.all(absent).is_empty(), "{absent} without a value");
    }
}

#[tokio::test]
async fn crlf_and_control_characters_in_user_text_add_no_headers() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port();
    let mailer = mailer(&smtp_options(port));
    let evil = Mail {
        subject: "Hello\r\nBcc: evil@x\r\n\r\nbody\nX-Injected: 1\rZ\u{0}\u{1b}[31m\u{2028}end"
            .into(),
        to_name: Some("Eve\r\nCc: evil@y\u{7}\u{202e}".into()),
        ..sample()
    };
    mailer.send(&evil).await.expect("sent, sanitized");

    let got = smtp.only_message();
    assert_eq!(got.rcpt.len(), 1, "no extra recipient: {:?}", got.rcpt);
    let mail = Parsed::new(&got.data);
    for injected in ["Bcc", "Cc", "X-Injected"] {
        assert!(
            mail.all(injected).is_empty(),
            "{injected} in {:?}",
            mail.names()
        );
    }
    assert_eq!(
        mail.one("Subject"),
        "Hello Bcc: evil@x body X-Injected: 1 Z [31m end"
    );
    // lettre writes a display name with specials (`:`, `@`) as an RFC 2047 encoded word.
    let to = decode_words(&mail.one("To"));
    assert_eq!(to, "Eve Cc: evil@y <carla@example.net>");
    assert!(
        mail.body.contains("Your ticket moved to Tier 3."),
        "the body is the body"
    );

    // A giant subject is cut, and no header line grows past RFC 5322's limit (`Parsed`
    // checks every line).
    smtp.clear();
    let long = Mail {
        subject: "word ".repeat(1000),
        ..sample()
    };
    mailer.send(&long).await.expect("sent, cut");
    let mail = Parsed::new(&smtp.only_message().data);
    let subject = mail.one("Subject");
    assert!(subject.starts_with("word word"), "{subject}");
    assert!(
        subject.len() < 2 * MAX_SUBJECT_CHARS,
        "{} chars",
        subject.len()
    );
}

#[test]
fn header_text_is_one_clean_bounded_line() {
    assert_eq!(
        sanitize_header_text("  a\r\n\tb\u{7f}c\u{85}d  ", 50),
        "a b c d"
    );
    let cut = sanitize_header_text(&"x".repeat(500), MAX_SUBJECT_CHARS);
    assert_eq!(cut.chars().count(), MAX_SUBJECT_CHARS);
    assert!(cut.ends_with('…'));
    let exact = "y".repeat(MAX_SUBJECT_CHARS);
    assert_eq!(sanitize_header_text(&exact, MAX_SUBJECT_CHARS), exact);
    // Cut on characters, not bytes.
    let cut = sanitize_header_text(&"é".repeat(300), 10);
    assert_eq!(cut, format!("{}…", "é".repeat(9)));
}

#[test]
fn escape_html_escapes_the_five_characters() {
    assert_eq!(
        escape_html(r#"<a href="x">Tom & 'Jerry'</a> ok"#),
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt; ok"
    );
    assert_eq!(escape_html("plain ünïcode"), "plain ünïcode");
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = mailer(&smtp_options(port))
        .send(&sample())
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn rejected_recipient_is_permanent_and_deferred_is_transient() {
    let refusing = SmtpServer::refusing(550).await;
    let err = mailer(&smtp_options(refusing.port()))
        .send(&sample())
        .await
        .expect_err("550 on RCPT");
    assert!(
        matches!(&err, SendError::Permanent(m) if m.contains("550")),
        "{err:?}"
    );

    let deferring = SmtpServer::refusing(451).await;
    let err = mailer(&smtp_options(deferring.port()))
        .send(&sample())
        .await
        .expect_err("451 on RCPT");
    assert!(
        matches!(&err, SendError::Transient(m) if m.contains("451")),
        "{err:?}"
    );
    assert!(refusing.messages().is_empty() && deferring.messages().is_empty());
}

// ---- DKIM ---------------------------------------------------------------------------------

#[tokio::test]
async fn dkim_ed25519_signature_covers_unsubscribe_and_verifies() {
    dkim_round_trip("ed25519", "ed25519-sha256").await;
}

#[tokio::test]
async fn dkim_rsa_signature_covers_unsubscribe_and_verifies() {
    dkim_round_trip("rsa", "rsa-sha256").await;
}

/// Signs with `tests/fixtures/<key>_private.pem` (PKCS#8, as `openssl genpkey` writes it),
/// then checks the signature the way a receiver would.
async fn dkim_round_trip(key: &str, algorithm: &str) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port();
    let opts = NotifyOptions {
        dkim_key: Some(fixture(&format!("{key}_private.pem"))),
        dkim_selector: Some("tier3".into()),
        ..smtp_options(port)
    };
    mailer(&opts).send(&sample()).await.expect("sent");
    let mail = Parsed::new(&smtp.only_message().data);

    let signature = mail.one("DKIM-Signature");
    let tags: BTreeMap<&str, String> = signature
        .split(';')
        .filter_map(|tag| tag.split_once('='))
        .map(|(k, v)| (k.trim(), v.split_whitespace().collect()))
        .collect();
    assert_eq!(tags["v"], "1");
    assert_eq!(tags["a"], algorithm);
    assert_eq!(tags["d"], "example.org", "the From domain");
    assert_eq!(tags["s"], "tier3");
    assert_eq!(tags["c"], "relaxed/relaxed");
    let signed: Vec<String> = tags["h"].split(':').map(str::to_ascii_lowercase).collect();
    for must in [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(
            signed.iter().any(|h| h == must),
            "h= lacks {must}: {signed:?}"
        );
    }

    // The body hash, recomputed (RFC 6376 §3.4.4 relaxed body).
    assert_eq!(
        tags["bh"],
        STANDARD.encode(Sha256::digest(relaxed_body(&mail.body)))
    );

    // The signature over the signed headers and the signature header without b=.
    let mut data = String::new();
    for name in &signed {
        if let Some((n, v)) = mail
            .headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            data += &relaxed_header(n, v);
            data += "\r\n";
        }
    }
    let (n, v) = mail
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("DKIM-Signature"))
        .unwrap();
    data += &relaxed_header(n, &without_b(v));
    let sig = STANDARD.decode(&tags["b"]).expect("b= is base64");
    let public = fixture(&format!("{key}_public.pem"));
    match openssl_verifies(key, &public, data.as_bytes(), &sig) {
        None => eprintln!("openssl not found: DKIM signature not verified, only its tags"),
        Some(ok) => {
            assert!(ok, "the {key} DKIM signature does not verify");
            let tampered = data.replace("Ticket #42", "Ticket #43");
            assert_ne!(tampered, data);
            assert_eq!(
                openssl_verifies(key, &public, tampered.as_bytes(), &sig),
                Some(false),
                "the check must be able to fail"
            );
        }
    }
}

/// RFC 6376 §3.4.2: lower-case name, unfold, whitespace runs to one space, none at the ends.
fn relaxed_header(name: &str, value: &str) -> String {
    let value = value.replace("\r\n", "");
    let words: Vec<&str> = value.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    format!("{}:{}", name.trim().to_ascii_lowercase(), words.join(" "))
}

/// RFC 6376 §3.4.4: no whitespace at line ends, runs as one space, no empty lines at the end.
fn relaxed_body(body: &str) -> String {
    let mut lines: Vec<String> = body
        .split("\r\n")
        .map(|line| {
            let mut out = String::new();
            let mut in_space = false;
            for c in line.chars() {
                if c == ' ' || c == '\t' {
                    in_space = true;
                } else {
                    if in_space {
                        out.push(' ');
                    }
                    in_space = false;
                    out.push(c);
                }
            }
            out
        })
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

/// The signature header's value with the `b=` tag emptied (RFC 6376 §3.7).
fn without_b(value: &str) -> String {
    value
        .split(';')
        .map(|tag| {
            let trimmed = tag.trim_start();
            if trimmed.starts_with("b=") {
                format!("{}b=", &tag[..tag.len() - trimmed.len()])
            } else {
                tag.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// `Some(verified)`, or `None` without an `openssl` binary. RSA: RSASSA-PKCS1-v1_5 with
/// SHA-256 over the data; Ed25519 (RFC 8463): PureEdDSA over the data's SHA-256.
fn openssl_verifies(key: &str, public: &Path, data: &[u8], sig: &[u8]) -> Option<bool> {
    Command::new("openssl").arg("version").output().ok()?;
    let dir = tempfile::tempdir().unwrap();
    let (data_file, sig_file) = (dir.path().join("data"), dir.path().join("sig"));
    fs::write(&sig_file, sig).unwrap();
    let mut cmd = Command::new("openssl");
    if key == "ed25519" {
        fs::write(&data_file, Sha256::digest(data)).unwrap();
        cmd.args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
            .arg(public)
            .arg("-in")
            .arg(&data_file)
            .arg("-sigfile")
            .arg(&sig_file);
    } else {
        fs::write(&data_file, data).unwrap();
        cmd.args(["dgst", "-sha256", "-verify"])
            .arg(public)
            .arg("-signature")
            .arg(&sig_file)
            .arg(&data_file);
    }
    Some(cmd.output().expect("run openssl").status.success())
}

// ---- files --------------------------------------------------------------------------------

#[tokio::test]
async fn without_smtp_url_one_eml_file_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("data").join("mail");
    let mailer = Mailer::from_options(&NotifyOptions::default(), &mail_dir).expect("mailer");
    assert!(!mailer.is_smtp());
    assert_eq!(mailer.domain(), "localhost");
    assert!(mail_dir.is_dir(), "created at start");

    mailer.send(&sample()).await.expect("written");

    let files: Vec<PathBuf> = fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let mail = Parsed::new(&fs::read_to_string(&files[0]).unwrap());
    assert_eq!(mail.one("From"), "tier3 <no-reply@localhost>");
    assert!(mail.one("To").ends_with("<carla@example.net>"));
    assert_eq!(mail.one("Subject"), "Ticket #42 was escalated");
    assert_eq!(mail.one("Message-ID"), "<delivery-42.abc123@example.org>");
    assert_eq!(mail.one("In-Reply-To"), "<ticket-42@example.org>");
    assert_eq!(
        mail.one("List-Unsubscribe"),
        "<https://desk.example.org/unsubscribe?token=t0k3n>"
    );
    assert_eq!(
        mail.one("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert!(
        mail.one("Content-Type")
            .starts_with("multipart/alternative;")
    );
    assert!(mail.body.contains("text/plain") && mail.body.contains("text/html"));
}

#[tokio::test]
async fn a_message_that_cannot_be_built_is_permanent() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::from_options(&NotifyOptions::default(), dir.path()).unwrap();
    let cases = [
        Mail {
            to: "not an address".into(),
            ..sample()
        },
        Mail {
            to: "a@b.example\r\nBcc: c@d.example".into(),
            ..sample()
        },
        Mail {
            message_id: "no-at-sign".into(),
            ..sample()
        },
        Mail {
            message_id: "<a@b>".into(),
            ..sample()
        },
        Mail {
            message_id: "a@b\r\nBcc: c@d".into(),
            ..sample()
        },
        Mail {
            in_reply_to: Some("x y@z".into()),
            ..sample()
        },
        Mail {
            references: vec!["ok@x".into(), "bad".into()],
            ..sample()
        },
        Mail {
            list_unsubscribe: Some("javascript:alert(1)".into()),
            ..sample()
        },
        Mail {
            list_unsubscribe: Some("mailto:u@example.org".into()),
            ..sample()
        },
        Mail {
            list_unsubscribe: Some(format!("https://x.example/{}", "a".repeat(1000))),
            ..sample()
        },
    ];
    for mail in &cases {
        let err = mailer.send(mail).await.expect_err("refused");
        assert!(matches!(err, SendError::Permanent(_)), "{mail:?}: {err:?}");
    }
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );

    // Commas and angle brackets cannot end the URL early.
    let odd = Mail {
        list_unsubscribe: Some("https://x.example/u?a=1,2&b=<c>".into()),
        ..sample()
    };
    mailer.send(&odd).await.expect("sent, encoded");
    let file = fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mail = Parsed::new(&fs::read_to_string(file).unwrap());
    assert_eq!(
        mail.one("List-Unsubscribe"),
        "<https://x.example/u?a=1%2C2&b=%3Cc%3E>"
    );
}

// ---- settings -----------------------------------------------------------------------------

#[test]
fn bad_settings_are_errors_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let with_url = |url: &str| NotifyOptions {
        smtp_url: Some(Secret(url.to_owned())),
        ..NotifyOptions::default()
    };
    for url in [
        "smtp://",
        "ftp://x",
        "smtp://h:99999",
        "smtp://h?tls=bogus",
        "not a url",
        "smtps://h?tls=starttls",
        "smtp://h?tls=starttls&tls=none",
        "smtp://h?timeout=3",
        "smtp://h/ehlo-name",
        "smtp://alice@h",
        "smtp://:secret@h",
        "smtp://alice:%ZZ@h",
    ] {
        let err = Mailer::from_options(&with_url(url), dir.path()).expect_err(url);
        let text = format!("{err:#}");
        assert!(!text.contains("secret"), "{url}: {text}");
        eprintln!("{url} → {text}");
    }
    // The password never shows, whatever else is wrong.
    let err = Mailer::from_options(&with_url("smtp://alice:hunter2@h:99999"), dir.path())
        .expect_err("bad port");
    assert!(!format!("{err:#} {err:?}").contains("hunter2"));

    let bad = [
        NotifyOptions {
            mail_from: "not an address".into(),
            ..NotifyOptions::default()
        },
        NotifyOptions {
            dkim_key: Some(dir.path().join("missing.pem")),
            dkim_selector: Some("s1".into()),
            ..NotifyOptions::default()
        },
        NotifyOptions {
            // EC keys are not a DKIM algorithm lettre signs with.
            dkim_key: Some(fixture("ec_private.pem")),
            dkim_selector: Some("s1".into()),
            ..NotifyOptions::default()
        },
        NotifyOptions {
            // A public key is not a private key.
            dkim_key: Some(fixture("ed25519_public.pem")),
            dkim_selector: Some("s1".into()),
            ..NotifyOptions::default()
        },
        NotifyOptions {
            dkim_key: Some(fixture("rsa_private.pem")),
            dkim_selector: Some("bad selector".into()),
            ..NotifyOptions::default()
        },
        NotifyOptions {
            dkim_key: Some(fixture("rsa_private.pem")),
            ..NotifyOptions::default()
        },
        NotifyOptions {
            dkim_selector: Some("s1".into()),
            ..NotifyOptions::default()
        },
    ];
    for opts in &bad {
        let err = Mailer::from_options(opts, dir.path()).expect_err("refused");
        eprintln!("{opts:?} → {err:#}");
    }
}

#[test]
fn smtp_urls_map_onto_host_port_tls_and_decoded_credentials() {
    let e = SmtpEndpoint::parse("smtp://us%40er:p%3Ass%20w%25rd@mail.example.com?tls=starttls")
        .unwrap();
    assert_eq!(e.host, "mail.example.com");
    assert_eq!(e.port, 587);
    assert_eq!(e.tls, SmtpTls::StartTls);
    assert_eq!(
        e.credentials,
        Some(("us@er".to_owned(), Secret("p:ss w%rd".to_owned())))
    );
    assert_eq!(
        e.to_string(),
        "smtp://mail.example.com:587 (STARTTLS, AUTH)"
    );
    assert!(
        !format!("{e:?}").contains("p:ss"),
        "Debug hides the password"
    );

    let cases = [
        ("smtp://127.0.0.1:2525", "127.0.0.1", 2525, SmtpTls::None),
        ("smtp://relay", "relay", 25, SmtpTls::None),
        ("smtp://relay?tls=none", "relay", 25, SmtpTls::None),
        (
            "smtps://mail.example.com",
            "mail.example.com",
            465,
            SmtpTls::Implicit,
        ),
        (
            "smtps://mail.example.com:2465",
            "mail.example.com",
            2465,
            SmtpTls::Implicit,
        ),
        (
            "smtp://h?tls=opportunistic",
            "h",
            587,
            SmtpTls::Opportunistic,
        ),
        ("smtp://h:25?tls=required", "h", 25, SmtpTls::StartTls),
        ("smtp://[::1]:2525", "::1", 2525, SmtpTls::None),
    ];
    for (url, host, port, tls) in cases {
        let e = SmtpEndpoint::parse(url).unwrap_or_else(|err| panic!("{url}: {err:#}"));
        assert_eq!((e.host.as_str(), e.port, e.tls), (host, port, tls), "{url}");
        assert_eq!(e.credentials, None);
    }

    // TLS settings are built at start, outside any runtime.
    let opts = NotifyOptions {
        smtp_url: Some(Secret("smtps://u:p@mail.example.com".into())),
        ..NotifyOptions::default()
    };
    let mailer = Mailer::from_options(&opts, Path::new("/nonexistent")).unwrap();
    assert!(mailer.is_smtp());
    assert_eq!(
        mailer.describe(),
        "smtps://mail.example.com:465 (TLS, AUTH)"
    );
    assert!(!format!("{mailer:?}").contains("u:p"));
}
