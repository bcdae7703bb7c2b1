//! actions RPCs.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

pub async fn pick_conversation(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::PickConversationRequest,
) -> Result<pb::PickConversationResponse, Status> {
    Err(Status::unimplemented("PickConversation"))
}

pub async fn open_conversation(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::OpenConversationRequest,
) -> Result<pb::OpenConversationResponse, Status> {
    Err(Status::unimplemented("OpenConversation"))
}

pub async fn close_conversation(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::CloseConversationRequest,
) -> Result<pb::CloseConversationResponse, Status> {
    Err(Status::unimplemented("CloseConversation"))
}

pub async fn finalize_conversation(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::FinalizeConversationRequest,
) -> Result<pb::FinalizeConversationResponse, Status> {
    Err(Status::unimplemented("FinalizeConversation"))
}

pub async fn transfer_conversation(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::TransferConversationRequest,
) -> Result<pb::TransferConversationResponse, Status> {
    Err(Status::unimplemented("TransferConversation"))
}

pub async fn update_conversation_form(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateConversationFormRequest,
) -> Result<pb::UpdateConversationFormResponse, Status> {
    Err(Status::unimplemented("UpdateConversationForm"))
}

pub async fn list_conversation_transfers(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListConversationTransfersRequest,
) -> Result<pb::ListConversationTransfersResponse, Status> {
    Err(Status::unimplemented("ListConversationTransfers"))
}

pub async fn list_conversation_transitions(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListConversationTransitionsRequest,
) -> Result<pb::ListConversationTransitionsResponse, Status> {
    Err(Status::unimplemented("ListConversationTransitions"))
}

pub async fn explain_routing(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ExplainRoutingRequest,
) -> Result<pb::ExplainRoutingResponse, Status> {
    Err(Status::unimplemented("ExplainRouting"))
}
