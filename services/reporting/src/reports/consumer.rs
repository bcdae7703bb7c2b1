//! The `reporting.facts` consumer group: routing's conversation changes and channel's
//! customer and agent messages become facts. Idempotent per event (`processed_events` written
//! in the facts' transaction), retried while a dependency is down, dead-lettered when an event
//! can never be applied (ticketing's pattern).

use std::sync::Arc;

use switchboard_proto::{
    channel::v1::{MessageAttached, MessageSent},
    common::v1::ActorKind,
    events::TypedEvent,
    routing::v1::{ConversationChanged, ConversationState, TransitionCause},
};
use switchboard_runtime::{
    bus::{ConsumerGroup, Consumers, EventBus, Unhandled, run_consumers},
    dead_letters::DeadLetterPolicy,
    metrics::Metrics,
    outbox::{Event, dedup},
};
use tokio_util::sync::CancellationToken;

use super::{
    Reports,
    calendar::business_ms,
    error::ReportsError,
    facts::{self, Cause, Fact, Snapshot, State, Tracked},
};

/// Everything facts are made of.
pub const FACT_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "reporting.facts",
    topics: &[
        ConversationChanged::TOPIC,
        MessageAttached::TOPIC,
        MessageSent::TOPIC,
    ],
};

fn unhandled(err: ReportsError) -> Unhandled {
    if err.is_retryable() {
        Unhandled::Retry(err.to_string())
    } else {
        Unhandled::Drop(err.to_string())
    }
}

fn snapshot(c: &ConversationChanged) -> Snapshot {
    let state = match ConversationState::try_from(c.state).unwrap_or_default() {
        ConversationState::Queued => State::Queued,
        ConversationState::Assigned => State::Assigned,
        ConversationState::Open => State::Open,
        ConversationState::Closed => State::Closed,
        ConversationState::Expired => State::Expired,
        ConversationState::Unspecified => State::Unknown,
    };
    let cause = match TransitionCause::try_from(c.cause).unwrap_or_default() {
        TransitionCause::Transferred => Cause::Transferred,
        TransitionCause::OfferTimeout => Cause::OfferTimeout,
        _ => Cause::Other,
    };
    Snapshot {
        state,
        cause,
        holder: c.assignee_agent_id.clone(),
        previous_holder: c.previous_agent_id.clone(),
        team_id: c.team_id.clone(),
        channel_account_id: c.channel_account_id.clone(),
        contact_id: c.contact_id.clone(),
        campaign_id: c.campaign_id.clone(),
        version: c.version,
        created_ms: c.created_ms,
        queued_ms: c.queued_ms,
        changed_ms: c.changed_ms,
        transfer_count: i64::from(c.transfer_count),
        assigned_ms: c.assigned_ms,
        ended_ms: c.ended_ms,
    }
}

/// What one event does to one conversation.
enum Effect {
    Snapshot(Snapshot),
    CustomerMessage(i64),
    AgentMessage { agent: String, sent_ms: i64 },
}

impl Reports {
    /// Handles one event of [`FACT_EVENTS`].
    pub async fn on_fact_event(&self, event: &Event) -> Result<(), Unhandled> {
        let org = event.organization_id.clone();
        if org.is_empty() {
            return Err(Unhandled::Drop(format!(
                "event {} on {}: no organization",
                event.id, event.topic
            )));
        }
        let (conversation, effect) = match event.topic.as_str() {
            ConversationChanged::TOPIC => {
                let c = event.decode::<ConversationChanged>()?;
                (
                    c.conversation_id.clone(),
                    Some(Effect::Snapshot(snapshot(&c))),
                )
            }
            MessageAttached::TOPIC => {
                let m = event.decode::<MessageAttached>()?;
                let ms = if m.message_ms > 0 {
                    m.message_ms
                } else {
                    event.occurred_at.timestamp_millis()
                };
                (m.conversation_id, Some(Effect::CustomerMessage(ms)))
            }
            MessageSent::TOPIC => {
                let m = event.decode::<MessageSent>()?;
                let by_agent = m.sender_kind == ActorKind::Agent as i32 && !m.agent_id.is_empty();
                let sent_ms = if m.sent_ms > 0 {
                    m.sent_ms
                } else {
                    event.occurred_at.timestamp_millis()
                };
                (
                    m.conversation_id,
                    by_agent.then_some(Effect::AgentMessage {
                        agent: m.agent_id,
                        sent_ms,
                    }),
                )
            }
            other => {
                return Err(Unhandled::Drop(format!(
                    "event {}: unexpected topic {other}",
                    event.id
                )));
            }
        };
        let effect = if conversation.is_empty() {
            None
        } else {
            effect
        };
        self.apply(&org, &conversation, event, effect)
            .await
            .map_err(unhandled)?
    }

    async fn apply(
        &self,
        org: &str,
        conversation: &str,
        event: &Event,
        effect: Option<Effect>,
    ) -> Result<Result<(), Unhandled>, ReportsError> {
        let tx = self.store.begin().await?;
        if !dedup::first_delivery(&tx, FACT_EVENTS.name, &event.id).await? {
            tx.rollback().await?;
            return Ok(Ok(()));
        }
        let Some(effect) = effect else {
            tx.commit().await?;
            return Ok(Ok(()));
        };
        let previous = self.store.tracked(&tx, org, conversation).await?;
        let (tracked, new_facts, tags_due): (Tracked, Vec<Fact>, bool) = match effect {
            Effect::Snapshot(s) => {
                let applied = facts::on_snapshot(previous, &s);
                (applied.tracked, applied.facts, applied.started)
            }
            Effect::CustomerMessage(ms) => {
                (facts::on_customer_message(previous, ms), vec![], false)
            }
            Effect::AgentMessage { agent, sent_ms } => match previous.filter(Tracked::is_known) {
                Some(t) => {
                    let (t, f) = facts::on_agent_message(t, &agent, sent_ms);
                    (t, f, false)
                }
                // Its conversation's first change was not applied yet: later.
                None => {
                    tx.rollback().await?;
                    return Ok(Err(Unhandled::Retry(format!(
                        "conversation {conversation} not known yet"
                    ))));
                }
            },
        };
        if tags_due {
            let tags = self
                .directory
                .contact_tags(org, &tracked.contact_id)
                .await?;
            self.store.save_tags(&tx, org, conversation, &tags).await?;
        }
        let schedule = if new_facts.iter().any(|f| f.from_ms.is_some()) {
            self.calendar
                .schedule(org, &tracked.channel_account_id)
                .await?
        } else {
            None
        };
        for fact in &new_facts {
            let business = match (&schedule, fact.from_ms) {
                (Some(s), Some(from)) => Some(business_ms(s, from, fact.instant_ms)),
                _ => None,
            };
            self.store
                .insert_fact(&tx, event.id.as_str(), org, conversation, fact, business)
                .await?;
        }
        self.store
            .save_tracked(&tx, org, conversation, &tracked)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Runs the consumer group until `shutdown`. One consumer: a conversation's events are
    /// applied in the order they arrive.
    pub async fn run_consumers(
        self,
        bus: Arc<dyn EventBus>,
        metrics: Metrics,
        consumer: String,
        dead_letters: DeadLetterPolicy,
        shutdown: CancellationToken,
    ) {
        let spec = Consumers {
            group: FACT_EVENTS,
            consumer,
            concurrency: 1,
            span_name: "reporting.facts",
            dead_letters,
        };
        run_consumers(bus, &metrics, spec, shutdown, |event| {
            let app = self.clone();
            async move { app.on_fact_event(&event).await }
        })
        .await;
    }
}
