//! tickets RPCs.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

pub async fn create_ticket(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::CreateTicketRequest,
) -> Result<pb::CreateTicketResponse, Status> {
    Err(Status::unimplemented("CreateTicket"))
}

pub async fn get_ticket(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetTicketRequest,
) -> Result<pb::GetTicketResponse, Status> {
    Err(Status::unimplemented("GetTicket"))
}

pub async fn list_tickets(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListTicketsRequest,
) -> Result<pb::ListTicketsResponse, Status> {
    Err(Status::unimplemented("ListTickets"))
}

pub async fn update_ticket(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateTicketRequest,
) -> Result<pb::UpdateTicketResponse, Status> {
    Err(Status::unimplemented("UpdateTicket"))
}

pub async fn add_ticket_comment(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::AddTicketCommentRequest,
) -> Result<pb::AddTicketCommentResponse, Status> {
    Err(Status::unimplemented("AddTicketComment"))
}

pub async fn list_ticket_actions(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListTicketActionsRequest,
) -> Result<pb::ListTicketActionsResponse, Status> {
    Err(Status::unimplemented("ListTicketActions"))
}

pub async fn link_conversation_ticket(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::LinkConversationTicketRequest,
) -> Result<pb::LinkConversationTicketResponse, Status> {
    Err(Status::unimplemented("LinkConversationTicket"))
}

pub async fn unlink_conversation_ticket(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UnlinkConversationTicketRequest,
) -> Result<pb::UnlinkConversationTicketResponse, Status> {
    Err(Status::unimplemented("UnlinkConversationTicket"))
}

pub async fn list_ticket_links(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListTicketLinksRequest,
) -> Result<pb::ListTicketLinksResponse, Status> {
    Err(Status::unimplemented("ListTicketLinks"))
}
