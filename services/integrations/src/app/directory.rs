//! Integrations' view of the routing service, which owns agents: an agent's role. Behind a
//! trait so the logic does not depend on gRPC; positive answers are cached briefly (a role
//! change or a disabled agent takes effect within `switchboard_runtime::roles::ROLE_CACHE_TTL`).

use async_trait::async_trait;
use switchboard_proto::common::v1 as common;
use switchboard_runtime::roles::AgentRoles;
use switchboard_runtime::{
    clients::Endpoints,
    ids::{AgentId, OrganizationId},
};

use crate::{domain::Role, error::IntegrationsError};

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

/// Routing over gRPC.
#[derive(Clone)]
pub struct RoutingDirectory {
    roles: AgentRoles,
}

impl RoutingDirectory {
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            roles: AgentRoles::new(endpoints),
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
        let role = self
            .roles
            .role(org.as_str(), agent.as_str())
            .await
            .map_err(IntegrationsError::Unavailable)?;
        Ok(role.map(|r| match r {
            common::Role::Admin => Role::Admin,
            common::Role::Operator => Role::Operator,
            _ => Role::Agent,
        }))
    }
}
