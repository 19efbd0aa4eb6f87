//! The HTTP edge's status codes, in process: requests go through `tier3::router(app)` with
//! `tower::ServiceExt::oneshot`, no socket involved. Every refusal is a GraphQL error body
//! with a code, and the status says what went wrong before GraphQL ran.

mod common;

use axum::{
    body::Body,
    http::{Method, Request, Response, StatusCode, header},
};
use common::{Local, claims, code, unique_sub};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const VIEWER: &str = r#"{"query":"{ viewer { id role } }"}"#;

/// A request to `/graphql` (plus `query`, for GET) with these headers.
fn request(method: Method, query: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("/graphql{query}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("request")
}

/// A JSON POST, signed in with `token` if given.
fn post(token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let auth = token.map(common::bearer);
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth));
    }
    request(Method::POST, "", &headers, body.into())
}

/// Runs one request through the router.
async fn send(local: &Local, request: Request<Body>) -> Response<Body> {
    local.router().oneshot(request).await.expect("infallible")
}

/// The body as JSON (or, if it is not JSON, as a string).
async fn json_of(response: Response<Body>) -> Value {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// A signed token for a new user of this role.
fn token(local: &Local, role: &str) -> String {
    local.sign(&claims(&unique_sub(role), role, None))
}

#[tokio::test]
async fn a_valid_token_is_200_and_a_bad_one_is_401_with_a_challenge() {
    let local = Local::new().await;
    let agent = token(&local, "agent");
    let res = send(&local, post(Some(&agent), VIEWER)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json_of(res).await;
    assert_eq!(body["data"]["viewer"]["role"], "AGENT", "{body}");

    let users = local.count_rows("app_user").await;
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims("mallory", "admin", None),
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-secret-0123456789abcdef"),
    )
    .unwrap();
    for bad in ["not-a-token", forged.as_str()] {
        let res = send(&local, post(Some(bad), VIEWER)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let body = json_of(res).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
        assert!(body["data"].is_null(), "{body}");
    }
    assert_eq!(
        local.count_rows("app_user").await,
        users,
        "nobody provisioned"
    );
}

#[tokio::test]
async fn other_methods_and_mutations_over_get_are_405() {
    let local = Local::new().await;
    let customer = local.sign(&claims(&unique_sub("c"), "customer", Some("acme")));
    let auth = common::bearer(&customer);

    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let res = send(
            &local,
            request(
                method.clone(),
                "",
                &[("content-type", "application/json")],
                VIEWER.into(),
            ),
        )
        .await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(res.headers()[header::ALLOW], "GET, POST", "{method}");
        assert_eq!(code(&json_of(res).await), "BAD_USER_INPUT", "{method}");
    }

    // GET runs queries…
    let res = send(
        &local,
        request(
            Method::GET,
            "?query=%7B%20viewer%20%7B%20role%20%7D%20%7D",
            &[("authorization", &auth)],
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json_of(res).await["data"]["viewer"]["role"], "CUSTOMER");
    // …but never a mutation, which would make a link able to write.
    let mutation = "mutation { createTicket(input: { subject: \"via GET\", description: \"no\" }) { ticket { id } } }";
    let query = format!(
        "?{}",
        serde_urlencoded::to_string([("query", mutation)]).unwrap()
    );
    let res = send(
        &local,
        request(
            Method::GET,
            &query,
            &[("authorization", &auth)],
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        res.headers()[header::ALLOW]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(code(&json_of(res).await), "BAD_USER_INPUT");
    assert_eq!(local.count_rows("ticket").await, 0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_declared_or_not() {
    const MAX: usize = 300;
    let local = Local::with(|c| c.limits.max_body_bytes = MAX).await;
    let agent = token(&local, "agent");
    // `{"query":"{ viewer { id role } }","variables":{"p":"xxx…"}}` of exactly `len` bytes.
    let padded = |len: usize| {
        let base = json!({ "query": "{ viewer { id role } }", "variables": { "p": "" } });
        let fill = "x".repeat(len - base.to_string().len());
        json!({ "query": "{ viewer { id role } }", "variables": { "p": fill } }).to_string()
    };
    assert_eq!(padded(MAX).len(), MAX);

    let res = send(&local, post(Some(&agent), padded(MAX))).await;
    assert_eq!(res.status(), StatusCode::OK, "at the limit");

    // Without a Content-Length the body is read up to the limit and refused there; with
    // one that says too much it is refused before any byte is read.
    let streamed = post(Some(&agent), padded(MAX + 1));
    let mut declared = post(Some(&agent), padded(MAX + 1));
    declared
        .headers_mut()
        .insert(header::CONTENT_LENGTH, (MAX + 1).into());
    for (how, req) in [("streamed", streamed), ("declared", declared)] {
        let res = send(&local, req).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{how}");
        let body = json_of(res).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{how}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["limit"], "body", "{how}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let local = Local::new().await;
    let customer = local.sign(&claims(&unique_sub("c"), "customer", Some("acme")));
    let auth = common::bearer(&customer);
    let mutation = r#"{"query":"mutation { createTicket(input: { subject: \"s\", description: \"d\" }) { ticket { id } } }"}"#;
    // A cross-site form can send these without a CORS preflight: none may run a mutation.
    for content_type in [
        Some("text/plain"),
        Some("text/plain; charset=utf-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct));
        }
        let res = send(&local, request(Method::POST, "", &headers, mutation.into())).await;
        assert_eq!(
            res.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(code(&json_of(res).await), "BAD_USER_INPUT");
    }
    assert_eq!(local.count_rows("ticket").await, 0);
}

/// Without a socket there is no client address, so anonymous callers cannot be told apart
/// here; a signed-in user is limited by their id.
#[tokio::test]
async fn an_exhausted_rate_limit_is_429_with_retry_after() {
    const LIMIT: u32 = 3;
    let local = Local::with(|c| {
        c.rate.rate_limit = LIMIT;
        c.rate.rate_limit_window_secs = 60;
    })
    .await;
    let (agent, other) = (token(&local, "agent"), token(&local, "agent"));
    for n in 1..=LIMIT {
        let res = send(&local, post(Some(&agent), VIEWER)).await;
        assert_eq!(res.status(), StatusCode::OK, "request {n}");
        assert_eq!(
            res.headers()["x-ratelimit-remaining"],
            (LIMIT - n).to_string().as_str(),
            "request {n}"
        );
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
    }
    let res = send(&local, post(Some(&agent), VIEWER)).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
    let body = json_of(res).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    let retry_after = body["errors"][0]["extensions"]["retryAfter"].as_u64();
    assert_eq!(retry_after, Some(retry), "{body}");

    // The limit is per user: someone else is still served.
    let res = send(&local, post(Some(&other), VIEWER)).await;
    assert_eq!(res.status(), StatusCode::OK);
}
