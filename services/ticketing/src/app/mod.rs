//! Ticketing's application logic over the store, routing (roles, conversation holders) and
//! the channel service (messages): one module per resource. Transport-free: the gRPC adapter
//! calls in with domain types; what an update changes is decided by `domain` functions, this
//! layer reads, authorizes and commits (each change with its action and outbox event in one
//! transaction).

pub mod channel;
pub mod consumers;
pub mod directory;
pub mod history;
pub mod links;
pub mod metrics;
pub mod policy;
pub mod proposals;
pub mod tickets;

use std::sync::Arc;

use switchboard_proto::ticketing::v1 as pb;
use switchboard_runtime::{
    clock::Clock,
    ids::{AgentId, ConversationId, OrganizationId},
    outbox::NewEvent,
};

use crate::{
    domain::{Actor, Role, Ticket},
    error::TicketingError,
    store::Store,
};
pub use metrics::TicketingMetrics;

/// The ticketing service's logic.
#[derive(Clone)]
pub struct Ticketing {
    pub(crate) store: Store,
    pub(crate) directory: Arc<dyn directory::Directory>,
    pub(crate) messages: Arc<dyn channel::Messages>,
    pub(crate) clock: Clock,
    pub(crate) metrics: TicketingMetrics,
}

/// Who calls: an agent (checked against routing) or an internal service (no agent).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub agent: Option<AgentId>,
    /// The agent's role; `None` for internal callers.
    pub role: Option<Role>,
}

impl Caller {
    /// An operator or admin, or an internal caller.
    pub fn supervises(&self) -> bool {
        self.role.is_none_or(|r| r >= Role::Operator)
    }
}

impl Ticketing {
    pub fn new(
        store: Store,
        directory: Arc<dyn directory::Directory>,
        messages: Arc<dyn channel::Messages>,
        clock: Clock,
        metrics: TicketingMetrics,
    ) -> Self {
        Self {
            store,
            directory,
            messages,
            clock,
            metrics,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Resolves the caller: an unknown or disabled agent of the organization is refused;
    /// no agent means an internal service named `service`.
    pub async fn caller(
        &self,
        org: &OrganizationId,
        agent: Option<&AgentId>,
        service: &str,
    ) -> Result<Caller, TicketingError> {
        let Some(agent) = agent else {
            return Ok(Caller {
                actor: Actor::service(service),
                agent: None,
                role: None,
            });
        };
        let role = self.directory.role(org, agent).await?.ok_or_else(|| {
            TicketingError::denied("the actor is not an agent of this organization")
        })?;
        Ok(Caller {
            actor: Actor::agent(agent),
            agent: Some(agent.clone()),
            role: Some(role),
        })
    }

    /// An agent caller (required): see [`Ticketing::caller`].
    pub async fn agent_caller(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Caller, TicketingError> {
        self.caller(org, Some(agent), "").await
    }

    /// Checks `caller` may act on `conversation`'s link: its holder, or an operator/admin.
    /// A conversation unknown in the organization is NOT_FOUND.
    pub async fn may_handle(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        conversation: &ConversationId,
    ) -> Result<directory::ConversationInfo, TicketingError> {
        let info = self
            .directory
            .conversation(org, conversation)
            .await?
            .ok_or_else(|| TicketingError::not_found("conversation", conversation))?;
        if caller.supervises() || (caller.agent.is_some() && info.holder == caller.agent) {
            return Ok(info);
        }
        Err(TicketingError::denied(
            "only the conversation's holder, an operator or an admin may change its ticket link",
        ))
    }
}

/// The `TicketChanged` event of an action on `ticket`.
pub(crate) fn ticket_changed(
    ticket: &Ticket,
    kind: crate::domain::ActionKind,
    action_id: &str,
) -> NewEvent {
    NewEvent::typed(
        ticket.organization_id.clone(),
        ticket.id.to_string(),
        &pb::TicketChanged {
            ticket_id: ticket.id.to_string(),
            number: ticket.number,
            status: crate::grpc::convert::status_to_proto(ticket.status) as i32,
            action: crate::grpc::convert::action_kind_to_proto(kind) as i32,
            action_id: action_id.to_string(),
        },
    )
}

impl Ticketing {
    /// Bumps `conversation`'s link version and writes its `TicketLinkChanged` in `tx`, with
    /// the conversation's whole ticket picture after the change (linked ticket, newest pending
    /// proposal), so a consumer applying only the newest version shows the right thing.
    pub(crate) async fn link_event(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        org: &OrganizationId,
        conversation: &str,
        ticket: &Ticket,
        change: pb::LinkChange,
        proposal_id: &str,
    ) -> Result<(), TicketingError> {
        let version = self.store.bump_version(tx, org, conversation).await?;
        let link = self.store.link(tx, org, conversation).await?;
        let pending = self.store.pending_proposal(tx, org, conversation).await?;
        let current = pb::ConversationTickets {
            linked_ticket_id: link
                .as_ref()
                .map(|l| l.ticket_id.to_string())
                .unwrap_or_default(),
            linked_ticket_number: link.as_ref().map_or(0, |l| l.ticket_number),
            proposal_id: pending
                .as_ref()
                .map(|p| p.id.to_string())
                .unwrap_or_default(),
            proposed_ticket_id: pending
                .as_ref()
                .map(|p| p.ticket_id.to_string())
                .unwrap_or_default(),
            proposed_ticket_number: pending.as_ref().map_or(0, |p| p.ticket_number),
        };
        self.store
            .enqueue(
                tx,
                NewEvent::typed(
                    org.to_string(),
                    conversation.to_string(),
                    &pb::TicketLinkChanged {
                        conversation_id: conversation.to_string(),
                        ticket_id: ticket.id.to_string(),
                        ticket_number: ticket.number,
                        change: change as i32,
                        proposal_id: proposal_id.to_string(),
                        version,
                        current: Some(current),
                    },
                ),
            )
            .await?;
        Ok(())
    }
}
