//! How domain errors reach clients: a message and `extensions.code`, never internals.

use std::sync::Arc;

use async_graphql::{
    ErrorExtensions, Response, ServerError,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest},
};

use crate::error::{AppError, ErrorCode, SharedError};

/// Codes go into `extensions.code` as their wire names.
impl From<ErrorCode> for async_graphql::Value {
    fn from(code: ErrorCode) -> Self {
        async_graphql::Value::String(code.as_str().to_owned())
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(source) = &err {
            tracing::error!(error = ?source, "internal error");
        }
        let code = err.code();
        async_graphql::Error::new(err.to_string())
            .extend_with(|_, ext| ext.set("code", code.as_str()))
    }
}

impl From<SharedError> for async_graphql::Error {
    fn from(SharedError(err): SharedError) -> Self {
        let code = err.code();
        if let AppError::Internal(source) = err.as_ref() {
            tracing::error!(error = ?source, "internal error");
        }
        async_graphql::Error::new(err.to_string())
            .extend_with(|_, ext| ext.set("code", code.as_str()))
    }
}

/// Whether a server error already carries a code.
fn has_code(err: &ServerError) -> bool {
    err.extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

/// The code an error carries; an error without one of ours counts as bad input (what
/// [`stamp_codes`] would give it).
pub fn code_of(err: &ServerError) -> ErrorCode {
    err.extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(s) => ErrorCode::parse(s),
            _ => None,
        })
        .unwrap_or(ErrorCode::BadUserInput)
}

/// A server error with a message and a code (and nothing else yet).
pub fn coded(message: impl Into<String>, code: ErrorCode) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    err
}

/// What every response goes through before a client sees it, over HTTP (called by the
/// handler) and WebSocket (through [`ErrorCodes`]): a code on every error, failed root
/// fields present as `null`.
pub fn finish(resp: Response) -> Response {
    null_failed_roots(stamp_codes(resp))
}

/// Stamps `BAD_USER_INPUT` on async-graphql's own code-less errors (parse, validation,
/// variable coercion, limits), so every error a client sees has a code.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

/// Adds the default code to every code-less error of a response.
fn stamp_codes(mut resp: Response) -> Response {
    for err in &mut resp.errors {
        if !has_code(err) {
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", ErrorCode::BadUserInput.as_str());
        }
    }
    resp
}

/// async-graphql 7.2 leaves a failed root field out of `data` (or makes `data` null) where
/// the GraphQL spec, and the API's "`null` with `NOT_FOUND`", want the field present as
/// `null`. Every root field of ours is nullable, so put them back.
fn null_failed_roots(mut resp: Response) -> Response {
    use async_graphql::{PathSegment, Value};
    let failed: Vec<String> = resp
        .errors
        .iter()
        .filter_map(|e| match e.path.as_slice() {
            [PathSegment::Field(name)] => Some(name.clone()),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        return resp;
    }
    if matches!(resp.data, Value::Null) {
        resp.data = Value::Object(Default::default());
    }
    if let Value::Object(map) = &mut resp.data {
        for name in failed {
            map.entry(async_graphql::Name::new(name))
                .or_insert(Value::Null);
        }
    }
    resp
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        // Requests refused before execution (parse, validation) have path-less errors only,
        // so `null_failed_roots` leaves them alone.
        finish(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: futures_util::stream::BoxStream<'s, Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> futures_util::stream::BoxStream<'s, Response> {
        use futures_util::StreamExt as _;
        next.run(ctx, stream).map(stamp_codes).boxed()
    }
}
