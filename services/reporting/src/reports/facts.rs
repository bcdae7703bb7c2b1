//! Reporting facts, in the spirit of Chatwoot's `reporting_events`: what happened to a
//! conversation, when, and how long it took. Facts are derived from the conversation's
//! snapshots (routing's `ConversationChanged`) and from messages (channel's
//! `MessageAttached` / `MessageSent`), with a small per-conversation [`Tracked`] state.
//!
//! Pure: no transport or storage types. Every fact carries an `occurrence` (which assignment,
//! which transfer, which waiting period it is about), so the same happening seen in two events
//! is one fact (the store keeps `(organization, conversation, kind, occurrence)` unique), and
//! redelivered events are skipped by event id before they get here.

use serde::{Deserialize, Serialize};

/// What a fact counts or measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactKind {
    /// A conversation was created (at its creation instant).
    Started,
    /// A conversation was assigned (offered) to an agent.
    Assigned,
    /// Closed by an agent or admin.
    Closed,
    /// Expired (24 hours without a customer message).
    Expired,
    /// Transferred (to a team or an agent); the agent is the one it was taken from.
    Transferred,
    /// An offer was not opened in time; the agent is the one that let it run out.
    OfferTimedOut,
    /// Creation or hand-off → first agent message.
    FirstResponse,
    /// Customer's waiting-since → agent's answer.
    ReplyTime,
    /// Creation → close.
    Resolution,
    /// Queued (or created) → assigned.
    QueueWait,
}

impl FactKind {
    pub const ALL: [FactKind; 10] = [
        Self::Started,
        Self::Assigned,
        Self::Closed,
        Self::Expired,
        Self::Transferred,
        Self::OfferTimedOut,
        Self::FirstResponse,
        Self::ReplyTime,
        Self::Resolution,
        Self::QueueWait,
    ];

    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "conversation_started",
            Self::Assigned => "conversation_assigned",
            Self::Closed => "conversation_closed",
            Self::Expired => "conversation_expired",
            Self::Transferred => "conversation_transferred",
            Self::OfferTimedOut => "offer_timed_out",
            Self::FirstResponse => "first_response",
            Self::ReplyTime => "reply_time",
            Self::Resolution => "resolution",
            Self::QueueWait => "queue_wait",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether its value is a duration (otherwise it is only counted).
    pub fn is_duration(self) -> bool {
        matches!(
            self,
            Self::FirstResponse | Self::ReplyTime | Self::Resolution | Self::QueueWait
        )
    }
}

/// Who and where a fact is about (empty strings: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dimensions {
    pub team_id: String,
    pub agent_id: String,
    pub channel_account_id: String,
    pub campaign_id: String,
}

/// One fact, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub kind: FactKind,
    /// Which happening of that kind in the conversation (an assignment's instant, a transfer's
    /// number, a waiting period's start; 0 for once-only facts).
    pub occurrence: i64,
    /// When it happened, Unix milliseconds (the end of a measured span).
    pub instant_ms: i64,
    /// For durations, the span `[from_ms, instant_ms)` measured; `None` for counts.
    pub from_ms: Option<i64>,
    pub dimensions: Dimensions,
}

impl Fact {
    /// The measured duration in milliseconds (0 for counts; never negative: clocks of
    /// WhatsApp and ours may disagree by a little).
    pub fn value_ms(&self) -> i64 {
        self.from_ms.map_or(0, |f| (self.instant_ms - f).max(0))
    }
}

/// A conversation's state as routing reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    #[default]
    Unknown,
    Queued,
    Assigned,
    Open,
    Closed,
    Expired,
}

/// Why its last transition happened (only those reports care about).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cause {
    #[default]
    Other,
    Transferred,
    OfferTimeout,
}

/// A conversation's snapshot after one change (routing's `ConversationChanged`).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub state: State,
    pub cause: Cause,
    pub holder: String,
    pub previous_holder: String,
    pub team_id: String,
    pub channel_account_id: String,
    pub contact_id: String,
    pub campaign_id: String,
    pub version: i64,
    pub created_ms: i64,
    pub queued_ms: i64,
    pub changed_ms: i64,
    pub transfer_count: i64,
    pub assigned_ms: i64,
    pub ended_ms: i64,
}

/// What reporting remembers of one conversation between events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    /// The last snapshot version applied (0: only messages seen so far).
    pub version: i64,
    pub created_ms: Option<i64>,
    pub team_id: String,
    pub channel_account_id: String,
    pub campaign_id: String,
    pub contact_id: String,
    /// Since when it waits in a queue (last snapshot that was queued).
    pub queued_since_ms: Option<i64>,
    /// The last assignment seen: its instant and agent.
    pub last_assigned_ms: Option<i64>,
    pub last_agent: String,
    /// How many assignments were seen.
    pub assignments: i64,
    /// The assignment whose offer timeout was counted.
    pub timed_out_assignment_ms: Option<i64>,
    /// Transfers seen.
    pub transfers: i64,
    /// A first response is due, measured from this instant (creation or the last hand-off).
    pub response_start_ms: Option<i64>,
    /// The customer's first unanswered message.
    pub waiting_since_ms: Option<i64>,
    /// Whether its end (close or expiry) was counted.
    pub ended: bool,
}

impl Tracked {
    fn dims(&self, agent: &str) -> Dimensions {
        Dimensions {
            team_id: self.team_id.clone(),
            agent_id: agent.to_string(),
            channel_account_id: self.channel_account_id.clone(),
            campaign_id: self.campaign_id.clone(),
        }
    }

    /// Whether routing's snapshots of it were seen (messages alone do not tell its start).
    pub fn is_known(&self) -> bool {
        self.created_ms.is_some()
    }
}

/// The outcome of applying one event to a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub tracked: Tracked,
    pub facts: Vec<Fact>,
    /// It was seen for the first time (its contact's tags are due).
    pub started: bool,
}

/// Applies a routing snapshot. A snapshot older than what was applied changes nothing.
pub fn on_snapshot(previous: Option<Tracked>, s: &Snapshot) -> Applied {
    let mut t = previous.unwrap_or_default();
    if t.version >= s.version && t.is_known() {
        return Applied {
            tracked: t,
            ..Applied::default()
        };
    }
    let mut facts = Vec::new();
    let started = !t.is_known();
    let previous_team = std::mem::take(&mut t.team_id);
    t.version = s.version;
    t.team_id = s.team_id.clone();
    t.channel_account_id = s.channel_account_id.clone();
    t.campaign_id = s.campaign_id.clone();
    t.contact_id = s.contact_id.clone();
    if started {
        t.created_ms = Some(s.created_ms);
        t.response_start_ms = Some(s.created_ms);
        facts.push(Fact {
            kind: FactKind::Started,
            occurrence: 0,
            instant_ms: s.created_ms,
            from_ms: None,
            dimensions: t.dims(""),
        });
    }
    let created = t.created_ms.unwrap_or(s.created_ms);

    // An offer that ran out: the agent that held it is the previous holder.
    if s.cause == Cause::OfferTimeout
        && !s.previous_holder.is_empty()
        && s.previous_holder == t.last_agent
        && t.last_assigned_ms.is_some()
        && t.timed_out_assignment_ms != t.last_assigned_ms
    {
        t.timed_out_assignment_ms = t.last_assigned_ms;
        facts.push(Fact {
            kind: FactKind::OfferTimedOut,
            occurrence: t.last_assigned_ms.unwrap_or(0),
            instant_ms: s.changed_ms,
            from_ms: None,
            dimensions: t.dims(&s.previous_holder),
        });
    }

    // A transfer: counted once per transfer number; a hand-off restarts the first response.
    if s.transfer_count > t.transfers {
        let from_agent = if s.previous_holder.is_empty() {
            t.last_agent.clone()
        } else {
            s.previous_holder.clone()
        };
        // Counted for the team and agent it was taken from.
        let mut dimensions = t.dims(&from_agent);
        if !previous_team.is_empty() {
            dimensions.team_id = previous_team;
        }
        for n in t.transfers + 1..=s.transfer_count {
            facts.push(Fact {
                kind: FactKind::Transferred,
                occurrence: n,
                instant_ms: s.changed_ms,
                from_ms: None,
                dimensions: dimensions.clone(),
            });
        }
        t.transfers = s.transfer_count;
        if s.cause == Cause::Transferred {
            t.response_start_ms = Some(s.changed_ms);
        }
    }

    if s.state == State::Queued && s.queued_ms > 0 {
        t.queued_since_ms = Some(s.queued_ms);
    }

    // An assignment (offer): once per assigned instant.
    if matches!(s.state, State::Assigned | State::Open)
        && s.assigned_ms > 0
        && !s.holder.is_empty()
        && t.last_assigned_ms != Some(s.assigned_ms)
    {
        facts.push(Fact {
            kind: FactKind::Assigned,
            occurrence: s.assigned_ms,
            instant_ms: s.assigned_ms,
            from_ms: None,
            dimensions: t.dims(&s.holder),
        });
        let waited_from = t
            .queued_since_ms
            .take()
            .or((t.assignments == 0).then_some(created));
        if let Some(from) = waited_from {
            facts.push(Fact {
                kind: FactKind::QueueWait,
                occurrence: s.assigned_ms,
                instant_ms: s.assigned_ms,
                from_ms: Some(from.min(s.assigned_ms)),
                dimensions: t.dims(&s.holder),
            });
        }
        t.last_assigned_ms = Some(s.assigned_ms);
        t.last_agent = s.holder.clone();
        t.assignments += 1;
    }

    if matches!(s.state, State::Closed | State::Expired) && !t.ended && s.ended_ms > 0 {
        t.ended = true;
        let agent = if s.holder.is_empty() {
            s.previous_holder.clone()
        } else {
            s.holder.clone()
        };
        let closed = s.state == State::Closed;
        facts.push(Fact {
            kind: if closed {
                FactKind::Closed
            } else {
                FactKind::Expired
            },
            occurrence: 0,
            instant_ms: s.ended_ms,
            from_ms: None,
            dimensions: t.dims(&agent),
        });
        if closed {
            facts.push(Fact {
                kind: FactKind::Resolution,
                occurrence: 0,
                instant_ms: s.ended_ms,
                from_ms: Some(created),
                dimensions: t.dims(&agent),
            });
        }
        t.response_start_ms = None;
        t.waiting_since_ms = None;
    }
    Applied {
        tracked: t,
        facts,
        started,
    }
}

/// A customer message joined the conversation: it waits from there, unless it already did.
pub fn on_customer_message(previous: Option<Tracked>, message_ms: i64) -> Tracked {
    let mut t = previous.unwrap_or_default();
    if !t.ended && t.waiting_since_ms.is_none() {
        t.waiting_since_ms = Some(message_ms);
    }
    t
}

/// An agent sent a message in the conversation (which must be known): the first one after
/// creation or a hand-off is its first response (and answers the customer too); a later one
/// answering a waiting customer is a reply time. Chatwoot's definitions.
pub fn on_agent_message(previous: Tracked, agent: &str, sent_ms: i64) -> (Tracked, Vec<Fact>) {
    let mut t = previous;
    let mut facts = Vec::new();
    if let Some(start) = t.response_start_ms.take() {
        facts.push(Fact {
            kind: FactKind::FirstResponse,
            occurrence: start,
            instant_ms: sent_ms,
            from_ms: Some(start.min(sent_ms)),
            dimensions: t.dims(agent),
        });
        t.waiting_since_ms = None;
    } else if let Some(since) = t.waiting_since_ms.take() {
        facts.push(Fact {
            kind: FactKind::ReplyTime,
            occurrence: since,
            instant_ms: sent_ms,
            from_ms: Some(since.min(sent_ms)),
            dimensions: t.dims(agent),
        });
    }
    (t, facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(version: i64, state: State) -> Snapshot {
        Snapshot {
            state,
            version,
            created_ms: 1_000,
            changed_ms: 1_000,
            team_id: "team_a".into(),
            channel_account_id: "chacc_a".into(),
            ..Snapshot::default()
        }
    }

    fn kinds(facts: &[Fact]) -> Vec<FactKind> {
        facts.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn a_conversation_queued_then_assigned_counts_start_assignment_and_wait() {
        let mut s = snap(1, State::Queued);
        s.queued_ms = 1_000;
        let a = on_snapshot(None, &s);
        assert!(a.started);
        assert_eq!(kinds(&a.facts), [FactKind::Started]);
        let mut s = snap(2, State::Assigned);
        s.holder = "agt_a".into();
        s.assigned_ms = 61_000;
        s.changed_ms = 61_000;
        let b = on_snapshot(Some(a.tracked), &s);
        assert_eq!(kinds(&b.facts), [FactKind::Assigned, FactKind::QueueWait]);
        assert_eq!(b.facts[1].value_ms(), 60_000);
        // The same snapshot again (another event): nothing new.
        let mut again = s.clone();
        again.version = 3;
        assert!(on_snapshot(Some(b.tracked), &again).facts.is_empty());
    }

    #[test]
    fn an_offer_timeout_is_counted_once_for_the_agent_that_let_it_run_out() {
        let mut s = snap(1, State::Assigned);
        s.holder = "agt_a".into();
        s.assigned_ms = 2_000;
        let a = on_snapshot(None, &s);
        let mut s = snap(2, State::Assigned);
        s.cause = Cause::OfferTimeout;
        s.previous_holder = "agt_a".into();
        s.holder = "agt_b".into();
        s.assigned_ms = 5_000;
        s.changed_ms = 5_000;
        let b = on_snapshot(Some(a.tracked), &s);
        assert_eq!(
            kinds(&b.facts),
            [FactKind::OfferTimedOut, FactKind::Assigned]
        );
        assert_eq!(b.facts[0].dimensions.agent_id, "agt_a");
        // Only the first assignment waited (from creation).
        let mut later = s.clone();
        later.version = 3;
        assert!(on_snapshot(Some(b.tracked), &later).facts.is_empty());
    }

    #[test]
    fn first_response_then_reply_time_follow_chatwoot() {
        let a = on_snapshot(None, &snap(1, State::Open));
        let t = on_customer_message(Some(a.tracked), 1_500);
        let (t, f) = on_agent_message(t, "agt_a", 4_000);
        assert_eq!(kinds(&f), [FactKind::FirstResponse]);
        assert_eq!(f[0].value_ms(), 3_000);
        let t = on_customer_message(Some(t), 10_000);
        let t = on_customer_message(Some(t), 12_000);
        let (t, f) = on_agent_message(t, "agt_a", 15_000);
        assert_eq!(kinds(&f), [FactKind::ReplyTime]);
        assert_eq!(f[0].value_ms(), 5_000);
        // Nobody waits: an agent message measures nothing.
        assert!(on_agent_message(t, "agt_a", 16_000).1.is_empty());
    }

    #[test]
    fn a_transfer_restarts_the_first_response_and_a_close_measures_resolution() {
        let a = on_snapshot(None, &snap(1, State::Open));
        let (t, _) = on_agent_message(a.tracked, "agt_a", 2_000);
        let mut s = snap(2, State::Queued);
        s.cause = Cause::Transferred;
        s.transfer_count = 1;
        s.previous_holder = "agt_a".into();
        s.changed_ms = 9_000;
        s.queued_ms = 9_000;
        let b = on_snapshot(Some(t), &s);
        assert_eq!(kinds(&b.facts), [FactKind::Transferred]);
        let (t, f) = on_agent_message(b.tracked, "agt_b", 10_000);
        assert_eq!(
            (f[0].kind, f[0].value_ms()),
            (FactKind::FirstResponse, 1_000)
        );
        let mut s = snap(3, State::Closed);
        s.previous_holder = "agt_b".into();
        s.ended_ms = 21_000;
        let c = on_snapshot(Some(t), &s);
        assert_eq!(kinds(&c.facts), [FactKind::Closed, FactKind::Resolution]);
        assert_eq!(c.facts[1].value_ms(), 20_000);
        assert_eq!(c.facts[1].dimensions.agent_id, "agt_b");
    }
}
