//! What a `WatchPresence` watcher asked to see, and a bus event as the watcher sees it.

use switchboard_proto::{
    events::TypedEvent,
    presence::v1::{
        self as pb, AgentCapacityChanged, AgentHeartbeatExpired, AgentProfileChanged,
        AgentSlotFreed, AgentSlotReserved, AgentStatusChanged, OrganizationRebuildRequired,
    },
};
use switchboard_runtime::{
    ids::{AgentId, OrganizationId, TeamId},
    outbox::{DecodeError, Event},
};

use super::convert::ts;

pub(super) fn kind_of(topic: &str) -> pb::PresenceEventKind {
    use pb::PresenceEventKind as K;
    if topic == AgentStatusChanged::TOPIC {
        K::StatusChanged
    } else if topic == AgentHeartbeatExpired::TOPIC {
        K::HeartbeatExpired
    } else if topic == AgentCapacityChanged::TOPIC {
        K::CapacityChanged
    } else if topic == AgentSlotReserved::TOPIC || topic == AgentSlotFreed::TOPIC {
        K::LoadChanged
    } else if topic == AgentProfileChanged::TOPIC {
        K::ProfileChanged
    } else if topic == OrganizationRebuildRequired::TOPIC {
        K::RebuildRequired
    } else {
        K::Unspecified
    }
}

/// The agent (after the change) and its previous status an event of presence carries.
fn payload_of(event: &Event) -> Result<(Option<pb::AgentPresence>, i32), DecodeError> {
    let topic = event.topic.as_str();
    Ok(if topic == AgentStatusChanged::TOPIC {
        let m = event.decode::<AgentStatusChanged>()?;
        (m.agent, m.previous_status)
    } else if topic == AgentHeartbeatExpired::TOPIC {
        let m = event.decode::<AgentHeartbeatExpired>()?;
        (m.agent, m.previous_status)
    } else if topic == AgentCapacityChanged::TOPIC {
        (event.decode::<AgentCapacityChanged>()?.agent, 0)
    } else if topic == AgentSlotReserved::TOPIC {
        (event.decode::<AgentSlotReserved>()?.agent, 0)
    } else if topic == AgentSlotFreed::TOPIC {
        (event.decode::<AgentSlotFreed>()?.agent, 0)
    } else if topic == AgentProfileChanged::TOPIC {
        (event.decode::<AgentProfileChanged>()?.agent, 0)
    } else {
        event.decode::<OrganizationRebuildRequired>()?;
        (None, 0)
    })
}

/// What a watcher asked to see.
pub(super) struct WatchFilter {
    pub(super) org: OrganizationId,
    pub(super) team: Option<TeamId>,
    pub(super) agents: Vec<AgentId>,
    pub(super) kinds: Vec<i32>,
}

impl WatchFilter {
    pub(super) fn wants(&self, kind: i32, presence: Option<&pb::AgentPresence>) -> bool {
        if !self.kinds.is_empty() && !self.kinds.contains(&kind) {
            return false;
        }
        // Organization-wide events (rebuild required) reach every watcher of the org.
        presence.is_none_or(|p| self.wants_agent(p))
    }

    fn wants_agent(&self, p: &pb::AgentPresence) -> bool {
        self.team
            .as_ref()
            .is_none_or(|t| p.team_ids.iter().any(|x| x == t.as_str()))
            && (self.agents.is_empty() || self.agents.iter().any(|a| a.as_str() == p.agent_id))
    }

    /// The watcher's view of a bus event, if it wants it.
    pub(super) fn convert(&self, event: &Event) -> Option<pb::PresenceEvent> {
        if event.organization_id != self.org.as_str() {
            return None;
        }
        let kind = kind_of(&event.topic) as i32;
        // A live tail is best-effort: an event it cannot read is skipped (the consumer groups
        // dead-letter it).
        let (mut presence, previous_status) = match payload_of(event) {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable presence event skipped by a watcher");
                return None;
            }
        };
        if let Some(p) = presence.as_mut()
            && p.organization_id.is_empty()
        {
            p.organization_id = event.organization_id.clone();
        }
        if !self.wants(kind, presence.as_ref()) {
            return None;
        }
        Some(pb::PresenceEvent {
            event_id: event.id.to_string(),
            kind,
            presence,
            previous_status,
            event_time: ts(event.occurred_at.timestamp_millis()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_and_releases_both_reach_watchers_as_load_changed() {
        use pb::PresenceEventKind as K;
        assert_eq!(kind_of(AgentSlotReserved::TOPIC), K::LoadChanged);
        assert_eq!(kind_of(AgentSlotFreed::TOPIC), K::LoadChanged);
        // Every topic presence publishes is a kind a watcher can ask for.
        for topic in crate::app::TOPICS {
            assert_ne!(kind_of(topic), K::Unspecified, "{topic}");
        }
    }
}
