//! Ticketing's view of the channel service, which owns numbers and messages: whether a number
//! is the organization's, and a conversation's messages, oldest first, for the transcript
//! appended to its ticket. Behind a trait, so the logic that
//! needs it does not depend on gRPC.

use async_trait::async_trait;
use switchboard_proto::{
    channel::v1::{self as pb, channel_service_client::ChannelServiceClient},
    common::v1 as common,
};
use switchboard_runtime::{
    Service,
    clients::{Endpoints, TracedChannel},
    errors,
    ids::{ChannelAccountId, ConversationId, OrganizationId},
};

use super::directory::actor_from_proto;
use crate::{
    domain::{Actor, ActorKind, TranscriptEntry},
    error::TicketingError,
};

/// Page size used to read a conversation's messages.
const PAGE: i32 = 500;

/// What ticketing asks the channel service.
#[async_trait]
pub trait Messages: Send + Sync {
    /// Every message of a conversation, oldest first, as transcript entries.
    async fn transcript(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
    ) -> Result<Vec<TranscriptEntry>, TicketingError>;
    /// Whether `account` is a channel account (number) of `org`.
    async fn account_exists(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<bool, TicketingError>;
}

/// The channel service over gRPC.
#[derive(Clone)]
pub struct ChannelMessages {
    endpoints: Endpoints,
}

impl ChannelMessages {
    pub fn new(endpoints: Endpoints) -> Self {
        Self { endpoints }
    }

    fn client(&self) -> Result<ChannelServiceClient<TracedChannel>, TicketingError> {
        self.endpoints
            .channel(Service::Channel)
            .map(ChannelServiceClient::new)
            .map_err(|e| TicketingError::Unavailable(format!("channel: {e}")))
    }
}

/// The words of a message as a transcript shows them ("image: invoice.jpg" for media).
pub fn describe(content: Option<&pb::MessageContent>) -> String {
    use pb::message_content::Content;
    let Some(content) = content.and_then(|c| c.content.as_ref()) else {
        return String::new();
    };
    match content {
        Content::Text(t) => t.body.clone(),
        Content::Media(m) => {
            let kind = pb::MediaKind::try_from(m.kind)
                .map(|k| {
                    k.as_str_name()
                        .trim_start_matches("MEDIA_KIND_")
                        .to_lowercase()
                })
                .unwrap_or_else(|_| "media".into());
            let name = if m.filename.is_empty() {
                &m.media_id
            } else {
                &m.filename
            };
            let mut text = format!("{kind}: {name}");
            if !m.caption.is_empty() {
                text.push_str(&format!(" ({})", m.caption));
            }
            text
        }
        other => format!("{other:?}"),
    }
}

fn sender(m: &pb::Message) -> Actor {
    match &m.sender {
        Some(a) if a.kind != common::ActorKind::Unspecified as i32 => actor_from_proto(a),
        _ => Actor {
            kind: ActorKind::Contact,
            id: m.contact_id.clone(),
            display_name: String::new(),
        },
    }
}

#[async_trait]
impl Messages for ChannelMessages {
    async fn transcript(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
    ) -> Result<Vec<TranscriptEntry>, TicketingError> {
        let mut client = self.client()?;
        let mut token = String::new();
        let mut entries = Vec::new();
        loop {
            let page = client
                .list_conversation_messages(pb::ListConversationMessagesRequest {
                    organization_id: org.to_string(),
                    page: Some(common::PageRequest {
                        page_size: PAGE,
                        page_token: token.clone(),
                    }),
                    conversation_id: conversation.to_string(),
                    order: pb::MessageOrder::OldestFirst as i32,
                })
                .await
                .map_err(|s| match s.code() {
                    tonic::Code::NotFound => {
                        TicketingError::not_found("conversation", conversation)
                    }
                    _ => {
                        TicketingError::Unavailable(format!("channel: {}", errors::from_status(&s)))
                    }
                })?
                .into_inner();
            for m in &page.messages {
                let at = m.provider_time.as_ref().or(m.create_time.as_ref());
                entries.push(TranscriptEntry {
                    message_id: m.id.clone(),
                    sender: sender(m),
                    send_ms: at.map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000),
                    text: describe(m.content.as_ref()),
                });
            }
            token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                return Ok(entries);
            }
        }
    }

    async fn account_exists(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<bool, TicketingError> {
        match self
            .client()?
            .get_channel_account(pb::GetChannelAccountRequest {
                organization_id: org.to_string(),
                channel_account_id: account.to_string(),
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(false),
            Err(s) => Err(TicketingError::Unavailable(format!(
                "channel: {}",
                errors::from_status(&s)
            ))),
        }
    }
}
