//! Link, close policy and history RPCs.

use switchboard_proto::ticketing::v1 as pb;
use switchboard_runtime::{
    ids::{AgentId, ChannelAccountId, ContactId, ConversationId, TeamId, TicketId},
    page_filter,
    validate::Check,
};

use super::{convert, tickets::new_ticket};
use crate::{
    app::{Ticketing, directory::actor_from_proto, history::Ending, links::LinkTarget},
    domain::policy::ClosePolicy,
    error::TicketingError,
};

/// Most conversation ids one list request may name.
const MAX_CONVERSATIONS: usize = 500;

pub async fn link_conversation(
    app: &Ticketing,
    r: pb::LinkConversationRequest,
) -> Result<pb::LinkConversationResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let conversation: Option<ConversationId> = c.id("conversation_id", &r.conversation_id);
    let contact: Option<ContactId> = c.opt_id("contact_id", &r.contact_id);
    let target = match &r.ticket {
        Some(pb::link_conversation_request::Ticket::TicketId(id)) => {
            c.id::<TicketId>("ticket_id", id).map(LinkTarget::Existing)
        }
        Some(pb::link_conversation_request::Ticket::NewTicket(t)) => Some(LinkTarget::New(
            new_ticket(&mut c, "new_ticket", Some(t), Some(&r.contact_id)),
        )),
        None => {
            c.bad("ticket_id", "a ticket_id or a new_ticket is required");
            None
        }
    };
    c.done()?;
    let org = org.expect("validated");
    let caller = app.agent_caller(&org, &actor.expect("validated")).await?;
    let (link, ticket) = app
        .link_conversation(
            &org,
            &caller,
            &conversation.expect("validated"),
            contact.map(|c| c.to_string()),
            target.expect("validated"),
        )
        .await?;
    Ok(pb::LinkConversationResponse {
        link: Some(convert::link(&link)),
        ticket: Some(convert::ticket(&ticket)),
    })
}

pub async fn unlink_conversation(
    app: &Ticketing,
    r: pb::UnlinkConversationRequest,
) -> Result<pb::UnlinkConversationResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let conversation: Option<ConversationId> = c.id("conversation_id", &r.conversation_id);
    let ticket: Option<TicketId> = c.id("ticket_id", &r.ticket_id);
    c.done()?;
    let org = org.expect("validated");
    let caller = app.agent_caller(&org, &actor.expect("validated")).await?;
    app.unlink_conversation(
        &org,
        &caller,
        &conversation.expect("validated"),
        &ticket.expect("validated"),
    )
    .await?;
    Ok(pb::UnlinkConversationResponse {})
}

pub async fn list_ticket_links(
    app: &Ticketing,
    r: pb::ListTicketLinksRequest,
) -> Result<pb::ListTicketLinksResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let page = c.page(r.page.as_ref(), page_filter!(r));
    let ticket: Option<TicketId> = c.opt_id("ticket_id", &r.ticket_id);
    let conversations: Vec<ConversationId> = c.ids("conversation_ids", &r.conversation_ids);
    c.at_most_items("conversation_ids", &r.conversation_ids, MAX_CONVERSATIONS);
    if r.ticket_id.is_empty() && r.conversation_ids.is_empty() {
        c.bad("ticket_id", "a ticket_id or conversation_ids is required");
    }
    c.done()?;
    let conversations: Vec<String> = conversations.iter().map(ToString::to_string).collect();
    let paged = app
        .list_links(
            &org.expect("validated"),
            ticket.as_ref(),
            &conversations,
            &page,
        )
        .await?;
    Ok(pb::ListTicketLinksResponse {
        page: Some(paged.response(None)),
        links: paged.items.iter().map(convert::link).collect(),
    })
}

pub async fn get_close_policy(
    app: &Ticketing,
    r: pb::GetClosePolicyRequest,
) -> Result<pb::GetClosePolicyResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    c.done()?;
    let policy = app.get_policy(&org.expect("validated")).await?;
    Ok(pb::GetClosePolicyResponse {
        policy: Some(convert::policy(&policy)),
    })
}

pub async fn update_close_policy(
    app: &Ticketing,
    r: pb::UpdateClosePolicyRequest,
) -> Result<pb::UpdateClosePolicyResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let p = r.policy.clone().unwrap_or_default();
    if r.policy.is_none() {
        c.bad("policy", "is required");
    }
    let accounts: Vec<ChannelAccountId> =
        c.ids("policy.channel_account_ids", &p.channel_account_ids);
    let teams: Vec<TeamId> = c.ids("policy.team_ids", &p.team_ids);
    c.at_most_items("policy.channel_account_ids", &p.channel_account_ids, 500);
    c.at_most_items("policy.team_ids", &p.team_ids, 500);
    c.done()?;
    let org = org.expect("validated");
    let caller = app.agent_caller(&org, &actor.expect("validated")).await?;
    let policy = app
        .update_policy(
            &org,
            &caller,
            ClosePolicy {
                require_ticket: p.require_ticket,
                channel_account_ids: accounts,
                team_ids: teams,
                update_ms: 0,
            },
        )
        .await?;
    Ok(pb::UpdateClosePolicyResponse {
        policy: Some(convert::policy(&policy)),
    })
}

pub async fn check_close_policy(
    app: &Ticketing,
    r: pb::CheckClosePolicyRequest,
) -> Result<pb::CheckClosePolicyResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let conversation: Option<ConversationId> = c.id("conversation_id", &r.conversation_id);
    let account: Option<ChannelAccountId> = c.opt_id("channel_account_id", &r.channel_account_id);
    let team: Option<TeamId> = c.opt_id("team_id", &r.team_id);
    c.done()?;
    let check = app
        .check_close(
            &org.expect("validated"),
            &conversation.expect("validated"),
            account.as_ref(),
            team.as_ref(),
        )
        .await?;
    Ok(pb::CheckClosePolicyResponse {
        allowed: check.allowed,
        ticket_required: check.ticket_required,
        link: check.link.as_ref().map(convert::link),
    })
}

pub async fn append_conversation_history(
    app: &Ticketing,
    r: pb::AppendConversationHistoryRequest,
) -> Result<pb::AppendConversationHistoryResponse, TicketingError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let conversation: Option<ConversationId> = c.id("conversation_id", &r.conversation_id);
    c.done()?;
    let (org, conversation) = (org.expect("validated"), conversation.expect("validated"));
    let info = app.ended(&org, &conversation).await?;
    let ending = Ending {
        channel_account_id: info.channel_account_id,
        closed_by: r
            .closed_by
            .as_ref()
            .map(actor_from_proto)
            .or(info.closed_by),
        start_ms: r.start_time.as_ref().map(convert::ts_ms).or(info.start_ms),
        end_ms: r.end_time.as_ref().map(convert::ts_ms).or(info.end_ms),
    };
    let appended = app
        .append_history(&org, &conversation, ending, None)
        .await?;
    Ok(pb::AppendConversationHistoryResponse {
        linked: appended.linked,
        appended: appended.appended,
        action: appended.action.as_ref().map(convert::action),
    })
}
