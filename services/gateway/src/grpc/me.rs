//! Me: who I am, my status, my heartbeat. The agent is always the caller.

use switchboard_proto::{
    channel::v1 as cpb, gateway::v1 as pb, presence::v1 as ppb, routing::v1 as rpb,
};
use tonic::Status;

use super::{Ctx, Scope};
use crate::upstream::every_page;

pub async fn get_me(
    ctx: &Ctx,
    scope: &Scope,
    _request: pb::GetMeRequest,
) -> Result<pb::GetMeResponse, Status> {
    let up = &ctx.upstream;
    let (agent, organization, presence, channel_account_ids) = tokio::try_join!(
        async {
            up.routing()
                .get_agent(scope.req(rpb::GetAgentRequest {
                    organization_id: scope.org(),
                    agent_id: scope.me(),
                }))
                .await
                .map(|r| r.into_inner().agent)
        },
        async {
            up.routing()
                .get_organization(scope.req(rpb::GetOrganizationRequest {
                    organization_id: scope.org(),
                }))
                .await
                .map(|r| r.into_inner().organization)
        },
        async {
            up.presence()
                .get_agent_presence(scope.req(ppb::GetAgentPresenceRequest {
                    organization_id: scope.org(),
                    agent_id: scope.me(),
                }))
                .await
                .map(|r| r.into_inner().presence)
        },
        my_channel_accounts(ctx, scope),
    )?;
    Ok(pb::GetMeResponse {
        agent,
        organization,
        presence,
        channel_account_ids,
    })
}

/// The numbers I serve: linked to me or to one of my teams.
async fn my_channel_accounts(ctx: &Ctx, scope: &Scope) -> Result<Vec<String>, Status> {
    let up = &ctx.upstream;
    let accounts = every_page(|page| async move {
        let r = up
            .channel()
            .list_channel_accounts(scope.req(cpb::ListChannelAccountsRequest {
                organization_id: scope.org(),
                page: Some(page),
                include_disabled: false,
            }))
            .await?
            .into_inner();
        Ok((r.channel_accounts, r.page))
    })
    .await?;
    let accounts: Vec<String> = accounts.into_iter().map(|a| a.id).collect();
    let me = &scope.caller.agent;
    let routings = futures::future::try_join_all(accounts.iter().map(|id| async move {
        up.routing()
            .get_channel_account_routing(scope.req(rpb::GetChannelAccountRoutingRequest {
                organization_id: scope.org(),
                channel_account_id: id.clone(),
            }))
            .await
            .map(|r| r.into_inner().routing.unwrap_or_default())
    }))
    .await?;
    Ok(routings
        .into_iter()
        .filter(|r| {
            r.linked_agent_ids.contains(&me.id)
                || r.linked_team_ids.iter().any(|t| me.team_ids.contains(t))
        })
        .map(|r| r.channel_account_id)
        .collect())
}

pub async fn set_my_status(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::SetMyStatusRequest,
) -> Result<pb::SetMyStatusResponse, Status> {
    let presence = ctx
        .upstream
        .presence()
        .set_status(scope.req(ppb::SetStatusRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            agent_id: scope.me(),
            status: request.status,
            reason: request.reason,
        }))
        .await?
        .into_inner()
        .presence;
    Ok(pb::SetMyStatusResponse { presence })
}

pub async fn heartbeat(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::HeartbeatRequest,
) -> Result<pb::HeartbeatResponse, Status> {
    let beat = ctx
        .upstream
        .presence()
        .heartbeat(scope.req(ppb::HeartbeatRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            agent_id: scope.me(),
            status: request.status,
            status_reason: request.status_reason,
        }))
        .await?
        .into_inner();
    Ok(pb::HeartbeatResponse {
        presence: beat.presence,
        heartbeat_interval: beat.heartbeat_interval,
    })
}
