//! Domain ↔ proto conversions.

use prost::Message as _;
use switchboard_proto::{
    channel::v1::{MessageReceived, MessageSent},
    events::TypedEvent,
    integrations::v1::{self as pb, feed_event::Payload},
    prost_types::Timestamp,
    routing::v1::{ConversationChanged, WorkItemChanged},
    ticketing::v1::TicketLinkChanged,
};

use crate::domain::{
    FeedEntry,
    webhook::{Attempt, Delivery, DeliveryStatus, Endpoint, Trigger},
};

pub fn ts(ms: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    })
}

/// The typed payload of a feed entry (`None` when it does not decode: it was checked before
/// it was appended, so only a future topic gets here).
fn payload(topic: &str, bytes: &[u8]) -> Option<Payload> {
    Some(match topic {
        t if t == ConversationChanged::TOPIC => {
            Payload::ConversationChanged(ConversationChanged::decode(bytes).ok()?)
        }
        t if t == WorkItemChanged::TOPIC => {
            Payload::WorkItemChanged(WorkItemChanged::decode(bytes).ok()?)
        }
        t if t == TicketLinkChanged::TOPIC => {
            Payload::TicketLinkChanged(TicketLinkChanged::decode(bytes).ok()?)
        }
        t if t == MessageReceived::TOPIC => {
            Payload::MessageReceived(MessageReceived::decode(bytes).ok()?)
        }
        t if t == MessageSent::TOPIC => Payload::MessageSent(MessageSent::decode(bytes).ok()?),
        _ => return None,
    })
}

pub fn feed_event(e: &FeedEntry) -> pb::FeedEvent {
    pb::FeedEvent {
        event_id: e.event_id.clone(),
        topic: e.topic.clone(),
        organization_id: e.organization_id.clone(),
        aggregate_id: e.aggregate_id.clone(),
        occurred_at: ts(e.occurred_ms),
        cursor: e.cursor().encode(),
        payload: payload(&e.topic, &e.payload),
    }
}

pub fn endpoint(e: &Endpoint) -> pb::WebhookEndpoint {
    pb::WebhookEndpoint {
        id: e.id.clone(),
        organization_id: e.organization_id.clone(),
        url: e.url.clone(),
        topics: e.topics.0.clone(),
        description: e.description.clone(),
        enabled: e.enabled,
        create_time: ts(e.create_ms),
        update_time: ts(e.update_ms),
    }
}

pub fn status_to_proto(s: DeliveryStatus) -> pb::DeliveryStatus {
    match s {
        DeliveryStatus::Pending => pb::DeliveryStatus::Pending,
        DeliveryStatus::Delivered => pb::DeliveryStatus::Delivered,
        DeliveryStatus::Failed => pb::DeliveryStatus::Failed,
    }
}

pub fn status_from_proto(s: pb::DeliveryStatus) -> Option<DeliveryStatus> {
    match s {
        pb::DeliveryStatus::Pending => Some(DeliveryStatus::Pending),
        pb::DeliveryStatus::Delivered => Some(DeliveryStatus::Delivered),
        pb::DeliveryStatus::Failed => Some(DeliveryStatus::Failed),
        pb::DeliveryStatus::Unspecified => None,
    }
}

fn attempt(a: &Attempt) -> pb::WebhookAttempt {
    pb::WebhookAttempt {
        attempt_time: ts(a.attempt_ms),
        status_code: a.status_code,
        error: a.error.clone(),
        duration_ms: a.duration_ms,
        trigger: match a.trigger {
            Trigger::Scheduled => pb::AttemptTrigger::Scheduled,
            Trigger::Replay => pb::AttemptTrigger::Replay,
        } as i32,
    }
}

pub fn delivery(d: &Delivery) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        id: d.id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        event_id: d.event_id.clone(),
        topic: d.topic.clone(),
        status: status_to_proto(d.status) as i32,
        attempt_count: d.attempt_count,
        next_attempt_time: d.next_attempt_ms.and_then(ts),
        create_time: ts(d.create_ms),
        attempts: d.attempts.iter().map(attempt).collect(),
    }
}
