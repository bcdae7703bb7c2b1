//! Routing's client of the presence service: slot reservations, releases, profiles, rebuilds.
//! Presence is where capacity is enforced atomically; routing's database is the truth about
//! who holds what.

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

/// The presence client.
#[derive(Clone)]
pub struct PresenceClient {
    endpoints: Endpoints,
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

impl PresenceClient {
    pub fn new(endpoints: Endpoints) -> Self {
        Self { endpoints }
    }

    fn client(&self) -> Result<PresenceServiceClient<TracedChannel>, RoutingError> {
        self.endpoints
            .channel(Service::Presence)
            .map(PresenceServiceClient::new)
            .map_err(|e| RoutingError::Unavailable(format!("presence: {e}")))
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
        let (slot, candidates) = self.reserve_once(&req, req.exclude).await?;
        if req.exclude.is_empty() || matches!(slot, Slot::Granted { .. }) {
            return Ok((slot, candidates));
        }
        let (slot, mut candidates) = self.reserve_once(&req, &[]).await?;
        for c in &mut candidates {
            let granted = matches!(&slot, Slot::Granted { agent } if agent.as_str() == c.agent_id);
            if !granted && req.exclude.iter().any(|a| a.as_str() == c.agent_id) {
                c.verdict = Verdict::Excluded.as_str().into();
            }
        }
        Ok((slot, candidates))
    }

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
    pub async fn release(
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

    /// Creates or replaces an agent's profile in presence.
    pub async fn sync_agent(
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
    pub async fn remove_agent(
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
    pub async fn rebuild(
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
    pub async fn statuses(
        &self,
        org: &OrganizationId,
        agents: &[AgentId],
    ) -> Result<Vec<(String, &'static str, i32, i32)>, RoutingError> {
        let response = self
            .client()?
            .list_agent_presences(pb::ListAgentPresencesRequest {
                organization_id: org.to_string(),
                agent_ids: agents.iter().map(ToString::to_string).collect(),
                ..Default::default()
            })
            .await
            .map_err(from_presence)?
            .into_inner();
        Ok(response
            .presences
            .into_iter()
            .map(|p| (p.agent_id, status_name(p.status), p.load, p.capacity))
            .collect())
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
}
