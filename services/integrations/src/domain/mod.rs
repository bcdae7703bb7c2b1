//! Integrations' domain, free of transport and storage types: which topics the feed carries,
//! feed cursors, webhook endpoints and deliveries, the retry schedule, secrets and signatures.

pub mod cursor;
pub mod webhook;

use switchboard_proto::{
    channel::v1::{MessageReceived, MessageSent},
    events::TypedEvent,
    routing::v1::{ConversationChanged, WorkItemChanged},
    ticketing::v1::TicketLinkChanged,
};

/// Every topic the feed carries: conversation transitions (routing, assignment, transfer,
/// close...), work items, ticket links and messages in both directions.
pub const FEED_TOPICS: [&str; 5] = [
    ConversationChanged::TOPIC,
    WorkItemChanged::TOPIC,
    TicketLinkChanged::TOPIC,
    MessageReceived::TOPIC,
    MessageSent::TOPIC,
];

/// The proto message (fully qualified name) of each feed topic.
pub fn message_name(topic: &str) -> Option<&'static str> {
    Some(match topic {
        t if t == ConversationChanged::TOPIC => "switchboard.routing.v1.ConversationChanged",
        t if t == WorkItemChanged::TOPIC => "switchboard.routing.v1.WorkItemChanged",
        t if t == TicketLinkChanged::TOPIC => "switchboard.ticketing.v1.TicketLinkChanged",
        t if t == MessageReceived::TOPIC => "switchboard.channel.v1.MessageReceived",
        t if t == MessageSent::TOPIC => "switchboard.channel.v1.MessageSent",
        _ => return None,
    })
}

/// Whether `topic` is one the feed carries.
pub fn is_feed_topic(topic: &str) -> bool {
    FEED_TOPICS.contains(&topic)
}

/// A topic filter: empty means every feed topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topics(pub Vec<String>);

impl Topics {
    pub fn matches(&self, topic: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t == topic)
    }
}

/// The role of the caller, as routing knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Agent,
    Operator,
    Admin,
}

/// One event of an organization's feed, as appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub organization_id: String,
    /// Position in the organization's feed: 1, 2, 3… without gaps, in commit order.
    pub seq: i64,
    pub event_id: String,
    pub topic: String,
    pub aggregate_id: String,
    /// The topic's proto message, protobuf encoded (as on the bus).
    pub payload: Vec<u8>,
    pub occurred_ms: i64,
    /// When it was appended (the cursor's stamp).
    pub append_ms: i64,
}

impl FeedEntry {
    pub fn cursor(&self) -> cursor::Cursor {
        cursor::Cursor {
            seq: self.seq,
            stamp_ms: self.append_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feed_topic_names_a_message_of_the_descriptor_set() {
        let pool = prost_reflect::DescriptorPool::decode(switchboard_proto::FILE_DESCRIPTOR_SET)
            .expect("descriptors");
        for topic in FEED_TOPICS {
            let name = message_name(topic).expect("named");
            assert!(pool.get_message_by_name(name).is_some(), "{name}");
        }
        assert!(message_name("routing.agent.changed").is_none());
        assert!(Topics::default().matches("anything"));
        assert!(!Topics(vec![FEED_TOPICS[0].into()]).matches(FEED_TOPICS[1]));
    }
}
