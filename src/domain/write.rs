//! What every command shares: the text limits, trimming and bounding a required text
//! field, and retrying a transaction that lost an optimistic-lock race.

use crate::error::{AppError, AppResult};

/// Longest subject or title accepted.
pub const MAX_SUBJECT: usize = 200;
/// Longest description, comment, update or note body accepted.
pub const MAX_BODY: usize = 20_000;
/// How often a write retries after losing an optimistic-lock race.
const RETRIES: usize = 8;

/// Trims and bounds a required text field.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::bad_input(format!("`{field}` must not be empty")));
    }
    if value.chars().count() > max {
        return Err(AppError::bad_input(format!(
            "`{field}` must be at most {max} characters"
        )));
    }
    Ok(value.to_owned())
}

/// Runs `attempt` until it does not lose a race with another writer, a bounded number of
/// times. An attempt loses when it returns `None` (a row it read changed before it wrote;
/// its transaction is dropped, so rolled back) or fails with [`AppError::Contended`] (the
/// database rolled it back to break a deadlock); the next attempt reads again and decides
/// again.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<Option<T>>>,
{
    for _ in 0..RETRIES {
        match attempt().await {
            Ok(Some(done)) => return Ok(done),
            Ok(None) | Err(AppError::Contended) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(AppError::Contended)
}
