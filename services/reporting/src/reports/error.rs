//! The reports' errors and their one mapping to gRPC status codes.

use switchboard_runtime::{
    errors::{self, FieldViolation},
    validate::Invalid,
};

/// Everything a report or its consumer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReportsError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0}")]
    PermissionDenied(String),
    /// A dependency (routing, channel) or the database is unreachable: retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl ReportsError {
    pub fn denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(message.into())
    }

    /// Whether retrying later may succeed (the consumer retries these).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Storage(e) => errors::is_connection_error(e) || errors::is_transient_conflict(e),
            _ => false,
        }
    }
}

impl From<Invalid> for ReportsError {
    fn from(invalid: Invalid) -> Self {
        Self::InvalidArgument(invalid.0)
    }
}

impl From<ReportsError> for tonic::Status {
    fn from(err: ReportsError) -> Self {
        match err {
            ReportsError::InvalidArgument(v) => errors::invalid_argument(&v),
            ReportsError::PermissionDenied(m) => tonic::Status::permission_denied(m),
            ReportsError::Unavailable(m) => errors::unavailable(&m),
            ReportsError::Storage(e) if errors::is_connection_error(&e) => errors::unavailable(&e),
            ReportsError::Storage(e) => errors::internal(&e),
        }
    }
}
