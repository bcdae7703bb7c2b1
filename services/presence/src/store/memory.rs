//! The in-process presence store of the embedded default: the same semantics as Redis, one
//! mutex making each operation atomic.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use switchboard_runtime::ids::{AgentId, OrganizationId, ReservationId, TeamId};
use tokio::sync::Mutex;

use super::{PresenceStore, ReserveResult, StoreError};
use crate::domain::{
    self, AgentState, Candidate, Profile, Reservation, ReserveDecision, ReserveOutcome,
    ReserveRequest, Status, Strategy,
};

#[derive(Default)]
struct Org {
    initialized: bool,
    agents: BTreeMap<AgentId, AgentState>,
    reservations: HashMap<ReservationId, Reservation>,
    rr_cursor: HashMap<Option<TeamId>, String>,
}

/// Presence in process memory.
#[derive(Default)]
pub struct MemoryStore {
    orgs: Mutex<HashMap<OrganizationId, Org>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything, as a Redis FLUSHALL would (tests).
    pub async fn wipe(&self) {
        self.orgs.lock().await.clear();
    }
}

fn new_state(profile: &Profile) -> AgentState {
    AgentState {
        profile: profile.clone(),
        status: Status::Offline,
        status_reason: String::new(),
        status_changed_ms: 0,
        load: 0,
        last_heartbeat_ms: 0,
        heartbeat_expires_ms: 0,
        last_assignment_ms: 0,
    }
}

fn candidate(a: &AgentState, req: &ReserveRequest, now_ms: i64) -> Candidate {
    let linked = req
        .team_id
        .as_ref()
        .is_none_or(|t| a.profile.team_ids.contains(t))
        && req
            .channel_account_id
            .as_ref()
            .is_none_or(|c| a.profile.channel_account_ids.contains(c));
    Candidate {
        agent_id: a.profile.agent_id.clone(),
        status: a.effective_status(now_ms),
        load: a.load,
        capacity: a.profile.capacity,
        last_assignment_ms: a.last_assignment_ms,
        linked,
        excluded: req.exclude.contains(&a.profile.agent_id),
    }
}

#[async_trait]
impl PresenceStore for MemoryStore {
    async fn is_initialized(&self, org: &OrganizationId) -> Result<bool, StoreError> {
        Ok(self
            .orgs
            .lock()
            .await
            .get(org)
            .is_some_and(|o| o.initialized))
    }

    async fn initialize(&self, org: &OrganizationId) -> Result<(), StoreError> {
        self.orgs
            .lock()
            .await
            .entry(org.clone())
            .or_default()
            .initialized = true;
        Ok(())
    }

    async fn upsert_profile(
        &self,
        org: &OrganizationId,
        profile: &Profile,
    ) -> Result<AgentState, StoreError> {
        let mut orgs = self.orgs.lock().await;
        let o = orgs.entry(org.clone()).or_default();
        let state = o
            .agents
            .entry(profile.agent_id.clone())
            .and_modify(|s| s.profile = profile.clone())
            .or_insert_with(|| new_state(profile));
        Ok(state.clone())
    }

    async fn remove_agent(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<bool, StoreError> {
        let mut orgs = self.orgs.lock().await;
        Ok(orgs
            .get_mut(org)
            .is_some_and(|o| o.agents.remove(agent).is_some()))
    }

    async fn set_status(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        status: Status,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<(AgentState, Status)>, StoreError> {
        let mut orgs = self.orgs.lock().await;
        let Some(a) = orgs.get_mut(org).and_then(|o| o.agents.get_mut(agent)) else {
            return Ok(None);
        };
        let previous = a.effective_status(now_ms);
        if a.status != status {
            a.status_changed_ms = now_ms;
        }
        a.status = status;
        a.status_reason = reason.to_string();
        Ok(Some((a.clone(), previous)))
    }

    async fn heartbeat(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<Option<AgentState>, StoreError> {
        let mut orgs = self.orgs.lock().await;
        let Some(a) = orgs.get_mut(org).and_then(|o| o.agents.get_mut(agent)) else {
            return Ok(None);
        };
        a.last_heartbeat_ms = now_ms;
        a.heartbeat_expires_ms = expires_ms;
        Ok(Some(a.clone()))
    }

    async fn set_capacity(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        capacity: u32,
    ) -> Result<Option<AgentState>, StoreError> {
        let mut orgs = self.orgs.lock().await;
        let Some(a) = orgs.get_mut(org).and_then(|o| o.agents.get_mut(agent)) else {
            return Ok(None);
        };
        a.profile.capacity = capacity;
        Ok(Some(a.clone()))
    }

    async fn get(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Option<AgentState>, StoreError> {
        let orgs = self.orgs.lock().await;
        Ok(orgs.get(org).and_then(|o| o.agents.get(agent)).cloned())
    }

    async fn list(&self, org: &OrganizationId) -> Result<Vec<AgentState>, StoreError> {
        let orgs = self.orgs.lock().await;
        Ok(orgs
            .get(org)
            .map(|o| o.agents.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn reserve(
        &self,
        org: &OrganizationId,
        req: &ReserveRequest,
        now_ms: i64,
    ) -> Result<ReserveResult, StoreError> {
        let mut orgs = self.orgs.lock().await;
        let Some(o) = orgs.get_mut(org).filter(|o| o.initialized) else {
            return Ok(ReserveResult::Rebuilding);
        };
        if let Some(existing) = o.reservations.get(&req.reservation_id) {
            return Ok(ReserveResult::Decided(ReserveDecision {
                outcome: ReserveOutcome::Granted(existing.clone()),
                candidates: Vec::new(),
                took_slot: false,
            }));
        }
        let (outcome_agent, candidates) = match &req.strategy {
            Strategy::Named(id) => {
                let Some(a) = o.agents.get(id) else {
                    return Ok(decided(ReserveOutcome::AgentNotLinked, Vec::new()));
                };
                let c = candidate(a, req, now_ms);
                let outcome = if !c.linked {
                    Some(ReserveOutcome::AgentNotLinked)
                } else if c.status != Status::Available && !req.allow_not_available {
                    Some(ReserveOutcome::AgentNotAvailable)
                } else if c.load >= c.capacity {
                    Some(ReserveOutcome::AgentAtCapacity)
                } else {
                    None
                };
                if let Some(outcome) = outcome {
                    return Ok(decided(outcome, vec![c]));
                }
                (id.clone(), vec![c])
            }
            strategy => {
                let candidates: Vec<Candidate> = o
                    .agents
                    .values()
                    .filter(|a| {
                        req.team_id
                            .as_ref()
                            .is_none_or(|t| a.profile.team_ids.contains(t))
                    })
                    .map(|a| candidate(a, req, now_ms))
                    .collect();
                let eligible: Vec<Candidate> = candidates
                    .iter()
                    .filter(|c| {
                        c.linked
                            && !c.excluded
                            && c.status == Status::Available
                            && c.load < c.capacity
                    })
                    .cloned()
                    .collect();
                let cursor = o.rr_cursor.get(&req.team_id).map(String::as_str);
                let Some(chosen) = domain::pick(strategy, &eligible, cursor) else {
                    return Ok(decided(ReserveOutcome::NoAgentAvailable, candidates));
                };
                let chosen = chosen.agent_id.clone();
                if *strategy == Strategy::RoundRobin {
                    o.rr_cursor.insert(req.team_id.clone(), chosen.to_string());
                }
                (chosen, candidates)
            }
        };
        let a = o
            .agents
            .get_mut(&outcome_agent)
            .ok_or_else(|| StoreError::Corrupt("chosen agent vanished".into()))?;
        a.load += 1;
        a.last_assignment_ms = now_ms;
        let reservation = Reservation {
            id: req.reservation_id.clone(),
            agent_id: outcome_agent,
            team_id: req.team_id.clone(),
            channel_account_id: req.channel_account_id.clone(),
            subject_id: req.subject_id.clone(),
            created_ms: now_ms,
        };
        o.reservations
            .insert(reservation.id.clone(), reservation.clone());
        Ok(ReserveResult::Decided(ReserveDecision {
            outcome: ReserveOutcome::Granted(reservation),
            candidates,
            took_slot: true,
        }))
    }

    async fn release(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
    ) -> Result<Option<(AgentId, u32)>, StoreError> {
        let mut orgs = self.orgs.lock().await;
        let Some(o) = orgs.get_mut(org) else {
            return Ok(None);
        };
        let Some(r) = o.reservations.remove(reservation) else {
            return Ok(None);
        };
        let load = match o.agents.get_mut(&r.agent_id) {
            Some(a) => {
                a.load = a.load.saturating_sub(1);
                a.load
            }
            None => 0,
        };
        Ok(Some((r.agent_id, load)))
    }

    async fn rebuild(
        &self,
        org: &OrganizationId,
        agents: &[(Profile, Vec<Reservation>)],
    ) -> Result<(), StoreError> {
        let mut orgs = self.orgs.lock().await;
        let o = orgs.entry(org.clone()).or_default();
        o.reservations.clear();
        for (profile, reservations) in agents {
            let a = o
                .agents
                .entry(profile.agent_id.clone())
                .or_insert_with(|| new_state(profile));
            a.profile = profile.clone();
            a.load = reservations.len() as u32;
            for r in reservations {
                o.reservations.insert(r.id.clone(), r.clone());
            }
        }
        o.initialized = true;
        Ok(())
    }

    async fn stale_heartbeats(
        &self,
        now_ms: i64,
    ) -> Result<Vec<(OrganizationId, AgentId)>, StoreError> {
        let orgs = self.orgs.lock().await;
        Ok(orgs
            .iter()
            .flat_map(|(org, o)| {
                o.agents
                    .values()
                    .filter(|a| {
                        a.status != Status::Offline
                            && a.heartbeat_expires_ms > 0
                            && a.heartbeat_expires_ms < now_ms
                    })
                    .map(|a| (org.clone(), a.profile.agent_id.clone()))
            })
            .collect())
    }

    async fn expire_heartbeat(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        now_ms: i64,
    ) -> Result<Option<(AgentState, Status)>, StoreError> {
        let mut orgs = self.orgs.lock().await;
        let Some(a) = orgs.get_mut(org).and_then(|o| o.agents.get_mut(agent)) else {
            return Ok(None);
        };
        if a.status == Status::Offline || a.heartbeat_expires_ms >= now_ms {
            return Ok(None);
        }
        let previous = a.status;
        a.status = Status::Offline;
        a.status_reason = domain::HEARTBEAT_EXPIRED.into();
        a.status_changed_ms = now_ms;
        Ok(Some((a.clone(), previous)))
    }
}

/// A refusal: nothing taken.
fn decided(outcome: ReserveOutcome, candidates: Vec<Candidate>) -> ReserveResult {
    ReserveResult::Decided(ReserveDecision {
        outcome,
        candidates,
        took_slot: false,
    })
}
