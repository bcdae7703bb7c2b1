//! Ticketing's domain: tickets and their statuses, what an update changes (as recorded field
//! changes), who may do what, the close policy, and ticket references in customers' words.
//! Free of transport and storage types: the gRPC adapter and the store convert at the edges.

pub mod policy;
pub mod reference;

use serde::{Deserialize, Serialize};
use switchboard_runtime::ids::{AgentId, ContactId, TicketId};

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest description or comment, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most tags on a ticket, and the longest tag.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_CHARS: usize = 64;

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Pending,
    Solved,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Solved => "solved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Status::Open,
            "pending" => Status::Pending,
            "solved" => Status::Solved,
            "closed" => Status::Closed,
            _ => return None,
        })
    }
}

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "low" => Priority::Low,
            "normal" => Priority::Normal,
            "high" => Priority::High,
            "urgent" => Priority::Urgent,
            _ => return None,
        })
    }
}

/// An agent's role, as routing knows it (cumulative: admin ⊃ operator ⊃ agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Agent,
    Operator,
    Admin,
}

/// The kind of party that did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Agent,
    Contact,
    System,
    Service,
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
    #[serde(default)]
    pub display_name: String,
}

impl Actor {
    pub fn agent(id: &AgentId) -> Self {
        Self {
            kind: ActorKind::Agent,
            id: id.to_string(),
            display_name: String::new(),
        }
    }

    pub fn system(component: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: component.to_string(),
            display_name: String::new(),
        }
    }

    pub fn service(name: &str) -> Self {
        Self {
            kind: ActorKind::Service,
            id: name.to_string(),
            display_name: String::new(),
        }
    }
}

/// Who asked for a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Requester {
    pub contact_id: Option<ContactId>,
    pub name: String,
    pub email: String,
    pub phone_number: String,
}

/// A new ticket's fields, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub subject: String,
    pub description: String,
    pub requester: Requester,
    pub priority: Priority,
    pub assignee: Option<AgentId>,
    pub tags: Vec<String>,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub organization_id: String,
    pub number: i64,
    pub subject: String,
    pub description: String,
    pub requester: Requester,
    pub status: Status,
    pub priority: Priority,
    pub assignee: Option<AgentId>,
    pub tags: Vec<String>,
    pub created_by: Actor,
    pub linked_conversation_count: i32,
    pub create_ms: i64,
    pub update_ms: i64,
    pub solve_ms: Option<i64>,
    pub close_ms: Option<i64>,
}

/// The fields an update may set (each `Some` was named in the update mask).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub description: Option<String>,
    pub requester: Option<Requester>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee: Option<Option<AgentId>>,
    pub tags: Option<Vec<String>>,
}

/// One changed field, as recorded in an UPDATED action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old_value: String,
    pub new_value: String,
}

/// Why an update is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateRefused {
    /// A closed ticket only changes by being reopened (status to open or pending), alone.
    ClosedTicket,
    /// Reopening a closed ticket takes an operator or admin.
    ReopenNeedsOperator,
}

fn requester_text(r: &Requester) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &r.contact_id {
        parts.push(c.to_string());
    }
    for p in [&r.name, &r.email, &r.phone_number] {
        if !p.is_empty() {
            parts.push(p.clone());
        }
    }
    parts.join(" / ")
}

/// Applies `patch` to `ticket` at `now_ms` by an actor of `role` (`None` for internal callers,
/// who act with operator rights). Returns the changes (empty when nothing differs) or why it is
/// refused. Pure: the caller stores the result.
pub fn apply_patch(
    ticket: &mut Ticket,
    patch: &TicketPatch,
    role: Option<Role>,
    now_ms: i64,
) -> Result<Vec<FieldChange>, UpdateRefused> {
    if ticket.status == Status::Closed {
        let reopening = matches!(patch.status, Some(s) if s != Status::Closed);
        if !reopening {
            return Err(UpdateRefused::ClosedTicket);
        }
        if role.is_some_and(|r| r < Role::Operator) {
            return Err(UpdateRefused::ReopenNeedsOperator);
        }
    }
    let mut changes = Vec::new();
    let mut change = |field: &str, old: String, new: String| {
        if old != new {
            changes.push(FieldChange {
                field: field.into(),
                old_value: old,
                new_value: new,
            });
            true
        } else {
            false
        }
    };
    if let Some(s) = &patch.subject
        && change("subject", ticket.subject.clone(), s.clone())
    {
        ticket.subject = s.clone();
    }
    if let Some(d) = &patch.description
        && change("description", ticket.description.clone(), d.clone())
    {
        ticket.description = d.clone();
    }
    if let Some(r) = &patch.requester
        && change(
            "requester",
            requester_text(&ticket.requester),
            requester_text(r),
        )
    {
        ticket.requester = r.clone();
    }
    if let Some(p) = patch.priority
        && change(
            "priority",
            ticket.priority.as_str().into(),
            p.as_str().into(),
        )
    {
        ticket.priority = p;
    }
    if let Some(a) = &patch.assignee {
        let text = |a: &Option<AgentId>| a.as_ref().map(ToString::to_string).unwrap_or_default();
        if change("assignee_agent_id", text(&ticket.assignee), text(a)) {
            ticket.assignee = a.clone();
        }
    }
    if let Some(t) = &patch.tags
        && change("tags", ticket.tags.join(","), t.join(","))
    {
        ticket.tags = t.clone();
    }
    if let Some(s) = patch.status
        && change("status", ticket.status.as_str().into(), s.as_str().into())
    {
        ticket.status = s;
        match s {
            Status::Solved => ticket.solve_ms = Some(now_ms),
            Status::Closed => ticket.close_ms = Some(now_ms),
            Status::Open | Status::Pending => ticket.close_ms = None,
        }
    }
    if !changes.is_empty() {
        ticket.update_ms = now_ms.max(ticket.update_ms + 1);
    }
    Ok(changes)
}

/// Normalizes tags: trimmed, lowercase, deduplicated, order kept.
pub fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_lowercase();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// A ticket number as typed in a search box ("123", "#123", " # 123 "), if the query is one.
pub fn query_number(query: &str) -> Option<i64> {
    let q = query.trim();
    let q = q.strip_prefix('#').unwrap_or(q).trim();
    if q.is_empty() || q.len() > 15 || !q.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    q.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(status: Status) -> Ticket {
        Ticket {
            id: TicketId::generate(),
            organization_id: "org_1".into(),
            number: 1,
            subject: "No anda".into(),
            description: String::new(),
            requester: Requester {
                name: "Ana".into(),
                ..Default::default()
            },
            status,
            priority: Priority::Normal,
            assignee: None,
            tags: vec![],
            created_by: Actor::system("test"),
            linked_conversation_count: 0,
            create_ms: 10,
            update_ms: 10,
            solve_ms: None,
            close_ms: None,
        }
    }

    #[test]
    fn every_changed_field_is_recorded_from_and_to() {
        let mut t = ticket(Status::Open);
        let patch = TicketPatch {
            subject: Some("No anda nada".into()),
            priority: Some(Priority::High),
            status: Some(Status::Solved),
            tags: Some(vec!["vip".into()]),
            description: Some(String::new()),
            ..Default::default()
        };
        let changes = apply_patch(&mut t, &patch, Some(Role::Agent), 20).expect("allowed");
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["subject", "priority", "tags", "status"]);
        assert_eq!(changes[3].old_value, "open");
        assert_eq!(changes[3].new_value, "solved");
        assert_eq!(t.solve_ms, Some(20));
        assert_eq!(t.update_ms, 20);
    }

    #[test]
    fn a_closed_ticket_changes_only_by_an_operator_reopening_it() {
        let mut t = ticket(Status::Closed);
        let edit = TicketPatch {
            subject: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(
            apply_patch(&mut t, &edit, Some(Role::Admin), 20),
            Err(UpdateRefused::ClosedTicket)
        );
        let reopen = TicketPatch {
            status: Some(Status::Open),
            ..Default::default()
        };
        assert_eq!(
            apply_patch(&mut t, &reopen, Some(Role::Agent), 20),
            Err(UpdateRefused::ReopenNeedsOperator)
        );
        let changes = apply_patch(&mut t, &reopen, Some(Role::Operator), 20).expect("reopened");
        assert_eq!(changes.len(), 1);
        assert_eq!(t.status, Status::Open);
        assert_eq!(t.close_ms, None);
    }

    #[test]
    fn an_update_that_changes_nothing_records_nothing() {
        let mut t = ticket(Status::Open);
        let patch = TicketPatch {
            subject: Some("No anda".into()),
            ..Default::default()
        };
        assert!(
            apply_patch(&mut t, &patch, None, 20)
                .expect("allowed")
                .is_empty()
        );
        assert_eq!(t.update_ms, 10);
    }

    #[test]
    fn numbers_are_recognized_with_or_without_hash() {
        assert_eq!(query_number("7"), Some(7));
        assert_eq!(query_number("#7"), Some(7));
        assert_eq!(query_number(" # 123 "), Some(123));
        assert_eq!(query_number("7 días"), None);
        assert_eq!(query_number("#0"), None);
        assert_eq!(query_number("cancelación"), None);
    }
}

/// What a ticket action records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Created,
    PublicComment,
    InternalNote,
    Updated,
    ConversationLinked,
    ConversationUnlinked,
    ConversationHistory,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Created => "created",
            ActionKind::PublicComment => "public_comment",
            ActionKind::InternalNote => "internal_note",
            ActionKind::Updated => "updated",
            ActionKind::ConversationLinked => "conversation_linked",
            ActionKind::ConversationUnlinked => "conversation_unlinked",
            ActionKind::ConversationHistory => "conversation_history",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => ActionKind::Created,
            "public_comment" => ActionKind::PublicComment,
            "internal_note" => ActionKind::InternalNote,
            "updated" => ActionKind::Updated,
            "conversation_linked" => ActionKind::ConversationLinked,
            "conversation_unlinked" => ActionKind::ConversationUnlinked,
            "conversation_history" => ActionKind::ConversationHistory,
            _ => return None,
        })
    }
}

/// One line of an appended transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub message_id: String,
    pub sender: Actor,
    pub send_ms: i64,
    pub text: String,
}

/// A conversation's messages as they were when it closed or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    pub conversation_id: String,
    pub channel_account_id: String,
    pub contact_id: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub closed_by: Option<Actor>,
    pub entries: Vec<TranscriptEntry>,
}

impl Transcript {
    /// The words search finds the ticket by.
    pub fn search_text(&self) -> String {
        self.entries
            .iter()
            .map(|e| e.text.as_str())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub id: switchboard_runtime::ids::TicketActionId,
    pub ticket_id: TicketId,
    pub kind: ActionKind,
    pub actor: Actor,
    pub body: String,
    pub changes: Vec<FieldChange>,
    pub conversation_id: Option<String>,
    pub transcript: Option<Transcript>,
    pub create_ms: i64,
}

impl Action {
    pub fn new(ticket: &TicketId, kind: ActionKind, actor: &Actor, now_ms: i64) -> Self {
        Self {
            id: switchboard_runtime::ids::TicketActionId::generate(),
            ticket_id: ticket.clone(),
            kind,
            actor: actor.clone(),
            body: String::new(),
            changes: Vec::new(),
            conversation_id: None,
            transcript: None,
            create_ms: now_ms,
        }
    }

    /// The words of this action that search finds its ticket by (comments and histories).
    pub fn search_text(&self) -> String {
        match self.kind {
            ActionKind::PublicComment | ActionKind::InternalNote => self.body.clone(),
            ActionKind::ConversationHistory => self
                .transcript
                .as_ref()
                .map(Transcript::search_text)
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

/// A conversation linked to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub ticket_id: TicketId,
    pub ticket_number: i64,
    pub conversation_id: String,
    pub contact_id: String,
    pub linked_by: Actor,
    pub create_ms: i64,
    pub history_append_ms: Option<i64>,
}

/// Where a proposal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalSource {
    CustomerMessage,
    InternalService,
}

impl ProposalSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalSource::CustomerMessage => "customer_message",
            ProposalSource::InternalService => "internal_service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer_message" => Some(Self::CustomerMessage),
            "internal_service" => Some(Self::InternalService),
            _ => None,
        }
    }
}

/// Where a proposal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalStatus {
    Proposed,
    Confirmed,
    Rejected,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Proposed => "proposed",
            ProposalStatus::Confirmed => "confirmed",
            ProposalStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "proposed" => Some(Self::Proposed),
            "confirmed" => Some(Self::Confirmed),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A ticket proposed for a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub id: switchboard_runtime::ids::TicketProposalId,
    pub conversation_id: String,
    pub contact_id: String,
    pub ticket_id: TicketId,
    pub ticket_number: i64,
    pub ticket_subject: String,
    pub source: ProposalSource,
    pub message_id: String,
    pub evidence: String,
    pub status: ProposalStatus,
    pub decided_by: Option<Actor>,
    pub create_ms: i64,
    pub decide_ms: Option<i64>,
}
