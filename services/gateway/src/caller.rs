//! Tenancy: the organization a call acts in (`x-switchboard-organization`) and the enabled
//! agent of it the token's subject is bound to. The binding is cached per (organization,
//! subject) and dropped as soon as routing says the agent or its teams changed (disabled, role,
//! membership), so a disabled agent is refused within a second; a TTL bounds a missed event.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use switchboard_proto::{
    common::v1::Role,
    events::TypedEvent,
    routing::v1::{Agent, AgentChanged, LookupAgentRequest, TeamChange, TeamChanged},
};
use switchboard_runtime::{bus::EventBus, ids::OrganizationId};
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status};

use crate::upstream::Upstream;

/// Metadata naming the organization of a call.
pub const ORGANIZATION_HEADER: &str = "x-switchboard-organization";

/// The authenticated caller of one request: always "me".
#[derive(Debug, Clone)]
pub struct Caller {
    pub organization_id: String,
    pub agent: Agent,
}

impl Caller {
    pub fn agent_id(&self) -> &str {
        &self.agent.id
    }

    pub fn role(&self) -> Role {
        self.agent.role()
    }

    /// Operators and admins.
    pub fn is_supervisor(&self) -> bool {
        matches!(self.role(), Role::Operator | Role::Admin)
    }

    /// PERMISSION_DENIED unless the caller is an operator or an admin.
    pub fn require_supervisor(&self, what: &str) -> Result<(), Status> {
        if self.is_supervisor() {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "{what} needs the operator or admin role"
            )))
        }
    }
}

/// The organization named by the call's metadata, checked for shape.
pub fn organization(metadata: &tonic::metadata::MetadataMap) -> Result<String, Status> {
    let value = metadata
        .get(ORGANIZATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if value.is_empty() {
        return Err(switchboard_runtime::errors::invalid_argument(&[
            switchboard_runtime::errors::FieldViolation::new(
                ORGANIZATION_HEADER,
                "required: the org_ id the call acts in",
            ),
        ]));
    }
    value.parse::<OrganizationId>().map_err(|_| {
        switchboard_runtime::errors::invalid_argument(&[
            switchboard_runtime::errors::FieldViolation::new(
                ORGANIZATION_HEADER,
                "expected an org_ id",
            ),
        ])
    })?;
    Ok(value.to_string())
}

/// (organization, subject) → the agent and when it was looked up.
type Cache = HashMap<(String, String), (Agent, Instant)>;

/// Subject → agent bindings, cached.
#[derive(Clone)]
pub struct Bindings {
    upstream: Upstream,
    ttl: Duration,
    cache: Arc<RwLock<Cache>>,
}

impl Bindings {
    pub fn new(upstream: Upstream, ttl: Duration) -> Self {
        Self {
            upstream,
            ttl,
            cache: Arc::default(),
        }
    }

    /// The enabled agent of `organization_id` bound to `subject`, or PERMISSION_DENIED.
    pub async fn resolve(&self, organization_id: &str, subject: &str) -> Result<Caller, Status> {
        let key = (organization_id.to_string(), subject.to_string());
        if let Some((agent, at)) = self.cache.read().await.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(Caller {
                organization_id: organization_id.to_string(),
                agent: agent.clone(),
            });
        }
        let looked_up = self
            .upstream
            .routing()
            .lookup_agent(LookupAgentRequest {
                organization_id: organization_id.to_string(),
                auth_subject: subject.to_string(),
            })
            .await;
        let agent = match looked_up {
            Ok(r) => r.into_inner().agent.unwrap_or_default(),
            Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => {
                return Err(not_a_member());
            }
            Err(s) => return Err(s),
        };
        if agent.disabled || agent.organization_id != organization_id {
            return Err(not_a_member());
        }
        self.cache
            .write()
            .await
            .insert(key, (agent.clone(), Instant::now()));
        Ok(Caller {
            organization_id: organization_id.to_string(),
            agent,
        })
    }

    /// Forgets every binding of `agent_id`.
    pub async fn forget_agent(&self, agent_id: &str) {
        self.cache
            .write()
            .await
            .retain(|_, (agent, _)| agent.id != agent_id);
    }

    /// Drops bindings as routing's agent and team events arrive, until `shutdown`.
    pub fn keep_fresh(&self, bus: Arc<dyn EventBus>, shutdown: CancellationToken) {
        let this = self.clone();
        tokio::spawn(async move {
            let topics = [AgentChanged::TOPIC, TeamChanged::TOPIC];
            loop {
                let mut tail = match bus.tail(&topics).await {
                    Ok(tail) => tail,
                    Err(e) => {
                        tracing::warn!(error = %e, "agent events unavailable; bindings expire by TTL");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
                loop {
                    let next = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        next = tail.next(Duration::from_secs(5)) => next,
                    };
                    match next {
                        Ok(Some(event)) => {
                            if event.topic == AgentChanged::TOPIC {
                                this.forget_agent(&event.aggregate_id).await;
                            } else if let Ok(team) = event.decode::<TeamChanged>() {
                                if !team.agent_id.is_empty() {
                                    this.forget_agent(&team.agent_id).await;
                                } else if team.change() == TeamChange::Deleted {
                                    // Its members' team lists changed: whose is unknown here.
                                    this.cache.write().await.clear();
                                }
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "agent events tail broke; reconnecting");
                            // Whatever happened meanwhile is unknown: start over.
                            this.cache.write().await.clear();
                            break;
                        }
                    }
                }
            }
        });
    }
}

fn not_a_member() -> Status {
    Status::permission_denied(
        "the token's subject is not an enabled agent of the organization in x-switchboard-organization",
    )
}
