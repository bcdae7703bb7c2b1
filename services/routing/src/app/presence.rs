//! Routing's client of the presence service: slot reservations, releases, profiles, rebuilds.
//! Presence is where capacity is enforced atomically; routing's database is the truth about
//! who holds what.

use std::sync::Arc;

use switchboard_proto::{
    common::v1::AgentStatus,
    presence::v1::{self as pb, presence_service_client::PresenceServiceClient},
};
use switchboard_runtime::{
    Service,
    clients::{Endpoints, TracedChannel},
    errors,
    ids::{AgentId, ChannelAccountId, OrganizationId, ReservationId, TeamId},
};

use crate::{
    domain::{
        config::Strategy,
        decision::{Candidate, Verdict},
    },
    error::RoutingError,
};

/// What presence needs to know about an agent to route to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProfile {
    pub agent_id: AgentId,
    pub capacity: i32,
    pub team_ids: Vec<TeamId>,
    pub channel_account_ids: Vec<ChannelAccountId>,
}

/// How presence should choose.
#[derive(Debug, Clone)]
pub enum Choose {
    /// A team member by the team's strategy.
    InTeam { team: TeamId, strategy: Strategy },
    /// Exactly this agent.
    Agent {
        agent: AgentId,
        allow_not_available: bool,
    },
}

/// A reservation request.
#[derive(Debug, Clone)]
pub struct SlotRequest<'a> {
    pub org: &'a OrganizationId,
    pub reservation: &'a ReservationId,
    pub choose: Choose,
    pub channel_account: Option<&'a ChannelAccountId>,
    pub exclude: &'a [AgentId],
    pub subject: &'a str,
}

/// The answer of a reservation.
#[derive(Debug, Clone)]
pub enum Slot {
    Granted { agent: AgentId },
    NoAgentAvailable,
    AgentNotAvailable,
    AgentAtCapacity,
    AgentNotLinked,
}

/// Presence as routing's logic needs it: one reservation attempt, releases, profiles,
/// rebuilds and statuses. The gRPC client implements it; a fake does in unit tests.
#[async_trait::async_trait]
pub trait PresenceApi: Send + Sync {
    async fn reserve_once(
        &self,
        req: &SlotRequest<'_>,
        exclude: &[AgentId],
    ) -> Result<(Slot, Vec<Candidate>), RoutingError>;

    /// Frees a slot; true when this call freed it, false when it was already free.
    async fn release(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
    ) -> Result<bool, RoutingError>;

    /// Creates or replaces an agent's profile in presence.
    async fn sync_agent(
        &self,
        org: &OrganizationId,
        profile: &AgentProfile,
    ) -> Result<(), RoutingError>;

    /// Forgets an agent (disabled).
    async fn remove_agent(&self, org: &OrganizationId, agent: &AgentId)
    -> Result<(), RoutingError>;

    /// Restores presence's loads from routing's holdings after a store loss.
    async fn rebuild(
        &self,
        org: &OrganizationId,
        agents: Vec<(AgentProfile, Vec<(ReservationId, String)>)>,
        snapshot_ms: i64,
    ) -> Result<(), RoutingError>;

    /// The statuses of some agents, for "is the owner available" explanations.
    async fn statuses(
        &self,
        org: &OrganizationId,
        agents: &[AgentId],
    ) -> Result<Vec<(String, &'static str, i32, i32)>, RoutingError>;
}

/// Presence's answer as routing's error, read back through the shared error table: a reason
/// (LOADS_REBUILDING while presence rebuilds loads, UNAVAILABLE) is kept with its metadata, so
/// routing's own callers get it too; anything else means presence could not serve routing.
fn from_presence(status: tonic::Status) -> RoutingError {
    let err = errors::from_status(&status);
    match err.reason {
        Some(reason) => RoutingError::Detailed {
            reason,
            message: err.message,
            metadata: err.metadata,
        },
        None => RoutingError::Unavailable(format!("presence: {err}")),
    }
}

fn status_name(status: i32) -> &'static str {
    match AgentStatus::try_from(status) {
        Ok(AgentStatus::Available) => "available",
        Ok(AgentStatus::Away) => "away",
        _ => "offline",
    }
}

/// Routing's presence client: the one "reserve an agent" path (exclusions steer, never
/// strand) over a [`PresenceApi`], and the rest of that API as it is.
#[derive(Clone)]
pub struct PresenceClient {
    api: Arc<dyn PresenceApi>,
}

/// [`PresenceApi`] over gRPC.
#[derive(Clone)]
pub struct GrpcPresence {
    endpoints: Endpoints,
}

impl GrpcPresence {
    pub fn new(endpoints: Endpoints) -> Self {
        Self { endpoints }
    }

    fn client(&self) -> Result<PresenceServiceClient<TracedChannel>, RoutingError> {
        self.endpoints
            .channel(Service::Presence)
            .map(PresenceServiceClient::new)
            .map_err(|e| RoutingError::Unavailable(format!("presence: {e}")))
    }

    fn profile_pb(p: &AgentProfile) -> pb::AgentProfile {
        pb::AgentProfile {
            agent_id: p.agent_id.to_string(),
            capacity: p.capacity,
            team_ids: p.team_ids.iter().map(ToString::to_string).collect(),
            channel_account_ids: p
                .channel_account_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

#[async_trait::async_trait]
impl PresenceApi for GrpcPresence {
    async fn reserve_once(
        &self,
        req: &SlotRequest<'_>,
        exclude: &[AgentId],
    ) -> Result<(Slot, Vec<Candidate>), RoutingError> {
        let (strategy, team_id, agent_id, allow) = match &req.choose {
            Choose::InTeam { team, strategy } => (
                match strategy {
                    Strategy::RoundRobin => pb::ReserveStrategy::RoundRobin,
                    _ => pb::ReserveStrategy::LeastOpen,
                },
                team.to_string(),
                String::new(),
                false,
            ),
            Choose::Agent {
                agent,
                allow_not_available,
            } => (
                pb::ReserveStrategy::NamedAgent,
                String::new(),
                agent.to_string(),
                *allow_not_available,
            ),
        };
        let response = self
            .client()?
            .reserve(pb::ReserveRequest {
                request_id: String::new(),
                organization_id: req.org.to_string(),
                reservation_id: req.reservation.to_string(),
                strategy: strategy as i32,
                team_id,
                channel_account_id: req
                    .channel_account
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                agent_id,
                exclude_agent_ids: exclude.iter().map(ToString::to_string).collect(),
                subject_id: req.subject.to_string(),
                allow_not_available: allow,
                include_candidates: true,
            })
            .await
            .map_err(from_presence)?
            .into_inner();
        let granted = response
            .reservation
            .as_ref()
            .map(|r| r.agent_id.clone())
            .unwrap_or_default();
        let candidates = response
            .candidates
            .iter()
            .map(|c| {
                let verdict = if c.excluded {
                    Verdict::Excluded
                } else if !c.linked {
                    Verdict::NotLinked
                } else if c.status != AgentStatus::Available as i32 && !allow {
                    Verdict::NotAvailable
                } else if c.load >= c.capacity && c.agent_id != granted {
                    Verdict::AtCapacity
                } else if c.agent_id == granted {
                    Verdict::Eligible
                } else {
                    Verdict::Outranked
                };
                Candidate {
                    agent_id: c.agent_id.clone(),
                    name: String::new(),
                    status: status_name(c.status).into(),
                    load: c.load,
                    capacity: c.capacity,
                    last_assignment_ms: c
                        .last_assignment_time
                        .as_ref()
                        .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000),
                    verdict: verdict.as_str().into(),
                }
            })
            .collect();
        let slot = match pb::ReserveOutcome::try_from(response.outcome) {
            Ok(pb::ReserveOutcome::Granted) => Slot::Granted {
                agent: AgentId::parse(&granted)
                    .map_err(|_| RoutingError::Unavailable("presence granted no agent".into()))?,
            },
            Ok(pb::ReserveOutcome::AgentNotAvailable) => Slot::AgentNotAvailable,
            Ok(pb::ReserveOutcome::AgentAtCapacity) => Slot::AgentAtCapacity,
            Ok(pb::ReserveOutcome::AgentNotLinked) => Slot::AgentNotLinked,
            _ => Slot::NoAgentAvailable,
        };
        Ok((slot, candidates))
    }

    /// Frees a slot; true when this call freed it, false when it was already free.
    async fn release(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
    ) -> Result<bool, RoutingError> {
        let response = self
            .client()?
            .release(pb::ReleaseRequest {
                request_id: String::new(),
                organization_id: org.to_string(),
                reservation_id: reservation.to_string(),
            })
            .await
            .map_err(from_presence)?;
        Ok(response.into_inner().released)
    }

    /// Creates or replaces an agent's profile in presence.
    async fn sync_agent(
        &self,
        org: &OrganizationId,
        profile: &AgentProfile,
    ) -> Result<(), RoutingError> {
        self.client()?
            .sync_agent(pb::SyncAgentRequest {
                request_id: call_key(),
                organization_id: org.to_string(),
                profile: Some(Self::profile_pb(profile)),
            })
            .await
            .map_err(from_presence)?;
        Ok(())
    }

    /// Forgets an agent (disabled).
    async fn remove_agent(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<(), RoutingError> {
        self.client()?
            .remove_agent(pb::RemoveAgentRequest {
                request_id: call_key(),
                organization_id: org.to_string(),
                agent_id: agent.to_string(),
            })
            .await
            .map_err(from_presence)?;
        Ok(())
    }

    /// Restores presence's loads from routing's holdings after a store loss.
    async fn rebuild(
        &self,
        org: &OrganizationId,
        agents: Vec<(AgentProfile, Vec<(ReservationId, String)>)>,
        snapshot_ms: i64,
    ) -> Result<(), RoutingError> {
        let agents = agents
            .into_iter()
            .map(|(p, reservations)| pb::AgentSnapshot {
                profile: Some(Self::profile_pb(&p)),
                reservations: reservations
                    .into_iter()
                    .map(|(id, subject)| pb::Reservation {
                        id: id.to_string(),
                        agent_id: p.agent_id.to_string(),
                        subject_id: subject,
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect();
        self.client()?
            .rebuild_loads(pb::RebuildLoadsRequest {
                request_id: call_key(),
                organization_id: org.to_string(),
                agents,
                snapshot_time: Some(switchboard_proto::prost_types::Timestamp {
                    seconds: snapshot_ms.div_euclid(1000),
                    nanos: (snapshot_ms.rem_euclid(1000) * 1_000_000) as i32,
                }),
            })
            .await
            .map_err(from_presence)?;
        Ok(())
    }

    /// The statuses of some agents, for "is the owner available" explanations.
    async fn statuses(
        &self,
        org: &OrganizationId,
        agents: &[AgentId],
    ) -> Result<Vec<(String, &'static str, i32, i32)>, RoutingError> {
        let mut out = Vec::with_capacity(agents.len());
        let mut page_token = String::new();
        loop {
            let response = self
                .client()?
                .list_agent_presences(pb::ListAgentPresencesRequest {
                    organization_id: org.to_string(),
                    agent_ids: agents.iter().map(ToString::to_string).collect(),
                    page: Some(switchboard_proto::common::v1::PageRequest {
                        page_size: 500,
                        page_token,
                    }),
                    ..Default::default()
                })
                .await
                .map_err(from_presence)?
                .into_inner();
            out.extend(
                response
                    .presences
                    .into_iter()
                    .map(|p| (p.agent_id, status_name(p.status), p.load, p.capacity)),
            );
            page_token = response.page.map(|p| p.next_page_token).unwrap_or_default();
            if page_token.is_empty() {
                return Ok(out);
            }
        }
    }
}

impl PresenceClient {
    /// The client of the presence service at `endpoints`.
    pub fn new(endpoints: Endpoints) -> Self {
        Self::over(Arc::new(GrpcPresence { endpoints }))
    }

    /// A client over any [`PresenceApi`] (a fake in unit tests).
    pub fn over(api: Arc<dyn PresenceApi>) -> Self {
        Self { api }
    }

    /// Takes a slot atomically; the candidates presence saw come back for the decision record.
    ///
    /// `exclude` steers, it never strands: the agents in it are passed over while someone else
    /// can take the slot, and asked again only when nobody else can (then their candidates say
    /// `excluded` unless one of them was granted). Conversations and work items both reserve
    /// through here, so neither can wait forever behind an exclusion.
    pub async fn reserve(
        &self,
        req: SlotRequest<'_>,
    ) -> Result<(Slot, Vec<Candidate>), RoutingError> {
        let (slot, candidates) = self.api.reserve_once(&req, req.exclude).await?;
        if req.exclude.is_empty() || matches!(slot, Slot::Granted { .. }) {
            return Ok((slot, candidates));
        }
        let (slot, mut candidates) = self.api.reserve_once(&req, &[]).await?;
        for c in &mut candidates {
            let granted = matches!(&slot, Slot::Granted { agent } if agent.as_str() == c.agent_id);
            if !granted && req.exclude.iter().any(|a| a.as_str() == c.agent_id) {
                c.verdict = Verdict::Excluded.as_str().into();
            }
        }
        Ok((slot, candidates))
    }

    pub async fn release(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
    ) -> Result<bool, RoutingError> {
        self.api.release(org, reservation).await
    }

    pub async fn sync_agent(
        &self,
        org: &OrganizationId,
        profile: &AgentProfile,
    ) -> Result<(), RoutingError> {
        self.api.sync_agent(org, profile).await
    }

    pub async fn remove_agent(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<(), RoutingError> {
        self.api.remove_agent(org, agent).await
    }

    pub async fn rebuild(
        &self,
        org: &OrganizationId,
        agents: Vec<(AgentProfile, Vec<(ReservationId, String)>)>,
        snapshot_ms: i64,
    ) -> Result<(), RoutingError> {
        self.api.rebuild(org, agents, snapshot_ms).await
    }

    pub async fn statuses(
        &self,
        org: &OrganizationId,
        agents: &[AgentId],
    ) -> Result<Vec<(String, &'static str, i32, i32)>, RoutingError> {
        self.api.statuses(org, agents).await
    }
}

/// A fresh idempotency key for one call to presence whose effect must not be replayed by a
/// later call with the same body (a newer profile must win over an older one).
fn call_key() -> String {
    format!("routing-{}", switchboard_runtime::ids::uuid_v7_simple())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Reason;

    #[test]
    fn a_presence_rebuild_is_recognised_by_its_reason_not_its_words() {
        let rebuilding = errors::reasoned(Reason::LoadsRebuilding, "loads are being restored");
        let err = from_presence(rebuilding);
        assert_eq!(err.reason(), Some(Reason::LoadsRebuilding), "{err:?}");
        // Routing answers its own caller with the same reason and code.
        let back = errors::from_status(&tonic::Status::from(err));
        assert_eq!(
            (back.code, back.reason),
            (tonic::Code::Unavailable, Some(Reason::LoadsRebuilding))
        );

        let worded = tonic::Status::unavailable("presence is rebuilding");
        let err = from_presence(worded);
        assert!(matches!(err, RoutingError::Unavailable(_)), "{err:?}");
    }

    /// Presence with some members, each able to take the slot; grants the first one not
    /// excluded, and records the exclusions of every attempt.
    struct Members {
        agents: Vec<AgentId>,
        attempts: std::sync::Mutex<Vec<Vec<AgentId>>>,
    }

    #[async_trait::async_trait]
    impl PresenceApi for Members {
        async fn reserve_once(
            &self,
            _req: &SlotRequest<'_>,
            exclude: &[AgentId],
        ) -> Result<(Slot, Vec<Candidate>), RoutingError> {
            self.attempts.lock().expect("lock").push(exclude.to_vec());
            let granted = self.agents.iter().find(|a| !exclude.contains(a)).cloned();
            let candidates = self
                .agents
                .iter()
                .map(|a| Candidate {
                    agent_id: a.to_string(),
                    name: String::new(),
                    status: "available".into(),
                    load: 0,
                    capacity: 3,
                    last_assignment_ms: None,
                    verdict: if Some(a) == granted.as_ref() {
                        Verdict::Eligible
                    } else {
                        Verdict::Outranked
                    }
                    .as_str()
                    .into(),
                })
                .collect();
            Ok((
                granted.map_or(Slot::NoAgentAvailable, |agent| Slot::Granted { agent }),
                candidates,
            ))
        }
        async fn release(
            &self,
            _: &OrganizationId,
            _: &ReservationId,
        ) -> Result<bool, RoutingError> {
            Ok(true)
        }
        async fn sync_agent(
            &self,
            _: &OrganizationId,
            _: &AgentProfile,
        ) -> Result<(), RoutingError> {
            Ok(())
        }
        async fn remove_agent(&self, _: &OrganizationId, _: &AgentId) -> Result<(), RoutingError> {
            Ok(())
        }
        async fn rebuild(
            &self,
            _: &OrganizationId,
            _: Vec<(AgentProfile, Vec<(ReservationId, String)>)>,
            _: i64,
        ) -> Result<(), RoutingError> {
            Ok(())
        }
        async fn statuses(
            &self,
            _: &OrganizationId,
            _: &[AgentId],
        ) -> Result<Vec<(String, &'static str, i32, i32)>, RoutingError> {
            Ok(vec![])
        }
    }

    async fn reserve_excluding(
        agents: Vec<AgentId>,
        exclude: &[AgentId],
    ) -> ((Slot, Vec<Candidate>), Vec<Vec<AgentId>>) {
        let members = Arc::new(Members {
            agents,
            attempts: Default::default(),
        });
        let client = PresenceClient::over(members.clone());
        let (org, reservation, team) = (
            OrganizationId::generate(),
            ReservationId::generate(),
            TeamId::generate(),
        );
        let got = client
            .reserve(SlotRequest {
                org: &org,
                reservation: &reservation,
                choose: Choose::InTeam {
                    team,
                    strategy: Strategy::LeastOpen,
                },
                channel_account: None,
                exclude,
                subject: "conv",
            })
            .await
            .expect("reserve");
        let attempts = members.attempts.lock().expect("lock").clone();
        (got, attempts)
    }

    #[tokio::test]
    async fn an_exclusion_steers_to_someone_else_while_someone_else_can_take_it() {
        let (ana, beto) = (AgentId::generate(), AgentId::generate());
        let ((slot, _), attempts) =
            reserve_excluding(vec![ana.clone(), beto.clone()], std::slice::from_ref(&ana)).await;
        assert!(matches!(slot, Slot::Granted { agent } if agent == beto));
        assert_eq!(attempts, vec![vec![ana]], "one attempt, excluding Ana");
    }

    #[tokio::test]
    async fn an_exclusion_never_strands_the_only_agent_who_can_take_it() {
        let ana = AgentId::generate();
        let ((slot, candidates), attempts) =
            reserve_excluding(vec![ana.clone()], std::slice::from_ref(&ana)).await;
        assert!(
            matches!(&slot, Slot::Granted { agent } if *agent == ana),
            "{slot:?}"
        );
        assert_eq!(
            attempts,
            vec![vec![ana.clone()], vec![]],
            "asked again without exclusions"
        );
        assert_eq!(candidates[0].verdict, Verdict::Eligible.as_str());
    }

    #[tokio::test]
    async fn an_excluded_agent_not_granted_is_named_excluded() {
        let (ana, beto) = (AgentId::generate(), AgentId::generate());
        // Nobody but Ana and Beto, both excluded: the second attempt grants Ana; Beto's
        // candidate says why he was passed over.
        let ((slot, candidates), _) = reserve_excluding(
            vec![ana.clone(), beto.clone()],
            &[ana.clone(), beto.clone()],
        )
        .await;
        assert!(matches!(&slot, Slot::Granted { agent } if *agent == ana));
        let beto_verdict = candidates
            .iter()
            .find(|c| c.agent_id == beto.as_str())
            .map(|c| c.verdict.clone());
        assert_eq!(beto_verdict.as_deref(), Some(Verdict::Excluded.as_str()));
    }
}
