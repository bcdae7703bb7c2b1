//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.
//! The trait impl only delegates; each resource's RPCs live in their own module, with the field
//! helpers they share in `fields` and the common conversions in `convert`.

pub(crate) mod agents;
mod automations;
mod campaigns;
mod channel_routing;
pub(crate) mod conversations;
pub mod convert;
mod fields;
mod organizations;
mod owners;
mod teams;
pub(crate) mod work_items;

use switchboard_proto::routing::v1::{self as pb, routing_service_server::RoutingService};
use tonic::{Request, Response, Status};

use switchboard_runtime::{idempotency::calls::Calls, replay};

use crate::app::Routing;

/// `switchboard.routing.v1.RoutingService`; RPCs not listed here answer UNIMPLEMENTED.
pub struct RoutingGrpc {
    app: Routing,
    calls: Calls,
}

impl RoutingGrpc {
    pub fn new(app: Routing, calls: Calls) -> Self {
        Self { app, calls }
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
        replay!(
            self,
            organizations::create_organization,
            request,
            "CreateOrganization"
        )
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        rpc!(self, organizations::get_organization, request)
    }

    // ---- Conversations (conversations.rs) ----

    async fn start_conversation(
        &self,
        request: Request<pb::StartConversationRequest>,
    ) -> Result<Response<pb::StartConversationResponse>, Status> {
        replay!(
            self,
            conversations::start_conversation,
            request,
            "StartConversation"
        )
    }

    async fn record_customer_message(
        &self,
        request: Request<pb::RecordCustomerMessageRequest>,
    ) -> Result<Response<pb::RecordCustomerMessageResponse>, Status> {
        replay!(
            self,
            conversations::record_customer_message,
            request,
            "RecordCustomerMessage"
        )
    }

    async fn record_agent_reply(
        &self,
        request: Request<pb::RecordAgentReplyRequest>,
    ) -> Result<Response<pb::RecordAgentReplyResponse>, Status> {
        replay!(
            self,
            conversations::record_agent_reply,
            request,
            "RecordAgentReply"
        )
    }

    async fn get_conversation(
        &self,
        request: Request<pb::GetConversationRequest>,
    ) -> Result<Response<pb::GetConversationResponse>, Status> {
        rpc!(self, conversations::get_conversation, request)
    }

    async fn list_conversations(
        &self,
        request: Request<pb::ListConversationsRequest>,
    ) -> Result<Response<pb::ListConversationsResponse>, Status> {
        rpc!(self, conversations::list_conversations, request)
    }

    async fn list_assigned_conversations(
        &self,
        request: Request<pb::ListAssignedConversationsRequest>,
    ) -> Result<Response<pb::ListAssignedConversationsResponse>, Status> {
        rpc!(self, conversations::list_assigned_conversations, request)
    }

    async fn list_open_conversations(
        &self,
        request: Request<pb::ListOpenConversationsRequest>,
    ) -> Result<Response<pb::ListOpenConversationsResponse>, Status> {
        rpc!(self, conversations::list_open_conversations, request)
    }

    async fn list_expired_conversations(
        &self,
        request: Request<pb::ListExpiredConversationsRequest>,
    ) -> Result<Response<pb::ListExpiredConversationsResponse>, Status> {
        rpc!(self, conversations::list_expired_conversations, request)
    }

    async fn list_waiting_conversations(
        &self,
        request: Request<pb::ListWaitingConversationsRequest>,
    ) -> Result<Response<pb::ListWaitingConversationsResponse>, Status> {
        rpc!(self, conversations::list_waiting_conversations, request)
    }

    async fn get_inbox_counts(
        &self,
        request: Request<pb::GetInboxCountsRequest>,
    ) -> Result<Response<pb::GetInboxCountsResponse>, Status> {
        rpc!(self, conversations::get_inbox_counts, request)
    }

    async fn list_contact_conversations(
        &self,
        request: Request<pb::ListContactConversationsRequest>,
    ) -> Result<Response<pb::ListContactConversationsResponse>, Status> {
        rpc!(self, conversations::list_contact_conversations, request)
    }

    async fn pick_conversation(
        &self,
        request: Request<pb::PickConversationRequest>,
    ) -> Result<Response<pb::PickConversationResponse>, Status> {
        replay!(
            self,
            conversations::pick_conversation,
            request,
            "PickConversation"
        )
    }

    async fn open_conversation(
        &self,
        request: Request<pb::OpenConversationRequest>,
    ) -> Result<Response<pb::OpenConversationResponse>, Status> {
        replay!(
            self,
            conversations::open_conversation,
            request,
            "OpenConversation"
        )
    }

    async fn close_conversation(
        &self,
        request: Request<pb::CloseConversationRequest>,
    ) -> Result<Response<pb::CloseConversationResponse>, Status> {
        replay!(
            self,
            conversations::close_conversation,
            request,
            "CloseConversation"
        )
    }

    async fn finalize_conversation(
        &self,
        request: Request<pb::FinalizeConversationRequest>,
    ) -> Result<Response<pb::FinalizeConversationResponse>, Status> {
        replay!(
            self,
            conversations::finalize_conversation,
            request,
            "FinalizeConversation"
        )
    }

    async fn transfer_conversation(
        &self,
        request: Request<pb::TransferConversationRequest>,
    ) -> Result<Response<pb::TransferConversationResponse>, Status> {
        replay!(
            self,
            conversations::transfer_conversation,
            request,
            "TransferConversation"
        )
    }

    async fn update_conversation_form(
        &self,
        request: Request<pb::UpdateConversationFormRequest>,
    ) -> Result<Response<pb::UpdateConversationFormResponse>, Status> {
        replay!(
            self,
            conversations::update_conversation_form,
            request,
            "UpdateConversationForm"
        )
    }

    async fn list_conversation_transfers(
        &self,
        request: Request<pb::ListConversationTransfersRequest>,
    ) -> Result<Response<pb::ListConversationTransfersResponse>, Status> {
        rpc!(self, conversations::list_conversation_transfers, request)
    }

    async fn get_transfer_report(
        &self,
        request: Request<pb::GetTransferReportRequest>,
    ) -> Result<Response<pb::GetTransferReportResponse>, Status> {
        rpc!(self, conversations::get_transfer_report, request)
    }

    async fn list_conversation_transitions(
        &self,
        request: Request<pb::ListConversationTransitionsRequest>,
    ) -> Result<Response<pb::ListConversationTransitionsResponse>, Status> {
        rpc!(self, conversations::list_conversation_transitions, request)
    }

    async fn explain_routing(
        &self,
        request: Request<pb::ExplainRoutingRequest>,
    ) -> Result<Response<pb::ExplainRoutingResponse>, Status> {
        rpc!(self, conversations::explain_routing, request)
    }

    async fn notify_slot_freed(
        &self,
        request: Request<pb::NotifySlotFreedRequest>,
    ) -> Result<Response<pb::NotifySlotFreedResponse>, Status> {
        replay!(
            self,
            conversations::notify_slot_freed,
            request,
            "NotifySlotFreed"
        )
    }

    async fn notify_agent_offline(
        &self,
        request: Request<pb::NotifyAgentOfflineRequest>,
    ) -> Result<Response<pb::NotifyAgentOfflineResponse>, Status> {
        replay!(
            self,
            conversations::notify_agent_offline,
            request,
            "NotifyAgentOffline"
        )
    }

    // ---- Configuration (organizations.rs, agents.rs, teams.rs, channel_routing.rs,
    // campaigns.rs, owners.rs) ----

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationResponse>, Status> {
        replay!(
            self,
            organizations::update_organization,
            request,
            "UpdateOrganization"
        )
    }

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::CreateAgentResponse>, Status> {
        replay!(self, agents::create_agent, request, "CreateAgent")
    }

    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::GetAgentResponse>, Status> {
        rpc!(self, agents::get_agent, request)
    }

    async fn lookup_agent(
        &self,
        request: Request<pb::LookupAgentRequest>,
    ) -> Result<Response<pb::LookupAgentResponse>, Status> {
        rpc!(self, agents::lookup_agent, request)
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        rpc!(self, agents::list_agents, request)
    }

    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> Result<Response<pb::UpdateAgentResponse>, Status> {
        replay!(self, agents::update_agent, request, "UpdateAgent")
    }

    async fn delete_agent(
        &self,
        request: Request<pb::DeleteAgentRequest>,
    ) -> Result<Response<pb::DeleteAgentResponse>, Status> {
        replay!(self, agents::delete_agent, request, "DeleteAgent")
    }

    async fn create_team(
        &self,
        request: Request<pb::CreateTeamRequest>,
    ) -> Result<Response<pb::CreateTeamResponse>, Status> {
        replay!(self, teams::create_team, request, "CreateTeam")
    }

    async fn get_team(
        &self,
        request: Request<pb::GetTeamRequest>,
    ) -> Result<Response<pb::GetTeamResponse>, Status> {
        rpc!(self, teams::get_team, request)
    }

    async fn list_teams(
        &self,
        request: Request<pb::ListTeamsRequest>,
    ) -> Result<Response<pb::ListTeamsResponse>, Status> {
        rpc!(self, teams::list_teams, request)
    }

    async fn update_team(
        &self,
        request: Request<pb::UpdateTeamRequest>,
    ) -> Result<Response<pb::UpdateTeamResponse>, Status> {
        replay!(self, teams::update_team, request, "UpdateTeam")
    }

    async fn delete_team(
        &self,
        request: Request<pb::DeleteTeamRequest>,
    ) -> Result<Response<pb::DeleteTeamResponse>, Status> {
        replay!(self, teams::delete_team, request, "DeleteTeam")
    }

    async fn add_team_member(
        &self,
        request: Request<pb::AddTeamMemberRequest>,
    ) -> Result<Response<pb::AddTeamMemberResponse>, Status> {
        replay!(self, teams::add_team_member, request, "AddTeamMember")
    }

    async fn remove_team_member(
        &self,
        request: Request<pb::RemoveTeamMemberRequest>,
    ) -> Result<Response<pb::RemoveTeamMemberResponse>, Status> {
        replay!(self, teams::remove_team_member, request, "RemoveTeamMember")
    }

    async fn list_team_members(
        &self,
        request: Request<pb::ListTeamMembersRequest>,
    ) -> Result<Response<pb::ListTeamMembersResponse>, Status> {
        rpc!(self, teams::list_team_members, request)
    }

    async fn get_channel_account_routing(
        &self,
        request: Request<pb::GetChannelAccountRoutingRequest>,
    ) -> Result<Response<pb::GetChannelAccountRoutingResponse>, Status> {
        rpc!(self, channel_routing::get_channel_account_routing, request)
    }

    async fn update_channel_account_routing(
        &self,
        request: Request<pb::UpdateChannelAccountRoutingRequest>,
    ) -> Result<Response<pb::UpdateChannelAccountRoutingResponse>, Status> {
        replay!(
            self,
            channel_routing::update_channel_account_routing,
            request,
            "UpdateChannelAccountRouting"
        )
    }

    async fn create_campaign(
        &self,
        request: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        replay!(self, campaigns::create_campaign, request, "CreateCampaign")
    }

    async fn get_campaign(
        &self,
        request: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::GetCampaignResponse>, Status> {
        rpc!(self, campaigns::get_campaign, request)
    }

    async fn list_campaigns(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        rpc!(self, campaigns::list_campaigns, request)
    }

    async fn update_campaign(
        &self,
        request: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::UpdateCampaignResponse>, Status> {
        replay!(self, campaigns::update_campaign, request, "UpdateCampaign")
    }

    async fn delete_campaign(
        &self,
        request: Request<pb::DeleteCampaignRequest>,
    ) -> Result<Response<pb::DeleteCampaignResponse>, Status> {
        replay!(self, campaigns::delete_campaign, request, "DeleteCampaign")
    }

    async fn add_contact_owner(
        &self,
        request: Request<pb::AddContactOwnerRequest>,
    ) -> Result<Response<pb::AddContactOwnerResponse>, Status> {
        replay!(self, owners::add_contact_owner, request, "AddContactOwner")
    }

    async fn remove_contact_owner(
        &self,
        request: Request<pb::RemoveContactOwnerRequest>,
    ) -> Result<Response<pb::RemoveContactOwnerResponse>, Status> {
        replay!(
            self,
            owners::remove_contact_owner,
            request,
            "RemoveContactOwner"
        )
    }

    async fn list_contact_owners(
        &self,
        request: Request<pb::ListContactOwnersRequest>,
    ) -> Result<Response<pb::ListContactOwnersResponse>, Status> {
        rpc!(self, owners::list_contact_owners, request)
    }

    // ---- Work items (work_items.rs) ----

    async fn route_work_item(
        &self,
        request: Request<pb::RouteWorkItemRequest>,
    ) -> Result<Response<pb::RouteWorkItemResponse>, Status> {
        replay!(self, work_items::route_work_item, request, "RouteWorkItem")
    }

    async fn get_work_item(
        &self,
        request: Request<pb::GetWorkItemRequest>,
    ) -> Result<Response<pb::GetWorkItemResponse>, Status> {
        rpc!(self, work_items::get_work_item, request)
    }

    async fn list_work_items(
        &self,
        request: Request<pb::ListWorkItemsRequest>,
    ) -> Result<Response<pb::ListWorkItemsResponse>, Status> {
        rpc!(self, work_items::list_work_items, request)
    }

    async fn accept_work_item(
        &self,
        request: Request<pb::AcceptWorkItemRequest>,
    ) -> Result<Response<pb::AcceptWorkItemResponse>, Status> {
        replay!(
            self,
            work_items::accept_work_item,
            request,
            "AcceptWorkItem"
        )
    }

    async fn complete_work_item(
        &self,
        request: Request<pb::CompleteWorkItemRequest>,
    ) -> Result<Response<pb::CompleteWorkItemResponse>, Status> {
        replay!(
            self,
            work_items::complete_work_item,
            request,
            "CompleteWorkItem"
        )
    }

    async fn cancel_work_item(
        &self,
        request: Request<pb::CancelWorkItemRequest>,
    ) -> Result<Response<pb::CancelWorkItemResponse>, Status> {
        replay!(
            self,
            work_items::cancel_work_item,
            request,
            "CancelWorkItem"
        )
    }

    // ---- Business hours and automatic messages (automations.rs) ----

    async fn get_business_hours(
        &self,
        request: Request<pb::GetBusinessHoursRequest>,
    ) -> Result<Response<pb::GetBusinessHoursResponse>, Status> {
        rpc!(self, automations::get_business_hours, request)
    }

    async fn update_business_hours(
        &self,
        request: Request<pb::UpdateBusinessHoursRequest>,
    ) -> Result<Response<pb::UpdateBusinessHoursResponse>, Status> {
        replay!(
            self,
            automations::update_business_hours,
            request,
            "UpdateBusinessHours"
        )
    }

    async fn get_automatic_messages(
        &self,
        request: Request<pb::GetAutomaticMessagesRequest>,
    ) -> Result<Response<pb::GetAutomaticMessagesResponse>, Status> {
        rpc!(self, automations::get_automatic_messages, request)
    }

    async fn update_automatic_messages(
        &self,
        request: Request<pb::UpdateAutomaticMessagesRequest>,
    ) -> Result<Response<pb::UpdateAutomaticMessagesResponse>, Status> {
        replay!(
            self,
            automations::update_automatic_messages,
            request,
            "UpdateAutomaticMessages"
        )
    }
}
