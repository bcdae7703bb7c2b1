//! Campaign sends: a template to up to 1,000 contacts under a campaign id, so their replies
//! route to the campaign's team or agent. Recipients are checked and stored PENDING at once
//! (one per contact and send); a dispatcher sends them in the background, with retries.

use std::{collections::HashMap, time::Duration};

use serde::{Deserialize, Serialize};
use switchboard_runtime::{
    ids::{CampaignId, ContactId, MessageId, OrganizationId},
    paging::{Page, Paged},
};
use tokio_util::sync::CancellationToken;

use super::{Channel, send::outside_window};
use crate::{
    domain::{
        content::{Content, TemplateComponent, TemplateMessage},
        model::{ChannelAccount, Direction, Message, Sender, normalize_phone},
        status::Status,
    },
    error::{ChannelError, Reason},
    graph::GraphError,
    store::{idempotency, messages::MessageScope},
};

/// Most recipients per call.
pub const MAX_RECIPIENTS: usize = 1_000;
/// Attempts of a queued send before it is FAILED.
const MAX_ATTEMPTS: i32 = 5;

/// Who a campaign message goes to.
#[derive(Debug, Clone)]
pub enum Recipient {
    Contact(ContactId),
    Phone(String),
}

/// One recipient of a send, with its own parameters (empty: the send's).
#[derive(Debug, Clone)]
pub struct CampaignRecipient {
    pub recipient: Recipient,
    pub components: Vec<TemplateComponent>,
}

/// A campaign send.
#[derive(Debug, Clone)]
pub struct CampaignSend {
    pub request_id: String,
    pub org: OrganizationId,
    pub actor: Option<String>,
    pub campaign: CampaignId,
    pub template: TemplateMessage,
    pub recipients: Vec<CampaignRecipient>,
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientResult {
    pub index: i32,
    pub contact_id: String,
    /// "accepted", "duplicate" or "rejected".
    pub outcome: String,
    pub message_id: String,
    pub error: String,
}

impl Channel {
    /// Validates and queues a campaign send; see the module doc.
    pub async fn send_campaign(
        &self,
        send: CampaignSend,
    ) -> Result<Vec<RecipientResult>, ChannelError> {
        let org = &send.org;
        let key = "SendCampaign";
        if let Some(saved) = idempotency::recall(&self.store.db, org, key, &send.request_id).await?
        {
            return serde_json::from_str(&saved)
                .map_err(|_| crate::store::corrupt("campaign results", &saved));
        }
        self.require_supervisor(org, send.actor.as_deref()).await?;
        let campaign = self.routing.campaign(org, &send.campaign).await?;
        if campaign.archived {
            return Err(ChannelError::FailedPrecondition {
                reason: None,
                message: format!("campaign {} is archived", campaign.id),
                metadata: Default::default(),
            });
        }
        let account = self
            .store
            .account(org, &campaign.channel_account_id)
            .await?;
        if account.disabled {
            return Err(ChannelError::precondition(
                Reason::ChannelDisabled,
                format!("channel account {} is disabled", account.id),
            ));
        }
        // The template as the send names it must be sendable before anything is queued.
        let mut base = send.template.clone();
        self.check_template(org, &account.id, &mut base).await?;
        let now = self.clock.now_ms();
        let mut results = Vec::with_capacity(send.recipients.len());
        for (index, recipient) in send.recipients.iter().enumerate() {
            let result = self
                .queue_recipient(&send, &account, &base, recipient, now)
                .await;
            let mut r = match result {
                Ok(r) => r,
                Err(ChannelError::InvalidArgument(v)) => RecipientResult {
                    index: 0,
                    contact_id: String::new(),
                    outcome: "rejected".into(),
                    message_id: String::new(),
                    error: v
                        .iter()
                        .map(|f| f.description.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                },
                Err(ChannelError::NotFound { what, id }) => RecipientResult {
                    index: 0,
                    contact_id: String::new(),
                    outcome: "rejected".into(),
                    message_id: String::new(),
                    error: format!("{what} {id} not found"),
                },
                Err(other) => return Err(other),
            };
            r.index = index as i32;
            results.push(r);
        }
        let saved = serde_json::to_string(&results).unwrap_or_default();
        idempotency::remember(&self.store.db, org, key, &send.request_id, &saved, now).await?;
        Ok(results)
    }

    async fn queue_recipient(
        &self,
        send: &CampaignSend,
        account: &ChannelAccount,
        base: &TemplateMessage,
        recipient: &CampaignRecipient,
        now: i64,
    ) -> Result<RecipientResult, ChannelError> {
        let org = &send.org;
        let contact = match &recipient.recipient {
            Recipient::Contact(id) => self.store.contact(org, id).await?,
            Recipient::Phone(phone) => {
                let phone = normalize_phone(phone).ok_or_else(|| {
                    ChannelError::field(
                        "phone_number",
                        "is not an E.164 number (+ and 8 to 15 digits)",
                    )
                })?;
                self.create_contact(
                    org,
                    None,
                    phone,
                    String::new(),
                    Default::default(),
                    Vec::new(),
                )
                .await?
                .0
            }
        };
        let mut template = base.clone();
        if !recipient.components.is_empty() {
            template.components = recipient.components.clone();
            self.check_template(org, &account.id, &mut template).await?;
        }
        let content = Content::Template(template);
        // Templates pass the window; kept as a guard should that rule change.
        self.store
            .window(org, &account.id, &contact.id)
            .await?
            .admits(&content, now)
            .map_err(outside_window)?;
        let message = Message {
            id: MessageId::generate(),
            organization_id: org.clone(),
            channel_account_id: account.id.clone(),
            contact_id: contact.id.clone(),
            conversation_id: None,
            direction: Direction::Outbound,
            wamid: None,
            sender: match &send.actor {
                Some(a) => Sender::Agent(a.clone()),
                None => Sender::System,
            },
            content,
            status: Status::Pending,
            errors: vec![],
            reply_to_wamid: None,
            reply_to_message_id: None,
            campaign_id: Some(send.campaign.clone()),
            provider_ms: None,
            created_ms: now,
            status_ms: now,
            deliver_ms: None,
            read_ms: None,
        };
        let key = format!("{}/{}", send.request_id, contact.id);
        let (stored, created) = self
            .store
            .insert_outbound(&message, &key, Some(now))
            .await?;
        Ok(RecipientResult {
            index: 0,
            contact_id: contact.id.to_string(),
            outcome: if created { "accepted" } else { "duplicate" }.into(),
            message_id: stored.id.to_string(),
            error: String::new(),
        })
    }

    /// A page of a campaign's messages, newest first, with the total.
    pub async fn campaign_messages(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        campaign: &CampaignId,
        statuses: Vec<Status>,
        page: &Page,
    ) -> Result<(Paged<Message>, u64), ChannelError> {
        self.require_supervisor(org, actor).await?;
        let scope = MessageScope::Campaign {
            campaign: campaign.clone(),
            statuses,
        };
        self.store.messages(org, &scope, true, page, true).await
    }

    /// One dispatcher pass: sends the queued messages that are due; returns how many it took.
    pub async fn dispatch_once(&self) -> Result<usize, ChannelError> {
        let now = self.clock.now_ms();
        let due = self.store.claim_due(now, 50, 60_000).await?;
        let taken = due.len();
        let mut accounts: HashMap<String, ChannelAccount> = HashMap::new();
        for (message, attempts) in due {
            let org = message.organization_id.clone();
            let key = message.channel_account_id.to_string();
            if !accounts.contains_key(&key) {
                let account = self.store.account(&org, &message.channel_account_id).await;
                match account {
                    Ok(a) => {
                        accounts.insert(key.clone(), a);
                    }
                    Err(err) => {
                        self.give_up(&message, &err.to_string()).await?;
                        continue;
                    }
                }
            }
            let Some(account) = accounts.get(&key) else {
                continue;
            };
            if account.disabled {
                self.give_up(&message, "the channel account is disabled")
                    .await?;
                continue;
            }
            let token = match self.secrets.token(&account.access_token_secret_ref) {
                Ok(t) => t,
                Err(err) => {
                    self.give_up(&message, &err.to_string()).await?;
                    continue;
                }
            };
            let contact = self.store.contact(&org, &message.contact_id).await?;
            let to = contact
                .wa_id
                .clone()
                .unwrap_or_else(|| contact.phone_number.trim_start_matches('+').to_string());
            let result = self
                .graph
                .send(
                    &token,
                    &account.phone_number_id,
                    &to,
                    &message.content,
                    None,
                )
                .await;
            let now = self.clock.now_ms();
            match result {
                Ok(wamid) => {
                    self.store.mark_sent(&org, &message.id, &wamid, now).await?;
                }
                Err(err @ GraphError::Unavailable { .. }) if attempts < MAX_ATTEMPTS => {
                    let backoff = 1_000i64 << attempts.clamp(0, 6);
                    tracing::warn!(message = %message.id, attempts, error = %err, "campaign send will be retried");
                    self.store
                        .retry_later(&org, &message.id, now + backoff)
                        .await?;
                }
                Err(err) => {
                    self.store
                        .mark_failed(&org, &message.id, &[super::send::provider_error(&err)], now)
                        .await?;
                }
            }
        }
        Ok(taken)
    }

    async fn give_up(&self, message: &Message, why: &str) -> Result<(), ChannelError> {
        let error = crate::domain::content::ProviderError {
            code: 0,
            title: "Not sent".into(),
            message: why.to_string(),
            details: String::new(),
        };
        self.store
            .mark_failed(
                &message.organization_id,
                &message.id,
                &[error],
                self.clock.now_ms(),
            )
            .await?;
        Ok(())
    }

    /// Runs the dispatcher every `interval` (at once again while it finds work) until `shutdown`.
    pub async fn run_dispatcher(self, interval: Duration, shutdown: CancellationToken) {
        loop {
            let busy = match self.dispatch_once().await {
                Ok(n) => n > 0,
                Err(err) => {
                    tracing::warn!(error = %err, "campaign dispatcher pass failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}
