//! The routing service's errors and their one mapping to gRPC status codes.

use switchboard_runtime::errors::{self, FieldViolation};
use tonic::Code;

/// The `google.rpc.ErrorInfo` domain of routing's reasons.
const DOMAIN: &str = "switchboard.routing.v1";

/// `switchboard.common.v1.ErrorReason` names routing answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    ConversationState,
    TicketRequired,
    FormIncomplete,
    AgentAtCapacity,
    AgentNotAvailable,
    AgentNotLinked,
    TeamNotLinked,
    AlreadyTaken,
    NotAssignee,
    ConcurrentUpdate,
    LoadsRebuilding,
    InUse,
    OutsideWindow,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::ConversationState => "ERROR_REASON_CONVERSATION_STATE",
            Reason::TicketRequired => "ERROR_REASON_TICKET_REQUIRED",
            Reason::FormIncomplete => "ERROR_REASON_FORM_INCOMPLETE",
            Reason::AgentAtCapacity => "ERROR_REASON_AGENT_AT_CAPACITY",
            Reason::AgentNotAvailable => "ERROR_REASON_AGENT_NOT_AVAILABLE",
            Reason::AgentNotLinked => "ERROR_REASON_AGENT_NOT_LINKED",
            Reason::TeamNotLinked => "ERROR_REASON_TEAM_NOT_LINKED",
            Reason::AlreadyTaken => "ERROR_REASON_ALREADY_TAKEN",
            Reason::NotAssignee => "ERROR_REASON_NOT_ASSIGNEE",
            Reason::ConcurrentUpdate => "ERROR_REASON_CONCURRENT_UPDATE",
            Reason::LoadsRebuilding => "ERROR_REASON_LOADS_REBUILDING",
            Reason::InUse => "ERROR_REASON_IN_USE",
            Reason::OutsideWindow => "ERROR_REASON_OUTSIDE_WINDOW",
        }
    }
}

/// Everything a routing operation can fail with.
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
}

impl From<RoutingError> for tonic::Status {
    fn from(err: RoutingError) -> Self {
        let reasoned = |code, reason: Option<Reason>, message: String| match reason {
            Some(r) => errors::with_reason(code, r.as_str(), DOMAIN, message),
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
            RoutingError::Aborted { reason, message } => {
                reasoned(Code::Aborted, Some(reason), message)
            }
            RoutingError::Unavailable(m) => errors::unavailable(&m),
            RoutingError::Storage(e) if errors::is_connection_error(&e) => errors::unavailable(&e),
            RoutingError::Storage(e) => errors::internal(&e),
        }
    }
}
