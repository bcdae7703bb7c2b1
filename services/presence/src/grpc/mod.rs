//! The gRPC adapter of `switchboard.presence.v1.PresenceService`: the trait impl here, request
//! parsing and conversions in `convert`, the watcher's filter in `watch`.

mod convert;
mod watch;

use std::sync::Arc;

use futures::StreamExt;

use switchboard_proto::{
    common::v1::AgentStatus as PbStatus,
    presence::v1::{self as pb, presence_service_server::PresenceService},
    prost_types::Duration as PbDuration,
};
use switchboard_runtime::{
    bus::EventBus,
    idempotency::calls::Calls,
    ids::{AgentId, ChannelAccountId, OrganizationId, ReservationId, TeamId},
    page_filter,
    paging::Dir,
};
use tonic::{Request, Response, Status, codegen::BoxStream};

use crate::{
    app::{Presence, TOPICS},
    domain::{self, AgentState, Reservation, ReserveOutcome, Strategy},
};
use convert::{
    Check, candidate_to_pb, capacity, org_and_agent, presence_to_pb, profile_from_pb, reason,
    reservation_to_pb, status_from_pb, ts,
};
use watch::WatchFilter;

/// `PresenceService` over [`Presence`]; `WatchPresence` tails presence's events on the bus, so
/// a watcher sees the changes made through every replica.
pub struct PresenceGrpc {
    presence: Presence,
    bus: Arc<dyn EventBus>,
    /// Replays of mutating calls (`common.proto`'s idempotency promise).
    calls: Calls,
}

impl PresenceGrpc {
    pub fn new(presence: Presence, bus: Arc<dyn EventBus>, calls: Calls) -> Self {
        Self {
            presence,
            bus,
            calls,
        }
    }
}

type Res<T> = Result<Response<T>, Status>;
#[tonic::async_trait]
impl PresenceService for PresenceGrpc {
    async fn set_status(
        &self,
        request: Request<pb::SetStatusRequest>,
    ) -> Res<pb::SetStatusResponse> {
        self.calls
            .run("SetStatus", request.into_inner(), |req| async move {
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
                Ok(pb::SetStatusResponse {
                    presence: Some(presence_to_pb(&org, &state, self.presence.clock().now_ms())),
                })
            })
            .await
            .map(Response::new)
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Res<pb::HeartbeatResponse> {
        self.calls
            .run("Heartbeat", request.into_inner(), |req| async move {
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
                Ok(pb::HeartbeatResponse {
                    presence: Some(presence_to_pb(&org, &state, self.presence.clock().now_ms())),
                    heartbeat_ttl: Some(PbDuration {
                        seconds: ttl.as_secs() as i64,
                        nanos: 0,
                    }),
                    heartbeat_interval: Some(PbDuration {
                        seconds: (ttl.as_secs() / 3).max(1) as i64,
                        nanos: 0,
                    }),
                })
            })
            .await
            .map(Response::new)
    }

    async fn set_capacity(
        &self,
        request: Request<pb::SetCapacityRequest>,
    ) -> Res<pb::SetCapacityResponse> {
        self.calls
            .run("SetCapacity", request.into_inner(), |req| async move {
                let mut c = Check::default();
                let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
                let agent: Option<AgentId> = c.id("agent_id", &req.agent_id);
                let cap = capacity(&mut c, "capacity", req.capacity);
                c.done()?;
                let (Some(org), Some(agent), Some(cap)) = (org, agent, cap) else {
                    return Err(Status::internal("validated fields missing"));
                };
                let state = self.presence.set_capacity(&org, &agent, cap).await?;
                Ok(pb::SetCapacityResponse {
                    presence: Some(presence_to_pb(&org, &state, self.presence.clock().now_ms())),
                })
            })
            .await
            .map(Response::new)
    }

    async fn sync_agent(
        &self,
        request: Request<pb::SyncAgentRequest>,
    ) -> Res<pb::SyncAgentResponse> {
        self.calls
            .run("SyncAgent", request.into_inner(), |req| async move {
                let mut c = Check::default();
                let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
                let profile = profile_from_pb(&mut c, "profile", req.profile.as_ref());
                c.done()?;
                let (Some(org), Some(profile)) = (org, profile) else {
                    return Err(Status::internal("validated fields missing"));
                };
                let state = self.presence.sync_agent(&org, profile).await?;
                Ok(pb::SyncAgentResponse {
                    presence: Some(presence_to_pb(&org, &state, self.presence.clock().now_ms())),
                })
            })
            .await
            .map(Response::new)
    }

    async fn remove_agent(
        &self,
        request: Request<pb::RemoveAgentRequest>,
    ) -> Res<pb::RemoveAgentResponse> {
        self.calls
            .run("RemoveAgent", request.into_inner(), |req| async move {
                let (org, agent) = org_and_agent(&req.organization_id, &req.agent_id)?;
                self.presence.remove_agent(&org, &agent).await?;
                Ok(pb::RemoveAgentResponse {})
            })
            .await
            .map(Response::new)
    }

    async fn get_agent_presence(
        &self,
        request: Request<pb::GetAgentPresenceRequest>,
    ) -> Res<pb::GetAgentPresenceResponse> {
        let req = request.into_inner();
        let (org, agent) = org_and_agent(&req.organization_id, &req.agent_id)?;
        let state = self.presence.get(&org, &agent).await?;
        Ok(Response::new(pb::GetAgentPresenceResponse {
            presence: Some(presence_to_pb(&org, &state, self.presence.clock().now_ms())),
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
        let page = c.page(req.page.as_ref(), page_filter!(req));
        c.done()?;
        let Some(org) = org else {
            return Err(Status::internal("validated ids missing"));
        };
        let now = self.presence.clock().now_ms();
        let matching: Vec<_> = self
            .presence
            .list(&org)
            .await?
            .into_iter()
            .filter(|s| team.as_ref().is_none_or(|t| s.profile.team_ids.contains(t)))
            .filter(|s| agents.is_empty() || agents.contains(&s.profile.agent_id))
            .filter(|s| statuses.is_empty() || statuses.contains(&s.effective_status(now)))
            .collect();
        let total = matching.len() as u64;
        // Ordered by agent id (the documented order), a keyset page bound to the filters.
        let list = page.slice(matching, &[Dir::Asc], |s| {
            vec![s.profile.agent_id.as_str().into()]
        });
        Ok(Response::new(pb::ListAgentPresencesResponse {
            page: Some(list.response(Some(total))),
            presences: list
                .items
                .iter()
                .map(|s| presence_to_pb(&org, s, now))
                .collect(),
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
        let now = self.presence.clock().now_ms();
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
            presences: available
                .iter()
                .map(|s| presence_to_pb(&org, s, now))
                .collect(),
            page: Some(Default::default()),
        }))
    }

    async fn reserve(&self, request: Request<pb::ReserveRequest>) -> Res<pb::ReserveResponse> {
        self.calls
            .run("Reserve", request.into_inner(), |req| async move {
                let mut c = Check::default();
                let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
                let reservation_id: Option<ReservationId> =
                    c.id("reservation_id", &req.reservation_id);
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
                c.at_most("subject_id", &req.subject_id, 128);
                c.done()?;
                let (Some(org), Some(reservation_id), Some(strategy)) =
                    (org, reservation_id, strategy)
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
                    ReserveOutcome::Granted(r) => {
                        (pb::ReserveOutcome::Granted, Some(reservation_to_pb(r)))
                    }
                    ReserveOutcome::NoAgentAvailable => {
                        (pb::ReserveOutcome::NoAgentAvailable, None)
                    }
                    ReserveOutcome::AgentNotAvailable => {
                        (pb::ReserveOutcome::AgentNotAvailable, None)
                    }
                    ReserveOutcome::AgentAtCapacity => (pb::ReserveOutcome::AgentAtCapacity, None),
                    ReserveOutcome::AgentNotLinked => (pb::ReserveOutcome::AgentNotLinked, None),
                };
                Ok(pb::ReserveResponse {
                    outcome: outcome as i32,
                    reservation,
                    candidates: if req.include_candidates {
                        decision.candidates.iter().map(candidate_to_pb).collect()
                    } else {
                        Vec::new()
                    },
                })
            })
            .await
            .map(Response::new)
    }

    async fn release(&self, request: Request<pb::ReleaseRequest>) -> Res<pb::ReleaseResponse> {
        self.calls
            .run("Release", request.into_inner(), |req| async move {
                let mut c = Check::default();
                let org: Option<OrganizationId> = c.id("organization_id", &req.organization_id);
                let reservation: Option<ReservationId> =
                    c.id("reservation_id", &req.reservation_id);
                c.done()?;
                let (Some(org), Some(reservation)) = (org, reservation) else {
                    return Err(Status::internal("validated ids missing"));
                };
                let state = self.presence.release(&org, &reservation).await?;
                Ok(pb::ReleaseResponse {
                    released: state.is_some(),
                    presence: state
                        .map(|s| presence_to_pb(&org, &s, self.presence.clock().now_ms())),
                })
            })
            .await
            .map(Response::new)
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
            .tail(&TOPICS)
            .await
            .map_err(|e| switchboard_runtime::errors::unavailable(&e))?;
        let mut initial = Vec::new();
        if req.send_initial_snapshot {
            let snapshot_kind = pb::PresenceEventKind::Snapshot as i32;
            for state in self.presence.list(&filter.org).await? {
                let p = presence_to_pb(&filter.org, &state, self.presence.clock().now_ms());
                if filter.wants(snapshot_kind, Some(&p))
                    || filter.kinds.is_empty() && filter.wants(0, Some(&p))
                {
                    initial.push(Ok(pb::WatchPresenceResponse {
                        event: Some(pb::PresenceEvent {
                            event_id: String::new(),
                            kind: snapshot_kind,
                            presence: Some(p),
                            previous_status: 0,
                            event_time: ts(self.presence.clock().now_ms()),
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
        self.calls
            .run("RebuildLoads", request.into_inner(), |req| async move {
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
                                created_ms: r.create_time.as_ref().map_or(0, |t| {
                                    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
                                }),
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
                Ok(pb::RebuildLoadsResponse {
                    agent_count: agent_count as i32,
                    reservation_count: reservation_count as i32,
                })
            })
            .await
            .map(Response::new)
    }
}
