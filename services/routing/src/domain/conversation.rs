//! Conversations and their lifecycle: states, who may do what, and the records every change
//! leaves (transitions, transfers).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_runtime::ids::{
    AgentId, CampaignId, ChannelAccountId, ContactId, ConversationId, ReservationId,
    RoutingDecisionId, TeamId, TransferId,
};

use super::{
    config::{Role, Target},
    string_enum,
};

string_enum!(
    /// Where a conversation is in its life.
    State {
        Queued = "queued",
        Assigned = "assigned",
        Open = "open",
        Closed = "closed",
        Expired = "expired",
    }
);

impl State {
    /// Queued, assigned or open: the contact's one active conversation on the account.
    pub fn is_active(self) -> bool {
        matches!(self, State::Queued | State::Assigned | State::Open)
    }

    /// Assigned or open: an agent holds it (and a presence slot).
    pub fn is_held(self) -> bool {
        matches!(self, State::Assigned | State::Open)
    }
}

string_enum!(
    /// Who did something.
    ActorKind { Agent = "agent", Contact = "contact", System = "system", Service = "service" }
);

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: String,
    pub id: String,
}

impl Actor {
    pub fn agent(id: &AgentId) -> Self {
        Self {
            kind: ActorKind::Agent.as_str().into(),
            id: id.to_string(),
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System.as_str().into(),
            id: String::new(),
        }
    }

    pub fn service(name: &str) -> Self {
        Self {
            kind: ActorKind::Service.as_str().into(),
            id: name.into(),
        }
    }
}

string_enum!(
    /// Why a transition happened.
    Cause {
        Routed = "routed",
        Picked = "picked",
        Opened = "opened",
        Transferred = "transferred",
        OfferTimeout = "offer_timeout",
        AgentOffline = "agent_offline",
        AgentDisabled = "agent_disabled",
        SlotFreed = "slot_freed",
        Closed = "closed",
        Expired = "expired",
        Finalized = "finalized",
        OwnerWaitExpired = "owner_wait_expired",
    }
);

/// One attention episode between a contact and the organization on one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub channel_account_id: ChannelAccountId,
    pub contact_id: ContactId,
    pub state: State,
    pub campaign_id: Option<CampaignId>,
    pub team_id: Option<TeamId>,
    pub assignee: Option<AgentId>,
    /// While queued for one agent (a campaign's or default agent, a waited-for owner).
    pub waiting_agent: Option<AgentId>,
    pub reservation_id: Option<ReservationId>,
    pub priority: i32,
    pub participants: Vec<AgentId>,
    pub form_values: BTreeMap<String, String>,
    pub transfer_count: i32,
    /// The agent who last let it go (its offer timed out, it went offline holding it): the
    /// next decision prefers anyone else, and falls back to that agent only when nobody else
    /// can take it. A steer, never a ban: a conversation is never stranded by it.
    pub excluded_agents: Vec<AgentId>,
    /// While waiting for the contact owner: when the wait ends and the next step applies.
    pub owner_wait_until_ms: Option<i64>,
    pub created_ms: i64,
    pub queue_ms: Option<i64>,
    pub assign_ms: Option<i64>,
    pub offer_expire_ms: Option<i64>,
    pub open_ms: Option<i64>,
    pub first_response_ms: Option<i64>,
    pub last_customer_ms: i64,
    pub expire_ms: i64,
    pub end_ms: Option<i64>,
    pub closed_by: Option<Actor>,
    pub close_note: String,
    pub finalize_ms: Option<i64>,
    pub last_decision_id: Option<RoutingDecisionId>,
    pub updated_ms: i64,
    /// Bumped by every change; conditional updates compare it (optimistic concurrency).
    pub version: i64,
    /// Its ticket and pending proposal as ticketing last announced them (read-only here:
    /// routing's own changes never write them).
    pub tickets: Tickets,
}

/// A ticket as a conversation shows it ("#123").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    /// tkt_ id.
    pub ticket_id: String,
    pub number: i64,
    /// tkp_ id, for a proposed ticket.
    pub proposal_id: Option<String>,
}

/// A conversation's linked ticket and the ticket proposed for it, from ticketing's events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tickets {
    pub linked: Option<TicketRef>,
    pub proposed: Option<TicketRef>,
}

/// The caller of an action, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub agent_id: AgentId,
    pub role: Role,
}

/// Why an action is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may not do this (not the holder, not a supervisor).
    NotAllowed(&'static str),
    /// The caller is not the assignee.
    NotAssignee,
    /// The conversation is not in a state that allows it.
    WrongState(State),
}

impl Conversation {
    /// Only the agent that opened it closes an OPEN conversation; an admin closes any active one.
    pub fn check_close(&self, caller: &Caller) -> Result<(), Refusal> {
        if caller.role == Role::Admin {
            return if self.state.is_active() {
                Ok(())
            } else {
                Err(Refusal::WrongState(self.state))
            };
        }
        if self.assignee.as_ref() != Some(&caller.agent_id) {
            return Err(Refusal::NotAllowed(
                "only the agent that opened the conversation, or an admin, closes it",
            ));
        }
        if self.state != State::Open {
            return Err(Refusal::WrongState(self.state));
        }
        Ok(())
    }

    /// Only the assignee opens an ASSIGNED conversation; opening its own OPEN one is a no-op.
    pub fn check_open(&self, agent: &AgentId) -> Result<bool, Refusal> {
        match self.state {
            State::Assigned | State::Open if self.assignee.as_ref() != Some(agent) => {
                Err(Refusal::NotAssignee)
            }
            State::Assigned => Ok(true),
            State::Open => Ok(false),
            other => Err(Refusal::WrongState(other)),
        }
    }

    /// The holder or a supervisor transfers an ASSIGNED or OPEN conversation elsewhere.
    pub fn check_transfer(&self, caller: &Caller, target: &Target) -> Result<(), Refusal> {
        if !self.state.is_held() {
            return Err(Refusal::WrongState(self.state));
        }
        if !caller.role.supervises() && self.assignee.as_ref() != Some(&caller.agent_id) {
            return Err(Refusal::NotAllowed(
                "only the holder, an operator or an admin transfers a conversation",
            ));
        }
        if let Target::Agent(a) = target
            && self.assignee.as_ref() == Some(a)
        {
            return Err(Refusal::NotAllowed(
                "the conversation is already with that agent",
            ));
        }
        Ok(())
    }

    /// Whether `agent` may read it: holders (present or past), participants, supervisors.
    pub fn visible_to(&self, caller: &Caller) -> bool {
        caller.role.supervises()
            || self.assignee.as_ref() == Some(&caller.agent_id)
            || self.participants.contains(&caller.agent_id)
            || self.state == State::Queued
    }

    /// Takes it back from its holder into its queue (offer timeout, holder offline or
    /// disabled), excluding that holder from the next decision only. Keeps its queue time, so
    /// it keeps its place among the waiting (priority, then age). Returns the holder.
    pub fn take_back(&mut self) -> Option<AgentId> {
        if self.state != State::Assigned && self.state != State::Open {
            return None;
        }
        let agent = self.assignee.take()?;
        self.state = State::Queued;
        self.reservation_id = None;
        self.offer_expire_ms = None;
        self.open_ms = None;
        self.excluded_agents = vec![agent.clone()];
        if self.queue_ms.is_none() {
            self.queue_ms = self.assign_ms.or(Some(self.created_ms));
        }
        Some(agent)
    }

    /// Hands it to `agent`, who holds `reservation`: ASSIGNED (an offer that runs out after
    /// `offer_timeout_secs`, when positive), out of every queue. `queue_ms` stays: it is when
    /// the conversation entered its current queue, its age if it is ever taken back.
    pub fn assign(
        &mut self,
        agent: AgentId,
        reservation: ReservationId,
        now_ms: i64,
        offer_timeout_secs: i64,
    ) {
        self.state = State::Assigned;
        self.assignee = Some(agent);
        self.reservation_id = Some(reservation);
        self.waiting_agent = None;
        self.owner_wait_until_ms = None;
        self.assign_ms = Some(now_ms);
        self.offer_expire_ms = (offer_timeout_secs > 0).then(|| now_ms + offer_timeout_secs * 1000);
    }

    /// Attribute values team priority rules match on.
    pub fn attribute(&self, key: &str) -> Option<String> {
        match key {
            "channel_account_id" => Some(self.channel_account_id.to_string()),
            "campaign_id" => self.campaign_id.as_ref().map(ToString::to_string),
            "transferred" => Some((self.transfer_count > 0).to_string()),
            _ => None,
        }
    }
}

/// One recorded change of state or holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub sequence: i64,
    pub conversation_id: ConversationId,
    pub from_state: Option<State>,
    pub to_state: State,
    pub from_agent: Option<AgentId>,
    pub to_agent: Option<AgentId>,
    pub to_team: Option<TeamId>,
    pub actor: Actor,
    pub cause: Cause,
    pub detail: String,
    pub decision_id: Option<RoutingDecisionId>,
    pub created_ms: i64,
}

/// One recorded transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: TransferId,
    pub conversation_id: ConversationId,
    pub actor: Actor,
    pub from_agent: Option<AgentId>,
    pub from_team: Option<TeamId>,
    pub target: Target,
    pub reason: String,
    pub from_state: State,
    pub created_ms: i64,
}

/// One transition to record (its sequence is assigned on write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransition {
    pub from_state: Option<State>,
    pub to_state: State,
    pub from_agent: Option<AgentId>,
    pub to_agent: Option<AgentId>,
    pub to_team: Option<TeamId>,
    pub actor: Actor,
    pub cause: Cause,
    pub detail: String,
    pub decision_id: Option<String>,
}

/// What an action leaves: the conversation's next version and the transition to record.
pub type Step = (Conversation, NewTransition);

impl Conversation {
    /// The next version of this conversation, changed at `now_ms`.
    pub fn bumped(&self, now_ms: i64) -> Conversation {
        let mut next = self.clone();
        next.version += 1;
        next.updated_ms = now_ms;
        next
    }

    /// The transition from this version to `next`.
    pub fn transition_to(
        &self,
        next: &Conversation,
        actor: Actor,
        cause: Cause,
        detail: impl Into<String>,
    ) -> NewTransition {
        NewTransition {
            from_state: Some(self.state),
            to_state: next.state,
            from_agent: self.assignee.clone(),
            to_agent: next.assignee.clone(),
            to_team: next.team_id.clone(),
            actor,
            cause,
            detail: detail.into(),
            decision_id: None,
        }
    }

    /// The assignee opens its ASSIGNED conversation: OPEN, with no offer deadline. `None` when
    /// it is already open for that agent (opening is idempotent).
    pub fn open(&self, agent: &AgentId, now_ms: i64) -> Result<Option<Step>, Refusal> {
        if !self.check_open(agent)? {
            return Ok(None);
        }
        let mut next = self.bumped(now_ms);
        next.state = State::Open;
        next.open_ms = Some(now_ms);
        next.offer_expire_ms = None;
        let t = self.transition_to(&next, Actor::agent(agent), Cause::Opened, "");
        Ok(Some((next, t)))
    }

    /// `caller` closes it with `note`: CLOSED, out of every queue (see [`Self::check_close`]
    /// for who may). The slot it held is the caller's to release.
    pub fn close(&self, caller: &Caller, note: &str, now_ms: i64) -> Result<Step, Refusal> {
        self.check_close(caller)?;
        let actor = Actor::agent(&caller.agent_id);
        let mut next = self.bumped(now_ms);
        next.state = State::Closed;
        next.end_ms = Some(now_ms);
        next.closed_by = Some(actor.clone());
        next.close_note = note.to_string();
        next.offer_expire_ms = None;
        next.queue_ms = None;
        next.waiting_agent = None;
        next.owner_wait_until_ms = None;
        let t = self.transition_to(&next, actor, Cause::Closed, note);
        Ok((next, t))
    }

    /// `agent` picks it from a queue or the waiting list, holding `reservation`: assigned and
    /// opened in one step (picking is opening), no offer to time out.
    pub fn pick(&self, agent: &AgentId, reservation: ReservationId, now_ms: i64) -> Step {
        let mut next = self.bumped(now_ms);
        next.assign(agent.clone(), reservation, now_ms, 0);
        next.state = State::Open;
        next.open_ms = Some(now_ms);
        let t = self.transition_to(
            &next,
            Actor::agent(agent),
            Cause::Picked,
            "picked from the waiting list",
        );
        (next, t)
    }

    /// `caller` hands it over to `target` (see [`Self::check_transfer`]): the next version,
    /// with the transfer counted and every offer, wait and exclusion of the old holder cleared
    /// (where it goes next is the caller's: [`Self::queue_in`] or [`Self::assign`]), and the
    /// transfer record.
    pub fn hand_over(
        &self,
        caller: &Caller,
        target: &Target,
        reason: &str,
        priority: Option<i32>,
        now_ms: i64,
    ) -> Result<(Conversation, Transfer), Refusal> {
        self.check_transfer(caller, target)?;
        let transfer = Transfer {
            id: TransferId::generate(),
            conversation_id: self.id.clone(),
            actor: Actor::agent(&caller.agent_id),
            from_agent: self.assignee.clone(),
            from_team: self.team_id.clone(),
            target: target.clone(),
            reason: reason.to_string(),
            from_state: self.state,
            created_ms: now_ms,
        };
        let mut next = self.bumped(now_ms);
        next.transfer_count += 1;
        next.excluded_agents.clear();
        next.open_ms = None;
        next.offer_expire_ms = None;
        next.waiting_agent = None;
        next.owner_wait_until_ms = None;
        if let Some(p) = priority {
            next.priority = p;
        }
        Ok((next, transfer))
    }

    /// Puts it in `team`'s queue from `now_ms`, held by nobody.
    pub fn queue_in(&mut self, team: TeamId, now_ms: i64) {
        self.state = State::Queued;
        self.team_id = Some(team);
        self.assignee = None;
        self.reservation_id = None;
        self.queue_ms = Some(now_ms);
    }

    /// The agent that held it, an operator or an admin finalizes an EXPIRED conversation (it
    /// leaves the Expired list). `None` when it already was.
    pub fn finalize(&self, caller: &Caller, now_ms: i64) -> Result<Option<Step>, Refusal> {
        if !caller.role.supervises() && self.assignee.as_ref() != Some(&caller.agent_id) {
            return Err(Refusal::NotAllowed(
                "only the agent that held it, an operator or an admin finalizes it",
            ));
        }
        if self.state != State::Expired {
            return Err(Refusal::WrongState(self.state));
        }
        if self.finalize_ms.is_some() {
            return Ok(None);
        }
        let mut next = self.bumped(now_ms);
        next.finalize_ms = Some(now_ms);
        let t = self.transition_to(&next, Actor::agent(&caller.agent_id), Cause::Finalized, "");
        Ok(Some((next, t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(state: State, assignee: Option<&AgentId>) -> Conversation {
        Conversation {
            id: ConversationId::generate(),
            channel_account_id: ChannelAccountId::generate(),
            contact_id: ContactId::generate(),
            state,
            campaign_id: None,
            team_id: None,
            assignee: assignee.cloned(),
            waiting_agent: None,
            reservation_id: None,
            priority: 0,
            participants: vec![],
            form_values: BTreeMap::new(),
            transfer_count: 0,
            excluded_agents: vec![],
            owner_wait_until_ms: None,
            created_ms: 0,
            queue_ms: None,
            assign_ms: None,
            offer_expire_ms: None,
            open_ms: None,
            first_response_ms: None,
            last_customer_ms: 0,
            expire_ms: 0,
            end_ms: None,
            closed_by: None,
            close_note: String::new(),
            finalize_ms: None,
            last_decision_id: None,
            updated_ms: 0,
            version: 1,
            tickets: Tickets::default(),
        }
    }

    #[test]
    fn only_the_opener_or_an_admin_closes() {
        let ana = AgentId::generate();
        let bob = AgentId::generate();
        let open = conversation(State::Open, Some(&ana));
        let caller = |id: &AgentId, role| Caller {
            agent_id: id.clone(),
            role,
        };
        assert_eq!(open.check_close(&caller(&ana, Role::Agent)), Ok(()));
        assert!(matches!(
            open.check_close(&caller(&bob, Role::Agent)),
            Err(Refusal::NotAllowed(_))
        ));
        assert!(
            matches!(
                open.check_close(&caller(&bob, Role::Operator)),
                Err(Refusal::NotAllowed(_))
            ),
            "operators supervise but do not close others' conversations"
        );
        assert_eq!(open.check_close(&caller(&bob, Role::Admin)), Ok(()));
        let assigned = conversation(State::Assigned, Some(&ana));
        assert_eq!(
            assigned.check_close(&caller(&ana, Role::Agent)),
            Err(Refusal::WrongState(State::Assigned)),
            "an agent closes only what it opened"
        );
    }

    #[test]
    fn assigning_takes_it_out_of_every_queue_and_starts_the_offer() {
        let ana = AgentId::generate();
        let mut c = conversation(State::Queued, None);
        c.waiting_agent = Some(AgentId::generate());
        c.owner_wait_until_ms = Some(5);
        c.queue_ms = Some(1);
        let rsv = ReservationId::generate();
        c.assign(ana.clone(), rsv.clone(), 1_000, 30);
        assert_eq!(c.state, State::Assigned);
        assert_eq!((&c.assignee, &c.reservation_id), (&Some(ana), &Some(rsv)));
        assert_eq!((&c.waiting_agent, c.owner_wait_until_ms), (&None, None));
        assert_eq!(c.queue_ms, Some(1), "its age in the queue is kept");
        assert_eq!(c.offer_expire_ms, Some(31_000));
        c.assign(AgentId::generate(), ReservationId::generate(), 2_000, 0);
        assert_eq!(c.offer_expire_ms, None, "no timeout, no deadline");
    }

    #[test]
    fn taking_back_excludes_only_the_last_holder_and_keeps_the_queue_age() {
        let ana = AgentId::generate();
        let beto = AgentId::generate();
        let mut c = conversation(State::Queued, None);
        c.queue_ms = Some(100);
        c.assign(ana.clone(), ReservationId::generate(), 1_000, 10);
        assert_eq!(c.take_back(), Some(ana.clone()));
        assert_eq!(c.state, State::Queued);
        assert_eq!((&c.assignee, &c.reservation_id), (&None, &None));
        assert_eq!(c.offer_expire_ms, None);
        assert_eq!(c.excluded_agents, vec![ana.clone()]);
        assert_eq!(c.queue_ms, Some(100), "re-routed keeps its age");
        c.assign(beto.clone(), ReservationId::generate(), 2_000, 10);
        assert_eq!(c.take_back(), Some(beto.clone()));
        assert_eq!(
            c.excluded_agents,
            vec![beto],
            "two timeouts in a row never exclude everybody"
        );
        assert_eq!(c.take_back(), None, "nothing to take back from a queue");
        let mut closed = conversation(State::Closed, Some(&ana));
        assert_eq!(closed.take_back(), None);
    }

    #[test]
    fn only_the_assignee_opens_and_reopening_is_a_no_op() {
        let ana = AgentId::generate();
        let bob = AgentId::generate();
        let assigned = conversation(State::Assigned, Some(&ana));
        assert_eq!(assigned.check_open(&ana), Ok(true));
        assert_eq!(assigned.check_open(&bob), Err(Refusal::NotAssignee));
        assert_eq!(
            conversation(State::Open, Some(&ana)).check_open(&ana),
            Ok(false)
        );
        assert_eq!(
            conversation(State::Queued, None).check_open(&ana),
            Err(Refusal::WrongState(State::Queued))
        );
    }

    fn caller(agent: &AgentId, role: Role) -> Caller {
        Caller {
            agent_id: agent.clone(),
            role,
        }
    }

    #[test]
    fn open_is_for_the_assignee_and_idempotent() {
        let ana = AgentId::generate();
        let beto = AgentId::generate();
        let mut c = conversation(State::Assigned, Some(&ana));
        c.offer_expire_ms = Some(50);
        let (next, t) = c.open(&ana, 10).expect("opens").expect("a change");
        assert_eq!(
            (next.state, next.open_ms, next.offer_expire_ms),
            (State::Open, Some(10), None)
        );
        assert_eq!((next.version, next.updated_ms), (c.version + 1, 10));
        assert_eq!(
            (t.from_state, t.to_state, t.cause),
            (Some(State::Assigned), State::Open, Cause::Opened)
        );
        assert_eq!(
            next.open(&ana, 20),
            Ok(None),
            "opening an open conversation changes nothing"
        );
        assert_eq!(c.open(&beto, 10), Err(Refusal::NotAssignee));
        let queued = conversation(State::Queued, None);
        assert_eq!(
            queued.open(&ana, 10),
            Err(Refusal::WrongState(State::Queued))
        );
    }

    #[test]
    fn close_takes_it_out_of_every_queue_and_records_who() {
        let ana = AgentId::generate();
        let mut c = conversation(State::Open, Some(&ana));
        c.queue_ms = Some(1);
        c.waiting_agent = Some(ana.clone());
        let (next, t) = c
            .close(&caller(&ana, Role::Agent), "resuelto", 30)
            .expect("closes");
        assert_eq!(next.state, State::Closed);
        assert_eq!(
            (next.end_ms, next.queue_ms, next.waiting_agent.as_ref()),
            (Some(30), None, None)
        );
        assert_eq!(
            next.closed_by.as_ref().map(|a| a.id.as_str()),
            Some(ana.as_str())
        );
        assert_eq!(
            (t.to_state, t.cause, t.detail.as_str()),
            (State::Closed, Cause::Closed, "resuelto")
        );
        let other = AgentId::generate();
        assert!(matches!(
            c.close(&caller(&other, Role::Operator), "", 30),
            Err(Refusal::NotAllowed(_))
        ));
        assert!(
            c.close(&caller(&other, Role::Admin), "", 30).is_ok(),
            "an admin closes any active one"
        );
        let assigned = conversation(State::Assigned, Some(&ana));
        assert_eq!(
            assigned.close(&caller(&ana, Role::Agent), "", 30),
            Err(Refusal::WrongState(State::Assigned))
        );
    }

    #[test]
    fn finalize_only_expired_once() {
        let ana = AgentId::generate();
        let c = conversation(State::Expired, Some(&ana));
        let (next, t) = c
            .finalize(&caller(&ana, Role::Agent), 40)
            .expect("ok")
            .expect("a change");
        assert_eq!(
            (next.finalize_ms, t.cause, t.to_state),
            (Some(40), Cause::Finalized, State::Expired)
        );
        assert_eq!(next.finalize(&caller(&ana, Role::Agent), 50), Ok(None));
        let other = AgentId::generate();
        assert!(matches!(
            c.finalize(&caller(&other, Role::Agent), 40),
            Err(Refusal::NotAllowed(_))
        ));
        assert!(c.finalize(&caller(&other, Role::Operator), 40).is_ok());
        let open = conversation(State::Open, Some(&ana));
        assert_eq!(
            open.finalize(&caller(&ana, Role::Agent), 40),
            Err(Refusal::WrongState(State::Open))
        );
    }

    #[test]
    fn a_pick_opens_it_for_the_picker_at_once() {
        let ana = AgentId::generate();
        let mut c = conversation(State::Queued, None);
        c.queue_ms = Some(5);
        let rsv = ReservationId::generate();
        let (next, t) = c.pick(&ana, rsv.clone(), 20);
        assert_eq!(
            (
                next.state,
                next.assignee.as_ref(),
                next.reservation_id.as_ref()
            ),
            (State::Open, Some(&ana), Some(&rsv))
        );
        assert_eq!(
            (next.open_ms, next.offer_expire_ms, next.queue_ms),
            (Some(20), None, Some(5))
        );
        assert_eq!(
            (t.from_state, t.to_state, t.cause),
            (Some(State::Queued), State::Open, Cause::Picked)
        );
    }

    #[test]
    fn a_hand_over_counts_the_transfer_and_clears_the_old_holders_traces() {
        let (ana, beto) = (AgentId::generate(), AgentId::generate());
        let team = TeamId::generate();
        let mut c = conversation(State::Open, Some(&ana));
        c.excluded_agents = vec![beto.clone()];
        c.open_ms = Some(3);
        c.priority = 1;
        let (mut next, transfer) = c
            .hand_over(
                &caller(&ana, Role::Agent),
                &Target::Team(team.clone()),
                "facturación",
                Some(7),
                30,
            )
            .expect("the holder transfers");
        assert_eq!(
            (next.transfer_count, next.priority, next.open_ms),
            (1, 7, None)
        );
        assert!(next.excluded_agents.is_empty());
        assert_eq!(
            (
                transfer.from_agent.as_ref(),
                transfer.from_state,
                transfer.reason.as_str()
            ),
            (Some(&ana), State::Open, "facturación")
        );
        next.queue_in(team.clone(), 30);
        assert_eq!(
            (
                next.state,
                next.team_id.as_ref(),
                next.assignee.as_ref(),
                next.queue_ms
            ),
            (State::Queued, Some(&team), None, Some(30))
        );
        let other = AgentId::generate();
        assert!(matches!(
            c.hand_over(
                &caller(&other, Role::Agent),
                &Target::Team(team),
                "",
                None,
                30
            ),
            Err(Refusal::NotAllowed(_))
        ));
    }
}
