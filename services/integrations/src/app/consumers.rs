//! The `integrations.feed` consumer group: every conversation transition, work item, ticket
//! link and message event is appended once (idempotent by event id, `processed_events` written
//! in the append's transaction) to its organization's feed, with a pending webhook delivery
//! for each enabled endpoint of the organization whose topics match, in the same transaction.

use std::sync::Arc;

use switchboard_proto::{
    channel::v1::{MessageReceived, MessageSent},
    events::TypedEvent,
    routing::v1::{ConversationChanged, WorkItemChanged},
    ticketing::v1::TicketLinkChanged,
};
use switchboard_runtime::{
    bus::{ConsumerGroup, Consumers, EventBus, Unhandled, run_consumers},
    dead_letters::DeadLetterPolicy,
    ids::OrganizationId,
    metrics::Metrics,
    outbox::{Event, dedup},
};
use tokio_util::sync::CancellationToken;

use super::Integrations;
use crate::{
    domain::{self, FeedEntry},
    error::IntegrationsError,
    store::NewEntry,
};

/// Everything the feed carries.
pub const FEED_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "integrations.feed",
    topics: &[
        ConversationChanged::TOPIC,
        WorkItemChanged::TOPIC,
        TicketLinkChanged::TOPIC,
        MessageReceived::TOPIC,
        MessageSent::TOPIC,
    ],
};

/// Checks `event`'s payload is the message of its topic (an undecodable event is refused,
/// never appended for readers to choke on).
fn check_payload(event: &Event) -> Result<(), Unhandled> {
    let t = event.topic.as_str();
    let result = if t == ConversationChanged::TOPIC {
        event.decode::<ConversationChanged>().map(drop)
    } else if t == WorkItemChanged::TOPIC {
        event.decode::<WorkItemChanged>().map(drop)
    } else if t == TicketLinkChanged::TOPIC {
        event.decode::<TicketLinkChanged>().map(drop)
    } else if t == MessageReceived::TOPIC {
        event.decode::<MessageReceived>().map(drop)
    } else if t == MessageSent::TOPIC {
        event.decode::<MessageSent>().map(drop)
    } else {
        return Err(Unhandled::Drop(format!(
            "event {} on {t}: not a feed topic",
            event.id
        )));
    };
    result.map_err(Unhandled::from)
}

impl Integrations {
    /// Appends one event to its organization's feed (once, whatever the redeliveries), with
    /// its webhook deliveries. `None` when it was appended before.
    pub async fn append(&self, event: &Event) -> Result<Option<FeedEntry>, IntegrationsError> {
        let org: OrganizationId = event
            .organization_id
            .parse()
            .map_err(|_| IntegrationsError::field("organization_id", "not an organization id"))?;
        let tx = self.store.begin().await?;
        if !dedup::first_delivery(&tx, FEED_EVENTS.name, &event.id).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        // The organization's counter row stays locked until commit: see Store::next_seq.
        let seq = self.store.next_seq(&tx, &org).await?;
        let now = self.clock.now_ms();
        let entry = self
            .store
            .insert_entry(
                &tx,
                &org,
                seq,
                &NewEntry {
                    event_id: event.id.to_string(),
                    topic: event.topic.clone(),
                    aggregate_id: event.aggregate_id.clone(),
                    payload: event.payload.clone(),
                    occurred_ms: event.occurred_at.timestamp_millis(),
                },
                now,
            )
            .await?;
        let due = now + self.schedule().first().as_millis() as i64;
        let mut deliveries = 0;
        for endpoint in self.store.enabled_endpoints(&tx, &org).await? {
            if endpoint.topics.matches(&entry.topic) {
                self.store
                    .insert_delivery(&tx, &entry, &endpoint.id, due)
                    .await?;
                deliveries += 1;
            }
        }
        tx.commit().await?;
        self.metrics
            .feed_events
            .with_label_values(&[entry.topic.as_str()])
            .inc();
        self.wakers.feed.send_modify(|n| *n = n.wrapping_add(1));
        if deliveries > 0 {
            self.wakers.dispatcher.notify_one();
        }
        Ok(Some(entry))
    }

    /// Handles one event of the group.
    pub async fn on_feed_event(&self, event: &Event) -> Result<(), Unhandled> {
        if !domain::is_feed_topic(&event.topic) {
            return Err(Unhandled::Drop(format!(
                "{} is not a feed topic",
                event.topic
            )));
        }
        check_payload(event)?;
        match self.append(event).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_retryable() => Err(Unhandled::Retry(e.to_string())),
            Err(e @ IntegrationsError::Storage(_)) => Err(Unhandled::Retry(e.to_string())),
            Err(e) => Err(Unhandled::Drop(format!("event {}: {e}", event.id))),
        }
    }

    /// Runs the feed's consumer until `shutdown`. One consumer per replica: events reach the
    /// feed in the order the bus hands them over (replicas still interleave).
    pub async fn run_consumers(
        self,
        bus: Arc<dyn EventBus>,
        metrics: Metrics,
        consumer: String,
        dead_letters: DeadLetterPolicy,
        shutdown: CancellationToken,
    ) {
        let spec = Consumers {
            group: FEED_EVENTS,
            consumer,
            concurrency: 1,
            span_name: "integrations.feed",
            dead_letters,
        };
        run_consumers(bus, &metrics, spec, shutdown, |event| {
            let app = self.clone();
            async move { app.on_feed_event(&event).await }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_reads_exactly_the_feed_topics() {
        assert_eq!(FEED_EVENTS.topics, domain::FEED_TOPICS);
    }
}
