//! Identity at the edge: a present but invalid token is HTTP 401 `UNAUTHENTICATED` with no
//! data, whatever is wrong with it; no token is anonymous (told to sign in for anything but
//! release notes and released releases); a valid token provisions its user and its role
//! counts on every request; each key type verifies its own tokens only, by key type, never
//! by the token's `alg`.

mod common;

use std::path::PathBuf;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{SECRET, TestApp, bearer, data, steps::CREATE_TICKET};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tier3::auth::Claims;

const VIEWER: &str = "{ viewer { id name email role } }";

/// A test key in `tests/fixtures/`.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Signs any serializable claims with an explicit algorithm and key (no server involved).
fn encode(alg: Algorithm, claims: &impl serde::Serialize, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).expect("encode")
}

/// HS256 with an arbitrary secret.
fn hs256(claims: &impl serde::Serialize, secret: &[u8]) -> String {
    encode(Algorithm::HS256, claims, &EncodingKey::from_secret(secret))
}

/// An unsigned token: `base64url(header).base64url(payload).` (RFC 7519 §6).
fn unsigned(alg: &str, claims: &impl serde::Serialize) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "JWT" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims"));
    format!("{header}.{payload}.")
}

fn query(q: &str) -> Value {
    json!({ "query": q, "variables": {} })
}

fn create_body() -> Value {
    json!({ "query": CREATE_TICKET, "variables": { "i": { "subject": "sneaky", "description": "should not exist" } } })
}

/// The one shape every rejected token gets: 401, `UNAUTHENTICATED`, a challenge, no data.
fn assert_unauthenticated(
    case: &str,
    status: StatusCode,
    headers: &header::HeaderMap,
    res: &Value,
) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {res}");
    assert_eq!(
        res["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{case}: {res}"
    );
    assert!(res["data"].is_null(), "{case}: data leaked: {res}");
    assert_eq!(
        res["errors"].as_array().map(Vec::len),
        Some(1),
        "{case}: {res}"
    );
    assert_eq!(
        headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
        Some("Bearer"),
        "{case}: 401 without a Bearer challenge"
    );
}

/// Row counts a rejected token must not change.
async fn provisioned(app: &TestApp) -> [i64; 3] {
    [
        app.count_rows("ticket").await,
        app.count_rows("app_user").await,
        app.count_rows("organization").await,
    ]
}

/// Sends a header with reads and a write; all must be refused and nothing may be written
/// (no ticket, no user or organization provisioned from a bad token).
async fn assert_rejected(app: &TestApp, case: &str, authorization: &str) {
    let before = provisioned(app).await;
    for body in [
        query(VIEWER),
        query("{ tickets { totalCount } }"),
        create_body(),
    ] {
        let (status, headers, res) = app.post_raw(Some(authorization), body.to_string()).await;
        assert_unauthenticated(case, status, &headers, &res);
    }
    assert_eq!(provisioned(app).await, before, "{case}: wrote something");
}

async fn assert_token_rejected(app: &TestApp, case: &str, token: &str) {
    assert_rejected(app, case, &format!("Bearer {token}")).await;
}

/// The viewer a token signs in as (the request must succeed).
async fn viewer(app: &TestApp, token: &str) -> Value {
    let (status, _, res) = app
        .post_raw(Some(&bearer(token)), query(VIEWER).to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let viewer = data(&res)["viewer"].clone();
    assert!(viewer.is_object(), "no viewer: {res}");
    viewer
}

#[tokio::test]
async fn bad_tokens_are_401_unauthenticated_without_data() {
    let app = TestApp::spawn().await;
    let claims = TestApp::claims("mallory", "agent", None);

    // The control: the same claims, properly signed, work.
    assert_eq!(viewer(&app, &app.sign(&claims)).await["role"], "AGENT");
    let users = app.count_rows("app_user").await;

    let mut cases: Vec<(&str, String)> = vec![
        (
            "wrong signature (another secret)",
            hs256(&claims, b"another-secret-0123456789abcdef"),
        ),
        ("alg none", unsigned("none", &claims)),
        ("alg None", unsigned("None", &claims)),
        ("alg NONE", unsigned("NONE", &claims)),
        (
            "wrong algorithm (HS512, same secret)",
            encode(
                Algorithm::HS512,
                &claims,
                &EncodingKey::from_secret(SECRET.as_bytes()),
            ),
        ),
        (
            "wrong algorithm (HS384, same secret)",
            encode(
                Algorithm::HS384,
                &claims,
                &EncodingKey::from_secret(SECRET.as_bytes()),
            ),
        ),
        ("garbage", "garbage".into()),
        ("three garbage parts", "a.b.c".into()),
        ("not base64", "@@@.###.$$$".into()),
        (
            "header only",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        ),
    ];

    // Signature stripped from a valid token.
    let valid = app.sign(&claims);
    let (unsigned_part, _) = valid.rsplit_once('.').expect("three parts");
    cases.push(("signature stripped", format!("{unsigned_part}.")));
    // Payload swapped for a more powerful one, original signature kept.
    let mut parts: Vec<&str> = valid.split('.').collect();
    let admin_payload = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&TestApp::claims("mallory", "admin", None)).unwrap());
    parts[1] = &admin_payload;
    cases.push(("payload tampered", parts.join(".")));

    // Expired well beyond the verifier's 60 s leeway.
    let mut expired = claims.clone();
    expired.exp = now() - 3600;
    cases.push(("expired", app.sign(&expired)));

    // Claims the verifier requires, missing.
    let mut no_exp = serde_json::to_value(&claims).unwrap();
    no_exp.as_object_mut().unwrap().remove("exp");
    cases.push(("missing exp", hs256(&no_exp, SECRET.as_bytes())));
    let mut no_sub = serde_json::to_value(&claims).unwrap();
    no_sub.as_object_mut().unwrap().remove("sub");
    cases.push(("missing sub", hs256(&no_sub, SECRET.as_bytes())));
    let mut text_exp = serde_json::to_value(&claims).unwrap();
    text_exp["exp"] = json!("tomorrow");
    cases.push(("exp not a number", hs256(&text_exp, SECRET.as_bytes())));

    // Verified, but claims tier3 cannot act on.
    cases.push((
        "unknown role",
        app.sign(&TestApp::claims("mallory", "root", None)),
    ));
    cases.push((
        "empty role",
        app.sign(&TestApp::claims("mallory", "", None)),
    ));
    cases.push((
        "customer without org",
        app.sign(&TestApp::claims("orphan", "customer", None)),
    ));
    cases.push(("empty sub", app.sign(&TestApp::claims("", "agent", None))));
    cases.push((
        "sub over 255 characters",
        app.sign(&TestApp::claims(&"s".repeat(256), "agent", None)),
    ));
    for (case, org) in [
        ("customer with empty org", String::new()),
        ("customer with blank org", "   ".to_owned()),
        ("org over 128 characters", "o".repeat(129)),
    ] {
        cases.push((
            case,
            app.sign(&TestApp::claims("orgless", "customer", Some(&org))),
        ));
    }

    for (case, token) in &cases {
        assert_token_rejected(&app, case, token).await;
    }

    // Not a bearer token at all.
    for (case, header) in [
        ("Basic scheme", "Basic dXNlcjpwYXNz".to_owned()),
        ("Token scheme", format!("Token {valid}")),
        ("no scheme", valid.clone()),
        ("empty bearer", "Bearer".to_owned()),
        ("empty bearer with space", "Bearer ".to_owned()),
        ("empty header", String::new()),
        ("bearer with garbage", "Bearer  garbage  ".to_owned()),
    ] {
        assert_rejected(&app, case, &header).await;
    }

    assert_eq!(app.count_rows("app_user").await, users);
    assert_eq!(app.count_rows("ticket").await, 0);
}

#[tokio::test]
async fn expiry_has_a_leeway_but_not_more() {
    let app = TestApp::spawn().await;
    let mut claims = TestApp::claims("late", "agent", None);
    // Inside the 60 s leeway: still accepted.
    claims.exp = now() - 10;
    viewer(&app, &app.sign(&claims)).await;
    // Past it: refused.
    claims.exp = now() - 120;
    assert_token_rejected(&app, "expired beyond leeway", &app.sign(&claims)).await;
}

#[tokio::test]
async fn no_header_is_anonymous() {
    let app = TestApp::spawn().await;
    let (status, _, res) = app.post_raw(None, query(VIEWER).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert!(data(&res)["viewer"].is_null(), "{res}");
    // Anonymous is told to sign in (not shown an empty list) and may not open a ticket;
    // unlike a bad token, that is an answer, not a 401. tests/anonymous.rs has the rest.
    let alice = app.customer("acme").await;
    app.create_ticket(&alice, "mine").await;
    let (status, headers, res) = app
        .post_raw(None, query("{ tickets { totalCount } }").to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(common::code(&res), "UNAUTHENTICATED", "{res}");
    assert!(res["data"]["tickets"].is_null(), "{res}");
    assert!(
        headers.get(header::WWW_AUTHENTICATE).is_none(),
        "{headers:?}"
    );
    let (_, _, res) = app.post_raw(None, create_body().to_string()).await;
    assert!(res["data"]["createTicket"].is_null(), "{res}");
    assert_eq!(common::code(&res), "UNAUTHENTICATED", "{res}");
    assert_eq!(app.count_rows("ticket").await, 1);
}

#[tokio::test]
async fn a_valid_token_provisions_the_user_and_its_role_counts_every_time() {
    let app = TestApp::spawn().await;
    let users = app.count_rows("app_user").await;
    let claims = TestApp::claims("dana", "customer", Some("acme"));
    let v = viewer(&app, &app.sign(&claims)).await;
    assert_eq!(v["name"], "Name of dana");
    assert_eq!(v["email"], "dana@example.com");
    assert_eq!(v["role"], "CUSTOMER");
    assert_eq!(app.count_rows("app_user").await, users + 1);
    let id = v["id"].clone();

    // Same sub, a token with another role: same user, the new role, no new row.
    let v = viewer(&app, &app.sign(&TestApp::claims("dana", "agent", None))).await;
    assert_eq!(v["id"], id);
    assert_eq!(v["role"], "AGENT");
    // ...and the role is the token's, not the stored one: an older customer token still
    // acts as a customer (it may open a ticket, which agents may not).
    let customer = app.sign(&claims);
    let v = viewer(&app, &customer).await;
    assert_eq!(
        (v["id"].clone(), v["role"].clone()),
        (id.clone(), json!("CUSTOMER"))
    );
    let agent = app.sign(&TestApp::claims("dana", "agent", None));
    let res = app
        .gql_token(
            Some(&agent),
            CREATE_TICKET,
            create_body()["variables"].clone(),
        )
        .await;
    assert!(
        res["data"]["createTicket"].is_null(),
        "agent opened a ticket: {res}"
    );
    let res = app
        .gql_token(
            Some(&customer),
            CREATE_TICKET,
            create_body()["variables"].clone(),
        )
        .await;
    assert!(
        data(&res)["createTicket"]["ticket"]["id"].is_string(),
        "{res}"
    );
    // Refreshed claims update name and email.
    let mut renamed = TestApp::claims("dana", "admin", None);
    renamed.name = Some("Dana Renamed".into());
    renamed.email = Some("dana@new.example".into());
    let v = viewer(&app, &app.sign(&renamed)).await;
    assert_eq!(v["id"], id);
    assert_eq!(v["role"], "ADMIN");
    assert_eq!(v["name"], "Dana Renamed");
    assert_eq!(v["email"], "dana@new.example");
    assert_eq!(app.count_rows("app_user").await, users + 1);
}

/// A server that requires `iss` and `aud`.
async fn spawn_with_issuer_and_audience() -> TestApp {
    TestApp::spawn_with(|c| {
        c.jwt_issuer = Some("https://idp.example".into());
        c.jwt_audience = Some("tier3".into());
    })
    .await
}

fn iss_aud_claims(iss: Option<&str>, aud: Option<&str>) -> Claims {
    let mut claims = TestApp::claims("ivan", "agent", None);
    claims.iss = iss.map(Into::into);
    claims.aud = aud.map(Into::into);
    claims
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let app = spawn_with_issuer_and_audience().await;
    let good = app.sign(&iss_aud_claims(Some("https://idp.example"), Some("tier3")));
    assert_eq!(viewer(&app, &good).await["role"], "AGENT");

    for (case, claims) in [
        (
            "wrong iss",
            iss_aud_claims(Some("https://evil.example"), Some("tier3")),
        ),
        (
            "wrong aud",
            iss_aud_claims(Some("https://idp.example"), Some("other")),
        ),
        (
            "wrong iss and aud",
            iss_aud_claims(Some("https://evil.example"), Some("other")),
        ),
    ] {
        assert_token_rejected(&app, case, &app.sign(&claims)).await;
    }
}

/// A configured issuer or audience must be in the token. jsonwebtoken 11 only checks them
/// when the token carries them unless they are in `required_spec_claims`, which
/// `Keys::from_config` sets to `["exp", "sub"]` only.
#[tokio::test]
async fn missing_issuer_or_audience_is_refused_when_configured() {
    let app = spawn_with_issuer_and_audience().await;
    for (case, claims) in [
        ("missing iss", iss_aud_claims(None, Some("tier3"))),
        (
            "missing aud",
            iss_aud_claims(Some("https://idp.example"), None),
        ),
        ("missing iss and aud", iss_aud_claims(None, None)),
    ] {
        assert_token_rejected(&app, case, &app.sign(&claims)).await;
    }
}

#[tokio::test]
async fn without_configured_audience_a_token_audience_is_not_judged() {
    let app = TestApp::spawn().await;
    let claims = iss_aud_claims(Some("https://anyone.example"), Some("anything"));
    assert_eq!(viewer(&app, &app.sign(&claims)).await["role"], "AGENT");
}

/// One asymmetric key type: its fixtures and the algorithm its tokens must use.
struct KeyType {
    name: &'static str,
    alg: Algorithm,
    /// Another algorithm the same private key could sign with, which must be refused.
    sibling: Option<Algorithm>,
    public: &'static str,
    private: &'static str,
    other_private: &'static str,
    load: fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>,
}

const KEY_TYPES: [KeyType; 3] = [
    KeyType {
        name: "RSA 2048",
        alg: Algorithm::RS256,
        sibling: Some(Algorithm::RS384),
        public: "rsa_public.pem",
        private: "rsa_private.pem",
        other_private: "rsa_other_private.pem",
        load: EncodingKey::from_rsa_pem,
    },
    KeyType {
        name: "EC P-256",
        alg: Algorithm::ES256,
        sibling: None,
        public: "ec_public.pem",
        private: "ec_private.pem",
        other_private: "ec_other_private.pem",
        load: EncodingKey::from_ec_pem,
    },
    KeyType {
        name: "Ed25519",
        alg: Algorithm::EdDSA,
        sibling: None,
        public: "ed25519_public.pem",
        private: "ed25519_private.pem",
        other_private: "ed25519_other_private.pem",
        load: EncodingKey::from_ed_pem,
    },
];

/// A server that verifies with a public key only (no secret, no private key).
async fn spawn_with_public_key(public: &str) -> TestApp {
    let path = fixture(public);
    TestApp::spawn_with(move |c| {
        c.jwt_secret = None;
        c.jwt_public_key = Some(path);
        c.jwt_private_key = None;
    })
    .await
}

#[tokio::test]
async fn each_public_key_type_verifies_its_own_tokens_only() {
    for kt in &KEY_TYPES {
        let app = spawn_with_public_key(kt.public).await;
        let claims = TestApp::claims(&format!("keyed-{}", kt.public), "developer", None);
        let key = (kt.load)(&read_fixture(kt.private)).expect("private key");

        let v = viewer(&app, &encode(kt.alg, &claims, &key)).await;
        assert_eq!(v["role"], "DEVELOPER", "{}", kt.name);
        assert_eq!(
            v["name"],
            format!("Name of keyed-{}", kt.public),
            "{}",
            kt.name
        );

        let other = (kt.load)(&read_fixture(kt.other_private)).expect("other key");
        let case = format!("{}: another key of the same type", kt.name);
        assert_token_rejected(&app, &case, &encode(kt.alg, &claims, &other)).await;

        // Keys of the other types, with their own algorithms.
        for foreign in KEY_TYPES.iter().filter(|f| f.public != kt.public) {
            let key = (foreign.load)(&read_fixture(foreign.private)).expect("foreign key");
            let case = format!("{} server, {} token", kt.name, foreign.name);
            assert_token_rejected(&app, &case, &encode(foreign.alg, &claims, &key)).await;
        }

        // The right key with another algorithm of its family.
        if let Some(sibling) = kt.sibling {
            let case = format!("{}: {sibling:?} with the right key", kt.name);
            assert_token_rejected(&app, &case, &encode(sibling, &claims, &key)).await;
        }

        // Algorithm confusion: HS256 keyed with the public key's PEM text.
        let pem = read_fixture(kt.public);
        let case = format!("{}: HS256 signed with the public key PEM", kt.name);
        assert_token_rejected(&app, &case, &hs256(&claims, &pem)).await;

        // The HS256 secret the other tests use means nothing here.
        let case = format!("{}: HS256 with the test secret", kt.name);
        assert_token_rejected(&app, &case, &hs256(&claims, SECRET.as_bytes())).await;
        assert_token_rejected(
            &app,
            &format!("{}: alg none", kt.name),
            &unsigned("none", &claims),
        )
        .await;
    }
}

/// The classic attack on RS256 verifiers that trust the token's `alg`: sign HS256 with the
/// (public) PEM text as the HMAC secret, in every spelling a verifier might use it.
#[tokio::test]
async fn hs256_keyed_with_the_rsa_public_key_is_refused() {
    let app = spawn_with_public_key("rsa_public.pem").await;
    let claims = TestApp::claims("confused", "admin", None);
    let pem = read_fixture("rsa_public.pem");
    let text = String::from_utf8(pem.clone()).expect("PEM is text");
    for (case, secret) in [
        ("PEM file bytes", pem.as_slice()),
        ("PEM text trimmed", text.trim().as_bytes()),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("JWT".into());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret))
            .expect("encode");
        assert_token_rejected(&app, case, &token).await;
    }
    assert_eq!(app.count_rows("app_user").await, 0);
}
