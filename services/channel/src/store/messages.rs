//! Messages: reads, outbound sends and their status, lists.

use std::collections::HashMap;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, TransactionTrait, sea_query::ExprTrait,
};
use switchboard_runtime::tenancy::{of_org, secure_find};
use switchboard_runtime::{
    errors::is_unique_violation,
    ids::{CampaignId, ChannelAccountId, ContactId, ConversationId, MessageId, OrganizationId},
    outbox::{self, NewEvent},
    paging::{Keyset, Page, Paged},
};

use super::{Store, corrupt, entities::early_statuses as early, entities::messages as m, parse_id};
use crate::{
    domain::{
        content::{Content, ProviderError},
        model::{Direction, Message, Sender},
        status::Status,
    },
    error::ChannelError,
};

pub(crate) fn from_row(row: m::Model) -> Result<Message, ChannelError> {
    let content: Content =
        serde_json::from_str(&row.content).map_err(|_| corrupt("content", &row.content))?;
    let errors: Vec<ProviderError> =
        serde_json::from_str(&row.errors).map_err(|_| corrupt("errors", &row.errors))?;
    let sender = match row.sender_kind.as_str() {
        "contact" => Sender::Contact(parse_id("contact id", &row.sender_id)?),
        "agent" => Sender::Agent(row.sender_id),
        _ => Sender::System,
    };
    Ok(Message {
        id: parse_id("message id", &row.id)?,
        organization_id: parse_id("organization id", &row.organization_id)?,
        channel_account_id: parse_id("channel account id", &row.channel_account_id)?,
        contact_id: parse_id("contact id", &row.contact_id)?,
        conversation_id: row
            .conversation_id
            .map(|c| parse_id("conversation id", &c))
            .transpose()?,
        direction: Direction::parse(&row.direction),
        wamid: row.wamid,
        sender,
        content,
        status: Status::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
        errors,
        reply_to_wamid: row.reply_to_wamid,
        reply_to_message_id: row
            .reply_to_message_id
            .map(|c| parse_id("message id", &c))
            .transpose()?,
        campaign_id: row
            .campaign_id
            .map(|c| parse_id("campaign id", &c))
            .transpose()?,
        provider_ms: row.provider_ms,
        created_ms: row.created_ms,
        status_ms: row.status_ms,
        deliver_ms: row.deliver_ms,
        read_ms: row.read_ms,
    })
}

pub(crate) fn to_row(
    msg: &Message,
    request_id: Option<&str>,
    next_attempt_ms: Option<i64>,
) -> m::ActiveModel {
    let (sender_kind, sender_id) = match &msg.sender {
        Sender::Contact(c) => ("contact", c.to_string()),
        Sender::Agent(a) => ("agent", a.clone()),
        Sender::System => ("system", String::new()),
    };
    m::ActiveModel {
        id: Set(msg.id.to_string()),
        organization_id: Set(msg.organization_id.to_string()),
        channel_account_id: Set(msg.channel_account_id.to_string()),
        contact_id: Set(msg.contact_id.to_string()),
        conversation_id: Set(msg.conversation_id.as_ref().map(ToString::to_string)),
        direction: Set(msg.direction.as_str().into()),
        wamid: Set(msg.wamid.clone()),
        request_id: Set(request_id.map(str::to_string)),
        sender_kind: Set(sender_kind.into()),
        sender_id: Set(sender_id),
        content_kind: Set(msg.content.kind_name().into()),
        content: Set(serde_json::to_string(&msg.content).unwrap_or_else(|_| "{}".into())),
        status: Set(msg.status.as_str().into()),
        status_rank: Set(msg.status.rank()),
        errors: Set(serde_json::to_string(&msg.errors).unwrap_or_else(|_| "[]".into())),
        reply_to_wamid: Set(msg.reply_to_wamid.clone()),
        reply_to_message_id: Set(msg.reply_to_message_id.as_ref().map(ToString::to_string)),
        campaign_id: Set(msg.campaign_id.as_ref().map(ToString::to_string)),
        provider_ms: Set(msg.provider_ms),
        created_ms: Set(msg.created_ms),
        status_ms: Set(msg.status_ms),
        deliver_ms: Set(msg.deliver_ms),
        read_ms: Set(msg.read_ms),
        attempts: Set(0),
        next_attempt_ms: Set(next_attempt_ms),
        claimed_until_ms: Set(0),
    }
}

/// A status report for a wamid (from a webhook or from the send itself).
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub wamid: String,
    pub status: Status,
    pub timestamp_ms: i64,
    pub errors: Vec<ProviderError>,
}

/// What a status report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The message moved forward.
    Advanced,
    /// The message was already at or past it.
    Stale,
    /// No message has this wamid yet: kept until the send that produces it stores it.
    Early,
}

/// Moves the message with `report.wamid` forward to `report.status`, if that is forward.
/// Conditional in SQL (`status_rank < new rank`), so concurrent and reordered reports converge
/// on the furthest status. `org` scopes it when known (webhooks name the number).
pub(crate) async fn apply_status<C: ConnectionTrait>(
    conn: &C,
    org: Option<&OrganizationId>,
    report: &StatusReport,
    now_ms: i64,
) -> Result<(StatusOutcome, Option<m::Model>), ChannelError> {
    let status = report.status;
    let mut update = m::Entity::update_many()
        .col_expr(m::Column::Status, status.as_str().into())
        .col_expr(m::Column::StatusRank, status.rank().into())
        .col_expr(m::Column::StatusMs, now_ms.into());
    let at = report.timestamp_ms;
    if matches!(status, Status::Delivered | Status::Read) {
        update = update.col_expr(
            m::Column::DeliverMs,
            sea_orm::sea_query::Func::coalesce([
                sea_orm::sea_query::Expr::col(m::Column::DeliverMs),
                sea_orm::sea_query::Expr::val(at),
            ])
            .into(),
        );
    }
    if status == Status::Read {
        update = update.col_expr(m::Column::ReadMs, at.into());
    }
    if status == Status::Failed {
        update = update.col_expr(
            m::Column::Errors,
            serde_json::to_string(&report.errors)
                .unwrap_or_else(|_| "[]".into())
                .into(),
        );
    }
    let mut filter = m::Column::Wamid
        .eq(report.wamid.as_str())
        .and(m::Column::StatusRank.lt(status.rank()))
        .and(m::Column::Status.ne(Status::Failed.as_str()));
    if let Some(org) = org {
        filter = filter.and(m::Column::OrganizationId.eq(org.as_str()));
    }
    let res = update.filter(filter).exec(conn).await?;
    let mut row_query = m::Entity::find().filter(m::Column::Wamid.eq(report.wamid.as_str()));
    if let Some(org) = org {
        row_query = row_query.filter(m::Column::OrganizationId.eq(org.as_str()));
    }
    let row = row_query.one(conn).await?;
    let outcome = match (&row, res.rows_affected) {
        (_, n) if n > 0 => StatusOutcome::Advanced,
        (Some(_), _) => StatusOutcome::Stale,
        (None, _) => {
            early::Entity::insert(early::ActiveModel {
                wamid: Set(report.wamid.clone()),
                status: Set(status.as_str().into()),
                timestamp_ms: Set(report.timestamp_ms),
                errors: Set(serde_json::to_string(&report.errors).unwrap_or_else(|_| "[]".into())),
                received_ms: Set(now_ms),
            })
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    early::Column::Wamid,
                    early::Column::Status,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
            StatusOutcome::Early
        }
    };
    Ok((outcome, row))
}

/// The event of a status change.
pub(crate) fn status_event(row: &m::Model) -> NewEvent {
    let status = Status::parse(&row.status).map_or(
        switchboard_proto::channel::v1::MessageStatus::Unspecified,
        crate::grpc::convert::status_to_pb,
    );
    NewEvent::typed(
        row.organization_id.clone(),
        row.id.clone(),
        &switchboard_proto::channel::v1::MessageStatusChanged {
            message_id: row.id.clone(),
            conversation_id: row.conversation_id.clone().unwrap_or_default(),
            channel_account_id: row.channel_account_id.clone(),
            status: status as i32,
        },
    )
}

/// The stored sender kind as the events' actor kind.
fn sender_kind_to_pb(kind: &str) -> switchboard_proto::common::v1::ActorKind {
    use switchboard_proto::common::v1::ActorKind;
    match kind {
        "agent" => ActorKind::Agent,
        "contact" => ActorKind::Contact,
        _ => ActorKind::System,
    }
}

/// Which messages a list covers.
#[derive(Debug, Clone)]
pub enum MessageScope {
    Conversation(ConversationId),
    Contact {
        contact: ContactId,
        account: Option<ChannelAccountId>,
    },
    Campaign {
        campaign: CampaignId,
        statuses: Vec<Status>,
    },
}

impl Store {
    /// One message.
    pub async fn message(
        &self,
        org: &OrganizationId,
        id: &MessageId,
    ) -> Result<Message, ChannelError> {
        let row = secure_find::<m::Entity, _>(org, id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| ChannelError::not_found("message", id))?;
        from_row(row)
    }

    /// The message an earlier send with this client request id stored.
    pub async fn message_by_request(
        &self,
        org: &OrganizationId,
        request_id: &str,
    ) -> Result<Option<Message>, ChannelError> {
        of_org::<m::Entity>(org)
            .filter(m::Column::RequestId.eq(request_id))
            .one(&self.db)
            .await?
            .map(from_row)
            .transpose()
    }

    /// Stores an outbound message as PENDING under its request id. When a message with that
    /// request id exists (a retried or concurrent call), returns it and false.
    pub async fn insert_outbound(
        &self,
        msg: &Message,
        request_id: &str,
        next_attempt_ms: Option<i64>,
    ) -> Result<(Message, bool), ChannelError> {
        let org = &msg.organization_id;
        if let Some(existing) = self.message_by_request(org, request_id).await? {
            return Ok((existing, false));
        }
        match m::Entity::insert(to_row(msg, Some(request_id), next_attempt_ms))
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => Ok((msg.clone(), true)),
            Err(err) if is_unique_violation(&err) => {
                let existing = self
                    .message_by_request(org, request_id)
                    .await?
                    .ok_or_else(|| ChannelError::Storage(err))?;
                Ok((existing, false))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Records WhatsApp's acceptance: the wamid, SENT, and any statuses that arrived before it;
    /// writes `channel.message.sent` (and a status event) in the same transaction.
    pub async fn mark_sent(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        wamid: &str,
        now_ms: i64,
    ) -> Result<Message, ChannelError> {
        let txn = self.db.begin().await?;
        m::Entity::update_many()
            .col_expr(m::Column::Wamid, wamid.into())
            .col_expr(m::Column::Status, Status::Sent.as_str().into())
            .col_expr(m::Column::StatusRank, Status::Sent.rank().into())
            .col_expr(m::Column::StatusMs, now_ms.into())
            .col_expr(m::Column::ProviderMs, now_ms.into())
            .col_expr(
                m::Column::NextAttemptMs,
                sea_orm::sea_query::Expr::value(Option::<i64>::None),
            )
            .filter(m::Column::Id.eq(id.as_str()))
            .filter(m::Column::OrganizationId.eq(org.as_str()))
            .filter(m::Column::Status.eq(Status::Pending.as_str()))
            .exec(&txn)
            .await?;
        let mut early_reports = early::Entity::find()
            .filter(early::Column::Wamid.eq(wamid))
            .all(&txn)
            .await?;
        early_reports.sort_by_key(|r| Status::parse(&r.status).map_or(0, Status::rank));
        for report in &early_reports {
            if let Some(status) = Status::parse(&report.status) {
                let report = StatusReport {
                    wamid: wamid.to_string(),
                    status,
                    timestamp_ms: report.timestamp_ms,
                    errors: serde_json::from_str(&report.errors).unwrap_or_default(),
                };
                apply_status(&txn, Some(org), &report, now_ms).await?;
            }
        }
        if !early_reports.is_empty() {
            early::Entity::delete_many()
                .filter(early::Column::Wamid.eq(wamid))
                .exec(&txn)
                .await?;
        }
        let row = secure_find::<m::Entity, _>(org, id.to_string())
            .one(&txn)
            .await?
            .ok_or_else(|| ChannelError::not_found("message", id))?;
        outbox::enqueue(
            &txn,
            NewEvent::typed(
                org.to_string(),
                id.to_string(),
                &switchboard_proto::channel::v1::MessageSent {
                    message_id: row.id.clone(),
                    conversation_id: row.conversation_id.clone().unwrap_or_default(),
                    channel_account_id: row.channel_account_id.clone(),
                    contact_id: row.contact_id.clone(),
                    sender_kind: sender_kind_to_pb(&row.sender_kind) as i32,
                    agent_id: row.sender_id.clone(),
                    sent_ms: now_ms,
                },
            ),
        )
        .await?;
        outbox::enqueue(&txn, status_event(&row)).await?;
        txn.commit().await?;
        self.relay.wake();
        from_row(row)
    }

    /// Records a failed send (final).
    pub async fn mark_failed(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        errors: &[ProviderError],
        now_ms: i64,
    ) -> Result<Message, ChannelError> {
        let txn = self.db.begin().await?;
        m::Entity::update_many()
            .col_expr(m::Column::Status, Status::Failed.as_str().into())
            .col_expr(m::Column::StatusRank, Status::Failed.rank().into())
            .col_expr(m::Column::StatusMs, now_ms.into())
            .col_expr(
                m::Column::Errors,
                serde_json::to_string(errors)
                    .unwrap_or_else(|_| "[]".into())
                    .into(),
            )
            .col_expr(
                m::Column::NextAttemptMs,
                sea_orm::sea_query::Expr::value(Option::<i64>::None),
            )
            .filter(m::Column::Id.eq(id.as_str()))
            .filter(m::Column::OrganizationId.eq(org.as_str()))
            .filter(m::Column::Status.eq(Status::Pending.as_str()))
            .exec(&txn)
            .await?;
        let row = secure_find::<m::Entity, _>(org, id.to_string())
            .one(&txn)
            .await?
            .ok_or_else(|| ChannelError::not_found("message", id))?;
        outbox::enqueue(&txn, status_event(&row)).await?;
        txn.commit().await?;
        self.relay.wake();
        from_row(row)
    }

    /// Attaches a message to its conversation (once).
    pub async fn set_conversation(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        conversation: &ConversationId,
    ) -> Result<(), ChannelError> {
        let txn = self.db.begin().await?;
        let attached = m::Entity::update_many()
            .col_expr(m::Column::ConversationId, conversation.as_str().into())
            .filter(m::Column::Id.eq(id.as_str()))
            .filter(m::Column::OrganizationId.eq(org.as_str()))
            .filter(m::Column::ConversationId.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        // A customer's message joining its conversation is announced once (the update above
        // matches only the first time), in the same transaction.
        let row = secure_find::<m::Entity, _>(org, id.to_string())
            .one(&txn)
            .await?;
        let message = match row {
            Some(row) if attached == 1 => Some(from_row(row)?),
            _ => None,
        };
        if let Some(message) = message.filter(|m| m.direction == Direction::Inbound) {
            outbox::enqueue(
                &txn,
                NewEvent::typed(
                    org.to_string(),
                    id.to_string(),
                    &switchboard_proto::channel::v1::MessageAttached {
                        message_id: id.to_string(),
                        conversation_id: conversation.to_string(),
                        channel_account_id: message.channel_account_id.to_string(),
                        contact_id: message.contact_id.to_string(),
                        kind: message.content.kind_name().to_string(),
                        text: message.content.words().to_string(),
                        message_ms: message.provider_ms.unwrap_or(message.created_ms),
                    },
                ),
            )
            .await?;
            txn.commit().await?;
            self.relay.wake();
            return Ok(());
        }
        txn.commit().await?;
        Ok(())
    }

    /// The conversation of the message with this wamid, if any.
    pub async fn conversation_of_wamid(
        &self,
        org: &OrganizationId,
        wamid: &str,
    ) -> Result<Option<ConversationId>, ChannelError> {
        let row = of_org::<m::Entity>(org)
            .filter(m::Column::Wamid.eq(wamid))
            .one(&self.db)
            .await?;
        row.and_then(|r| r.conversation_id)
            .map(|c| parse_id("conversation id", &c))
            .transpose()
    }

    fn scoped(org: &OrganizationId, scope: &MessageScope) -> Select<m::Entity> {
        let mut q = of_org::<m::Entity>(org);
        match scope {
            MessageScope::Conversation(c) => {
                q = q.filter(m::Column::ConversationId.eq(c.as_str()));
            }
            MessageScope::Contact { contact, account } => {
                q = q.filter(m::Column::ContactId.eq(contact.as_str()));
                if let Some(a) = account {
                    q = q.filter(m::Column::ChannelAccountId.eq(a.as_str()));
                }
            }
            MessageScope::Campaign { campaign, statuses } => {
                q = q
                    .filter(m::Column::CampaignId.eq(campaign.as_str()))
                    .filter(m::Column::Direction.eq(Direction::Outbound.as_str()));
                if !statuses.is_empty() {
                    q = q.filter(m::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
                }
            }
        }
        q
    }

    /// A page of messages in `scope`, oldest or newest first, and the total when asked.
    pub async fn messages(
        &self,
        org: &OrganizationId,
        scope: &MessageScope,
        newest_first: bool,
        page: &Page,
        with_total: bool,
    ) -> Result<(Paged<Message>, u64), ChannelError> {
        let query = Self::scoped(org, scope);
        let total = if with_total {
            query.clone().count(&self.db).await?
        } else {
            0
        };
        let keyset = if newest_first {
            Keyset::new(self.db.get_database_backend())
                .desc(m::Column::CreatedMs)
                .desc_text(m::Column::Id)
        } else {
            Keyset::new(self.db.get_database_backend())
                .asc(m::Column::CreatedMs)
                .asc_text(m::Column::Id)
        };
        let rows = keyset.apply(query, page).all(&self.db).await?;
        let messages = page
            .finish(rows, |r| vec![r.created_ms.into(), r.id.as_str().into()])
            .try_map(from_row)?;
        Ok((messages, total))
    }

    /// Marks the conversation's inbound messages up to `until_ms` read; returns how many.
    pub async fn mark_inbound_read(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<u64, ChannelError> {
        let res = m::Entity::update_many()
            .col_expr(m::Column::Status, Status::Read.as_str().into())
            .col_expr(m::Column::StatusRank, Status::Read.rank().into())
            .col_expr(m::Column::StatusMs, now_ms.into())
            .col_expr(m::Column::ReadMs, now_ms.into())
            .filter(m::Column::OrganizationId.eq(org.as_str()))
            .filter(m::Column::ConversationId.eq(conversation.as_str()))
            .filter(m::Column::Direction.eq(Direction::Inbound.as_str()))
            .filter(m::Column::Status.eq(Status::Received.as_str()))
            .filter(m::Column::CreatedMs.lte(until_ms))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected)
    }

    /// Claims up to `limit` queued outbound messages due at `now_ms` for `lease_ms` (campaign
    /// sends); each claim counts an attempt. Concurrent dispatchers never claim the same row:
    /// the claim is a conditional UPDATE on the lease.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        limit: u64,
        lease_ms: i64,
    ) -> Result<Vec<(Message, i32)>, ChannelError> {
        let candidates = m::Entity::find()
            .filter(m::Column::NextAttemptMs.lte(now_ms))
            .filter(m::Column::ClaimedUntilMs.lt(now_ms))
            .filter(m::Column::Status.eq(Status::Pending.as_str()))
            .order_by_asc(m::Column::NextAttemptMs)
            .limit(limit)
            .all(&self.db)
            .await?;
        let mut claimed = Vec::new();
        for row in candidates {
            let res = m::Entity::update_many()
                .col_expr(m::Column::ClaimedUntilMs, (now_ms + lease_ms).into())
                .col_expr(m::Column::Attempts, (row.attempts + 1).into())
                .filter(m::Column::Id.eq(row.id.as_str()))
                .filter(m::Column::ClaimedUntilMs.eq(row.claimed_until_ms))
                .filter(m::Column::Status.eq(Status::Pending.as_str()))
                .exec(&self.db)
                .await?;
            if res.rows_affected == 1 {
                let attempts = row.attempts + 1;
                claimed.push((from_row(row)?, attempts));
            }
        }
        Ok(claimed)
    }

    /// Puts a claimed message back for another attempt at `next_ms`.
    pub async fn retry_later(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        next_ms: i64,
    ) -> Result<(), ChannelError> {
        m::Entity::update_many()
            .col_expr(m::Column::NextAttemptMs, next_ms.into())
            .col_expr(m::Column::ClaimedUntilMs, 0i64.into())
            .filter(m::Column::Id.eq(id.as_str()))
            .filter(m::Column::OrganizationId.eq(org.as_str()))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// What an inbox row shows of one conversation's messages.
#[derive(Debug, Clone)]
pub struct ConversationSummary {
    pub conversation_id: String,
    pub last_message: Option<Message>,
    pub unanswered: i32,
}

impl Store {
    /// For each of `conversations` (of `org`) that has messages: its latest message and how many
    /// inbound messages came after its last outbound one. Two statements whatever the count,
    /// both on the `(organization_id, conversation_id, created_ms)` index.
    pub async fn conversation_summaries(
        &self,
        org: &OrganizationId,
        conversations: &[String],
    ) -> Result<Vec<ConversationSummary>, ChannelError> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.db.get_database_backend();
        let marks = vec!["?"; conversations.len()].join(", ");
        let mut values: Vec<sea_orm::Value> = vec![org.to_string().into()];
        values.extend(conversations.iter().map(|c| c.clone().into()));
        let latest = m::Entity::find()
            .from_raw_sql(switchboard_runtime::db::statement(
                backend,
                &format!(
                    "SELECT * FROM (SELECT messages.*, ROW_NUMBER() OVER (PARTITION BY conversation_id \
                     ORDER BY created_ms DESC, id DESC) AS latest_rank FROM messages \
                     WHERE organization_id = ? AND conversation_id IN ({marks})) ranked \
                     WHERE latest_rank = 1"
                ),
                values.clone(),
            ))
            .all(&self.db)
            .await?;
        #[derive(Debug, sea_orm::FromQueryResult)]
        struct Unanswered {
            conversation_id: String,
            unanswered: i64,
        }
        let counts = <Unanswered as sea_orm::FromQueryResult>::find_by_statement(switchboard_runtime::db::statement(
            backend,
            &format!(
                "SELECT i.conversation_id AS conversation_id, COUNT(*) AS unanswered FROM messages i \
                 WHERE i.organization_id = ? AND i.conversation_id IN ({marks}) \
                 AND i.direction = 'inbound' AND i.created_ms > COALESCE((SELECT MAX(o.created_ms) \
                 FROM messages o WHERE o.organization_id = i.organization_id \
                 AND o.conversation_id = i.conversation_id AND o.direction = 'outbound'), -1) \
                 GROUP BY i.conversation_id"
            ),
            values,
        ))
        .all(&self.db)
        .await?;
        let mut counts: HashMap<String, i64> = counts
            .into_iter()
            .map(|c| (c.conversation_id, c.unanswered))
            .collect();
        latest
            .into_iter()
            .map(|row| {
                let conversation_id = row.conversation_id.clone().unwrap_or_default();
                let unanswered = counts.remove(&conversation_id).unwrap_or(0);
                Ok(ConversationSummary {
                    conversation_id,
                    unanswered: i32::try_from(unanswered).unwrap_or(i32::MAX),
                    last_message: Some(from_row(row)?),
                })
            })
            .collect()
    }
}
