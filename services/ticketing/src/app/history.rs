//! A closed, finalized or expired conversation's history is appended to its linked ticket
//! exactly once: the messages are read from the channel service first, then ONE transaction
//! records the CONVERSATION_HISTORY action (a unique index allows one per conversation), marks
//! the link appended, records the triggering event as processed and enqueues `TicketChanged`.
//! A redelivery, a racing replica or a crash before the acknowledgement finds it done.

use switchboard_runtime::{
    ids::{ConversationId, EventId, OrganizationId},
    outbox::dedup,
};

use super::{Ticketing, ticket_changed};
use crate::{
    domain::{Action, ActionKind, Actor, Transcript},
    error::TicketingError,
};

/// What the caller knows of the conversation's end (routing's event or request).
#[derive(Debug, Clone, Default)]
pub struct Ending {
    /// chacc_ id of the conversation's number, when known.
    pub channel_account_id: String,
    pub closed_by: Option<Actor>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

/// What an append did.
#[derive(Debug, Clone)]
pub struct Appended {
    /// False when no ticket is linked.
    pub linked: bool,
    /// True when this call appended.
    pub appended: bool,
    pub action: Option<Action>,
}

impl Ticketing {
    /// Appends `conversation`'s history to its linked ticket once. `event`: the event that
    /// triggered it, recorded as processed by `group` in the same transaction.
    pub async fn append_history(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
        ending: Ending,
        event: Option<(&str, &EventId)>,
    ) -> Result<Appended, TicketingError> {
        let Some(link) = self
            .store
            .link(&self.store.db, org, conversation.as_str())
            .await?
        else {
            self.metrics
                .histories_appended
                .with_label_values(&["unlinked"])
                .inc();
            return Ok(Appended {
                linked: false,
                appended: false,
                action: None,
            });
        };
        if link.history_append_ms.is_some() {
            return self.already(org, conversation).await;
        }
        let entries = self.messages.transcript(org, conversation).await?;
        let transcript = Transcript {
            conversation_id: conversation.to_string(),
            channel_account_id: ending.channel_account_id.clone(),
            contact_id: link.contact_id.clone(),
            start_ms: ending.start_ms,
            end_ms: ending.end_ms,
            closed_by: ending.closed_by.clone(),
            entries,
        };
        let tx = self.store.begin().await?;
        if let Some((group, id)) = event
            && !dedup::first_delivery(&tx, group, id).await?
        {
            tx.rollback().await?;
            return self.already(org, conversation).await;
        }
        // Read again under the transaction: an unlink or another append may have committed.
        let Some(link) = self.store.link(&tx, org, conversation.as_str()).await? else {
            self.store.commit(tx).await?;
            return Ok(Appended {
                linked: false,
                appended: false,
                action: None,
            });
        };
        let mut ticket = self
            .store
            .ticket(&tx, org, &link.ticket_id)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket", &link.ticket_id))?;
        let actor = ending
            .closed_by
            .clone()
            .unwrap_or_else(|| Actor::system("ticketing.history"));
        let mut action = Action::new(
            &ticket.id,
            ActionKind::ConversationHistory,
            &actor,
            self.clock.now_ms(),
        );
        action.conversation_id = Some(conversation.to_string());
        action.transcript = Some(transcript);
        if !self.store.insert_action(&tx, org, &action).await?
            || !self
                .store
                .mark_appended(&tx, org, conversation.as_str(), action.create_ms)
                .await?
        {
            tx.rollback().await?;
            return self.already(org, conversation).await;
        }
        self.touch(&tx, &mut ticket).await?;
        self.store
            .enqueue(
                &tx,
                ticket_changed(&ticket, ActionKind::ConversationHistory, action.id.as_str()),
            )
            .await?;
        self.store.commit(tx).await?;
        self.metrics
            .histories_appended
            .with_label_values(&["appended"])
            .inc();
        Ok(Appended {
            linked: true,
            appended: true,
            action: Some(action),
        })
    }

    /// Checks `conversation` exists in the organization (another organization's is NOT_FOUND).
    pub async fn known_conversation(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
    ) -> Result<(), TicketingError> {
        self.directory
            .conversation(org, conversation)
            .await?
            .map(|_| ())
            .ok_or_else(|| TicketingError::not_found("conversation", conversation))
    }

    /// Checks `conversation` exists in the organization and has ended (closed or expired):
    /// its history is appended only then.
    pub async fn ended(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
    ) -> Result<super::directory::ConversationInfo, TicketingError> {
        let info = self
            .directory
            .conversation(org, conversation)
            .await?
            .ok_or_else(|| TicketingError::not_found("conversation", conversation))?;
        if info.end_ms.is_none() {
            return Err(TicketingError::FailedPrecondition {
                reason: Some(crate::error::Reason::ConversationState),
                message: "the conversation has not ended: its history is appended once it closes or expires".into(),
            });
        }
        Ok(info)
    }

    async fn already(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
    ) -> Result<Appended, TicketingError> {
        self.metrics
            .histories_appended
            .with_label_values(&["already"])
            .inc();
        let action = self
            .store
            .history_action(&self.store.db, org, conversation.as_str())
            .await?;
        Ok(Appended {
            linked: true,
            appended: false,
            action,
        })
    }
}
