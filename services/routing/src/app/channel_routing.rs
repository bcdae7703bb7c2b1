//! A channel account's routing: the linked teams and agents and the default target, which must
//! be among them.

use switchboard_runtime::{
    errors::FieldViolation,
    ids::{AgentId, ChannelAccountId, OrganizationId},
};

use super::{Routing, access::Need};
use crate::{
    domain::config::{ChannelAccountRouting, Target},
    error::RoutingError,
};

impl Routing {
    /// Replaces a channel account's routing. Operator or admin. Linked teams and agents must
    /// exist; the default target must be among them.
    pub async fn update_channel_account_routing(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        account: &ChannelAccountId,
        routing: ChannelAccountRouting,
    ) -> Result<ChannelAccountRouting, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        // The channel service owns accounts: another organization's or an unknown id is
        // NOT_FOUND, as for any resource the caller may not see.
        if !self.channel.exists(org, account).await? {
            return Err(RoutingError::not_found("channel account", account));
        }
        let mut bad = Vec::new();
        let teams = self
            .store
            .existing_team_ids(org, &routing.linked_team_ids)
            .await?;
        for (i, t) in routing.linked_team_ids.iter().enumerate() {
            if !teams.contains(t) {
                bad.push(FieldViolation::new(
                    format!("routing.linked_team_ids[{i}]"),
                    "no such team in the organization",
                ));
            }
        }
        let agents = self
            .store
            .existing_agent_ids(org, &routing.linked_agent_ids)
            .await?;
        for (i, a) in routing.linked_agent_ids.iter().enumerate() {
            if !agents.contains(a) {
                bad.push(FieldViolation::new(
                    format!("routing.linked_agent_ids[{i}]"),
                    "no such agent in the organization",
                ));
            }
        }
        let linked = match &routing.default_target {
            Target::None => true,
            Target::Team(t) => routing.linked_team_ids.contains(t),
            Target::Agent(a) => routing.linked_agent_ids.contains(a),
        };
        if !linked {
            bad.push(FieldViolation::new(
                "routing.default_target",
                "must be one of the linked teams or agents",
            ));
        }
        if !bad.is_empty() {
            return Err(RoutingError::InvalidArgument(bad));
        }
        let before = self.store.account_agent_ids(org, account).await?;
        let saved = self
            .store
            .replace_channel_account_routing(org, account, &routing, self.clock.now_ms())
            .await?;
        let after = self.store.account_agent_ids(org, account).await?;
        let affected: Vec<AgentId> = before.union(&after).cloned().collect();
        self.sync_agents(org, &affected).await;
        Ok(saved)
    }
}
