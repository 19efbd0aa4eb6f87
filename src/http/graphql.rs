//! GraphQL over HTTP (the GraphQL-over-HTTP spec); `GET /graphql` without a query answers
//! with the GraphiQL page (`graphiql.rs`).
//!
//! `POST /graphql` takes `application/json` (a request or a batch array) or
//! `application/graphql`; `GET /graphql?query=…` runs queries only. Responses are
//! `application/graphql-response+json` when the client accepts it (with 4xx for requests
//! that could not run) and `application/json` otherwise (200 for anything GraphQL answered).

use std::{net::SocketAddr, sync::Arc, time::Instant};

use async_graphql::{
    BatchRequest, BatchResponse, Request,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::Response,
};

use crate::{
    auth::Viewer,
    error::{AppError, ErrorCode},
    graphql::{error, loaders::Loaders},
    http::{
        Edge,
        admission::{
            ClientIp, Limit, RateSlot, Refusal, guard,
            limits::{self, LimitExceeded},
        },
        graphiql, identity,
    },
    ratelimit::RateStatus,
};

/// The GraphQL-over-HTTP response media type.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The response media type the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: status codes say whether the request ran.
    GraphqlResponse,
    /// `application/json` (legacy, and the default without `Accept`).
    Json,
}

impl MediaType {
    /// Picks from `Accept`; anything unrecognised gets the default, `application/json`, as
    /// the spec allows.
    pub fn negotiate(headers: &HeaderMap) -> MediaType {
        let accept = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|part| {
                part.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .collect::<Vec<_>>();
        if accept.iter().any(|t| t == GRAPHQL_RESPONSE_JSON) {
            MediaType::GraphqlResponse
        } else {
            MediaType::Json
        }
    }

    fn content_type(self) -> HeaderValue {
        match self {
            MediaType::GraphqlResponse => {
                HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
            }
            MediaType::Json => HeaderValue::from_static("application/json; charset=utf-8"),
        }
    }
}

/// The caller's address, when the server was started with connection info.
fn client_ip(request: &axum::extract::Request) -> Option<ClientIp> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| ClientIp(addr.ip()))
}

/// `GET /graphql`: a query from the URL, or GraphiQL for a browser.
pub async fn graphql_get(State(edge): State<Edge>, request: axum::extract::Request) -> Response {
    let app = &edge.app;
    let media = MediaType::negotiate(request.headers());
    let params: Vec<(String, String)> = match request.uri().query() {
        None => Vec::new(),
        Some(q) => match serde_urlencoded::from_str(q) {
            Ok(p) => p,
            Err(_) => {
                return error_response(
                    AppError::bad_input("the query string is not URL-encoded"),
                    media,
                );
            }
        },
    };
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let Some(query) = param("query") else {
        if app.config.http.graphiql {
            return graphiql::page();
        }
        return error_response(
            AppError::bad_input("a GET request needs a `query` parameter"),
            media,
        );
    };
    let mut gql = Request::new(query.clone());
    if let Some(name) = param("operationName").filter(|n| !n.is_empty()) {
        gql = gql.operation_name(name.clone());
    }
    if let Some(vars) = param("variables").filter(|v| !v.is_empty()) {
        match serde_json::from_str::<serde_json::Value>(vars) {
            Ok(v @ serde_json::Value::Object(_)) => {
                gql = gql.variables(async_graphql::Variables::from_json(v));
            }
            _ => {
                return error_response(
                    AppError::bad_input("`variables` must be a JSON object"),
                    media,
                );
            }
        }
    }
    // GET is safe and cacheable: never a mutation (nor a subscription).
    if limits::check_text(query).is_ok()
        && let Ok(doc) = async_graphql::parser::parse_query(query)
    {
        let ty = match (&doc.operations, gql.operation_name.as_deref()) {
            (DocumentOperations::Single(op), _) => Some(op.node.ty),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                ops.values().next().map(|op| op.node.ty)
            }
            _ => None,
        };
        if matches!(
            ty,
            Some(OperationType::Mutation | OperationType::Subscription)
        ) {
            let mut resp = error_response(
                AppError::bad_input("only queries may be sent with GET; use POST"),
                media,
            );
            *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return resp;
        }
    }
    let ip = client_ip(&request);
    let viewer = match identity::viewer_from_headers(app, request.headers()).await {
        Ok(v) => v,
        Err(err) => return error_response(err, media),
    };
    run(&edge, viewer, ip, BatchRequest::Single(gql), media).await
}

/// `POST /graphql`: authenticate (before the body is even read), then read, parse and run
/// the request or batch.
pub async fn graphql_post(State(edge): State<Edge>, request: axum::extract::Request) -> Response {
    let app = &edge.app;
    let media = MediaType::negotiate(request.headers());
    let viewer = match identity::viewer_from_headers(app, request.headers()).await {
        Ok(v) => v,
        Err(err) => return error_response(err, media),
    };
    let ip = client_ip(&request);
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    // Only JSON (or a bare GraphQL document): a cross-site form or `text/plain` post cannot
    // trigger a mutation without a CORS preflight.
    let graphql_document = match content_type.as_deref() {
        Some("application/json") => false,
        Some("application/graphql") => true,
        _ => {
            let mut resp = error_response(
                AppError::bad_input("the Content-Type must be application/json"),
                media,
            );
            *resp.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return resp;
        }
    };
    let max = app.config.limits.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large(&edge, max, media);
    }
    let body = match axum::body::to_bytes(request.into_body(), max).await {
        Ok(body) => body,
        Err(_) => return too_large(&edge, max, media),
    };
    let batch = if graphql_document {
        match std::str::from_utf8(&body) {
            Ok(text) => BatchRequest::Single(Request::new(text)),
            Err(_) => {
                return error_response(AppError::bad_input("the body is not UTF-8"), media);
            }
        }
    } else {
        match serde_json::from_slice::<BatchRequest>(&body) {
            Ok(batch) => batch,
            Err(err) => {
                tracing::debug!(error = %err, "unparsable GraphQL request");
                return error_response(
                    AppError::bad_input(
                        "the request body is not a GraphQL request (expected JSON with a `query` string)",
                    ),
                    media,
                );
            }
        }
    };
    let size = match &batch {
        BatchRequest::Single(_) => 1,
        BatchRequest::Batch(rs) => rs.len(),
    };
    let max_batch = app.config.limits.max_batch;
    if size > max_batch {
        app.metrics.refused(Limit::Batch.as_str());
        let refusal = Refusal::Limit(LimitExceeded {
            limit: Limit::Batch,
            max: max_batch,
            actual: size,
        });
        return refusal_response(&refusal, StatusCode::BAD_REQUEST, media);
    }
    let empty = batch.iter().any(|r| r.query.trim().is_empty()) || size == 0;
    if empty {
        return error_response(AppError::bad_input("the request has no `query`"), media);
    }
    run(&edge, viewer, ip, batch, media).await
}

fn too_large(edge: &Edge, max: usize, media: MediaType) -> Response {
    edge.app.metrics.refused(Limit::Body.as_str());
    let refusal = Refusal::Limit(LimitExceeded {
        limit: Limit::Body,
        max,
        actual: max + 1,
    });
    let mut resp = refusal_response(&refusal, StatusCode::PAYLOAD_TOO_LARGE, media);
    // The rest of an oversized body is not read; the connection cannot be reused.
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn refusal_response(refusal: &Refusal, status: StatusCode, media: MediaType) -> Response {
    let err = guard::refusal_error(refusal);
    let mut message = refusal.to_string();
    if let Refusal::Limit(l) = refusal
        && l.limit == Limit::Body
    {
        message = format!(
            "the request body is larger than the limit of {} bytes",
            l.max
        );
    }
    let mut value = serde_json::to_value(&err).unwrap_or_default();
    value["message"] = message.into();
    json_response(status, media, serde_json::json!({ "errors": [value] }))
}

/// Whether the operation the request runs is a query (not a mutation or subscription).
/// Admission has parsed the document already; an operation it cannot pick counts as not a
/// query, and execution reports the error.
fn is_query(request: &mut Request) -> bool {
    use async_graphql::parser::types::OperationType;
    let name = request.operation_name.clone();
    let Ok(doc) = request.parsed_query() else {
        return false;
    };
    crate::http::admission::limits::select(doc, name.as_deref())
        .is_some_and(|op| op.ty == OperationType::Query)
}

/// Runs a (batch) request for a viewer and answers it.
async fn run(
    edge: &Edge,
    viewer: Viewer,
    ip: Option<ClientIp>,
    batch: BatchRequest,
    media: MediaType,
) -> Response {
    let app = &edge.app;
    let operations: Vec<String> = batch
        .iter()
        .map(|r| app.metrics.operation_label(r.operation_name.as_deref()))
        .collect();
    let slot = RateSlot::default();
    let started = Instant::now();
    let timeout = app.config.request_timeout();
    let run_one = |request: Request| {
        let (viewer, slot) = (viewer.clone(), slot.clone());
        async move {
            // Admission here rather than as an extension: see `Schemas::http`.
            let mut request = match edge
                .admission
                .admit(Some(&viewer), ip, Some(&slot), request)
            {
                Ok(request) => request,
                Err(err) => {
                    return error::finish(async_graphql::Response::from_errors(vec![err]));
                }
            };
            // A query only reads: it runs on the read pool (SQLite's readers).
            let app = if is_query(&mut request) {
                app.for_reads()
            } else {
                app.clone()
            };
            // Per operation: what one operation fetched ahead must not outlive it (a batch
            // may hold a mutation between two queries).
            let loaders = Arc::new(Loaders::for_operation(&app, &viewer));
            let mut request = request.data(app).data(viewer).data(loaders).data(slot);
            if let Some(ip) = ip {
                request = request.data(ip);
            }
            error::finish(edge.schemas.http.execute(request).await)
        }
    };
    let execution = async {
        match batch {
            BatchRequest::Single(request) => BatchResponse::Single(run_one(request).await),
            BatchRequest::Batch(requests) => {
                let mut out = Vec::with_capacity(requests.len());
                for request in requests {
                    out.push(run_one(request).await);
                }
                BatchResponse::Batch(out)
            }
        }
    };
    let Ok(answer) = tokio::time::timeout(timeout, execution).await else {
        for op in &operations {
            app.metrics.observe(op, "TIMEOUT", started.elapsed());
        }
        let mut resp = error_response(
            AppError::internal(anyhow::anyhow!("request timed out")),
            media,
        );
        *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return resp;
    };
    let took = started.elapsed();
    let responses: Vec<&async_graphql::Response> = match &answer {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter().collect(),
    };
    for (resp, op) in responses.iter().zip(&operations) {
        let outcome = resp
            .errors
            .first()
            .map_or("ok", |e| error::code_of(e).as_str());
        app.metrics.observe(op, outcome, took);
    }
    let rate_limited = responses.iter().any(|r| {
        r.errors
            .iter()
            .any(|e| error::code_of(e) == ErrorCode::RateLimited)
    });
    // A request error (nothing ran: parse, validation, limits) has no data at all.
    let request_error = |r: &async_graphql::Response| {
        matches!(r.data, async_graphql::Value::Null) && !r.errors.is_empty()
    };
    let status = if rate_limited {
        StatusCode::TOO_MANY_REQUESTS
    } else if media == MediaType::GraphqlResponse
        && matches!(&answer, BatchResponse::Single(r) if request_error(r))
    {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = match (&answer, media) {
        // The spec's request errors carry no `data` entry.
        (BatchResponse::Single(r), MediaType::GraphqlResponse) if request_error(r) => {
            serde_json::json!({ "errors": r.errors })
        }
        _ => serde_json::to_value(&answer).unwrap_or_default(),
    };
    let mut resp = json_response(status, media, body);
    let headers = resp.headers_mut();
    for (name, value) in answer.http_headers_iter() {
        headers.append(name, value);
    }
    if let Some(status) = slot.get() {
        rate_headers(headers, &status, rate_limited);
    }
    resp
}

/// GitHub-style rate-limit headers, and `Retry-After` on a refusal.
fn rate_headers(headers: &mut HeaderMap, status: &RateStatus, refused: bool) {
    let num = |n: u64| HeaderValue::from(n);
    headers.insert("x-ratelimit-limit", num(status.limit.into()));
    headers.insert("x-ratelimit-remaining", num(status.remaining.into()));
    headers.insert("x-ratelimit-used", num(status.used.into()));
    headers.insert(
        "x-ratelimit-reset",
        num(status.reset_at.timestamp().max(0) as u64),
    );
    if refused {
        headers.insert(header::RETRY_AFTER, num(status.retry_after_secs()));
    }
}

fn json_response(status: StatusCode, media: MediaType, body: serde_json::Value) -> Response {
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    resp
}

/// A request-level failure (before GraphQL runs) as a GraphQL error body with a status.
pub fn error_response(err: AppError, media: MediaType) -> Response {
    let status = match &err {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(source) => {
            tracing::error!(error = ?source, "request failed before execution");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let body = serde_json::json!({
        "errors": [{ "message": err.to_string(), "extensions": { "code": err.code().as_str() } }],
    });
    let mut resp = json_response(status, media, body);
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

/// Any other method on `/graphql`.
pub async fn method_not_allowed(method: Method) -> Response {
    let mut resp = error_response(
        AppError::bad_input(format!("{method} is not supported; use GET or POST")),
        MediaType::Json,
    );
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    resp
}
