//! History: one message, a conversation's and a contact's messages, the 24-hour window, and
//! marking inbound messages read.

use switchboard_runtime::{
    ids::{ChannelAccountId, ContactId, ConversationId, MessageId, OrganizationId},
    paging::{Page, Paged},
};

use super::Channel;
use crate::{
    domain::{
        model::{Contact, Direction, Message},
        window::Window,
    },
    error::ChannelError,
    store::messages::{ConversationSummary, MessageScope},
};

/// A window as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowView {
    pub window: Window,
    pub now_ms: i64,
}

impl Channel {
    pub async fn message(
        &self,
        org: &OrganizationId,
        id: &MessageId,
    ) -> Result<Message, ChannelError> {
        self.store.message(org, id).await
    }

    /// A page of a conversation's messages (the caller must be able to see the conversation).
    pub async fn conversation_messages(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
        newest_first: bool,
        page: &Page,
    ) -> Result<Paged<Message>, ChannelError> {
        let scope = MessageScope::Conversation(conversation.clone());
        Ok(self
            .store
            .messages(org, &scope, newest_first, page, false)
            .await?
            .0)
    }

    /// What an inbox page shows of `conversations` and `contacts` (both of `org`).
    pub async fn inbox_details(
        &self,
        org: &OrganizationId,
        conversations: &[String],
        contacts: &[String],
    ) -> Result<(Vec<Contact>, Vec<ConversationSummary>), ChannelError> {
        let contacts = self.store.contacts_by_ids(org, contacts).await?;
        let summaries = self
            .store
            .conversation_summaries(org, conversations)
            .await?;
        Ok((contacts, summaries))
    }

    /// A page of a contact's messages across its conversations.
    pub async fn contact_messages(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        account: Option<ChannelAccountId>,
        newest_first: bool,
        page: &Page,
    ) -> Result<Paged<Message>, ChannelError> {
        self.store.contact(org, contact).await?;
        let scope = MessageScope::Contact {
            contact: contact.clone(),
            account,
        };
        Ok(self
            .store
            .messages(org, &scope, newest_first, page, false)
            .await?
            .0)
    }

    /// The window of a conversation's contact on its number.
    pub async fn conversation_window(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
    ) -> Result<WindowView, ChannelError> {
        let conv = self.routing.conversation(org, conversation, None).await?;
        self.contact_window(org, &conv.channel_account_id, &conv.contact_id)
            .await
    }

    /// The window of a contact on a number.
    pub async fn contact_window(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        contact: &ContactId,
    ) -> Result<WindowView, ChannelError> {
        self.store.account(org, account).await?;
        self.store.contact(org, contact).await?;
        Ok(WindowView {
            window: self.store.window(org, account, contact).await?,
            now_ms: self.clock.now_ms(),
        })
    }

    /// Marks an inbound message and the conversation's earlier ones read, on WhatsApp too.
    pub async fn mark_read(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        id: &MessageId,
    ) -> Result<u64, ChannelError> {
        let message = self.store.message(org, id).await?;
        if message.direction != Direction::Inbound {
            return Err(ChannelError::FailedPrecondition {
                reason: None,
                message: format!(
                    "message {id} is outbound: only customer messages are marked read"
                ),
                metadata: Default::default(),
            });
        }
        let Some(conversation) = message.conversation_id.clone() else {
            return Ok(0);
        };
        self.routing.conversation(org, &conversation, actor).await?;
        let marked = self
            .store
            .mark_inbound_read(org, &conversation, message.created_ms, self.clock.now_ms())
            .await?;
        if marked > 0
            && let Some(wamid) = &message.wamid
        {
            let account = self.store.account(org, &message.channel_account_id).await?;
            let token = self.secrets.token(&account.access_token_secret_ref)?;
            if let Err(err) = self
                .graph
                .mark_read(&token, &account.phone_number_id, wamid)
                .await
            {
                tracing::warn!(error = %err, %id, "marking read on WhatsApp failed; marked here");
            }
        }
        Ok(marked)
    }
}
