//! Where live presence is kept: Redis (clusters) or process memory (the embedded default), behind
//! one trait with identical semantics (the conformance suite runs every behaviour on both).

pub mod memory;
pub mod profiles;
pub mod redis;

use async_trait::async_trait;
use switchboard_runtime::ids::{AgentId, OrganizationId, ReservationId};

use crate::domain::{AgentState, Profile, Reservation, ReserveDecision, ReserveRequest, Status};

/// Store failures (the store could not be reached or answered nonsense).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("corrupt presence data: {0}")]
    Corrupt(String),
}

/// A reserve's answer from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveResult {
    /// The organization's loads are unknown (the store lost them); nothing was granted.
    Rebuilding,
    Decided(ReserveDecision),
}

/// Live agent state and atomic slot reservation.
#[async_trait]
pub trait PresenceStore: Send + Sync + 'static {
    /// Whether the store knows `org`'s loads (false after a store loss until [`rebuild`]).
    async fn is_initialized(&self, org: &OrganizationId) -> Result<bool, StoreError>;

    /// Marks `org`'s loads as known (a new organization: all loads are zero).
    async fn initialize(&self, org: &OrganizationId) -> Result<(), StoreError>;

    /// Creates or updates an agent's profile, keeping its status and load.
    async fn upsert_profile(
        &self,
        org: &OrganizationId,
        profile: &Profile,
    ) -> Result<AgentState, StoreError>;

    /// Forgets an agent (its reservations stay until released).
    async fn remove_agent(&self, org: &OrganizationId, agent: &AgentId)
    -> Result<bool, StoreError>;

    /// Sets status and reason; returns the new state and the previous status, `None` if unknown.
    async fn set_status(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        status: Status,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<(AgentState, Status)>, StoreError>;

    /// Records a heartbeat valid until `expires_ms`; `None` if the agent is unknown.
    async fn heartbeat(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<Option<AgentState>, StoreError>;

    /// Sets capacity; `None` if the agent is unknown.
    async fn set_capacity(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        capacity: u32,
    ) -> Result<Option<AgentState>, StoreError>;

    async fn get(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Option<AgentState>, StoreError>;

    /// Every agent of `org`, by agent id.
    async fn list(&self, org: &OrganizationId) -> Result<Vec<AgentState>, StoreError>;

    /// Picks and reserves a slot in one atomic step. A reservation id already granted returns
    /// the same grant and takes nothing more.
    async fn reserve(
        &self,
        org: &OrganizationId,
        request: &ReserveRequest,
        now_ms: i64,
    ) -> Result<ReserveResult, StoreError>;

    /// Frees a reservation's slot; `None` when it was not held (already released, or unknown).
    async fn release(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
    ) -> Result<Option<(AgentId, u32)>, StoreError>;

    /// Replaces `org`'s agents' profiles, loads and reservations with `agents` (routing's truth)
    /// and marks its loads known.
    async fn rebuild(
        &self,
        org: &OrganizationId,
        agents: &[(Profile, Vec<Reservation>)],
    ) -> Result<(), StoreError>;

    /// Agents whose heartbeat ran out before `now_ms` while not offline.
    async fn stale_heartbeats(
        &self,
        now_ms: i64,
    ) -> Result<Vec<(OrganizationId, AgentId)>, StoreError>;

    /// Turns a stale agent offline ("heartbeat expired") if its heartbeat is still out of date;
    /// returns the new state and previous status when it changed.
    async fn expire_heartbeat(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        now_ms: i64,
    ) -> Result<Option<(AgentState, Status)>, StoreError>;
}
