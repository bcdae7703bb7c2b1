//! Reading the live figures of one organization: its counters (one row per scope and bucket),
//! its agents' rows, and one index lookup per queue for the longest wait. Nothing here reads
//! more than the organization's counters and agents.

use std::collections::{BTreeMap, BTreeSet};

use switchboard_runtime::ids::{AgentId, ChannelAccountId, OrganizationId, TeamId};

use super::{
    Live, LiveError,
    directory::Role,
    domain::{AgentFacts, Bucket, LiveStatus, Scope},
};

/// Which queues to read; empty lists: all of the organization's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiguresFilter {
    pub teams: Vec<TeamId>,
    pub numbers: Vec<ChannelAccountId>,
}

impl FiguresFilter {
    fn is_empty(&self) -> bool {
        self.teams.is_empty() && self.numbers.is_empty()
    }
}

/// Agents of a queue by status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub available: i64,
    pub away: i64,
    pub offline: i64,
    pub at_capacity: i64,
}

/// The figures of one queue (a team, a number, or the organization).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFigures {
    pub id: String,
    pub waiting: i64,
    /// The conversation waiting longest and since when (Unix ms).
    pub longest_waiting: Option<(String, i64)>,
    /// Waiting by priority, highest first (priorities with none waiting left out).
    pub waiting_by_priority: Vec<(i32, i64)>,
    pub agents: StatusCounts,
    pub held_load: i64,
    pub capacity: i64,
    pub offers_pending: i64,
    pub open: i64,
}

/// The figures of one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentFigures {
    pub id: String,
    /// `None` when presence never told about it.
    pub status: Option<LiveStatus>,
    pub load: i64,
    pub capacity: i64,
    pub assigned: i64,
    pub open: i64,
}

/// Everything GetLiveFigures answers, but the read time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub teams: Vec<QueueFigures>,
    pub numbers: Vec<QueueFigures>,
    pub agents: Vec<AgentFigures>,
    pub organization: QueueFigures,
}

fn queue(id: &str, buckets: Option<&BTreeMap<Bucket, i64>>) -> QueueFigures {
    let mut q = QueueFigures {
        id: id.to_string(),
        ..QueueFigures::default()
    };
    for (bucket, value) in buckets.into_iter().flatten() {
        let value = *value;
        match bucket {
            Bucket::Waiting => q.waiting = value,
            Bucket::WaitingPriority(p) if value != 0 => q.waiting_by_priority.push((*p, value)),
            Bucket::WaitingPriority(_) => {}
            Bucket::Assigned => q.offers_pending = value,
            Bucket::Open => q.open = value,
            Bucket::Agents(LiveStatus::Available) => q.agents.available = value,
            Bucket::Agents(LiveStatus::Away) => q.agents.away = value,
            Bucket::Agents(LiveStatus::Offline) => q.agents.offline = value,
            Bucket::AgentsAtCapacity => q.agents.at_capacity = value,
            Bucket::HeldLoad => q.held_load = value,
            Bucket::Capacity => q.capacity = value,
        }
    }
    q.waiting_by_priority
        .sort_by_key(|p| std::cmp::Reverse(p.0));
    q
}

impl Live {
    /// PERMISSION_DENIED unless `actor` is an enabled operator or admin of `org`.
    pub async fn authorize(&self, org: &OrganizationId, actor: &AgentId) -> Result<(), LiveError> {
        match self.directory.role(org, actor).await? {
            Some(Role::Operator | Role::Admin) => Ok(()),
            _ => Err(LiveError::PermissionDenied(
                "live figures need an operator or admin of the organization".into(),
            )),
        }
    }

    /// The figures of `org` now. Teams and numbers are those the projection has seen (in a
    /// conversation or an agent's profile); a filter naming one it has not seen (or another
    /// organization's) leaves it out.
    pub async fn figures(
        &self,
        org: &OrganizationId,
        filter: &FiguresFilter,
    ) -> Result<Figures, LiveError> {
        let mut by_scope: BTreeMap<Scope, BTreeMap<Bucket, i64>> = BTreeMap::new();
        for (scope, bucket, value) in self.store.counters(org.as_str()).await? {
            by_scope.entry(scope).or_default().insert(bucket, value);
        }
        let agents: BTreeMap<String, AgentFacts> =
            self.store.agents(org.as_str()).await?.into_iter().collect();
        let wanted_teams: BTreeSet<&str> = filter.teams.iter().map(TeamId::as_str).collect();
        let wanted_numbers: BTreeSet<&str> = filter
            .numbers
            .iter()
            .map(ChannelAccountId::as_str)
            .collect();
        let mut teams = Vec::new();
        let mut numbers = Vec::new();
        let mut agent_ids = BTreeSet::new();
        for (scope, buckets) in &by_scope {
            match scope {
                Scope::Team(id) if filter.is_empty() || wanted_teams.contains(id.as_str()) => {
                    teams.push(
                        self.with_longest(org, scope, queue(id, Some(buckets)))
                            .await?,
                    );
                }
                Scope::Number(id) if filter.is_empty() || wanted_numbers.contains(id.as_str()) => {
                    numbers.push(
                        self.with_longest(org, scope, queue(id, Some(buckets)))
                            .await?,
                    );
                }
                Scope::Agent(id) => {
                    agent_ids.insert(id.clone());
                }
                _ => {}
            }
        }
        agent_ids.extend(agents.keys().cloned());
        let agent_figures = agent_ids
            .into_iter()
            .filter_map(|id| {
                let facts = agents.get(&id);
                if !filter.is_empty() {
                    // With a filter: the agents of the chosen teams and numbers.
                    let member = facts.is_some_and(|a| {
                        a.teams.iter().any(|t| wanted_teams.contains(t.as_str()))
                            || a.numbers
                                .iter()
                                .any(|n| wanted_numbers.contains(n.as_str()))
                    });
                    if !member {
                        return None;
                    }
                }
                let counts = by_scope.get(&Scope::Agent(id.clone()));
                let count = |b: Bucket| counts.and_then(|c| c.get(&b)).copied().unwrap_or(0);
                Some(AgentFigures {
                    status: facts.map(|a| a.status),
                    load: facts.map_or(0, |a| a.load),
                    capacity: facts.map_or(0, |a| a.capacity),
                    assigned: count(Bucket::Assigned),
                    open: count(Bucket::Open),
                    id,
                })
            })
            .collect();
        let organization = self
            .with_longest(
                org,
                &Scope::Org,
                queue(org.as_str(), by_scope.get(&Scope::Org)),
            )
            .await?;
        Ok(Figures {
            teams,
            numbers,
            agents: agent_figures,
            organization,
        })
    }

    async fn with_longest(
        &self,
        org: &OrganizationId,
        scope: &Scope,
        mut q: QueueFigures,
    ) -> Result<QueueFigures, LiveError> {
        if q.waiting > 0 {
            q.longest_waiting = self.store.longest_waiting(org.as_str(), scope).await?;
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_reads_its_buckets_and_orders_priorities_highest_first() {
        let buckets: BTreeMap<Bucket, i64> = [
            (Bucket::Waiting, 3),
            (Bucket::WaitingPriority(0), 2),
            (Bucket::WaitingPriority(5), 1),
            (Bucket::WaitingPriority(9), 0),
            (Bucket::Agents(LiveStatus::Away), 4),
            (Bucket::Capacity, 6),
        ]
        .into_iter()
        .collect();
        let q = queue("team_x", Some(&buckets));
        assert_eq!(q.waiting, 3);
        assert_eq!(q.waiting_by_priority, vec![(5, 1), (0, 2)]);
        assert_eq!(q.agents.away, 4);
        assert_eq!(q.capacity, 6);
        assert_eq!(q.longest_waiting, None);
    }
}
