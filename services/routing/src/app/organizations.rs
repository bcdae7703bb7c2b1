//! Organization settings: renaming, the default agent capacity and the routing settings (admin
//! only); a capacity change pushes every agent's profile to presence.

use switchboard_runtime::ids::{AgentId, OrganizationId};

use super::{Routing, access::Need};
use crate::{
    domain::{config::OrganizationSettings, organization::Organization},
    error::RoutingError,
};

/// Changes to an organization; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub default_agent_capacity: Option<i32>,
    pub first_responder_becomes_owner: Option<bool>,
    pub owner_routing_enabled: Option<bool>,
    pub owner_fallback_wait_secs: Option<i64>,
    pub unrouted_all_teams: Option<bool>,
}

impl OrganizationChanges {
    /// Writes the settings this change names over `s` (update, and create over the defaults).
    pub fn apply_settings(&self, s: &mut OrganizationSettings) {
        if let Some(v) = self.first_responder_becomes_owner {
            s.first_responder_becomes_owner = v;
        }
        if let Some(v) = self.owner_routing_enabled {
            s.owner_routing_enabled = v;
        }
        if let Some(v) = self.owner_fallback_wait_secs {
            s.owner_fallback_wait_secs = v;
        }
        if let Some(v) = self.unrouted_all_teams {
            s.unrouted_all_teams = v;
        }
    }
}

impl Routing {
    /// Changes an organization's name, default capacity or settings. Admin only.
    pub async fn update_organization(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        changes: OrganizationChanges,
    ) -> Result<Organization, RoutingError> {
        self.authorize(org, actor, Need::Admin).await?;
        let mut current = self.store.organization(org).await?;
        let capacity_changed = changes
            .default_agent_capacity
            .is_some_and(|c| c != current.default_agent_capacity);
        if let Some(name) = &changes.name {
            current.name.clone_from(name);
        }
        if let Some(c) = changes.default_agent_capacity {
            current.default_agent_capacity = c;
        }
        changes.apply_settings(&mut current.settings);
        current.updated_ms = self.clock.now_ms();
        let saved = self.store.save_organization(&current).await?;
        if capacity_changed {
            self.sync_all_agents(org).await;
        }
        Ok(saved)
    }
}
