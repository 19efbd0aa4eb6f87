//! Abuse limits, GraphQL over HTTP, rate limits, CORS, metrics and request ids, over real HTTP.

mod common;

use std::time::{Duration, Instant};

use common::{MADE_UP, TestApp, WsEvent, bearer, code, data};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn limit_of(res: &Value) -> &str {
    res["errors"][0]["extensions"]["limit"]
        .as_str()
        .unwrap_or("")
}

/// The server still answers normally.
async fn still_healthy(app: &TestApp, token: &str) {
    let res = app
        .gql_token(Some(token), "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(data(&res)["viewer"]["role"], "AGENT");
}

#[tokio::test]
async fn each_cost_limit_refuses_just_over_and_admits_just_under() {
    let app = TestApp::spawn_with(|c| {
        c.limits.max_depth = 5;
        c.limits.max_complexity = 500;
        c.limits.max_aliases = 3;
        c.limits.max_directives = 1;
        c.limits.max_fields = 12;
        c.limits.max_batch = 3;
    })
    .await;
    let agent = app.agent().await;
    // What authenticating alone costs, so "no SQL ran for the query" can be checked (once
    // the server's own start-up reads are done).
    app.quiesce().await;
    let statements = || app.statements.load(std::sync::atomic::Ordering::SeqCst);
    let before = statements();
    let _ = app.gql(Some(&agent), "{ __typename }", json!({})).await;
    let auth_only = statements() - before;

    // (query, limit it breaks); the first of each pair is at the limit and must run.
    let cases = [
        (
            "{ tickets(first: 1) { nodes { requester { organization { name } } } } }",
            "{ tickets(first: 1) { nodes { comments(first: 1) { nodes { author { name } } } } } }",
            "depth",
        ),
        (
            "{ tickets(first: 100) { nodes { comments(first: 4) { nodes { id } } } } }",
            "{ tickets(first: 100) { nodes { comments(first: 5) { nodes { id } } } } }",
            "complexity",
        ),
        (
            "{ a: viewer { id } b: viewer { id } c: viewer { id } }",
            "{ a: viewer { id } b: viewer { id } c: viewer { id } d: viewer { id } }",
            "aliases",
        ),
        (
            "{ viewer @include(if: true) { id } }",
            "{ viewer @include(if: true) @skip(if: false) { id } }",
            "directives",
        ),
        (
            "{ viewer { id name email role } tickets(first: 1) { nodes { id number subject status priority } } }",
            "{ viewer { id name email role } tickets(first: 1) { nodes { id number subject status priority createdAt } } }",
            "fields",
        ),
    ];
    for (under, over, limit) in cases {
        let res = app.gql(Some(&agent), under, json!({})).await;
        assert!(
            res["errors"].is_null(),
            "{limit}: just under refused: {res}"
        );

        let before = statements();
        let res = app.gql(Some(&agent), over, json!({})).await;
        assert_eq!(code(&res), "BAD_USER_INPUT", "{limit}: {res}");
        assert_eq!(limit_of(&res), limit, "{res}");
        let msg = res["errors"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains("limit is"),
            "the limit is in the message: {msg}"
        );
        assert_eq!(
            statements() - before,
            auth_only,
            "{limit}: refused before any SQL"
        );
    }

    // `first` is bounded before resolvers run, also through variables.
    let q = "query($n: Int) { tickets(first: $n) { nodes { id } } }";
    assert!(app.gql(Some(&agent), q, json!({"n": 100})).await["errors"].is_null());
    let res = app.gql(Some(&agent), q, json!({"n": 101})).await;
    assert_eq!((code(&res), limit_of(&res)), ("BAD_USER_INPUT", "first"));
    let res = app
        .gql(
            Some(&agent),
            r#"{ tickets(after: "bogus") { nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT");

    // Batches: three run, four are refused whole.
    let one = json!({ "query": "{ viewer { id } }" });
    let (status, body) = app.post(Some(&agent.token), json!([one, one, one])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().map(Vec::len), Some(3));
    let (status, body) = app
        .post(Some(&agent.token), json!([one, one, one, one]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((code(&body), limit_of(&body)), ("BAD_USER_INPUT", "batch"));
}

#[tokio::test]
async fn body_size_is_limited() {
    let app = TestApp::spawn_with(|c| c.limits.max_body_bytes = 1_000).await;
    let agent = app.agent().await;
    let query = "{ viewer { id } }";
    let pad = |n: usize| {
        let base = json!({ "query": query, "variables": { "p": "" } }).to_string();
        let fill = "x".repeat(n - base.len());
        json!({ "query": query, "variables": { "p": fill } })
            .to_string()
            .into_bytes()
    };
    let (status, _, body) = app.post_raw(Some(&bearer(&agent.token)), pad(1_000)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = app.post_raw(Some(&bearer(&agent.token)), pad(1_001)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!((code(&body), limit_of(&body)), ("BAD_USER_INPUT", "body"));
    still_healthy(&app, &agent.token).await;
}

/// The abuse cases (a huge body, deep nesting, many aliases, duplicated fields, a big
/// batch) against the default limits: each refused well under a second, and the next
/// request answered normally.
#[tokio::test]
async fn abusive_requests_are_refused_fast() {
    let app = TestApp::spawn().await;
    let agent = app.agent().await;
    let deep = format!(
        "{{ {} }}",
        (0..50).fold(String::from("id"), |inner, _| format!(
            "viewer {{ {inner} }}"
        ))
    );
    let aliases = format!(
        "{{ {} }}",
        (0..1_000)
            .map(|i| format!("a{i}: viewer {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let duplicates = format!("{{ {} }}", "__typename ".repeat(10_000));
    let batch = Value::Array(vec![json!({ "query": "{ viewer { id } }" }); 100]);
    let bodies: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        (
            "10 MB body",
            json!({ "query": "{ viewer { id } }", "variables": { "p": "x".repeat(10 << 20) } })
                .to_string()
                .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "50-deep nesting",
            json!({ "query": deep }).to_string().into_bytes(),
            StatusCode::OK,
        ),
        (
            "1,000 aliases",
            json!({ "query": aliases }).to_string().into_bytes(),
            StatusCode::OK,
        ),
        (
            "10,000 duplicated fields",
            json!({ "query": duplicates }).to_string().into_bytes(),
            StatusCode::OK,
        ),
        (
            "100-operation batch",
            batch.to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, body, status) in bodies {
        let started = Instant::now();
        let (got, _, res) = app.post_raw(Some(&bearer(&agent.token)), body).await;
        let took = started.elapsed();
        assert_eq!(got, status, "{what}: {res}");
        assert_eq!(code(&res), "BAD_USER_INPUT", "{what}: {res}");
        // Generous for a debug build on a busy CI machine; release figures are in
        // RELIABILITY.md.
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
        still_healthy(&app, &agent.token).await;
    }
}

#[tokio::test]
async fn graphql_over_http_media_types_and_status_codes() {
    let app = TestApp::spawn().await;
    let agent = app.agent().await;
    let send = |accept: Option<&'static str>, body: Value| {
        let mut req = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&agent.token)
            .json(&body);
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        req.send()
    };
    let ok = json!({ "query": "{ viewer { role } }" });
    let invalid = json!({ "query": "{ noSuchField }" });
    let unparsable = json!({ "query": "{ viewer { " });

    // The spec's media type: request errors are 4xx and carry no `data`.
    let res = send(Some("application/graphql-response+json"), ok.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    for bad in [&invalid, &unparsable] {
        let res = send(Some("application/graphql-response+json"), bad.clone())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = res.json().await.unwrap();
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
    // Legacy application/json (and no Accept): 200 with the errors.
    for accept in [None, Some("application/json")] {
        let res = send(accept, invalid.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(code(&body), "BAD_USER_INPUT");
    }
    // A bad token is 401 whatever the media type.
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth("not-a-token")
        .header("accept", "application/graphql-response+json")
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Not JSON: 415, so a cross-site form post cannot run a mutation.
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&agent.token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=mutation{followReleaseNotes{viewerFollows}}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Methods other than GET and POST.
    let res = app.client.put(app.url("/graphql")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = TestApp::spawn().await;
    let customer = app.customer("acme").await;
    let get = |params: Vec<(&'static str, String)>| {
        app.client
            .get(app.url("/graphql"))
            .bearer_auth(&customer.token)
            .header("accept", "application/graphql-response+json")
            .query(&params)
            .send()
    };
    let res = get(vec![
        (
            "query",
            "query Me($n: Int) { tickets(first: $n) { totalCount } viewer { role } }".into(),
        ),
        ("variables", json!({ "n": 5 }).to_string()),
        ("operationName", "Me".into()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(data(&body)["viewer"]["role"], "CUSTOMER");

    let before = app.count_rows("ticket").await;
    let res = get(vec![(
        "query",
        r#"mutation { createTicket(input: { subject: "via GET", description: "no" }) { ticket { id } } }"#.into(),
    )])
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.headers()["allow"].to_str().unwrap().contains("POST"));
    assert_eq!(app.count_rows("ticket").await, before);

    let res = get(vec![
        ("variables", "[1]".into()),
        ("query", "{ viewer { id } }".into()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn graphiql_and_introspection_can_be_turned_off() {
    let app = TestApp::spawn_with(|c| {
        c.http.graphiql = false;
        c.http.introspection = false;
    })
    .await;
    let res = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert!(res["data"].is_null(), "{res}");
    // Ordinary queries still run.
    let res = app
        .gql(None, "{ releaseNotes(first: 1) { totalCount } }", json!({}))
        .await;
    assert!(res["errors"].is_null(), "{res}");
}

#[tokio::test]
async fn rate_limits_refuse_with_retry_after_and_are_reported() {
    let app = TestApp::spawn_with(|c| {
        c.rate.rate_limit = 5;
        c.rate.rate_limit_anonymous = 2;
    })
    .await;
    let (a, b) = (app.agent().await, app.agent().await);
    let q = "{ rateLimit { limit cost used remaining resetAt } }";
    // Signing up (`app.agent()`) spent one point already.
    for used in 2..=5 {
        let res = app.gql(Some(&a), q, json!({})).await;
        let rl = &data(&res)["rateLimit"];
        assert_eq!(
            (rl["limit"].as_i64(), rl["used"].as_i64()),
            (Some(5), Some(used))
        );
        assert_eq!(rl["remaining"].as_i64(), Some(5 - used));
        assert_eq!(rl["cost"].as_i64(), Some(1));
        assert!(rl["resetAt"].is_string());
    }
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&a.token)
        .json(&json!({ "query": q }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
    let body: Value = res.json().await.unwrap();
    assert_eq!(code(&body), "RATE_LIMITED");
    // Someone else is not affected.
    assert!(app.gql(Some(&b), q, json!({})).await["errors"].is_null());

    // Anonymous callers are limited per address.
    let anon = "{ releaseNotes(first: 1) { totalCount } }";
    for _ in 0..2 {
        assert!(app.gql(None, anon, json!({})).await["errors"].is_null());
    }
    let (status, body) = app.post(None, json!({ "query": anon })).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
    );

    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("tier3_rate_limited_total{caller=\"user\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tier3_rate_limited_total{caller=\"anonymous\"} 1"));
}

#[tokio::test]
async fn bigger_queries_cost_more_points() {
    let app = TestApp::spawn_with(|c| c.rate.rate_limit = 10).await;
    let agent = app.agent().await;
    // 100 tickets × (1 + 5 comments) = 600 nodes: 6 points.
    let q = "{ tickets(first: 100) { nodes { comments(first: 5) { nodes { id } } } } \
             rateLimit { cost used } }";
    let res = app.gql(Some(&agent), q, json!({})).await;
    assert_eq!(data(&res)["rateLimit"]["cost"], 6);
    let res = app.gql(Some(&agent), q, json!({})).await;
    assert_eq!(code(&res), "RATE_LIMITED");
}

#[tokio::test]
async fn cors_is_closed_by_default_and_opens_to_configured_origins() {
    let closed = TestApp::spawn().await;
    let preflight = |app: &TestApp, origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let res = preflight(&closed, "https://desk.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let open =
        TestApp::spawn_with(|c| c.http.cors_origins = vec!["https://desk.example".into()]).await;
    let res = preflight(&open, "https://desk.example").await.unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://desk.example"
    );
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"));
    let res = preflight(&open, "https://evil.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn metrics_and_request_ids() {
    let app = TestApp::spawn().await;
    let agent = app.agent().await;
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&agent.token)
        .json(&json!({ "query": "query AgentQueue { tickets(first: 1) { totalCount } }", "operationName": "AgentQueue" }))
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    // A caller's own id is kept, for tracing across services.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let _ = app
        .gql(
            Some(&agent),
            "query($n: Int!) { ticket(number: $n) { id } }",
            json!({ "n": MADE_UP }),
        )
        .await;

    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe("1", "subscription { ticketUpdates { cursor } }", json!({}))
        .await;
    app.wait_subscribers(1).await;

    let text = app.metrics_text().await;
    for needle in [
        "tier3_graphql_requests_total{operation=\"AgentQueue\",outcome=\"ok\"} 1",
        "outcome=\"NOT_FOUND\"",
        "tier3_graphql_request_duration_seconds_bucket{operation=\"AgentQueue\"",
        "tier3_active_subscriptions 1",
        "tier3_websocket_connections 1",
        "tier3_db_pool_max_connections",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    assert!(!text.contains(&agent.token));
}

/// PostgreSQL cannot store NUL: it is refused as bad input everywhere, never an internal
/// error (found by fuzzing on PostgreSQL).
#[tokio::test]
async fn nul_characters_are_bad_input_not_internal_errors() {
    let app = TestApp::spawn().await;
    let customer = app.customer("acme").await;
    let before = app.count_rows("ticket").await;
    let res = app
        .gql(
            Some(&customer),
            "mutation($s: String!) { createTicket(input: { subject: $s, description: \"d\" }) { ticket { id } } }",
            json!({ "s": "null\u{0}byte" }),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    let res = app
        .gql(
            Some(&customer),
            "mutation { createTicket(input: { subject: \"a\\u0000b\", description: \"d\" }) { ticket { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{res}");
    assert_eq!(app.count_rows("ticket").await, before);
    let mut claims = TestApp::claims("nul", "customer", Some("acme"));
    claims.name = Some("a\u{0}b".into());
    let (status, body) = app
        .post(
            Some(&app.sign(&claims)),
            json!({ "query": "{ viewer { id } }" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        "{body}"
    );
}

/// The first error of a socket answer, whether it came as `error` or as `next` with errors
/// (then followed by `complete`).
async fn socket_error(ws: &mut common::Ws, id: &str) -> Value {
    match ws.next_event().await {
        WsEvent::Error(got, payload) if got == id => payload[0].clone(),
        WsEvent::Next(got, payload) if got == id && !payload["errors"].is_null() => {
            assert!(matches!(ws.next_event().await, WsEvent::Complete(c) if c == id));
            payload["errors"][0].clone()
        }
        other => panic!("expected an error for {id}, got {other:?}"),
    }
}

/// Operations sent over `/graphql/ws` pass the same admission as HTTP ones: the cost
/// limits, the introspection switch and the caller's rate-limit budget.
#[tokio::test]
async fn sockets_pass_the_same_admission_as_http() {
    let app = TestApp::spawn_with(|c| {
        c.limits.max_depth = 5;
        c.http.introspection = false;
    })
    .await;
    let agent = app.agent().await;
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe(
        "deep",
        "{ tickets(first: 1) { nodes { comments(first: 1) { nodes { author { name } } } } } }",
        json!({}),
    )
    .await;
    let err = socket_error(&mut ws, "deep").await;
    assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{err}");
    assert_eq!(err["extensions"]["limit"], "depth", "{err}");
    ws.subscribe("schema", "{ __schema { queryType { name } } }", json!({}))
        .await;
    let err = socket_error(&mut ws, "schema").await;
    assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{err}");

    let app = TestApp::spawn_with(|c| c.rate.rate_limit = 3).await;
    // Signing up spent one point; two more operations fit, the next is refused.
    let agent = app.agent().await;
    let mut ws = app.ws(Some(&agent)).await;
    for id in ["a", "b"] {
        ws.subscribe(id, "{ __typename }", json!({})).await;
        let (got, data) = ws.next_data().await;
        assert_eq!((got.as_str(), &data["__typename"]), (id, &json!("Query")));
        assert!(matches!(ws.next_event().await, WsEvent::Complete(c) if c == id));
    }
    ws.subscribe("c", "{ __typename }", json!({})).await;
    let err = socket_error(&mut ws, "c").await;
    assert_eq!(err["extensions"]["code"], "RATE_LIMITED", "{err}");
}

/// Reads `next` messages until each of `want` has had one; any other id fails.
async fn delivered(ws: &mut common::Ws, want: [&str; 2]) {
    let mut want = want.to_vec();
    while !want.is_empty() {
        let (id, _) = ws.next_data().await;
        assert!(want.contains(&id.as_str()), "unexpected event for {id}");
        want.retain(|w| *w != id);
    }
}

/// How an attempt to open a socket went.
enum Opened {
    /// Upgraded and acknowledged.
    Open(common::Ws),
    /// Upgraded, then closed with this code and reason instead of an acknowledgement.
    Closed(u16, String),
    /// The upgrade itself was refused.
    Refused(common::Refused),
}

/// Opens a socket as `user` (or anonymously) and waits for the acknowledgement.
async fn open_socket(app: &TestApp, user: Option<&common::User>) -> Opened {
    let init = user.map_or(json!({}), |u| json!({ "token": u.token }));
    let mut ws = match common::try_connect_ws(app.addr, init).await {
        Ok(ws) => ws,
        Err(refused) => return Opened::Refused(refused),
    };
    match ws.next_event().await {
        WsEvent::Next(id, p) if id.is_empty() && p["type"] == "connection_ack" => Opened::Open(ws),
        WsEvent::Closed(code) => Opened::Closed(code, ws.close_reason.clone().unwrap_or_default()),
        other => panic!("expected an ack or a close, got {other:?}"),
    }
}

/// A socket that must open.
async fn must_open(app: &TestApp, user: Option<&common::User>) -> common::Ws {
    match open_socket(app, user).await {
        Opened::Open(ws) => ws,
        Opened::Closed(code, reason) => panic!("closed with {code}: {reason}"),
        Opened::Refused(r) => panic!("upgrade refused: {r:?}"),
    }
}

/// Retries for up to 5 s until a socket opens (the server frees a slot just after the
/// socket that held it is gone).
async fn opens_soon(app: &TestApp, user: Option<&common::User>) -> common::Ws {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match open_socket(app, user).await {
            Opened::Open(ws) => return ws,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            Opened::Closed(code, reason) => panic!("still closed with {code}: {reason}"),
            Opened::Refused(r) => panic!("still refused: {r:?}"),
        }
    }
}

/// The `N+1`th socket of one user is closed with 4429 at `connection_init`; other users and
/// anonymous sockets are not counted against them; a socket that ends, cleanly or not,
/// frees its slot, and a refused one never took one.
#[tokio::test]
async fn sockets_per_user_are_limited_and_an_ended_one_frees_its_slot() {
    let app = TestApp::spawn_with(|c| c.sockets.max_sockets_per_user = 2).await;
    let (alice, bob) = (app.customer("acme").await, app.customer("acme").await);
    let first = must_open(&app, Some(&alice)).await;
    let mut second = must_open(&app, Some(&alice)).await;
    for _ in 0..2 {
        match open_socket(&app, Some(&alice)).await {
            Opened::Closed(code, reason) => {
                assert_eq!(code, 4429, "{reason}");
                assert_eq!(
                    reason,
                    "number of WebSockets open for this user is 3 but the limit is 2"
                );
            }
            _ => panic!("a third socket of one user must be refused"),
        }
    }
    let mut bobs = must_open(&app, Some(&bob)).await;
    let _anonymous = must_open(&app, None).await;
    // Her open sockets, and his, work as before.
    for (ws, user) in [(&mut second, &alice), (&mut bobs, &bob)] {
        ws.subscribe("me", "{ viewer { id } }", json!({})).await;
        let (_, data) = ws.next_data().await;
        assert_eq!(data["viewer"]["id"], user.id.as_str());
    }

    // A clean close frees one slot: one more opens, the next is refused again.
    first.close().await;
    let third = opens_soon(&app, Some(&alice)).await;
    assert!(matches!(
        open_socket(&app, Some(&alice)).await,
        Opened::Closed(4429, _)
    ));
    // So does a connection that just goes away, without a close frame.
    drop(second);
    let _fourth = opens_soon(&app, Some(&alice)).await;
    drop(third);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("tier3_limit_refusals_total{limit=\"sockets_per_user\"} 3"),
        "{metrics}"
    );
}

/// Sockets from one address beyond the limit are refused at the upgrade, with HTTP 429, a
/// `Retry-After` and a `RATE_LIMITED` body; signed in or not, every socket counts; one that
/// ends frees its slot, and plain HTTP from the address is unaffected.
#[tokio::test]
async fn sockets_per_address_are_refused_at_the_upgrade() {
    let app = TestApp::spawn_with(|c| c.sockets.max_sockets_per_address = 3).await;
    let (alice, bob) = (app.customer("acme").await, app.agent().await);
    let a = must_open(&app, Some(&alice)).await;
    let _b = must_open(&app, Some(&bob)).await;
    let _anonymous = must_open(&app, None).await;
    for user in [None, Some(&alice)] {
        let refused = match open_socket(&app, user).await {
            Opened::Refused(r) => r,
            _ => panic!("a fourth socket from 127.0.0.1 must be refused"),
        };
        assert_eq!(refused.status, 429, "{refused:?}");
        assert_eq!(refused.headers["retry-after"], "10");
        let err = &refused.body["errors"][0];
        assert_eq!(err["extensions"]["code"], "RATE_LIMITED", "{err}");
        assert_eq!(err["extensions"]["limit"], "sockets_per_address", "{err}");
        assert_eq!(err["extensions"]["max"], 3, "{err}");
        assert_eq!(
            err["message"],
            "number of WebSockets open from this address is 4 but the limit is 3"
        );
    }
    still_healthy(&app, &bob.token).await;

    a.close().await;
    let _again = opens_soon(&app, None).await;
    assert!(matches!(
        open_socket(&app, None).await,
        Opened::Refused(r) if r.status == 429
    ));
}

/// One subscription over the per-socket limit gets an `error` of its own (`RATE_LIMITED`)
/// while the socket stays open and its other subscriptions keep delivering; a completed
/// subscription, or an answered query, frees its slot.
#[tokio::test]
async fn subscriptions_per_socket_are_limited_and_a_completed_one_frees_its_slot() {
    let app = TestApp::spawn_with(|c| c.sockets.max_subscriptions_per_socket = 2).await;
    let alice = app.customer("acme").await;
    let agent = app.agent().await;
    let ticket = app.create_ticket(&alice, "watched").await;
    let status = "subscription { ticketStatusChanged { toStatus } }";
    let updates = "subscription { ticketUpdates { kind } }";
    let mut ws = app.ws(Some(&agent)).await;
    ws.subscribe("a", status, json!({})).await;
    ws.subscribe("b", updates, json!({})).await;
    ws.subscribe("c", status, json!({})).await;
    let refused = |ws_event: WsEvent, id: &str| match ws_event {
        WsEvent::Error(got, payload) if got == id => {
            let err = &payload[0];
            assert_eq!(err["extensions"]["code"], "RATE_LIMITED", "{payload}");
            assert_eq!(err["extensions"]["limit"], "subscriptions", "{payload}");
            assert_eq!(err["extensions"]["max"], 2, "{payload}");
            assert_eq!(
                err["message"],
                "number of subscriptions open on this WebSocket is 3 but the limit is 2"
            );
        }
        other => panic!("expected an error for {id}, got {other:?}"),
    };
    refused(ws.next_event().await, "c");
    app.wait_subscribers(2).await;

    // Both running subscriptions deliver; the refused one never does.
    app.set_status(&agent, &ticket, "OPEN").await;
    delivered(&mut ws, ["a", "b"]).await;

    // Completing one frees its slot: a new one runs, one more is refused.
    ws.stop("a").await;
    assert!(matches!(ws.next_event().await, WsEvent::Complete(id) if id == "a"));
    ws.subscribe("d", status, json!({})).await;
    ws.subscribe("e", status, json!({})).await;
    refused(ws.next_event().await, "e");
    app.wait_subscribers(2).await;
    app.set_status(&agent, &ticket, "PENDING").await;
    delivered(&mut ws, ["b", "d"]).await;

    // A query takes a slot while it runs and frees it when answered.
    ws.stop("d").await;
    assert!(matches!(ws.next_event().await, WsEvent::Complete(id) if id == "d"));
    ws.subscribe("q", "{ __typename }", json!({})).await;
    let (id, data) = ws.next_data().await;
    assert_eq!((id.as_str(), &data["__typename"]), ("q", &json!("Query")));
    assert!(matches!(ws.next_event().await, WsEvent::Complete(id) if id == "q"));
    ws.subscribe("f", status, json!({})).await;
    ws.subscribe("g", status, json!({})).await;
    refused(ws.next_event().await, "g");
}
