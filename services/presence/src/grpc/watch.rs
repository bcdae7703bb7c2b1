//! What a `WatchPresence` watcher asked to see, and a bus event as the watcher sees it.

use switchboard_proto::{common::v1::AgentStatus as PbStatus, presence::v1 as pb};
use switchboard_runtime::ids::{AgentId, OrganizationId, TeamId};

use super::convert::{status_to_pb, ts};
use crate::{app::topics, domain};

pub(super) fn kind_of(topic: &str) -> pb::PresenceEventKind {
    use pb::PresenceEventKind as K;
    match topic {
        topics::STATUS_CHANGED => K::StatusChanged,
        topics::HEARTBEAT_EXPIRED => K::HeartbeatExpired,
        topics::CAPACITY_CHANGED => K::CapacityChanged,
        topics::SLOT_RESERVED | topics::SLOT_FREED => K::LoadChanged,
        topics::PROFILE_CHANGED => K::ProfileChanged,
        topics::REBUILD_REQUIRED => K::RebuildRequired,
        _ => K::Unspecified,
    }
}

pub(super) fn pb_status_of(s: Option<&str>) -> i32 {
    s.and_then(domain::Status::parse)
        .map_or(PbStatus::Unspecified, status_to_pb) as i32
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
    pub(super) fn convert(
        &self,
        event: &switchboard_runtime::outbox::Event,
    ) -> Option<pb::PresenceEvent> {
        if event.organization_id != self.org.as_str() {
            return None;
        }
        let kind = kind_of(&event.topic) as i32;
        let p = &event.payload;
        let strings = |k: &str| -> Vec<String> {
            p[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let presence = p["agent_id"].as_str().map(|agent| pb::AgentPresence {
            agent_id: agent.to_string(),
            organization_id: event.organization_id.clone(),
            status: pb_status_of(p["status"].as_str()),
            status_reason: p["reason"].as_str().unwrap_or_default().to_string(),
            capacity: p["capacity"].as_i64().unwrap_or_default() as i32,
            load: p["load"].as_i64().unwrap_or_default() as i32,
            team_ids: strings("team_ids"),
            channel_account_ids: strings("channel_account_ids"),
            ..Default::default()
        });
        if !self.wants(kind, presence.as_ref()) {
            return None;
        }
        Some(pb::PresenceEvent {
            event_id: event.id.to_string(),
            kind,
            presence,
            previous_status: pb_status_of(p["previous_status"].as_str()),
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
        assert_eq!(kind_of(topics::SLOT_RESERVED), K::LoadChanged);
        assert_eq!(kind_of(topics::SLOT_FREED), K::LoadChanged);
        // Every topic presence publishes is a kind a watcher can ask for.
        for topic in topics::ALL {
            assert_ne!(kind_of(topic), K::Unspecified, "{topic}");
        }
    }
}
