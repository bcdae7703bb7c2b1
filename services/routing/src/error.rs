//! The routing service's errors and their one mapping to gRPC status codes; reasons and their
//! codes come from the shared table in `switchboard_runtime::errors`.

use std::collections::HashMap;

use switchboard_runtime::errors::{self, FieldViolation};
use tonic::Code;

/// `switchboard.common.v1.ErrorReason`: the one list of reasons, shared by every service.
pub use switchboard_runtime::errors::Reason;

/// Everything a routing operation can fail with. A variant carrying a reason is answered with
/// the reason's code from the error table (the variants name the code the reason has there).
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{message}")]
    PermissionDenied {
        reason: Option<Reason>,
        message: String,
    },
    #[error("{message}")]
    FailedPrecondition {
        reason: Option<Reason>,
        message: String,
    },
    #[error("{message}")]
    Aborted { reason: Reason, message: String },
    /// A reason with `ErrorInfo.metadata` (e.g. "state", "fields"), or a reason another
    /// service answered with (presence's LOADS_REBUILDING); its code is the reason's.
    #[error("{message}")]
    Detailed {
        reason: Reason,
        message: String,
        metadata: HashMap<String, String>,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl RoutingError {
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
        Self::PermissionDenied {
            reason: None,
            message: message.into(),
        }
    }

    pub fn precondition(reason: Reason, message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason: Some(reason),
            message: message.into(),
        }
    }

    /// FAILED_PRECONDITION with `reason` and `ErrorInfo.metadata`.
    pub fn precondition_with(
        reason: Reason,
        message: impl Into<String>,
        metadata: HashMap<String, String>,
    ) -> Self {
        Self::detailed(Code::FailedPrecondition, reason, message, metadata)
    }

    /// PERMISSION_DENIED with `reason` and `ErrorInfo.metadata`.
    pub fn denied_with(
        reason: Reason,
        message: impl Into<String>,
        metadata: HashMap<String, String>,
    ) -> Self {
        Self::detailed(Code::PermissionDenied, reason, message, metadata)
    }

    /// ABORTED with `reason` and `ErrorInfo.metadata`.
    pub fn aborted_with(
        reason: Reason,
        message: impl Into<String>,
        metadata: HashMap<String, String>,
    ) -> Self {
        Self::detailed(Code::Aborted, reason, message, metadata)
    }

    fn detailed(
        code: Code,
        reason: Reason,
        message: impl Into<String>,
        metadata: HashMap<String, String>,
    ) -> Self {
        debug_assert_eq!(
            errors::code_of(reason),
            code,
            "{reason:?} is answered with the code of its row in the error table"
        );
        Self::Detailed {
            reason,
            message: message.into(),
            metadata,
        }
    }

    /// The reason this error is answered with, if any.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            RoutingError::PermissionDenied { reason, .. }
            | RoutingError::FailedPrecondition { reason, .. } => *reason,
            RoutingError::Aborted { reason, .. } | RoutingError::Detailed { reason, .. } => {
                Some(*reason)
            }
            _ => None,
        }
    }
}

impl From<RoutingError> for tonic::Status {
    fn from(err: RoutingError) -> Self {
        let reasoned = |code, reason: Option<Reason>, message: String| match reason {
            Some(r) => errors::reasoned(r, message),
            None => tonic::Status::new(code, message),
        };
        match err {
            RoutingError::InvalidArgument(v) => errors::invalid_argument(&v),
            RoutingError::NotFound { .. } => tonic::Status::not_found(err.to_string()),
            RoutingError::AlreadyExists(m) => tonic::Status::already_exists(m),
            RoutingError::PermissionDenied { reason, message } => {
                reasoned(Code::PermissionDenied, reason, message)
            }
            RoutingError::FailedPrecondition { reason, message } => {
                reasoned(Code::FailedPrecondition, reason, message)
            }
            RoutingError::Aborted { reason, message } => errors::reasoned(reason, message),
            RoutingError::Detailed {
                reason,
                message,
                metadata,
            } => errors::reasoned_with(reason, message, metadata),
            RoutingError::Unavailable(m) => errors::unavailable(&m),
            RoutingError::Storage(e) if errors::is_connection_error(&e) => errors::unavailable(&e),
            RoutingError::Storage(e) => errors::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_reaches_the_error_info_of_each_refusal_code() {
        let metadata = HashMap::from([("state".to_string(), "closed".to_string())]);
        for (err, code) in [
            (
                RoutingError::precondition_with(
                    Reason::ConversationState,
                    "the conversation is closed",
                    metadata.clone(),
                ),
                Code::FailedPrecondition,
            ),
            (
                RoutingError::denied_with(Reason::NotAssignee, "not yours", metadata.clone()),
                Code::PermissionDenied,
            ),
            (
                RoutingError::aborted_with(Reason::AlreadyTaken, "taken", metadata.clone()),
                Code::Aborted,
            ),
        ] {
            let reason = err.reason();
            let back = errors::from_status(&tonic::Status::from(err));
            assert_eq!((back.code, back.reason), (code, reason));
            assert_eq!(back.metadata, metadata);
        }
    }

    #[test]
    fn reasons_without_metadata_keep_their_codes_in_the_shared_domain() {
        let status = tonic::Status::from(RoutingError::precondition(Reason::InUse, "in use"));
        let back = errors::from_status(&status);
        assert_eq!(
            (back.code, back.reason),
            (Code::FailedPrecondition, Some(Reason::InUse))
        );
        let status = tonic::Status::from(RoutingError::Aborted {
            reason: Reason::ConcurrentUpdate,
            message: "changed".into(),
        });
        assert_eq!(
            errors::from_status(&status).reason,
            Some(Reason::ConcurrentUpdate)
        );
        let status = tonic::Status::from(RoutingError::denied("admins only"));
        let back = errors::from_status(&status);
        assert_eq!((back.code, back.reason), (Code::PermissionDenied, None));
    }
}
