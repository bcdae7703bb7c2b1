//! Routing's view of the channel service, which owns channel accounts (WhatsApp numbers),
//! contacts and sends: whether an account or a contact exists in an organization, a contact's
//! name, and the system's automatic messages. Behind a trait, so the logic that needs it does not depend on
//! gRPC.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use switchboard_proto::channel::v1::{self as pb, channel_service_client::ChannelServiceClient};
use switchboard_runtime::{
    Service,
    clients::Endpoints,
    errors,
    ids::{ChannelAccountId, ContactId, ConversationId, OrganizationId},
};

use crate::error::RoutingError;

/// What routing asks the channel service.
#[async_trait]
pub trait ChannelAccounts: Send + Sync {
    /// Whether `account` is a channel account of `org` (disabled ones included). Another
    /// organization's account is not.
    async fn exists(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<bool, RoutingError>;

    /// Whether `contact` is a contact of `org`. Another organization's contact is not.
    async fn contact_exists(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> Result<bool, RoutingError>;

    /// The name a contact is shown with (agents' display name, else its WhatsApp profile
    /// name); None when unknown.
    async fn contact_name(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> Result<Option<String>, RoutingError>;

    /// Sends `text` in `conversation` as the system (no agent), under `request_id`: a repeat
    /// with the same id is the same message, sent once. A passing failure (channel down) is
    /// an error, to retry; a refusal is an outcome.
    async fn send_system_text(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
        request_id: &str,
        text: &str,
    ) -> Result<SystemSend, RoutingError>;
}

/// How a system send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemSend {
    /// Stored and handed to WhatsApp (msg_ id).
    Sent { message_id: String },
    /// Not sent, for a reason that will not change: the 24-hour window closed, the
    /// conversation ended, the number is disabled.
    Skipped(String),
    /// Refused or failed for another reason that retrying will not fix.
    Failed(String),
}

/// The channel service over gRPC. Accounts found are remembered (an account never moves to
/// another organization), so a conversation start asks the channel service once per number
/// and process, not once per conversation; unknown ids are asked again each time.
#[derive(Clone)]
pub struct ChannelClient {
    endpoints: Endpoints,
    known: Arc<Mutex<HashSet<(OrganizationId, ChannelAccountId)>>>,
}

impl ChannelClient {
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            endpoints,
            known: Arc::default(),
        }
    }

    fn client(
        &self,
    ) -> Result<ChannelServiceClient<switchboard_runtime::clients::TracedChannel>, RoutingError>
    {
        self.endpoints
            .channel(Service::Channel)
            .map(ChannelServiceClient::new)
            .map_err(|e| RoutingError::Unavailable(format!("channel: {e}")))
    }
}

#[async_trait]
impl ChannelAccounts for ChannelClient {
    async fn exists(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<bool, RoutingError> {
        let key = (org.clone(), account.clone());
        if self.known.lock().map(|k| k.contains(&key)).unwrap_or(false) {
            return Ok(true);
        }
        let mut client = self
            .endpoints
            .channel(Service::Channel)
            .map(ChannelServiceClient::new)
            .map_err(|e| RoutingError::Unavailable(format!("channel: {e}")))?;
        match client
            .get_channel_account(pb::GetChannelAccountRequest {
                organization_id: org.to_string(),
                channel_account_id: account.to_string(),
            })
            .await
        {
            Ok(_) => {
                if let Ok(mut known) = self.known.lock() {
                    known.insert(key);
                }
                Ok(true)
            }
            Err(status) if status.code() == tonic::Code::NotFound => Ok(false),
            Err(status) => Err(RoutingError::Unavailable(format!(
                "channel: {}",
                errors::from_status(&status)
            ))),
        }
    }

    async fn contact_exists(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> Result<bool, RoutingError> {
        match self
            .client()?
            .get_contact(pb::GetContactRequest {
                organization_id: org.to_string(),
                lookup: Some(pb::get_contact_request::Lookup::ContactId(
                    contact.to_string(),
                )),
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(false),
            Err(status) => Err(RoutingError::Unavailable(format!(
                "channel: {}",
                errors::from_status(&status)
            ))),
        }
    }

    async fn contact_name(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> Result<Option<String>, RoutingError> {
        let answer = self
            .client()?
            .get_contact(pb::GetContactRequest {
                organization_id: org.to_string(),
                lookup: Some(pb::get_contact_request::Lookup::ContactId(
                    contact.to_string(),
                )),
            })
            .await;
        match answer {
            Ok(r) => Ok(r.into_inner().contact.and_then(|c| {
                [c.display_name, c.profile_name]
                    .into_iter()
                    .map(|n| n.trim().to_string())
                    .find(|n| !n.is_empty())
            })),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(RoutingError::Unavailable(format!(
                "channel: {}",
                errors::from_status(&status)
            ))),
        }
    }

    async fn send_system_text(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
        request_id: &str,
        text: &str,
    ) -> Result<SystemSend, RoutingError> {
        let answer = self
            .client()?
            .send_text_message(pb::SendTextMessageRequest {
                request_id: request_id.to_string(),
                organization_id: org.to_string(),
                actor_agent_id: String::new(),
                conversation_id: conversation.to_string(),
                text: Some(pb::TextContent {
                    body: text.to_string(),
                    preview_url: false,
                }),
                reply_to_message_id: String::new(),
            })
            .await;
        let status = match answer {
            Ok(r) => {
                let message = r.into_inner().message.unwrap_or_default();
                return Ok(if message.status == pb::MessageStatus::Failed as i32 {
                    SystemSend::Failed(format!("WhatsApp refused message {}", message.id))
                } else {
                    SystemSend::Sent {
                        message_id: message.id,
                    }
                });
            }
            Err(status) => status,
        };
        let error = errors::from_status(&status);
        use tonic::Code;
        match status.code() {
            Code::FailedPrecondition | Code::NotFound => Ok(SystemSend::Skipped(error.to_string())),
            Code::InvalidArgument | Code::PermissionDenied | Code::AlreadyExists => {
                Ok(SystemSend::Failed(error.to_string()))
            }
            _ => Err(RoutingError::Unavailable(format!("channel: {error}"))),
        }
    }
}
