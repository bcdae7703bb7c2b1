//! An agent's role as routing (which owns agents) knows it, for the services that check who
//! calls them (ticketing, reporting, integrations): one cached lookup instead of one per
//! service. Positive answers are kept [`ROLE_CACHE_TTL`], so a role change or a disabled agent
//! takes effect within it; unknown agents are asked again each time.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use switchboard_proto::{
    common::v1::Role,
    routing::v1::{GetAgentRequest, routing_service_client::RoutingServiceClient},
};

use crate::{Service, clients::Endpoints, errors};

/// How long a known agent's role is trusted without asking routing again.
pub const ROLE_CACHE_TTL: Duration = Duration::from_secs(10);

/// Known roles by (organization, agent), with when they were read.
type RoleCache = HashMap<(String, String), (Role, Instant)>;

/// Roles read from routing over gRPC, cached (cheap to clone; clones share the cache).
#[derive(Clone)]
pub struct AgentRoles {
    endpoints: Endpoints,
    cache: Arc<Mutex<RoleCache>>,
}

impl AgentRoles {
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            endpoints,
            cache: Arc::default(),
        }
    }

    /// The role of an enabled agent of `org`; `None` for an unknown, malformed, disabled or
    /// other organization's agent. `Err` carries why routing could not be asked (the caller
    /// answers UNAVAILABLE: retry).
    pub async fn role(&self, org: &str, agent: &str) -> Result<Option<Role>, String> {
        let key = (org.to_string(), agent.to_string());
        if let Ok(cache) = self.cache.lock()
            && let Some((role, at)) = cache.get(&key)
            && at.elapsed() < ROLE_CACHE_TTL
        {
            return Ok(Some(*role));
        }
        let channel = self
            .endpoints
            .channel(Service::Routing)
            .map_err(|e| format!("routing: {e}"))?;
        let answer = RoutingServiceClient::new(channel)
            .get_agent(GetAgentRequest {
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
            Err(s) => return Err(format!("routing: {}", errors::from_status(&s))),
        };
        let Some(a) = found.filter(|a| !a.disabled && a.organization_id == org) else {
            return Ok(None);
        };
        let role = match Role::try_from(a.role).unwrap_or_default() {
            Role::Admin => Role::Admin,
            Role::Operator => Role::Operator,
            _ => Role::Agent,
        };
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(key, (role, Instant::now()));
        }
        Ok(Some(role))
    }
}
