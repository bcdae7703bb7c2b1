//! A channel account's routing: the linked teams and agents and the default target, which must
//! be among them.

use switchboard_proto::{channel::v1::ChannelAccountDeleted, events::TypedEvent};
use switchboard_runtime::{
    bus::{ConsumerGroup, Unhandled},
    errors::FieldViolation,
    ids::{AgentId, ChannelAccountId, OrganizationId},
    outbox::Event,
};

use super::{Routing, access::Need};

/// Channel accounts removed in the channel service (`channel.account.deleted`).
pub const ACCOUNT_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "routing.channel_accounts",
    topics: &[ChannelAccountDeleted::TOPIC],
};
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
        self.replace_routing(org, account, routing).await
    }

    /// Handles one `channel.account.deleted` event: the number is gone, so are its links and
    /// default target (and so its agents' presence profiles lose it). Replacing with an empty
    /// routing is naturally idempotent; a redelivery changes nothing more.
    pub async fn on_channel_account_deleted(&self, event: &Event) -> Result<(), Unhandled> {
        let org = OrganizationId::parse(&event.organization_id).map_err(|e| {
            Unhandled::Drop(format!("event {}: bad organization id: {e}", event.id))
        })?;
        let deleted = event.decode::<ChannelAccountDeleted>()?;
        let account = ChannelAccountId::parse(&deleted.channel_account_id).map_err(|e| {
            Unhandled::Drop(format!("event {}: bad channel account id: {e}", event.id))
        })?;
        self.replace_routing(
            &org,
            &account,
            ChannelAccountRouting {
                channel_account_id: Some(account.clone()),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Unhandled::Retry(e.to_string()))?;
        tracing::info!(%account, "channel account deleted: its routing links were dropped");
        Ok(())
    }

    /// Stores `routing` for `account` and brings the affected agents' presence profiles along.
    async fn replace_routing(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        routing: ChannelAccountRouting,
    ) -> Result<ChannelAccountRouting, RoutingError> {
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
