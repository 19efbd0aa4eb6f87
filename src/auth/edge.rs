//! The edge: turns an `Authorization` header or a `connection_init` payload into a `Viewer`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{
    app::App,
    auth::{Actor, Claims, Viewer, viewer::ScopeMemo},
    domain::users,
    error::{AppError, AppResult},
};

/// Builds the viewer for an HTTP request. No header: anonymous. A header that is not a
/// valid bearer token: `UNAUTHENTICATED`, before anything else runs.
pub async fn viewer_from_header(app: &App, header: Option<&str>) -> AppResult<Viewer> {
    match header {
        None => Ok(Viewer::Anonymous),
        Some(value) => viewer_from_token(app, bearer(value)?, ScopeMemo::per_request()).await,
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
        // A connection lives long: its scope is decided afresh for every event.
        Some(token) => viewer_from_token(app, &token?, ScopeMemo::default()).await,
    }
}

/// Verifies a token and provisions its user (from the cache when the same identity was
/// provisioned moments ago).
pub async fn viewer_from_token(app: &App, token: &str, memo: ScopeMemo) -> AppResult<Viewer> {
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

/// The claims that decide what provisioning writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityKey {
    sub: String,
    role: String,
    org: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

impl IdentityKey {
    fn of(claims: &Claims) -> Self {
        IdentityKey {
            sub: claims.sub.clone(),
            role: claims.role.clone(),
            org: claims.org.clone(),
            name: claims.name.clone(),
            email: claims.email.clone(),
        }
    }
}

/// Identities provisioned in the last [`IDENTITY_TTL`], one per `sub`: a token whose
/// identity claims equal the last ones provisioned for its `sub` would find the user row
/// exactly as provisioning would leave it, so provisioning's statements are skipped. A token
/// with other claims for the same `sub` provisions again (and replaces the entry), so the
/// stored row keeps following the latest token. Bounded; per process.
#[derive(Debug, Default)]
pub struct Identities(Mutex<HashMap<String, (IdentityKey, Instant, Actor)>>);

/// How long a provisioned identity is reused.
pub const IDENTITY_TTL: Duration = Duration::from_secs(60);
const MAX_IDENTITIES: usize = 50_000;

impl Identities {
    fn get(&self, key: &IdentityKey) -> Option<Actor> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&key.sub)
            .filter(|(k, at, _)| k == key && at.elapsed() < IDENTITY_TTL)
            .map(|(_, _, actor)| actor.clone())
    }

    fn put(&self, key: IdentityKey, actor: Actor) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_IDENTITIES {
            map.retain(|_, (_, at, _)| at.elapsed() < IDENTITY_TTL);
            if map.len() >= MAX_IDENTITIES {
                map.clear();
            }
        }
        map.insert(key.sub.clone(), (key, Instant::now(), actor));
    }
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
