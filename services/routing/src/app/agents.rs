//! Agents: create, look up, change and disable, with the last-admin rule; an agent may rename
//! itself. A disabled agent's assigned conversations go back to the queue.

use switchboard_runtime::ids::{AgentId, ConversationId, OrganizationId, TeamId};

use super::{Routing, access::Need};
use crate::{
    domain::config::{Agent, Role},
    error::RoutingError,
};

/// A validated agent to create.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub capacity: i32,
    pub auth_subject: Option<String>,
    pub team_ids: Vec<TeamId>,
}

/// Changes to an agent; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentChanges {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<i32>,
    pub auth_subject: Option<Option<String>>,
    pub disabled: Option<bool>,
}

impl AgentChanges {
    /// Only the display name changes (what an agent may do to itself).
    fn only_display_name(&self) -> bool {
        self.email.is_none()
            && self.role.is_none()
            && self.capacity.is_none()
            && self.auth_subject.is_none()
            && self.disabled.is_none()
    }
}

impl Routing {
    /// Creates an agent (idempotent by `request_id`). Admin only.
    pub async fn create_agent(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        request_id: &str,
        new: NewAgent,
    ) -> Result<Agent, RoutingError> {
        self.authorize(org, actor, Need::Admin).await?;
        self.require_teams(org, &new.team_ids, "team_ids").await?;
        let now = self.clock.now_ms();
        let mut team_ids = new.team_ids;
        team_ids.sort();
        team_ids.dedup();
        let agent = Agent {
            id: AgentId::generate(),
            display_name: new.display_name,
            email: new.email,
            role: new.role,
            capacity: new.capacity,
            auth_subject: new.auth_subject,
            disabled: false,
            team_ids,
            created_ms: now,
            updated_ms: now,
        };
        let created = self.store.create_agent(org, request_id, &agent).await?;
        self.sync_agents(org, std::slice::from_ref(&created.id))
            .await;
        Ok(created)
    }

    /// The enabled agent bound to an identity-provider subject.
    pub async fn lookup_agent(
        &self,
        org: &OrganizationId,
        subject: &str,
    ) -> Result<Agent, RoutingError> {
        self.store.agent_by_subject(org, subject).await
    }

    /// Changes an agent. Admin only; an agent may change its own display name. Demoting or
    /// disabling the last enabled admin is refused.
    pub async fn update_agent(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        id: &AgentId,
        changes: AgentChanges,
    ) -> Result<Agent, RoutingError> {
        if let Some(actor) = actor {
            let caller = self.caller(org, actor).await?;
            let own_name = &caller.agent_id == id && changes.only_display_name();
            if caller.role != Role::Admin && !own_name {
                return Err(RoutingError::denied(
                    "only an admin may change an agent (an agent may change its own display name)",
                ));
            }
        } else {
            self.store.organization(org).await?;
        }
        let mut agent = self.store.agent(org, id).await?;
        let was_enabled_admin = agent.role == Role::Admin && !agent.disabled;
        let profile_changed = changes.capacity.is_some_and(|c| c != agent.capacity)
            || changes.disabled.is_some_and(|d| d != agent.disabled);
        if let Some(v) = changes.display_name {
            agent.display_name = v;
        }
        if let Some(v) = changes.email {
            agent.email = v;
        }
        if let Some(v) = changes.role {
            agent.role = v;
        }
        if let Some(v) = changes.capacity {
            agent.capacity = v;
        }
        if let Some(v) = changes.auth_subject {
            agent.auth_subject = v;
        }
        let disabling = changes.disabled == Some(true) && !agent.disabled;
        if let Some(v) = changes.disabled {
            agent.disabled = v;
        }
        agent.updated_ms = self.clock.now_ms();
        let keep_an_admin = was_enabled_admin && (agent.role != Role::Admin || agent.disabled);
        let saved = self
            .store
            .save_agent(org, &agent, "updated", keep_an_admin)
            .await?;
        if disabling {
            self.on_agent_disabled(org, id).await?;
        }
        if profile_changed {
            self.sync_agents(org, std::slice::from_ref(id)).await;
        }
        Ok(saved)
    }

    /// Disables an agent (soft delete). Admin only; the last enabled admin cannot be disabled.
    /// Answers the agent and the conversations that went back to the queue.
    pub async fn delete_agent(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        id: &AgentId,
    ) -> Result<(Agent, Vec<ConversationId>), RoutingError> {
        self.authorize(org, actor, Need::Admin).await?;
        let mut agent = self.store.agent(org, id).await?;
        if agent.disabled {
            return Ok((agent, Vec::new()));
        }
        let keep_an_admin = agent.role == Role::Admin;
        agent.disabled = true;
        agent.updated_ms = self.clock.now_ms();
        let saved = self
            .store
            .save_agent(org, &agent, "disabled", keep_an_admin)
            .await?;
        // TODO(engine): requeue the agent's assigned conversations (the engine fills the hook).
        let requeued = self.on_agent_disabled(org, id).await?;
        self.sync_agents(org, std::slice::from_ref(id)).await;
        Ok((saved, requeued))
    }

    /// Called after an agent is disabled (committed): its ASSIGNED conversations go back to the
    /// queue and are routed again without it, answering their ids. Open ones stay until an
    /// admin transfers or closes them.
    pub async fn on_agent_disabled(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Vec<ConversationId>, RoutingError> {
        self.agent_offline(org, agent, true).await
    }
}
