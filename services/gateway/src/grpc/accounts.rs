//! Administration of channel accounts (the account lives in channel, its routing in
//! routing), campaigns (definition in routing, sends and sent messages in channel), the
//! transfer report (routing) and the close policy (ticketing).
//!
//! The internal services check roles from the actor (the caller), except where a request has
//! no actor: ListCampaignMessages is checked here. DeleteChannelAccount spans both services and
//! is checked here first (admin), so nothing changes when it is refused.

use switchboard_proto::{
    channel::v1 as cpb, common::v1::Role, gateway::v1 as pb, routing::v1 as rpb,
    ticketing::v1 as tpb,
};
use tonic::Status;

use super::{Ctx, Scope};

pub async fn create_channel_account(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CreateChannelAccountRequest,
) -> Result<pb::CreateChannelAccountResponse, Status> {
    let channel_account = ctx
        .upstream
        .channel()
        .create_channel_account(scope.req(cpb::CreateChannelAccountRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            channel_account: request.channel_account,
        }))
        .await?
        .into_inner()
        .channel_account;
    Ok(pb::CreateChannelAccountResponse { channel_account })
}

pub async fn get_channel_account(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetChannelAccountRequest,
) -> Result<pb::GetChannelAccountResponse, Status> {
    let channel_account = ctx
        .upstream
        .channel()
        .get_channel_account(scope.req(cpb::GetChannelAccountRequest {
            organization_id: scope.org(),
            channel_account_id: request.channel_account_id,
        }))
        .await?
        .into_inner()
        .channel_account;
    Ok(pb::GetChannelAccountResponse { channel_account })
}

pub async fn list_channel_accounts(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListChannelAccountsRequest,
) -> Result<pb::ListChannelAccountsResponse, Status> {
    let page = ctx
        .upstream
        .channel()
        .list_channel_accounts(scope.req(cpb::ListChannelAccountsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            include_disabled: request.include_disabled,
        }))
        .await?
        .into_inner();
    Ok(pb::ListChannelAccountsResponse {
        channel_accounts: page.channel_accounts,
        page: page.page,
    })
}

pub async fn update_channel_account(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateChannelAccountRequest,
) -> Result<pb::UpdateChannelAccountResponse, Status> {
    let channel_account = ctx
        .upstream
        .channel()
        .update_channel_account(scope.req(cpb::UpdateChannelAccountRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            channel_account: request.channel_account,
            update_mask: request.update_mask,
        }))
        .await?
        .into_inner()
        .channel_account;
    Ok(pb::UpdateChannelAccountResponse { channel_account })
}

/// Removes a number (admin). The channel service refuses while conversations are active
/// (IN_USE) and publishes `channel.account.deleted`; routing's consumer of it drops the
/// number's links and default target, whoever removed it.
pub async fn delete_channel_account(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::DeleteChannelAccountRequest,
) -> Result<pb::DeleteChannelAccountResponse, Status> {
    if scope.caller.role() != Role::Admin {
        return Err(Status::permission_denied(
            "DeleteChannelAccount needs the admin role",
        ));
    }
    ctx.upstream
        .channel()
        .delete_channel_account(scope.req(cpb::DeleteChannelAccountRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            channel_account_id: request.channel_account_id,
        }))
        .await?;
    Ok(pb::DeleteChannelAccountResponse {})
}

/// The routing of an account of my organization: NOT_FOUND when channel does not know the
/// account here (routing alone answers an empty configuration for any id).
pub async fn get_channel_account_routing(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetChannelAccountRoutingRequest,
) -> Result<pb::GetChannelAccountRoutingResponse, Status> {
    let (mut channel, mut routing) = (ctx.upstream.channel(), ctx.upstream.routing());
    let (_, routing) = tokio::try_join!(
        channel.get_channel_account(scope.req(cpb::GetChannelAccountRequest {
            organization_id: scope.org(),
            channel_account_id: request.channel_account_id.clone(),
        })),
        routing.get_channel_account_routing(scope.req(rpb::GetChannelAccountRoutingRequest {
            organization_id: scope.org(),
            channel_account_id: request.channel_account_id.clone(),
        })),
    )?;
    Ok(pb::GetChannelAccountRoutingResponse {
        routing: routing.into_inner().routing,
    })
}

pub async fn update_channel_account_routing(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateChannelAccountRoutingRequest,
) -> Result<pb::UpdateChannelAccountRoutingResponse, Status> {
    let routing = ctx
        .upstream
        .routing()
        .update_channel_account_routing(scope.req(rpb::UpdateChannelAccountRoutingRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            routing: request.routing,
        }))
        .await?
        .into_inner()
        .routing;
    Ok(pb::UpdateChannelAccountRoutingResponse { routing })
}

pub async fn create_campaign(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CreateCampaignRequest,
) -> Result<pb::CreateCampaignResponse, Status> {
    let campaign = ctx
        .upstream
        .routing()
        .create_campaign(scope.req(rpb::CreateCampaignRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            campaign: request.campaign,
        }))
        .await?
        .into_inner()
        .campaign;
    Ok(pb::CreateCampaignResponse { campaign })
}

pub async fn get_campaign(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetCampaignRequest,
) -> Result<pb::GetCampaignResponse, Status> {
    let campaign = ctx
        .upstream
        .routing()
        .get_campaign(scope.req(rpb::GetCampaignRequest {
            organization_id: scope.org(),
            campaign_id: request.campaign_id,
        }))
        .await?
        .into_inner()
        .campaign;
    Ok(pb::GetCampaignResponse { campaign })
}

pub async fn list_campaigns(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListCampaignsRequest,
) -> Result<pb::ListCampaignsResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_campaigns(scope.req(rpb::ListCampaignsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            channel_account_id: request.channel_account_id,
            include_archived: request.include_archived,
        }))
        .await?
        .into_inner();
    Ok(pb::ListCampaignsResponse {
        campaigns: page.campaigns,
        page: page.page,
    })
}

pub async fn update_campaign(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateCampaignRequest,
) -> Result<pb::UpdateCampaignResponse, Status> {
    let campaign = ctx
        .upstream
        .routing()
        .update_campaign(scope.req(rpb::UpdateCampaignRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            campaign: request.campaign,
            update_mask: request.update_mask,
        }))
        .await?
        .into_inner()
        .campaign;
    Ok(pb::UpdateCampaignResponse { campaign })
}

pub async fn delete_campaign(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::DeleteCampaignRequest,
) -> Result<pb::DeleteCampaignResponse, Status> {
    let campaign = ctx
        .upstream
        .routing()
        .delete_campaign(scope.req(rpb::DeleteCampaignRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            campaign_id: request.campaign_id,
        }))
        .await?
        .into_inner()
        .campaign;
    Ok(pb::DeleteCampaignResponse { campaign })
}

pub async fn send_campaign(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::SendCampaignRequest,
) -> Result<pb::SendCampaignResponse, Status> {
    let sent = ctx
        .upstream
        .channel()
        .send_campaign(scope.req(cpb::SendCampaignRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            campaign_id: request.campaign_id,
            template: request.template,
            recipients: request.recipients,
        }))
        .await?
        .into_inner();
    Ok(pb::SendCampaignResponse {
        results: sent.results,
        accepted_count: sent.accepted_count,
        rejected_count: sent.rejected_count,
    })
}

/// Operator or admin, checked here: channel's request carries no actor.
pub async fn list_campaign_messages(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListCampaignMessagesRequest,
) -> Result<pb::ListCampaignMessagesResponse, Status> {
    scope.caller.require_supervisor("ListCampaignMessages")?;
    let page = ctx
        .upstream
        .channel()
        .list_campaign_messages(scope.req(cpb::ListCampaignMessagesRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            campaign_id: request.campaign_id,
            statuses: request.statuses,
        }))
        .await?
        .into_inner();
    Ok(pb::ListCampaignMessagesResponse {
        messages: page.messages,
        page: page.page,
    })
}

pub async fn get_transfer_report(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetTransferReportRequest,
) -> Result<pb::GetTransferReportResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .get_transfer_report(scope.req(rpb::GetTransferReportRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            actor_agent_id: scope.me(),
            time_range: request.time_range,
            team_id: request.team_id,
            agent_id: request.agent_id,
        }))
        .await?
        .into_inner();
    Ok(pb::GetTransferReportResponse {
        rows: page.rows,
        page: page.page,
    })
}

pub async fn get_close_policy(
    ctx: &Ctx,
    scope: &Scope,
    _request: pb::GetClosePolicyRequest,
) -> Result<pb::GetClosePolicyResponse, Status> {
    let policy = ctx
        .upstream
        .ticketing()
        .get_close_policy(scope.req(tpb::GetClosePolicyRequest {
            organization_id: scope.org(),
        }))
        .await?
        .into_inner()
        .policy;
    Ok(pb::GetClosePolicyResponse { policy })
}

pub async fn update_close_policy(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateClosePolicyRequest,
) -> Result<pb::UpdateClosePolicyResponse, Status> {
    let policy = ctx
        .upstream
        .ticketing()
        .update_close_policy(scope.req(tpb::UpdateClosePolicyRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            policy: request.policy,
        }))
        .await?
        .into_inner()
        .policy;
    Ok(pb::UpdateClosePolicyResponse { policy })
}
