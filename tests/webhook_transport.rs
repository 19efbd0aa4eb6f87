//! The webhook transport against real parts: a real HTTP receiver on loopback records what
//! arrives, and every request is verified with the independent reference implementation
//! (`standardwebhooks`), never with our own signer. Nothing here needs the internet: the
//! only names resolved are `localhost`, and public addresses appear only as literals that
//! are checked, never contacted.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use standardwebhooks::Webhook;
use tier3::outbound::webhook::{
    AddrKind, Outcome, RETRY_SCHEDULE, SecretError, USER_AGENT, UrlError, WebhookSender, check_url,
    generate_secret, parse_retry_after, retry_delay, sign,
};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A receiver on 127.0.0.1 that records every request and answers by path.
struct Receiver {
    addr: SocketAddr,
    log: Log,
}

impl Receiver {
    async fn start() -> Receiver {
        let log: Log = Arc::default();
        let app = Router::new().fallback(answer).with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

async fn answer(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    log.lock().unwrap().push(Seen {
        method,
        path: path.clone(),
        headers,
        body,
    });
    match path.as_str() {
        "/ok" | "/target" => StatusCode::OK.into_response(),
        "/accepted" => StatusCode::ACCEPTED.into_response(),
        "/fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom: stack trace here").into_response(),
        "/missing" => StatusCode::NOT_FOUND.into_response(),
        "/redirect" => (StatusCode::FOUND, [(header::LOCATION, "/target")]).into_response(),
        "/gone" => StatusCode::GONE.into_response(),
        "/busy" => (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "7")]).into_response(),
        "/busy-forever" => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "31536000")],
        )
            .into_response(),
        "/down" => {
            let at = chrono::Utc::now() + chrono::Duration::seconds(120);
            let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
            response
        }
        "/error-with-retry-after" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::RETRY_AFTER, "7")],
        )
            .into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(4)).await;
            StatusCode::OK.into_response()
        }
        _ => StatusCode::IM_A_TEAPOT.into_response(),
    }
}

const BODY: &[u8] =
    br#"{"type":"ticket.updated","timestamp":"2026-01-02T03:04:05Z","data":{"id":42}}"#;

/// Verifies `seen` with the reference crate and `secret`.
fn verify(secret: &str, seen: &Seen) -> Result<(), standardwebhooks::WebhookError> {
    Webhook::new(secret)?.verify(&seen.body, &seen.headers)
}

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.headers
        .get(name)
        .unwrap_or_else(|| panic!("{name} header"))
        .to_str()
        .unwrap()
}

fn retry_error(outcome: Outcome) -> (String, Option<Duration>) {
    match outcome {
        Outcome::Retry { error, after } => (error, after),
        other => panic!("expected a retry, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------

#[test]
fn generated_secrets_are_whsec_base64_of_32_random_bytes() {
    let a = generate_secret();
    let b = generate_secret();
    assert_ne!(a, b);
    for secret in [&a, &b] {
        let key = secret.strip_prefix("whsec_").expect("whsec_ prefix");
        assert_eq!(STANDARD.decode(key).unwrap().len(), 32);
        Webhook::new(secret).expect("the reference crate reads it");
    }
}

#[test]
fn signature_matches_the_reference_crate_and_its_published_vector() {
    // The vector of the reference crate's own test.
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".to_owned();
    let id = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    let payload = br#"{"email":"test@example.com","username":"test_user"}"#;
    let ours = sign(std::slice::from_ref(&secret), id, 1649367553, payload).unwrap();
    assert_eq!(ours, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");

    let fresh = generate_secret();
    let reference = Webhook::new(&fresh)
        .unwrap()
        .sign("evt_1", 1_700_000_000, BODY)
        .unwrap();
    assert_eq!(
        sign(&[fresh], "evt_1", 1_700_000_000, BODY).unwrap(),
        reference
    );
}

#[test]
fn signing_refuses_bad_secrets_and_ids() {
    let good = generate_secret();
    let sign_with = |secret: &str| sign(&[secret.to_owned()], "evt_1", 1, BODY);
    assert_eq!(sign(&[], "evt_1", 1, BODY), Err(SecretError::NoSecrets));
    assert_eq!(
        sign_with(good.trim_start_matches("whsec_")),
        Err(SecretError::MissingPrefix)
    );
    assert_eq!(sign_with("whsec_not base64!"), Err(SecretError::NotBase64));
    let short = format!("whsec_{}", STANDARD.encode([7u8; 16]));
    assert_eq!(sign_with(&short), Err(SecretError::Length(16)));
    let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
    assert_eq!(sign_with(&long), Err(SecretError::Length(65)));
    let ok24 = format!("whsec_{}", STANDARD.encode([7u8; 24]));
    assert!(sign_with(&ok24).is_ok());
    for id in ["", "evt.1", "evt 1", "evt\n1", "é"] {
        assert_eq!(
            sign(std::slice::from_ref(&good), id, 1, BODY),
            Err(SecretError::InvalidId),
            "{id:?}"
        );
    }
    // The messages never repeat the secret.
    let message = sign_with(&short).unwrap_err().to_string();
    assert!(!message.contains(&short[6..]), "{message}");
}

// ---------------------------------------------------------------------------------------
// Sending to a real receiver
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delivered_request_verifies_with_the_reference_crate() {
    let receiver = Receiver::start().await;
    let secret = generate_secret();
    let sender = WebhookSender::new(true);
    let outcome = sender
        .send(
            &receiver.url("/ok"),
            "evt_01",
            BODY,
            std::slice::from_ref(&secret),
        )
        .await;
    assert_eq!(outcome, Outcome::Delivered { status: 200 });

    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.body.as_ref(), BODY);
    assert_eq!(header(request, "content-type"), "application/json");
    assert_eq!(header(request, "user-agent"), USER_AGENT);
    assert!(USER_AGENT.starts_with("tier3-webhooks/"));
    assert_eq!(header(request, "webhook-id"), "evt_01");
    let timestamp: i64 = header(request, "webhook-timestamp").parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!((now - 5..=now).contains(&timestamp), "{timestamp} vs {now}");
    assert!(header(request, "webhook-signature").starts_with("v1,"));
    verify(&secret, request).expect("verifies with the reference crate");
    assert!(
        verify(&generate_secret(), request).is_err(),
        "another secret must not verify"
    );

    // Any 2xx is delivered, with its status.
    let outcome = sender
        .send(&receiver.url("/accepted"), "evt_02", BODY, &[secret])
        .await;
    assert_eq!(outcome, Outcome::Delivered { status: 202 });
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_and_each_verifies_alone() {
    let receiver = Receiver::start().await;
    let (old, new) = (generate_secret(), generate_secret());
    let outcome = WebhookSender::new(true)
        .send(
            &receiver.url("/ok"),
            "evt_rotate",
            BODY,
            &[old.clone(), new.clone()],
        )
        .await;
    assert_eq!(outcome, Outcome::Delivered { status: 200 });

    let request = &receiver.seen()[0];
    let signatures: Vec<&str> = header(request, "webhook-signature").split(' ').collect();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    assert!(signatures.iter().all(|s| s.starts_with("v1,")));
    assert_ne!(signatures[0], signatures[1]);
    verify(&old, request).expect("the old secret alone verifies");
    verify(&new, request).expect("the new secret alone verifies");
    assert!(verify(&generate_secret(), request).is_err());
}

#[tokio::test]
async fn the_id_stays_the_same_across_attempts() {
    let receiver = Receiver::start().await;
    let secret = generate_secret();
    let sender = WebhookSender::new(true);
    let first = sender
        .send(
            &receiver.url("/fail"),
            "evt_again",
            BODY,
            std::slice::from_ref(&secret),
        )
        .await;
    assert_eq!(retry_error(first), ("HTTP 500".to_owned(), None));
    let second = sender
        .send(
            &receiver.url("/ok"),
            "evt_again",
            BODY,
            std::slice::from_ref(&secret),
        )
        .await;
    assert_eq!(second, Outcome::Delivered { status: 200 });

    let seen = receiver.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(header(request, "webhook-id"), "evt_again");
        verify(&secret, request).expect("each attempt verifies");
    }
}

#[tokio::test]
async fn failures_are_retries_with_short_errors() {
    let receiver = Receiver::start().await;
    let secrets = [generate_secret()];
    let sender = WebhookSender::new(true);
    let expected = [
        // The receiver's body (noise) stays out of the error.
        ("/fail", "HTTP 500"),
        ("/missing", "HTTP 404"),
        ("/teapot", "HTTP 418"),
        // Retry-After counts only on 429 and 503.
        ("/error-with-retry-after", "HTTP 500"),
    ];
    for (path, error) in expected {
        let outcome = sender
            .send(&receiver.url(path), "evt_f", BODY, &secrets)
            .await;
        assert_eq!(retry_error(outcome), (error.to_owned(), None), "{path}");
    }
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let receiver = Receiver::start().await;
    let outcome = WebhookSender::new(true)
        .send(
            &receiver.url("/redirect"),
            "evt_r",
            BODY,
            &[generate_secret()],
        )
        .await;
    assert_eq!(
        retry_error(outcome),
        ("redirect (HTTP 302) not followed".into(), None)
    );
    let paths: Vec<String> = receiver.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/redirect"], "the redirect target receives nothing");
}

#[tokio::test]
async fn gone_asks_us_to_stop() {
    let receiver = Receiver::start().await;
    let outcome = WebhookSender::new(true)
        .send(&receiver.url("/gone"), "evt_g", BODY, &[generate_secret()])
        .await;
    assert_eq!(outcome, Outcome::Gone);
}

#[tokio::test]
async fn retry_after_is_honored_on_429_and_503() {
    let receiver = Receiver::start().await;
    let secrets = [generate_secret()];
    let sender = WebhookSender::new(true);

    let busy = sender
        .send(&receiver.url("/busy"), "evt_b", BODY, &secrets)
        .await;
    assert_eq!(
        busy,
        Outcome::Retry {
            error: "HTTP 429".into(),
            after: Some(Duration::from_secs(7)),
        }
    );

    let (error, after) = retry_error(
        sender
            .send(&receiver.url("/busy-forever"), "evt_b", BODY, &secrets)
            .await,
    );
    assert_eq!(error, "HTTP 429");
    assert_eq!(
        after,
        Some(Duration::from_secs(24 * 3600)),
        "capped at a day"
    );

    // An HTTP date two minutes ahead.
    let (error, after) = retry_error(
        sender
            .send(&receiver.url("/down"), "evt_b", BODY, &secrets)
            .await,
    );
    assert_eq!(error, "HTTP 503");
    let after = after.expect("Retry-After date");
    assert!(
        (Duration::from_secs(115)..=Duration::from_secs(120)).contains(&after),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_slow_receiver_times_out() {
    assert_eq!(
        WebhookSender::new(true).timeout(),
        Duration::from_secs(15),
        "the default is the spec's 15 s"
    );
    let receiver = Receiver::start().await;
    let sender = WebhookSender::with_timeout(true, Duration::from_secs(1));
    let started = Instant::now();
    let outcome = sender
        .send(&receiver.url("/slow"), "evt_s", BODY, &[generate_secret()])
        .await;
    let took = started.elapsed();
    assert_eq!(retry_error(outcome), ("timed out after 1 s".into(), None));
    assert!(took < Duration::from_secs(3), "gave up after {took:?}");
    assert_eq!(receiver.seen().len(), 1, "the request did arrive");
}

#[tokio::test]
async fn a_closed_port_is_connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let outcome = WebhookSender::new(true)
        .send(
            &format!("http://{addr}/ok"),
            "evt_c",
            BODY,
            &[generate_secret()],
        )
        .await;
    assert_eq!(retry_error(outcome), ("connection refused".into(), None));
}

#[tokio::test]
async fn our_own_problems_are_retries_too() {
    let receiver = Receiver::start().await;
    let sender = WebhookSender::new(true);
    let (error, _) = retry_error(sender.send(&receiver.url("/ok"), "evt_n", BODY, &[]).await);
    assert!(error.starts_with("cannot sign:"), "{error}");
    let (error, _) = retry_error(
        sender
            .send("ftp://127.0.0.1/", "evt_n", BODY, &[generate_secret()])
            .await,
    );
    assert!(error.contains("only http and https"), "{error}");
    assert!(receiver.seen().is_empty());
}

#[tokio::test]
async fn without_allow_private_nothing_reaches_loopback() {
    let receiver = Receiver::start().await;
    let port = receiver.addr.port();
    let sender = WebhookSender::new(false);
    assert!(!sender.allow_private());
    let secrets = [generate_secret()];

    // A literal address, refused before connecting.
    let (error, after) = retry_error(
        sender
            .send(&receiver.url("/ok"), "evt_p", BODY, &secrets)
            .await,
    );
    assert_eq!(after, None);
    assert_eq!(
        error,
        "127.0.0.1 is a loopback address; webhooks go only to public addresses"
    );
    // The IPv4-mapped IPv6 form of the same address.
    let (error, _) = retry_error(
        sender
            .send(
                &format!("http://[::ffff:127.0.0.1]:{port}/ok"),
                "evt_p",
                BODY,
                &secrets,
            )
            .await,
    );
    assert!(error.contains("loopback"), "{error}");
    // A name: refused by the resolver at connect time (what stops DNS rebinding).
    let (error, _) = retry_error(
        sender
            .send(
                &format!("http://localhost:{port}/ok"),
                "evt_p",
                BODY,
                &secrets,
            )
            .await,
    );
    assert!(
        error.starts_with("localhost resolves to ") && error.contains("a loopback address"),
        "{error}"
    );

    assert!(receiver.seen().is_empty(), "the receiver got nothing");
}

// ---------------------------------------------------------------------------------------
// Endpoint URLs
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn check_url_refuses_what_is_not_a_public_http_endpoint() {
    for url in [
        "ftp://x",
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://169.254.169.254/latest",
        "http://10.0.0.1",
        "http://localhost:9/",
        "http://[::ffff:127.0.0.1]/",
        "not a url",
    ] {
        let refused = check_url(url, false).await;
        assert!(refused.is_err(), "{url} was accepted: {refused:?}");
    }

    let kind = |r: Result<String, UrlError>| match r {
        Err(UrlError::Forbidden { kind, .. }) => kind,
        other => panic!("expected Forbidden, got {other:?}"),
    };
    assert!(matches!(
        check_url("ftp://x", false).await,
        Err(UrlError::NotHttp(s)) if s == "ftp"
    ));
    assert!(matches!(
        check_url("not a url", false).await,
        Err(UrlError::Malformed(_))
    ));
    assert_eq!(
        kind(check_url("http://localhost:9/", false).await),
        AddrKind::Loopback
    );
    assert_eq!(
        kind(check_url("http://169.254.169.254/latest", false).await),
        AddrKind::LinkLocal
    );
    assert_eq!(
        check_url("http://169.254.169.254/latest", false)
            .await
            .unwrap_err()
            .to_string(),
        "169.254.169.254 is a link-local address; webhooks go only to public addresses"
    );
    assert_eq!(
        check_url("https://user:pw@93.184.216.34/", false).await,
        Err(UrlError::Credentials)
    );
}

#[tokio::test]
async fn check_url_knows_every_internal_range() {
    let refused = [
        ("http://0.0.0.0/", AddrKind::Unspecified),
        ("http://[::]/", AddrKind::Unspecified),
        ("http://10.255.255.255/", AddrKind::Private),
        ("http://172.16.0.1/", AddrKind::Private),
        ("http://172.31.255.255/", AddrKind::Private),
        ("http://192.168.1.1/", AddrKind::Private),
        ("http://100.64.0.1/", AddrKind::Shared),
        ("http://100.127.255.254/", AddrKind::Shared),
        ("http://127.8.9.10/", AddrKind::Loopback),
        ("http://2130706433/", AddrKind::Loopback), // 127.0.0.1 written as a number
        ("http://0x7f.1/", AddrKind::Loopback),
        ("http://224.0.0.1/", AddrKind::Multicast),
        ("http://255.255.255.255/", AddrKind::Broadcast),
        ("http://240.0.0.1/", AddrKind::Reserved),
        ("http://198.18.0.1/", AddrKind::Reserved),
        ("http://192.0.2.1/", AddrKind::Documentation),
        ("http://[fe80::1]/", AddrKind::LinkLocal),
        ("http://[fc00::1]/", AddrKind::UniqueLocal),
        ("http://[fd12:3456::1]/", AddrKind::UniqueLocal),
        ("http://[ff02::1]/", AddrKind::Multicast),
        ("http://[::ffff:10.0.0.1]/", AddrKind::Private),
        ("http://[::ffff:169.254.169.254]/", AddrKind::LinkLocal),
        ("http://[::ffff:0.0.0.0]/", AddrKind::Unspecified),
        ("http://[64:ff9b::7f00:1]/", AddrKind::Loopback), // NAT64 of 127.0.0.1
        ("http://[2002:a00:1::]/", AddrKind::Private),     // 6to4 of 10.0.0.1
        ("http://[2001:db8::1]/", AddrKind::Documentation),
    ];
    for (url, expected) in refused {
        match check_url(url, false).await {
            Err(UrlError::Forbidden { kind, .. }) => assert_eq!(kind, expected, "{url}"),
            other => panic!("{url}: expected {expected:?}, got {other:?}"),
        }
        // allow_private lifts exactly this rule.
        assert!(
            check_url(url, true).await.is_ok(),
            "{url} with allow_private"
        );
    }

    for url in [
        "http://172.32.0.1/",
        "http://100.128.0.1/",
        "http://[2606:4700:4700::1111]/",
        "http://[::ffff:93.184.216.34]/",
        "http://[2002:5db8:d822::]/", // 6to4 of a public address
    ] {
        assert!(check_url(url, false).await.is_ok(), "{url} was refused");
    }
}

#[tokio::test]
async fn check_url_accepts_and_normalizes() {
    assert_eq!(
        check_url("http://127.0.0.1:1/", true).await.unwrap(),
        "http://127.0.0.1:1/"
    );
    assert_eq!(
        check_url("https://93.184.216.34/hook", false)
            .await
            .unwrap(),
        "https://93.184.216.34/hook"
    );
    assert_eq!(
        check_url("  HTTPS://93.184.216.34:443/Hook?x=1#frag ", false)
            .await
            .unwrap(),
        "https://93.184.216.34/Hook?x=1"
    );
    assert_eq!(
        check_url("http://localhost:9", true).await.unwrap(),
        "http://localhost:9/"
    );
}

// ---------------------------------------------------------------------------------------
// Retry schedule and Retry-After
// ---------------------------------------------------------------------------------------

#[test]
fn retry_schedule_is_the_specs() {
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let hours = |h: u64| Duration::from_secs(h * 3600);
    let expected = [
        Duration::from_secs(5),
        minutes(5),
        minutes(30),
        hours(2),
        hours(5),
        hours(10),
        hours(14),
        hours(20),
        hours(24),
    ];
    assert_eq!(retry_delay(0), Some(Duration::ZERO));
    for (i, delay) in expected.iter().enumerate() {
        assert_eq!(
            retry_delay(i as u32 + 1),
            Some(*delay),
            "after attempt {}",
            i + 1
        );
    }
    assert_eq!(retry_delay(10), None);
    assert_eq!(retry_delay(u32::MAX), None);
    // The spec's table: the last attempt 75:35:05 after the first.
    let total: Duration = RETRY_SCHEDULE.iter().sum();
    assert_eq!(total, hours(75) + minutes(35) + Duration::from_secs(5));
}

#[test]
fn retry_after_reads_seconds_and_all_three_http_dates() {
    use chrono::TimeZone;
    let at = chrono::Utc
        .with_ymd_and_hms(2015, 10, 21, 7, 28, 0)
        .unwrap();
    let now = SystemTime::from(at) - Duration::from_secs(90);
    let ninety = Some(Duration::from_secs(90));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        ninety
    );
    assert_eq!(
        parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now),
        ninety
    );
    assert_eq!(parse_retry_after("Wed Oct 21 07:28:00 2015", now), ninety);
    assert_eq!(
        parse_retry_after(" 120 ", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("99999999999999999999999", now),
        Some(Duration::from_secs(24 * 3600))
    );
    let later = SystemTime::from(at) + Duration::from_secs(60);
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", later),
        Some(Duration::ZERO),
        "a date in the past means now"
    );
    for junk in ["", "-5", "1.5", "soon", "Wed, 32 Oct 2015 07:28:00 GMT"] {
        assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
    }
}
