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

/// Runs `attempt` until it does not lose an optimistic-lock race, a bounded number of times.
/// An attempt returns `None` when a row it read changed before it wrote (its transaction is
/// dropped, so rolled back); the next attempt reads again and decides again.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<Option<T>>>,
{
    for _ in 0..RETRIES {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(AppError::Conflict(
        "this is being changed by others right now; try again".into(),
    ))
}
