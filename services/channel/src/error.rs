//! The channel service's errors and their one mapping to gRPC status codes (the webhook's HTTP
//! answers are mapped in `http`); reasons and their codes come from the shared table in
//! `switchboard_runtime::errors`.

use std::collections::HashMap;

use switchboard_runtime::errors::{self, FieldViolation};

/// `switchboard.common.v1.ErrorReason`: the one list of reasons, shared by every service.
pub use switchboard_runtime::errors::Reason;

/// Everything a channel operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{message}")]
    FailedPrecondition {
        reason: Option<Reason>,
        message: String,
        metadata: HashMap<String, String>,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
}

impl ChannelError {
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

    pub fn precondition(reason: Reason, message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason: Some(reason),
            message: message.into(),
            metadata: HashMap::new(),
        }
    }

    /// Whether the storage could not be reached (the webhook answers 503 so Meta retries).
    pub fn is_unavailable(&self) -> bool {
        match self {
            ChannelError::Storage(e) => errors::is_connection_error(e),
            ChannelError::Unavailable(_) => true,
            _ => false,
        }
    }
}

impl From<ChannelError> for tonic::Status {
    fn from(err: ChannelError) -> Self {
        match err {
            ChannelError::InvalidArgument(v) => errors::invalid_argument(&v),
            ChannelError::NotFound { .. } => tonic::Status::not_found(err.to_string()),
            ChannelError::AlreadyExists(m) => tonic::Status::already_exists(m),
            ChannelError::PermissionDenied(m) => tonic::Status::permission_denied(m),
            ChannelError::Unauthenticated(m) => tonic::Status::unauthenticated(m),
            ChannelError::FailedPrecondition {
                reason: Some(r),
                message,
                metadata,
            } => errors::reasoned_with(r, message, metadata),
            ChannelError::FailedPrecondition { message, .. } => {
                tonic::Status::failed_precondition(message)
            }
            ChannelError::Unavailable(m) => errors::unavailable(&m),
            ChannelError::Storage(e) if errors::is_connection_error(&e) => errors::unavailable(&e),
            ChannelError::Storage(e) => errors::internal(&e),
            ChannelError::Corrupt(m) => errors::internal(&m),
        }
    }
}
