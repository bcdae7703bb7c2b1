//! Switchboard's one error table and the helpers every service's one error → `tonic::Status`
//! map uses: reasons (`switchboard.common.v1.ErrorReason`) with their gRPC code and HTTP status,
//! field violations for bad input, internal errors logged but never sent, storage error
//! classification; and the way back, [`from_status`], that every client of another service uses
//! to get the typed error (code, reason, metadata, field violations) out of a `tonic::Status`.

use std::collections::HashMap;

use http::StatusCode;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A machine-readable reason, sent as `google.rpc.ErrorInfo.reason` (its `ERROR_REASON_…` name).
/// The generated `switchboard.common.v1.ErrorReason`, so the proto is the list of reasons.
pub use switchboard_proto::common::v1::ErrorReason as Reason;

/// The `google.rpc.ErrorInfo.domain` of every Switchboard reason, whichever service answers.
pub const DOMAIN: &str = "switchboard";

/// Every reason with its gRPC code and HTTP status (gateway, gRPC-Web): the one table, read
/// forward by [`reasoned`] and back by [`from_status`]. `ERROR_REASON_UNSPECIFIED` is not a
/// reason and is never sent.
const TABLE: [(Reason, Code, StatusCode); 17] = [
    (
        Reason::OutsideWindow,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::ConversationState,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::TicketRequired,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::FormIncomplete,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::AgentAtCapacity,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::AgentNotAvailable,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::AgentNotLinked,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::TeamNotLinked,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (Reason::AlreadyTaken, Code::Aborted, StatusCode::CONFLICT),
    (
        Reason::NotAssignee,
        Code::PermissionDenied,
        StatusCode::FORBIDDEN,
    ),
    (
        Reason::ConcurrentUpdate,
        Code::Aborted,
        StatusCode::CONFLICT,
    ),
    (
        Reason::LoadsRebuilding,
        Code::Unavailable,
        StatusCode::SERVICE_UNAVAILABLE,
    ),
    (
        Reason::InUse,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::ChannelDisabled,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::TemplateNotApproved,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    (
        Reason::CursorExpired,
        Code::FailedPrecondition,
        StatusCode::BAD_REQUEST,
    ),
    // Same key, other body (draft-ietf-httpapi-idempotency-key-header answers 422).
    (
        Reason::IdempotencyKeyReused,
        Code::InvalidArgument,
        StatusCode::UNPROCESSABLE_ENTITY,
    ),
];

fn row(reason: Reason) -> Option<&'static (Reason, Code, StatusCode)> {
    TABLE.iter().find(|(r, _, _)| *r == reason)
}

/// The gRPC code a reason is answered with (UNKNOWN for `Unspecified`, which is never sent).
pub fn code_of(reason: Reason) -> Code {
    row(reason).map_or(Code::Unknown, |(_, code, _)| *code)
}

/// The HTTP status a reason is answered with.
pub fn http_status_of(reason: Reason) -> StatusCode {
    row(reason).map_or(StatusCode::INTERNAL_SERVER_ERROR, |(_, _, http)| *http)
}

/// The HTTP status of a gRPC code without a reason (the `google.rpc.Code` mapping).
pub fn http_status_of_code(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Cancelled | Code::Unknown | Code::Internal | Code::DataLoss => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

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

/// An error as a Switchboard service answers it: what [`from_status`] gives a client of
/// another service back, and what a service can answer with (`Status::from`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?} ({}): {message}", .reason.map_or("no reason", |r| r.as_str_name()))]
pub struct ServiceError {
    pub code: Code,
    /// From `ErrorInfo` of domain [`DOMAIN`]; never guessed from the message.
    pub reason: Option<Reason>,
    pub message: String,
    /// `ErrorInfo.metadata` (e.g. `close_time` of OUTSIDE_WINDOW).
    pub metadata: HashMap<String, String>,
    /// `google.rpc.BadRequest` field violations (INVALID_ARGUMENT).
    pub field_violations: Vec<FieldViolation>,
}

impl ServiceError {
    /// An error with `reason`, answered with the reason's code from the table.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            code: code_of(reason),
            reason: Some(reason),
            message: message.into(),
            metadata: HashMap::new(),
            field_violations: Vec::new(),
        }
    }

    /// The same error with `ErrorInfo.metadata`.
    pub fn with_metadata(mut self, metadata: HashMap<String, String>) -> Self {
        self.metadata = metadata;
        self
    }

    /// The HTTP status of this error: its reason's, else its code's.
    pub fn http_status(&self) -> StatusCode {
        self.reason
            .map_or_else(|| http_status_of_code(self.code), http_status_of)
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Self {
        let mut details = ErrorDetails::new();
        if let Some(reason) = err.reason {
            details.set_error_info(reason.as_str_name(), DOMAIN, err.metadata);
        }
        for v in err.field_violations {
            details.add_bad_request_violation(v.field, v.description);
        }
        Status::with_error_details(err.code, err.message, details)
    }
}

/// The way back: the typed error of a status answered by another Switchboard service. The
/// reason comes only from an `ErrorInfo` of domain [`DOMAIN`] naming a known reason; the
/// message text is never parsed.
pub fn from_status(status: &Status) -> ServiceError {
    let details = status.get_error_details();
    let (reason, metadata) = match details.error_info() {
        Some(info) if info.domain == DOMAIN => (
            Reason::from_str_name(&info.reason).filter(|r| *r != Reason::Unspecified),
            info.metadata.clone(),
        ),
        _ => (None, HashMap::new()),
    };
    let field_violations = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default();
    ServiceError {
        code: status.code(),
        reason,
        message: status.message().to_string(),
        metadata,
        field_violations,
    }
}

/// A status with `reason` (its code from the table) in `ErrorInfo`, so clients branch on the
/// reason, not the message.
pub fn reasoned(reason: Reason, message: impl Into<String>) -> Status {
    ServiceError::new(reason, message).into()
}

/// [`reasoned`] with `ErrorInfo.metadata` (e.g. `close_time` of a closed window).
pub fn reasoned_with(
    reason: Reason,
    message: impl Into<String>,
    metadata: HashMap<String, String>,
) -> Status {
    ServiceError::new(reason, message)
        .with_metadata(metadata)
        .into()
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

/// Whether a storage error is a transient conflict that a retry passes, by the driver's error
/// code (never its text): SQLite busy or locked (5, 6, 517), PostgreSQL serialization failure or
/// deadlock (40001, 40P01).
pub fn is_transient_conflict(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| matches!(code.as_ref(), "5" | "6" | "517" | "40001" | "40P01"))
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

    /// Every value of the generated enum but UNSPECIFIED, however many the proto grows to.
    fn every_reason() -> Vec<Reason> {
        (1..)
            .map_while(|n| Reason::try_from(n).ok())
            .collect::<Vec<_>>()
    }

    #[test]
    fn every_reason_of_the_proto_has_exactly_one_row() {
        let reasons = every_reason();
        assert_eq!(reasons.len(), TABLE.len(), "{reasons:?}");
        for r in reasons {
            assert_eq!(TABLE.iter().filter(|(x, _, _)| *x == r).count(), 1, "{r:?}");
        }
        assert!(row(Reason::Unspecified).is_none());
    }

    #[test]
    fn every_reason_round_trips_through_a_status_to_the_typed_error() {
        for &(reason, code, http) in &TABLE {
            let mut metadata = HashMap::new();
            metadata.insert("state".to_string(), "closed".to_string());
            let status = reasoned_with(reason, "refused", metadata.clone());
            assert_eq!(status.code(), code, "{reason:?}");
            let info = status.get_details_error_info().expect("ErrorInfo");
            assert_eq!(
                (info.reason.as_str(), info.domain.as_str()),
                (reason.as_str_name(), "switchboard")
            );
            let back = from_status(&status);
            assert_eq!(
                back,
                ServiceError {
                    code,
                    reason: Some(reason),
                    message: "refused".into(),
                    metadata,
                    field_violations: Vec::new(),
                },
                "{reason:?}"
            );
            assert_eq!(back.http_status(), http, "{reason:?}");
            assert_eq!(Status::from(back.clone()).code(), code);
            assert_eq!(from_status(&Status::from(back.clone())), back);
        }
    }

    #[test]
    fn the_table_answers_the_codes_the_protos_document() {
        assert_eq!(code_of(Reason::LoadsRebuilding), Code::Unavailable);
        assert_eq!(code_of(Reason::AlreadyTaken), Code::Aborted);
        assert_eq!(code_of(Reason::ConcurrentUpdate), Code::Aborted);
        assert_eq!(code_of(Reason::NotAssignee), Code::PermissionDenied);
        assert_eq!(code_of(Reason::OutsideWindow), Code::FailedPrecondition);
        assert_eq!(code_of(Reason::IdempotencyKeyReused), Code::InvalidArgument);
        assert_eq!(code_of(Reason::Unspecified), Code::Unknown);
    }

    #[test]
    fn the_reason_is_never_read_from_the_message_or_another_domain() {
        let plain = Status::unavailable("presence is rebuilding loads; retry shortly");
        let back = from_status(&plain);
        assert_eq!((back.code, back.reason), (Code::Unavailable, None));
        assert_eq!(back.http_status(), StatusCode::SERVICE_UNAVAILABLE);

        let mut details = ErrorDetails::new();
        details.set_error_info(
            "ERROR_REASON_LOADS_REBUILDING",
            "switchboard.presence.v1",
            HashMap::from([("k".to_string(), "v".to_string())]),
        );
        let foreign = Status::with_error_details(Code::Unavailable, "rebuilding", details);
        let back = from_status(&foreign);
        assert_eq!((back.reason, back.metadata.len()), (None, 0));

        let mut details = ErrorDetails::new();
        details.set_error_info("ERROR_REASON_NO_SUCH_THING", DOMAIN, HashMap::new());
        let unknown = Status::with_error_details(Code::FailedPrecondition, "x", details);
        assert_eq!(from_status(&unknown).reason, None);
    }

    #[test]
    fn field_violations_come_back_with_the_typed_error() {
        let status = invalid_argument(&[
            FieldViolation::new("name", "must not be empty"),
            FieldViolation::new("team.offer_timeout", "must be positive"),
        ]);
        let back = from_status(&status);
        assert_eq!((back.code, back.reason), (Code::InvalidArgument, None));
        assert_eq!(
            back.field_violations,
            [
                FieldViolation::new("name", "must not be empty"),
                FieldViolation::new("team.offer_timeout", "must be positive"),
            ]
        );
        assert_eq!(back.http_status(), StatusCode::BAD_REQUEST);
    }

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
