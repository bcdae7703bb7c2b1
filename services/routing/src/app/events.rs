//! Routing's reactions to presence events: a freed slot or an agent becoming available fills
//! its slots from the queues at once; an agent going offline gives back its unopened
//! conversations; a presence store loss triggers a rebuild of loads. Handlers are idempotent,
//! so at-least-once delivery is harmless.

use std::time::Duration;

use switchboard_runtime::{
    bus::{ConsumerGroup, EventBus, Unhandled},
    ids::{AgentId, OrganizationId},
    outbox::Event,
};
use tokio_util::sync::CancellationToken;

use super::Routing;
use crate::{domain::decision::Trigger, error::RoutingError};

/// Presence topics routing consumes (published by the presence service).
pub mod topics {
    pub const STATUS_CHANGED: &str = "presence.agent.status_changed";
    pub const HEARTBEAT_EXPIRED: &str = "presence.agent.heartbeat_expired";
    pub const CAPACITY_CHANGED: &str = "presence.agent.capacity_changed";
    pub const SLOT_FREED: &str = "presence.agent.slot_freed";
    pub const PROFILE_CHANGED: &str = "presence.agent.profile_changed";
    pub const REBUILD_REQUIRED: &str = "presence.organization.rebuild_required";
}

/// The consumer group routing reads presence events in; declared before any service starts.
pub const PRESENCE_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "routing.presence",
    topics: &[
        topics::STATUS_CHANGED,
        topics::HEARTBEAT_EXPIRED,
        topics::CAPACITY_CHANGED,
        topics::SLOT_FREED,
        topics::PROFILE_CHANGED,
        topics::REBUILD_REQUIRED,
    ],
};

impl Routing {
    /// Handles one presence event.
    pub async fn on_presence_event(&self, event: &Event) -> Result<(), RoutingError> {
        let Ok(org) = OrganizationId::parse(&event.organization_id) else {
            return Ok(());
        };
        if event.topic == topics::REBUILD_REQUIRED {
            return self.rebuild_presence(&org).await;
        }
        let Some(agent) = event
            .payload
            .get("agent_id")
            .and_then(|v| v.as_str())
            .and_then(|s| AgentId::parse(s).ok())
        else {
            return Ok(());
        };
        let status = event
            .payload
            .get("status")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        match (event.topic.as_str(), status) {
            (topics::HEARTBEAT_EXPIRED, _) | (topics::STATUS_CHANGED, "offline") => {
                self.agent_offline(&org, &agent, false).await?;
            }
            (_, "available") => {
                self.fill_slots(&org, &agent, Trigger::SlotFreed).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Consumes presence events until `shutdown`; a failed event is delivered again.
    pub async fn run_presence_consumer(
        self,
        bus: std::sync::Arc<dyn EventBus>,
        metrics: switchboard_runtime::metrics::Metrics,
        consumer: String,
        shutdown: CancellationToken,
    ) {
        let app = &self;
        switchboard_runtime::bus::run_consumer(
            bus,
            &metrics,
            PRESENCE_EVENTS,
            consumer,
            "routing.presence_event",
            shutdown,
            |event| async move {
                app.on_presence_event(&event)
                    .await
                    .map_err(|e| Unhandled::Retry(e.to_string()))
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
