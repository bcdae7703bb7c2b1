//! Ticketing's view of the routing service, which owns agents and conversations: an agent's
//! role and a conversation's holder. Behind a trait, so the logic that needs it does not
//! depend on gRPC. Roles are cached briefly (positive answers only): a role change or a
//! disabled agent takes effect within [`ROLE_CACHE_TTL`].

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
    clients::{Endpoints, TracedChannel},
    errors,
    ids::{AgentId, ConversationId, OrganizationId, TeamId},
};

use crate::{
    domain::{Actor, ActorKind, Role},
    error::TicketingError,
};

/// How long a known agent's role is trusted without asking routing again.
pub const ROLE_CACHE_TTL: Duration = Duration::from_secs(10);

/// What ticketing needs to know about a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationInfo {
    pub holder: Option<AgentId>,
    pub contact_id: String,
    pub channel_account_id: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub closed_by: Option<Actor>,
}

/// What ticketing asks routing.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The role of an enabled agent of `org`; `None` for an unknown or disabled one.
    async fn role(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Option<Role>, TicketingError>;
    /// A conversation of `org`; `None` when it does not exist there.
    async fn conversation(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
    ) -> Result<Option<ConversationInfo>, TicketingError>;
    /// Whether `team` is a team of `org`.
    async fn team_exists(
        &self,
        org: &OrganizationId,
        team: &TeamId,
    ) -> Result<bool, TicketingError>;
}

/// Known agents' roles, with when they were read.
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

    fn client(&self) -> Result<RoutingServiceClient<TracedChannel>, TicketingError> {
        self.endpoints
            .channel(Service::Routing)
            .map(RoutingServiceClient::new)
            .map_err(|e| TicketingError::Unavailable(format!("routing: {e}")))
    }
}

fn unavailable(status: &tonic::Status) -> TicketingError {
    TicketingError::Unavailable(format!("routing: {}", errors::from_status(status)))
}

fn ms(ts: Option<&switchboard_proto::prost_types::Timestamp>) -> Option<i64> {
    ts.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

pub(crate) fn actor_from_proto(a: &common::Actor) -> Actor {
    let kind = match common::ActorKind::try_from(a.kind).unwrap_or_default() {
        common::ActorKind::Agent => ActorKind::Agent,
        common::ActorKind::Contact => ActorKind::Contact,
        common::ActorKind::Service => ActorKind::Service,
        _ => ActorKind::System,
    };
    Actor {
        kind,
        id: a.id.clone(),
        display_name: a.display_name.clone(),
    }
}

#[async_trait]
impl Directory for RoutingDirectory {
    async fn role(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Option<Role>, TicketingError> {
        let key = (org.clone(), agent.clone());
        if let Ok(roles) = self.roles.lock()
            && let Some((role, at)) = roles.get(&key)
            && at.elapsed() < ROLE_CACHE_TTL
        {
            return Ok(Some(*role));
        }
        let answer = self
            .client()?
            .get_agent(pb::GetAgentRequest {
                organization_id: org.to_string(),
                agent_id: agent.to_string(),
            })
            .await;
        let agent_pb = match answer {
            Ok(r) => r.into_inner().agent,
            Err(s) if s.code() == tonic::Code::NotFound => None,
            Err(s) if s.code() == tonic::Code::InvalidArgument => None,
            Err(s) => return Err(unavailable(&s)),
        };
        let Some(a) = agent_pb.filter(|a| !a.disabled && a.organization_id == org.as_str()) else {
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

    async fn conversation(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
    ) -> Result<Option<ConversationInfo>, TicketingError> {
        let answer = self
            .client()?
            .get_conversation(pb::GetConversationRequest {
                organization_id: org.to_string(),
                conversation_id: conversation.to_string(),
                actor_agent_id: String::new(),
            })
            .await;
        let c = match answer {
            Ok(r) => r.into_inner().conversation,
            Err(s) if s.code() == tonic::Code::NotFound => None,
            Err(s) => return Err(unavailable(&s)),
        };
        Ok(c.map(|c| ConversationInfo {
            holder: c.assignee_agent_id.parse().ok(),
            contact_id: c.contact_id.clone(),
            channel_account_id: c.channel_account_id.clone(),
            start_ms: ms(c.create_time.as_ref()),
            end_ms: ms(c.end_time.as_ref()),
            closed_by: c.closed_by.as_ref().map(actor_from_proto),
        }))
    }

    async fn team_exists(
        &self,
        org: &OrganizationId,
        team: &TeamId,
    ) -> Result<bool, TicketingError> {
        match self
            .client()?
            .get_team(pb::GetTeamRequest {
                organization_id: org.to_string(),
                team_id: team.to_string(),
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(false),
            Err(s) => Err(unavailable(&s)),
        }
    }
}
