//! people RPCs.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

pub async fn get_organization(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetOrganizationRequest,
) -> Result<pb::GetOrganizationResponse, Status> {
    Err(Status::unimplemented("GetOrganization"))
}

pub async fn update_organization(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateOrganizationRequest,
) -> Result<pb::UpdateOrganizationResponse, Status> {
    Err(Status::unimplemented("UpdateOrganization"))
}

pub async fn create_agent(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::CreateAgentRequest,
) -> Result<pb::CreateAgentResponse, Status> {
    Err(Status::unimplemented("CreateAgent"))
}

pub async fn get_agent(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetAgentRequest,
) -> Result<pb::GetAgentResponse, Status> {
    Err(Status::unimplemented("GetAgent"))
}

pub async fn list_agents(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListAgentsRequest,
) -> Result<pb::ListAgentsResponse, Status> {
    Err(Status::unimplemented("ListAgents"))
}

pub async fn update_agent(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateAgentRequest,
) -> Result<pb::UpdateAgentResponse, Status> {
    Err(Status::unimplemented("UpdateAgent"))
}

pub async fn delete_agent(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::DeleteAgentRequest,
) -> Result<pb::DeleteAgentResponse, Status> {
    Err(Status::unimplemented("DeleteAgent"))
}

pub async fn list_agent_presences(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListAgentPresencesRequest,
) -> Result<pb::ListAgentPresencesResponse, Status> {
    Err(Status::unimplemented("ListAgentPresences"))
}

pub async fn create_team(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::CreateTeamRequest,
) -> Result<pb::CreateTeamResponse, Status> {
    Err(Status::unimplemented("CreateTeam"))
}

pub async fn get_team(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetTeamRequest,
) -> Result<pb::GetTeamResponse, Status> {
    Err(Status::unimplemented("GetTeam"))
}

pub async fn list_teams(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListTeamsRequest,
) -> Result<pb::ListTeamsResponse, Status> {
    Err(Status::unimplemented("ListTeams"))
}

pub async fn update_team(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateTeamRequest,
) -> Result<pb::UpdateTeamResponse, Status> {
    Err(Status::unimplemented("UpdateTeam"))
}

pub async fn delete_team(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::DeleteTeamRequest,
) -> Result<pb::DeleteTeamResponse, Status> {
    Err(Status::unimplemented("DeleteTeam"))
}

pub async fn add_team_member(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::AddTeamMemberRequest,
) -> Result<pb::AddTeamMemberResponse, Status> {
    Err(Status::unimplemented("AddTeamMember"))
}

pub async fn remove_team_member(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::RemoveTeamMemberRequest,
) -> Result<pb::RemoveTeamMemberResponse, Status> {
    Err(Status::unimplemented("RemoveTeamMember"))
}

pub async fn list_team_members(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListTeamMembersRequest,
) -> Result<pb::ListTeamMembersResponse, Status> {
    Err(Status::unimplemented("ListTeamMembers"))
}
