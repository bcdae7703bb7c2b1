//! The JSON body of a webhook: `{"type": topic, "timestamp": RFC 3339, "data": event}`, the
//! event in the canonical proto3 JSON mapping (lowerCamelCase names, enums by name, int64 as
//! strings) rendered by `prost-reflect` from the descriptor set the proto crate embeds: the
//! same `.proto` any receiver can decode with, no hand-written serde.

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use crate::domain;

/// Renders bodies; cheap to clone.
#[derive(Clone)]
pub struct Bodies {
    pool: DescriptorPool,
}

impl Bodies {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            pool: DescriptorPool::decode(switchboard_proto::FILE_DESCRIPTOR_SET)?,
        })
    }

    /// The event of `topic` (protobuf `payload`) as proto3 JSON.
    pub fn data(&self, topic: &str, payload: &[u8]) -> anyhow::Result<serde_json::Value> {
        let name = domain::message_name(topic)
            .ok_or_else(|| anyhow::anyhow!("{topic} is not a feed topic"))?;
        let descriptor = self
            .pool
            .get_message_by_name(name)
            .ok_or_else(|| anyhow::anyhow!("{name} is not in the descriptor set"))?;
        let message = DynamicMessage::decode(descriptor, payload)?;
        let options = SerializeOptions::new().skip_default_fields(false);
        Ok(message.serialize_with_options(serde_json::value::Serializer, &options)?)
    }

    /// The whole body, serialized.
    pub fn render(&self, topic: &str, occurred_ms: i64, payload: &[u8]) -> anyhow::Result<Vec<u8>> {
        let timestamp = chrono::DateTime::from_timestamp_millis(occurred_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        Ok(serde_json::to_vec(&serde_json::json!({
            "type": topic,
            "timestamp": timestamp,
            "data": self.data(topic, payload)?,
        }))?)
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use switchboard_proto::routing::v1::{ConversationChanged, ConversationState, TransitionCause};

    use super::*;

    #[test]
    fn bodies_are_proto3_json_of_the_typed_event() {
        let event = ConversationChanged {
            conversation_id: "conv_1".into(),
            state: ConversationState::Assigned as i32,
            cause: TransitionCause::Transferred as i32,
            version: 7,
            ..Default::default()
        };
        let body = Bodies::new()
            .expect("pool")
            .render(
                "routing.conversation.changed",
                1_764_000_000_000,
                &event.encode_to_vec(),
            )
            .expect("renders");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["type"], "routing.conversation.changed");
        assert_eq!(json["timestamp"], "2025-11-24T16:00:00.000Z");
        assert_eq!(json["data"]["conversationId"], "conv_1");
        assert_eq!(json["data"]["state"], "CONVERSATION_STATE_ASSIGNED");
        assert_eq!(json["data"]["cause"], "TRANSITION_CAUSE_TRANSFERRED");
        assert_eq!(json["data"]["version"], "7");
    }
}
