//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.
//! Every mutating RPC runs through the runtime's replay store (`replay!`): a retry with the same
//! request_id gets the first answer; another body under the same key is INVALID_ARGUMENT.

pub mod convert;
mod links;
mod proposals;
pub(crate) mod tickets;

use switchboard_proto::ticketing::v1::{self as pb, ticketing_service_server::TicketingService};
use switchboard_runtime::{idempotency::calls::Calls, replay};
use tonic::{Request, Response, Status};

use crate::app::Ticketing;

/// `switchboard.ticketing.v1.TicketingService`.
pub struct TicketingGrpc {
    app: Ticketing,
    calls: Calls,
}

impl TicketingGrpc {
    pub fn new(app: Ticketing, calls: Calls) -> Self {
        Self { app, calls }
    }
}

/// Runs a read-only RPC body and maps its domain error to a status.
macro_rules! rpc {
    ($self:ident, $module:ident :: $method:ident, $request:ident) => {
        $module::$method(&$self.app, $request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    };
}

#[tonic::async_trait]
impl TicketingService for TicketingGrpc {
    #[tracing::instrument(name = "ticketing.CreateTicket", skip_all)]
    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::CreateTicketResponse>, Status> {
        replay!(self, tickets::create_ticket, request, "CreateTicket")
    }

    #[tracing::instrument(name = "ticketing.GetTicket", skip_all)]
    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::GetTicketResponse>, Status> {
        rpc!(self, tickets::get_ticket, request)
    }

    #[tracing::instrument(name = "ticketing.ListTickets", skip_all)]
    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        rpc!(self, tickets::list_tickets, request)
    }

    #[tracing::instrument(name = "ticketing.UpdateTicket", skip_all)]
    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::UpdateTicketResponse>, Status> {
        replay!(self, tickets::update_ticket, request, "UpdateTicket")
    }

    #[tracing::instrument(name = "ticketing.AddTicketComment", skip_all)]
    async fn add_ticket_comment(
        &self,
        request: Request<pb::AddTicketCommentRequest>,
    ) -> Result<Response<pb::AddTicketCommentResponse>, Status> {
        replay!(
            self,
            tickets::add_ticket_comment,
            request,
            "AddTicketComment"
        )
    }

    #[tracing::instrument(name = "ticketing.ListTicketActions", skip_all)]
    async fn list_ticket_actions(
        &self,
        request: Request<pb::ListTicketActionsRequest>,
    ) -> Result<Response<pb::ListTicketActionsResponse>, Status> {
        rpc!(self, tickets::list_ticket_actions, request)
    }

    #[tracing::instrument(name = "ticketing.LinkConversation", skip_all)]
    async fn link_conversation(
        &self,
        request: Request<pb::LinkConversationRequest>,
    ) -> Result<Response<pb::LinkConversationResponse>, Status> {
        replay!(self, links::link_conversation, request, "LinkConversation")
    }

    #[tracing::instrument(name = "ticketing.UnlinkConversation", skip_all)]
    async fn unlink_conversation(
        &self,
        request: Request<pb::UnlinkConversationRequest>,
    ) -> Result<Response<pb::UnlinkConversationResponse>, Status> {
        replay!(
            self,
            links::unlink_conversation,
            request,
            "UnlinkConversation"
        )
    }

    #[tracing::instrument(name = "ticketing.ListTicketLinks", skip_all)]
    async fn list_ticket_links(
        &self,
        request: Request<pb::ListTicketLinksRequest>,
    ) -> Result<Response<pb::ListTicketLinksResponse>, Status> {
        rpc!(self, links::list_ticket_links, request)
    }

    #[tracing::instrument(name = "ticketing.GetClosePolicy", skip_all)]
    async fn get_close_policy(
        &self,
        request: Request<pb::GetClosePolicyRequest>,
    ) -> Result<Response<pb::GetClosePolicyResponse>, Status> {
        rpc!(self, links::get_close_policy, request)
    }

    #[tracing::instrument(name = "ticketing.UpdateClosePolicy", skip_all)]
    async fn update_close_policy(
        &self,
        request: Request<pb::UpdateClosePolicyRequest>,
    ) -> Result<Response<pb::UpdateClosePolicyResponse>, Status> {
        replay!(
            self,
            links::update_close_policy,
            request,
            "UpdateClosePolicy"
        )
    }

    #[tracing::instrument(name = "ticketing.CheckClosePolicy", skip_all)]
    async fn check_close_policy(
        &self,
        request: Request<pb::CheckClosePolicyRequest>,
    ) -> Result<Response<pb::CheckClosePolicyResponse>, Status> {
        rpc!(self, links::check_close_policy, request)
    }

    #[tracing::instrument(name = "ticketing.AppendConversationHistory", skip_all)]
    async fn append_conversation_history(
        &self,
        request: Request<pb::AppendConversationHistoryRequest>,
    ) -> Result<Response<pb::AppendConversationHistoryResponse>, Status> {
        replay!(
            self,
            links::append_conversation_history,
            request,
            "AppendConversationHistory"
        )
    }

    #[tracing::instrument(name = "ticketing.ProposeTicketLink", skip_all)]
    async fn propose_ticket_link(
        &self,
        request: Request<pb::ProposeTicketLinkRequest>,
    ) -> Result<Response<pb::ProposeTicketLinkResponse>, Status> {
        replay!(
            self,
            proposals::propose_ticket_link,
            request,
            "ProposeTicketLink"
        )
    }

    #[tracing::instrument(name = "ticketing.ConfirmTicketProposal", skip_all)]
    async fn confirm_ticket_proposal(
        &self,
        request: Request<pb::ConfirmTicketProposalRequest>,
    ) -> Result<Response<pb::ConfirmTicketProposalResponse>, Status> {
        replay!(
            self,
            proposals::confirm_ticket_proposal,
            request,
            "ConfirmTicketProposal"
        )
    }

    #[tracing::instrument(name = "ticketing.RejectTicketProposal", skip_all)]
    async fn reject_ticket_proposal(
        &self,
        request: Request<pb::RejectTicketProposalRequest>,
    ) -> Result<Response<pb::RejectTicketProposalResponse>, Status> {
        replay!(
            self,
            proposals::reject_ticket_proposal,
            request,
            "RejectTicketProposal"
        )
    }

    #[tracing::instrument(name = "ticketing.ListTicketProposals", skip_all)]
    async fn list_ticket_proposals(
        &self,
        request: Request<pb::ListTicketProposalsRequest>,
    ) -> Result<Response<pb::ListTicketProposalsResponse>, Status> {
        rpc!(self, proposals::list_ticket_proposals, request)
    }
}
