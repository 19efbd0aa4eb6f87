//! A short-lived cache of provisioned identities, so a user's every request does not rewrite
//! their row.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::auth::{Actor, Claims};

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
    /// The provisioning-relevant part of a token's claims.
    pub fn of(claims: &Claims) -> Self {
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
    /// The actor provisioned for exactly these claims moments ago, if any.
    pub fn get(&self, key: &IdentityKey) -> Option<Actor> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&key.sub)
            .filter(|(k, at, _)| k == key && at.elapsed() < IDENTITY_TTL)
            .map(|(_, _, actor)| actor.clone())
    }

    /// Remembers what provisioning these claims gave.
    pub fn put(&self, key: IdentityKey, actor: Actor) {
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
