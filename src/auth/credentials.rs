//! Where a credential is found: the `Authorization` header of a request, or the
//! `connection_init` payload of a WebSocket. Parsing only; verifying is `Keys::verify`.

use crate::error::{AppError, AppResult};

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(value: &str) -> AppResult<&str> {
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

/// The token of a `connection_init` payload: `{"token": "..."}` or
/// `{"Authorization": "Bearer ..."}`. `None` when there is none (anonymous).
pub fn from_init(payload: &serde_json::Value) -> Option<AppResult<&str>> {
    if let Some(token) = payload.get("token").and_then(|t| t.as_str()) {
        return Some(Ok(token));
    }
    ["Authorization", "authorization"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
        .map(bearer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_bearer_tokens_are_accepted() {
        assert_eq!(bearer("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer("bearer  abc ").unwrap(), "abc");
        assert!(bearer("Basic dXNlcjpwYXNz").is_err());
        assert!(bearer("Bearer").is_err());
        assert!(bearer("Bearer ").is_err());
        assert!(bearer("abc").is_err());
    }

    #[test]
    fn init_payloads_carry_a_token_either_way() {
        assert_eq!(from_init(&json!({"token": "t"})).unwrap().unwrap(), "t");
        assert_eq!(
            from_init(&json!({"Authorization": "Bearer t"}))
                .unwrap()
                .unwrap(),
            "t"
        );
        assert!(
            from_init(&json!({"authorization": "Basic x"}))
                .unwrap()
                .is_err()
        );
        assert!(from_init(&json!({})).is_none());
        assert!(from_init(&serde_json::Value::Null).is_none());
    }
}
