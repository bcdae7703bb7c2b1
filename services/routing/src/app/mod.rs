//! Routing's application logic: the configuration model (one module per resource:
//! organizations, agents, teams, channel_routing, campaigns, owners; `access` and `profiles`
//! shared by them), the routing engine, the conversation lifecycle (`conversations`) and work
//! items, over the store, the presence client and the channel service (`channel`, a trait).
//! Transport-free: the gRPC adapter calls in with domain types. What a conversation action
//! changes is decided by pure functions of `domain::conversation` (open, close, finalize,
//! take_back, assign); this layer reads, authorizes and commits.

pub mod access;
pub mod agents;
pub mod automations;
pub mod campaigns;
pub mod channel;
pub mod channel_routing;
pub mod conversations;
pub mod engine;
pub mod events;
pub mod metrics;
pub mod organizations;
pub mod owners;
pub mod presence;
pub mod profiles;
pub mod teams;
pub mod tickets;
pub mod views;
pub mod work_items;

use switchboard_runtime::{
    clock::Clock,
    ids::{AgentId, OrganizationId},
};

use crate::{
    domain::conversation::Caller,
    error::RoutingError,
    store::{
        Store,
        conversations::{Change, Conflict},
    },
};

pub use metrics::RoutingMetrics;
pub use presence::PresenceClient;

/// The routing service's logic.
#[derive(Clone)]
pub struct Routing {
    pub(crate) store: Store,
    pub(crate) presence: PresenceClient,
    /// The channel service (which channel accounts exist).
    pub(crate) channel: std::sync::Arc<dyn channel::ChannelAccounts>,
    /// Whether a conversation may close (ticketing's close rule).
    pub(crate) close_policy: std::sync::Arc<dyn conversations::ClosePolicy>,
    pub(crate) clock: Clock,
    /// Milliseconds without a customer message after which a conversation expires.
    pub(crate) conversation_ttl_ms: i64,
    pub(crate) metrics: RoutingMetrics,
    /// Numbers' automatic-message settings as the consumer last read them (see
    /// `automations::SETTINGS_TTL`).
    pub(crate) automations: automations::SettingsCache,
}

impl Routing {
    pub fn new(
        store: Store,
        presence: PresenceClient,
        channel: std::sync::Arc<dyn channel::ChannelAccounts>,
        close_policy: std::sync::Arc<dyn conversations::ClosePolicy>,
        clock: Clock,
        conversation_ttl_ms: i64,
        metrics: RoutingMetrics,
    ) -> Self {
        Self {
            store,
            presence,
            channel,
            close_policy,
            clock,
            conversation_ttl_ms,
            metrics,
            automations: automations::SettingsCache::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Applies a conversation change (see [`Store::apply`]); once committed, counts its state
    /// changes.
    pub(crate) async fn apply(
        &self,
        org: &OrganizationId,
        change: &Change,
    ) -> Result<Result<(), Conflict>, RoutingError> {
        let result = self.store.apply(org, change).await?;
        if result.is_ok() {
            self.metrics.transitions(&change.transitions);
        }
        Ok(result)
    }

    /// The calling agent with its role; disabled or unknown agents are refused.
    pub async fn caller(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Caller, RoutingError> {
        let found = match self.store.agent(org, agent).await {
            Ok(a) => a,
            Err(RoutingError::NotFound { .. }) => {
                return Err(RoutingError::denied(format!(
                    "actor {agent} is not an agent of this organization"
                )));
            }
            Err(e) => return Err(e),
        };
        if found.disabled {
            return Err(RoutingError::denied(format!("agent {agent} is disabled")));
        }
        Ok(Caller {
            agent_id: found.id,
            role: found.role,
        })
    }
}
