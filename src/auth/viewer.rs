//! Who is asking: built once per HTTP request or WebSocket connection.

use std::sync::Arc;

use entity::Role;

/// A signed-in user, as provisioned from a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `app_user.id`.
    pub id: i64,
    /// The token's `sub`.
    pub sub: String,
    /// The token's role; never read from the database.
    pub role: Role,
    /// The user's organization (`org` claim), if any.
    pub org_id: Option<i64>,
    /// Token expiry (seconds since the epoch); long-lived connections check it.
    pub expires_at: u64,
    /// The organization-scope and participation reads, made once per HTTP request (see
    /// `policy::has_org_scope`); absent for WebSocket connections, which decide per event.
    pub scope_memo: ScopeMemo,
}

/// A per-request memo of the reads that decide what a customer reaches. Compares equal to
/// any other: it is a cache, not part of who the actor is.
#[derive(Debug, Clone, Default)]
pub struct ScopeMemo(pub Option<Arc<Reads>>);

/// The memoized reads of one request.
#[derive(Debug, Default)]
pub struct Reads {
    /// Whether a live organization-scope grant holds.
    pub org_scope: tokio::sync::OnceCell<bool>,
    /// The tickets the customer is a participant of.
    pub participating: tokio::sync::OnceCell<Arc<[i64]>>,
}

impl ScopeMemo {
    /// A fresh memo for one request.
    pub fn per_request() -> Self {
        ScopeMemo(Some(Arc::new(Reads::default())))
    }
}

impl PartialEq for ScopeMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ScopeMemo {}

/// The identity behind a request.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// No token: may read published release notes and released releases only.
    Anonymous,
    /// A verified, provisioned user.
    User(Arc<Actor>),
}

impl Viewer {
    /// The signed-in user, if any.
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Viewer::User(actor) => Some(actor),
            Viewer::Anonymous => None,
        }
    }

    /// The role, if signed in.
    pub fn role(&self) -> Option<Role> {
        self.actor().map(|a| a.role)
    }

    /// The user id, if signed in.
    pub fn user_id(&self) -> Option<i64> {
        self.actor().map(|a| a.id)
    }
}

/// Parses the `role` claim (`customer | agent | developer | triage_lead | admin`).
pub fn parse_role(claim: &str) -> Option<Role> {
    Some(match claim.to_ascii_lowercase().as_str() {
        "customer" => Role::Customer,
        "agent" => Role::Agent,
        "developer" => Role::Developer,
        "triage_lead" => Role::TriageLead,
        "admin" => Role::Admin,
        _ => return None,
    })
}

/// The claim spelling of a role (inverse of [`parse_role`]).
pub fn role_claim(role: Role) -> &'static str {
    match role {
        Role::Customer => "customer",
        Role::Agent => "agent",
        Role::Developer => "developer",
        Role::TriageLead => "triage_lead",
        Role::Admin => "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_is_refused() {
        for role in [
            Role::Customer,
            Role::Agent,
            Role::Developer,
            Role::TriageLead,
            Role::Admin,
        ] {
            assert_eq!(parse_role(role_claim(role)), Some(role));
        }
        assert_eq!(parse_role("root"), None);
        assert_eq!(parse_role(""), None);
    }
}
