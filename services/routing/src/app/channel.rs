//! Routing's view of the channel service, which owns channel accounts (WhatsApp numbers) and
//! contacts: whether an account or a contact exists in an organization. Behind a trait, so the logic that needs it
//! does not depend on gRPC.

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
    ids::{ChannelAccountId, ContactId, OrganizationId},
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
        match self
            .client()?
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
            Err(status) => Err(unavailable(&status)),
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
            Err(status) => Err(unavailable(&status)),
        }
    }
}

impl ChannelClient {
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

/// Any other answer of the channel service: retry later.
fn unavailable(status: &tonic::Status) -> RoutingError {
    RoutingError::Unavailable(format!("channel: {}", errors::from_status(status)))
}
