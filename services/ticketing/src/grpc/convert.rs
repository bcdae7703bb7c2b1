//! Domain ↔ proto conversions.

use switchboard_proto::{common::v1 as common, prost_types::Timestamp, ticketing::v1 as pb};

use crate::domain::{
    Action, ActionKind, Actor, ActorKind, Link, Priority, Proposal, ProposalSource, ProposalStatus,
    Requester, Status, Ticket, policy::ClosePolicy,
};

pub fn ts(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn ts_ms(t: &Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

pub fn status_to_proto(s: Status) -> pb::TicketStatus {
    match s {
        Status::Open => pb::TicketStatus::Open,
        Status::Pending => pb::TicketStatus::Pending,
        Status::Solved => pb::TicketStatus::Solved,
        Status::Closed => pb::TicketStatus::Closed,
    }
}

pub fn status_from_proto(s: i32) -> Option<Status> {
    match pb::TicketStatus::try_from(s).ok()? {
        pb::TicketStatus::Open => Some(Status::Open),
        pb::TicketStatus::Pending => Some(Status::Pending),
        pb::TicketStatus::Solved => Some(Status::Solved),
        pb::TicketStatus::Closed => Some(Status::Closed),
        pb::TicketStatus::Unspecified => None,
    }
}

pub fn priority_to_proto(p: Priority) -> pb::TicketPriority {
    match p {
        Priority::Low => pb::TicketPriority::Low,
        Priority::Normal => pb::TicketPriority::Normal,
        Priority::High => pb::TicketPriority::High,
        Priority::Urgent => pb::TicketPriority::Urgent,
    }
}

/// `None` for a value outside the enum; unspecified is NORMAL.
pub fn priority_from_proto(p: i32) -> Option<Priority> {
    Some(match pb::TicketPriority::try_from(p).ok()? {
        pb::TicketPriority::Unspecified | pb::TicketPriority::Normal => Priority::Normal,
        pb::TicketPriority::Low => Priority::Low,
        pb::TicketPriority::High => Priority::High,
        pb::TicketPriority::Urgent => Priority::Urgent,
    })
}

pub fn action_kind_to_proto(k: ActionKind) -> pb::TicketActionKind {
    match k {
        ActionKind::Created => pb::TicketActionKind::Created,
        ActionKind::PublicComment => pb::TicketActionKind::PublicComment,
        ActionKind::InternalNote => pb::TicketActionKind::InternalNote,
        ActionKind::Updated => pb::TicketActionKind::Updated,
        ActionKind::ConversationLinked => pb::TicketActionKind::ConversationLinked,
        ActionKind::ConversationUnlinked => pb::TicketActionKind::ConversationUnlinked,
        ActionKind::ConversationHistory => pb::TicketActionKind::ConversationHistory,
    }
}

pub fn action_kind_from_proto(k: i32) -> Option<ActionKind> {
    Some(match pb::TicketActionKind::try_from(k).ok()? {
        pb::TicketActionKind::Created => ActionKind::Created,
        pb::TicketActionKind::PublicComment => ActionKind::PublicComment,
        pb::TicketActionKind::InternalNote => ActionKind::InternalNote,
        pb::TicketActionKind::Updated => ActionKind::Updated,
        pb::TicketActionKind::ConversationLinked => ActionKind::ConversationLinked,
        pb::TicketActionKind::ConversationUnlinked => ActionKind::ConversationUnlinked,
        pb::TicketActionKind::ConversationHistory => ActionKind::ConversationHistory,
        pb::TicketActionKind::Unspecified => return None,
    })
}

pub fn actor(a: &Actor) -> common::Actor {
    common::Actor {
        kind: match a.kind {
            ActorKind::Agent => common::ActorKind::Agent,
            ActorKind::Contact => common::ActorKind::Contact,
            ActorKind::System => common::ActorKind::System,
            ActorKind::Service => common::ActorKind::Service,
        } as i32,
        id: a.id.clone(),
        display_name: a.display_name.clone(),
    }
}

pub fn requester(r: &Requester) -> pb::Requester {
    pb::Requester {
        contact_id: r
            .contact_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        name: r.name.clone(),
        email: r.email.clone(),
        phone_number: r.phone_number.clone(),
    }
}

pub fn ticket(t: &Ticket) -> pb::Ticket {
    pb::Ticket {
        id: t.id.to_string(),
        organization_id: t.organization_id.clone(),
        number: t.number,
        subject: t.subject.clone(),
        description: t.description.clone(),
        requester: Some(requester(&t.requester)),
        status: status_to_proto(t.status) as i32,
        priority: priority_to_proto(t.priority) as i32,
        assignee_agent_id: t
            .assignee
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        tags: t.tags.clone(),
        created_by: Some(actor(&t.created_by)),
        linked_conversation_count: t.linked_conversation_count,
        create_time: Some(ts(t.create_ms)),
        update_time: Some(ts(t.update_ms)),
        solve_time: t.solve_ms.map(ts),
        close_time: t.close_ms.map(ts),
    }
}

pub fn action(a: &Action) -> pb::TicketAction {
    pb::TicketAction {
        id: a.id.to_string(),
        ticket_id: a.ticket_id.to_string(),
        kind: action_kind_to_proto(a.kind) as i32,
        actor: Some(actor(&a.actor)),
        body: a.body.clone(),
        changes: a
            .changes
            .iter()
            .map(|c| pb::FieldChange {
                field: c.field.clone(),
                old_value: c.old_value.clone(),
                new_value: c.new_value.clone(),
            })
            .collect(),
        conversation_id: a.conversation_id.clone().unwrap_or_default(),
        transcript: a.transcript.as_ref().map(|t| pb::ConversationTranscript {
            conversation_id: t.conversation_id.clone(),
            channel_account_id: t.channel_account_id.clone(),
            contact_id: t.contact_id.clone(),
            start_time: t.start_ms.map(ts),
            end_time: t.end_ms.map(ts),
            closed_by: t.closed_by.as_ref().map(actor),
            entries: t
                .entries
                .iter()
                .map(|e| pb::TranscriptEntry {
                    message_id: e.message_id.clone(),
                    sender: Some(actor(&e.sender)),
                    send_time: Some(ts(e.send_ms)),
                    text: e.text.clone(),
                })
                .collect(),
        }),
        create_time: Some(ts(a.create_ms)),
    }
}

pub fn link(l: &Link) -> pb::TicketLink {
    pb::TicketLink {
        ticket_id: l.ticket_id.to_string(),
        ticket_number: l.ticket_number,
        conversation_id: l.conversation_id.clone(),
        contact_id: l.contact_id.clone(),
        linked_by: Some(actor(&l.linked_by)),
        create_time: Some(ts(l.create_ms)),
        history_append_time: l.history_append_ms.map(ts),
    }
}

pub fn proposal_status_from_proto(s: i32) -> Option<ProposalStatus> {
    match pb::ProposalStatus::try_from(s).ok()? {
        pb::ProposalStatus::Proposed => Some(ProposalStatus::Proposed),
        pb::ProposalStatus::Confirmed => Some(ProposalStatus::Confirmed),
        pb::ProposalStatus::Rejected => Some(ProposalStatus::Rejected),
        pb::ProposalStatus::Unspecified => None,
    }
}

pub fn proposal(p: &Proposal) -> pb::TicketProposal {
    pb::TicketProposal {
        id: p.id.to_string(),
        conversation_id: p.conversation_id.clone(),
        contact_id: p.contact_id.clone(),
        ticket_id: p.ticket_id.to_string(),
        ticket_number: p.ticket_number,
        ticket_subject: p.ticket_subject.clone(),
        source: match p.source {
            ProposalSource::CustomerMessage => pb::ProposalSource::CustomerMessage,
            ProposalSource::InternalService => pb::ProposalSource::InternalService,
        } as i32,
        message_id: p.message_id.clone(),
        evidence: p.evidence.clone(),
        status: match p.status {
            ProposalStatus::Proposed => pb::ProposalStatus::Proposed,
            ProposalStatus::Confirmed => pb::ProposalStatus::Confirmed,
            ProposalStatus::Rejected => pb::ProposalStatus::Rejected,
        } as i32,
        decided_by: p.decided_by.as_ref().map(actor),
        create_time: Some(ts(p.create_ms)),
        decide_time: p.decide_ms.map(ts),
    }
}

pub fn policy(p: &ClosePolicy) -> pb::ClosePolicy {
    pb::ClosePolicy {
        require_ticket: p.require_ticket,
        channel_account_ids: p
            .channel_account_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
        team_ids: p.team_ids.iter().map(ToString::to_string).collect(),
        update_time: (p.update_ms > 0).then(|| ts(p.update_ms)),
    }
}
