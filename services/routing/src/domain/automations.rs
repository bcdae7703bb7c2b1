//! Automatic messages: a number's configuration (out of hours, no agent available, all at
//! capacity, assigned), their templates with `{{variables}}`, and which messages a change of a
//! conversation triggers, each under a deterministic trigger key so that one trigger sends at
//! most one message whatever the redeliveries or replicas. Pure: the consumer in
//! `app::automations` reads the facts and sends.

use chrono::{DateTime, Utc};
use switchboard_hours::Schedule;
use switchboard_runtime::ids::{AgentId, ConversationId};

use super::{
    conversation::{Cause, Conversation, State},
    decision::{Decision, Outcome, Rule},
    string_enum,
};

/// Longest text of an automatic message (WhatsApp's limit for a text body).
pub const MAX_TEXT_CHARS: usize = 4096;

/// How many of a team's latest assignments the estimated wait is computed from.
pub const RECENT_WAITS: u64 = 20;

string_enum!(
    /// Which automatic message.
    Kind {
        OutOfHours = "out_of_hours",
        NoAgentAvailable = "no_agent_available",
        AllAtCapacity = "all_at_capacity",
        Assigned = "assigned",
    }
);

string_enum!(
    /// How often the out-of-hours message goes to a contact.
    Frequency {
        OncePerConversation = "once_per_conversation",
        OncePerDayPerContact = "once_per_day_per_contact",
    }
);

string_enum!(
    /// A template variable.
    Variable {
        ContactName = "contact_name",
        AgentName = "agent_name",
        QueuePosition = "queue_position",
        EstimatedWait = "estimated_wait",
    }
);

impl Kind {
    /// The variables its text may use.
    pub fn variables(self) -> &'static [Variable] {
        match self {
            Kind::OutOfHours => &[Variable::ContactName],
            Kind::NoAgentAvailable | Kind::AllAtCapacity => &[
                Variable::ContactName,
                Variable::QueuePosition,
                Variable::EstimatedWait,
            ],
            Kind::Assigned => &[Variable::ContactName, Variable::AgentName],
        }
    }
}

/// One automatic message's setting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub enabled: bool,
    pub text: String,
}

/// A number's automatic messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomaticMessages {
    pub out_of_hours: Message,
    pub out_of_hours_frequency: Frequency,
    pub no_agent_available: Message,
    pub all_at_capacity: Message,
    pub assigned: Message,
    pub skip_campaign_replies: bool,
    /// None when never configured.
    pub updated_ms: Option<i64>,
}

impl Default for AutomaticMessages {
    fn default() -> Self {
        Self {
            out_of_hours: Message::default(),
            out_of_hours_frequency: Frequency::OncePerConversation,
            no_agent_available: Message::default(),
            all_at_capacity: Message::default(),
            assigned: Message::default(),
            skip_campaign_replies: false,
            updated_ms: None,
        }
    }
}

impl AutomaticMessages {
    /// The setting of `kind`.
    pub fn message(&self, kind: Kind) -> &Message {
        match kind {
            Kind::OutOfHours => &self.out_of_hours,
            Kind::NoAgentAvailable => &self.no_agent_available,
            Kind::AllAtCapacity => &self.all_at_capacity,
            Kind::Assigned => &self.assigned,
        }
    }

    /// Every problem of the configuration as (field, description), fields named under
    /// `prefix` as in the API (`automatic_messages.assigned.text`).
    pub fn problems(&self, prefix: &str) -> Vec<(String, String)> {
        let mut bad = Vec::new();
        for kind in [
            Kind::OutOfHours,
            Kind::NoAgentAvailable,
            Kind::AllAtCapacity,
            Kind::Assigned,
        ] {
            let m = self.message(kind);
            let field = format!("{prefix}.{kind}.text");
            if m.enabled && m.text.trim().is_empty() {
                bad.push((
                    field.clone(),
                    "is required when the message is enabled".into(),
                ));
            }
            if m.text.chars().count() > MAX_TEXT_CHARS {
                bad.push((
                    field.clone(),
                    format!("must be at most {MAX_TEXT_CHARS} characters"),
                ));
            }
            if let Err(why) = check_template(&m.text, kind.variables()) {
                bad.push((field, why));
            }
        }
        bad
    }
}

/// The `{{name}}` placeholders of `text`, in order, with their byte ranges.
fn placeholders(text: &str) -> Result<Vec<(std::ops::Range<usize>, &str)>, String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let Some(close) = text[open + 2..].find("}}").map(|i| i + open + 2) else {
            return Err("has a {{ without its closing }}".into());
        };
        found.push((open..close + 2, text[open + 2..close].trim()));
        from = close + 2;
    }
    Ok(found)
}

/// Whether `text` uses only `allowed` variables (and well-formed placeholders).
pub fn check_template(text: &str, allowed: &[Variable]) -> Result<(), String> {
    for (_, name) in placeholders(text)? {
        match Variable::parse(name) {
            Some(v) if allowed.contains(&v) => {}
            Some(v) => {
                return Err(format!(
                    "uses {{{{{v}}}}}, which this message does not have (available: {})",
                    names(allowed)
                ));
            }
            None => {
                return Err(format!(
                    "uses the unknown variable {{{{{name}}}}} (available: {})",
                    names(allowed)
                ));
            }
        }
    }
    Ok(())
}

fn names(allowed: &[Variable]) -> String {
    allowed
        .iter()
        .map(|v| format!("{{{{{v}}}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `text` uses `variable` (so its value is worth looking up).
pub fn uses(text: &str, variable: Variable) -> bool {
    placeholders(text)
        .map(|p| p.iter().any(|(_, n)| Variable::parse(n) == Some(variable)))
        .unwrap_or(false)
}

/// The values a message is rendered with; a missing value renders empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub contact_name: Option<String>,
    pub agent_name: Option<String>,
    pub queue_position: Option<u64>,
    pub estimated_wait: Option<String>,
}

/// `text` with its variables replaced (validated templates only: anything else is kept as
/// written).
pub fn render(text: &str, values: &Values) -> String {
    let Ok(found) = placeholders(text) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, name) in found {
        out.push_str(&text[last..range.start]);
        match Variable::parse(name) {
            Some(Variable::ContactName) => {
                out.push_str(values.contact_name.as_deref().unwrap_or_default())
            }
            Some(Variable::AgentName) => {
                out.push_str(values.agent_name.as_deref().unwrap_or_default())
            }
            Some(Variable::QueuePosition) => {
                if let Some(p) = values.queue_position {
                    out.push_str(&p.to_string());
                }
            }
            Some(Variable::EstimatedWait) => {
                out.push_str(values.estimated_wait.as_deref().unwrap_or(UNKNOWN_WAIT))
            }
            None => out.push_str(&text[range.clone()]),
        }
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

/// What `{{estimated_wait}}` says when the team has no recent assignment to learn from.
pub const UNKNOWN_WAIT: &str = "—";

/// Below this a conversation did not wait: it was routed at once (the decision itself takes a
/// few milliseconds between queueing and assigning).
pub const MIN_WAIT_MS: i64 = 1000;

/// The estimated wait: the median of the recent queued→assigned waits (milliseconds) of
/// conversations that did wait (at least [`MIN_WAIT_MS`]); None without any.
pub fn estimated_wait_ms(waits: &[i64]) -> Option<i64> {
    let mut waited: Vec<i64> = waits
        .iter()
        .copied()
        .filter(|w| *w >= MIN_WAIT_MS)
        .collect();
    if waited.is_empty() {
        return None;
    }
    waited.sort_unstable();
    let mid = waited.len() / 2;
    Some(if waited.len() % 2 == 1 {
        waited[mid]
    } else {
        (waited[mid - 1] + waited[mid]) / 2
    })
}

/// A wait as people read it, rounded up to the minute: "1 min", "25 min", "1 h 5 min", "2 h".
pub fn wait_words(ms: i64) -> String {
    let minutes = ((ms.max(0) + 59_999) / 60_000).max(1);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Why a conversation waits, as its routing decision recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// Nobody it could go to was available.
    NoAgentAvailable,
    /// Someone was available, but every available one was at capacity.
    AllAtCapacity,
}

/// Why `decision` left its conversation waiting: None when it did not (assigned, waiting for
/// the owner), when it did not try any agent (the organization waiting list, a team that
/// distributes manually: agents pick from it, so nobody was found missing), or when an
/// available agent with room was passed over for another reason.
pub fn wait_reason(decision: &Decision) -> Option<WaitReason> {
    if decision.outcome != Outcome::Queued || decision.rule == Rule::WaitingList {
        return None;
    }
    let tried: Vec<_> = decision
        .detail
        .candidates
        .iter()
        .filter(|c| c.verdict != "not_linked")
        .collect();
    if decision.strategy == Some(super::config::Strategy::Manual) {
        return None;
    }
    let available: Vec<_> = tried.iter().filter(|c| c.status == "available").collect();
    if available.is_empty() {
        // No candidate at all (nobody linked and in the team) is "no agent available" too.
        let distributed = decision.detail.evaluations.iter().any(|e| {
            e.matched
                && !e.detail.contains("distributes manually")
                && !e.detail.contains("automatic distribution off")
        });
        return distributed.then_some(WaitReason::NoAgentAvailable);
    }
    available
        .iter()
        .all(|c| c.load >= c.capacity)
        .then_some(WaitReason::AllAtCapacity)
}

/// What a `routing.conversation.changed` event says (its fields as domain types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub conversation_id: ConversationId,
    pub state: State,
    pub cause: Option<Cause>,
    pub assignee: Option<AgentId>,
    pub previous: Option<AgentId>,
    pub version: i64,
}

/// What the event may trigger, before the facts each needs are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidate {
    /// A conversation created by a customer's message (out of hours?).
    Started,
    /// Left waiting by a routing decision (no agent, or all at capacity?).
    Waiting,
    /// Given to an agent.
    Assigned,
}

/// Which triggers an event may be: a conversation's creation (version 1, routed), a decision
/// that left it waiting (a new one, one transferred to a queue, one whose owner wait ran
/// out: not the requeues after a timeout or an agent going offline, which would repeat
/// the message), and an assignment to another agent than before.
pub fn candidates(changed: &Changed) -> Vec<Candidate> {
    let mut found = Vec::new();
    let Some(cause) = changed.cause else {
        return found;
    };
    if changed.version == 1 && cause == Cause::Routed {
        found.push(Candidate::Started);
    }
    if changed.state == State::Queued
        && matches!(
            cause,
            Cause::Routed | Cause::Transferred | Cause::OwnerWaitExpired
        )
    {
        found.push(Candidate::Waiting);
    }
    if changed.state == State::Assigned
        && changed.assignee.is_some()
        && changed.assignee != changed.previous
        && matches!(
            cause,
            Cause::Routed
                | Cause::SlotFreed
                | Cause::Transferred
                | Cause::OfferTimeout
                | Cause::AgentOffline
                | Cause::AgentDisabled
                | Cause::OwnerWaitExpired
        )
    {
        found.push(Candidate::Assigned);
    }
    found
}

/// The deterministic key of a trigger: the same trigger always has the same key, so it is
/// claimed once.
pub fn trigger_key(
    kind: Kind,
    conversation: &Conversation,
    version: i64,
    out_of_hours: Option<(Frequency, &Schedule)>,
    at: DateTime<Utc>,
) -> String {
    match (kind, out_of_hours) {
        (Kind::OutOfHours, Some((Frequency::OncePerDayPerContact, schedule))) => format!(
            "out_of_hours:{}:{}:{}",
            conversation.channel_account_id,
            conversation.contact_id,
            schedule.local_date(at)
        ),
        (Kind::OutOfHours, _) => format!("out_of_hours:{}", conversation.id),
        (Kind::NoAgentAvailable | Kind::AllAtCapacity, _) => {
            format!("waiting:{}:{version}", conversation.id)
        }
        (Kind::Assigned, _) => format!("assigned:{}:{version}", conversation.id),
    }
}

/// The channel request id a trigger's send uses: the same key, the same id, so channel's
/// idempotency absorbs a send repeated after a crash between claim and send.
pub fn request_id(key: &str) -> String {
    format!("auto:{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        config::{Strategy, Target},
        decision::{Candidate as Considered, DecisionDetail, Evaluation, Trigger},
    };
    use switchboard_runtime::ids::RoutingDecisionId;

    #[test]
    fn templates_accept_only_the_variables_of_their_message() {
        assert!(check_template("{{agent_name}} te atenderá", Kind::Assigned.variables()).is_ok());
        assert!(
            check_template(
                "Hola {{ contact_name }}, sos el #{{queue_position}} (~{{estimated_wait}})",
                Kind::AllAtCapacity.variables()
            )
            .is_ok()
        );
        let unknown =
            check_template("Hola {{nombre}}", Kind::OutOfHours.variables()).expect_err("unknown");
        assert!(unknown.contains("{{nombre}}"), "{unknown}");
        let unavailable = check_template("{{agent_name}}", Kind::OutOfHours.variables())
            .expect_err("no agent out of hours");
        assert!(unavailable.contains("does not have"), "{unavailable}");
        assert!(check_template("Hola {{contact_name", Kind::OutOfHours.variables()).is_err());
    }

    #[test]
    fn problems_name_the_field() {
        let config = AutomaticMessages {
            assigned: Message {
                enabled: true,
                text: "{{queue_position}}".into(),
            },
            out_of_hours: Message {
                enabled: true,
                text: "  ".into(),
            },
            ..Default::default()
        };
        let fields: Vec<String> = config.problems("m").into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["m.out_of_hours.text", "m.assigned.text"]);
        // A disabled message may keep an empty text.
        assert!(AutomaticMessages::default().problems("m").is_empty());
    }

    #[test]
    fn rendering_fills_every_variable() {
        let values = Values {
            contact_name: Some("Ana".into()),
            agent_name: Some("Lucía".into()),
            queue_position: Some(3),
            estimated_wait: None,
        };
        assert_eq!(
            render("{{agent_name}} te atenderá, {{contact_name}}", &values),
            "Lucía te atenderá, Ana"
        );
        assert_eq!(
            render(
                "Sos el #{{queue_position}} (espera: {{estimated_wait}})",
                &values
            ),
            "Sos el #3 (espera: —)"
        );
    }

    #[test]
    fn the_estimate_is_the_median_of_the_waits_that_waited() {
        assert_eq!(estimated_wait_ms(&[]), None);
        assert_eq!(estimated_wait_ms(&[0, 12, 999]), None, "routed at once");
        assert_eq!(
            estimated_wait_ms(&[0, 60_000, 180_000, 3_600_000]),
            Some(180_000)
        );
        assert_eq!(estimated_wait_ms(&[60_000, 120_000]), Some(90_000));
        assert_eq!(wait_words(1), "1 min");
        assert_eq!(wait_words(90_000), "2 min");
        assert_eq!(wait_words(3_600_000), "1 h");
        assert_eq!(wait_words(3_900_000), "1 h 5 min");
    }

    fn decision(strategy: Option<Strategy>, candidates: &[(&str, i32, i32)]) -> Decision {
        Decision {
            id: RoutingDecisionId::generate(),
            subject_id: "conv_x".into(),
            trigger: Trigger::New,
            rule: Rule::ChannelDefault,
            target: Target::None,
            strategy,
            outcome: Outcome::Queued,
            chosen_agent: None,
            reservation_id: None,
            explanation: String::new(),
            detail: DecisionDetail {
                evaluations: vec![Evaluation {
                    rule: "channel_default".into(),
                    matched: true,
                    detail: "team Soporte: no member is available with a free slot".into(),
                }],
                candidates: candidates
                    .iter()
                    .map(|(status, load, capacity)| Considered {
                        agent_id: "agt_x".into(),
                        name: String::new(),
                        status: (*status).into(),
                        load: *load,
                        capacity: *capacity,
                        last_assignment_ms: None,
                        verdict: String::new(),
                    })
                    .collect(),
                excluded: vec![],
            },
            created_ms: 0,
        }
    }

    #[test]
    fn the_decision_says_why_a_conversation_waits() {
        let least = Some(Strategy::LeastOpen);
        assert_eq!(
            wait_reason(&decision(least, &[("offline", 0, 3), ("away", 0, 3)])),
            Some(WaitReason::NoAgentAvailable)
        );
        assert_eq!(
            wait_reason(&decision(least, &[])),
            Some(WaitReason::NoAgentAvailable)
        );
        assert_eq!(
            wait_reason(&decision(least, &[("available", 3, 3), ("offline", 0, 3)])),
            Some(WaitReason::AllAtCapacity)
        );
        // Someone with room who was not chosen (excluded, lost a race): not either reason.
        assert_eq!(wait_reason(&decision(least, &[("available", 1, 3)])), None);
        assert_eq!(wait_reason(&decision(Some(Strategy::Manual), &[])), None);
        let mut assigned = decision(least, &[("available", 0, 3)]);
        assigned.outcome = Outcome::Assigned;
        assert_eq!(wait_reason(&assigned), None);
        let mut waiting_list = decision(None, &[]);
        waiting_list.rule = Rule::WaitingList;
        assert_eq!(wait_reason(&waiting_list), None);
    }

    fn changed(state: State, cause: Cause, version: i64, assignee: Option<AgentId>) -> Changed {
        Changed {
            conversation_id: ConversationId::generate(),
            state,
            cause: Some(cause),
            assignee,
            previous: None,
            version,
        }
    }

    #[test]
    fn which_changes_may_trigger_a_message() {
        let agent = AgentId::generate();
        assert_eq!(
            candidates(&changed(State::Queued, Cause::Routed, 1, None)),
            [Candidate::Started, Candidate::Waiting]
        );
        assert_eq!(
            candidates(&changed(
                State::Assigned,
                Cause::Routed,
                1,
                Some(agent.clone())
            )),
            [Candidate::Started, Candidate::Assigned]
        );
        assert_eq!(
            candidates(&changed(
                State::Assigned,
                Cause::SlotFreed,
                4,
                Some(agent.clone())
            )),
            [Candidate::Assigned]
        );
        // Opening keeps the holder; a requeue after a timeout does not repeat "waiting".
        let mut opened = changed(State::Open, Cause::Opened, 5, Some(agent.clone()));
        opened.previous = Some(agent.clone());
        assert!(candidates(&opened).is_empty());
        assert!(candidates(&changed(State::Queued, Cause::OfferTimeout, 3, None)).is_empty());
        let mut touched = changed(State::Queued, Cause::Routed, 2, None);
        touched.cause = None;
        assert!(candidates(&touched).is_empty());
    }
}
