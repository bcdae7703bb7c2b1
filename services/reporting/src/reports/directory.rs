//! What reports ask other services: an agent's role (routing) and a contact's tags (channel).
//! Behind a trait, so the logic that needs them does not depend on gRPC. Roles are cached
//! briefly (positive answers only), as ticketing does.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use switchboard_proto::{
    channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
    common::v1 as common,
    routing::v1::{self as rt, routing_service_client::RoutingServiceClient},
};
use switchboard_runtime::{Service, clients::Endpoints, errors};

use super::error::ReportsError;

/// How long a known agent's role is trusted without asking routing again.
pub const ROLE_CACHE_TTL: Duration = Duration::from_secs(10);

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

type RoleCache = HashMap<(String, String), (Role, Instant)>;

/// Routing and channel over gRPC.
#[derive(Clone)]
pub struct GrpcDirectory {
    endpoints: Endpoints,
    roles: Arc<Mutex<RoleCache>>,
}

impl GrpcDirectory {
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            endpoints,
            roles: Arc::default(),
        }
    }
}

fn unavailable(service: &str, status: &tonic::Status) -> ReportsError {
    ReportsError::Unavailable(format!("{service}: {}", errors::from_status(status)))
}

#[async_trait]
impl Directory for GrpcDirectory {
    async fn role(&self, org: &str, agent: &str) -> Result<Option<Role>, ReportsError> {
        let key = (org.to_string(), agent.to_string());
        if let Ok(roles) = self.roles.lock()
            && let Some((role, at)) = roles.get(&key)
            && at.elapsed() < ROLE_CACHE_TTL
        {
            return Ok(Some(*role));
        }
        let mut client = self
            .endpoints
            .channel(Service::Routing)
            .map(RoutingServiceClient::new)
            .map_err(|e| ReportsError::Unavailable(format!("routing: {e}")))?;
        let answer = client
            .get_agent(rt::GetAgentRequest {
                organization_id: org.to_string(),
                agent_id: agent.to_string(),
            })
            .await;
        let found = match answer {
            Ok(r) => r.into_inner().agent,
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::NotFound | tonic::Code::InvalidArgument
                ) =>
            {
                None
            }
            Err(s) => return Err(unavailable("routing", &s)),
        };
        let Some(a) = found.filter(|a| !a.disabled && a.organization_id == org) else {
            return Ok(None);
        };
        let role = match common::Role::try_from(a.role).unwrap_or_default() {
            common::Role::Admin => Role::Admin,
            common::Role::Operator => Role::Operator,
            _ => Role::Agent,
        };
        if let Ok(mut roles) = self.roles.lock() {
            if roles.len() > 10_000 {
                roles.clear();
            }
            roles.insert(key, (role, Instant::now()));
        }
        Ok(Some(role))
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
