//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.
//! The trait impl only delegates; each RPC group lives in its own module.

mod config;
pub mod convert;
mod organizations;

use switchboard_proto::routing::v1::{self as pb, routing_service_server::RoutingService};
use tonic::{Request, Response, Status};

use crate::app::Routing;

/// `switchboard.routing.v1.RoutingService`; RPCs not listed here answer UNIMPLEMENTED.
pub struct RoutingGrpc {
    app: Routing,
}

impl RoutingGrpc {
    pub fn new(app: Routing) -> Self {
        Self { app }
    }
}

/// Runs an RPC body and maps its domain error to a status.
macro_rules! rpc {
    ($self:ident, $module:ident :: $method:ident, $request:ident) => {
        $module::$method(&$self.app, $request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    };
}

#[tonic::async_trait]
impl RoutingService for RoutingGrpc {
    // ---- Organizations ----
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        rpc!(self, organizations::create_organization, request)
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        rpc!(self, organizations::get_organization, request)
    }

    // ---- Configuration ----

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationResponse>, Status> {
        rpc!(self, config::update_organization, request)
    }

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::CreateAgentResponse>, Status> {
        rpc!(self, config::create_agent, request)
    }

    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::GetAgentResponse>, Status> {
        rpc!(self, config::get_agent, request)
    }

    async fn lookup_agent(
        &self,
        request: Request<pb::LookupAgentRequest>,
    ) -> Result<Response<pb::LookupAgentResponse>, Status> {
        rpc!(self, config::lookup_agent, request)
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        rpc!(self, config::list_agents, request)
    }

    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> Result<Response<pb::UpdateAgentResponse>, Status> {
        rpc!(self, config::update_agent, request)
    }

    async fn delete_agent(
        &self,
        request: Request<pb::DeleteAgentRequest>,
    ) -> Result<Response<pb::DeleteAgentResponse>, Status> {
        rpc!(self, config::delete_agent, request)
    }

    async fn create_team(
        &self,
        request: Request<pb::CreateTeamRequest>,
    ) -> Result<Response<pb::CreateTeamResponse>, Status> {
        rpc!(self, config::create_team, request)
    }

    async fn get_team(
        &self,
        request: Request<pb::GetTeamRequest>,
    ) -> Result<Response<pb::GetTeamResponse>, Status> {
        rpc!(self, config::get_team, request)
    }

    async fn list_teams(
        &self,
        request: Request<pb::ListTeamsRequest>,
    ) -> Result<Response<pb::ListTeamsResponse>, Status> {
        rpc!(self, config::list_teams, request)
    }

    async fn update_team(
        &self,
        request: Request<pb::UpdateTeamRequest>,
    ) -> Result<Response<pb::UpdateTeamResponse>, Status> {
        rpc!(self, config::update_team, request)
    }

    async fn delete_team(
        &self,
        request: Request<pb::DeleteTeamRequest>,
    ) -> Result<Response<pb::DeleteTeamResponse>, Status> {
        rpc!(self, config::delete_team, request)
    }

    async fn add_team_member(
        &self,
        request: Request<pb::AddTeamMemberRequest>,
    ) -> Result<Response<pb::AddTeamMemberResponse>, Status> {
        rpc!(self, config::add_team_member, request)
    }

    async fn remove_team_member(
        &self,
        request: Request<pb::RemoveTeamMemberRequest>,
    ) -> Result<Response<pb::RemoveTeamMemberResponse>, Status> {
        rpc!(self, config::remove_team_member, request)
    }

    async fn list_team_members(
        &self,
        request: Request<pb::ListTeamMembersRequest>,
    ) -> Result<Response<pb::ListTeamMembersResponse>, Status> {
        rpc!(self, config::list_team_members, request)
    }

    async fn get_channel_account_routing(
        &self,
        request: Request<pb::GetChannelAccountRoutingRequest>,
    ) -> Result<Response<pb::GetChannelAccountRoutingResponse>, Status> {
        rpc!(self, config::get_channel_account_routing, request)
    }

    async fn update_channel_account_routing(
        &self,
        request: Request<pb::UpdateChannelAccountRoutingRequest>,
    ) -> Result<Response<pb::UpdateChannelAccountRoutingResponse>, Status> {
        rpc!(self, config::update_channel_account_routing, request)
    }

    async fn create_campaign(
        &self,
        request: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        rpc!(self, config::create_campaign, request)
    }

    async fn get_campaign(
        &self,
        request: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::GetCampaignResponse>, Status> {
        rpc!(self, config::get_campaign, request)
    }

    async fn list_campaigns(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        rpc!(self, config::list_campaigns, request)
    }

    async fn update_campaign(
        &self,
        request: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::UpdateCampaignResponse>, Status> {
        rpc!(self, config::update_campaign, request)
    }

    async fn delete_campaign(
        &self,
        request: Request<pb::DeleteCampaignRequest>,
    ) -> Result<Response<pb::DeleteCampaignResponse>, Status> {
        rpc!(self, config::delete_campaign, request)
    }

    async fn add_contact_owner(
        &self,
        request: Request<pb::AddContactOwnerRequest>,
    ) -> Result<Response<pb::AddContactOwnerResponse>, Status> {
        rpc!(self, config::add_contact_owner, request)
    }

    async fn remove_contact_owner(
        &self,
        request: Request<pb::RemoveContactOwnerRequest>,
    ) -> Result<Response<pb::RemoveContactOwnerResponse>, Status> {
        rpc!(self, config::remove_contact_owner, request)
    }

    async fn list_contact_owners(
        &self,
        request: Request<pb::ListContactOwnersRequest>,
    ) -> Result<Response<pb::ListContactOwnersResponse>, Status> {
        rpc!(self, config::list_contact_owners, request)
    }
}
