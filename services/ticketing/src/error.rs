//! The ticketing service's errors and their one mapping to gRPC status codes; reasons and their
//! codes come from the shared table in `switchboard_runtime::errors`.

use switchboard_runtime::{
    errors::{self, FieldViolation},
    validate::Invalid,
};

/// `switchboard.common.v1.ErrorReason`: the one list of reasons, shared by every service.
pub use switchboard_runtime::errors::Reason;

/// Everything a ticketing operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum TicketingError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{message}")]
    FailedPrecondition {
        reason: Option<Reason>,
        message: String,
    },
    /// A concurrent change won (ABORTED, CONCURRENT_UPDATE).
    #[error("{0}")]
    ConcurrentUpdate(String),
    /// A dependency (routing, channel) or the database is unreachable: retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl TicketingError {
    /// A single bad field.
    pub fn field(field: &str, description: &str) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(message.into())
    }

    /// FAILED_PRECONDITION without a reason of the shared table.
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason: None,
            message: message.into(),
        }
    }

    /// Whether retrying later may succeed (consumers retry these).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable(_) | Self::ConcurrentUpdate(_) => true,
            Self::Storage(e) => errors::is_connection_error(e) || errors::is_transient_conflict(e),
            _ => false,
        }
    }
}

impl From<Invalid> for TicketingError {
    fn from(invalid: Invalid) -> Self {
        Self::InvalidArgument(invalid.0)
    }
}

impl From<TicketingError> for tonic::Status {
    fn from(err: TicketingError) -> Self {
        match err {
            TicketingError::InvalidArgument(v) => errors::invalid_argument(&v),
            TicketingError::NotFound { .. } => tonic::Status::not_found(err.to_string()),
            TicketingError::AlreadyExists(m) => tonic::Status::already_exists(m),
            TicketingError::PermissionDenied(m) => tonic::Status::permission_denied(m),
            TicketingError::FailedPrecondition {
                reason: Some(r),
                message,
            } => errors::reasoned(r, message),
            TicketingError::FailedPrecondition {
                reason: None,
                message,
            } => tonic::Status::failed_precondition(message),
            TicketingError::ConcurrentUpdate(m) => errors::reasoned(Reason::ConcurrentUpdate, m),
            TicketingError::Unavailable(m) => errors::unavailable(&m),
            TicketingError::Storage(e) if errors::is_connection_error(&e) => {
                errors::unavailable(&e)
            }
            TicketingError::Storage(e) => errors::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_updates_are_aborted_with_the_shared_reason() {
        let status = tonic::Status::from(TicketingError::ConcurrentUpdate("changed".into()));
        let back = errors::from_status(&status);
        assert_eq!(
            (back.code, back.reason),
            (tonic::Code::Aborted, Some(Reason::ConcurrentUpdate))
        );
    }

    #[test]
    fn a_required_ticket_is_a_failed_precondition_with_its_reason() {
        let status = tonic::Status::from(TicketingError::FailedPrecondition {
            reason: Some(Reason::TicketRequired),
            message: "link a ticket first".into(),
        });
        let back = errors::from_status(&status);
        assert_eq!(
            (back.code, back.reason),
            (
                tonic::Code::FailedPrecondition,
                Some(Reason::TicketRequired)
            )
        );
    }
}
