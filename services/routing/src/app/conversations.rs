//! The conversation lifecycle: start, customer and agent messages, open, pick, close,
//! transfer, finalize, and the timed transitions (offer timeout, owner wait, 24-hour expiry,
//! agent offline). Each change is one versioned write (see `store::conversations`).

use switchboard_runtime::ids::{
    AgentId, CampaignId, ChannelAccountId, ContactId, ConversationId, OrganizationId, ReservationId,
};

use super::{
    Routing,
    engine::Context,
    presence::{Choose, Slot, SlotRequest},
};
use crate::{
    domain::{
        config::{ContactOwner, OfflinePolicy, OwnerSource, Role, Target},
        conversation::{Actor, Caller, Cause, Conversation, Refusal, State, Transfer},
        decision::{Rule, Trigger},
    },
    error::{Reason, RoutingError},
    store::conversations::{Change, Conflict, NewTransition},
};

/// How many times a system change retries after losing a version race.
const RETRIES: usize = 8;

/// A new inbound conversation.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub channel_account_id: ChannelAccountId,
    pub contact_id: ContactId,
    pub campaign_id: Option<CampaignId>,
    pub first_message_ms: Option<i64>,
    pub assign_to: Option<AgentId>,
}

/// What the close policy (ticketing) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseVerdict {
    Allow,
    /// A linked ticket is required and missing.
    TicketRequired,
}

/// The close hook: may a conversation close? Ticketing's close rule
/// ([`super::tickets::TicketingClient`]): a conversation may require a linked ticket.
#[async_trait::async_trait]
pub trait ClosePolicy: Send + Sync {
    async fn check(
        &self,
        org: &OrganizationId,
        conversation: &Conversation,
    ) -> Result<CloseVerdict, RoutingError>;
}

/// A policy that allows every close (unit tests of the engine without ticketing).
pub struct AllowAll;

#[async_trait::async_trait]
impl ClosePolicy for AllowAll {
    async fn check(
        &self,
        _: &OrganizationId,
        _: &Conversation,
    ) -> Result<CloseVerdict, RoutingError> {
        Ok(CloseVerdict::Allow)
    }
}

fn refusal(r: Refusal) -> RoutingError {
    match r {
        Refusal::NotAllowed(m) => RoutingError::denied(m),
        Refusal::NotAssignee => RoutingError::PermissionDenied {
            reason: Some(Reason::NotAssignee),
            message: "only the agent it is assigned to opens it".into(),
        },
        Refusal::WrongState(s) => RoutingError::precondition(
            Reason::ConversationState,
            format!("the conversation is {s}"),
        ),
    }
}

fn stale() -> RoutingError {
    RoutingError::Aborted {
        reason: Reason::ConcurrentUpdate,
        message: "the conversation changed meanwhile; read it again and retry".into(),
    }
}

fn change(conv: &Conversation, next: Conversation, transitions: Vec<NewTransition>) -> Change {
    Change {
        expected_version: Some(conv.version),
        conversation: next,
        transitions,
        decision: None,
        transfer: None,
        release: None,
        owner: None,
    }
}

impl Routing {
    /// Applies a change; afterwards returns the slot it released to presence and fills the
    /// freed agent's slots.
    async fn commit(
        &self,
        org: &OrganizationId,
        change: Change,
    ) -> Result<Result<Conversation, Conflict>, RoutingError> {
        match self.apply(org, &change).await? {
            Ok(()) => {
                if let Some((reservation, agent)) = &change.release {
                    self.release_and_refill(org, reservation, agent).await;
                }
                Ok(Ok(change.conversation))
            }
            Err(c) => Ok(Err(c)),
        }
    }

    /// Frees a slot recorded as pending and offers the agent's free slots the waiting work.
    pub(crate) async fn release_and_refill(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
        agent: &AgentId,
    ) {
        match self.presence.release(org, reservation).await {
            Ok(_) => {
                if let Err(err) = self.store.release_confirmed(org, reservation).await {
                    tracing::warn!(%org, %reservation, error = %err, "release confirmation not recorded");
                }
                if let Err(err) = self.fill_slots(org, agent, Trigger::SlotFreed).await {
                    tracing::warn!(%org, %agent, error = %err, "refilling freed slot failed; presence's event or the sweeper retries");
                }
            }
            Err(err) => {
                tracing::warn!(%org, %reservation, error = %err, "release failed; the sweeper retries it")
            }
        }
    }

    /// Starts (or returns the active) conversation for an inbound customer message and routes it.
    pub async fn start_conversation(
        &self,
        org: &OrganizationId,
        new: NewConversation,
    ) -> Result<(Conversation, bool), RoutingError> {
        self.store.organization(org).await?;
        if !self.channel.exists(org, &new.channel_account_id).await? {
            return Err(RoutingError::not_found(
                "channel account",
                &new.channel_account_id,
            ));
        }
        if let Some(campaign) = &new.campaign_id {
            self.store.campaign(org, campaign).await?;
        }
        let now = self.clock.now_ms();
        let message_ms = new.first_message_ms.unwrap_or(now).min(now);
        for _ in 0..RETRIES {
            if let Some(active) = self
                .store
                .active_conversation(org, new.channel_account_id.as_str(), &new.contact_id)
                .await?
            {
                let conv = self.touch(org, active, message_ms).await?;
                return Ok((conv, false));
            }
            // A message whose 24 hours had passed (Meta redelivers for days) would start a
            // conversation born expired that takes an agent's slot until the next sweep.
            if message_ms.saturating_add(self.conversation_ttl_ms) <= now {
                return Err(RoutingError::precondition(
                    Reason::OutsideWindow,
                    "the message's 24-hour window had closed: it starts no conversation",
                ));
            }
            let conv = Conversation {
                id: ConversationId::generate(),
                channel_account_id: new.channel_account_id.clone(),
                contact_id: new.contact_id.clone(),
                state: State::Queued,
                campaign_id: new.campaign_id.clone(),
                team_id: None,
                assignee: None,
                waiting_agent: None,
                reservation_id: None,
                priority: 0,
                participants: vec![],
                form_values: Default::default(),
                transfer_count: 0,
                excluded_agents: vec![],
                owner_wait_until_ms: None,
                created_ms: now,
                queue_ms: Some(now),
                assign_ms: None,
                offer_expire_ms: None,
                open_ms: None,
                first_response_ms: None,
                last_customer_ms: message_ms,
                expire_ms: message_ms + self.conversation_ttl_ms,
                end_ms: None,
                closed_by: None,
                close_note: String::new(),
                finalize_ms: None,
                last_decision_id: None,
                updated_ms: now,
                version: 1,
                tickets: Default::default(),
            };
            // Written already routed (or held by the starting agent): nobody ever reads a
            // conversation that waits for a decision.
            let started = match &new.assign_to {
                Some(agent) => self.start_held(org, conv, agent).await?,
                None => {
                    let context = Context {
                        why: "a customer message started it".into(),
                        ..Context::default()
                    };
                    let contact = Actor {
                        kind: "contact".into(),
                        id: new.contact_id.to_string(),
                    };
                    self.route_with(org, conv, Trigger::New, &contact, Cause::Routed, context)
                        .await?
                }
            };
            match started {
                Ok(conv) => return Ok((conv, true)),
                // Another replica started it a moment ago: join that one.
                Err(_) => continue,
            }
        }
        Err(stale())
    }

    /// An agent-started conversation (a template to a contact): OPEN for that agent at once,
    /// as if picked (no offer to time out), when it has a slot; routed by the rules otherwise.
    async fn start_held(
        &self,
        org: &OrganizationId,
        conv: Conversation,
        agent: &AgentId,
    ) -> Result<Result<Conversation, Conflict>, RoutingError> {
        let reservation = ReservationId::generate();
        let (slot, _) = self
            .presence
            .reserve(SlotRequest {
                org,
                reservation: &reservation,
                choose: Choose::Agent {
                    agent: agent.clone(),
                    allow_not_available: true,
                },
                channel_account: None,
                exclude: &[],
                subject: conv.id.as_str(),
            })
            .await?;
        if !matches!(slot, Slot::Granted { .. }) {
            let context = Context {
                why: format!("agent {agent} started it but has no free slot"),
                ..Context::default()
            };
            return self
                .route_with(
                    org,
                    conv,
                    Trigger::New,
                    &Actor::agent(agent),
                    Cause::Routed,
                    context,
                )
                .await;
        }
        let mut next = conv.clone();
        next.assign(agent.clone(), reservation.clone(), next.updated_ms, 0);
        next.state = State::Open;
        next.open_ms = Some(next.updated_ms);
        let mut t = conv.transition_to(
            &next,
            Actor::agent(agent),
            Cause::Routed,
            "started by the agent",
        );
        t.from_state = None;
        let insert = Change {
            expected_version: None,
            ..change(&conv, next.clone(), vec![t])
        };
        match self.apply(org, &insert).await? {
            Ok(()) => {
                // The request named the agent: no queue, no wait.
                self.metrics.assigned(Rule::ExplicitTarget.as_str());
                Ok(Ok(next))
            }
            Err(conflict) => {
                self.give_back(org, &reservation, agent).await;
                Ok(Err(conflict))
            }
        }
    }

    /// Restarts the 24-hour clock from a customer message (never moves it back).
    async fn touch(
        &self,
        org: &OrganizationId,
        mut conv: Conversation,
        message_ms: i64,
    ) -> Result<Conversation, RoutingError> {
        for _ in 0..RETRIES {
            if message_ms <= conv.last_customer_ms {
                return Ok(conv);
            }
            let mut next = conv.bumped(self.clock.now_ms());
            next.last_customer_ms = message_ms;
            next.expire_ms = message_ms + self.conversation_ttl_ms;
            match self
                .apply(org, &change(&conv, next.clone(), vec![]))
                .await?
            {
                Ok(()) => return Ok(next),
                Err(_) => conv = self.store.conversation(org, &conv.id).await?,
            }
        }
        Err(stale())
    }

    /// Records a customer message on an active conversation.
    pub async fn record_customer_message(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        message_ms: Option<i64>,
    ) -> Result<Conversation, RoutingError> {
        let conv = self.store.conversation(org, id).await?;
        if !conv.state.is_active() {
            return Err(RoutingError::precondition(
                Reason::ConversationState,
                format!("the conversation is {}; start a new one", conv.state),
            ));
        }
        let now = self.clock.now_ms();
        self.touch(org, conv, message_ms.unwrap_or(now).min(now))
            .await
    }

    /// Records an agent's reply: first response time, and first-responder ownership.
    pub async fn record_agent_reply(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        agent: &AgentId,
        message_ms: Option<i64>,
    ) -> Result<(Conversation, bool), RoutingError> {
        self.store.agent(org, agent).await?;
        let settings = self.store.organization(org).await?.settings;
        for _ in 0..RETRIES {
            let conv = self.store.conversation(org, id).await?;
            let owners = self.store.contact_owners(org, &conv.contact_id).await?;
            let become_owner = settings.first_responder_becomes_owner && owners.is_empty();
            if conv.first_response_ms.is_some() && !become_owner {
                return Ok((conv, false));
            }
            let mut next = conv.bumped(self.clock.now_ms());
            if next.first_response_ms.is_none() {
                next.first_response_ms = Some(message_ms.unwrap_or(next.updated_ms));
            }
            let mut c = change(&conv, next.clone(), vec![]);
            if become_owner {
                c.owner = Some(ContactOwner {
                    contact_id: conv.contact_id.clone(),
                    agent_id: agent.clone(),
                    source: OwnerSource::FirstResponder,
                    added_by: Actor::agent(agent),
                    created_ms: next.updated_ms,
                });
            }
            if self.apply(org, &c).await?.is_ok() {
                return Ok((next, become_owner));
            }
        }
        Err(stale())
    }

    /// A slot on `agent` for `conv`, whatever the agent's status (a pick, a transfer to a
    /// named agent): the agent must be linked to the conversation's number (it replies from
    /// it) and have a free slot. Refusals carry their reason.
    async fn reserve_named(
        &self,
        org: &OrganizationId,
        conv: &Conversation,
        agent: &AgentId,
    ) -> Result<ReservationId, RoutingError> {
        let reservation = ReservationId::generate();
        let (slot, _) = self
            .presence
            .reserve(SlotRequest {
                org,
                reservation: &reservation,
                choose: Choose::Agent {
                    agent: agent.clone(),
                    allow_not_available: true,
                },
                channel_account: Some(&conv.channel_account_id),
                exclude: &[],
                subject: conv.id.as_str(),
            })
            .await?;
        match slot {
            Slot::Granted { .. } => Ok(reservation),
            Slot::AgentAtCapacity => Err(RoutingError::precondition(
                Reason::AgentAtCapacity,
                format!("agent {agent} holds as many conversations as its capacity allows"),
            )),
            Slot::AgentNotLinked => Err(RoutingError::precondition(
                Reason::AgentNotLinked,
                format!("agent {agent} is not linked to this conversation's number"),
            )),
            Slot::AgentNotAvailable | Slot::NoAgentAvailable => Err(RoutingError::precondition(
                Reason::AgentNotAvailable,
                format!("agent {agent} cannot take work now"),
            )),
        }
    }

    /// The assignee opens its ASSIGNED conversation (idempotent when already open).
    pub async fn open(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        agent: &AgentId,
    ) -> Result<Conversation, RoutingError> {
        self.caller(org, agent).await?;
        let conv = self.store.conversation(org, id).await?;
        let Some((next, t)) = conv.open(agent, self.clock.now_ms()).map_err(refusal)? else {
            return Ok(conv);
        };
        match self.commit(org, change(&conv, next, vec![t])).await? {
            Ok(c) => Ok(c),
            Err(_) => {
                // Re-read: a retry of our own open succeeded, or the offer timed out.
                let now = self.store.conversation(org, id).await?;
                match now.check_open(agent).map_err(refusal)? {
                    false => Ok(now),
                    true => Err(stale()),
                }
            }
        }
    }

    /// Manual mode: an agent takes a QUEUED conversation; it is OPEN for it at once.
    pub async fn pick(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        agent: &AgentId,
    ) -> Result<Conversation, RoutingError> {
        let caller = self.caller(org, agent).await?;
        let conv = self.store.conversation(org, id).await?;
        if conv.state.is_held() && conv.assignee.as_ref() == Some(agent) {
            return Ok(conv);
        }
        if conv.state.is_held() {
            return Err(RoutingError::Aborted {
                reason: Reason::AlreadyTaken,
                message: "another agent took this conversation".into(),
            });
        }
        if conv.state != State::Queued {
            return Err(refusal(Refusal::WrongState(conv.state)));
        }
        if !caller.role.supervises() {
            let allowed = match &conv.team_id {
                Some(team) => self.store.agent_team_ids(org, agent).await?.contains(team),
                None => self
                    .store
                    .agent_channel_account_ids(org, agent)
                    .await?
                    .contains(&conv.channel_account_id),
            } || conv.waiting_agent.as_ref() == Some(agent);
            if !allowed {
                return Err(RoutingError::denied(
                    "the agent is not linked to this conversation's number or team",
                ));
            }
        }
        // Whoever picks replies from the number: it must be linked to it.
        let reservation = self.reserve_named(org, &conv, agent).await?;
        let (next, t) = conv.pick(agent, reservation.clone(), self.clock.now_ms());
        match self
            .apply(org, &change(&conv, next.clone(), vec![t]))
            .await?
        {
            Ok(()) => {
                // Not a routing rule: an agent took it from a queue or the waiting list.
                self.metrics.assigned("picked");
                self.metrics.waited(conv.queue_ms, next.updated_ms);
                Ok(next)
            }
            Err(_) => {
                self.give_back(org, &reservation, agent).await;
                let now = self.store.conversation(org, id).await?;
                if now.assignee.as_ref() == Some(agent) && now.state.is_held() {
                    return Ok(now);
                }
                Err(RoutingError::Aborted {
                    reason: Reason::AlreadyTaken,
                    message: "another agent took this conversation".into(),
                })
            }
        }
    }

    /// Closes a conversation and frees its slot.
    pub async fn close(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        agent: &AgentId,
        note: &str,
    ) -> Result<Conversation, RoutingError> {
        let caller = self.caller(org, agent).await?;
        let conv = self.store.conversation(org, id).await?;
        if conv.state == State::Closed
            && conv
                .closed_by
                .as_ref()
                .is_some_and(|a| a.id == agent.as_str())
        {
            return Ok(conv);
        }
        // Who may close, checked before the form and the ticket rule (the same check again
        // when the change is made below).
        conv.check_close(&caller).map_err(refusal)?;
        if let Some(campaign) = &conv.campaign_id
            && let Ok(campaign) = self.store.campaign(org, campaign).await
        {
            let missing: Vec<_> = campaign
                .form_fields
                .iter()
                .filter(|f| {
                    f.required
                        && conv
                            .form_values
                            .get(&f.key)
                            .is_none_or(|v| v.trim().is_empty())
                })
                .map(|f| f.key.clone())
                .collect();
            if !missing.is_empty() {
                return Err(RoutingError::precondition_with(
                    Reason::FormIncomplete,
                    format!("required form fields are empty: {}", missing.join(", ")),
                    [("fields".to_string(), missing.join(","))].into(),
                ));
            }
        }
        if self.close_policy.check(org, &conv).await? == CloseVerdict::TicketRequired {
            return Err(RoutingError::precondition(
                Reason::TicketRequired,
                "this conversation must be linked to a ticket before it is closed",
            ));
        }
        let (next, t) = conv
            .close(&caller, note, self.clock.now_ms())
            .map_err(refusal)?;
        let mut c = change(&conv, next, vec![t]);
        c.release = conv.reservation_id.clone().zip(conv.assignee.clone());
        self.commit(org, c).await?.map_err(|_| stale())
    }

    /// Finalizes an EXPIRED conversation (it leaves the Expired list).
    pub async fn finalize(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        agent: &AgentId,
    ) -> Result<Conversation, RoutingError> {
        let caller = self.caller(org, agent).await?;
        let conv = self.store.conversation(org, id).await?;
        let Some((next, t)) = conv
            .finalize(&caller, self.clock.now_ms())
            .map_err(refusal)?
        else {
            return Ok(conv);
        };
        self.commit(org, change(&conv, next, vec![t]))
            .await?
            .map_err(|_| stale())
    }

    /// Transfers an ASSIGNED or OPEN conversation to a team (queued there) or an agent
    /// (assigned to it).
    pub async fn transfer(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        actor: &AgentId,
        target: Target,
        reason: &str,
        priority: Option<i32>,
    ) -> Result<(Conversation, Transfer), RoutingError> {
        let caller = self.caller(org, actor).await?;
        let conv = self.store.conversation(org, id).await?;
        let now = self.clock.now_ms();
        let (mut next, transfer) = conv
            .hand_over(&caller, &target, reason, priority, now)
            .map_err(refusal)?;
        let new_reservation = match &target {
            Target::Team(team_id) => {
                let team = self.store.team(org, team_id).await?;
                let linked = self
                    .store
                    .channel_account_routing(org, &conv.channel_account_id)
                    .await?
                    .linked_team_ids
                    .contains(&team.id);
                if !linked {
                    return Err(RoutingError::precondition(
                        Reason::TeamNotLinked,
                        format!(
                            "team {} is not linked to this conversation's number",
                            team.name
                        ),
                    ));
                }
                next.queue_in(team.id.clone(), now);
                if priority.is_none() {
                    next.priority =
                        crate::domain::config::priority_for(&team.priority_rules, |k| {
                            if k == "transferred" {
                                Some("true".into())
                            } else {
                                next.attribute(k)
                            }
                        });
                }
                // The transfer and the decision in the team are one change, one transition.
                let context = Context {
                    release: conv.reservation_id.clone().zip(conv.assignee.clone()),
                    stored: Some(conv),
                    transfer: Some(transfer.clone()),
                    why: reason.to_string(),
                };
                return match self
                    .route_with(
                        org,
                        next,
                        Trigger::Transfer,
                        &Actor::agent(actor),
                        Cause::Transferred,
                        context,
                    )
                    .await?
                {
                    Ok(conv) => Ok((conv, transfer)),
                    Err(_) => Err(stale()),
                };
            }
            Target::Agent(agent) => {
                let target_agent = self.store.agent(org, agent).await?;
                if target_agent.disabled {
                    return Err(RoutingError::field(
                        "target.agent_id",
                        "the agent is disabled",
                    ));
                }
                let reservation = self.reserve_named(org, &conv, agent).await?;
                let timeout = match &conv.team_id {
                    Some(team) => self
                        .store
                        .team(org, team)
                        .await
                        .map_or(0, |t| t.offer_timeout_secs),
                    None => 0,
                };
                next.assign(agent.clone(), reservation.clone(), now, timeout);
                (reservation, agent.clone())
            }
            Target::None => {
                return Err(RoutingError::field(
                    "target",
                    "must name a team or an agent",
                ));
            }
        };
        let t = conv.transition_to(&next, Actor::agent(actor), Cause::Transferred, reason);
        let mut c = change(&conv, next, vec![t]);
        c.transfer = Some(transfer.clone());
        c.release = conv.reservation_id.clone().zip(conv.assignee.clone());
        match self.commit(org, c).await? {
            Ok(conv) => {
                self.metrics.assigned(Rule::ExplicitTarget.as_str());
                Ok((conv, transfer))
            }
            Err(_) => {
                let (reservation, agent) = new_reservation;
                self.give_back(org, &reservation, &agent).await;
                Err(stale())
            }
        }
    }

    /// Saves campaign form values (merged; an empty value clears a field). Returns the
    /// required keys still empty.
    pub async fn update_form(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        actor: &AgentId,
        values: &std::collections::BTreeMap<String, String>,
    ) -> Result<(Conversation, Vec<String>), RoutingError> {
        let caller = self.caller(org, actor).await?;
        let conv = self.store.conversation(org, id).await?;
        if !caller.role.supervises() && conv.assignee.as_ref() != Some(actor) {
            return Err(RoutingError::denied(
                "only the holder, an operator or an admin fills the form",
            ));
        }
        if !conv.state.is_active() {
            return Err(refusal(Refusal::WrongState(conv.state)));
        }
        let fields = match &conv.campaign_id {
            Some(c) => self.store.campaign(org, c).await?.form_fields,
            None => vec![],
        };
        let mut bad = Vec::new();
        for (key, value) in values {
            match fields.iter().find(|f| &f.key == key) {
                None => bad.push(switchboard_runtime::errors::FieldViolation::new(
                    format!("values[{key}]"),
                    "not a field of this conversation's campaign form",
                )),
                Some(f) if !value.is_empty() => {
                    if let Err(why) = crate::domain::config::check_form_value(f, value) {
                        bad.push(switchboard_runtime::errors::FieldViolation::new(
                            format!("values[{key}]"),
                            why,
                        ));
                    }
                }
                Some(_) => {}
            }
        }
        if !bad.is_empty() {
            return Err(RoutingError::InvalidArgument(bad));
        }
        let mut next = conv.bumped(self.clock.now_ms());
        for (k, v) in values {
            if v.is_empty() {
                next.form_values.remove(k);
            } else {
                next.form_values.insert(k.clone(), v.clone());
            }
        }
        let missing = fields
            .iter()
            .filter(|f| f.required && next.form_values.get(&f.key).is_none_or(|v| v.is_empty()))
            .map(|f| f.key.clone())
            .collect();
        let next = self
            .commit(org, change(&conv, next, vec![]))
            .await?
            .map_err(|_| stale())?;
        Ok((next, missing))
    }

    /// Takes a held conversation back from its agent and routes it again, steering away from
    /// that agent (see [`Conversation::take_back`]); the take-back and the new decision are
    /// one change with one transition.
    async fn take_back(
        &self,
        org: &OrganizationId,
        conv: Conversation,
        cause: Cause,
        trigger: Trigger,
        detail: &str,
    ) -> Result<Option<Conversation>, RoutingError> {
        let mut queued = conv.clone();
        let Some(agent) = queued.take_back() else {
            return Ok(None);
        };
        let context = Context {
            release: conv.reservation_id.clone().map(|r| (r, agent)),
            stored: Some(conv),
            why: detail.to_string(),
            transfer: None,
        };
        Ok(self
            .route_with(org, queued, trigger, &Actor::system(), cause, context)
            .await?
            .ok())
    }

    /// An agent went offline: its ASSIGNED (unopened) conversations go back to routing, per
    /// each conversation's team offline policy. Returns the conversations taken back.
    pub async fn agent_offline(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        disabled: bool,
    ) -> Result<Vec<ConversationId>, RoutingError> {
        let mut out = Vec::new();
        for conv in self.store.held_by(org, agent, &[State::Assigned]).await? {
            if !disabled
                && let Some(team) = &conv.team_id
                && let Ok(team) = self.store.team(org, team).await
                && team.offline_policy == OfflinePolicy::KeepUntilTimeout
            {
                continue;
            }
            let (cause, detail) = if disabled {
                (Cause::AgentDisabled, "its agent was disabled")
            } else {
                (
                    Cause::AgentOffline,
                    "its agent went offline before opening it",
                )
            };
            let id = conv.id.clone();
            if self
                .take_back(org, conv, cause, Trigger::AgentOffline, detail)
                .await?
                .is_some()
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// One pass of timed transitions: offers that ran out, owner waits that ran out, the
    /// 24-hour expiry, releases presence did not confirm, never-routed conversations, and a
    /// safety pass over the queues. Returns how many conversations it changed.
    pub async fn sweep(&self) -> Result<usize, RoutingError> {
        use crate::store::entities::conversations::Column as C;
        let now = self.clock.now_ms();
        let mut n = 0;
        for (org, conv) in self
            .store
            .due(&[State::Assigned], C::OfferExpireMs, now, 100)
            .await?
        {
            if self
                .take_back(
                    &org,
                    conv,
                    Cause::OfferTimeout,
                    Trigger::OfferTimeout,
                    "not opened before the offer timeout",
                )
                .await?
                .is_some()
            {
                n += 1;
            }
        }
        for (org, conv) in self
            .store
            .due(&[State::Queued], C::OwnerWaitUntilMs, now, 100)
            .await?
        {
            let mut next = conv.bumped(self.clock.now_ms());
            next.owner_wait_until_ms = None;
            next.waiting_agent = None;
            if self
                .apply(&org, &change(&conv, next.clone(), vec![]))
                .await?
                .is_ok()
            {
                self.route(
                    &org,
                    next,
                    Trigger::OwnerWaitExpired,
                    &Actor::system(),
                    Cause::OwnerWaitExpired,
                )
                .await?;
                n += 1;
            }
        }
        for (org, conv) in self
            .store
            .due(
                &[State::Queued, State::Assigned, State::Open],
                C::ExpireMs,
                now,
                200,
            )
            .await?
        {
            let mut next = conv.bumped(self.clock.now_ms());
            next.state = State::Expired;
            next.end_ms = Some(now);
            next.offer_expire_ms = None;
            next.owner_wait_until_ms = None;
            let t = conv.transition_to(
                &next,
                Actor::system(),
                Cause::Expired,
                "24 hours without a customer message",
            );
            let mut c = change(&conv, next, vec![t]);
            c.release = conv.reservation_id.clone().zip(conv.assignee.clone());
            if self.commit(&org, c).await?.is_ok() {
                n += 1;
            }
        }
        n += self.sweep_work_offers(now).await?;
        for (org, reservation, agent) in self.store.pending_releases(100).await? {
            self.release_and_refill(&org, &reservation, &agent).await;
        }
        match self.drain_queues().await {
            Ok(assigned) => n += assigned,
            // Presence down: the rest of the sweep still runs; the next pass tries again.
            Err(err) => tracing::warn!(error = %err, "liveness pass failed; retried next sweep"),
        }
        for (org, conv) in self.store.unrouted(now - 5_000, 50).await? {
            self.route(&org, conv, Trigger::New, &Actor::system(), Cause::Routed)
                .await?;
            n += 1;
        }
        Ok(n)
    }

    /// Restores presence's loads after it lost its store: every enabled agent's profile and
    /// the slots routing's database says it holds.
    pub async fn rebuild_presence(&self, org: &OrganizationId) -> Result<(), RoutingError> {
        let snapshot_ms = self.clock.now_ms();
        let profiles = self.agent_profiles(org).await?;
        let mut holdings = self.store.holdings(org).await?;
        holdings.extend(self.store.work_holdings(org).await?);
        let agents = profiles
            .into_iter()
            .map(|p| {
                let held = holdings
                    .iter()
                    .filter(|(a, _, _)| *a == p.agent_id)
                    .map(|(_, r, subject)| (r.clone(), subject.clone()))
                    .collect();
                (p, held)
            })
            .collect();
        self.presence.rebuild(org, agents, snapshot_ms).await
    }

    /// Whether `caller` may read `conv`.
    pub(crate) fn can_see(&self, caller: Option<&Caller>, conv: &Conversation) -> bool {
        caller.is_none_or(|c| conv.visible_to(c) || c.role == Role::Admin)
    }
}
