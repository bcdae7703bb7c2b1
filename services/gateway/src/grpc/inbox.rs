//! Inbox: my tabs' counts and lists, one conversation, a contact's conversations. Each list
//! answers inbox items (see `items`); routing decides what the caller may see.

use switchboard_proto::{gateway::v1 as pb, routing::v1 as rpb};
use tonic::Status;

use super::{Ctx, Scope, items};

/// The agent a list is about: `requested` (supervisors looking at someone) or me.
fn whose(scope: &Scope, requested: String) -> String {
    if requested.is_empty() {
        scope.me()
    } else {
        requested
    }
}

pub async fn get_inbox_counts(
    ctx: &Ctx,
    scope: &Scope,
    _request: pb::GetInboxCountsRequest,
) -> Result<pb::GetInboxCountsResponse, Status> {
    let counts = ctx
        .upstream
        .routing()
        .get_inbox_counts(scope.req(rpb::GetInboxCountsRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            agent_id: scope.me(),
        }))
        .await?
        .into_inner()
        .counts;
    Ok(pb::GetInboxCountsResponse { counts })
}

pub async fn list_waiting_conversations(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListWaitingConversationsRequest,
) -> Result<pb::ListWaitingConversationsResponse, Status> {
    let agent_id = if request.all_queues {
        scope.caller.require_supervisor("all_queues")?;
        String::new()
    } else {
        scope.me()
    };
    let page = ctx
        .upstream
        .routing()
        .list_waiting_conversations(scope.req(rpb::ListWaitingConversationsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            agent_id,
            team_id: request.team_id,
            channel_account_id: request.channel_account_id,
        }))
        .await?
        .into_inner();
    Ok(pb::ListWaitingConversationsResponse {
        items: items::items(ctx, scope, page.conversations).await?,
        page: page.page,
    })
}

pub async fn list_assigned_conversations(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListAssignedConversationsRequest,
) -> Result<pb::ListAssignedConversationsResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_assigned_conversations(scope.req(rpb::ListAssignedConversationsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            agent_id: whose(scope, request.agent_id),
        }))
        .await?
        .into_inner();
    Ok(pb::ListAssignedConversationsResponse {
        items: items::items(ctx, scope, page.conversations).await?,
        page: page.page,
    })
}

pub async fn list_open_conversations(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListOpenConversationsRequest,
) -> Result<pb::ListOpenConversationsResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_open_conversations(scope.req(rpb::ListOpenConversationsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            agent_id: whose(scope, request.agent_id),
        }))
        .await?
        .into_inner();
    Ok(pb::ListOpenConversationsResponse {
        items: items::items(ctx, scope, page.conversations).await?,
        page: page.page,
    })
}

pub async fn list_expired_conversations(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListExpiredConversationsRequest,
) -> Result<pb::ListExpiredConversationsResponse, Status> {
    let agent_id = if request.all_agents {
        scope.caller.require_supervisor("all_agents")?;
        String::new()
    } else {
        whose(scope, request.agent_id)
    };
    let page = ctx
        .upstream
        .routing()
        .list_expired_conversations(scope.req(rpb::ListExpiredConversationsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            agent_id,
        }))
        .await?
        .into_inner();
    Ok(pb::ListExpiredConversationsResponse {
        items: items::items(ctx, scope, page.conversations).await?,
        page: page.page,
    })
}

pub async fn list_conversations(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListConversationsRequest,
) -> Result<pb::ListConversationsResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_conversations(scope.req(rpb::ListConversationsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            states: request.states,
            assignee_agent_id: request.assignee_agent_id,
            team_id: request.team_id,
            channel_account_id: request.channel_account_id,
            contact_id: request.contact_id,
            campaign_id: request.campaign_id,
            create_time_range: request.create_time_range,
        }))
        .await?
        .into_inner();
    Ok(pb::ListConversationsResponse {
        items: items::items(ctx, scope, page.conversations).await?,
        page: page.page,
    })
}

pub async fn get_conversation(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetConversationRequest,
) -> Result<pb::GetConversationResponse, Status> {
    let conversation = ctx
        .upstream
        .routing()
        .get_conversation(scope.req(rpb::GetConversationRequest {
            organization_id: scope.org(),
            conversation_id: request.conversation_id,
            actor_agent_id: scope.me(),
        }))
        .await?
        .into_inner()
        .conversation
        .ok_or_else(|| Status::internal("routing answered no conversation"))?;
    let form_fields = items::form_fields(ctx, scope, &conversation).await?;
    Ok(pb::GetConversationResponse {
        item: items::item(ctx, scope, Some(conversation)).await?,
        form_fields,
    })
}

pub async fn list_contact_conversations(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListContactConversationsRequest,
) -> Result<pb::ListContactConversationsResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_contact_conversations(scope.req(rpb::ListContactConversationsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            contact_id: request.contact_id,
            channel_account_id: request.channel_account_id,
        }))
        .await?
        .into_inner();
    Ok(pb::ListContactConversationsResponse {
        items: items::items(ctx, scope, page.conversations).await?,
        page: page.page,
    })
}
