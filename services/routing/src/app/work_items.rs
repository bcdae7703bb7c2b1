//! Work items for internal services: routed through the same teams, strategies and presence
//! slots as conversations (a team's strategy picks the agent, or a named agent), ordered by
//! priority then age, offered to freed slots after waiting conversations.

use std::{collections::BTreeMap, time::Instant};

use switchboard_runtime::ids::{
    AgentId, ChannelAccountId, OrganizationId, ReservationId, RoutingDecisionId, WorkItemId,
};

use super::{
    Routing,
    metrics::Decided,
    presence::{Choose, Slot, SlotRequest},
};
use crate::{
    domain::{
        config::{Strategy, Target, Team, priority_for},
        conversation::Actor,
        decision::{Decision, DecisionDetail, Evaluation, Outcome, Rule, Trigger},
        work_item::{WorkItem, WorkState},
    },
    error::{Reason, RoutingError},
    store::{idempotency, work_items::WorkItemFilter},
};

/// A request to route a unit of work.
#[derive(Debug, Clone)]
pub struct NewWorkItem {
    pub request_id: String,
    pub kind: String,
    pub external_ref: String,
    pub target: Target,
    pub priority: Option<i32>,
    pub attributes: BTreeMap<String, String>,
    pub channel_account_id: Option<ChannelAccountId>,
    pub caller: String,
}

impl Routing {
    /// Creates a work item (idempotent by request id) and routes it.
    pub async fn route_work_item(
        &self,
        org: &OrganizationId,
        new: NewWorkItem,
    ) -> Result<WorkItem, RoutingError> {
        self.store.organization(org).await?;
        if let Some(id) =
            idempotency::recall(&self.store.db, org, "RouteWorkItem", &new.request_id).await?
        {
            return self
                .store
                .work_item(
                    org,
                    &WorkItemId::parse(&id)
                        .map_err(|_| RoutingError::not_found("work item", &id))?,
                )
                .await;
        }
        let team = match &new.target {
            Target::Team(t) => Some(self.store.team(org, t).await?),
            Target::Agent(a) => {
                self.store.agent(org, a).await?;
                None
            }
            Target::None => {
                return Err(RoutingError::field(
                    "target",
                    "must name a team or an agent",
                ));
            }
        };
        let now = self.clock.now_ms();
        let priority = new.priority.unwrap_or_else(|| {
            team.as_ref().map_or(0, |t| {
                priority_for(&t.priority_rules, |k| new.attributes.get(k).cloned())
            })
        });
        let item = WorkItem {
            id: WorkItemId::generate(),
            kind: new.kind,
            external_ref: new.external_ref,
            target: new.target,
            channel_account_id: new.channel_account_id,
            priority,
            attributes: new.attributes,
            state: WorkState::Queued,
            assignee: None,
            reservation_id: None,
            created_by: Actor::service(&new.caller),
            outcome: String::new(),
            last_decision_id: None,
            excluded_agents: vec![],
            created_ms: now,
            queue_ms: Some(now),
            assign_ms: None,
            offer_expire_ms: None,
            accept_ms: None,
            end_ms: None,
            updated_ms: now,
            version: 1,
        };
        if !self
            .store
            .apply_work_item(org, &item, None, None, None, Some(&new.request_id))
            .await?
        {
            // A concurrent retry with the same request id won.
            let id = idempotency::recall(&self.store.db, org, "RouteWorkItem", &new.request_id)
                .await?
                .ok_or_else(|| RoutingError::Unavailable("retry".into()))?;
            return self
                .store
                .work_item(
                    org,
                    &WorkItemId::parse(&id)
                        .map_err(|_| RoutingError::not_found("work item", &id))?,
                )
                .await;
        }
        self.route_item(org, item, team.as_ref(), Trigger::New)
            .await
    }

    /// Routes a queued work item to its target and applies the decision, timed from its
    /// planning to its commit.
    async fn route_item(
        &self,
        org: &OrganizationId,
        item: WorkItem,
        team: Option<&Team>,
        trigger: Trigger,
    ) -> Result<WorkItem, RoutingError> {
        let started = Instant::now();
        let routed = self.route_queued_item(org, item, team, trigger).await;
        let decided = match &routed {
            Ok((_, decided)) => *decided,
            Err(_) => Decided::Error,
        };
        self.metrics.decided(started, decided);
        routed.map(|(item, _)| item)
    }

    async fn route_queued_item(
        &self,
        org: &OrganizationId,
        item: WorkItem,
        team: Option<&Team>,
        trigger: Trigger,
    ) -> Result<(WorkItem, Decided), RoutingError> {
        let (choose, strategy) = match (&item.target, team) {
            (Target::Team(_), Some(t)) if !t.distributes() => (None, Some(t.strategy)),
            (Target::Team(_), Some(t)) => match (&t.strategy, &t.dedicated_agent_id) {
                (Strategy::DedicatedAgent, Some(a)) => (
                    Some(Choose::Agent {
                        agent: a.clone(),
                        allow_not_available: false,
                    }),
                    Some(t.strategy),
                ),
                (s, _) => (
                    Some(Choose::InTeam {
                        team: t.id.clone(),
                        strategy: *s,
                    }),
                    Some(*s),
                ),
            },
            (Target::Agent(a), _) => (
                Some(Choose::Agent {
                    agent: a.clone(),
                    allow_not_available: false,
                }),
                None,
            ),
            _ => (None, None),
        };
        let reservation = ReservationId::generate();
        let (slot, candidates) = match choose {
            Some(choose) => {
                self.presence
                    .reserve(SlotRequest {
                        org,
                        reservation: &reservation,
                        choose,
                        channel_account: item.channel_account_id.as_ref(),
                        exclude: &item.excluded_agents,
                        subject: item.id.as_str(),
                    })
                    .await?
            }
            None => (Slot::NoAgentAvailable, vec![]),
        };
        let now = self.clock.now_ms();
        let rule = if trigger == Trigger::New {
            Rule::ExplicitTarget
        } else {
            Rule::Requeue
        };
        let granted = match &slot {
            Slot::Granted { agent } => Some(agent.clone()),
            _ => None,
        };
        let explanation = match (&granted, team) {
            (Some(a), Some(t)) => format!("routed to team {}; {} chose {a}", t.name, t.strategy),
            (Some(a), None) => format!("routed to agent {a}"),
            (None, Some(t)) => {
                format!("routed to team {}; nobody free: waits in its queue", t.name)
            }
            (None, None) => "routed to its agent, who cannot take it now: waits for it".into(),
        };
        let decision = Decision {
            id: RoutingDecisionId::generate(),
            subject_id: item.id.to_string(),
            trigger,
            rule,
            target: item.target.clone(),
            strategy,
            outcome: if granted.is_some() {
                Outcome::Assigned
            } else {
                Outcome::Queued
            },
            chosen_agent: granted.clone(),
            reservation_id: granted.as_ref().map(|_| reservation.to_string()),
            explanation: explanation.clone(),
            detail: DecisionDetail {
                evaluations: vec![Evaluation {
                    rule: rule.as_str().into(),
                    matched: true,
                    detail: explanation,
                }],
                candidates,
                excluded: item
                    .excluded_agents
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            },
            created_ms: now,
        };
        let mut next = item.clone();
        next.version += 1;
        next.updated_ms = now;
        next.last_decision_id = Some(decision.id.clone());
        if let Some(agent) = &granted {
            next.state = WorkState::Assigned;
            next.assignee = Some(agent.clone());
            next.reservation_id = Some(reservation.clone());
            next.assign_ms = Some(now);
            next.offer_expire_ms = team
                .filter(|t| t.offer_timeout_secs > 0)
                .map(|t| now + t.offer_timeout_secs * 1000);
        }
        let outcome = decision.outcome;
        if self
            .store
            .apply_work_item(org, &next, Some(item.version), Some(&decision), None, None)
            .await?
        {
            if granted.is_some() {
                self.metrics.assigned(rule.as_str());
            }
            Ok((next, Decided::Committed(outcome)))
        } else {
            if let Some(agent) = granted {
                self.give_back(org, &reservation, &agent).await;
            }
            let current = self.store.work_item(org, &item.id).await?;
            Ok((current, Decided::Conflict))
        }
    }

    /// The assignee accepts an ASSIGNED work item.
    pub async fn accept_work_item(
        &self,
        org: &OrganizationId,
        id: &WorkItemId,
        agent: &AgentId,
    ) -> Result<WorkItem, RoutingError> {
        self.caller(org, agent).await?;
        let item = self.store.work_item(org, id).await?;
        if item.assignee.as_ref() != Some(agent) || !item.state.is_held() {
            if item.state.is_held() {
                return Err(RoutingError::PermissionDenied {
                    reason: Some(Reason::NotAssignee),
                    message: "only its assignee accepts a work item".into(),
                });
            }
            return Err(RoutingError::precondition(
                Reason::ConversationState,
                format!("the work item is {}", item.state),
            ));
        }
        if item.state == WorkState::Accepted {
            return Ok(item);
        }
        let mut next = item.clone();
        next.version += 1;
        next.updated_ms = self.clock.now_ms();
        next.state = WorkState::Accepted;
        next.accept_ms = Some(next.updated_ms);
        next.offer_expire_ms = None;
        if self
            .store
            .apply_work_item(org, &next, Some(item.version), None, None, None)
            .await?
        {
            Ok(next)
        } else {
            Err(RoutingError::Aborted {
                reason: Reason::ConcurrentUpdate,
                message: "the work item changed meanwhile".into(),
            })
        }
    }

    /// Completes (`complete`) or cancels a work item, freeing its slot.
    pub async fn end_work_item(
        &self,
        org: &OrganizationId,
        id: &WorkItemId,
        actor: Option<&AgentId>,
        complete: bool,
        outcome: &str,
    ) -> Result<WorkItem, RoutingError> {
        let item = self.store.work_item(org, id).await?;
        let target = if complete {
            WorkState::Completed
        } else {
            WorkState::Canceled
        };
        if item.state == target {
            return Ok(item);
        }
        if item.state.is_final() {
            return Err(RoutingError::precondition(
                Reason::ConversationState,
                format!("the work item is {}", item.state),
            ));
        }
        if let Some(agent) = actor {
            let caller = self.caller(org, agent).await?;
            if !caller.role.supervises() && item.assignee.as_ref() != Some(agent) {
                return Err(RoutingError::denied(
                    "only its assignee, an operator or an admin completes it",
                ));
            }
        }
        let mut next = item.clone();
        next.version += 1;
        next.updated_ms = self.clock.now_ms();
        next.state = target;
        next.end_ms = Some(next.updated_ms);
        next.outcome = outcome.to_string();
        next.offer_expire_ms = None;
        next.queue_ms = None;
        let release = item.reservation_id.as_ref().zip(item.assignee.as_ref());
        if !self
            .store
            .apply_work_item(org, &next, Some(item.version), None, release, None)
            .await?
        {
            return Err(RoutingError::Aborted {
                reason: Reason::ConcurrentUpdate,
                message: "the work item changed meanwhile".into(),
            });
        }
        if let Some((reservation, agent)) = release {
            self.release_and_refill(org, reservation, agent).await;
        }
        Ok(next)
    }

    pub async fn list_work_items(
        &self,
        org: &OrganizationId,
        filter: &WorkItemFilter,
        page: switchboard_runtime::paging::Page,
    ) -> Result<(switchboard_runtime::paging::Paged<WorkItem>, u64), RoutingError> {
        self.store.list_work_items(org, filter, page).await
    }

    /// Offers queued work items to an agent with free slots; returns those offered.
    pub(crate) async fn fill_work_slots(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        teams: &[Team],
    ) -> Result<Vec<WorkItemId>, RoutingError> {
        let team_ids: Vec<_> = teams.iter().map(|t| t.id.clone()).collect();
        let mut offered = Vec::new();
        for _ in 0..100 {
            let items = self
                .store
                .offerable_work_items(org, agent, &team_ids, 10)
                .await?;
            // No exclusion filter: an item still waiting was refused by everyone else when it
            // was last routed, so the agent who let it go may take it now.
            let Some(item) = items.into_iter().next() else {
                break;
            };
            let started = Instant::now();
            let reservation = ReservationId::generate();
            let reserved = self
                .presence
                .reserve(SlotRequest {
                    org,
                    reservation: &reservation,
                    choose: Choose::Agent {
                        agent: agent.clone(),
                        allow_not_available: false,
                    },
                    channel_account: item.channel_account_id.as_ref(),
                    exclude: &[],
                    subject: item.id.as_str(),
                })
                .await;
            let (slot, candidates) = match reserved {
                Ok(r) => r,
                Err(err) => {
                    self.metrics.decided(started, Decided::Error);
                    return Err(err);
                }
            };
            if !matches!(slot, Slot::Granted { .. }) {
                break;
            }
            let now = self.clock.now_ms();
            let team = match &item.target {
                Target::Team(t) => teams.iter().find(|x| &x.id == t),
                _ => None,
            };
            let decision = Decision {
                id: RoutingDecisionId::generate(),
                subject_id: item.id.to_string(),
                trigger: Trigger::SlotFreed,
                rule: Rule::Requeue,
                target: Target::Agent(agent.clone()),
                strategy: team.map(|t| t.strategy),
                outcome: Outcome::Assigned,
                chosen_agent: Some(agent.clone()),
                reservation_id: Some(reservation.to_string()),
                explanation: format!(
                    "a slot freed for {agent}; this was the oldest highest-priority item it could take"
                ),
                detail: DecisionDetail {
                    evaluations: vec![],
                    candidates,
                    excluded: vec![],
                },
                created_ms: now,
            };
            let mut next = item.clone();
            next.version += 1;
            next.updated_ms = now;
            next.state = WorkState::Assigned;
            next.assignee = Some(agent.clone());
            next.reservation_id = Some(reservation.clone());
            next.assign_ms = Some(now);
            next.last_decision_id = Some(decision.id.clone());
            next.offer_expire_ms = team
                .filter(|t| t.offer_timeout_secs > 0)
                .map(|t| now + t.offer_timeout_secs * 1000);
            let applied = self
                .store
                .apply_work_item(org, &next, Some(item.version), Some(&decision), None, None)
                .await;
            match applied {
                Ok(true) => {
                    self.metrics
                        .decided(started, Decided::Committed(Outcome::Assigned));
                    self.metrics.assigned(Rule::Requeue.as_str());
                    offered.push(item.id);
                }
                Ok(false) => {
                    self.give_back(org, &reservation, agent).await;
                    self.metrics.decided(started, Decided::Conflict);
                }
                Err(err) => {
                    self.metrics.decided(started, Decided::Error);
                    return Err(err);
                }
            }
        }
        Ok(offered)
    }

    /// Takes back work items whose offer ran out and routes them again without that agent.
    pub(crate) async fn sweep_work_offers(&self, now_ms: i64) -> Result<usize, RoutingError> {
        let mut n = 0;
        for (org, item) in self.store.due_work_offers(now_ms, 100).await? {
            let Some(agent) = item.assignee.clone() else {
                continue;
            };
            let mut next = item.clone();
            next.version += 1;
            next.updated_ms = now_ms;
            next.state = WorkState::Queued;
            next.assignee = None;
            next.reservation_id = None;
            next.offer_expire_ms = None;
            next.queue_ms = item.queue_ms.or(item.assign_ms).or(Some(now_ms));
            // Only the agent who let it go is steered away from (see PresenceClient::reserve).
            next.excluded_agents = vec![agent.clone()];
            let release = item.reservation_id.as_ref().map(|r| (r, &agent));
            if self
                .store
                .apply_work_item(&org, &next, Some(item.version), None, release, None)
                .await?
            {
                if let Some((r, a)) = release {
                    self.release_and_refill(&org, r, a).await;
                }
                let team = match &next.target {
                    Target::Team(t) => self.store.team(&org, t).await.ok(),
                    _ => None,
                };
                self.route_item(&org, next, team.as_ref(), Trigger::OfferTimeout)
                    .await?;
                n += 1;
            }
        }
        Ok(n)
    }
}
