//! Ticketing's consumer groups: `ticketing.messages` proposes the tickets customers name in
//! their messages; `ticketing.conversations` appends a closed, finalized or expired
//! conversation's history to its ticket. Both are idempotent per event (`processed_events`
//! written in the effect's transaction) and retry while a dependency is down.

use std::sync::Arc;

use switchboard_proto::{
    channel::v1::MessageAttached,
    events::TypedEvent,
    routing::v1::{ConversationChanged, ConversationState, TransitionCause},
};
use switchboard_runtime::{
    bus::{ConsumerGroup, Consumers, EventBus, Unhandled, run_consumers},
    dead_letters::DeadLetterPolicy,
    ids::{ConversationId, OrganizationId},
    metrics::Metrics,
    outbox::{Event, dedup},
};
use tokio_util::sync::CancellationToken;

use super::{Ticketing, history::Ending, proposals::ProposalRequest};
use crate::{
    domain::{ProposalSource, reference::find_ticket_references},
    error::TicketingError,
};

/// Customer messages that may name a ticket.
pub const MESSAGE_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "ticketing.messages",
    topics: &[MessageAttached::TOPIC],
};

/// Conversation changes that may end a linked conversation.
pub const CONVERSATION_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "ticketing.conversations",
    topics: &[ConversationChanged::TOPIC],
};

fn unhandled(err: TicketingError) -> Unhandled {
    if err.is_retryable() {
        Unhandled::Retry(err.to_string())
    } else {
        Unhandled::Drop(err.to_string())
    }
}

fn required<T: std::str::FromStr>(event: &Event, name: &str, value: &str) -> Result<T, Unhandled> {
    value.parse().map_err(|_| {
        Unhandled::Drop(format!(
            "event {} on {}: bad {name} {value:?}",
            event.id, event.topic
        ))
    })
}

/// Whether a conversation change ends it (its history is due).
pub fn ends_conversation(changed: &ConversationChanged) -> bool {
    changed.state == ConversationState::Closed as i32
        || changed.state == ConversationState::Expired as i32
        || changed.cause == TransitionCause::Finalized as i32
}

impl Ticketing {
    /// Handles one `channel.message.attached` event: proposes each ticket of the organization
    /// the text names; numbers naming no ticket propose nothing.
    pub async fn on_message_attached(&self, event: &Event) -> Result<(), Unhandled> {
        let org: OrganizationId = required(event, "organization id", &event.organization_id)?;
        let attached = event.decode::<MessageAttached>()?;
        let references = find_ticket_references(&attached.text);
        if references.is_empty() {
            return Ok(());
        }
        let conversation: ConversationId =
            required(event, "conversation_id", &attached.conversation_id)?;
        let result: Result<Vec<&'static str>, TicketingError> = async {
            let tx = self.store.begin().await?;
            if !dedup::first_delivery(&tx, MESSAGE_EVENTS.name, &event.id).await? {
                tx.rollback().await?;
                return Ok(Vec::new());
            }
            let mut outcomes = Vec::new();
            for reference in references {
                let req = ProposalRequest {
                    conversation: conversation.clone(),
                    contact_id: attached.contact_id.clone(),
                    ticket_number: reference.number,
                    source: ProposalSource::CustomerMessage,
                    message_id: attached.message_id.clone(),
                    evidence: reference.evidence,
                };
                match self.propose_in(&tx, &org, &req).await {
                    Ok((_, true)) => outcomes.push("proposed"),
                    Ok((_, false)) => outcomes.push("existing"),
                    Err(TicketingError::NotFound { .. }) => outcomes.push("unknown_number"),
                    // History appended already: a late message proposes nothing.
                    Err(TicketingError::FailedPrecondition { .. }) => outcomes.push("too_late"),
                    Err(e) => return Err(e),
                }
            }
            self.store.commit(tx).await?;
            Ok(outcomes)
        }
        .await;
        for outcome in result.map_err(unhandled)? {
            self.metrics
                .proposals
                .with_label_values(&[ProposalSource::CustomerMessage.as_str(), outcome])
                .inc();
        }
        Ok(())
    }

    /// Handles one `routing.conversation.changed` event: an ended, linked conversation gets
    /// its history appended once.
    pub async fn on_conversation_changed(&self, event: &Event) -> Result<(), Unhandled> {
        let org: OrganizationId = required(event, "organization id", &event.organization_id)?;
        let changed = event.decode::<ConversationChanged>()?;
        if !ends_conversation(&changed) {
            return Ok(());
        }
        let conversation: ConversationId =
            required(event, "conversation_id", &changed.conversation_id)?;
        // Cheap skip before asking routing: nothing linked, nothing to append.
        match self
            .store
            .link(&self.store.db, &org, conversation.as_str())
            .await
        {
            Ok(None) => return Ok(()),
            Ok(Some(l)) if l.history_append_ms.is_some() => return Ok(()),
            Ok(Some(_)) => {}
            Err(e) => return Err(unhandled(e.into())),
        }
        let ending = match self.directory.conversation(&org, &conversation).await {
            Ok(Some(info)) => Ending {
                channel_account_id: info.channel_account_id,
                closed_by: info.closed_by,
                start_ms: info.start_ms,
                end_ms: info.end_ms,
            },
            Ok(None) => Ending {
                channel_account_id: changed.channel_account_id.clone(),
                ..Ending::default()
            },
            Err(e) => return Err(unhandled(e)),
        };
        match self
            .append_history(
                &org,
                &conversation,
                ending,
                Some((CONVERSATION_EVENTS.name, &event.id)),
            )
            .await
        {
            Ok(_) => Ok(()),
            // The channel service does not know it: nothing to append, ever.
            Err(e @ TicketingError::NotFound { .. }) => Err(Unhandled::Drop(e.to_string())),
            Err(e) => Err(unhandled(e)),
        }
    }

    /// Runs both consumer groups until `shutdown`.
    pub async fn run_consumers(
        self,
        bus: Arc<dyn EventBus>,
        metrics: Metrics,
        consumer: String,
        dead_letters: DeadLetterPolicy,
        shutdown: CancellationToken,
    ) {
        let messages = {
            let app = self.clone();
            let spec = Consumers {
                group: MESSAGE_EVENTS,
                consumer: format!("{consumer}-messages"),
                concurrency: 1,
                span_name: "ticketing.messages",
                dead_letters: dead_letters.clone(),
            };
            let bus = bus.clone();
            let metrics = metrics.clone();
            let shutdown = shutdown.clone();
            async move {
                run_consumers(bus, &metrics, spec, shutdown, |event| {
                    let app = app.clone();
                    async move { app.on_message_attached(&event).await }
                })
                .await;
            }
        };
        let conversations = {
            let app = self.clone();
            let spec = Consumers {
                group: CONVERSATION_EVENTS,
                consumer: format!("{consumer}-conversations"),
                concurrency: 2,
                span_name: "ticketing.conversations",
                dead_letters,
            };
            async move {
                run_consumers(bus, &metrics, spec, shutdown, |event| {
                    let app = app.clone();
                    async move { app.on_conversation_changed(&event).await }
                })
                .await;
            }
        };
        tokio::join!(messages, conversations);
    }
}
