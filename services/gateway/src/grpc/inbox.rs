//! inbox RPCs.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

pub async fn get_inbox_counts(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetInboxCountsRequest,
) -> Result<pb::GetInboxCountsResponse, Status> {
    Err(Status::unimplemented("GetInboxCounts"))
}

pub async fn list_waiting_conversations(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListWaitingConversationsRequest,
) -> Result<pb::ListWaitingConversationsResponse, Status> {
    Err(Status::unimplemented("ListWaitingConversations"))
}

pub async fn list_assigned_conversations(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListAssignedConversationsRequest,
) -> Result<pb::ListAssignedConversationsResponse, Status> {
    Err(Status::unimplemented("ListAssignedConversations"))
}

pub async fn list_open_conversations(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListOpenConversationsRequest,
) -> Result<pb::ListOpenConversationsResponse, Status> {
    Err(Status::unimplemented("ListOpenConversations"))
}

pub async fn list_expired_conversations(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListExpiredConversationsRequest,
) -> Result<pb::ListExpiredConversationsResponse, Status> {
    Err(Status::unimplemented("ListExpiredConversations"))
}

pub async fn list_conversations(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListConversationsRequest,
) -> Result<pb::ListConversationsResponse, Status> {
    Err(Status::unimplemented("ListConversations"))
}

pub async fn get_conversation(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetConversationRequest,
) -> Result<pb::GetConversationResponse, Status> {
    Err(Status::unimplemented("GetConversation"))
}

pub async fn list_contact_conversations(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListContactConversationsRequest,
) -> Result<pb::ListContactConversationsResponse, Status> {
    Err(Status::unimplemented("ListContactConversations"))
}
