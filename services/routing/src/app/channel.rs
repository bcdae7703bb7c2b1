//! Routing's view of the channel service, which owns channel accounts (WhatsApp numbers):
//! whether an account exists in an organization. Behind a trait, so the logic that needs it
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
    ids::{ChannelAccountId, OrganizationId},
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
}
