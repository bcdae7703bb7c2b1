//! Routing's reactions to presence events: a freed slot or an agent becoming available fills
//! its slots from the queues at once; an agent going offline gives back its unopened
//! conversations; a presence store loss triggers a rebuild of loads. Handlers are idempotent,
//! so at-least-once delivery is harmless.

use std::time::Duration;

use switchboard_proto::{
    common::v1::AgentStatus,
    events::TypedEvent,
    presence::v1::{
        AgentCapacityChanged, AgentHeartbeatExpired, AgentPresence, AgentProfileChanged,
        AgentSlotFreed, AgentStatusChanged, OrganizationRebuildRequired,
    },
};
use switchboard_runtime::{
    bus::{ConsumerGroup, EventBus, Unhandled},
    dead_letters::DeadLetterPolicy,
    ids::{AgentId, OrganizationId},
    outbox::Event,
};
use tokio_util::sync::CancellationToken;

use super::Routing;
use crate::{domain::decision::Trigger, error::RoutingError};

/// The consumer group routing reads presence events in; declared before any service starts.
pub const PRESENCE_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "routing.presence",
    topics: &[
        AgentStatusChanged::TOPIC,
        AgentHeartbeatExpired::TOPIC,
        AgentCapacityChanged::TOPIC,
        AgentSlotFreed::TOPIC,
        AgentProfileChanged::TOPIC,
        OrganizationRebuildRequired::TOPIC,
    ],
};

/// A presence event as routing reads it: the agent after the change and whether it went
/// offline.
fn agent_event(event: &Event) -> Result<(Option<AgentPresence>, bool), Unhandled> {
    let topic = event.topic.as_str();
    Ok(if topic == AgentStatusChanged::TOPIC {
        let m = event.decode::<AgentStatusChanged>()?;
        let offline = m
            .agent
            .as_ref()
            .is_some_and(|a| a.status == AgentStatus::Offline as i32);
        (m.agent, offline)
    } else if topic == AgentHeartbeatExpired::TOPIC {
        (event.decode::<AgentHeartbeatExpired>()?.agent, true)
    } else if topic == AgentCapacityChanged::TOPIC {
        (event.decode::<AgentCapacityChanged>()?.agent, false)
    } else if topic == AgentSlotFreed::TOPIC {
        (event.decode::<AgentSlotFreed>()?.agent, false)
    } else if topic == AgentProfileChanged::TOPIC {
        (event.decode::<AgentProfileChanged>()?.agent, false)
    } else {
        return Err(Unhandled::Drop(format!(
            "event {} has topic {}, which {} does not consume",
            event.id, event.topic, PRESENCE_EVENTS.name
        )));
    })
}

impl Routing {
    /// Handles one presence event. One that cannot be decoded (or names no valid agent) is
    /// refused for good ([`Unhandled::Drop`]: dead-lettered); a failure of routing's own work
    /// is retried ([`Unhandled::Retry`]).
    pub async fn on_presence_event(&self, event: &Event) -> Result<(), Unhandled> {
        let org = OrganizationId::parse(&event.organization_id).map_err(|e| {
            Unhandled::Drop(format!("event {}: bad organization id: {e}", event.id))
        })?;
        let retry = |e: RoutingError| Unhandled::Retry(e.to_string());
        if event.topic == OrganizationRebuildRequired::TOPIC {
            event.decode::<OrganizationRebuildRequired>()?;
            return self.rebuild_presence(&org).await.map_err(retry);
        }
        let (presence, offline) = agent_event(event)?;
        let presence = presence.ok_or_else(|| {
            Unhandled::Drop(format!("event {} on {}: no agent", event.id, event.topic))
        })?;
        let agent = AgentId::parse(&presence.agent_id)
            .map_err(|e| Unhandled::Drop(format!("event {}: bad agent id: {e}", event.id)))?;
        if offline {
            self.agent_offline(&org, &agent, false)
                .await
                .map_err(retry)?;
        } else if presence.status == AgentStatus::Available as i32 {
            self.fill_slots(&org, &agent, Trigger::SlotFreed)
                .await
                .map_err(retry)?;
        }
        Ok(())
    }

    /// Consumes `group` (one of [`crate::CONSUMER_GROUPS`]) until `shutdown`; a failed event
    /// is delivered again, and dead-lettered per `dead_letters` when it cannot be decoded or
    /// keeps failing.
    pub async fn run_consumer(
        self,
        group: ConsumerGroup,
        bus: std::sync::Arc<dyn EventBus>,
        metrics: switchboard_runtime::metrics::Metrics,
        consumer: String,
        dead_letters: DeadLetterPolicy,
        shutdown: CancellationToken,
    ) {
        let app = &self;
        let kind = Consumer::of(&group);
        switchboard_runtime::bus::run_consumers(
            bus,
            &metrics,
            switchboard_runtime::bus::Consumers {
                group,
                consumer,
                concurrency: kind.concurrency(),
                span_name: kind.span_name(),
                dead_letters,
            },
            shutdown,
            |event| async move {
                match kind {
                    Consumer::Presence => app.on_presence_event(&event).await,
                    Consumer::Tickets => app.on_ticket_event(&event).await,
                    Consumer::ChannelAccounts => app.on_channel_account_deleted(&event).await,
                    Consumer::Automations => app.on_conversation_changed(&event).await,
                }
            },
        )
        .await;
    }

    /// Runs the sweeper every `interval` until `shutdown`.
    pub async fn run_sweeper(self, interval: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            if let Err(err) = self.sweep().await {
                tracing::warn!(error = %err, "routing sweep failed");
            }
        }
    }
}

/// Which of routing's consumer groups a worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consumer {
    Presence,
    Tickets,
    ChannelAccounts,
    Automations,
}

impl Consumer {
    fn of(group: &ConsumerGroup) -> Self {
        match group.name {
            n if n == super::tickets::TICKET_EVENTS.name => Self::Tickets,
            n if n == super::channel_routing::ACCOUNT_EVENTS.name => Self::ChannelAccounts,
            n if n == super::automations::AUTOMATIONS.name => Self::Automations,
            _ => Self::Presence,
        }
    }

    /// Presence events of one agent are handled in order; ticket pictures are version-gated,
    /// account removals idempotent and automatic messages claimed per trigger, so they may
    /// overlap.
    fn concurrency(self) -> usize {
        match self {
            Self::Presence => 1,
            Self::Tickets | Self::ChannelAccounts | Self::Automations => 2,
        }
    }

    fn span_name(self) -> &'static str {
        match self {
            Self::Presence => "routing.presence_event",
            Self::Tickets => "routing.ticket_event",
            Self::ChannelAccounts => "routing.channel_account_event",
            Self::Automations => "routing.automation_event",
        }
    }
}
