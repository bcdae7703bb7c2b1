//! The webhook's write: every message and status of one POST body in one transaction, with
//! the contact upserts, the windows and the outbox events. Answering 200 only after this
//! commits is what makes an acknowledged message durable; the unique wamid is what makes a
//! redelivered one harmless.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait, sea_query::OnConflict,
};
use sha2::{Digest, Sha256};
use switchboard_runtime::tenancy::of_org;
use switchboard_runtime::{
    ids::{ChannelAccountId, ContactId, MessageId, OrganizationId},
    outbox::{self, NewEvent},
};

use super::{
    Store,
    contacts::InboundContact,
    entities::{messages as m, unmatched_webhooks as unmatched},
    messages::{StatusOutcome, StatusReport, apply_status, status_event, to_row},
};
use crate::{
    domain::{
        content::Content,
        model::{ChannelAccount, Direction, Message, Sender, phone_of_wa_id},
        status::Status,
        webhook::Change,
    },
    error::ChannelError,
};

/// What one webhook body did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    /// New messages stored.
    pub stored: usize,
    /// Messages already stored (redeliveries).
    pub duplicates: usize,
    /// Statuses that moved a message forward.
    pub statuses_advanced: usize,
    /// Statuses at or behind the message's current one.
    pub statuses_stale: usize,
    /// Statuses for a wamid not stored yet (kept until it is).
    pub statuses_early: usize,
    /// Changes for numbers no organization registered (kept for replay).
    pub unmatched: usize,
}

/// A campaign message the customer may be answering.
struct CampaignHint {
    campaign_id: String,
    message_id: String,
    sent_ms: i64,
}

impl Store {
    /// Stores one webhook body: `changes` each with the live account of its number (None: the
    /// number is unknown, and the raw body is kept instead).
    pub async fn ingest(
        &self,
        changes: &[(Option<ChannelAccount>, &Change)],
        raw_body: &[u8],
        now_ms: i64,
    ) -> Result<IngestOutcome, ChannelError> {
        let mut out = IngestOutcome::default();
        let txn = self.db.begin().await?;
        let mut wrote_events = false;
        for (account, change) in changes {
            let Some(account) = account else {
                keep_unmatched(&txn, &change.phone_number_id, raw_body, now_ms).await?;
                out.unmatched += 1;
                continue;
            };
            let org = &account.organization_id;
            // One lock order (by sender) across concurrent bodies: no deadlocks between them.
            let mut messages: Vec<_> = change.messages.iter().collect();
            messages.sort_by(|a, b| a.from.cmp(&b.from).then(a.wamid.cmp(&b.wamid)));
            for inbound in messages {
                let profile_name = change
                    .profiles
                    .iter()
                    .find(|p| p.wa_id == inbound.from)
                    .map_or("", |p| p.name.as_str());
                let phone_number =
                    phone_of_wa_id(&inbound.from).unwrap_or_else(|| format!("+{}", inbound.from));
                let message_ms = if inbound.timestamp_secs > 0 {
                    inbound.timestamp_secs.saturating_mul(1000)
                } else {
                    now_ms
                };
                let contact = Store::upsert_inbound_contact(
                    &txn,
                    &InboundContact {
                        org,
                        phone_number: &phone_number,
                        wa_id: &inbound.from,
                        profile_name,
                        message_ms,
                        now_ms,
                    },
                    &account.id,
                )
                .await?;
                let context_wamid = inbound.context.as_ref().map(|c| c.wamid.clone());
                let replied = match &context_wamid {
                    Some(w) => by_wamid(&txn, org, w).await?,
                    None => None,
                };
                let mut content = inbound.content.clone();
                let mut reaction_target = None;
                if let Content::Reaction(reaction) = &mut content
                    && let Some(target) = by_wamid(&txn, org, &reaction.wamid).await?
                {
                    reaction.message_id = target.id.clone();
                    reaction_target = Some(target);
                }
                let hint = match replied.as_ref().and_then(|r| {
                    r.campaign_id.clone().map(|campaign_id| CampaignHint {
                        campaign_id,
                        message_id: r.id.clone(),
                        sent_ms: r.created_ms,
                    })
                }) {
                    Some(h) => Some(h),
                    None => latest_campaign_message(&txn, org, &account.id, &contact).await?,
                };
                let message = Message {
                    id: MessageId::generate(),
                    organization_id: org.clone(),
                    channel_account_id: account.id.clone(),
                    contact_id: contact.clone(),
                    // A reaction joins the conversation of the message it reacts to.
                    conversation_id: reaction_target
                        .as_ref()
                        .and_then(|t| t.conversation_id.as_ref())
                        .and_then(|c| c.parse().ok()),
                    direction: Direction::Inbound,
                    wamid: Some(inbound.wamid.clone()),
                    sender: Sender::Contact(contact.clone()),
                    content,
                    status: Status::Received,
                    errors: inbound.errors.clone(),
                    reply_to_wamid: context_wamid,
                    reply_to_message_id: replied.as_ref().and_then(|r| r.id.parse().ok()),
                    campaign_id: None,
                    provider_ms: Some(message_ms),
                    created_ms: now_ms,
                    status_ms: now_ms,
                    deliver_ms: None,
                    read_ms: None,
                };
                let inserted = m::Entity::insert(to_row(&message, None, None))
                    .on_conflict(OnConflict::column(m::Column::Wamid).do_nothing().to_owned())
                    .exec_without_returning(&txn)
                    .await?;
                if inserted == 0 {
                    out.duplicates += 1;
                    continue;
                }
                out.stored += 1;
                wrote_events = true;
                outbox::enqueue(
                    &txn,
                    NewEvent::typed(
                        org.to_string(),
                        message.id.to_string(),
                        &switchboard_proto::channel::v1::MessageReceived {
                            message_id: message.id.to_string(),
                            channel_account_id: account.id.to_string(),
                            contact_id: contact.to_string(),
                            wamid: inbound.wamid.clone(),
                            message_ms,
                            kind: message.content.kind_name().to_string(),
                            conversation_id: message
                                .conversation_id
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default(),
                            routable: !account.disabled
                                && !matches!(message.content, Content::Reaction(_)),
                            campaign_id: hint
                                .as_ref()
                                .map(|h| h.campaign_id.to_string())
                                .unwrap_or_default(),
                            campaign_sent_ms: hint.as_ref().map_or(0, |h| h.sent_ms),
                            campaign_message_id: hint
                                .as_ref()
                                .map(|h| h.message_id.to_string())
                                .unwrap_or_default(),
                        },
                    ),
                )
                .await?;
            }
            for status in &change.statuses {
                let report = StatusReport {
                    wamid: status.wamid.clone(),
                    status: status.status,
                    timestamp_ms: if status.timestamp_secs > 0 {
                        status.timestamp_secs.saturating_mul(1000)
                    } else {
                        now_ms
                    },
                    errors: status.errors.clone(),
                };
                let (outcome, row) = apply_status(&txn, Some(org), &report, now_ms).await?;
                match outcome {
                    StatusOutcome::Advanced => {
                        out.statuses_advanced += 1;
                        if let Some(row) = row {
                            outbox::enqueue(&txn, status_event(&row)).await?;
                            wrote_events = true;
                        }
                    }
                    StatusOutcome::Stale => out.statuses_stale += 1,
                    StatusOutcome::Early => out.statuses_early += 1,
                }
            }
        }
        txn.commit().await?;
        if wrote_events {
            self.relay.wake();
        }
        Ok(out)
    }

    /// The live account of each change's number, in order.
    pub async fn accounts_of(
        &self,
        changes: &[Change],
    ) -> Result<Vec<Option<ChannelAccount>>, ChannelError> {
        let mut out: Vec<Option<ChannelAccount>> = Vec::with_capacity(changes.len());
        for change in changes {
            let known = out
                .iter()
                .flatten()
                .find(|a| a.phone_number_id == change.phone_number_id)
                .cloned();
            out.push(match known {
                Some(a) => Some(a),
                None => {
                    Store::account_by_phone_number_id(&self.db, &change.phone_number_id).await?
                }
            });
        }
        Ok(out)
    }
}

async fn by_wamid<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    wamid: &str,
) -> Result<Option<m::Model>, ChannelError> {
    Ok(of_org::<m::Entity>(org)
        .filter(m::Column::Wamid.eq(wamid))
        .one(conn)
        .await?)
}

/// The last campaign message sent to the contact from this number.
async fn latest_campaign_message<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    account: &ChannelAccountId,
    contact: &ContactId,
) -> Result<Option<CampaignHint>, ChannelError> {
    let row = of_org::<m::Entity>(org)
        .filter(m::Column::ContactId.eq(contact.as_str()))
        .filter(m::Column::ChannelAccountId.eq(account.as_str()))
        .filter(m::Column::Direction.eq(Direction::Outbound.as_str()))
        .filter(m::Column::CampaignId.is_not_null())
        .order_by_desc(m::Column::CreatedMs)
        .one(conn)
        .await?;
    Ok(row.and_then(|r| {
        r.campaign_id.map(|campaign_id| CampaignHint {
            campaign_id,
            message_id: r.id,
            sent_ms: r.created_ms,
        })
    }))
}

/// Keeps a body for a number nobody registered (once per number and body).
async fn keep_unmatched<C: ConnectionTrait>(
    conn: &C,
    phone_number_id: &str,
    raw_body: &[u8],
    now_ms: i64,
) -> Result<(), ChannelError> {
    let mut hasher = Sha256::new();
    hasher.update(phone_number_id.as_bytes());
    hasher.update(raw_body);
    let digest = hex::encode(hasher.finalize());
    unmatched::Entity::insert(unmatched::ActiveModel {
        id: Set(digest[..32].to_string()),
        phone_number_id: Set(phone_number_id.to_string()),
        received_ms: Set(now_ms),
        body: Set(String::from_utf8_lossy(raw_body).into_owned()),
    })
    .on_conflict(
        OnConflict::column(unmatched::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}
