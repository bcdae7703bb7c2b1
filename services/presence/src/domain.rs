//! Presence's domain: agent state, slot reservations and the rules for picking an agent. No
//! transport or storage types.

use switchboard_runtime::ids::{AgentId, ChannelAccountId, ReservationId, TeamId};

/// Whether an agent takes new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Available,
    Away,
    Offline,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Away => "away",
            Status::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "available" => Some(Status::Available),
            "away" => Some(Status::Away),
            "offline" => Some(Status::Offline),
            _ => None,
        }
    }
}

/// What routing tells presence about an agent: capacity and where it may work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub agent_id: AgentId,
    pub capacity: u32,
    pub team_ids: Vec<TeamId>,
    pub channel_account_ids: Vec<ChannelAccountId>,
}

/// The status reason of an agent whose heartbeats stopped (the proto's promise).
pub const HEARTBEAT_EXPIRED: &str = "heartbeat expired";

/// An agent's live state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentState {
    pub profile: Profile,
    pub status: Status,
    pub status_reason: String,
    /// Unix ms of the last status change.
    pub status_changed_ms: i64,
    pub load: u32,
    /// Unix ms of the last heartbeat (0: never).
    pub last_heartbeat_ms: i64,
    /// Unix ms after which, without a heartbeat, the agent counts as offline (0: no heartbeat yet).
    pub heartbeat_expires_ms: i64,
    /// Unix ms of the last reservation granted (0: never).
    pub last_assignment_ms: i64,
}

impl AgentState {
    /// The status as seen at `now_ms`: an expired heartbeat means offline.
    pub fn effective_status(&self, now_ms: i64) -> Status {
        if self.status != Status::Offline && self.heartbeat_expires_ms < now_ms {
            Status::Offline
        } else {
            self.status
        }
    }

    /// The reason shown with [`Self::effective_status`]: [`HEARTBEAT_EXPIRED`] from the moment
    /// the heartbeat ran out, before the sweep stores it, so no read shows an expired agent
    /// offline with the reason of the status it had.
    pub fn effective_reason(&self, now_ms: i64) -> &str {
        if self.status != Status::Offline && self.heartbeat_expires_ms < now_ms {
            HEARTBEAT_EXPIRED
        } else {
            &self.status_reason
        }
    }
}

/// How to pick the agent of a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Lowest load; ties to the longest idle (oldest last assignment), then agent id.
    LeastOpen,
    /// The next available agent after the last one chosen for this team, by agent id.
    RoundRobin,
    /// Exactly this agent, if it can take the work.
    Named(AgentId),
}

/// A request for one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    pub reservation_id: ReservationId,
    pub strategy: Strategy,
    /// Only agents of this team (required for LeastOpen and RoundRobin).
    pub team_id: Option<TeamId>,
    /// Only agents linked to this number.
    pub channel_account_id: Option<ChannelAccountId>,
    pub exclude: Vec<AgentId>,
    /// What the slot is for (a conversation or work item id), kept with the reservation.
    pub subject_id: String,
    /// Named agent only: grant even if away/offline (a transfer to a named agent); capacity
    /// still holds.
    pub allow_not_available: bool,
}

/// A granted slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub id: ReservationId,
    pub agent_id: AgentId,
    pub team_id: Option<TeamId>,
    pub channel_account_id: Option<ChannelAccountId>,
    pub subject_id: String,
    pub created_ms: i64,
}

/// An agent considered by a reserve, for the decision's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub agent_id: AgentId,
    pub status: Status,
    pub load: u32,
    pub capacity: u32,
    pub last_assignment_ms: i64,
    pub linked: bool,
    pub excluded: bool,
}

/// What a reserve decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// A slot was taken (or had been, by an earlier call with the same reservation id).
    Granted(Reservation),
    /// No agent of the team can take work now.
    NoAgentAvailable,
    /// The named agent is away or offline.
    AgentNotAvailable,
    /// The named agent is at capacity.
    AgentAtCapacity,
    /// The named agent is unknown or not linked to the team/number.
    AgentNotLinked,
}

/// A reserve's outcome and the candidates it weighed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveDecision {
    pub outcome: ReserveOutcome,
    pub candidates: Vec<Candidate>,
    /// This call took a slot (an agent's load went up); false for refusals and for a replayed
    /// reservation id, which take nothing more.
    pub took_slot: bool,
}

/// Picks among `candidates` (already filtered to eligible ones) by strategy. `rr_cursor` is the
/// agent last chosen by round robin for the team.
pub fn pick<'a>(
    strategy: &Strategy,
    eligible: &'a [Candidate],
    rr_cursor: Option<&str>,
) -> Option<&'a Candidate> {
    match strategy {
        Strategy::LeastOpen => eligible.iter().min_by(|a, b| {
            (a.load, a.last_assignment_ms, a.agent_id.as_str()).cmp(&(
                b.load,
                b.last_assignment_ms,
                b.agent_id.as_str(),
            ))
        }),
        Strategy::RoundRobin => {
            let mut sorted: Vec<&Candidate> = eligible.iter().collect();
            sorted.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
            let next = rr_cursor.and_then(|c| sorted.iter().find(|x| x.agent_id.as_str() > c));
            next.or(sorted.first()).copied()
        }
        Strategy::Named(id) => eligible.iter().find(|c| &c.agent_id == id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: &str, load: u32, last: i64) -> Candidate {
        Candidate {
            agent_id: AgentId::parse(id).expect("id"),
            status: Status::Available,
            load,
            capacity: 3,
            last_assignment_ms: last,
            linked: true,
            excluded: false,
        }
    }

    #[test]
    fn least_open_prefers_lowest_load_then_longest_idle() {
        let c = [
            cand("agt_a", 2, 1),
            cand("agt_b", 1, 50),
            cand("agt_c", 1, 10),
        ];
        assert_eq!(
            pick(&Strategy::LeastOpen, &c, None).map(|c| c.agent_id.as_str()),
            Some("agt_c")
        );
    }

    #[test]
    fn round_robin_rotates_by_agent_id_and_wraps() {
        let c = [
            cand("agt_b", 0, 0),
            cand("agt_a", 0, 0),
            cand("agt_c", 0, 0),
        ];
        let order: Vec<_> = [None, Some("agt_a"), Some("agt_b"), Some("agt_c")]
            .into_iter()
            .map(|cur| pick(&Strategy::RoundRobin, &c, cur).map(|c| c.agent_id.to_string()))
            .collect();
        assert_eq!(
            order,
            [Some("agt_a"), Some("agt_b"), Some("agt_c"), Some("agt_a")]
                .map(|s| s.map(String::from))
        );
    }

    #[test]
    fn expired_heartbeat_reads_as_offline() {
        let state = AgentState {
            profile: Profile {
                agent_id: AgentId::parse("agt_a").expect("id"),
                capacity: 3,
                team_ids: vec![],
                channel_account_ids: vec![],
            },
            status: Status::Available,
            status_reason: String::new(),
            status_changed_ms: 0,
            load: 0,
            last_heartbeat_ms: 0,
            heartbeat_expires_ms: 1_000,
            last_assignment_ms: 0,
        };
        assert_eq!(state.effective_status(999), Status::Available);
        assert_eq!(state.effective_status(1_001), Status::Offline);
    }

    #[test]
    fn expired_heartbeat_reads_with_reason_heartbeat_expired_before_the_sweep() {
        let state = AgentState {
            profile: Profile {
                agent_id: AgentId::parse("agt_a").expect("id"),
                capacity: 3,
                team_ids: vec![],
                channel_account_ids: vec![],
            },
            status: Status::Away,
            status_reason: "lunch".into(),
            status_changed_ms: 0,
            load: 0,
            last_heartbeat_ms: 0,
            heartbeat_expires_ms: 1_000,
            last_assignment_ms: 0,
        };
        assert_eq!(state.effective_reason(999), "lunch");
        assert_eq!(state.effective_reason(1_001), "heartbeat expired");
        let offline = AgentState {
            status: Status::Offline,
            status_reason: "signed out".into(),
            ..state
        };
        assert_eq!(offline.effective_reason(1_001), "signed out");
    }
}
