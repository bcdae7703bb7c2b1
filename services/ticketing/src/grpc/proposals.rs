//! Proposal RPCs.

use switchboard_proto::ticketing::v1 as pb;
use switchboard_runtime::{
    ids::{AgentId, ContactId, ConversationId, TicketId, TicketProposalId},
    page_filter,
    validate::Check,
};

use super::convert;
use crate::{
    app::{Ticketing, proposals::ProposalRequest},
    domain::ProposalSource,
    error::TicketingError,
};

pub async fn propose_ticket_link(
    app: &Ticketing,
    r: pb::ProposeTicketLinkRequest,
) -> Result<pb::ProposeTicketLinkResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let conversation: Option<ConversationId> = c.id("conversation_id", &r.conversation_id);
    let contact: Option<ContactId> = c.opt_id("contact_id", &r.contact_id);
    if r.ticket_number <= 0 {
        c.bad("ticket_number", "must be a positive ticket number");
    }
    let proposer = c.text("proposer", &r.proposer, 100);
    c.done()?;
    let (org, conversation) = (org.expect("validated"), conversation.expect("validated"));
    app.known_conversation(&org, &conversation).await?;
    let proposal = app
        .propose(
            &org,
            ProposalRequest {
                conversation,
                contact_id: contact.map(|c| c.to_string()).unwrap_or_default(),
                ticket_number: r.ticket_number,
                source: ProposalSource::InternalService,
                message_id: String::new(),
                evidence: proposer,
            },
        )
        .await?;
    Ok(pb::ProposeTicketLinkResponse {
        proposal: Some(convert::proposal(&proposal)),
    })
}

pub async fn confirm_ticket_proposal(
    app: &Ticketing,
    r: pb::ConfirmTicketProposalRequest,
) -> Result<pb::ConfirmTicketProposalResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let id: Option<TicketProposalId> = c.id("proposal_id", &r.proposal_id);
    c.done()?;
    let org = org.expect("validated");
    let caller = app.agent_caller(&org, &actor.expect("validated")).await?;
    let (proposal, link) = app
        .confirm_proposal(&org, &caller, &id.expect("validated"))
        .await?;
    Ok(pb::ConfirmTicketProposalResponse {
        proposal: Some(convert::proposal(&proposal)),
        link: Some(convert::link(&link)),
    })
}

pub async fn reject_ticket_proposal(
    app: &Ticketing,
    r: pb::RejectTicketProposalRequest,
) -> Result<pb::RejectTicketProposalResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let id: Option<TicketProposalId> = c.id("proposal_id", &r.proposal_id);
    c.done()?;
    let org = org.expect("validated");
    let caller = app.agent_caller(&org, &actor.expect("validated")).await?;
    let proposal = app
        .reject_proposal(&org, &caller, &id.expect("validated"))
        .await?;
    Ok(pb::RejectTicketProposalResponse {
        proposal: Some(convert::proposal(&proposal)),
    })
}

pub async fn list_ticket_proposals(
    app: &Ticketing,
    r: pb::ListTicketProposalsRequest,
) -> Result<pb::ListTicketProposalsResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let page = c.page(r.page.as_ref(), page_filter!(r));
    let ticket: Option<TicketId> = c.opt_id("ticket_id", &r.ticket_id);
    let conversations: Vec<ConversationId> = c.ids("conversation_ids", &r.conversation_ids);
    c.at_most_items("conversation_ids", &r.conversation_ids, 500);
    if r.ticket_id.is_empty() && r.conversation_ids.is_empty() {
        c.bad("ticket_id", "a ticket_id or conversation_ids is required");
    }
    let mut statuses = Vec::new();
    for (i, s) in r.statuses.iter().enumerate() {
        match convert::proposal_status_from_proto(*s) {
            Some(s) => statuses.push(s),
            None => c.bad(&format!("statuses[{i}]"), "unknown proposal status"),
        }
    }
    c.done()?;
    let conversations: Vec<String> = conversations.iter().map(ToString::to_string).collect();
    let paged = app
        .list_proposals(
            &org.expect("validated"),
            ticket.as_ref(),
            &conversations,
            &statuses,
            &page,
        )
        .await?;
    Ok(pb::ListTicketProposalsResponse {
        page: Some(paged.response(None)),
        proposals: paged.items.iter().map(convert::proposal).collect(),
    })
}
