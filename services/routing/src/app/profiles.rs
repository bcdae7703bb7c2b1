//! Keeping presence's agent profiles in step after every configuration change that affects them
//! (the database change commits first; a presence failure is logged, never returned).

use switchboard_runtime::ids::{AgentId, OrganizationId};

use super::{Routing, presence::AgentProfile};
use crate::error::RoutingError;

impl Routing {
    /// The presence profiles of every enabled agent (capacity in force, teams, channel
    /// accounts served directly or through a team): what a presence rebuild starts from.
    pub async fn agent_profiles(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<AgentProfile>, RoutingError> {
        let default = self.store.organization(org).await?.default_agent_capacity;
        Ok(self
            .store
            .enabled_agents_with_accounts(org)
            .await?
            .into_iter()
            .map(|(agent, accounts)| AgentProfile {
                capacity: agent.effective_capacity(default),
                agent_id: agent.id,
                team_ids: agent.team_ids,
                channel_account_ids: accounts,
            })
            .collect())
    }

    /// Pushes these agents' current profiles to presence (disabled or unknown agents are
    /// removed from it). Failures are logged: the configuration change already committed and
    /// the next sync or rebuild repairs presence.
    pub async fn sync_agents(&self, org: &OrganizationId, agents: &[AgentId]) {
        if agents.is_empty() {
            return;
        }
        let default = match self.store.organization(org).await {
            Ok(o) => o.default_agent_capacity,
            Err(err) => {
                tracing::warn!(organization = %org, error = %err, "agent profile sync skipped");
                return;
            }
        };
        for agent in agents {
            if let Err(err) = self.sync_agent(org, agent, default).await {
                tracing::warn!(organization = %org, agent = %agent, error = %err,
                    "agent profile not synced to presence");
            }
        }
    }

    async fn sync_agent(
        &self,
        org: &OrganizationId,
        id: &AgentId,
        default_capacity: i32,
    ) -> Result<(), RoutingError> {
        let agent = match self.store.agent(org, id).await {
            Ok(a) => a,
            Err(RoutingError::NotFound { .. }) => return self.presence.remove_agent(org, id).await,
            Err(e) => return Err(e),
        };
        if agent.disabled {
            return self.presence.remove_agent(org, id).await;
        }
        let accounts = self.store.agent_channel_account_ids(org, id).await?;
        self.presence
            .sync_agent(
                org,
                &AgentProfile {
                    capacity: agent.effective_capacity(default_capacity),
                    agent_id: agent.id,
                    team_ids: agent.team_ids,
                    channel_account_ids: accounts,
                },
            )
            .await
    }

    /// Pushes every enabled agent's profile (after an organization-wide change).
    pub(super) async fn sync_all_agents(&self, org: &OrganizationId) {
        let profiles = match self.agent_profiles(org).await {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!(organization = %org, error = %err, "agent profile sync skipped");
                return;
            }
        };
        for profile in profiles {
            if let Err(err) = self.presence.sync_agent(org, &profile).await {
                tracing::warn!(organization = %org, agent = %profile.agent_id, error = %err,
                    "agent profile not synced to presence");
            }
        }
    }
}
