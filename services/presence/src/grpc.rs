//! The gRPC adapter of `switchboard.presence.v1.PresenceService`.

use std::{str::FromStr, sync::Arc};

use futures::StreamExt;

use switchboard_proto::{
    common::v1::AgentStatus as PbStatus,
    presence::v1::{self as pb, presence_service_server::PresenceService},
    prost_types::{Duration as PbDuration, Timestamp},
};
use switchboard_runtime::{
    bus::EventBus,
    errors::FieldViolation,
    ids::{AgentId, ChannelAccountId, OrganizationId, ReservationId, TeamId},
};
use tonic::{Request, Response, Status, codegen::BoxStream};

use crate::{
    domain::{self, AgentState, Candidate, Profile, Reservation, ReserveOutcome, Strategy},
    error::PresenceError,
    service::{Presence, now_ms, topics},
};

/// `PresenceService` over [`Presence`]; `WatchPresence` tails presence's events on the bus, so
/// a watcher sees the changes made through every replica.
pub struct PresenceGrpc {
    presence: Presence,
    bus: Arc<dyn EventBus>,
}

impl PresenceGrpc {
    pub fn new(presence: Presence, bus: Arc<dyn EventBus>) -> Self {
        Self { presence, bus }
    }
}

fn kind_of(topic: &str) -> pb::PresenceEventKind {
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

fn pb_status_of(s: Option<&str>) -> i32 {
    s.and_then(domain::Status::parse)
        .map_or(PbStatus::Unspecified, status_to_pb) as i32
}

/// What a watcher asked to see.
struct WatchFilter {
    org: OrganizationId,
    team: Option<TeamId>,
    agents: Vec<AgentId>,
    kinds: Vec<i32>,
}

impl WatchFilter {
    fn wants(&self, kind: i32, presence: Option<&pb::AgentPresence>) -> bool {
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
    fn convert(&self, event: &switchboard_runtime::outbox::Event) -> Option<pb::PresenceEvent> {
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

/// Collects field violations while parsing a request.
#[derive(Default)]
struct Check(Vec<FieldViolation>);

impl Check {
    fn id<T: FromStr>(&mut self, field: &str, value: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        match value.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldViolation::new(field, e.to_string()));
                None
            }
        }
    }

    fn opt_id<T: FromStr>(&mut self, field: &str, value: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        if value.is_empty() {
            None
        } else {
            self.id(field, value)
        }
    }

    fn ids<T: FromStr>(&mut self, field: &str, values: &[String]) -> Vec<T>
    where
        T::Err: std::fmt::Display,
    {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| self.id(&format!("{field}[{i}]"), v))
            .collect()
    }

    fn bad(&mut self, field: &str, description: &str) {
        self.0.push(FieldViolation::new(field, description));
    }

    fn done(self) -> Result<(), PresenceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(PresenceError::InvalidArgument(self.0))
        }
    }
}

fn status_from_pb(c: &mut Check, field: &str, value: i32) -> Option<domain::Status> {
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

fn status_to_pb(s: domain::Status) -> PbStatus {
    match s {
        domain::Status::Available => PbStatus::Available,
        domain::Status::Away => PbStatus::Away,
        domain::Status::Offline => PbStatus::Offline,
    }
}

fn ts(ms: i64) -> Option<Timestamp> {
    (ms > 0).then(|| Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    })
}

fn presence_to_pb(org: &OrganizationId, s: &AgentState) -> pb::AgentPresence {
    let now = now_ms();
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

fn reservation_to_pb(r: &Reservation) -> pb::Reservation {
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

fn candidate_to_pb(c: &Candidate) -> pb::ReserveCandidate {
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

fn profile_from_pb(c: &mut Check, field: &str, p: Option<&pb::AgentProfile>) -> Option<Profile> {
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

fn capacity(c: &mut Check, field: &str, value: i32) -> Option<u32> {
    if (0..=100).contains(&value) {
        Some(value as u32)
    } else {
        c.bad(field, "must be between 0 and 100");
        None
    }
}

fn reason(c: &mut Check, field: &str, value: &str) {
    if value.chars().count() > 200 {
        c.bad(field, "must be at most 200 characters");
    }
}

type Res<T> = Result<Response<T>, Status>;

/// The organization and agent of a request that names nothing else.
fn org_and_agent(org: &str, agent: &str) -> Result<(OrganizationId, AgentId), PresenceError> {
    let mut c = Check::default();
    let org = c.id("organization_id", org);
    let agent = c.id("agent_id", agent);
    match (org, agent) {
        (Some(org), Some(agent)) => Ok((org, agent)),
        _ => Err(PresenceError::InvalidArgument(c.0)),
    }
}

#[tonic::async_trait]
impl PresenceService for PresenceGrpc {
    async fn set_status(
        &self,
        request: Request<pb::SetStatusRequest>,
    ) -> Res<pb::SetStatusResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let agent: Option<AgentId> = c.id("agent_id", &req.agent_id);
        let status = status_from_pb(&mut c, "status", req.status);
        reason(&mut c, "reason", &req.reason);
        c.done()?;
        let (Some(org), Some(agent), Some(status)) = (org, agent, status) else {
            return Err(Status::internal("validated fields missing"));
        };
        let state = self
            .presence
            .set_status(&org, &agent, status, &req.reason)
            .await?;
        Ok(Response::new(pb::SetStatusResponse {
            presence: Some(presence_to_pb(&org, &state)),
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Res<pb::HeartbeatResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let agent: Option<AgentId> = c.id("agent_id", &req.agent_id);
        let status = (req.status != PbStatus::Unspecified as i32)
            .then(|| status_from_pb(&mut c, "status", req.status))
            .flatten();
        reason(&mut c, "status_reason", &req.status_reason);
        c.done()?;
        let (Some(org), Some(agent)) = (org, agent) else {
            return Err(Status::internal("validated ids missing"));
        };
        let state = self
            .presence
            .heartbeat(&org, &agent, status.map(|s| (s, req.status_reason.clone())))
            .await?;
        let ttl = self.presence.heartbeat_ttl();
        Ok(Response::new(pb::HeartbeatResponse {
            presence: Some(presence_to_pb(&org, &state)),
            heartbeat_ttl: Some(PbDuration {
                seconds: ttl.as_secs() as i64,
                nanos: 0,
            }),
            heartbeat_interval: Some(PbDuration {
                seconds: (ttl.as_secs() / 3).max(1) as i64,
                nanos: 0,
            }),
        }))
    }

    async fn set_capacity(
        &self,
        request: Request<pb::SetCapacityRequest>,
    ) -> Res<pb::SetCapacityResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let agent: Option<AgentId> = c.id("agent_id", &req.agent_id);
        let cap = capacity(&mut c, "capacity", req.capacity);
        c.done()?;
        let (Some(org), Some(agent), Some(cap)) = (org, agent, cap) else {
            return Err(Status::internal("validated fields missing"));
        };
        let state = self.presence.set_capacity(&org, &agent, cap).await?;
        Ok(Response::new(pb::SetCapacityResponse {
            presence: Some(presence_to_pb(&org, &state)),
        }))
    }

    async fn sync_agent(
        &self,
        request: Request<pb::SyncAgentRequest>,
    ) -> Res<pb::SyncAgentResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let profile = profile_from_pb(&mut c, "profile", req.profile.as_ref());
        c.done()?;
        let (Some(org), Some(profile)) = (org, profile) else {
            return Err(Status::internal("validated fields missing"));
        };
        let state = self.presence.sync_agent(&org, profile).await?;
        Ok(Response::new(pb::SyncAgentResponse {
            presence: Some(presence_to_pb(&org, &state)),
        }))
    }

    async fn remove_agent(
        &self,
        request: Request<pb::RemoveAgentRequest>,
    ) -> Res<pb::RemoveAgentResponse> {
        let req = request.into_inner();
        let (org, agent) = org_and_agent(&req.organization_id, &req.agent_id)?;
        self.presence.remove_agent(&org, &agent).await?;
        Ok(Response::new(pb::RemoveAgentResponse {}))
    }

    async fn get_agent_presence(
        &self,
        request: Request<pb::GetAgentPresenceRequest>,
    ) -> Res<pb::GetAgentPresenceResponse> {
        let req = request.into_inner();
        let (org, agent) = org_and_agent(&req.organization_id, &req.agent_id)?;
        let state = self.presence.get(&org, &agent).await?;
        Ok(Response::new(pb::GetAgentPresenceResponse {
            presence: Some(presence_to_pb(&org, &state)),
        }))
    }

    async fn list_agent_presences(
        &self,
        request: Request<pb::ListAgentPresencesRequest>,
    ) -> Res<pb::ListAgentPresencesResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let team: Option<TeamId> = c.opt_id("team_id", &req.team_id);
        let agents: Vec<AgentId> = c.ids("agent_ids", &req.agent_ids);
        let statuses: Vec<domain::Status> = req
            .statuses
            .iter()
            .filter_map(|s| status_from_pb(&mut c, "statuses", *s))
            .collect();
        c.done()?;
        let Some(org) = org else {
            return Err(Status::internal("validated ids missing"));
        };
        let now = now_ms();
        let presences = self
            .presence
            .list(&org)
            .await?
            .into_iter()
            .filter(|s| team.as_ref().is_none_or(|t| s.profile.team_ids.contains(t)))
            .filter(|s| agents.is_empty() || agents.contains(&s.profile.agent_id))
            .filter(|s| statuses.is_empty() || statuses.contains(&s.effective_status(now)))
            .map(|s| presence_to_pb(&org, &s))
            .collect();
        Ok(Response::new(pb::ListAgentPresencesResponse {
            presences,
            page: Some(Default::default()),
        }))
    }

    async fn list_available_agents(
        &self,
        request: Request<pb::ListAvailableAgentsRequest>,
    ) -> Res<pb::ListAvailableAgentsResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let team: Option<TeamId> = c.opt_id("team_id", &req.team_id);
        let channel: Option<ChannelAccountId> =
            c.opt_id("channel_account_id", &req.channel_account_id);
        c.done()?;
        let Some(org) = org else {
            return Err(Status::internal("validated ids missing"));
        };
        let now = now_ms();
        let mut available: Vec<AgentState> = self
            .presence
            .list(&org)
            .await?
            .into_iter()
            .filter(|s| team.as_ref().is_none_or(|t| s.profile.team_ids.contains(t)))
            .filter(|s| {
                channel
                    .as_ref()
                    .is_none_or(|ch| s.profile.channel_account_ids.contains(ch))
            })
            .filter(|s| {
                s.effective_status(now) == domain::Status::Available && s.load < s.profile.capacity
            })
            .collect();
        // The order least_open would pick in.
        available.sort_by(|a, b| {
            (a.load, a.last_assignment_ms, &a.profile.agent_id).cmp(&(
                b.load,
                b.last_assignment_ms,
                &b.profile.agent_id,
            ))
        });
        Ok(Response::new(pb::ListAvailableAgentsResponse {
            presences: available.iter().map(|s| presence_to_pb(&org, s)).collect(),
            page: Some(Default::default()),
        }))
    }

    async fn reserve(&self, request: Request<pb::ReserveRequest>) -> Res<pb::ReserveResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let reservation_id: Option<ReservationId> = c.id("reservation_id", &req.reservation_id);
        let team: Option<TeamId> = c.opt_id("team_id", &req.team_id);
        let channel: Option<ChannelAccountId> =
            c.opt_id("channel_account_id", &req.channel_account_id);
        let exclude: Vec<AgentId> = c.ids("exclude_agent_ids", &req.exclude_agent_ids);
        let strategy = match pb::ReserveStrategy::try_from(req.strategy) {
            Ok(pb::ReserveStrategy::LeastOpen) | Ok(pb::ReserveStrategy::RoundRobin)
                if team.is_none() =>
            {
                c.bad("team_id", "required for least_open and round_robin");
                None
            }
            Ok(pb::ReserveStrategy::LeastOpen) => Some(Strategy::LeastOpen),
            Ok(pb::ReserveStrategy::RoundRobin) => Some(Strategy::RoundRobin),
            Ok(pb::ReserveStrategy::NamedAgent) => {
                c.id("agent_id", &req.agent_id).map(Strategy::Named)
            }
            _ => {
                c.bad("strategy", "must be LEAST_OPEN, ROUND_ROBIN or NAMED_AGENT");
                None
            }
        };
        if req.subject_id.len() > 128 {
            c.bad("subject_id", "must be at most 128 characters");
        }
        c.done()?;
        let (Some(org), Some(reservation_id), Some(strategy)) = (org, reservation_id, strategy)
        else {
            return Err(Status::internal("validated fields missing"));
        };
        let decision = self
            .presence
            .reserve(
                &org,
                &domain::ReserveRequest {
                    reservation_id,
                    strategy,
                    team_id: team,
                    channel_account_id: channel,
                    exclude,
                    subject_id: req.subject_id,
                    allow_not_available: req.allow_not_available,
                },
            )
            .await?;
        let (outcome, reservation) = match &decision.outcome {
            ReserveOutcome::Granted(r) => (pb::ReserveOutcome::Granted, Some(reservation_to_pb(r))),
            ReserveOutcome::NoAgentAvailable => (pb::ReserveOutcome::NoAgentAvailable, None),
            ReserveOutcome::AgentNotAvailable => (pb::ReserveOutcome::AgentNotAvailable, None),
            ReserveOutcome::AgentAtCapacity => (pb::ReserveOutcome::AgentAtCapacity, None),
            ReserveOutcome::AgentNotLinked => (pb::ReserveOutcome::AgentNotLinked, None),
        };
        Ok(Response::new(pb::ReserveResponse {
            outcome: outcome as i32,
            reservation,
            candidates: if req.include_candidates {
                decision.candidates.iter().map(candidate_to_pb).collect()
            } else {
                Vec::new()
            },
        }))
    }

    async fn release(&self, request: Request<pb::ReleaseRequest>) -> Res<pb::ReleaseResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let reservation: Option<ReservationId> = c.id("reservation_id", &req.reservation_id);
        c.done()?;
        let (Some(org), Some(reservation)) = (org, reservation) else {
            return Err(Status::internal("validated ids missing"));
        };
        let state = self.presence.release(&org, &reservation).await?;
        Ok(Response::new(pb::ReleaseResponse {
            released: state.is_some(),
            presence: state.map(|s| presence_to_pb(&org, &s)),
        }))
    }

    async fn watch_presence(
        &self,
        request: Request<pb::WatchPresenceRequest>,
    ) -> Res<BoxStream<pb::WatchPresenceResponse>> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let team: Option<TeamId> = c.opt_id("team_id", &req.team_id);
        let agents: Vec<AgentId> = c.ids("agent_ids", &req.agent_ids);
        for (i, k) in req.kinds.iter().enumerate() {
            if !matches!(pb::PresenceEventKind::try_from(*k), Ok(k) if k != pb::PresenceEventKind::Unspecified)
            {
                c.bad(&format!("kinds[{i}]"), "unknown event kind");
            }
        }
        c.done()?;
        let Some(org) = org else {
            return Err(Status::internal("validated ids missing"));
        };
        let filter = WatchFilter {
            org,
            team,
            agents,
            kinds: req.kinds,
        };
        // Tail first, then snapshot: a change between the two is seen, never missed.
        let tail = self
            .bus
            .tail(&topics::ALL)
            .await
            .map_err(|e| switchboard_runtime::errors::unavailable(&e))?;
        let mut initial = Vec::new();
        if req.send_initial_snapshot {
            let snapshot_kind = pb::PresenceEventKind::Snapshot as i32;
            for state in self.presence.list(&filter.org).await? {
                let p = presence_to_pb(&filter.org, &state);
                if filter.wants(snapshot_kind, Some(&p))
                    || filter.kinds.is_empty() && filter.wants(0, Some(&p))
                {
                    initial.push(Ok(pb::WatchPresenceResponse {
                        event: Some(pb::PresenceEvent {
                            event_id: String::new(),
                            kind: snapshot_kind,
                            presence: Some(p),
                            previous_status: 0,
                            event_time: ts(now_ms()),
                        }),
                    }));
                }
            }
        }
        let live = futures::stream::unfold((tail, filter), |(mut tail, filter)| async move {
            loop {
                match tail.next(std::time::Duration::from_secs(5)).await {
                    Ok(Some(event)) => {
                        if let Some(e) = filter.convert(&event) {
                            let item = Ok(pb::WatchPresenceResponse { event: Some(e) });
                            return Some((item, (tail, filter)));
                        }
                    }
                    Ok(None) => {}
                    Err(err) => {
                        let status = switchboard_runtime::errors::unavailable(&err);
                        return Some((Err(status), (tail, filter)));
                    }
                }
            }
        });
        let stream = futures::stream::iter(initial).chain(live);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn rebuild_loads(
        &self,
        request: Request<pb::RebuildLoadsRequest>,
    ) -> Res<pb::RebuildLoadsResponse> {
        let req = request.into_inner();
        let mut c = Check::default();
        let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
        let mut agents = Vec::with_capacity(req.agents.len());
        for (i, snap) in req.agents.iter().enumerate() {
            let field = format!("agents[{i}]");
            let profile =
                profile_from_pb(&mut c, &format!("{field}.profile"), snap.profile.as_ref());
            let mut reservations = Vec::new();
            for (j, r) in snap.reservations.iter().enumerate() {
                let rf = format!("{field}.reservations[{j}]");
                let id: Option<ReservationId> = c.id(&format!("{rf}.id"), &r.id);
                let team: Option<TeamId> = c.opt_id(&format!("{rf}.team_id"), &r.team_id);
                let channel: Option<ChannelAccountId> =
                    c.opt_id(&format!("{rf}.channel_account_id"), &r.channel_account_id);
                if let (Some(id), Some(p)) = (id, profile.as_ref()) {
                    reservations.push(Reservation {
                        id,
                        agent_id: p.agent_id.clone(),
                        team_id: team,
                        channel_account_id: channel,
                        subject_id: r.subject_id.clone(),
                        created_ms: r
                            .create_time
                            .as_ref()
                            .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000),
                    });
                }
            }
            if let Some(p) = profile {
                agents.push((p, reservations));
            }
        }
        c.done()?;
        let Some(org) = org else {
            return Err(Status::internal("validated ids missing"));
        };
        let (agent_count, reservation_count) = self.presence.rebuild(&org, agents).await?;
        Ok(Response::new(pb::RebuildLoadsResponse {
            agent_count: agent_count as i32,
            reservation_count: reservation_count as i32,
        }))
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
