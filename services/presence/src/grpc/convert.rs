//! Request parsing (field violations collected in a [`Check`]) and conversions between proto
//! messages and presence's domain types.

use switchboard_proto::{
    common::v1::AgentStatus as PbStatus, presence::v1 as pb, prost_types::Timestamp,
};
use switchboard_runtime::ids::{AgentId, OrganizationId};

use crate::{
    domain::{self, AgentState, Candidate, Profile, Reservation},
    error::PresenceError,
};

pub(super) use switchboard_runtime::validate::Check;

impl From<switchboard_runtime::validate::Invalid> for PresenceError {
    fn from(invalid: switchboard_runtime::validate::Invalid) -> Self {
        PresenceError::InvalidArgument(invalid.0)
    }
}

pub(super) fn status_from_pb(c: &mut Check, field: &str, value: i32) -> Option<domain::Status> {
    match PbStatus::try_from(value) {
        Ok(PbStatus::Available) => Some(domain::Status::Available),
        Ok(PbStatus::Away) => Some(domain::Status::Away),
        Ok(PbStatus::Offline) => Some(domain::Status::Offline),
        _ => {
            c.bad(field, "must be AVAILABLE, AWAY or OFFLINE");
            None
        }
    }
}

pub(super) fn status_to_pb(s: domain::Status) -> PbStatus {
    match s {
        domain::Status::Available => PbStatus::Available,
        domain::Status::Away => PbStatus::Away,
        domain::Status::Offline => PbStatus::Offline,
    }
}

pub(super) fn ts(ms: i64) -> Option<Timestamp> {
    (ms > 0).then(|| Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    })
}

/// An agent's presence as seen at `now` (milliseconds since the Unix epoch).
pub(super) fn presence_to_pb(org: &OrganizationId, s: &AgentState, now: i64) -> pb::AgentPresence {
    pb::AgentPresence {
        agent_id: s.profile.agent_id.to_string(),
        organization_id: org.to_string(),
        status: status_to_pb(s.effective_status(now)) as i32,
        status_reason: s.effective_reason(now).to_string(),
        status_change_time: ts(s.status_changed_ms),
        capacity: s.profile.capacity as i32,
        load: s.load as i32,
        team_ids: s.profile.team_ids.iter().map(ToString::to_string).collect(),
        channel_account_ids: s
            .profile
            .channel_account_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
        last_heartbeat_time: ts(s.last_heartbeat_ms),
        heartbeat_expire_time: ts(s.heartbeat_expires_ms),
        last_assignment_time: ts(s.last_assignment_ms),
    }
}

pub(super) fn reservation_to_pb(r: &Reservation) -> pb::Reservation {
    pb::Reservation {
        id: r.id.to_string(),
        agent_id: r.agent_id.to_string(),
        team_id: r
            .team_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        channel_account_id: r
            .channel_account_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        subject_id: r.subject_id.clone(),
        create_time: ts(r.created_ms),
    }
}

pub(super) fn candidate_to_pb(c: &Candidate) -> pb::ReserveCandidate {
    pb::ReserveCandidate {
        agent_id: c.agent_id.to_string(),
        status: status_to_pb(c.status) as i32,
        load: c.load as i32,
        capacity: c.capacity as i32,
        last_assignment_time: ts(c.last_assignment_ms),
        linked: c.linked,
        excluded: c.excluded,
    }
}

pub(super) fn profile_from_pb(
    c: &mut Check,
    field: &str,
    p: Option<&pb::AgentProfile>,
) -> Option<Profile> {
    let Some(p) = p else {
        c.bad(field, "required");
        return None;
    };
    let agent = c.id(&format!("{field}.agent_id"), &p.agent_id);
    let capacity = capacity(c, &format!("{field}.capacity"), p.capacity);
    let team_ids = c.ids(&format!("{field}.team_ids"), &p.team_ids);
    let channel_account_ids = c.ids(
        &format!("{field}.channel_account_ids"),
        &p.channel_account_ids,
    );
    Some(Profile {
        agent_id: agent?,
        capacity: capacity?,
        team_ids,
        channel_account_ids,
    })
}

pub(super) fn capacity(c: &mut Check, field: &str, value: i32) -> Option<u32> {
    if (0..=100).contains(&value) {
        Some(value as u32)
    } else {
        c.bad(field, "must be between 0 and 100");
        None
    }
}

pub(super) fn reason(c: &mut Check, field: &str, value: &str) {
    c.at_most(field, value, 200);
}

/// The organization and agent of a request that names nothing else.
pub(super) fn org_and_agent(
    org: &str,
    agent: &str,
) -> Result<(OrganizationId, AgentId), PresenceError> {
    let mut c = Check::default();
    let org = c.id("organization_id", org);
    let agent = c.id("agent_id", agent);
    match (org, agent) {
        (Some(org), Some(agent)) => Ok((org, agent)),
        _ => Err(PresenceError::InvalidArgument(c.0)),
    }
}
