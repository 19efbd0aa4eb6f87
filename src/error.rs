//! Errors as types: every failure a client can see maps to one DESIGN.md code.

use sea_orm::{DbErr, SqlErr, TransactionError};

/// Result alias used across the crate.
pub type AppResult<T> = Result<T, AppError>;

/// Everything that can go wrong in a request, by what the client should learn of it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Absent, or present but invisible to the viewer: the two are indistinguishable.
    #[error("not found")]
    NotFound,
    /// Visible, but the viewer's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The input is malformed or out of range.
    #[error("{0}")]
    BadInput(String),
    /// The status machine refuses this move.
    #[error("cannot {action}: the {item} is {from}")]
    InvalidTransition {
        item: &'static str,
        from: &'static str,
        action: String,
    },
    /// The change collides with existing data (unique keys, concurrent edits).
    #[error("{0}")]
    Conflict(String),
    /// No valid identity where one is needed.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many requests.
    #[error("slow down")]
    RateLimited,
    /// Anything else: logged with its cause, sent as a generic message.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// The `extensions.code` DESIGN.md names for this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "NOT_FOUND",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::BadInput(_) => "BAD_USER_INPUT",
            AppError::InvalidTransition { .. } => "INVALID_TRANSITION",
            AppError::Conflict(_) => "CONFLICT",
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::RateLimited => "RATE_LIMITED",
            AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// Shorthand for a `Forbidden` with a reason.
    pub fn forbidden(why: impl Into<String>) -> Self {
        AppError::Forbidden(why.into())
    }

    /// Shorthand for a `BadInput` with a reason.
    pub fn bad_input(why: impl Into<String>) -> Self {
        AppError::BadInput(why.into())
    }

    /// Shorthand for an `Internal` from anything displayable.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }
}

/// An error shared between the waiters of one DataLoader batch.
#[derive(Debug, Clone)]
pub struct SharedError(pub std::sync::Arc<AppError>);

impl From<AppError> for SharedError {
    fn from(err: AppError) -> Self {
        SharedError(std::sync::Arc::new(err))
    }
}

/// Maps database errors by meaning: constraint violations are the client's, the rest ours.
pub fn sql_err(err: DbErr) -> AppError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::Conflict("this already exists".into())
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            AppError::BadInput("a referenced item does not exist".into())
        }
        _ if lost_a_race(&err) => {
            AppError::Conflict("this is being changed by others right now; try again".into())
        }
        _ => match err {
            DbErr::RecordNotFound(_) => AppError::NotFound,
            other => AppError::Internal(other.into()),
        },
    }
}

/// PostgreSQL aborted the transaction to break a deadlock (`40P01`) or a serialization
/// conflict (`40001`): nothing was written, and trying again is the remedy.
fn lost_a_race(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let runtime = match err {
        DbErr::Exec(e) | DbErr::Query(e) | DbErr::Conn(e) => e,
        _ => return false,
    };
    match runtime {
        RuntimeErr::SqlxError(e) => match e.as_ref() {
            sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("40P01" | "40001")),
            _ => false,
        },
        _ => false,
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        sql_err(err)
    }
}

impl From<TransactionError<AppError>> for AppError {
    fn from(err: TransactionError<AppError>) -> Self {
        match err {
            TransactionError::Connection(db) => sql_err(db),
            TransactionError::Transaction(app) => app,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_design_code() {
        let cases = [
            (AppError::NotFound, "NOT_FOUND"),
            (AppError::forbidden("x"), "FORBIDDEN"),
            (AppError::bad_input("x"), "BAD_USER_INPUT"),
            (
                AppError::InvalidTransition {
                    item: "ticket",
                    from: "CLOSED",
                    action: "reopen".into(),
                },
                "INVALID_TRANSITION",
            ),
            (AppError::Conflict("x".into()), "CONFLICT"),
            (AppError::Unauthenticated("x".into()), "UNAUTHENTICATED"),
            (AppError::RateLimited, "RATE_LIMITED"),
            (
                AppError::internal(anyhow::anyhow!("secret sql text")),
                "INTERNAL_SERVER_ERROR",
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = AppError::internal(anyhow::anyhow!("relation \"ticket\" does not exist"));
        assert_eq!(err.to_string(), "internal error");
    }

    #[test]
    fn record_not_found_is_not_found() {
        assert_eq!(
            sql_err(DbErr::RecordNotFound("x".into())).code(),
            "NOT_FOUND"
        );
    }

    #[test]
    fn transaction_errors_unwrap_to_the_inner_error() {
        let err: AppError = TransactionError::Transaction(AppError::NotFound).into();
        assert_eq!(err.code(), "NOT_FOUND");
    }
}
