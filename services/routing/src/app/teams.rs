//! Teams and memberships: create, change (the dedicated-agent rule, draining the queue when
//! distribution turns on), delete while unused, add and remove members.

use switchboard_runtime::ids::{AgentId, OrganizationId, TeamId};

use super::{
    Routing,
    access::{Need, invalid},
};
use crate::{
    domain::config::{OfflinePolicy, PriorityRule, Strategy, Team},
    error::{Reason, RoutingError},
    store::teams::Membership,
};

/// A validated team to create.
#[derive(Debug, Clone)]
pub struct NewTeam {
    pub name: String,
    pub description: String,
    pub strategy: Strategy,
    pub auto_distribution: bool,
    pub offer_timeout_secs: i64,
    pub offline_policy: OfflinePolicy,
    pub priority_rules: Vec<PriorityRule>,
    pub dedicated_agent_id: Option<AgentId>,
    pub member_agent_ids: Vec<AgentId>,
}

/// Changes to a team; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TeamChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub strategy: Option<Strategy>,
    pub auto_distribution: Option<bool>,
    pub offer_timeout_secs: Option<i64>,
    pub offline_policy: Option<OfflinePolicy>,
    pub priority_rules: Option<Vec<PriorityRule>>,
    pub dedicated_agent_id: Option<Option<AgentId>>,
}

impl Routing {
    /// Creates a team with its first members (idempotent by `request_id`). Operator or admin.
    /// A dedicated agent becomes a member.
    pub async fn create_team(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        request_id: &str,
        new: NewTeam,
    ) -> Result<Team, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        self.require_agents(org, &new.member_agent_ids, "member_agent_ids")
            .await?;
        let mut members = new.member_agent_ids;
        if let Some(dedicated) = &new.dedicated_agent_id {
            if self
                .store
                .existing_agent_ids(org, std::slice::from_ref(dedicated))
                .await?
                .is_empty()
            {
                return Err(invalid(
                    "team.dedicated_agent_id".into(),
                    "no such agent in the organization",
                ));
            }
            members.push(dedicated.clone());
        }
        members.sort();
        members.dedup();
        let now = self.clock.now_ms();
        let team = Team {
            id: TeamId::generate(),
            name: new.name,
            description: new.description,
            strategy: new.strategy,
            auto_distribution: new.auto_distribution,
            offer_timeout_secs: new.offer_timeout_secs,
            offline_policy: new.offline_policy,
            priority_rules: new.priority_rules,
            dedicated_agent_id: new.dedicated_agent_id,
            member_count: 0,
            created_ms: now,
            updated_ms: now,
        };
        let created = self
            .store
            .create_team(org, request_id, &team, &members)
            .await?;
        self.sync_agents(org, &members).await;
        Ok(created)
    }

    /// Changes a team's settings. Operator or admin. A dedicated agent must be a member and
    /// goes with the dedicated-agent strategy only (switching strategy away clears it).
    pub async fn update_team(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        id: &TeamId,
        changes: TeamChanges,
    ) -> Result<Team, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let mut team = self.store.team(org, id).await?;
        let was_distributing = team.distributes();
        if let Some(v) = changes.name {
            team.name = v;
        }
        if let Some(v) = changes.description {
            team.description = v;
        }
        if let Some(v) = changes.strategy {
            team.strategy = v;
        }
        if let Some(v) = changes.auto_distribution {
            team.auto_distribution = v;
        }
        if let Some(v) = changes.offer_timeout_secs {
            team.offer_timeout_secs = v;
        }
        if let Some(v) = changes.offline_policy {
            team.offline_policy = v;
        }
        if let Some(v) = changes.priority_rules {
            team.priority_rules = v;
        }
        let named = changes.dedicated_agent_id.is_some();
        if let Some(v) = changes.dedicated_agent_id {
            team.dedicated_agent_id = v;
        }
        if team.strategy == Strategy::DedicatedAgent {
            let Some(dedicated) = &team.dedicated_agent_id else {
                return Err(invalid(
                    "team.dedicated_agent_id".into(),
                    "is required with TEAM_STRATEGY_DEDICATED_AGENT",
                ));
            };
            let members = self.store.team_member_ids(org, id).await?;
            if !members.contains(dedicated) {
                return Err(invalid(
                    "team.dedicated_agent_id".into(),
                    "must be a member of the team",
                ));
            }
        } else if team.dedicated_agent_id.is_some() {
            if named {
                return Err(invalid(
                    "team.dedicated_agent_id".into(),
                    "only with TEAM_STRATEGY_DEDICATED_AGENT",
                ));
            }
            team.dedicated_agent_id = None;
        }
        team.updated_ms = self.clock.now_ms();
        let saved = self.store.save_team(org, &team).await?;
        if saved.distributes()
            && !was_distributing
            // What queued while it was off goes first, in queue order; the change is saved
            // either way, and the sweeper's liveness pass retries a failed drain.
            && let Err(err) = self.drain_team_queue(org, id).await
        {
            tracing::warn!(%org, team = %id, error = %err, "draining the team's queue failed; the sweeper retries");
        }
        Ok(saved)
    }

    /// Deletes a team (idempotent by a non-empty `request_id`). Operator or admin. Refused
    /// with IN_USE while something routes to it.
    pub async fn delete_team(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        request_id: &str,
        id: &TeamId,
    ) -> Result<(), RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let members = self.store.team_member_ids(org, id).await?;
        self.store
            .delete_team(org, request_id, id, self.clock.now_ms())
            .await?;
        self.sync_agents(org, &members).await;
        Ok(())
    }

    /// Adds a member (idempotent). Operator or admin.
    pub async fn add_team_member(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        team: &TeamId,
        agent: &AgentId,
    ) -> Result<Membership, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        self.store.team(org, team).await?;
        self.store.agent(org, agent).await?;
        let (membership, added) = self
            .store
            .add_member(org, team, agent, self.clock.now_ms())
            .await?;
        if added {
            self.sync_agents(org, std::slice::from_ref(agent)).await;
        }
        Ok(membership)
    }

    /// Removes a member (idempotent). Operator or admin. A team's dedicated agent stays until
    /// the team's strategy or dedicated agent changes.
    pub async fn remove_team_member(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        team: &TeamId,
        agent: &AgentId,
    ) -> Result<(), RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let found = self.store.team(org, team).await?;
        if found.strategy == Strategy::DedicatedAgent
            && found.dedicated_agent_id.as_ref() == Some(agent)
        {
            return Err(RoutingError::precondition(
                Reason::InUse,
                "the agent is the team's dedicated agent; change the team's strategy or dedicated agent first",
            ));
        }
        if self.store.remove_member(org, team, agent).await? {
            self.sync_agents(org, std::slice::from_ref(agent)).await;
        }
        Ok(())
    }
}
