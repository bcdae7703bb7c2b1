//! The presence service's errors and their one mapping to gRPC status codes; reasons and their
//! codes come from the shared table in `switchboard_runtime::errors`.

use switchboard_runtime::errors::{self, FieldViolation};

use crate::store::StoreError;

/// `switchboard.common.v1.ErrorReason`: the one list of reasons, shared by every service.
pub use switchboard_runtime::errors::Reason;

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
            PresenceError::Rebuilding => errors::reasoned(Reason::LoadsRebuilding, err.to_string()),
            PresenceError::Store(e) => errors::unavailable(&e),
            PresenceError::Storage(e) if errors::is_connection_error(&e) => errors::unavailable(&e),
            PresenceError::Storage(e) => errors::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilding_answers_unavailable_with_reason_loads_rebuilding() {
        let back = errors::from_status(&tonic::Status::from(PresenceError::Rebuilding));
        assert_eq!(
            (back.code, back.reason),
            (tonic::Code::Unavailable, Some(Reason::LoadsRebuilding))
        );
    }
}
