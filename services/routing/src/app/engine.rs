//! The routing engine: where a queued conversation goes (the routing order, then the team's
//! strategy through presence's atomic reservation) and which waiting conversation a freed slot
//! takes. Every decision is stored with its reason.
//!
//! Safety across replicas: presence grants a slot atomically (capacity is never exceeded) and
//! the conversation changes only if its version is still the one the decision was computed
//! from (never two assignees). A replica that loses the race gives its slot back.

use std::time::Instant;

use switchboard_runtime::ids::{AgentId, OrganizationId, ReservationId, RoutingDecisionId, TeamId};

use super::{
    Routing,
    metrics::Decided,
    presence::{Choose, Slot, SlotRequest},
};
use crate::{
    domain::{
        config::{OrganizationSettings, Strategy, Target, Team, priority_for},
        conversation::{Actor, Cause, Conversation, State, Transfer},
        decision::{
            Candidate, Decision, DecisionDetail, Evaluation, Facts, Outcome, Rule, Step, Trigger,
            plan,
        },
    },
    error::RoutingError,
    store::conversations::{Change, Conflict, NewTransition},
};

/// Where a decision sends a conversation.
#[derive(Debug, Clone)]
enum Placement {
    Assigned {
        agent: AgentId,
        reservation: ReservationId,
        team: Option<Team>,
    },
    Queued {
        team: Option<Team>,
        waiting_agent: Option<AgentId>,
        owner_wait_until_ms: Option<i64>,
    },
}

/// What a routing decision is written with: the conversation as stored (none for a new
/// one) and what the same change also records, so that a creation, a take-back or a transfer
/// and the decision that follows it are one write with one transition.
#[derive(Debug, Default)]
pub(crate) struct Context {
    pub stored: Option<Conversation>,
    pub transfer: Option<Transfer>,
    /// The slot the previous holder gives up; released once the change commits.
    pub release: Option<(ReservationId, AgentId)>,
    /// What happened before the decision, for the transition ("not opened in time").
    pub why: String,
}

/// A decision before it is applied.
struct Verdict {
    placement: Placement,
    rule: Rule,
    target: Target,
    strategy: Option<Strategy>,
    detail: DecisionDetail,
    explanation: String,
}

fn matched(rule: Rule, detail: impl Into<String>) -> Evaluation {
    Evaluation {
        rule: rule.as_str().into(),
        matched: true,
        detail: detail.into(),
    }
}

fn unmatched(rule: Rule, detail: impl Into<String>) -> Evaluation {
    Evaluation {
        rule: rule.as_str().into(),
        matched: false,
        detail: detail.into(),
    }
}

fn slot_words(slot: &Slot) -> &'static str {
    match slot {
        Slot::Granted { .. } => "granted",
        Slot::NoAgentAvailable => "no member is available with a free slot",
        Slot::AgentNotAvailable => "is away or offline",
        Slot::AgentAtCapacity => "is at capacity",
        Slot::AgentNotLinked => "is not linked to the number",
    }
}

/// An agent as people read it: its name and load at decision time ("Ana (1 of 3 held)").
fn describe(c: &[Candidate], agent: &AgentId) -> String {
    c.iter()
        .find(|c| c.agent_id == agent.as_str())
        .map(|c| format!("{} ({} of {} held)", name_of(c), c.load, c.capacity))
        .unwrap_or_else(|| agent.to_string())
}

/// An agent's name as a candidate of this decision, or its id.
fn who(c: &[Candidate], agent: &AgentId) -> String {
    c.iter()
        .find(|c| c.agent_id == agent.as_str())
        .map_or_else(|| agent.to_string(), |c| name_of(c).to_string())
}

fn name_of(c: &Candidate) -> &str {
    if c.name.is_empty() {
        &c.agent_id
    } else {
        &c.name
    }
}

/// What the exclusion did to a decision, in words ("" when nobody was excluded).
fn exclusion_words(detail: &DecisionDetail, chosen: Option<&AgentId>) -> String {
    let names: Vec<&str> = detail
        .excluded
        .iter()
        .map(|id| {
            detail
                .candidates
                .iter()
                .find(|c| &c.agent_id == id)
                .map_or(id.as_str(), name_of)
        })
        .collect();
    if names.is_empty() {
        return String::new();
    }
    let who = names.join(", ");
    match chosen {
        Some(a) if detail.excluded.iter().any(|e| e == a.as_str()) => {
            format!("; {who} let it go last, but nobody else could take it")
        }
        _ => format!("; {who} excluded (let it go last)"),
    }
}

impl Routing {
    /// Reserves a slot for `conv` by `choose`.
    async fn reserve_for(
        &self,
        org: &OrganizationId,
        conv: &Conversation,
        choose: Choose,
    ) -> Result<(Slot, ReservationId, Vec<Candidate>), RoutingError> {
        let reservation = ReservationId::generate();
        let (slot, mut candidates) = self
            .presence
            .reserve(SlotRequest {
                org,
                reservation: &reservation,
                choose,
                channel_account: Some(&conv.channel_account_id),
                exclude: &conv.excluded_agents,
                subject: conv.id.as_str(),
            })
            .await?;
        self.name_candidates(org, &mut candidates).await?;
        Ok((slot, reservation, candidates))
    }

    /// Gives each candidate its display name (one query), for explanations people read.
    pub(crate) async fn name_candidates(
        &self,
        org: &OrganizationId,
        candidates: &mut [Candidate],
    ) -> Result<(), RoutingError> {
        let ids: Vec<&str> = candidates.iter().map(|c| c.agent_id.as_str()).collect();
        let names = self.store.agent_names(org, &ids).await?;
        for c in candidates.iter_mut() {
            if let Some(n) = names.get(&c.agent_id) {
                c.name.clone_from(n);
            }
        }
        Ok(())
    }

    /// Tries a team: its strategy picks a member, or the conversation waits in its queue.
    async fn try_team(
        &self,
        org: &OrganizationId,
        conv: &Conversation,
        team: Team,
        rule: Rule,
        detail: &mut DecisionDetail,
    ) -> Result<Verdict, RoutingError> {
        let target = Target::Team(team.id.clone());
        if !team.distributes() {
            let why = if team.strategy == Strategy::Manual {
                "distributes manually"
            } else {
                "has automatic distribution off"
            };
            detail
                .evaluations
                .push(matched(rule, format!("team {} {why}", team.name)));
            return Ok(Verdict {
                explanation: format!(
                    "{} routes to team {}, which {why}: waits in its queue for an agent to pick it",
                    rule_words(rule),
                    team.name
                ),
                placement: Placement::Queued {
                    team: Some(team.clone()),
                    waiting_agent: None,
                    owner_wait_until_ms: None,
                },
                rule,
                target,
                strategy: Some(team.strategy),
                detail: std::mem::take(detail),
            });
        }
        let choose = match (&team.strategy, &team.dedicated_agent_id) {
            (Strategy::DedicatedAgent, Some(agent)) => Choose::Agent {
                agent: agent.clone(),
                allow_not_available: false,
            },
            (strategy, _) => Choose::InTeam {
                team: team.id.clone(),
                strategy: *strategy,
            },
        };
        let (slot, reservation, candidates) = self.reserve_for(org, conv, choose).await?;
        detail.candidates = candidates;
        match slot {
            Slot::Granted { agent } => {
                detail
                    .evaluations
                    .push(matched(rule, format!("team {} took it", team.name)));
                let explanation = format!(
                    "{} routes to team {}{}; {} chose {}",
                    rule_words(rule),
                    team.name,
                    exclusion_words(detail, Some(&agent)),
                    team.strategy,
                    describe(&detail.candidates, &agent)
                );
                Ok(Verdict {
                    placement: Placement::Assigned {
                        agent,
                        reservation,
                        team: Some(team.clone()),
                    },
                    rule,
                    target,
                    strategy: Some(team.strategy),
                    detail: std::mem::take(detail),
                    explanation,
                })
            }
            other => {
                detail.evaluations.push(matched(
                    rule,
                    format!("team {}: {}", team.name, slot_words(&other)),
                ));
                Ok(Verdict {
                    explanation: format!(
                        "{} routes to team {}; {}{}: waits in its queue",
                        rule_words(rule),
                        team.name,
                        slot_words(&other),
                        exclusion_words(detail, None),
                    ),
                    placement: Placement::Queued {
                        team: Some(team.clone()),
                        waiting_agent: None,
                        owner_wait_until_ms: None,
                    },
                    rule,
                    target,
                    strategy: Some(team.strategy),
                    detail: std::mem::take(detail),
                })
            }
        }
    }

    /// Decides where a queued conversation goes, following the routing order for a new one and
    /// its current queue otherwise.
    async fn decide(
        &self,
        org: &OrganizationId,
        settings: &OrganizationSettings,
        conv: &Conversation,
        trigger: Trigger,
    ) -> Result<Verdict, RoutingError> {
        let now = self.clock.now_ms();
        let mut detail = DecisionDetail {
            excluded: conv
                .excluded_agents
                .iter()
                .map(ToString::to_string)
                .collect(),
            ..Default::default()
        };
        let steps: Vec<Step> = match trigger {
            Trigger::New | Trigger::OwnerWaitExpired => {
                let campaign = match &conv.campaign_id {
                    Some(id) => match self.store.campaign(org, id).await {
                        Ok(c) => Some(c),
                        Err(RoutingError::NotFound { .. }) => None,
                        Err(e) => return Err(e),
                    },
                    None => None,
                };
                let owners: Vec<AgentId> = self
                    .store
                    .contact_owners(org, &conv.contact_id)
                    .await?
                    .into_iter()
                    .map(|o| o.agent_id)
                    .collect();
                let routing = self
                    .store
                    .channel_account_routing(org, &conv.channel_account_id)
                    .await?;
                let (evaluations, steps) = plan(&Facts {
                    settings,
                    campaign: campaign.as_ref(),
                    campaign_id: conv.campaign_id.as_ref(),
                    owners: &owners,
                    channel_default: &routing.default_target,
                    skip_owner: trigger == Trigger::OwnerWaitExpired,
                });
                detail.evaluations = evaluations;
                steps
            }
            _ => {
                let rule = if trigger == Trigger::Transfer {
                    Rule::ExplicitTarget
                } else {
                    Rule::Requeue
                };
                let target = match (&conv.waiting_agent, &conv.team_id) {
                    (Some(a), _) => Target::Agent(a.clone()),
                    (None, Some(t)) => Target::Team(t.clone()),
                    (None, None) => Target::None,
                };
                vec![Step {
                    rule,
                    target,
                    fallback_wait_secs: 0,
                }]
            }
        };

        let mut owner_failures: Vec<AgentId> = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            match &step.target {
                Target::Team(team_id) => {
                    let team = match self.store.team(org, team_id).await {
                        Ok(t) => t,
                        Err(RoutingError::NotFound { .. }) => {
                            detail.evaluations.push(unmatched(
                                step.rule,
                                format!("team {team_id} no longer exists"),
                            ));
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    return self.try_team(org, conv, team, step.rule, &mut detail).await;
                }
                Target::Agent(agent) => {
                    let (slot, reservation, candidates) = self
                        .reserve_for(
                            org,
                            conv,
                            Choose::Agent {
                                agent: agent.clone(),
                                allow_not_available: false,
                            },
                        )
                        .await?;
                    detail.candidates = candidates;
                    let team = match &conv.team_id {
                        Some(t) => self.store.team(org, t).await.ok(),
                        None => None,
                    };
                    if let Slot::Granted { agent } = slot {
                        detail.evaluations.push(matched(
                            step.rule,
                            format!("agent {} took it", who(&detail.candidates, &agent)),
                        ));
                        let explanation = format!(
                            "{} routes to agent {}{}",
                            rule_words(step.rule),
                            describe(&detail.candidates, &agent),
                            exclusion_words(&detail, Some(&agent)),
                        );
                        return Ok(Verdict {
                            placement: Placement::Assigned {
                                agent: agent.clone(),
                                reservation,
                                team,
                            },
                            rule: step.rule,
                            target: Target::Agent(agent),
                            strategy: None,
                            detail,
                            explanation,
                        });
                    }
                    let name = who(&detail.candidates, agent);
                    let words = format!("agent {name} {}", slot_words(&slot));
                    if matches!(slot, Slot::AgentNotLinked) {
                        detail.evaluations.push(unmatched(step.rule, words));
                        continue;
                    }
                    if step.rule == Rule::ContactOwner {
                        owner_failures.push(agent.clone());
                        let more_owners = steps
                            .get(i + 1)
                            .is_some_and(|s| s.rule == Rule::ContactOwner);
                        if more_owners {
                            detail.evaluations.push(unmatched(step.rule, words));
                            continue;
                        }
                        if step.fallback_wait_secs > 0 {
                            let first = owner_failures[0].clone();
                            let first_name = if &first == agent {
                                name.clone()
                            } else {
                                self.store
                                    .agent_names(org, &[first.as_str()])
                                    .await?
                                    .remove(first.as_str())
                                    .unwrap_or_else(|| first.to_string())
                            };
                            let until = now + step.fallback_wait_secs * 1000;
                            detail.evaluations.push(matched(
                                step.rule,
                                format!(
                                    "{words}; waiting {} s for the owner",
                                    step.fallback_wait_secs
                                ),
                            ));
                            return Ok(Verdict {
                                explanation: format!(
                                    "the contact's owner {first_name} is not free; waits {} s for it before the next rule",
                                    step.fallback_wait_secs
                                ),
                                placement: Placement::Queued {
                                    team: None,
                                    waiting_agent: Some(first.clone()),
                                    owner_wait_until_ms: Some(until),
                                },
                                rule: step.rule,
                                target: Target::Agent(first),
                                strategy: None,
                                detail,
                            });
                        }
                        detail.evaluations.push(unmatched(step.rule, words));
                        continue;
                    }
                    detail.evaluations.push(matched(step.rule, words.clone()));
                    return Ok(Verdict {
                        explanation: format!(
                            "{} routes to agent {name}, who {}: waits for it",
                            rule_words(step.rule),
                            slot_words(&slot)
                        ),
                        placement: Placement::Queued {
                            team: conv.team_id.as_ref().and(team),
                            waiting_agent: Some(agent.clone()),
                            owner_wait_until_ms: None,
                        },
                        rule: step.rule,
                        target: Target::Agent(agent.clone()),
                        strategy: None,
                        detail,
                    });
                }
                Target::None => {
                    if settings.unrouted_all_teams {
                        for team in self.store.all_teams(org).await? {
                            if !team.distributes() {
                                continue;
                            }
                            let (slot, reservation, candidates) = self
                                .reserve_for(
                                    org,
                                    conv,
                                    Choose::InTeam {
                                        team: team.id.clone(),
                                        strategy: team.strategy,
                                    },
                                )
                                .await?;
                            if let Slot::Granted { agent } = slot {
                                detail.candidates = candidates;
                                detail.evaluations.push(matched(
                                    step.rule,
                                    format!("all teams: team {} took it", team.name),
                                ));
                                let explanation = format!(
                                    "no rule applied; offered to every team: team {} ({}) chose {}{}",
                                    team.name,
                                    team.strategy,
                                    describe(&detail.candidates, &agent),
                                    exclusion_words(&detail, Some(&agent)),
                                );
                                return Ok(Verdict {
                                    placement: Placement::Assigned {
                                        agent,
                                        reservation,
                                        team: Some(team.clone()),
                                    },
                                    rule: step.rule,
                                    target: Target::Team(team.id.clone()),
                                    strategy: Some(team.strategy),
                                    detail,
                                    explanation,
                                });
                            }
                        }
                    }
                    detail
                        .evaluations
                        .push(matched(step.rule, "waits in the organization waiting list"));
                    return Ok(Verdict {
                        explanation: "no rule applied: waits in the organization waiting list for an agent linked to the number".into(),
                        placement: Placement::Queued {
                            team: None,
                            waiting_agent: None,
                            owner_wait_until_ms: None,
                        },
                        rule: step.rule,
                        target: Target::None,
                        strategy: None,
                        detail,
                    });
                }
            }
        }
        // The plan always ends with the waiting list; reaching here means every step was
        // skipped (e.g. requeue to a deleted team): the waiting list.
        Ok(Verdict {
            explanation: "nothing else applied: waits in the organization waiting list".into(),
            placement: Placement::Queued {
                team: None,
                waiting_agent: None,
                owner_wait_until_ms: None,
            },
            rule: Rule::WaitingList,
            target: Target::None,
            strategy: None,
            detail,
        })
    }

    /// Routes a stored QUEUED conversation and applies the decision. Returns the conversation
    /// as it is afterwards (also when another replica changed it first).
    pub(crate) async fn route(
        &self,
        org: &OrganizationId,
        conv: Conversation,
        trigger: Trigger,
        actor: &Actor,
        cause: Cause,
    ) -> Result<Conversation, RoutingError> {
        if conv.state != State::Queued {
            return Ok(conv);
        }
        let id = conv.id.clone();
        let context = Context {
            stored: Some(conv.clone()),
            ..Context::default()
        };
        match self
            .route_with(org, conv, trigger, actor, cause, context)
            .await?
        {
            Ok(conv) => Ok(conv),
            Err(_) => self.store.conversation(org, &id).await,
        }
    }

    /// Decides where `queued` (the conversation as it waits, not yet written) goes and writes
    /// the decision together with what led to it (`context`: a creation, a take-back, a
    /// transfer) as one change with one transition. The decision is timed from its planning
    /// to its commit. A conflict (another replica changed it, or the contact's active
    /// conversation exists already) gives the reserved slot back and writes nothing.
    pub(crate) async fn route_with(
        &self,
        org: &OrganizationId,
        queued: Conversation,
        trigger: Trigger,
        actor: &Actor,
        cause: Cause,
        context: Context,
    ) -> Result<Result<Conversation, Conflict>, RoutingError> {
        let started = Instant::now();
        let routed = self
            .route_queued(org, queued, trigger, actor, cause, context)
            .await;
        let decided = match &routed {
            Ok(Ok((_, Some(outcome)))) => Some(Decided::Committed(*outcome)),
            // A liveness pass that found nobody free decided nothing.
            Ok(Ok((_, None))) => None,
            Ok(Err(_)) => Some(Decided::Conflict),
            Err(_) => Some(Decided::Error),
        };
        if let Some(decided) = decided {
            self.metrics.decided(started, decided);
        }
        routed.map(|r| r.map(|(conv, _)| conv))
    }

    async fn route_queued(
        &self,
        org: &OrganizationId,
        queued: Conversation,
        trigger: Trigger,
        actor: &Actor,
        cause: Cause,
        context: Context,
    ) -> Result<Result<(Conversation, Option<Outcome>), Conflict>, RoutingError> {
        let settings = self.store.organization(org).await?.settings;
        let verdict = self.decide(org, &settings, &queued, trigger).await?;
        let now = self.clock.now_ms();
        let decision = Decision {
            id: RoutingDecisionId::generate(),
            subject_id: queued.id.to_string(),
            trigger,
            rule: verdict.rule,
            target: verdict.target.clone(),
            strategy: verdict.strategy,
            outcome: match &verdict.placement {
                Placement::Assigned { .. } => Outcome::Assigned,
                Placement::Queued {
                    owner_wait_until_ms: Some(_),
                    ..
                } => Outcome::WaitingForOwner,
                Placement::Queued { .. } => Outcome::Queued,
            },
            chosen_agent: match &verdict.placement {
                Placement::Assigned { agent, .. } => Some(agent.clone()),
                _ => None,
            },
            reservation_id: match &verdict.placement {
                Placement::Assigned { reservation, .. } => Some(reservation.to_string()),
                _ => None,
            },
            explanation: verdict.explanation.clone(),
            detail: verdict.detail,
            created_ms: now,
        };
        let stored = context.stored.as_ref();
        let mut next = queued.clone();
        next.version = stored.map_or(1, |s| s.version + 1);
        next.updated_ms = now;
        next.last_decision_id = Some(decision.id.clone());
        let mut granted = None;
        match &verdict.placement {
            Placement::Assigned {
                agent,
                reservation,
                team,
            } => {
                if let Some(team) = team {
                    next.team_id = Some(team.id.clone());
                }
                next.assign(
                    agent.clone(),
                    reservation.clone(),
                    now,
                    team.as_ref().map_or(0, |t| t.offer_timeout_secs),
                );
                granted = Some((reservation.clone(), agent.clone()));
            }
            Placement::Queued {
                team,
                waiting_agent,
                owner_wait_until_ms,
            } => {
                let team_id = team.as_ref().map(|t| t.id.clone());
                let moved = team_id != queued.team_id || *waiting_agent != queued.waiting_agent;
                next.team_id = team_id;
                next.waiting_agent = waiting_agent.clone();
                next.owner_wait_until_ms = *owner_wait_until_ms;
                if trigger == Trigger::New || moved || next.queue_ms.is_none() {
                    next.queue_ms = Some(now);
                }
                if let Some(team) = team
                    && (trigger == Trigger::New || trigger == Trigger::OwnerWaitExpired)
                {
                    next.priority = priority_for(&team.priority_rules, |k| match k {
                        "has_owner" => None,
                        other => queued.attribute(other),
                    });
                }
            }
        }
        // One transition for the whole change: what led to the decision and where it went.
        let changed = stored.is_none_or(|s| {
            context.release.is_some()
                || context.transfer.is_some()
                || s.state != next.state
                || s.assignee != next.assignee
                || s.team_id != next.team_id
                || s.waiting_agent != next.waiting_agent
        });
        let transitions = if changed {
            vec![NewTransition {
                from_state: stored.map(|s| s.state),
                to_state: next.state,
                from_agent: stored.and_then(|s| s.assignee.clone()),
                to_agent: next.assignee.clone(),
                to_team: next.team_id.clone(),
                actor: actor.clone(),
                cause,
                detail: if context.why.is_empty() {
                    decision.explanation.clone()
                } else {
                    format!("{}; {}", context.why, decision.explanation)
                },
                decision_id: Some(decision.id.to_string()),
            }]
        } else {
            vec![]
        };
        let outcome = decision.outcome;
        if trigger == Trigger::Sweep
            && granted.is_none()
            && let Some(stored) = stored
            && transitions.is_empty()
        {
            // A liveness pass that found nobody free: nothing to record.
            return Ok(Ok((stored.clone(), None)));
        }
        let change = Change {
            expected_version: stored.map(|s| s.version),
            conversation: next.clone(),
            transitions,
            decision: Some(decision),
            transfer: context.transfer,
            release: context.release,
            owner: None,
        };
        match self.apply(org, &change).await? {
            Ok(()) => {
                if granted.is_some() {
                    self.metrics.assigned(verdict.rule.as_str());
                    self.metrics.waited(queued.queue_ms, now);
                }
                if let Some((reservation, agent)) = &change.release {
                    self.release_and_refill(org, reservation, agent).await;
                }
                Ok(Ok((next, Some(outcome))))
            }
            Err(conflict) => {
                if let Some((reservation, agent)) = granted {
                    self.give_back(org, &reservation, &agent).await;
                }
                Ok(Err(conflict))
            }
        }
    }

    /// Returns a slot to presence now, or records it for the sweeper when presence is down.
    pub(crate) async fn give_back(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
        agent: &AgentId,
    ) {
        match self.presence.release(org, reservation).await {
            Ok(_) => {
                let _ = self.store.release_confirmed(org, reservation).await;
            }
            Err(err) => {
                tracing::warn!(%org, %reservation, error = %err, "release failed; the sweeper retries it");
                if let Err(err) = self
                    .store
                    .release_later(org, reservation, agent, self.clock.now_ms())
                    .await
                {
                    tracing::error!(%org, %reservation, error = %err, "release not recorded; presence rebuild will fix the load");
                }
            }
        }
    }

    /// Offers an agent with free slots the best waiting conversations it can take, then the
    /// work items, until its slots or the queues run out. Returns the conv_/wi_ ids offered.
    pub async fn fill_slots(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        trigger: Trigger,
    ) -> Result<Vec<String>, RoutingError> {
        let settings = self.store.organization(org).await?.settings;
        let member_of = self.store.agent_team_ids(org, agent).await?;
        let teams: Vec<Team> = self
            .store
            .teams_by_id(org, &member_of)
            .await?
            .into_iter()
            .filter(Team::distributes)
            .collect();
        let team_ids: Vec<TeamId> = teams.iter().map(|t| t.id.clone()).collect();
        let accounts: Vec<String> = self
            .store
            .agent_channel_account_ids(org, agent)
            .await?
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut offered = Vec::new();
        'outer: for _ in 0..100 {
            let candidates = self
                .store
                .offerable(
                    org,
                    agent,
                    &team_ids,
                    &accounts,
                    settings.unrouted_all_teams,
                    10,
                )
                .await?;
            // No exclusion filter: a conversation still waiting was refused by everyone else
            // when it was last routed, so the agent who let it go may take it now.
            if candidates.is_empty() {
                break;
            }
            for conv in candidates {
                match self.offer(org, &conv, agent, trigger, &teams).await? {
                    Offer::Taken => {
                        offered.push(conv.id.clone());
                        continue 'outer;
                    }
                    Offer::Lost | Offer::Skip => continue,
                    Offer::NoSlot => break 'outer,
                }
            }
            // Every candidate was lost to another replica or skipped: look again.
        }
        // Conversations first; then work items waiting for this agent or its teams.
        let mut offered: Vec<String> = offered.iter().map(ToString::to_string).collect();
        offered.extend(
            self.fill_work_slots(org, agent, &teams)
                .await?
                .iter()
                .map(ToString::to_string),
        );
        Ok(offered)
    }

    /// Routes a team's waiting conversations in queue order (priority, then age), e.g. when
    /// the team starts distributing automatically again, so the ones that waited meanwhile go
    /// before newer ones. Stops at the first one nobody can take. Returns how many it assigned.
    /// The liveness pass: each team with waiting conversations gets its queue routed from
    /// the head, so a slot freed while no event reached routing (a lost race between a
    /// decision and a release, a replica that died between the two) never idles while
    /// conversations wait. Costs one reservation per team when everyone is busy.
    pub(crate) async fn drain_queues(&self) -> Result<usize, RoutingError> {
        let mut assigned = 0;
        for (org, team) in self.store.teams_with_waiting(200).await? {
            match self.store.team(&org, &team).await {
                Ok(t) if t.distributes() => assigned += self.drain_team_queue(&org, &team).await?,
                Ok(_) | Err(RoutingError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(assigned)
    }

    pub(crate) async fn drain_team_queue(
        &self,
        org: &OrganizationId,
        team: &TeamId,
    ) -> Result<usize, RoutingError> {
        let mut assigned = 0;
        for conv in self.store.team_queue(org, team, 200).await? {
            let routed = self
                .route(org, conv, Trigger::Sweep, &Actor::system(), Cause::Routed)
                .await?;
            if routed.state == State::Queued {
                break;
            }
            assigned += 1;
        }
        Ok(assigned)
    }

    /// Offers one queued conversation to one agent. An offer the agent had a slot for is a
    /// routing decision, timed from the reservation to the commit.
    async fn offer(
        &self,
        org: &OrganizationId,
        conv: &Conversation,
        agent: &AgentId,
        trigger: Trigger,
        teams: &[Team],
    ) -> Result<Offer, RoutingError> {
        let started = Instant::now();
        let offered = self.offer_slot(org, conv, agent, trigger, teams).await;
        let decided = match &offered {
            Ok(Offer::Taken) => Some(Decided::Committed(Outcome::Assigned)),
            Ok(Offer::Lost) => Some(Decided::Conflict),
            // No slot: nothing was decided.
            Ok(Offer::Skip | Offer::NoSlot) => None,
            Err(_) => Some(Decided::Error),
        };
        if let Some(decided) = decided {
            self.metrics.decided(started, decided);
        }
        offered
    }

    async fn offer_slot(
        &self,
        org: &OrganizationId,
        conv: &Conversation,
        agent: &AgentId,
        trigger: Trigger,
        teams: &[Team],
    ) -> Result<Offer, RoutingError> {
        let (slot, reservation, candidates) = self
            .reserve_for(
                org,
                conv,
                Choose::Agent {
                    agent: agent.clone(),
                    allow_not_available: false,
                },
            )
            .await?;
        match slot {
            Slot::Granted { .. } => {}
            Slot::AgentNotLinked => return Ok(Offer::Skip),
            _ => return Ok(Offer::NoSlot),
        }
        let now = self.clock.now_ms();
        let team = conv
            .team_id
            .as_ref()
            .and_then(|t| teams.iter().find(|x| &x.id == t));
        let decision = Decision {
            id: RoutingDecisionId::generate(),
            subject_id: conv.id.to_string(),
            trigger,
            rule: Rule::Requeue,
            target: Target::Agent(agent.clone()),
            strategy: team.map(|t| t.strategy),
            outcome: Outcome::Assigned,
            chosen_agent: Some(agent.clone()),
            reservation_id: Some(reservation.to_string()),
            explanation: format!(
                "a slot freed for {}; this was the oldest highest-priority conversation it could take{}",
                describe(&candidates, agent),
                if conv.excluded_agents.contains(agent) {
                    " (it let this one go last; nobody else took it meanwhile)"
                } else {
                    ""
                }
            ),
            detail: DecisionDetail {
                evaluations: vec![matched(Rule::Requeue, "slot freed")],
                candidates,
                excluded: conv
                    .excluded_agents
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            },
            created_ms: now,
        };
        let mut next = conv.clone();
        next.version += 1;
        next.updated_ms = now;
        next.assign(
            agent.clone(),
            reservation.clone(),
            now,
            team.map_or(0, |t| t.offer_timeout_secs),
        );
        next.last_decision_id = Some(decision.id.clone());
        let change = Change {
            expected_version: Some(conv.version),
            transitions: vec![NewTransition {
                from_state: Some(State::Queued),
                to_state: State::Assigned,
                from_agent: None,
                to_agent: Some(agent.clone()),
                to_team: next.team_id.clone(),
                actor: Actor::system(),
                cause: Cause::SlotFreed,
                detail: decision.explanation.clone(),
                decision_id: Some(decision.id.to_string()),
            }],
            conversation: next,
            decision: Some(decision),
            transfer: None,
            release: None,
            owner: None,
        };
        match self.apply(org, &change).await? {
            Ok(()) => {
                self.metrics.assigned(Rule::Requeue.as_str());
                self.metrics.waited(conv.queue_ms, now);
                Ok(Offer::Taken)
            }
            Err(_) => {
                self.give_back(org, &reservation, agent).await;
                Ok(Offer::Lost)
            }
        }
    }
}

/// The result of offering one conversation to one agent.
enum Offer {
    Taken,
    /// Another replica changed it first.
    Lost,
    /// This agent cannot take this one (not linked); try the next.
    Skip,
    /// The agent has no free slot (or is not available): stop.
    NoSlot,
}

fn rule_words(rule: Rule) -> &'static str {
    match rule {
        Rule::Campaign => "the campaign reply rule",
        Rule::ContactOwner => "the contact owner rule",
        Rule::ChannelDefault => "the number's default",
        Rule::WaitingList => "the waiting list rule",
        Rule::ExplicitTarget => "an explicit target",
        Rule::Requeue => "its queue",
    }
}
