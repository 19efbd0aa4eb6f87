//! HTTP handlers: GraphiQL, `POST /graphql`, health and readiness.

use async_graphql::{BatchRequest, http::GraphiQLSource};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse, rejection::GraphQLRejection};
use axum::{
    extract::{FromRequest, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use crate::{app::App, auth::edge, error::AppError, graphql::loaders::Loaders};

/// `GET /graphql`: the GraphiQL IDE.
pub async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("tier3")
            .finish(),
    )
}

/// `POST /graphql`: authenticate at the edge (before the body is even read), then parse
/// and run the (batch) request.
pub async fn graphql(State(app): State<App>, request: axum::extract::Request) -> Response {
    let headers = request.headers().clone();
    let auth = match headers.get(header::AUTHORIZATION).map(|h| h.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            return error_response(AppError::Unauthenticated(
                "the Authorization header is not valid text".into(),
            ));
        }
    };
    let viewer = match edge::viewer_from_header(&app, auth).await {
        Ok(v) => v,
        Err(err) => return error_response(err),
    };
    let req = match GraphQLBatchRequest::<GraphQLRejection>::from_request(request, &()).await {
        Ok(req) => req,
        Err(rejection) => {
            tracing::debug!(error = %rejection.0, "unparsable GraphQL request");
            return error_response(AppError::bad_input(
                "the request body is not a GraphQL request (expected JSON with a `query` string)",
            ));
        }
    };
    let req = req.into_inner();
    let empty = match &req {
        BatchRequest::Single(r) => r.query.trim().is_empty(),
        BatchRequest::Batch(rs) => rs.is_empty() || rs.iter().any(|r| r.query.trim().is_empty()),
    };
    if empty {
        return error_response(AppError::bad_input("the request has no `query`"));
    }
    let loaders = Loaders::new(&app, &viewer);
    let req = req
        .data(app.clone())
        .data(viewer)
        .data(std::sync::Arc::new(loaders));
    GraphQLResponse::from(app.schema.execute_batch(req).await).into_response()
}

/// A request-level failure (before GraphQL runs) as a GraphQL error body with a status.
pub fn error_response(err: AppError) -> Response {
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
        "data": null,
        "errors": [{ "message": err.to_string(), "extensions": { "code": err.code() } }],
    });
    let mut resp = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    resp
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(app): State<App>) -> Response {
    if crate::db::ping(&app.db).await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}
