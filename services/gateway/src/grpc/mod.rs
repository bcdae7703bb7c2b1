//! `switchboard.gateway.v1.GatewayService`: every RPC authenticates its caller
//! ([`Ctx::enter`]), then its section's module (one per section of the proto) forwards it to
//! the internal services with the caller as actor.

mod accounts;
mod actions;
mod contacts;
mod hours;
mod inbox;
mod integrations;
mod items;
mod live;
mod me;
mod messages;
mod people;
mod reports;
mod supervision;
mod tickets;
mod work_items;

use std::sync::Arc;

use switchboard_proto::gateway::v1::{self as pb, gateway_service_server::GatewayService};
use tonic::{Request, Response, Status};

pub use crate::context::{Ctx, Scope};

/// The gateway's gRPC service.
#[derive(Clone)]
pub struct GatewayGrpc {
    ctx: Arc<Ctx>,
}

impl GatewayGrpc {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl GatewayService for GatewayGrpc {
    async fn stream_inbox_events(
        &self,
        request: Request<pb::StreamInboxEventsRequest>,
    ) -> Result<Response<live::InboxStream>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        live::stream_inbox_events(&self.ctx, scope, message)
            .await
            .map(Response::new)
    }

    async fn get_me(
        &self,
        request: Request<pb::GetMeRequest>,
    ) -> Result<Response<pb::GetMeResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        me::get_me(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn set_my_status(
        &self,
        request: Request<pb::SetMyStatusRequest>,
    ) -> Result<Response<pb::SetMyStatusResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        me::set_my_status(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        me::heartbeat(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_inbox_counts(
        &self,
        request: Request<pb::GetInboxCountsRequest>,
    ) -> Result<Response<pb::GetInboxCountsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        inbox::get_inbox_counts(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_waiting_conversations(
        &self,
        request: Request<pb::ListWaitingConversationsRequest>,
    ) -> Result<Response<pb::ListWaitingConversationsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        inbox::list_waiting_conversations(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_assigned_conversations(
        &self,
        request: Request<pb::ListAssignedConversationsRequest>,
    ) -> Result<Response<pb::ListAssignedConversationsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        inbox::list_assigned_conversations(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_open_conversations(
        &self,
        request: Request<pb::ListOpenConversationsRequest>,
    ) -> Result<Response<pb::ListOpenConversationsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        inbox::list_open_conversations(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_expired_conversations(
        &self,
        request: Request<pb::ListExpiredConversationsRequest>,
    ) -> Result<Response<pb::ListExpiredConversationsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        inbox::list_expired_conversations(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_conversations(
        &self,
        request: Request<pb::ListConversationsRequest>,
    ) -> Result<Response<pb::ListConversationsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        inbox::list_conversations(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_conversation(
        &self,
        request: Request<pb::GetConversationRequest>,
    ) -> Result<Response<pb::GetConversationResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        inbox::get_conversation(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_contact_conversations(
        &self,
        request: Request<pb::ListContactConversationsRequest>,
    ) -> Result<Response<pb::ListContactConversationsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        inbox::list_contact_conversations(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn pick_conversation(
        &self,
        request: Request<pb::PickConversationRequest>,
    ) -> Result<Response<pb::PickConversationResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::pick_conversation(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn open_conversation(
        &self,
        request: Request<pb::OpenConversationRequest>,
    ) -> Result<Response<pb::OpenConversationResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::open_conversation(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn close_conversation(
        &self,
        request: Request<pb::CloseConversationRequest>,
    ) -> Result<Response<pb::CloseConversationResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::close_conversation(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn finalize_conversation(
        &self,
        request: Request<pb::FinalizeConversationRequest>,
    ) -> Result<Response<pb::FinalizeConversationResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::finalize_conversation(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn transfer_conversation(
        &self,
        request: Request<pb::TransferConversationRequest>,
    ) -> Result<Response<pb::TransferConversationResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::transfer_conversation(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_conversation_form(
        &self,
        request: Request<pb::UpdateConversationFormRequest>,
    ) -> Result<Response<pb::UpdateConversationFormResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::update_conversation_form(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_conversation_transfers(
        &self,
        request: Request<pb::ListConversationTransfersRequest>,
    ) -> Result<Response<pb::ListConversationTransfersResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::list_conversation_transfers(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_conversation_transitions(
        &self,
        request: Request<pb::ListConversationTransitionsRequest>,
    ) -> Result<Response<pb::ListConversationTransitionsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::list_conversation_transitions(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn explain_routing(
        &self,
        request: Request<pb::ExplainRoutingRequest>,
    ) -> Result<Response<pb::ExplainRoutingResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        actions::explain_routing(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_conversation_messages(
        &self,
        request: Request<pb::ListConversationMessagesRequest>,
    ) -> Result<Response<pb::ListConversationMessagesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::list_conversation_messages(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_contact_messages(
        &self,
        request: Request<pb::ListContactMessagesRequest>,
    ) -> Result<Response<pb::ListContactMessagesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::list_contact_messages(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_conversation_window(
        &self,
        request: Request<pb::GetConversationWindowRequest>,
    ) -> Result<Response<pb::GetConversationWindowResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::get_conversation_window(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn send_text_message(
        &self,
        request: Request<pb::SendTextMessageRequest>,
    ) -> Result<Response<pb::SendTextMessageResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::send_text_message(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn send_media_message(
        &self,
        request: Request<pb::SendMediaMessageRequest>,
    ) -> Result<Response<pb::SendMediaMessageResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::send_media_message(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn send_reaction(
        &self,
        request: Request<pb::SendReactionRequest>,
    ) -> Result<Response<pb::SendReactionResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::send_reaction(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn send_template_message(
        &self,
        request: Request<pb::SendTemplateMessageRequest>,
    ) -> Result<Response<pb::SendTemplateMessageResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::send_template_message(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn mark_message_read(
        &self,
        request: Request<pb::MarkMessageReadRequest>,
    ) -> Result<Response<pb::MarkMessageReadResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::mark_message_read(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn upload_media(
        &self,
        request: Request<pb::UploadMediaRequest>,
    ) -> Result<Response<pb::UploadMediaResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::upload_media(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_media_download_url(
        &self,
        request: Request<pb::GetMediaDownloadUrlRequest>,
    ) -> Result<Response<pb::GetMediaDownloadUrlResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::get_media_download_url(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_templates(
        &self,
        request: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::list_templates(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn sync_templates(
        &self,
        request: Request<pb::SyncTemplatesRequest>,
    ) -> Result<Response<pb::SyncTemplatesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        messages::sync_templates(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_contact(
        &self,
        request: Request<pb::GetContactRequest>,
    ) -> Result<Response<pb::GetContactResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        contacts::get_contact(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_contacts(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        contacts::list_contacts(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn create_contact(
        &self,
        request: Request<pb::CreateContactRequest>,
    ) -> Result<Response<pb::CreateContactResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        contacts::create_contact(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_contact(
        &self,
        request: Request<pb::UpdateContactRequest>,
    ) -> Result<Response<pb::UpdateContactResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        contacts::update_contact(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn add_contact_owner(
        &self,
        request: Request<pb::AddContactOwnerRequest>,
    ) -> Result<Response<pb::AddContactOwnerResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        contacts::add_contact_owner(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn remove_contact_owner(
        &self,
        request: Request<pb::RemoveContactOwnerRequest>,
    ) -> Result<Response<pb::RemoveContactOwnerResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        contacts::remove_contact_owner(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::CreateTicketResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::create_ticket(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::GetTicketResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::get_ticket(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::list_tickets(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::UpdateTicketResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::update_ticket(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn add_ticket_comment(
        &self,
        request: Request<pb::AddTicketCommentRequest>,
    ) -> Result<Response<pb::AddTicketCommentResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::add_ticket_comment(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_ticket_actions(
        &self,
        request: Request<pb::ListTicketActionsRequest>,
    ) -> Result<Response<pb::ListTicketActionsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::list_ticket_actions(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn link_conversation_ticket(
        &self,
        request: Request<pb::LinkConversationTicketRequest>,
    ) -> Result<Response<pb::LinkConversationTicketResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::link_conversation_ticket(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn unlink_conversation_ticket(
        &self,
        request: Request<pb::UnlinkConversationTicketRequest>,
    ) -> Result<Response<pb::UnlinkConversationTicketResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::unlink_conversation_ticket(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_ticket_links(
        &self,
        request: Request<pb::ListTicketLinksRequest>,
    ) -> Result<Response<pb::ListTicketLinksResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        tickets::list_ticket_links(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_work_items(
        &self,
        request: Request<pb::ListWorkItemsRequest>,
    ) -> Result<Response<pb::ListWorkItemsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        work_items::list_work_items(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn accept_work_item(
        &self,
        request: Request<pb::AcceptWorkItemRequest>,
    ) -> Result<Response<pb::AcceptWorkItemResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        work_items::accept_work_item(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn complete_work_item(
        &self,
        request: Request<pb::CompleteWorkItemRequest>,
    ) -> Result<Response<pb::CompleteWorkItemResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        work_items::complete_work_item(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::get_organization(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::update_organization(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::CreateAgentResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::create_agent(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::GetAgentResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::get_agent(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::list_agents(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> Result<Response<pb::UpdateAgentResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::update_agent(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn delete_agent(
        &self,
        request: Request<pb::DeleteAgentRequest>,
    ) -> Result<Response<pb::DeleteAgentResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::delete_agent(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_agent_presences(
        &self,
        request: Request<pb::ListAgentPresencesRequest>,
    ) -> Result<Response<pb::ListAgentPresencesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::list_agent_presences(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn create_team(
        &self,
        request: Request<pb::CreateTeamRequest>,
    ) -> Result<Response<pb::CreateTeamResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::create_team(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_team(
        &self,
        request: Request<pb::GetTeamRequest>,
    ) -> Result<Response<pb::GetTeamResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::get_team(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_teams(
        &self,
        request: Request<pb::ListTeamsRequest>,
    ) -> Result<Response<pb::ListTeamsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::list_teams(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_team(
        &self,
        request: Request<pb::UpdateTeamRequest>,
    ) -> Result<Response<pb::UpdateTeamResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::update_team(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn delete_team(
        &self,
        request: Request<pb::DeleteTeamRequest>,
    ) -> Result<Response<pb::DeleteTeamResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::delete_team(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn add_team_member(
        &self,
        request: Request<pb::AddTeamMemberRequest>,
    ) -> Result<Response<pb::AddTeamMemberResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::add_team_member(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn remove_team_member(
        &self,
        request: Request<pb::RemoveTeamMemberRequest>,
    ) -> Result<Response<pb::RemoveTeamMemberResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::remove_team_member(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_team_members(
        &self,
        request: Request<pb::ListTeamMembersRequest>,
    ) -> Result<Response<pb::ListTeamMembersResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        people::list_team_members(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn create_channel_account(
        &self,
        request: Request<pb::CreateChannelAccountRequest>,
    ) -> Result<Response<pb::CreateChannelAccountResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::create_channel_account(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_channel_account(
        &self,
        request: Request<pb::GetChannelAccountRequest>,
    ) -> Result<Response<pb::GetChannelAccountResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::get_channel_account(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_channel_accounts(
        &self,
        request: Request<pb::ListChannelAccountsRequest>,
    ) -> Result<Response<pb::ListChannelAccountsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::list_channel_accounts(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_channel_account(
        &self,
        request: Request<pb::UpdateChannelAccountRequest>,
    ) -> Result<Response<pb::UpdateChannelAccountResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::update_channel_account(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn delete_channel_account(
        &self,
        request: Request<pb::DeleteChannelAccountRequest>,
    ) -> Result<Response<pb::DeleteChannelAccountResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::delete_channel_account(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_channel_account_routing(
        &self,
        request: Request<pb::GetChannelAccountRoutingRequest>,
    ) -> Result<Response<pb::GetChannelAccountRoutingResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::get_channel_account_routing(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_channel_account_routing(
        &self,
        request: Request<pb::UpdateChannelAccountRoutingRequest>,
    ) -> Result<Response<pb::UpdateChannelAccountRoutingResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::update_channel_account_routing(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn create_campaign(
        &self,
        request: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::create_campaign(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_campaign(
        &self,
        request: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::GetCampaignResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::get_campaign(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_campaigns(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::list_campaigns(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_campaign(
        &self,
        request: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::UpdateCampaignResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::update_campaign(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn delete_campaign(
        &self,
        request: Request<pb::DeleteCampaignRequest>,
    ) -> Result<Response<pb::DeleteCampaignResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::delete_campaign(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn send_campaign(
        &self,
        request: Request<pb::SendCampaignRequest>,
    ) -> Result<Response<pb::SendCampaignResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::send_campaign(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_campaign_messages(
        &self,
        request: Request<pb::ListCampaignMessagesRequest>,
    ) -> Result<Response<pb::ListCampaignMessagesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::list_campaign_messages(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_transfer_report(
        &self,
        request: Request<pb::GetTransferReportRequest>,
    ) -> Result<Response<pb::GetTransferReportResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::get_transfer_report(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_live_figures(
        &self,
        request: Request<pb::GetLiveFiguresRequest>,
    ) -> Result<Response<pb::GetLiveFiguresResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        supervision::get_live_figures(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn watch_live_figures(
        &self,
        request: Request<pb::WatchLiveFiguresRequest>,
    ) -> Result<Response<supervision::LiveFiguresStream>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        supervision::watch_live_figures(&self.ctx, scope, message)
            .await
            .map(Response::new)
    }

    async fn get_close_policy(
        &self,
        request: Request<pb::GetClosePolicyRequest>,
    ) -> Result<Response<pb::GetClosePolicyResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::get_close_policy(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_close_policy(
        &self,
        request: Request<pb::UpdateClosePolicyRequest>,
    ) -> Result<Response<pb::UpdateClosePolicyResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        accounts::update_close_policy(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn stream_feed_events(
        &self,
        request: Request<pb::StreamFeedEventsRequest>,
    ) -> Result<Response<integrations::FeedStream>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::stream_feed_events(&self.ctx, scope, message)
            .await
            .map(Response::new)
    }

    async fn create_webhook_endpoint(
        &self,
        request: Request<pb::CreateWebhookEndpointRequest>,
    ) -> Result<Response<pb::CreateWebhookEndpointResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::create_webhook_endpoint(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_webhook_endpoints(
        &self,
        request: Request<pb::ListWebhookEndpointsRequest>,
    ) -> Result<Response<pb::ListWebhookEndpointsResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::list_webhook_endpoints(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_webhook_endpoint(
        &self,
        request: Request<pb::GetWebhookEndpointRequest>,
    ) -> Result<Response<pb::GetWebhookEndpointResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::get_webhook_endpoint(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_webhook_endpoint(
        &self,
        request: Request<pb::UpdateWebhookEndpointRequest>,
    ) -> Result<Response<pb::UpdateWebhookEndpointResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::update_webhook_endpoint(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn delete_webhook_endpoint(
        &self,
        request: Request<pb::DeleteWebhookEndpointRequest>,
    ) -> Result<Response<pb::DeleteWebhookEndpointResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::delete_webhook_endpoint(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn rotate_webhook_endpoint_secret(
        &self,
        request: Request<pb::RotateWebhookEndpointSecretRequest>,
    ) -> Result<Response<pb::RotateWebhookEndpointSecretResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::rotate_webhook_endpoint_secret(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::list_webhook_deliveries(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn replay_webhook_delivery(
        &self,
        request: Request<pb::ReplayWebhookDeliveryRequest>,
    ) -> Result<Response<pb::ReplayWebhookDeliveryResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        integrations::replay_webhook_delivery(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_business_hours(
        &self,
        request: Request<pb::GetBusinessHoursRequest>,
    ) -> Result<Response<pb::GetBusinessHoursResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        hours::get_business_hours(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_business_hours(
        &self,
        request: Request<pb::UpdateBusinessHoursRequest>,
    ) -> Result<Response<pb::UpdateBusinessHoursResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        hours::update_business_hours(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_automatic_messages(
        &self,
        request: Request<pb::GetAutomaticMessagesRequest>,
    ) -> Result<Response<pb::GetAutomaticMessagesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        hours::get_automatic_messages(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn update_automatic_messages(
        &self,
        request: Request<pb::UpdateAutomaticMessagesRequest>,
    ) -> Result<Response<pb::UpdateAutomaticMessagesResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        hours::update_automatic_messages(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_report(
        &self,
        request: Request<pb::GetReportRequest>,
    ) -> Result<Response<pb::GetReportResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        reports::get_report(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn get_leaderboard(
        &self,
        request: Request<pb::GetLeaderboardRequest>,
    ) -> Result<Response<pb::GetLeaderboardResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        reports::get_leaderboard(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }

    async fn export_report(
        &self,
        request: Request<pb::ExportReportRequest>,
    ) -> Result<Response<pb::ExportReportResponse>, Status> {
        let (scope, message) = self.ctx.enter(request).await?;
        reports::export_report(&self.ctx, &scope, message)
            .await
            .map(Response::new)
    }
}
