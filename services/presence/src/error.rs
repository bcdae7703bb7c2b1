//! The presence service's errors and their one mapping to gRPC status codes.

use switchboard_runtime::errors::{self, FieldViolation};
use tonic_types::{ErrorDetails, StatusExt};

use crate::store::StoreError;

/// Everything a presence operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("agent {0} is not known to presence (sync its profile first)")]
    AgentNotFound(String),
    #[error("presence is rebuilding loads after a store loss; retry shortly")]
    Rebuilding,
    #[error("presence store: {0}")]
    Store(#[from] StoreError),
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl PresenceError {
    /// A single bad field.
    pub fn field(field: &str, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

impl From<PresenceError> for tonic::Status {
    fn from(err: PresenceError) -> Self {
        match err {
            PresenceError::InvalidArgument(v) => errors::invalid_argument(&v),
            PresenceError::AgentNotFound(_) => tonic::Status::not_found(err.to_string()),
            PresenceError::Rebuilding => {
                let mut details = ErrorDetails::new();
                details.set_error_info(
                    "ERROR_REASON_LOADS_REBUILDING",
                    "switchboard.presence.v1",
                    std::collections::HashMap::new(),
                );
                tonic::Status::with_error_details(
                    tonic::Code::Unavailable,
                    err.to_string(),
                    details,
                )
            }
            PresenceError::Store(e) => errors::unavailable(&e),
            PresenceError::Storage(e) if errors::is_connection_error(&e) => errors::unavailable(&e),
            PresenceError::Storage(e) => errors::internal(&e),
        }
    }
}
