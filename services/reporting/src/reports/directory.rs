//! What reports ask other services: an agent's role (routing) and a contact's tags (channel).
//! Behind a trait, so the logic that needs them does not depend on gRPC. Roles are cached
//! briefly (positive answers only), as ticketing does.

use async_trait::async_trait;
use switchboard_proto::{
    channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
    common::v1 as common,
};
use switchboard_runtime::roles::AgentRoles;
use switchboard_runtime::{Service, clients::Endpoints, errors};

use super::error::ReportsError;

/// An agent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Agent,
    Operator,
    Admin,
}

/// What reports ask the other services.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The role of an enabled agent of the organization; `None` for an unknown or disabled one.
    async fn role(&self, org: &str, agent: &str) -> Result<Option<Role>, ReportsError>;
    /// A contact's tags; empty when the contact is unknown.
    async fn contact_tags(&self, org: &str, contact: &str) -> Result<Vec<String>, ReportsError>;
}

/// Routing and channel over gRPC.
#[derive(Clone)]
pub struct GrpcDirectory {
    endpoints: Endpoints,
    roles: AgentRoles,
}

impl GrpcDirectory {
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            roles: AgentRoles::new(endpoints.clone()),
            endpoints,
        }
    }
}

fn unavailable(service: &str, status: &tonic::Status) -> ReportsError {
    ReportsError::Unavailable(format!("{service}: {}", errors::from_status(status)))
}

#[async_trait]
impl Directory for GrpcDirectory {
    async fn role(&self, org: &str, agent: &str) -> Result<Option<Role>, ReportsError> {
        let role = self
            .roles
            .role(org, agent)
            .await
            .map_err(ReportsError::Unavailable)?;
        Ok(role.map(|r| match r {
            common::Role::Admin => Role::Admin,
            common::Role::Operator => Role::Operator,
            _ => Role::Agent,
        }))
    }

    async fn contact_tags(&self, org: &str, contact: &str) -> Result<Vec<String>, ReportsError> {
        if contact.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self
            .endpoints
            .channel(Service::Channel)
            .map(ChannelServiceClient::new)
            .map_err(|e| ReportsError::Unavailable(format!("channel: {e}")))?;
        let answer = client
            .get_contact(ch::GetContactRequest {
                organization_id: org.to_string(),
                lookup: Some(ch::get_contact_request::Lookup::ContactId(
                    contact.to_string(),
                )),
            })
            .await;
        match answer {
            Ok(r) => Ok(r.into_inner().contact.map(|c| c.tags).unwrap_or_default()),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::NotFound | tonic::Code::InvalidArgument
                ) =>
            {
                Ok(Vec::new())
            }
            Err(s) => Err(unavailable("channel", &s)),
        }
    }
}
