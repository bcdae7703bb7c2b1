//! Proposed links: a customer's message naming a ticket of the organization, or an internal
//! service, proposes a ticket for a conversation; an agent confirms it (it becomes the link) or
//! rejects it (recorded). A proposal never satisfies the close rule by itself.

use sea_orm::DatabaseTransaction;
use switchboard_proto::ticketing::v1::LinkChange;
use switchboard_runtime::{
    ids::{ConversationId, OrganizationId, TicketId, TicketProposalId},
    paging::{Page, Paged},
};

use super::{Caller, Ticketing};
use crate::{
    domain::{Link, Proposal, ProposalSource, ProposalStatus},
    error::TicketingError,
};

/// What proposes a ticket.
#[derive(Debug, Clone)]
pub struct ProposalRequest {
    pub conversation: ConversationId,
    pub contact_id: String,
    pub ticket_number: i64,
    pub source: ProposalSource,
    pub message_id: String,
    pub evidence: String,
}

impl Ticketing {
    /// Proposes in `tx`; the existing proposal of the same conversation and ticket when there
    /// is one (`false`). NOT_FOUND when the number names no ticket of the organization.
    pub(crate) async fn propose_in(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        req: &ProposalRequest,
    ) -> Result<(Proposal, bool), TicketingError> {
        let ticket = self
            .store
            .ticket_by_number(tx, org, req.ticket_number)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket number", req.ticket_number))?;
        let conversation = req.conversation.as_str();
        if let Some(existing) = self
            .store
            .proposal_for(tx, org, conversation, &ticket.id)
            .await?
        {
            return Ok((existing, false));
        }
        if self
            .store
            .history_action(tx, org, conversation)
            .await?
            .is_some()
        {
            return Err(TicketingError::precondition(
                "the conversation's history was already appended to a ticket",
            ));
        }
        let proposal = Proposal {
            id: TicketProposalId::generate(),
            conversation_id: conversation.to_string(),
            contact_id: req.contact_id.clone(),
            ticket_id: ticket.id.clone(),
            ticket_number: ticket.number,
            ticket_subject: ticket.subject.clone(),
            source: req.source,
            message_id: req.message_id.clone(),
            evidence: req.evidence.clone(),
            status: ProposalStatus::Proposed,
            decided_by: None,
            create_ms: self.clock.now_ms(),
            decide_ms: None,
        };
        if !self.store.insert_proposal(tx, org, &proposal).await? {
            let existing = self
                .store
                .proposal_for(tx, org, conversation, &ticket.id)
                .await?
                .ok_or_else(|| {
                    TicketingError::ConcurrentUpdate("a proposal is being recorded; retry".into())
                })?;
            return Ok((existing, false));
        }
        self.link_event(
            tx,
            org,
            conversation,
            &ticket,
            LinkChange::Proposed,
            proposal.id.as_str(),
        )
        .await?;
        Ok((proposal, true))
    }

    /// `ProposeTicketLink`: an internal service proposes a ticket by number.
    pub async fn propose(
        &self,
        org: &OrganizationId,
        req: ProposalRequest,
    ) -> Result<Proposal, TicketingError> {
        let tx = self.store.begin().await?;
        let outcome = self.propose_in(&tx, org, &req).await;
        let source = req.source.as_str();
        match outcome {
            Ok((proposal, created)) => {
                self.store.commit(tx).await?;
                let label = if created { "proposed" } else { "existing" };
                self.metrics
                    .proposals
                    .with_label_values(&[source, label])
                    .inc();
                Ok(proposal)
            }
            Err(e) => {
                if matches!(e, TicketingError::NotFound { .. }) {
                    self.metrics
                        .proposals
                        .with_label_values(&[source, "unknown_number"])
                        .inc();
                }
                Err(e)
            }
        }
    }

    async fn decidable(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        id: &TicketProposalId,
    ) -> Result<Proposal, TicketingError> {
        let proposal = self
            .store
            .proposal(&self.store.db, org, id)
            .await?
            .ok_or_else(|| TicketingError::not_found("proposal", id))?;
        let conversation: ConversationId = proposal.conversation_id.parse().map_err(|_| {
            TicketingError::precondition("the proposal names no valid conversation")
        })?;
        self.may_handle(org, caller, &conversation).await?;
        if proposal.status != ProposalStatus::Proposed {
            return Err(TicketingError::precondition(format!(
                "the proposal was already {}",
                proposal.status.as_str()
            )));
        }
        Ok(proposal)
    }

    /// Confirms a proposal: it becomes the conversation's link.
    pub async fn confirm_proposal(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        id: &TicketProposalId,
    ) -> Result<(Proposal, Link), TicketingError> {
        let proposal = self.decidable(org, caller, id).await?;
        let conversation: ConversationId = proposal
            .conversation_id
            .parse()
            .map_err(|_| TicketingError::precondition("bad conversation"))?;
        let tx = self.store.begin().await?;
        let now = self.clock.now_ms();
        if !self
            .store
            .decide_proposal(&tx, org, id, ProposalStatus::Confirmed, &caller.actor, now)
            .await?
        {
            return Err(TicketingError::precondition(
                "the proposal was decided meanwhile",
            ));
        }
        let mut ticket = self
            .store
            .ticket(&tx, org, &proposal.ticket_id)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket", &proposal.ticket_id))?;
        let (link, _) = self
            .link_in(
                &tx,
                org,
                caller,
                (&conversation, &proposal.contact_id),
                &mut ticket,
                proposal.id.as_str(),
            )
            .await?;
        self.store.commit(tx).await?;
        self.metrics
            .proposals
            .with_label_values(&[proposal.source.as_str(), "confirmed"])
            .inc();
        self.metrics.links.with_label_values(&["linked"]).inc();
        let decided = self
            .store
            .proposal(&self.store.db, org, id)
            .await?
            .ok_or_else(|| TicketingError::not_found("proposal", id))?;
        Ok((decided, link))
    }

    /// Rejects a proposal (recorded with who and when).
    pub async fn reject_proposal(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        id: &TicketProposalId,
    ) -> Result<Proposal, TicketingError> {
        let proposal = self.decidable(org, caller, id).await?;
        let tx = self.store.begin().await?;
        let now = self.clock.now_ms();
        if !self
            .store
            .decide_proposal(&tx, org, id, ProposalStatus::Rejected, &caller.actor, now)
            .await?
        {
            return Err(TicketingError::precondition(
                "the proposal was decided meanwhile",
            ));
        }
        let ticket = self
            .store
            .ticket(&tx, org, &proposal.ticket_id)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket", &proposal.ticket_id))?;
        self.link_event(
            &tx,
            org,
            &proposal.conversation_id,
            &ticket,
            LinkChange::ProposalRejected,
            proposal.id.as_str(),
        )
        .await?;
        self.store.commit(tx).await?;
        self.metrics
            .proposals
            .with_label_values(&[proposal.source.as_str(), "rejected"])
            .inc();
        self.store
            .proposal(&self.store.db, org, id)
            .await?
            .ok_or_else(|| TicketingError::not_found("proposal", id))
    }

    pub async fn list_proposals(
        &self,
        org: &OrganizationId,
        ticket: Option<&TicketId>,
        conversations: &[String],
        statuses: &[ProposalStatus],
        page: &Page,
    ) -> Result<Paged<Proposal>, TicketingError> {
        Ok(self
            .store
            .proposals(org, ticket, conversations, statuses, page)
            .await?)
    }
}
