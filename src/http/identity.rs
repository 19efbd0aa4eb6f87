//! The edge's first step: an `Authorization` header or a `connection_init` payload becomes a
//! [`Viewer`]. Here rather than in `auth` because it provisions the user through the domain
//! (`domain::users::provision`), and `auth` sits below the domain.

use std::sync::Arc;

use axum::http::{HeaderMap, header};

use crate::{
    app::App,
    auth::{Actor, Viewer, credentials, identities::IdentityKey, viewer::ScopeMemo},
    domain::users,
    error::{AppError, AppResult},
};

/// The viewer of an HTTP request. No header: anonymous. A header that is not a valid bearer
/// token: `UNAUTHENTICATED`, before anything else runs (the body is not even read).
pub async fn viewer_from_headers(app: &App, headers: &HeaderMap) -> AppResult<Viewer> {
    let value = match headers.get(header::AUTHORIZATION).map(|h| h.to_str()) {
        None => return Ok(Viewer::Anonymous),
        Some(Ok(value)) => value,
        Some(Err(_)) => {
            return Err(AppError::Unauthenticated(
                "the Authorization header is not valid text".into(),
            ));
        }
    };
    let token = credentials::bearer(value)?;
    viewer_from_token(app, token, ScopeMemo::per_request()).await
}

/// The viewer of a WebSocket, from its `connection_init` payload; nothing means anonymous.
pub async fn viewer_from_init(app: &App, payload: &serde_json::Value) -> AppResult<Viewer> {
    match credentials::from_init(payload) {
        None => Ok(Viewer::Anonymous),
        // A connection lives long: its scope is decided afresh for every event.
        Some(token) => viewer_from_token(app, token?, ScopeMemo::default()).await,
    }
}

/// Verifies a token and provisions its user (from the cache when the same identity was
/// provisioned moments ago).
async fn viewer_from_token(app: &App, token: &str, memo: ScopeMemo) -> AppResult<Viewer> {
    let claims = app.keys.verify(token)?;
    let key = IdentityKey::of(&claims);
    let mut actor = match app.identities.get(&key) {
        Some(actor) => actor,
        None => {
            let actor: Actor = users::provision(&app.db, &claims).await?;
            app.identities.put(key, actor.clone());
            actor
        }
    };
    actor.expires_at = claims.exp;
    actor.scope_memo = memo;
    Ok(Viewer::User(Arc::new(actor)))
}
