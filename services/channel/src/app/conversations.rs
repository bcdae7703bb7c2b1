//! From stored messages to routing's conversations: a customer message without an active
//! conversation on its number starts one (with the campaign it answers, if any); otherwise it
//! joins the active one and restarts its 24-hour clock. An agent's accepted reply is reported
//! to routing (first response, first-responder ownership). Both run from outbox events, so a
//! crash or an unavailable routing service delays them and loses nothing; both are idempotent
//! (the message's conversation is set once; routing deduplicates by message id). A message
//! delivered after its 24-hour window closed (with no active conversation to join) is kept
//! in the contact's history and starts no conversation.

use switchboard_proto::{
    channel::v1::{MessageReceived, MessageSent},
    common::v1::ActorKind,
    events::TypedEvent,
};
use switchboard_runtime::{
    bus::{ConsumerGroup, EventBus, Unhandled},
    dead_letters::DeadLetterPolicy,
    ids::{CampaignId, ChannelAccountId, ContactId, ConversationId, MessageId, OrganizationId},
    outbox::Event,
};
use tokio_util::sync::CancellationToken;

use super::{Channel, routing::StartRequest};
use crate::error::{ChannelError, Reason};

/// The consumer group that turns messages into conversations; declared before any service
/// starts.
pub const CONVERSATION_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "channel.conversations",
    topics: &[MessageReceived::TOPIC, MessageSent::TOPIC],
};

/// How far WhatsApp's clock (whole seconds) may trail ours when telling whether a reply came
/// after the campaign message it answers.
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// A required id of an event; a bad one makes the event malformed (dead-lettered).
fn required<T: std::str::FromStr>(event: &Event, name: &str, value: &str) -> Result<T, Unhandled> {
    value.parse().map_err(|_| {
        Unhandled::Drop(format!(
            "event {} on {}: bad {name} {value:?}",
            event.id, event.topic
        ))
    })
}

/// An optional id: empty is none.
fn optional<T: std::str::FromStr>(
    event: &Event,
    name: &str,
    value: &str,
) -> Result<Option<T>, Unhandled> {
    if value.is_empty() {
        return Ok(None);
    }
    required(event, name, value).map(Some)
}

/// Outages are retried (and dead-lettered if they outlast the attempts); a refusal (bad ids, a
/// deleted organization) would fail forever and is dead-lettered at once.
fn unhandled(err: ChannelError) -> Unhandled {
    if is_retryable(&err) {
        Unhandled::Retry(err.to_string())
    } else {
        Unhandled::Drop(err.to_string())
    }
}

impl Channel {
    /// Handles one event of [`CONVERSATION_EVENTS`]; an event it cannot decode is refused for
    /// good ([`Unhandled::Drop`]: the consumer loop dead-letters it).
    pub async fn on_conversation_event(&self, event: &Event) -> Result<(), Unhandled> {
        let org: OrganizationId = required(event, "organization id", &event.organization_id)?;
        if event.topic == MessageReceived::TOPIC {
            let received = event.decode::<MessageReceived>()?;
            return self.route_customer_message(&org, event, received).await;
        }
        if event.topic == MessageSent::TOPIC {
            let sent = event.decode::<MessageSent>()?;
            let message: MessageId = required(event, "message_id", &sent.message_id)?;
            let conversation: Option<ConversationId> =
                optional(event, "conversation_id", &sent.conversation_id)?;
            let is_agent = sent.sender_kind == ActorKind::Agent as i32;
            let Some(conversation) = conversation else {
                return Ok(());
            };
            if !is_agent || sent.agent_id.is_empty() {
                return Ok(());
            }
            return match self
                .routing
                .record_agent_reply(&org, &conversation, &sent.agent_id, &message, sent.sent_ms)
                .await
            {
                Ok(()) | Err(ChannelError::NotFound { .. }) => Ok(()),
                Err(e) => Err(unhandled(e)),
            };
        }
        Err(Unhandled::Drop(format!(
            "event {} has topic {}, which {} does not consume",
            event.id, event.topic, CONVERSATION_EVENTS.name
        )))
    }

    async fn route_customer_message(
        &self,
        org: &OrganizationId,
        event: &Event,
        received: MessageReceived,
    ) -> Result<(), Unhandled> {
        let message: MessageId = required(event, "message_id", &received.message_id)?;
        let account: ChannelAccountId =
            required(event, "channel_account_id", &received.channel_account_id)?;
        let contact: ContactId = required(event, "contact_id", &received.contact_id)?;
        if !received.routable {
            return Ok(());
        }
        self.route_message(org, &received, &message, &account, &contact)
            .await
            .map_err(unhandled)
    }

    async fn route_message(
        &self,
        org: &OrganizationId,
        received: &MessageReceived,
        message: &MessageId,
        account: &ChannelAccountId,
        contact: &ContactId,
    ) -> Result<(), ChannelError> {
        let stored = self.store.message(org, message).await?;
        if stored.conversation_id.is_some() {
            return Ok(());
        }
        let message_ms = if received.message_ms > 0 {
            received.message_ms
        } else {
            self.clock.now_ms()
        };
        let campaign = match received.campaign_id.parse::<CampaignId>().ok() {
            Some(campaign) => {
                self.answered_campaign(
                    org,
                    &campaign,
                    account,
                    received.campaign_sent_ms,
                    message_ms,
                )
                .await?
            }
            None => None,
        };
        let started = self
            .routing
            .start_conversation(StartRequest {
                org,
                account,
                contact,
                campaign: campaign.as_ref(),
                first_message: message,
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
            .set_conversation(org, message, &conversation.id)
            .await?;
        // The campaign message it answers joins the conversation too (it had none).
        if campaign.is_some()
            && let Ok(answered) = received.campaign_message_id.parse::<MessageId>()
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
    /// so the bus delivers it again; one that can never succeed (or keeps failing) is
    /// dead-lettered per `dead_letters`.
    pub async fn run_conversation_consumer(
        self,
        bus: std::sync::Arc<dyn EventBus>,
        metrics: switchboard_runtime::metrics::Metrics,
        consumer: String,
        concurrency: usize,
        dead_letters: DeadLetterPolicy,
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
                dead_letters,
            },
            shutdown,
            |event| async move { app.on_conversation_event(&event).await },
        )
        .await;
    }
}

/// Outages and races (a precondition another event will meet) are worth another delivery.
fn is_retryable(err: &ChannelError) -> bool {
    matches!(
        err,
        ChannelError::Unavailable(_)
            | ChannelError::Storage(_)
            | ChannelError::FailedPrecondition { .. }
    )
}
