//! The integrations service's errors and their one mapping to gRPC status codes; reasons and
//! their codes come from the shared table in `switchboard_runtime::errors`.

use switchboard_runtime::{
    errors::{self, FieldViolation, Reason},
    validate::Invalid,
};

/// Everything an integrations operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationsError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    PermissionDenied(String),
    /// The feed cannot resume from the cursor (CURSOR_EXPIRED).
    #[error("{0}")]
    CursorExpired(String),
    /// A dependency (routing) or the database is unreachable: retry.
    #[error("{0}")]
    Unavailable(String),
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl IntegrationsError {
    /// A single bad field.
    pub fn field(field: &str, description: impl Into<String>) -> Self {
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

    /// Whether retrying later may succeed (consumers retry these).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Storage(e) => errors::is_connection_error(e) || errors::is_transient_conflict(e),
            _ => false,
        }
    }
}

impl From<Invalid> for IntegrationsError {
    fn from(invalid: Invalid) -> Self {
        Self::InvalidArgument(invalid.0)
    }
}

impl From<IntegrationsError> for tonic::Status {
    fn from(err: IntegrationsError) -> Self {
        match err {
            IntegrationsError::InvalidArgument(v) => errors::invalid_argument(&v),
            IntegrationsError::NotFound { .. } => tonic::Status::not_found(err.to_string()),
            IntegrationsError::PermissionDenied(m) => tonic::Status::permission_denied(m),
            IntegrationsError::CursorExpired(m) => errors::reasoned(Reason::CursorExpired, m),
            IntegrationsError::Unavailable(m) => errors::unavailable(&m),
            IntegrationsError::Storage(e) if errors::is_connection_error(&e) => {
                errors::unavailable(&e)
            }
            IntegrationsError::Storage(e) => errors::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_cursor_is_a_failed_precondition_with_its_reason() {
        let status = tonic::Status::from(IntegrationsError::CursorExpired("gone".into()));
        let back = errors::from_status(&status);
        assert_eq!(
            (back.code, back.reason),
            (tonic::Code::FailedPrecondition, Some(Reason::CursorExpired))
        );
    }
}
