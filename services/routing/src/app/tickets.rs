//! Routing and the ticketing service. Before a conversation closes, routing asks ticketing
//! whether it needs a linked ticket (`CheckClosePolicy`): no link where one is required is
//! FAILED_PRECONDITION `TICKET_REQUIRED`, ticketing unreachable is UNAVAILABLE, and in both
//! cases the conversation stays as it was. And routing shows each conversation's ticket
//! ("#123", in the Expired list too) and pending proposal from ticketing's
//! `ticketing.link.changed` events, version-gated so a late event never brings back an older
//! picture.

use async_trait::async_trait;
use switchboard_proto::{
    events::TypedEvent,
    ticketing::v1::{
        self as pb, TicketLinkChanged, ticketing_service_client::TicketingServiceClient,
    },
};
use switchboard_runtime::{
    Service,
    bus::{ConsumerGroup, Unhandled},
    clients::Endpoints,
    errors,
    ids::{ConversationId, OrganizationId},
    outbox::Event,
};

use super::{
    Routing,
    conversations::{ClosePolicy, CloseVerdict},
};
use crate::{
    domain::conversation::{Conversation, TicketRef, Tickets},
    error::RoutingError,
};

/// The consumer group routing reads ticketing's link changes in; declared before any service
/// starts.
pub const TICKET_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "routing.tickets",
    topics: &[TicketLinkChanged::TOPIC],
};

/// The close policy kept by the ticketing service, asked over gRPC at every close.
#[derive(Clone)]
pub struct TicketingClient {
    endpoints: Endpoints,
}

impl TicketingClient {
    pub fn new(endpoints: Endpoints) -> Self {
        Self { endpoints }
    }
}

#[async_trait]
impl ClosePolicy for TicketingClient {
    async fn check(
        &self,
        org: &OrganizationId,
        conversation: &Conversation,
    ) -> Result<CloseVerdict, RoutingError> {
        let unavailable = |what: String| {
            RoutingError::Unavailable(format!(
                "ticketing (the close policy) cannot be asked: {what}; the conversation was not closed"
            ))
        };
        let mut client = self
            .endpoints
            .channel(Service::Ticketing)
            .map(TicketingServiceClient::new)
            .map_err(|e| unavailable(e.to_string()))?;
        let answer = client
            .check_close_policy(pb::CheckClosePolicyRequest {
                organization_id: org.to_string(),
                conversation_id: conversation.id.to_string(),
                channel_account_id: conversation.channel_account_id.to_string(),
                team_id: conversation
                    .team_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            })
            .await
            .map_err(|status| unavailable(errors::from_status(&status).to_string()))?
            .into_inner();
        Ok(if answer.allowed {
            CloseVerdict::Allow
        } else {
            CloseVerdict::TicketRequired
        })
    }
}

/// The conversation's tickets an event announces.
fn announced(change: &TicketLinkChanged) -> Tickets {
    let Some(now) = &change.current else {
        return Tickets::default();
    };
    Tickets {
        linked: (!now.linked_ticket_id.is_empty()).then(|| TicketRef {
            ticket_id: now.linked_ticket_id.clone(),
            number: now.linked_ticket_number,
            proposal_id: None,
        }),
        proposed: (!now.proposal_id.is_empty()).then(|| TicketRef {
            ticket_id: now.proposed_ticket_id.clone(),
            number: now.proposed_ticket_number,
            proposal_id: Some(now.proposal_id.clone()),
        }),
    }
}

impl Routing {
    /// Handles one `ticketing.link.changed` event: records the conversation's tickets at the
    /// event's version. Undecodable or malformed → dead-lettered; storage trouble → retried.
    pub async fn on_ticket_event(&self, event: &Event) -> Result<(), Unhandled> {
        if event.topic != TicketLinkChanged::TOPIC {
            return Err(Unhandled::Drop(format!(
                "event {} has topic {}, which {} does not consume",
                event.id, event.topic, TICKET_EVENTS.name
            )));
        }
        let org = OrganizationId::parse(&event.organization_id).map_err(|e| {
            Unhandled::Drop(format!("event {}: bad organization id: {e}", event.id))
        })?;
        let change = event.decode::<TicketLinkChanged>()?;
        let conversation = ConversationId::parse(&change.conversation_id).map_err(|e| {
            Unhandled::Drop(format!("event {}: bad conversation id: {e}", event.id))
        })?;
        if change.version <= 0 || change.current.is_none() {
            return Err(Unhandled::Drop(format!(
                "event {}: a link change without its version and tickets",
                event.id
            )));
        }
        let applied = self
            .store
            .apply_tickets(&org, &conversation, change.version, &announced(&change))
            .await
            .map_err(|e| Unhandled::Retry(e.to_string()))?;
        tracing::debug!(%conversation, version = change.version, applied, "conversation tickets");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_announces_the_whole_picture() {
        let change = TicketLinkChanged {
            conversation_id: "conv_1".into(),
            ticket_id: "tkt_2".into(),
            ticket_number: 2,
            change: switchboard_proto::ticketing::v1::LinkChange::Linked as i32,
            proposal_id: String::new(),
            version: 3,
            current: Some(pb::ConversationTickets {
                linked_ticket_id: "tkt_2".into(),
                linked_ticket_number: 2,
                proposal_id: "tkp_9".into(),
                proposed_ticket_id: "tkt_5".into(),
                proposed_ticket_number: 5,
            }),
        };
        let t = announced(&change);
        assert_eq!(t.linked.map(|l| l.number), Some(2));
        let p = t.proposed.expect("proposed");
        assert_eq!((p.number, p.proposal_id.as_deref()), (5, Some("tkp_9")));
        let none = announced(&TicketLinkChanged {
            current: Some(pb::ConversationTickets::default()),
            ..change
        });
        assert_eq!(
            none,
            Tickets::default(),
            "an unlinked conversation shows no ticket"
        );
    }
}
