//! Errors as types: every failure a client can see maps to one [`ErrorCode`].

use sea_orm::{DbErr, SqlErr, TransactionError};

/// Result alias used across the crate.
pub type AppResult<T> = Result<T, AppError>;

/// The `extensions.code` of every error a client can see: the API's whole vocabulary of
/// failure (docs/API.md lists when each is used). The one place these names are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    InvalidTransition,
    Conflict,
    RateLimited,
    InternalServerError,
}

impl ErrorCode {
    /// Every code, in the order the API documents them.
    pub const ALL: [ErrorCode; 8] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::BadUserInput,
        ErrorCode::InvalidTransition,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::InternalServerError,
    ];

    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::InvalidTransition => "INVALID_TRANSITION",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The code a wire name stands for, if it is one of ours.
    pub fn parse(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tests pin codes by their wire names.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

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
    /// Concurrent writers kept this write from committing (PostgreSQL broke a deadlock or a
    /// serialization conflict, or the optimistic lock kept losing): nothing was written,
    /// and the same write may simply be tried again.
    #[error("this is being changed by others right now; try again")]
    Contended,
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
    /// The code a client sees for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::NotFound => ErrorCode::NotFound,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::BadInput(_) => ErrorCode::BadUserInput,
            AppError::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            AppError::Conflict(_) | AppError::Contended => ErrorCode::Conflict,
            AppError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            AppError::RateLimited => ErrorCode::RateLimited,
            AppError::Internal(_) => ErrorCode::InternalServerError,
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
        _ if lost_a_race(&err) => AppError::Contended,
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
    fn codes_round_trip_through_their_wire_names() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("TEAPOT"), None);
    }

    #[test]
    fn every_variant_has_its_code() {
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
            (AppError::Contended, "CONFLICT"),
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
