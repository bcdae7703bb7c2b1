//! From stored messages to routing's conversations: a customer message without an active
//! conversation on its number starts one (with the campaign it answers, if any); otherwise it
//! joins the active one and restarts its 24-hour clock. An agent's accepted reply is reported
//! to routing (first response, first-responder ownership). Both run from outbox events, so a
//! crash or an unavailable routing service delays them and loses nothing; both are idempotent
//! (the message's conversation is set once; routing deduplicates by message id). A message
//! delivered after its 24-hour window closed (with no active conversation to join) is kept
//! in the contact's history and starts no conversation.

use switchboard_runtime::{
    bus::{ConsumerGroup, EventBus, Unhandled},
    ids::{CampaignId, ChannelAccountId, ContactId, ConversationId, MessageId, OrganizationId},
    outbox::Event,
};
use tokio_util::sync::CancellationToken;

use super::{Channel, routing::StartRequest};
use crate::{
    error::{ChannelError, Reason},
    store::messages::topics,
};

/// The consumer group that turns messages into conversations; declared before any service
/// starts.
pub const CONVERSATION_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "channel.conversations",
    topics: &[topics::MESSAGE_RECEIVED, topics::MESSAGE_SENT],
};

/// How far WhatsApp's clock (whole seconds) may trail ours when telling whether a reply came
/// after the campaign message it answers.
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

fn field<T: std::str::FromStr>(event: &Event, name: &str) -> Option<T> {
    event.payload.get(name)?.as_str()?.parse().ok()
}

impl Channel {
    /// Handles one event of [`CONVERSATION_EVENTS`].
    pub async fn on_conversation_event(&self, event: &Event) -> Result<(), ChannelError> {
        let Ok(org) = OrganizationId::parse(&event.organization_id) else {
            return Ok(());
        };
        match event.topic.as_str() {
            topics::MESSAGE_RECEIVED => self.route_customer_message(&org, event).await,
            topics::MESSAGE_SENT => {
                let agent = event
                    .payload
                    .get("agent_id")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                let is_agent =
                    event.payload.get("sender_kind").and_then(|v| v.as_str()) == Some("agent");
                let (Some(message), Some(conversation)) = (
                    field::<MessageId>(event, "message_id"),
                    field::<ConversationId>(event, "conversation_id"),
                ) else {
                    return Ok(());
                };
                if !is_agent || agent.is_empty() {
                    return Ok(());
                }
                let sent_ms = event
                    .payload
                    .get("sent_ms")
                    .and_then(|v| v.as_i64())
                    .unwrap_or_default();
                match self
                    .routing
                    .record_agent_reply(&org, &conversation, agent, &message, sent_ms)
                    .await
                {
                    Err(ChannelError::NotFound { .. }) => Ok(()),
                    other => other,
                }
            }
            _ => Ok(()),
        }
    }

    async fn route_customer_message(
        &self,
        org: &OrganizationId,
        event: &Event,
    ) -> Result<(), ChannelError> {
        let routable = event
            .payload
            .get("routable")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let (Some(message), Some(account), Some(contact)) = (
            field::<MessageId>(event, "message_id"),
            field::<ChannelAccountId>(event, "channel_account_id"),
            field::<ContactId>(event, "contact_id"),
        ) else {
            return Ok(());
        };
        if !routable {
            return Ok(());
        }
        let stored = self.store.message(org, &message).await?;
        if stored.conversation_id.is_some() {
            return Ok(());
        }
        let message_ms = event
            .payload
            .get("message_ms")
            .and_then(|v| v.as_i64())
            .unwrap_or_else(|| self.clock.now_ms());
        let campaign = match field::<CampaignId>(event, "campaign_id") {
            Some(campaign) => {
                let sent_ms = event
                    .payload
                    .get("campaign_sent_ms")
                    .and_then(|v| v.as_i64())
                    .unwrap_or_default();
                self.answered_campaign(org, &campaign, &account, sent_ms, message_ms)
                    .await?
            }
            None => None,
        };
        let started = self
            .routing
            .start_conversation(StartRequest {
                org,
                account: &account,
                contact: &contact,
                campaign: campaign.as_ref(),
                first_message: &message,
                first_message_ms: message_ms,
                assign_to: None,
            })
            .await;
        let (conversation, created) = match started {
            Ok(started) => started,
            // Delivered after its 24 hours (Meta redelivers for days): it stays in the
            // contact's history, and takes no agent's slot for a conversation born expired.
            Err(ChannelError::FailedPrecondition {
                reason: Some(Reason::OutsideWindow),
                ..
            }) => {
                tracing::info!(%message, message_ms, "customer message arrived after its 24-hour window: stored, not routed");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.store
            .set_conversation(org, &message, &conversation.id)
            .await?;
        // The campaign message it answers joins the conversation too (it had none).
        if campaign.is_some()
            && let Some(answered) = field::<MessageId>(event, "campaign_message_id")
        {
            self.store
                .set_conversation(org, &answered, &conversation.id)
                .await?;
        }
        tracing::debug!(%message, conversation = %conversation.id, created, "customer message routed");
        Ok(())
    }

    /// The campaign a customer message answers: its campaign continues with human service, was
    /// sent from this number, and the message came within its reply window.
    async fn answered_campaign(
        &self,
        org: &OrganizationId,
        campaign: &CampaignId,
        account: &ChannelAccountId,
        sent_ms: i64,
        message_ms: i64,
    ) -> Result<Option<CampaignId>, ChannelError> {
        let view = match self.routing.campaign(org, campaign).await {
            Ok(v) => v,
            Err(ChannelError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let answers = !view.archived
            && view.continue_with_human
            && &view.channel_account_id == account
            // WhatsApp's timestamps have whole seconds and another clock: allow some skew.
            && message_ms >= sent_ms - CLOCK_SKEW_MS
            && message_ms <= sent_ms.saturating_add(view.reply_window_ms);
        Ok(answers.then(|| campaign.clone()))
    }

    /// Consumes [`CONVERSATION_EVENTS`] until `shutdown`. A failed event is not acknowledged,
    /// so the bus delivers it again; one that can never succeed is dropped and logged.
    pub async fn run_conversation_consumer(
        self,
        bus: std::sync::Arc<dyn EventBus>,
        metrics: switchboard_runtime::metrics::Metrics,
        consumer: String,
        concurrency: usize,
        shutdown: CancellationToken,
    ) {
        let app = &self;
        switchboard_runtime::bus::run_consumers(
            bus,
            &metrics,
            switchboard_runtime::bus::Consumers {
                group: CONVERSATION_EVENTS,
                consumer,
                concurrency,
                span_name: "channel.conversation_event",
            },
            shutdown,
            |event| async move {
                app.on_conversation_event(&event).await.map_err(|e| {
                    if is_retryable(&e) {
                        Unhandled::Retry(e.to_string())
                    } else {
                        Unhandled::Drop(e.to_string())
                    }
                })
            },
        )
        .await;
    }
}

/// Outages are retried; a refusal (bad ids, a deleted organization) would fail forever.
fn is_retryable(err: &ChannelError) -> bool {
    matches!(
        err,
        ChannelError::Unavailable(_)
            | ChannelError::Storage(_)
            | ChannelError::FailedPrecondition { .. }
    )
}
