//! The live figures' rules, free of storage and transport: what each conversation and each
//! agent adds to which counter, and when a change may replace what is stored.

use std::collections::BTreeMap;

/// A conversation's state as the projection keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    /// Waiting; nobody holds it.
    Queued,
    /// Offered to an agent, not opened yet.
    Assigned,
    /// Opened by its agent.
    Open,
    /// Closed or expired: a tombstone, counted nowhere.
    Ended,
}

impl LiveState {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveState::Queued => "queued",
            LiveState::Assigned => "assigned",
            LiveState::Open => "open",
            LiveState::Ended => "ended",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "queued" => LiveState::Queued,
            "assigned" => LiveState::Assigned,
            "open" => LiveState::Open,
            "ended" => LiveState::Ended,
            _ => return None,
        })
    }
}

/// An agent's status as the projection keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LiveStatus {
    Available,
    Away,
    Offline,
}

impl LiveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveStatus::Available => "available",
            LiveStatus::Away => "away",
            LiveStatus::Offline => "offline",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "available" => LiveStatus::Available,
            "away" => LiveStatus::Away,
            "offline" => LiveStatus::Offline,
            _ => return None,
        })
    }
}

/// Whose figure a counter is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// The whole organization.
    Org,
    /// A team (`team_` id).
    Team(String),
    /// A number (`chacc_` id).
    Number(String),
    /// An agent (`agt_` id).
    Agent(String),
}

impl Scope {
    /// The stored `(scope, scope_id)` pair.
    pub fn key(&self) -> (&'static str, &str) {
        match self {
            Scope::Org => ("org", ""),
            Scope::Team(id) => ("team", id),
            Scope::Number(id) => ("number", id),
            Scope::Agent(id) => ("agent", id),
        }
    }

    pub fn from_key(scope: &str, id: &str) -> Option<Self> {
        Some(match scope {
            "org" => Scope::Org,
            "team" => Scope::Team(id.to_string()),
            "number" => Scope::Number(id.to_string()),
            "agent" => Scope::Agent(id.to_string()),
            _ => return None,
        })
    }
}

/// One counted figure of a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    /// Queued conversations.
    Waiting,
    /// Queued conversations of one priority.
    WaitingPriority(i32),
    /// Assigned, not yet opened (offers pending).
    Assigned,
    /// Open.
    Open,
    /// Agents with a status.
    Agents(LiveStatus),
    /// Available agents with no free slot.
    AgentsAtCapacity,
    /// Summed load of the scope's agents (whatever their status).
    HeldLoad,
    /// Summed capacity of the scope's available agents.
    Capacity,
}

impl Bucket {
    /// The stored bucket name.
    pub fn name(&self) -> String {
        match self {
            Bucket::Waiting => "waiting".into(),
            Bucket::WaitingPriority(p) => format!("waiting.p{p}"),
            Bucket::Assigned => "assigned".into(),
            Bucket::Open => "open".into(),
            Bucket::Agents(s) => format!("agents.{}", s.as_str()),
            Bucket::AgentsAtCapacity => "agents.at_capacity".into(),
            Bucket::HeldLoad => "held_load".into(),
            Bucket::Capacity => "capacity".into(),
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "waiting" => Bucket::Waiting,
            "assigned" => Bucket::Assigned,
            "open" => Bucket::Open,
            "agents.at_capacity" => Bucket::AgentsAtCapacity,
            "held_load" => Bucket::HeldLoad,
            "capacity" => Bucket::Capacity,
            other => {
                if let Some(p) = other.strip_prefix("waiting.p") {
                    Bucket::WaitingPriority(p.parse().ok()?)
                } else if let Some(s) = other.strip_prefix("agents.") {
                    Bucket::Agents(LiveStatus::parse(s)?)
                } else {
                    return None;
                }
            }
        })
    }
}

/// A counter: one bucket of one scope (of the organization the caller works in).
pub type CounterKey = (Scope, Bucket);

/// What the projection knows of one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationFacts {
    pub state: LiveState,
    /// Its team; `None` for the organization's shared waiting list.
    pub team: Option<String>,
    pub number: String,
    /// Its holder; `None` while queued or ended.
    pub holder: Option<String>,
    pub priority: i32,
    /// Since when it waits (Unix ms); 0 when not queued.
    pub queued_ms: i64,
    pub version: i64,
}

/// What the projection knows of one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentFacts {
    pub status: LiveStatus,
    pub load: i64,
    pub capacity: i64,
    pub teams: Vec<String>,
    pub numbers: Vec<String>,
}

impl AgentFacts {
    /// Available with every slot taken.
    pub fn at_capacity(&self) -> bool {
        self.status == LiveStatus::Available && self.load >= self.capacity
    }
}

/// What a conversation adds to the counters (+1 each).
pub fn conversation_counts(c: &ConversationFacts) -> Vec<CounterKey> {
    let buckets: &[Bucket] = match c.state {
        LiveState::Queued => &[Bucket::Waiting, Bucket::WaitingPriority(c.priority)],
        LiveState::Assigned => &[Bucket::Assigned],
        LiveState::Open => &[Bucket::Open],
        LiveState::Ended => &[],
    };
    let mut scopes = vec![Scope::Org, Scope::Number(c.number.clone())];
    if let Some(team) = &c.team {
        scopes.push(Scope::Team(team.clone()));
    }
    let mut out = Vec::new();
    for scope in &scopes {
        for b in buckets {
            out.push((scope.clone(), *b));
        }
    }
    if let (Some(holder), LiveState::Assigned | LiveState::Open) = (&c.holder, c.state) {
        out.push((Scope::Agent(holder.clone()), buckets[0]));
    }
    out
}

/// What an agent adds to the counters of the organization, its teams and its numbers.
pub fn agent_counts(a: &AgentFacts) -> Vec<(CounterKey, i64)> {
    let mut scopes = vec![Scope::Org];
    let mut teams = a.teams.clone();
    teams.sort();
    teams.dedup();
    let mut numbers = a.numbers.clone();
    numbers.sort();
    numbers.dedup();
    scopes.extend(teams.into_iter().map(Scope::Team));
    scopes.extend(numbers.into_iter().map(Scope::Number));
    let mut out = Vec::new();
    for scope in scopes {
        out.push(((scope.clone(), Bucket::Agents(a.status)), 1));
        if a.at_capacity() {
            out.push(((scope.clone(), Bucket::AgentsAtCapacity), 1));
        }
        out.push(((scope.clone(), Bucket::HeldLoad), a.load));
        if a.status == LiveStatus::Available {
            out.push(((scope, Bucket::Capacity), a.capacity));
        }
    }
    out
}

/// The counter changes that turn `before`'s contributions into `after`'s: only non-zero
/// deltas, in key order (so concurrent writers lock counter rows in one order).
pub fn delta(
    before: &[(CounterKey, i64)],
    after: &[(CounterKey, i64)],
) -> BTreeMap<CounterKey, i64> {
    let mut out: BTreeMap<CounterKey, i64> = BTreeMap::new();
    for (k, v) in before {
        *out.entry(k.clone()).or_default() -= v;
    }
    for (k, v) in after {
        *out.entry(k.clone()).or_default() += v;
    }
    out.retain(|_, v| *v != 0);
    out
}

/// `conversation_counts` weighted by one, for [`delta`].
pub fn weighted(keys: Vec<CounterKey>) -> Vec<(CounterKey, i64)> {
    keys.into_iter().map(|k| (k, 1)).collect()
}

/// Whether a conversation change of `incoming` version replaces what is stored: only a newer
/// version does (a redelivered or late older change moves nothing, a tombstone included).
pub fn newer(stored: Option<i64>, incoming: i64) -> bool {
    stored.is_none_or(|v| incoming > v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(state: LiveState, team: Option<&str>, holder: Option<&str>) -> ConversationFacts {
        ConversationFacts {
            state,
            team: team.map(Into::into),
            number: "chacc_1".into(),
            holder: holder.map(Into::into),
            priority: 2,
            queued_ms: 10,
            version: 1,
        }
    }

    #[test]
    fn a_queued_conversation_counts_waiting_in_org_number_and_team() {
        let counts = conversation_counts(&conv(LiveState::Queued, Some("team_a"), None));
        assert!(counts.contains(&(Scope::Org, Bucket::Waiting)));
        assert!(counts.contains(&(Scope::Number("chacc_1".into()), Bucket::WaitingPriority(2))));
        assert!(counts.contains(&(Scope::Team("team_a".into()), Bucket::Waiting)));
        assert_eq!(counts.len(), 6);
        // The shared waiting list has no team.
        assert_eq!(
            conversation_counts(&conv(LiveState::Queued, None, None)).len(),
            4
        );
    }

    #[test]
    fn an_assignment_moves_waiting_to_the_agents_offers() {
        let before = weighted(conversation_counts(&conv(
            LiveState::Queued,
            Some("t"),
            None,
        )));
        let after = weighted(conversation_counts(&conv(
            LiveState::Assigned,
            Some("t"),
            Some("agt_1"),
        )));
        let d = delta(&before, &after);
        assert_eq!(d.get(&(Scope::Org, Bucket::Waiting)), Some(&-1));
        assert_eq!(d.get(&(Scope::Org, Bucket::Assigned)), Some(&1));
        assert_eq!(
            d.get(&(Scope::Agent("agt_1".into()), Bucket::Assigned)),
            Some(&1)
        );
        assert!(d.values().all(|v| *v == 1 || *v == -1));
    }

    #[test]
    fn an_ended_conversation_counts_nowhere() {
        assert!(conversation_counts(&conv(LiveState::Ended, Some("t"), Some("a"))).is_empty());
    }

    #[test]
    fn only_a_newer_version_applies() {
        assert!(newer(None, 1));
        assert!(newer(Some(1), 2));
        assert!(!newer(Some(2), 2));
        assert!(!newer(Some(3), 2));
    }

    #[test]
    fn an_agent_counts_in_org_teams_and_numbers_and_at_capacity_when_full() {
        let a = AgentFacts {
            status: LiveStatus::Available,
            load: 2,
            capacity: 2,
            teams: vec!["t1".into(), "t1".into()],
            numbers: vec!["n1".into()],
        };
        let counts = agent_counts(&a);
        let scopes: std::collections::BTreeSet<_> = counts.iter().map(|((s, _), _)| s).collect();
        assert_eq!(scopes.len(), 3);
        assert!(counts.contains(&((Scope::Team("t1".into()), Bucket::AgentsAtCapacity), 1)));
        assert!(counts.contains(&((Scope::Org, Bucket::Capacity), 2)));
        let away = AgentFacts {
            status: LiveStatus::Away,
            ..a.clone()
        };
        let d = delta(&agent_counts(&a), &agent_counts(&away));
        assert_eq!(d.get(&(Scope::Org, Bucket::Capacity)), Some(&-2));
        assert_eq!(d.get(&(Scope::Org, Bucket::HeldLoad)), None);
        assert_eq!(
            d.get(&(Scope::Org, Bucket::Agents(LiveStatus::Away))),
            Some(&1)
        );
    }

    #[test]
    fn bucket_names_round_trip() {
        for b in [
            Bucket::Waiting,
            Bucket::WaitingPriority(-3),
            Bucket::Assigned,
            Bucket::Open,
            Bucket::Agents(LiveStatus::Offline),
            Bucket::AgentsAtCapacity,
            Bucket::HeldLoad,
            Bucket::Capacity,
        ] {
            assert_eq!(Bucket::parse(&b.name()), Some(b));
        }
    }
}
