//! Conversation links: one ticket per conversation, any number of conversations per ticket;
//! unlinking ends once the conversation's history was appended. Each change bumps the
//! conversation's link version and writes `TicketLinkChanged` in the same transaction.

use sea_orm::DatabaseTransaction;
use switchboard_proto::ticketing::v1::LinkChange;
use switchboard_runtime::{
    ids::{ConversationId, OrganizationId, TicketId},
    paging::{Page, Paged},
};

use super::{Caller, Ticketing, ticket_changed};
use crate::{
    domain::{Action, ActionKind, Link, NewTicket, Status, Ticket},
    error::TicketingError,
};

/// Which ticket a conversation is linked to.
#[derive(Debug, Clone)]
pub enum LinkTarget {
    Existing(TicketId),
    New(NewTicket),
}

impl Ticketing {
    /// Links `conversation` to `ticket` in `tx`. Already linked to it: the link as it is
    /// (`false`); linked to another: ALREADY_EXISTS.
    pub(crate) async fn link_in(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        caller: &Caller,
        (conversation, contact_id): (&ConversationId, &str),
        ticket: &mut Ticket,
        proposal_id: &str,
    ) -> Result<(Link, bool), TicketingError> {
        if let Some(existing) = self.store.link(tx, org, conversation.as_str()).await? {
            if existing.ticket_id == ticket.id {
                return Ok((existing, false));
            }
            return Err(TicketingError::AlreadyExists(format!(
                "the conversation is linked to ticket #{}: unlink it first",
                existing.ticket_number
            )));
        }
        if self
            .store
            .history_action(tx, org, conversation.as_str())
            .await?
            .is_some()
        {
            return Err(TicketingError::precondition(
                "the conversation's history was already appended to a ticket",
            ));
        }
        if ticket.status == Status::Closed {
            return Err(TicketingError::precondition(
                "the ticket is closed: reopen it first",
            ));
        }
        let now = self.clock.now_ms();
        let link = Link {
            ticket_id: ticket.id.clone(),
            ticket_number: ticket.number,
            conversation_id: conversation.to_string(),
            contact_id: contact_id.to_string(),
            linked_by: caller.actor.clone(),
            create_ms: now,
            history_append_ms: None,
        };
        self.store.insert_link(tx, org, &link).await.map_err(|e| {
            if switchboard_runtime::errors::is_unique_violation(&e) {
                // A concurrent link of the same conversation committed first.
                TicketingError::ConcurrentUpdate(
                    "the conversation was linked concurrently; read it again".into(),
                )
            } else {
                e.into()
            }
        })?;
        ticket.linked_conversation_count += 1;
        self.touch(tx, ticket).await?;
        let mut action = Action::new(
            &ticket.id,
            ActionKind::ConversationLinked,
            &caller.actor,
            now,
        );
        action.conversation_id = Some(conversation.to_string());
        self.store.insert_action(tx, org, &action).await?;
        self.link_event(
            tx,
            org,
            conversation.as_str(),
            ticket,
            LinkChange::Linked,
            proposal_id,
        )
        .await?;
        self.store
            .enqueue(
                tx,
                ticket_changed(ticket, ActionKind::ConversationLinked, action.id.as_str()),
            )
            .await?;
        Ok((link, true))
    }

    pub async fn link_conversation(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        conversation: &ConversationId,
        contact_id: Option<String>,
        target: LinkTarget,
    ) -> Result<(Link, Ticket), TicketingError> {
        let info = self.may_handle(org, caller, conversation).await?;
        let contact = contact_id.unwrap_or(info.contact_id);
        let tx = self.store.begin().await?;
        let (mut ticket, created) = match target {
            LinkTarget::Existing(id) => (
                self.store
                    .ticket(&tx, org, &id)
                    .await?
                    .ok_or_else(|| TicketingError::not_found("ticket", &id))?,
                false,
            ),
            LinkTarget::New(mut new) => {
                if new.requester.contact_id.is_none() {
                    new.requester.contact_id = contact.parse().ok();
                }
                (self.create_in(&tx, org, caller, new).await?, true)
            }
        };
        let (link, changed) = self
            .link_in(&tx, org, caller, (conversation, &contact), &mut ticket, "")
            .await?;
        if !changed {
            // Nothing to write: the conversation was linked to this ticket already.
            tx.rollback().await?;
            return Ok((link, ticket));
        }
        self.store.commit(tx).await?;
        if created {
            self.metrics.tickets_created.inc();
        }
        self.metrics.links.with_label_values(&["linked"]).inc();
        Ok((link, ticket))
    }

    pub async fn unlink_conversation(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        conversation: &ConversationId,
        ticket_id: &TicketId,
    ) -> Result<(), TicketingError> {
        self.may_handle(org, caller, conversation).await?;
        let tx = self.store.begin().await?;
        let Some(link) = self.store.link(&tx, org, conversation.as_str()).await? else {
            return Ok(());
        };
        if &link.ticket_id != ticket_id {
            return Err(TicketingError::not_found(
                "link of the conversation to ticket",
                ticket_id,
            ));
        }
        if link.history_append_ms.is_some() {
            return Err(TicketingError::precondition(
                "the conversation's history was appended to the ticket: it cannot be unlinked",
            ));
        }
        if !self
            .store
            .delete_link(&tx, org, conversation.as_str())
            .await?
        {
            return Err(TicketingError::ConcurrentUpdate(
                "the link changed concurrently; retry".into(),
            ));
        }
        let mut ticket = self
            .store
            .ticket(&tx, org, ticket_id)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket", ticket_id))?;
        ticket.linked_conversation_count = (ticket.linked_conversation_count - 1).max(0);
        self.touch(&tx, &mut ticket).await?;
        let now = self.clock.now_ms();
        let mut action = Action::new(
            &ticket.id,
            ActionKind::ConversationUnlinked,
            &caller.actor,
            now,
        );
        action.conversation_id = Some(conversation.to_string());
        self.store.insert_action(&tx, org, &action).await?;
        self.link_event(
            &tx,
            org,
            conversation.as_str(),
            &ticket,
            LinkChange::Unlinked,
            "",
        )
        .await?;
        self.store
            .enqueue(
                &tx,
                ticket_changed(
                    &ticket,
                    ActionKind::ConversationUnlinked,
                    action.id.as_str(),
                ),
            )
            .await?;
        self.store.commit(tx).await?;
        self.metrics.links.with_label_values(&["unlinked"]).inc();
        Ok(())
    }

    pub async fn list_links(
        &self,
        org: &OrganizationId,
        ticket: Option<&TicketId>,
        conversations: &[String],
        page: &Page,
    ) -> Result<Paged<Link>, TicketingError> {
        Ok(self.store.links(org, ticket, conversations, page).await?)
    }
}
