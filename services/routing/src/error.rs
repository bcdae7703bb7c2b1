//! The routing service's errors and their one mapping to gRPC status codes.

use switchboard_runtime::errors::{self, FieldViolation};

/// Everything a routing operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl RoutingError {
    /// A single bad field.
    pub fn field(field: &str, description: &str) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

impl From<RoutingError> for tonic::Status {
    fn from(err: RoutingError) -> Self {
        match err {
            RoutingError::InvalidArgument(v) => errors::invalid_argument(&v),
            RoutingError::NotFound { .. } => tonic::Status::not_found(err.to_string()),
            RoutingError::Storage(e) if errors::is_connection_error(&e) => errors::unavailable(&e),
            RoutingError::Storage(e) => errors::internal(&e),
        }
    }
}
