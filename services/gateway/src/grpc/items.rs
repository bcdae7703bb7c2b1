//! Inbox items: routing's conversations with what a console shows beside them, for a whole
//! page in a constant number of calls (one channel call for contacts and last messages, the
//! directory's cached name lists), never one call per row.

use std::collections::HashMap;

use prost_types::Timestamp;
use switchboard_proto::{
    channel::v1 as cpb, gateway::v1 as pb, routing::v1 as rpb, ticketing::v1 as tpb,
};
use tonic::Status;

use super::{Ctx, Scope};

/// WhatsApp's customer service window.
const WINDOW_SECS: i64 = 24 * 3600;

/// Inbox items for `conversations`, in their order.
pub async fn items(
    ctx: &Ctx,
    scope: &Scope,
    conversations: Vec<rpb::Conversation>,
) -> Result<Vec<pb::InboxItem>, Status> {
    if conversations.is_empty() {
        return Ok(Vec::new());
    }
    let ids = |f: fn(&rpb::Conversation) -> &str| {
        let mut v: Vec<&str> = conversations
            .iter()
            .map(f)
            .filter(|s| !s.is_empty())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let conversation_ids = ids(|c| &c.id);
    let contact_ids = ids(|c| &c.contact_id);
    let team_ids = ids(|c| &c.team_id);
    let agent_ids = ids(|c| &c.assignee_agent_id);
    let campaign_ids = ids(|c| &c.campaign_id);
    let (details, names) = tokio::try_join!(
        async {
            ctx.upstream
                .channel()
                .get_inbox_details(scope.req(cpb::GetInboxDetailsRequest {
                    organization_id: scope.org(),
                    conversation_ids: conversation_ids.iter().map(|s| s.to_string()).collect(),
                    contact_ids: contact_ids.iter().map(|s| s.to_string()).collect(),
                }))
                .await
                .map(tonic::Response::into_inner)
        },
        ctx.directory
            .names(scope, &team_ids, &agent_ids, &campaign_ids),
    )?;
    let contacts: HashMap<String, cpb::Contact> = details
        .contacts
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let mut summaries: HashMap<String, cpb::ConversationSummary> = details
        .conversations
        .into_iter()
        .map(|s| (s.conversation_id.clone(), s))
        .collect();
    Ok(conversations
        .into_iter()
        .map(|conversation| {
            let summary = summaries.remove(&conversation.id).unwrap_or_default();
            pb::InboxItem {
                contact: contacts.get(&conversation.contact_id).cloned(),
                last_message: summary.last_message,
                unanswered_count: summary.unanswered_count,
                campaign_name: names
                    .campaigns
                    .get(&conversation.campaign_id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                team_name: names
                    .teams
                    .get(&conversation.team_id)
                    .cloned()
                    .unwrap_or_default(),
                assignee_display_name: names
                    .agents
                    .get(&conversation.assignee_agent_id)
                    .cloned()
                    .unwrap_or_default(),
                ticket_link: ticket_link(&conversation),
                window_close_time: window_close(&conversation),
                conversation: Some(conversation),
            }
        })
        .collect())
}

/// One inbox item.
pub async fn item(
    ctx: &Ctx,
    scope: &Scope,
    conversation: Option<rpb::Conversation>,
) -> Result<Option<pb::InboxItem>, Status> {
    Ok(match conversation {
        Some(c) => items(ctx, scope, vec![c]).await?.pop(),
        None => None,
    })
}

/// The campaign's form of a conversation, when it came from a campaign that has one.
pub async fn form_fields(
    ctx: &Ctx,
    scope: &Scope,
    conversation: &rpb::Conversation,
) -> Result<Vec<rpb::FormField>, Status> {
    if conversation.campaign_id.is_empty() {
        return Ok(Vec::new());
    }
    let names = ctx
        .directory
        .names(scope, &[], &[], &[conversation.campaign_id.as_str()])
        .await?;
    Ok(names
        .campaigns
        .get(&conversation.campaign_id)
        .map(|c| c.form_fields.clone())
        .unwrap_or_default())
}

/// The linked ticket, as routing keeps it on the conversation.
fn ticket_link(c: &rpb::Conversation) -> Option<tpb::TicketLink> {
    c.ticket
        .as_ref()
        .filter(|t| !t.ticket_id.is_empty())
        .map(|t| tpb::TicketLink {
            ticket_id: t.ticket_id.clone(),
            ticket_number: t.number,
            conversation_id: c.id.clone(),
            contact_id: c.contact_id.clone(),
            ..Default::default()
        })
}

/// When the 24-hour window closes: routing's expiry time, else 24 h after the last customer
/// message.
fn window_close(c: &rpb::Conversation) -> Option<Timestamp> {
    c.expire_time.or_else(|| {
        c.last_customer_message_time.map(|t| Timestamp {
            seconds: t.seconds + WINDOW_SECS,
            nanos: t.nanos,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_closes_at_expiry_or_a_day_after_the_customer_wrote() {
        let mut c = rpb::Conversation {
            last_customer_message_time: Some(Timestamp {
                seconds: 1_000,
                nanos: 0,
            }),
            ..Default::default()
        };
        assert_eq!(
            window_close(&c).map(|t| t.seconds),
            Some(1_000 + WINDOW_SECS)
        );
        c.expire_time = Some(Timestamp {
            seconds: 5,
            nanos: 0,
        });
        assert_eq!(window_close(&c).map(|t| t.seconds), Some(5));
    }

    #[test]
    fn a_ticket_link_comes_from_the_conversations_ticket_ref() {
        let mut c = rpb::Conversation {
            id: "conv_1".into(),
            contact_id: "ct_1".into(),
            ..Default::default()
        };
        assert!(ticket_link(&c).is_none());
        c.ticket = Some(rpb::TicketRef {
            ticket_id: "tkt_1".into(),
            number: 42,
            proposal_id: String::new(),
        });
        let link = ticket_link(&c).expect("linked");
        assert_eq!(
            (link.ticket_number, link.conversation_id.as_str()),
            (42, "conv_1")
        );
    }
}
