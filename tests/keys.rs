//! Key rotation: verification keys chosen by `kid` from a JWKS file or URL, swapped without a
//! restart; the algorithm always from the key; clock-skew leeway.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{SECRET, TestApp, eventually};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tier3::auth::Claims;

fn claims(sub: &str, exp_offset: i64) -> Claims {
    let mut c = TestApp::claims(sub, "agent", None);
    c.exp = (jsonwebtoken::get_current_timestamp() as i64 + exp_offset) as u64;
    c
}

fn sign(key: &EncodingKey, alg: Algorithm, kid: Option<&str>, claims: &Claims) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn oct(kid: &str, secret: &[u8]) -> Value {
    let mut jwk =
        Jwk::from_encoding_key(&EncodingKey::from_secret(secret), Algorithm::HS256).unwrap();
    jwk.common.key_id = Some(kid.into());
    serde_json::to_value(jwk).unwrap()
}

fn ec(kid: &str, pem: &str) -> (Value, EncodingKey) {
    let key =
        EncodingKey::from_ec_pem(&std::fs::read(format!("tests/fixtures/{pem}")).unwrap()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.into());
    (serde_json::to_value(jwk).unwrap(), key)
}

async fn status(app: &TestApp, token: &str) -> StatusCode {
    app.post(Some(token), json!({ "query": "{ viewer { role } }" }))
        .await
        .0
}

/// Polls until the token gets `want`, for at most `secs`.
async fn becomes(app: &TestApp, token: &str, want: StatusCode, secs: u64) -> bool {
    eventually(secs, || async { status(app, token).await == want }).await
}

#[tokio::test]
async fn a_jwks_file_rotates_keys_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let write =
        |keys: Vec<Value>| std::fs::write(&path, json!({ "keys": keys }).to_string()).unwrap();
    write(vec![
        oct("a", b"secret-a-0123456789abcdef"),
        oct("b", b"secret-b-0123456789abcdef"),
    ]);
    let file = path.clone();
    let app = TestApp::spawn_with(move |c| {
        c.jwt_secret = None;
        c.jwt_jwks_file = Some(file);
    })
    .await;
    let token = |kid: &str, secret: &[u8]| {
        sign(
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
            Some(kid),
            &claims(&format!("u-{kid}"), 300),
        )
    };
    let (a, b, c) = (
        token("a", b"secret-a-0123456789abcdef"),
        token("b", b"secret-b-0123456789abcdef"),
        token("c", b"secret-c-0123456789abcdef"),
    );
    assert_eq!(status(&app, &a).await, StatusCode::OK);
    assert_eq!(status(&app, &b).await, StatusCode::OK);
    assert_eq!(
        status(&app, &c).await,
        StatusCode::UNAUTHORIZED,
        "unknown kid"
    );
    // A token naming key `a` but signed with `b`'s secret is refused.
    assert_eq!(
        status(&app, &token("a", b"secret-b-0123456789abcdef")).await,
        StatusCode::UNAUTHORIZED
    );

    // Rotate: retire `a`, add `c`.
    write(vec![
        oct("b", b"secret-b-0123456789abcdef"),
        oct("c", b"secret-c-0123456789abcdef"),
    ]);
    assert!(
        becomes(&app, &c, StatusCode::OK, 5).await,
        "the new key is picked up"
    );
    assert_eq!(
        status(&app, &a).await,
        StatusCode::UNAUTHORIZED,
        "the retired key is gone"
    );
    assert_eq!(status(&app, &b).await, StatusCode::OK);

    // A broken file keeps the keys we had.
    std::fs::write(&path, "{ not json").unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(status(&app, &b).await, StatusCode::OK);
    assert_eq!(status(&app, &c).await, StatusCode::OK);
}

#[tokio::test]
async fn a_jwks_url_is_fetched_and_refreshed() {
    let (k1, key1) = ec("k1", "ec_private.pem");
    let (k2, key2) = ec("k2", "ec_other_private.pem");
    let served = Arc::new(Mutex::new(json!({ "keys": [k1] })));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    {
        let served = served.clone();
        let router = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let served = served.clone();
                async move { axum::Json(served.lock().unwrap().clone()) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    }
    let app = TestApp::spawn_with(move |c| {
        c.jwt_secret = None;
        c.jwt_jwks_url = Some(url);
        c.jwt_jwks_refresh_secs = 2;
    })
    .await;
    app.app.keys.refresh_remote().await;
    let t1 = sign(&key1, Algorithm::ES256, Some("k1"), &claims("url-1", 300));
    let t2 = sign(&key2, Algorithm::ES256, Some("k2"), &claims("url-2", 300));
    assert_eq!(status(&app, &t1).await, StatusCode::OK);
    assert_eq!(status(&app, &t2).await, StatusCode::UNAUTHORIZED);

    // The identity provider rotates to k2.
    *served.lock().unwrap() = json!({ "keys": [k2] });
    assert!(
        becomes(&app, &t2, StatusCode::OK, 8).await,
        "k2 picked up without a restart"
    );
    assert_eq!(
        status(&app, &t1).await,
        StatusCode::UNAUTHORIZED,
        "k1 retired"
    );

    // The algorithm is the key's: an HS256 token "signed" with the public key, or `none`.
    let public = std::fs::read("tests/fixtures/ec_other_public.pem").unwrap();
    let forged = sign(
        &EncodingKey::from_secret(&public),
        Algorithm::HS256,
        Some("k2"),
        &claims("forger", 300),
    );
    assert_eq!(status(&app, &forged).await, StatusCode::UNAUTHORIZED);
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(json!({ "alg": "none", "typ": "JWT", "kid": "k2" })),
        b64(serde_json::to_value(claims("none", 300)).unwrap())
    );
    assert_eq!(status(&app, &none).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn clock_skew_leeway_is_configurable() {
    let strict = TestApp::spawn_with(|c| c.jwt_leeway_secs = 0).await;
    let lenient = TestApp::spawn_with(|c| c.jwt_leeway_secs = 30).await;
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let expired = sign(&key, Algorithm::HS256, None, &claims("skewed", -5));
    assert_eq!(status(&strict, &expired).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&lenient, &expired).await, StatusCode::OK);
    let long_expired = sign(&key, Algorithm::HS256, None, &claims("skewed", -60));
    assert_eq!(
        status(&lenient, &long_expired).await,
        StatusCode::UNAUTHORIZED
    );
}
