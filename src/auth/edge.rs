//! The edge: turns an `Authorization` header or a `connection_init` payload into a `Viewer`.

use std::sync::Arc;

use crate::{
    app::App,
    auth::{Actor, Viewer},
    domain::users,
    error::{AppError, AppResult},
};

/// Builds the viewer for an HTTP request. No header: anonymous. A header that is not a
/// valid bearer token: `UNAUTHENTICATED`, before anything else runs.
pub async fn viewer_from_header(app: &App, header: Option<&str>) -> AppResult<Viewer> {
    match header {
        None => Ok(Viewer::Anonymous),
        Some(value) => viewer_from_token(app, bearer(value)?).await,
    }
}

/// Builds the viewer for a WebSocket from its `connection_init` payload:
/// `{"token": "..."}` or `{"Authorization": "Bearer ..."}`; nothing means anonymous.
pub async fn viewer_from_init(app: &App, payload: &serde_json::Value) -> AppResult<Viewer> {
    let token = payload
        .get("token")
        .and_then(|t| t.as_str())
        .map(|t| Ok(t.to_owned()))
        .or_else(|| {
            ["Authorization", "authorization"]
                .iter()
                .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
                .map(|v| bearer(v).map(str::to_owned))
        });
    match token {
        None => Ok(Viewer::Anonymous),
        Some(token) => viewer_from_token(app, &token?).await,
    }
}

/// Verifies a token and provisions its user.
pub async fn viewer_from_token(app: &App, token: &str) -> AppResult<Viewer> {
    let claims = app.keys.verify(token)?;
    let actor: Actor = users::provision(&app.db, &claims).await?;
    Ok(Viewer::User(Arc::new(actor)))
}

fn bearer(value: &str) -> AppResult<&str> {
    let mut parts = value.trim().splitn(2, ' ');
    match (parts.next(), parts.next().map(str::trim)) {
        (Some(scheme), Some(token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() =>
        {
            Ok(token)
        }
        _ => Err(AppError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn only_bearer_tokens_are_accepted() {
        assert_eq!(bearer("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer("bearer  abc ").unwrap(), "abc");
        assert!(bearer("Basic dXNlcjpwYXNz").is_err());
        assert!(bearer("Bearer").is_err());
        assert!(bearer("Bearer ").is_err());
        assert!(bearer("abc").is_err());
    }
}
