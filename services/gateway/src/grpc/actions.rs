//! Conversation actions: pick, open, close, finalize, transfer, the campaign form, and a
//! conversation's transfers, transitions and routing decisions. Routing enforces who may do
//! what from the actor (me); its refusals come back as they are.

use switchboard_proto::{
    gateway::v1 as pb,
    routing::v1::{self as rpb, explain_routing_request::Subject as RSubject},
};
use tonic::Status;

use super::{Ctx, Scope, items};

pub async fn pick_conversation(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::PickConversationRequest,
) -> Result<pb::PickConversationResponse, Status> {
    let conversation = ctx
        .upstream
        .routing()
        .pick_conversation(scope.req(rpb::PickConversationRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
        }))
        .await?
        .into_inner()
        .conversation;
    Ok(pb::PickConversationResponse {
        item: items::item(ctx, scope, conversation).await?,
    })
}

pub async fn open_conversation(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::OpenConversationRequest,
) -> Result<pb::OpenConversationResponse, Status> {
    let conversation = ctx
        .upstream
        .routing()
        .open_conversation(scope.req(rpb::OpenConversationRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
        }))
        .await?
        .into_inner()
        .conversation;
    Ok(pb::OpenConversationResponse {
        item: items::item(ctx, scope, conversation).await?,
    })
}

pub async fn close_conversation(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CloseConversationRequest,
) -> Result<pb::CloseConversationResponse, Status> {
    let closed = ctx
        .upstream
        .routing()
        .close_conversation(scope.req(rpb::CloseConversationRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
            close_note: request.close_note,
        }))
        .await?
        .into_inner();
    Ok(pb::CloseConversationResponse {
        conversation: closed.conversation,
        ticket_id: closed.ticket_id,
    })
}

pub async fn finalize_conversation(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::FinalizeConversationRequest,
) -> Result<pb::FinalizeConversationResponse, Status> {
    let conversation = ctx
        .upstream
        .routing()
        .finalize_conversation(scope.req(rpb::FinalizeConversationRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
        }))
        .await?
        .into_inner()
        .conversation;
    Ok(pb::FinalizeConversationResponse { conversation })
}

pub async fn transfer_conversation(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::TransferConversationRequest,
) -> Result<pb::TransferConversationResponse, Status> {
    let transferred = ctx
        .upstream
        .routing()
        .transfer_conversation(scope.req(rpb::TransferConversationRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
            target: request.target,
            reason: request.reason,
            priority: None,
        }))
        .await?
        .into_inner();
    Ok(pb::TransferConversationResponse {
        conversation: transferred.conversation,
        transfer: transferred.transfer,
    })
}

pub async fn update_conversation_form(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateConversationFormRequest,
) -> Result<pb::UpdateConversationFormResponse, Status> {
    let updated = ctx
        .upstream
        .routing()
        .update_conversation_form(scope.req(rpb::UpdateConversationFormRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
            values: request.values,
        }))
        .await?
        .into_inner();
    Ok(pb::UpdateConversationFormResponse {
        conversation: updated.conversation,
        missing_required_keys: updated.missing_required_keys,
    })
}

pub async fn list_conversation_transfers(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListConversationTransfersRequest,
) -> Result<pb::ListConversationTransfersResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_conversation_transfers(scope.req(rpb::ListConversationTransfersRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
        }))
        .await?
        .into_inner();
    Ok(pb::ListConversationTransfersResponse {
        transfers: page.transfers,
        page: page.page,
    })
}

pub async fn list_conversation_transitions(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListConversationTransitionsRequest,
) -> Result<pb::ListConversationTransitionsResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_conversation_transitions(scope.req(rpb::ListConversationTransitionsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
        }))
        .await?
        .into_inner();
    Ok(pb::ListConversationTransitionsResponse {
        transitions: page.transitions,
        page: page.page,
    })
}

pub async fn explain_routing(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ExplainRoutingRequest,
) -> Result<pb::ExplainRoutingResponse, Status> {
    use pb::explain_routing_request::Subject;
    let subject = request.subject.map(|s| match s {
        Subject::ConversationId(id) => RSubject::ConversationId(id),
        Subject::WorkItemId(id) => RSubject::WorkItemId(id),
        Subject::DecisionId(id) => RSubject::DecisionId(id),
    });
    let decisions = ctx
        .upstream
        .routing()
        .explain_routing(scope.req(rpb::ExplainRoutingRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            subject,
        }))
        .await?
        .into_inner()
        .decisions;
    Ok(pb::ExplainRoutingResponse { decisions })
}
