//! Administration of people: my organization, its agents and teams (routing), and the live
//! presence of agents for supervision (presence). Routing checks the roles itself from the
//! actor (the caller); presence knows no roles, so ListAgentPresences is checked here.

use switchboard_proto::{gateway::v1 as pb, presence::v1 as ppb, routing::v1 as rpb};
use tonic::Status;

use super::{Ctx, Scope};

pub async fn get_organization(
    ctx: &Ctx,
    scope: &Scope,
    _request: pb::GetOrganizationRequest,
) -> Result<pb::GetOrganizationResponse, Status> {
    let organization = ctx
        .upstream
        .routing()
        .get_organization(scope.req(rpb::GetOrganizationRequest {
            organization_id: scope.org(),
        }))
        .await?
        .into_inner()
        .organization;
    Ok(pb::GetOrganizationResponse { organization })
}

pub async fn update_organization(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateOrganizationRequest,
) -> Result<pb::UpdateOrganizationResponse, Status> {
    // The id in the message is ignored: it is always my organization.
    let organization = request.organization.map(|mut o| {
        o.id = scope.org();
        o
    });
    let organization = ctx
        .upstream
        .routing()
        .update_organization(scope.req(rpb::UpdateOrganizationRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            organization,
            update_mask: request.update_mask,
        }))
        .await?
        .into_inner()
        .organization;
    Ok(pb::UpdateOrganizationResponse { organization })
}

/// Routing syncs the new agent's profile to presence itself (as it does on every change of
/// capacity, teams or links), so nothing is asked of presence here.
pub async fn create_agent(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CreateAgentRequest,
) -> Result<pb::CreateAgentResponse, Status> {
    let agent = ctx
        .upstream
        .routing()
        .create_agent(scope.req(rpb::CreateAgentRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            agent: request.agent,
            team_ids: request.team_ids,
        }))
        .await?
        .into_inner()
        .agent;
    Ok(pb::CreateAgentResponse { agent })
}

pub async fn get_agent(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetAgentRequest,
) -> Result<pb::GetAgentResponse, Status> {
    let agent = ctx
        .upstream
        .routing()
        .get_agent(scope.req(rpb::GetAgentRequest {
            organization_id: scope.org(),
            agent_id: request.agent_id,
        }))
        .await?
        .into_inner()
        .agent;
    Ok(pb::GetAgentResponse { agent })
}

pub async fn list_agents(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListAgentsRequest,
) -> Result<pb::ListAgentsResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_agents(scope.req(rpb::ListAgentsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            team_id: request.team_id,
            roles: request.roles,
            include_disabled: request.include_disabled,
            query: request.query,
        }))
        .await?
        .into_inner();
    Ok(pb::ListAgentsResponse {
        agents: page.agents,
        page: page.page,
    })
}

/// Routing enforces the rule: admins change anything, an agent only its own display_name.
pub async fn update_agent(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateAgentRequest,
) -> Result<pb::UpdateAgentResponse, Status> {
    let agent = ctx
        .upstream
        .routing()
        .update_agent(scope.req(rpb::UpdateAgentRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            agent: request.agent,
            update_mask: request.update_mask,
        }))
        .await?
        .into_inner()
        .agent;
    Ok(pb::UpdateAgentResponse { agent })
}

pub async fn delete_agent(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::DeleteAgentRequest,
) -> Result<pb::DeleteAgentResponse, Status> {
    let agent = ctx
        .upstream
        .routing()
        .delete_agent(scope.req(rpb::DeleteAgentRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            agent_id: request.agent_id,
        }))
        .await?
        .into_inner()
        .agent;
    Ok(pb::DeleteAgentResponse { agent })
}

/// Operator or admin, checked here: the presence service has no roles.
pub async fn list_agent_presences(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListAgentPresencesRequest,
) -> Result<pb::ListAgentPresencesResponse, Status> {
    scope.caller.require_supervisor("ListAgentPresences")?;
    let page = ctx
        .upstream
        .presence()
        .list_agent_presences(scope.req(ppb::ListAgentPresencesRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            team_id: request.team_id,
            statuses: request.statuses,
            agent_ids: Vec::new(),
        }))
        .await?
        .into_inner();
    Ok(pb::ListAgentPresencesResponse {
        presences: page.presences,
        page: page.page,
    })
}

pub async fn create_team(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CreateTeamRequest,
) -> Result<pb::CreateTeamResponse, Status> {
    let team = ctx
        .upstream
        .routing()
        .create_team(scope.req(rpb::CreateTeamRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            team: request.team,
            member_agent_ids: request.member_agent_ids,
        }))
        .await?
        .into_inner()
        .team;
    Ok(pb::CreateTeamResponse { team })
}

pub async fn get_team(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetTeamRequest,
) -> Result<pb::GetTeamResponse, Status> {
    let team = ctx
        .upstream
        .routing()
        .get_team(scope.req(rpb::GetTeamRequest {
            organization_id: scope.org(),
            team_id: request.team_id,
        }))
        .await?
        .into_inner()
        .team;
    Ok(pb::GetTeamResponse { team })
}

pub async fn list_teams(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListTeamsRequest,
) -> Result<pb::ListTeamsResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_teams(scope.req(rpb::ListTeamsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            channel_account_id: request.channel_account_id,
        }))
        .await?
        .into_inner();
    Ok(pb::ListTeamsResponse {
        teams: page.teams,
        page: page.page,
    })
}

pub async fn update_team(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateTeamRequest,
) -> Result<pb::UpdateTeamResponse, Status> {
    let team = ctx
        .upstream
        .routing()
        .update_team(scope.req(rpb::UpdateTeamRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            team: request.team,
            update_mask: request.update_mask,
        }))
        .await?
        .into_inner()
        .team;
    Ok(pb::UpdateTeamResponse { team })
}

pub async fn delete_team(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::DeleteTeamRequest,
) -> Result<pb::DeleteTeamResponse, Status> {
    ctx.upstream
        .routing()
        .delete_team(scope.req(rpb::DeleteTeamRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            team_id: request.team_id,
        }))
        .await?;
    Ok(pb::DeleteTeamResponse {})
}

pub async fn add_team_member(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::AddTeamMemberRequest,
) -> Result<pb::AddTeamMemberResponse, Status> {
    let membership = ctx
        .upstream
        .routing()
        .add_team_member(scope.req(rpb::AddTeamMemberRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            team_id: request.team_id,
            agent_id: request.agent_id,
        }))
        .await?
        .into_inner()
        .membership;
    Ok(pb::AddTeamMemberResponse { membership })
}

pub async fn remove_team_member(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::RemoveTeamMemberRequest,
) -> Result<pb::RemoveTeamMemberResponse, Status> {
    ctx.upstream
        .routing()
        .remove_team_member(scope.req(rpb::RemoveTeamMemberRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            team_id: request.team_id,
            agent_id: request.agent_id,
        }))
        .await?;
    Ok(pb::RemoveTeamMemberResponse {})
}

pub async fn list_team_members(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListTeamMembersRequest,
) -> Result<pb::ListTeamMembersResponse, Status> {
    let page = ctx
        .upstream
        .routing()
        .list_team_members(scope.req(rpb::ListTeamMembersRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            team_id: request.team_id,
            agent_id: request.agent_id,
        }))
        .await?
        .into_inner();
    Ok(pb::ListTeamMembersResponse {
        memberships: page.memberships,
        page: page.page,
    })
}
