//! What a live-figures call can fail with, mapped to a gRPC status in one place.

use switchboard_runtime::{errors, errors::FieldViolation, validate::Invalid};

/// Everything GetLiveFigures and WatchLiveFigures can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0}")]
    PermissionDenied(String),
    /// Routing (the directory) or the database is unreachable: retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl LiveError {
    /// Whether a consumer should retry the event (a passing failure).
    pub fn is_retryable(&self) -> bool {
        match self {
            LiveError::Unavailable(_) => true,
            LiveError::Storage(e) => {
                errors::is_transient_conflict(e) || errors::is_connection_error(e)
            }
            _ => false,
        }
    }
}

impl From<Invalid> for LiveError {
    fn from(invalid: Invalid) -> Self {
        LiveError::InvalidArgument(invalid.0)
    }
}

impl From<LiveError> for tonic::Status {
    fn from(err: LiveError) -> Self {
        match err {
            LiveError::InvalidArgument(v) => errors::invalid_argument(&v),
            LiveError::PermissionDenied(m) => tonic::Status::permission_denied(m),
            LiveError::Unavailable(m) => errors::unavailable(&m),
            LiveError::Storage(e) if errors::is_connection_error(&e) => errors::unavailable(&e),
            LiveError::Storage(e) => errors::internal(&e),
        }
    }
}
