//! Channel's client of the routing service: who an agent is, which conversation a message
//! belongs to, and the facts routing keeps about conversations (first response, owners).

use switchboard_proto::{
    common::v1::Role,
    routing::v1::{self as pb, ConversationState, routing_service_client::RoutingServiceClient},
};
use switchboard_runtime::{
    Service,
    clients::{Endpoints, TracedChannel},
    errors::{self, ServiceError},
    ids::{
        AgentId, CampaignId, ChannelAccountId, ContactId, ConversationId, MessageId, OrganizationId,
    },
};

use super::Authority;
use crate::error::{ChannelError, Reason};

/// What channel needs of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationView {
    pub id: ConversationId,
    pub channel_account_id: ChannelAccountId,
    pub contact_id: ContactId,
    pub active: bool,
    pub assignee: Option<String>,
    pub state: &'static str,
}

/// What channel needs of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignView {
    pub id: CampaignId,
    pub channel_account_id: ChannelAccountId,
    pub reply_window_ms: i64,
    pub archived: bool,
    pub continue_with_human: bool,
}

/// A conversation start for a customer message (or an agent's template).
#[derive(Debug, Clone)]
pub struct StartRequest<'a> {
    pub org: &'a OrganizationId,
    pub account: &'a ChannelAccountId,
    pub contact: &'a ContactId,
    pub campaign: Option<&'a CampaignId>,
    pub first_message: &'a MessageId,
    pub first_message_ms: i64,
    pub assign_to: Option<&'a str>,
}

/// The routing client.
#[derive(Clone)]
pub struct RoutingClient {
    endpoints: Endpoints,
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Maps routing's answer to channel's errors through the shared table's way back: its
/// NOT_FOUND stays NOT_FOUND, a FAILED_PRECONDITION keeps its reason and metadata, its outages
/// are ours.
fn from_status(what: &'static str, id: &str, status: tonic::Status) -> ChannelError {
    from_routing(what, id, errors::from_status(&status))
}

fn from_routing(what: &'static str, id: &str, err: ServiceError) -> ChannelError {
    match err.code {
        tonic::Code::NotFound => ChannelError::not_found(what, id),
        tonic::Code::PermissionDenied => ChannelError::PermissionDenied(err.message),
        tonic::Code::InvalidArgument => ChannelError::field(what, &err.message),
        tonic::Code::FailedPrecondition => ChannelError::FailedPrecondition {
            reason: err.reason,
            message: err.message,
            metadata: err.metadata,
        },
        _ => ChannelError::Unavailable(format!("routing: {err}")),
    }
}

fn view(conv: pb::Conversation) -> Result<ConversationView, ChannelError> {
    let state = ConversationState::try_from(conv.state).unwrap_or(ConversationState::Unspecified);
    let bad =
        |what: &str, v: &str| ChannelError::Unavailable(format!("routing sent a bad {what}: {v}"));
    Ok(ConversationView {
        id: conv
            .id
            .parse()
            .map_err(|_| bad("conversation id", &conv.id))?,
        channel_account_id: conv
            .channel_account_id
            .parse()
            .map_err(|_| bad("channel account id", &conv.channel_account_id))?,
        contact_id: conv
            .contact_id
            .parse()
            .map_err(|_| bad("contact id", &conv.contact_id))?,
        active: matches!(
            state,
            ConversationState::Queued | ConversationState::Assigned | ConversationState::Open
        ),
        assignee: (!conv.assignee_agent_id.is_empty()).then_some(conv.assignee_agent_id),
        state: match state {
            ConversationState::Queued => "queued",
            ConversationState::Assigned => "assigned",
            ConversationState::Open => "open",
            ConversationState::Closed => "closed",
            ConversationState::Expired => "expired",
            ConversationState::Unspecified => "unknown",
        },
    })
}

impl RoutingClient {
    pub fn new(endpoints: Endpoints) -> Self {
        Self { endpoints }
    }

    fn client(&self) -> Result<RoutingServiceClient<TracedChannel>, ChannelError> {
        self.endpoints
            .channel(Service::Routing)
            .map(RoutingServiceClient::new)
            .map_err(|e| ChannelError::Unavailable(e.to_string()))
    }

    /// The role of an enabled agent of `org`; an unknown or disabled agent is refused.
    pub async fn authority(
        &self,
        org: &OrganizationId,
        agent: &str,
    ) -> Result<Authority, ChannelError> {
        AgentId::parse(agent).map_err(|e| ChannelError::field("actor_agent_id", &e.to_string()))?;
        let answer = self
            .client()?
            .get_agent(pb::GetAgentRequest {
                organization_id: org.to_string(),
                agent_id: agent.to_string(),
            })
            .await;
        let agent_row = match answer {
            Ok(r) => r.into_inner().agent,
            Err(s) => match errors::from_status(&s) {
                e if e.code == tonic::Code::NotFound => None,
                e => return Err(from_routing("agent", agent, e)),
            },
        };
        match agent_row {
            Some(a) if !a.disabled => Ok(match Role::try_from(a.role) {
                Ok(Role::Admin) => Authority::Admin,
                Ok(Role::Operator) => Authority::Operator,
                _ => Authority::Agent,
            }),
            _ => Err(ChannelError::PermissionDenied(format!(
                "agent {agent} is not an enabled agent of this organization"
            ))),
        }
    }

    /// A conversation, as `actor` may see it.
    pub async fn conversation(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        actor: Option<&str>,
    ) -> Result<ConversationView, ChannelError> {
        let conv = self
            .client()?
            .get_conversation(pb::GetConversationRequest {
                organization_id: org.to_string(),
                conversation_id: id.to_string(),
                actor_agent_id: actor.unwrap_or_default().to_string(),
            })
            .await
            .map_err(|s| from_status("conversation", id.as_str(), s))?
            .into_inner()
            .conversation
            .ok_or_else(|| ChannelError::not_found("conversation", id))?;
        view(conv)
    }

    /// Starts the contact's conversation on the number, or returns the active one (restarting
    /// its 24-hour clock). Idempotent by the first message.
    pub async fn start_conversation(
        &self,
        req: StartRequest<'_>,
    ) -> Result<(ConversationView, bool), ChannelError> {
        let request = pb::StartConversationRequest {
            request_id: req.first_message.to_string(),
            organization_id: req.org.to_string(),
            channel_account_id: req.account.to_string(),
            contact_id: req.contact.to_string(),
            campaign_id: req.campaign.map(ToString::to_string).unwrap_or_default(),
            first_message_id: req.first_message.to_string(),
            first_message_time: Some(timestamp(req.first_message_ms)),
            assign_to_agent_id: req.assign_to.unwrap_or_default().to_string(),
        };
        // Idempotent (keyed by the first message): a replica that is restarting is retried,
        // most likely on another one, instead of waiting for the bus to redeliver the event.
        let client = self.client()?;
        let answer = switchboard_runtime::clients::retry_unavailable(4, || {
            let mut client = client.clone();
            let request = request.clone();
            async move { client.start_conversation(request).await }
        })
        .await
        .map_err(|s| from_status("conversation", req.contact.as_str(), s))?
        .into_inner();
        let conv = answer
            .conversation
            .ok_or_else(|| ChannelError::Unavailable("routing returned no conversation".into()))?;
        Ok((view(conv)?, answer.created))
    }

    /// Records an agent's reply (first response time, first-responder ownership).
    pub async fn record_agent_reply(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
        agent: &str,
        message: &MessageId,
        sent_ms: i64,
    ) -> Result<(), ChannelError> {
        self.client()?
            .record_agent_reply(pb::RecordAgentReplyRequest {
                request_id: message.to_string(),
                organization_id: org.to_string(),
                conversation_id: conversation.to_string(),
                agent_id: agent.to_string(),
                message_id: message.to_string(),
                message_time: Some(timestamp(sent_ms)),
            })
            .await
            .map_err(|s| from_status("conversation", conversation.as_str(), s))?;
        Ok(())
    }

    /// Whether the number has queued, assigned or open conversations.
    pub async fn has_active_conversations(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<bool, ChannelError> {
        let page = self
            .client()?
            .list_conversations(pb::ListConversationsRequest {
                organization_id: org.to_string(),
                page: Some(switchboard_proto::common::v1::PageRequest {
                    page_size: 1,
                    page_token: String::new(),
                }),
                states: vec![
                    ConversationState::Queued as i32,
                    ConversationState::Assigned as i32,
                    ConversationState::Open as i32,
                ],
                channel_account_id: account.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|s| from_status("channel account", account.as_str(), s))?
            .into_inner();
        Ok(!page.conversations.is_empty())
    }

    /// A campaign.
    pub async fn campaign(
        &self,
        org: &OrganizationId,
        id: &CampaignId,
    ) -> Result<CampaignView, ChannelError> {
        let c = self
            .client()?
            .get_campaign(pb::GetCampaignRequest {
                organization_id: org.to_string(),
                campaign_id: id.to_string(),
            })
            .await
            .map_err(|s| from_status("campaign", id.as_str(), s))?
            .into_inner()
            .campaign
            .ok_or_else(|| ChannelError::not_found("campaign", id))?;
        Ok(CampaignView {
            id: id.clone(),
            channel_account_id: c.channel_account_id.parse().map_err(|_| {
                ChannelError::Unavailable(format!(
                    "routing sent a bad channel account id: {}",
                    c.channel_account_id
                ))
            })?,
            reply_window_ms: c.reply_window.map_or(0, |d| d.seconds.saturating_mul(1000)),
            archived: c.archived,
            continue_with_human: c.continue_with_human,
        })
    }
}

/// A conversation that is not active refuses sends.
pub fn require_active(conv: &ConversationView) -> Result<(), ChannelError> {
    if conv.active {
        Ok(())
    } else {
        Err(ChannelError::precondition(
            Reason::ConversationState,
            format!(
                "conversation {} is {}: start a new one with a template",
                conv.id, conv.state
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_refusals_keep_their_reason_and_metadata() {
        let metadata = std::collections::HashMap::from([("state".into(), "closed".into())]);
        let answered =
            errors::reasoned_with(Reason::ConversationState, "it is closed", metadata.clone());
        let err = from_status("conversation", "conv_1", answered);
        assert!(
            matches!(
                &err,
                ChannelError::FailedPrecondition { reason: Some(Reason::ConversationState), metadata: m, .. }
                    if *m == metadata
            ),
            "{err:?}"
        );
        // Channel's own answer carries it on, in the shared domain.
        let back = errors::from_status(&tonic::Status::from(err));
        assert_eq!(
            (back.code, back.reason, back.metadata),
            (
                tonic::Code::FailedPrecondition,
                Some(Reason::ConversationState),
                metadata
            )
        );
    }

    #[test]
    fn routing_outages_are_unavailable_and_not_found_stays_not_found() {
        let err = from_status("campaign", "cmp_1", tonic::Status::unavailable("down"));
        assert!(matches!(err, ChannelError::Unavailable(_)), "{err:?}");
        let err = from_status("campaign", "cmp_1", tonic::Status::not_found("gone"));
        assert!(
            matches!(
                err,
                ChannelError::NotFound {
                    what: "campaign",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
