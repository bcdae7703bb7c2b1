//! Tickets and their links to conversations, forwarded to ticketing with the caller as actor.

use switchboard_proto::{gateway::v1 as pb, routing::v1 as rpb, ticketing::v1 as tpb};
use tonic::Status;

use super::{Ctx, Scope};

pub async fn create_ticket(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CreateTicketRequest,
) -> Result<pb::CreateTicketResponse, Status> {
    let answer = ctx
        .upstream
        .ticketing()
        .create_ticket(scope.req(tpb::CreateTicketRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            ticket: request.ticket,
        }))
        .await?
        .into_inner();
    Ok(pb::CreateTicketResponse {
        ticket: answer.ticket,
    })
}

pub async fn get_ticket(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetTicketRequest,
) -> Result<pb::GetTicketResponse, Status> {
    use pb::get_ticket_request::Lookup as In;
    use tpb::get_ticket_request::Lookup as Out;
    let lookup = request.lookup.map(|l| match l {
        In::TicketId(id) => Out::TicketId(id),
        In::Number(n) => Out::Number(n),
    });
    let answer = ctx
        .upstream
        .ticketing()
        .get_ticket(scope.req(tpb::GetTicketRequest {
            organization_id: scope.org(),
            lookup,
        }))
        .await?
        .into_inner();
    Ok(pb::GetTicketResponse {
        ticket: answer.ticket,
    })
}

pub async fn list_tickets(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListTicketsRequest,
) -> Result<pb::ListTicketsResponse, Status> {
    let answer = ctx
        .upstream
        .ticketing()
        .list_tickets(scope.req(tpb::ListTicketsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            query: request.query,
            statuses: request.statuses,
            requester_contact_id: request.requester_contact_id,
            assignee_agent_id: request.assignee_agent_id,
            create_time_range: request.create_time_range,
        }))
        .await?
        .into_inner();
    Ok(pb::ListTicketsResponse {
        tickets: answer.tickets,
        page: answer.page,
    })
}

pub async fn update_ticket(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateTicketRequest,
) -> Result<pb::UpdateTicketResponse, Status> {
    // Only the id and the masked fields are read; the organization is always mine.
    let ticket = request.ticket.map(|mut t| {
        t.organization_id = scope.org();
        t
    });
    let answer = ctx
        .upstream
        .ticketing()
        .update_ticket(scope.req(tpb::UpdateTicketRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            ticket,
            update_mask: request.update_mask,
            expected_update_time: request.expected_update_time,
        }))
        .await?
        .into_inner();
    Ok(pb::UpdateTicketResponse {
        ticket: answer.ticket,
    })
}

pub async fn add_ticket_comment(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::AddTicketCommentRequest,
) -> Result<pb::AddTicketCommentResponse, Status> {
    let answer = ctx
        .upstream
        .ticketing()
        .add_ticket_comment(scope.req(tpb::AddTicketCommentRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            ticket_id: request.ticket_id,
            body: request.body,
            internal: request.internal,
        }))
        .await?
        .into_inner();
    Ok(pb::AddTicketCommentResponse {
        action: answer.action,
    })
}

pub async fn list_ticket_actions(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListTicketActionsRequest,
) -> Result<pb::ListTicketActionsResponse, Status> {
    let answer = ctx
        .upstream
        .ticketing()
        .list_ticket_actions(scope.req(tpb::ListTicketActionsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            ticket_id: request.ticket_id,
            kinds: request.kinds,
        }))
        .await?
        .into_inner();
    Ok(pb::ListTicketActionsResponse {
        actions: answer.actions,
        page: answer.page,
    })
}

/// Ticketing needs the conversation's contact as the default requester of a new ticket: it is
/// read from routing first (as me, so a conversation I cannot see is NOT_FOUND). Linking to
/// an existing ticket needs no contact (ticketing finds it).
pub async fn link_conversation_ticket(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::LinkConversationTicketRequest,
) -> Result<pb::LinkConversationTicketResponse, Status> {
    use pb::link_conversation_ticket_request::Ticket as In;
    use tpb::link_conversation_request::Ticket as Out;
    let contact_id = match &request.ticket {
        Some(In::NewTicket(_)) => ctx
            .upstream
            .routing()
            .get_conversation(scope.req(rpb::GetConversationRequest {
                organization_id: scope.org(),
                conversation_id: request.conversation_id.clone(),
                actor_agent_id: scope.me(),
            }))
            .await?
            .into_inner()
            .conversation
            .map(|c| c.contact_id)
            .unwrap_or_default(),
        _ => String::new(),
    };
    let ticket = request.ticket.map(|t| match t {
        In::TicketId(id) => Out::TicketId(id),
        In::NewTicket(new) => Out::NewTicket(new),
    });
    let answer = ctx
        .upstream
        .ticketing()
        .link_conversation(scope.req(tpb::LinkConversationRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
            contact_id,
            ticket,
        }))
        .await?
        .into_inner();
    Ok(pb::LinkConversationTicketResponse {
        link: answer.link,
        ticket: answer.ticket,
    })
}

pub async fn unlink_conversation_ticket(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UnlinkConversationTicketRequest,
) -> Result<pb::UnlinkConversationTicketResponse, Status> {
    ctx.upstream
        .ticketing()
        .unlink_conversation(scope.req(tpb::UnlinkConversationRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
            ticket_id: request.ticket_id,
        }))
        .await?;
    Ok(pb::UnlinkConversationTicketResponse {})
}

pub async fn list_ticket_links(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListTicketLinksRequest,
) -> Result<pb::ListTicketLinksResponse, Status> {
    let answer = ctx
        .upstream
        .ticketing()
        .list_ticket_links(scope.req(tpb::ListTicketLinksRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            ticket_id: request.ticket_id,
            conversation_ids: request.conversation_ids,
        }))
        .await?
        .into_inner();
    Ok(pb::ListTicketLinksResponse {
        links: answer.links,
        page: answer.page,
    })
}
