//! The `reporting.live` consumer group: routing's conversation changes and presence's agent
//! events, applied to the live projection. Idempotent by event id (`processed_events` in the
//! effect's transaction) and robust to out-of-order delivery: a conversation's change applies
//! only when its version is newer than the stored one (ended conversations keep a tombstone
//! version), an agent's state only when it is not older than the stored one.

use std::sync::Arc;

use switchboard_proto::common::v1::AgentStatus;
use switchboard_proto::{
    events::TypedEvent,
    presence::v1::{
        AgentCapacityChanged, AgentHeartbeatExpired, AgentPresence, AgentProfileChanged,
        AgentSlotFreed, AgentSlotReserved, AgentStatusChanged,
    },
    routing::v1::{ConversationChanged, ConversationState},
};
use switchboard_runtime::{
    bus::{ConsumerGroup, Consumers, EventBus, Unhandled, run_consumers},
    dead_letters::DeadLetterPolicy,
    ids::{AgentId, ChannelAccountId, ConversationId, OrganizationId, TeamId},
    metrics::Metrics,
    outbox::Event,
};
use tokio_util::sync::CancellationToken;

use super::{
    Live, LiveError,
    domain::{AgentFacts, ConversationFacts, LiveState, LiveStatus},
    store::Outcome,
};

/// Conversation and agent changes, for the live figures.
pub const LIVE_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "reporting.live",
    topics: &[
        ConversationChanged::TOPIC,
        AgentStatusChanged::TOPIC,
        AgentHeartbeatExpired::TOPIC,
        AgentCapacityChanged::TOPIC,
        AgentSlotReserved::TOPIC,
        AgentSlotFreed::TOPIC,
        AgentProfileChanged::TOPIC,
    ],
};

fn unhandled(err: LiveError) -> Unhandled {
    if err.is_retryable() {
        Unhandled::Retry(err.to_string())
    } else {
        Unhandled::Drop(err.to_string())
    }
}

fn bad(event: &Event, what: &str, value: &str) -> Unhandled {
    Unhandled::Drop(format!(
        "event {} on {}: bad {what} {value:?}",
        event.id, event.topic
    ))
}

fn id<T: std::str::FromStr>(event: &Event, what: &str, value: &str) -> Result<T, Unhandled> {
    value.parse().map_err(|_| bad(event, what, value))
}

fn opt_id<T: std::str::FromStr>(
    event: &Event,
    what: &str,
    value: &str,
) -> Result<Option<T>, Unhandled> {
    if value.is_empty() {
        Ok(None)
    } else {
        id(event, what, value).map(Some)
    }
}

/// A conversation change as the projection keeps it.
pub fn conversation_facts(
    event: &Event,
    changed: &ConversationChanged,
) -> Result<ConversationFacts, Unhandled> {
    let state = match ConversationState::try_from(changed.state) {
        Ok(ConversationState::Queued) => LiveState::Queued,
        Ok(ConversationState::Assigned) => LiveState::Assigned,
        Ok(ConversationState::Open) => LiveState::Open,
        Ok(ConversationState::Closed | ConversationState::Expired) => LiveState::Ended,
        _ => return Err(bad(event, "state", &changed.state.to_string())),
    };
    let team: Option<TeamId> = opt_id(event, "team_id", &changed.team_id)?;
    let number: ChannelAccountId = id(event, "channel_account_id", &changed.channel_account_id)?;
    let holder: Option<AgentId> = opt_id(event, "assignee_agent_id", &changed.assignee_agent_id)?;
    let queued = state == LiveState::Queued;
    Ok(ConversationFacts {
        state,
        team: team.map(|t| t.to_string()),
        number: number.to_string(),
        holder: holder
            .filter(|_| matches!(state, LiveState::Assigned | LiveState::Open))
            .map(|a| a.to_string()),
        priority: changed.priority,
        queued_ms: if queued {
            if changed.queued_ms > 0 {
                changed.queued_ms
            } else {
                changed.changed_ms
            }
        } else {
            0
        },
        version: changed.version,
    })
}

/// An agent's state as the projection keeps it.
pub fn agent_facts(agent: &AgentPresence) -> AgentFacts {
    AgentFacts {
        status: match AgentStatus::try_from(agent.status) {
            Ok(AgentStatus::Available) => LiveStatus::Available,
            Ok(AgentStatus::Away) => LiveStatus::Away,
            _ => LiveStatus::Offline,
        },
        load: i64::from(agent.load.max(0)),
        capacity: i64::from(agent.capacity.max(0)),
        teams: agent.team_ids.clone(),
        numbers: agent.channel_account_ids.clone(),
    }
}

impl Live {
    /// Handles one event of `reporting.live`.
    pub async fn on_event(&self, event: &Event) -> Result<(), Unhandled> {
        let org: OrganizationId = id(event, "organization id", &event.organization_id)?;
        let outcome = if event.topic == ConversationChanged::TOPIC {
            let changed = event.decode::<ConversationChanged>()?;
            let conversation: ConversationId =
                id(event, "conversation_id", &changed.conversation_id)?;
            let facts = conversation_facts(event, &changed)?;
            self.store
                .apply_conversation(
                    LIVE_EVENTS.name,
                    &event.id,
                    org.as_str(),
                    conversation.as_str(),
                    &facts,
                    changed.changed_ms,
                )
                .await
        } else {
            let agent = self.agent_of(event)?;
            let agent_id: AgentId = id(event, "agent_id", &agent.agent_id)?;
            if agent.organization_id != org.as_str() {
                return Err(bad(event, "agent organization", &agent.organization_id));
            }
            let at_us = event.occurred_at.timestamp_micros();
            self.store
                .apply_agent(
                    LIVE_EVENTS.name,
                    &event.id,
                    org.as_str(),
                    agent_id.as_str(),
                    &agent_facts(&agent),
                    at_us,
                )
                .await
        }
        .map_err(|e| unhandled(e.into()))?;
        self.metrics
            .events
            .with_label_values(&[event.topic.as_str(), outcome.as_str()])
            .inc();
        if outcome == Outcome::Applied {
            let lag = chrono::Utc::now() - event.occurred_at;
            self.metrics
                .lag_seconds
                .observe((lag.num_microseconds().unwrap_or(0).max(0) as f64) / 1e6);
        }
        Ok(())
    }

    /// The agent state an agent event carries.
    fn agent_of(&self, event: &Event) -> Result<AgentPresence, Unhandled> {
        let topic = event.topic.as_str();
        let agent = if topic == AgentStatusChanged::TOPIC {
            event.decode::<AgentStatusChanged>()?.agent
        } else if topic == AgentHeartbeatExpired::TOPIC {
            event.decode::<AgentHeartbeatExpired>()?.agent
        } else if topic == AgentCapacityChanged::TOPIC {
            event.decode::<AgentCapacityChanged>()?.agent
        } else if topic == AgentSlotReserved::TOPIC {
            event.decode::<AgentSlotReserved>()?.agent
        } else if topic == AgentSlotFreed::TOPIC {
            event.decode::<AgentSlotFreed>()?.agent
        } else if topic == AgentProfileChanged::TOPIC {
            event.decode::<AgentProfileChanged>()?.agent
        } else {
            return Err(Unhandled::Drop(format!(
                "event {}: topic {topic} is not one of reporting.live's",
                event.id
            )));
        };
        agent.ok_or_else(|| bad(event, "agent", "(missing)"))
    }

    /// Runs `reporting.live` until `shutdown`. One consumer per process: the projection's
    /// transactions lock the rows they move, so replicas may consume side by side.
    pub async fn run_consumer(
        self,
        bus: Arc<dyn EventBus>,
        metrics: Metrics,
        consumer: String,
        dead_letters: DeadLetterPolicy,
        shutdown: CancellationToken,
    ) {
        let spec = Consumers {
            group: LIVE_EVENTS,
            consumer,
            concurrency: 1,
            span_name: "reporting.live",
            dead_letters,
        };
        run_consumers(bus, &metrics, spec, shutdown, |event| {
            let live = self.clone();
            async move { live.on_event(&event).await }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use switchboard_runtime::ids::EventId;

    use super::*;

    fn event() -> Event {
        Event {
            id: EventId::generate(),
            organization_id: OrganizationId::generate().to_string(),
            topic: ConversationChanged::TOPIC.into(),
            aggregate_id: String::new(),
            payload: Vec::new(),
            traceparent: None,
            occurred_at: chrono::Utc::now(),
        }
    }

    fn changed(state: ConversationState) -> ConversationChanged {
        ConversationChanged {
            conversation_id: ConversationId::generate().to_string(),
            state: state as i32,
            assignee_agent_id: AgentId::generate().to_string(),
            team_id: TeamId::generate().to_string(),
            channel_account_id: ChannelAccountId::generate().to_string(),
            version: 4,
            queued_ms: 0,
            changed_ms: 1_000,
            ..Default::default()
        }
    }

    #[test]
    fn a_queued_change_waits_since_its_queue_time_or_its_change() {
        let mut c = changed(ConversationState::Queued);
        let facts = conversation_facts(&event(), &c).expect("valid");
        assert_eq!(facts.state, LiveState::Queued);
        assert_eq!(facts.queued_ms, 1_000, "no queue time: since the change");
        assert_eq!(facts.holder, None, "a queued conversation has no holder");
        c.queued_ms = 500;
        assert_eq!(
            conversation_facts(&event(), &c).expect("valid").queued_ms,
            500
        );
    }

    #[test]
    fn closed_and_expired_are_tombstones_and_bad_ids_are_refused() {
        for state in [ConversationState::Closed, ConversationState::Expired] {
            let facts = conversation_facts(&event(), &changed(state)).expect("valid");
            assert_eq!(facts.state, LiveState::Ended);
            assert_eq!(facts.holder, None);
        }
        let mut bad = changed(ConversationState::Open);
        bad.team_id = "nope".into();
        assert!(matches!(
            conversation_facts(&event(), &bad),
            Err(Unhandled::Drop(_))
        ));
        assert!(matches!(
            conversation_facts(&event(), &changed(ConversationState::Unspecified)),
            Err(Unhandled::Drop(_))
        ));
    }

    #[test]
    fn an_unspecified_status_counts_as_offline() {
        let agent = AgentPresence {
            status: AgentStatus::Unspecified as i32,
            load: -1,
            capacity: 2,
            ..Default::default()
        };
        let facts = agent_facts(&agent);
        assert_eq!(facts.status, LiveStatus::Offline);
        assert_eq!(facts.load, 0);
    }
}
