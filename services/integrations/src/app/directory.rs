//! Integrations' view of the routing service, which owns agents: an agent's role. Behind a
//! trait so the logic does not depend on gRPC; positive answers are cached briefly (a role
//! change or a disabled agent takes effect within [`ROLE_CACHE_TTL`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use switchboard_proto::{
    common::v1 as common,
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};
use switchboard_runtime::{
    Service,
    clients::Endpoints,
    errors,
    ids::{AgentId, OrganizationId},
};

use crate::{domain::Role, error::IntegrationsError};

/// How long a known agent's role is trusted without asking routing again.
pub const ROLE_CACHE_TTL: Duration = Duration::from_secs(10);

/// What integrations asks routing.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The role of an enabled agent of `org`; `None` for an unknown or disabled one.
    async fn role(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Option<Role>, IntegrationsError>;
}

type RoleCache = HashMap<(OrganizationId, AgentId), (Role, Instant)>;

/// Routing over gRPC.
#[derive(Clone)]
pub struct RoutingDirectory {
    endpoints: Endpoints,
    roles: Arc<Mutex<RoleCache>>,
}

impl RoutingDirectory {
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            endpoints,
            roles: Arc::default(),
        }
    }
}

#[async_trait]
impl Directory for RoutingDirectory {
    async fn role(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Option<Role>, IntegrationsError> {
        let key = (org.clone(), agent.clone());
        if let Ok(roles) = self.roles.lock()
            && let Some((role, at)) = roles.get(&key)
            && at.elapsed() < ROLE_CACHE_TTL
        {
            return Ok(Some(*role));
        }
        let channel = self
            .endpoints
            .channel(Service::Routing)
            .map_err(|e| IntegrationsError::Unavailable(format!("routing: {e}")))?;
        let answer = RoutingServiceClient::new(channel)
            .get_agent(pb::GetAgentRequest {
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
            Err(s) => {
                return Err(IntegrationsError::Unavailable(format!(
                    "routing: {}",
                    errors::from_status(&s)
                )));
            }
        };
        let Some(a) = found.filter(|a| !a.disabled && a.organization_id == org.as_str()) else {
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
}
