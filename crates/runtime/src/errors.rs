//! Helpers that services use in their one error → `tonic::Status` map: field violations for bad
//! input, internal errors logged but never sent, and storage error classification.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request, e.g. `name` or `target.team_id`.
    pub field: String,
    /// What is wrong, in words a frontend can show.
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// INVALID_ARGUMENT carrying `google.rpc.BadRequest` field violations, readable by any client.
pub fn invalid_argument(violations: &[FieldViolation]) -> Status {
    let summary = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    Status::with_error_details(Code::InvalidArgument, summary, details)
}

/// A status carrying `google.rpc.ErrorInfo` with `reason` (an `ERROR_REASON_…` name of
/// `switchboard.common.v1.ErrorReason`), so clients branch on the reason, not the message.
pub fn with_reason(code: Code, reason: &str, domain: &str, message: impl Into<String>) -> Status {
    with_reason_and_metadata(
        code,
        reason,
        domain,
        message,
        std::collections::HashMap::new(),
    )
}

/// [`with_reason`] with `ErrorInfo.metadata` (e.g. `close_time` of a closed window).
pub fn with_reason_and_metadata(
    code: Code,
    reason: &str,
    domain: &str,
    message: impl Into<String>,
    metadata: std::collections::HashMap<String, String>,
) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, domain, metadata);
    Status::with_error_details(code, message.into(), details)
}

/// INTERNAL with a generic message; the cause is logged with the current span, never sent.
pub fn internal(cause: &dyn std::fmt::Display) -> Status {
    tracing::error!(error = %cause, "internal error");
    Status::internal("internal error")
}

/// UNAVAILABLE (the caller should retry), the cause logged.
pub fn unavailable(cause: &dyn std::fmt::Display) -> Status {
    tracing::warn!(error = %cause, "dependency unavailable");
    Status::unavailable("temporarily unavailable, retry")
}

/// Whether a storage error is a unique-constraint violation (PostgreSQL 23505, SQLite 2067/1555).
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Whether a storage error means the database cannot be reached (retryable).
pub fn is_connection_error(err: &sea_orm::DbErr) -> bool {
    matches!(
        err,
        sea_orm::DbErr::Conn(_) | sea_orm::DbErr::ConnectionAcquire(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_every_field() {
        let status = invalid_argument(&[
            FieldViolation::new("name", "must not be empty"),
            FieldViolation::new("default_agent_capacity", "must be between 1 and 100"),
        ]);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("name: must not be empty"));
        let bad = status
            .get_details_bad_request()
            .expect("bad request details");
        let fields: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["name", "default_agent_capacity"]);
    }

    #[test]
    fn internal_hides_the_cause() {
        let status = internal(&"connection string postgres://secret");
        assert_eq!(status.message(), "internal error");
    }
}
