//! Presence's application logic over a [`PresenceStore`]: profiles kept durably, recovery after
//! a store loss, heartbeat expiry, and events for every change routing cares about. Time comes
//! from the infra's [`Clock`].

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;
use switchboard_proto::{
    common::v1::AgentStatus as PbStatus,
    events::TypedEvent,
    presence::v1::{
        AgentCapacityChanged, AgentHeartbeatExpired, AgentPresence, AgentProfileChanged,
        AgentSlotFreed, AgentSlotReserved, AgentStatusChanged, OrganizationRebuildRequired,
    },
};
use switchboard_runtime::{
    clock::Clock,
    ids::{AgentId, OrganizationId, ReservationId},
    outbox::{self, NewEvent, RelayWaker},
};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{
        AgentState, Profile, Reservation, ReserveDecision, ReserveOutcome, ReserveRequest, Status,
    },
    error::PresenceError,
    metrics::PresenceMetrics,
    store::{PresenceStore, ReserveResult, profiles},
};

/// Every topic presence publishes (`proto/switchboard/presence/v1/events.proto`).
pub const TOPICS: [&str; 7] = [
    AgentStatusChanged::TOPIC,
    AgentHeartbeatExpired::TOPIC,
    AgentCapacityChanged::TOPIC,
    AgentSlotReserved::TOPIC,
    AgentSlotFreed::TOPIC,
    AgentProfileChanged::TOPIC,
    OrganizationRebuildRequired::TOPIC,
];

/// A status as the events carry it.
fn status_to_pb(s: Status) -> PbStatus {
    match s {
        Status::Available => PbStatus::Available,
        Status::Away => PbStatus::Away,
        Status::Offline => PbStatus::Offline,
    }
}

/// The presence service's logic.
#[derive(Clone)]
pub struct Presence {
    store: Arc<dyn PresenceStore>,
    db: DatabaseConnection,
    relay: RelayWaker,
    clock: Clock,
    heartbeat_ttl: Duration,
    /// When each organization last asked routing for a rebuild, so a burst of refused reserves
    /// refills the store and publishes REBUILD_REQUIRED once, not once per call.
    rebuild_asked: Arc<std::sync::Mutex<HashMap<OrganizationId, Instant>>>,
    metrics: PresenceMetrics,
}

/// How often a still-missing rebuild is asked for again.
const REBUILD_ASK_INTERVAL: Duration = Duration::from_secs(5);

impl Presence {
    pub fn new(
        store: Arc<dyn PresenceStore>,
        db: DatabaseConnection,
        relay: RelayWaker,
        clock: Clock,
        heartbeat_ttl: Duration,
        metrics: PresenceMetrics,
    ) -> Self {
        Self {
            store,
            db,
            relay,
            clock,
            heartbeat_ttl,
            rebuild_asked: Arc::default(),
            metrics,
        }
    }

    /// The clock presence reads (the infra's).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// How long a heartbeat keeps an agent online.
    pub fn heartbeat_ttl(&self) -> Duration {
        self.heartbeat_ttl
    }

    async fn publish<T: TypedEvent>(&self, org: &OrganizationId, aggregate: &str, message: &T) {
        let event = NewEvent::typed(org.to_string(), aggregate, message);
        match outbox::enqueue(&self.db, event).await {
            Ok(_) => self.relay.wake(),
            // The live change already happened; losing its notification only delays routing
            // until its periodic sweep. Logged loudly.
            Err(err) => {
                tracing::error!(%org, topic = T::TOPIC, error = %err, "presence event not recorded")
            }
        }
    }

    /// Publishes the event `message` builds from the agent's state right after a change.
    async fn state_event<T: TypedEvent>(
        &self,
        org: &OrganizationId,
        state: &AgentState,
        message: impl FnOnce(AgentPresence) -> T,
    ) {
        let now = self.clock.now_ms();
        let agent = AgentPresence {
            agent_id: state.profile.agent_id.to_string(),
            organization_id: org.to_string(),
            status: status_to_pb(state.effective_status(now)) as i32,
            status_reason: state.effective_reason(now).to_string(),
            capacity: i32::try_from(state.profile.capacity).unwrap_or(i32::MAX),
            load: i32::try_from(state.load).unwrap_or(i32::MAX),
            team_ids: state
                .profile
                .team_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            channel_account_ids: state
                .profile
                .channel_account_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            ..Default::default()
        };
        self.publish(org, state.profile.agent_id.as_str(), &message(agent))
            .await;
    }

    /// Refills the live store with `org`'s saved profiles after a loss. Returns true when the
    /// organization had profiles (it existed before), false for a new organization.
    async fn rehydrate(&self, org: &OrganizationId) -> Result<bool, PresenceError> {
        let saved = profiles::all(&self.db, org).await?;
        for p in &saved {
            self.store.upsert_profile(org, p).await?;
        }
        Ok(!saved.is_empty())
    }

    /// The agent's state, refilling the store from saved profiles when the agent is missing.
    async fn known(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<AgentState, PresenceError> {
        if let Some(state) = self.store.get(org, agent).await? {
            return Ok(state);
        }
        self.rehydrate(org).await?;
        self.store
            .get(org, agent)
            .await?
            .ok_or_else(|| PresenceError::AgentNotFound(agent.to_string()))
    }

    /// Creates or updates an agent's profile (routing calls this when agents or memberships change).
    pub async fn sync_agent(
        &self,
        org: &OrganizationId,
        profile: Profile,
    ) -> Result<AgentState, PresenceError> {
        if !self.store.is_initialized(org).await? && !profiles::any(&self.db, org).await? {
            // A new organization: nobody holds anything, loads are known to be zero.
            self.store.initialize(org).await?;
        }
        profiles::save(&self.db, org, &profile, self.clock.now()).await?;
        let state = self.store.upsert_profile(org, &profile).await?;
        self.state_event(org, &state, |agent| AgentProfileChanged {
            agent: Some(agent),
        })
        .await;
        Ok(state)
    }

    /// Forgets an agent.
    pub async fn remove_agent(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<(), PresenceError> {
        profiles::delete(&self.db, org, agent).await?;
        self.store.remove_agent(org, agent).await?;
        Ok(())
    }

    /// Sets an agent's status; a status other than offline also counts as a heartbeat.
    pub async fn set_status(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        status: Status,
        reason: &str,
    ) -> Result<AgentState, PresenceError> {
        self.known(org, agent).await?;
        let now = self.clock.now_ms();
        if status != Status::Offline {
            self.store
                .heartbeat(org, agent, now, now + self.heartbeat_ttl.as_millis() as i64)
                .await?;
        }
        let (state, previous) = self
            .store
            .set_status(org, agent, status, reason, now)
            .await?
            .ok_or_else(|| PresenceError::AgentNotFound(agent.to_string()))?;
        if previous != state.effective_status(now) {
            self.state_event(org, &state, |agent| AgentStatusChanged {
                agent: Some(agent),
                previous_status: status_to_pb(previous) as i32,
            })
            .await;
        }
        Ok(state)
    }

    /// Records a heartbeat, optionally (re)stating the status the client shows.
    pub async fn heartbeat(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        status: Option<(Status, String)>,
    ) -> Result<AgentState, PresenceError> {
        if let Some((status, reason)) = status {
            return self.set_status(org, agent, status, &reason).await;
        }
        let before = self.known(org, agent).await?;
        let now = self.clock.now_ms();
        let state = self
            .store
            .heartbeat(org, agent, now, now + self.heartbeat_ttl.as_millis() as i64)
            .await?
            .ok_or_else(|| PresenceError::AgentNotFound(agent.to_string()))?;
        let previous = before.effective_status(now);
        if previous != state.effective_status(now) {
            self.state_event(org, &state, |agent| AgentStatusChanged {
                agent: Some(agent),
                previous_status: status_to_pb(previous) as i32,
            })
            .await;
        }
        Ok(state)
    }

    /// Sets an agent's capacity (a raise frees slots: routing offers waiting work).
    pub async fn set_capacity(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        capacity: u32,
    ) -> Result<AgentState, PresenceError> {
        self.known(org, agent).await?;
        profiles::save_capacity(&self.db, org, agent, capacity).await?;
        let state = self
            .store
            .set_capacity(org, agent, capacity)
            .await?
            .ok_or_else(|| PresenceError::AgentNotFound(agent.to_string()))?;
        self.state_event(org, &state, |agent| AgentCapacityChanged {
            agent: Some(agent),
        })
        .await;
        Ok(state)
    }

    pub async fn get(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<AgentState, PresenceError> {
        self.known(org, agent).await
    }

    pub async fn list(&self, org: &OrganizationId) -> Result<Vec<AgentState>, PresenceError> {
        Ok(self.store.list(org).await?)
    }

    /// Picks and reserves a slot atomically. After a store loss answers [`PresenceError::Rebuilding`]
    /// (and asks routing for its open assignments) until [`Presence::rebuild`] restores loads.
    pub async fn reserve(
        &self,
        org: &OrganizationId,
        request: &ReserveRequest,
    ) -> Result<ReserveDecision, PresenceError> {
        let started = Instant::now();
        let result = self.reserve_slot(org, request).await;
        self.metrics
            .reserved(started, result.as_ref().map(|d| &d.outcome));
        result
    }

    async fn reserve_slot(
        &self,
        org: &OrganizationId,
        request: &ReserveRequest,
    ) -> Result<ReserveDecision, PresenceError> {
        match self
            .store
            .reserve(org, request, self.clock.now_ms())
            .await?
        {
            ReserveResult::Decided(d) => Ok(self.slot_reserved(org, d).await),
            ReserveResult::Rebuilding => {
                if self.rebuild_recently_asked(org) {
                    return Err(PresenceError::Rebuilding);
                }
                if self.rehydrate(org).await? {
                    self.rebuild_asked
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(org.clone(), Instant::now());
                    tracing::warn!(%org, "presence store lost this organization's loads; refusing reservations until routing rebuilds them");
                    self.publish(org, org.as_str(), &OrganizationRebuildRequired {})
                        .await;
                    return Err(PresenceError::Rebuilding);
                }
                self.store.initialize(org).await?;
                match self
                    .store
                    .reserve(org, request, self.clock.now_ms())
                    .await?
                {
                    ReserveResult::Decided(d) => Ok(self.slot_reserved(org, d).await),
                    ReserveResult::Rebuilding => Err(PresenceError::Rebuilding),
                }
            }
        }
    }

    /// Publishes SLOT_RESERVED when the decision took a slot (not for a refusal or a replay).
    /// The slot is taken whatever happens here: a failed read only loses the notification.
    async fn slot_reserved(
        &self,
        org: &OrganizationId,
        decision: ReserveDecision,
    ) -> ReserveDecision {
        if let (true, ReserveOutcome::Granted(r)) = (decision.took_slot, &decision.outcome) {
            match self.store.get(org, &r.agent_id).await {
                Ok(Some(state)) => {
                    self.state_event(org, &state, |agent| AgentSlotReserved {
                        agent: Some(agent),
                    })
                    .await;
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(%org, error = %err, "slot reserved but its event not published");
                }
            }
        }
        decision
    }

    /// True when a rebuild of `org` was asked for within the last interval.
    fn rebuild_recently_asked(&self, org: &OrganizationId) -> bool {
        self.rebuild_asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(org)
            .is_some_and(|t| t.elapsed() < REBUILD_ASK_INTERVAL)
    }

    /// Frees a reservation's slot; false when it was not held (a retried release).
    pub async fn release(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
    ) -> Result<Option<AgentState>, PresenceError> {
        let Some((agent, _load)) = self.store.release(org, reservation).await? else {
            return Ok(None);
        };
        let state = self.store.get(org, &agent).await?;
        if let Some(state) = &state {
            self.state_event(org, state, |agent| AgentSlotFreed { agent: Some(agent) })
                .await;
        }
        Ok(state)
    }

    /// Restores loads from routing's open assignments (the truth) after a store loss.
    pub async fn rebuild(
        &self,
        org: &OrganizationId,
        agents: Vec<(Profile, Vec<Reservation>)>,
    ) -> Result<(usize, usize), PresenceError> {
        for (p, _) in &agents {
            profiles::save(&self.db, org, p, self.clock.now()).await?;
        }
        self.store.rebuild(org, &agents).await?;
        self.rebuild_asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(org);
        let reservations = agents.iter().map(|(_, r)| r.len()).sum();
        tracing::info!(%org, agents = agents.len(), reservations, "presence loads rebuilt");
        Ok((agents.len(), reservations))
    }

    /// Turns agents whose heartbeat ran out offline, one event each.
    pub async fn sweep(&self) -> Result<usize, PresenceError> {
        let now = self.clock.now_ms();
        let mut n = 0;
        for (org, agent) in self.store.stale_heartbeats(now).await? {
            if let Some((state, previous)) = self.store.expire_heartbeat(&org, &agent, now).await? {
                self.state_event(&org, &state, |agent| AgentHeartbeatExpired {
                    agent: Some(agent),
                    previous_status: status_to_pb(previous) as i32,
                })
                .await;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Sweeps every `interval` until `shutdown`.
    pub async fn run_sweeper(self, interval: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            if let Err(err) = self.sweep().await {
                tracing::warn!(error = %err, "heartbeat sweep failed");
            }
        }
    }
}
