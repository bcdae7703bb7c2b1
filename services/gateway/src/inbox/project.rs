//! The projector: consumer group `gateway.inbox` over the topics that change an agent's tabs.
//! Each bus event becomes one inbox event (same event id, so a redelivery is the same inbox
//! event and the log drops it) with its payload, fetched with one internal call where the bus
//! event does not carry it, and its audience; it is appended to the organization's log. With
//! several gateway replicas the group hands each bus event to one of them.

use std::{sync::Arc, time::Duration};

use prost_types::Timestamp;
use switchboard_proto::{
    channel::v1::{self as cpb, MessageReceived, MessageSent, MessageStatusChanged},
    common::v1::{Actor, ActorKind},
    events::TypedEvent,
    gateway::v1::{self as pb, InboxEventKind as Kind, inbox_event::Payload},
    presence::v1::{
        AgentCapacityChanged, AgentHeartbeatExpired, AgentPresence, AgentSlotFreed,
        AgentSlotReserved, AgentStatusChanged,
    },
    routing::v1::{
        self as rpb, ConversationChanged, ConversationState, TransitionCause, WorkItemChanged,
    },
    ticketing::v1::{self as tpb, LinkChange, TicketLinkChanged},
};
use switchboard_runtime::{
    Infra,
    bus::{ConsumerGroup, Consumers, Unhandled, run_consumers},
    dead_letters::{DeadLetter, DeadLetterPolicy, DeadLetterSink},
    outbox::Event,
};
use tokio_util::sync::CancellationToken;
use tonic::Code;

use super::{Audience, Entry, log::InboxLog};
use crate::upstream::Upstream;

/// The inbox projector's group; declared up front with the other services' groups.
pub const INBOX_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "gateway.inbox",
    topics: &[
        ConversationChanged::TOPIC,
        WorkItemChanged::TOPIC,
        MessageReceived::TOPIC,
        MessageSent::TOPIC,
        MessageStatusChanged::TOPIC,
        AgentStatusChanged::TOPIC,
        AgentCapacityChanged::TOPIC,
        AgentSlotReserved::TOPIC,
        AgentSlotFreed::TOPIC,
        AgentHeartbeatExpired::TOPIC,
        TicketLinkChanged::TOPIC,
    ],
};

/// The inbox kind of a conversation change: what the agent's tabs must do with it.
pub fn conversation_kind(state: ConversationState, cause: TransitionCause) -> Kind {
    use ConversationState as S;
    use TransitionCause as C;
    match (cause, state) {
        (C::Unspecified, _) => Kind::ConversationUpdated,
        (C::Transferred, _) => Kind::ConversationTransferred,
        (C::Finalized, _) => Kind::ConversationFinalized,
        (C::Closed, _) | (_, S::Closed) => Kind::ConversationClosed,
        (C::Expired, _) | (_, S::Expired) => Kind::ConversationExpired,
        (C::Opened | C::Picked, S::Open | S::Assigned) => Kind::ConversationOpened,
        (_, S::Queued) => Kind::ConversationQueued,
        (_, S::Assigned) => Kind::ConversationAssigned,
        (_, S::Open) => Kind::ConversationOpened,
        (_, S::Unspecified) => Kind::ConversationUpdated,
    }
}

/// Who a conversation change concerns: its holder, its previous holder and its participants;
/// while it waits, the team whose queue it is in (or, without a team, its number's waiting
/// list).
pub fn conversation_audience(changed: &ConversationChanged, participants: &[String]) -> Audience {
    let mut agents = Vec::new();
    for a in [&changed.assignee_agent_id, &changed.previous_agent_id]
        .into_iter()
        .chain(participants)
    {
        if !a.is_empty() && !agents.contains(a) {
            agents.push(a.clone());
        }
    }
    let waiting = changed.state == ConversationState::Queued as i32;
    Audience {
        agents,
        waiting_team_id: if waiting {
            changed.team_id.clone()
        } else {
            String::new()
        },
        waiting_channel_account_id: if waiting && changed.team_id.is_empty() {
            changed.channel_account_id.clone()
        } else {
            String::new()
        },
    }
}

/// Who a work item change concerns: its holder; while queued to a team, that team.
pub fn work_item_audience(item: &rpb::WorkItem) -> Audience {
    let waiting_team_id = match (&item.target, item.state()) {
        (
            Some(rpb::Target {
                kind: Some(rpb::target::Kind::TeamId(team)),
            }),
            rpb::WorkItemState::Queued,
        ) => team.clone(),
        _ => String::new(),
    };
    Audience {
        agents: if item.assignee_agent_id.is_empty() {
            Vec::new()
        } else {
            vec![item.assignee_agent_id.clone()]
        },
        waiting_team_id,
        waiting_channel_account_id: String::new(),
    }
}

/// Who an event about a conversation's content (a message, a ticket link) concerns: whoever
/// holds the conversation, and its participants.
pub fn holder_audience(conversation: Option<&rpb::Conversation>) -> Audience {
    let mut agents = Vec::new();
    if let Some(c) = conversation {
        let holds = matches!(
            c.state(),
            ConversationState::Assigned | ConversationState::Open
        );
        if holds && !c.assignee_agent_id.is_empty() {
            agents.push(c.assignee_agent_id.clone());
        }
        for p in &c.participant_agent_ids {
            if !agents.contains(p) {
                agents.push(p.clone());
            }
        }
    }
    Audience {
        agents,
        ..Default::default()
    }
}

/// A presence change concerns its agent only.
pub fn presence_audience(agent_id: &str) -> Audience {
    Audience {
        agents: vec![agent_id.to_string()],
        ..Default::default()
    }
}

fn timestamp(at: chrono::DateTime<chrono::Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// The log entry of bus event `event`: the same event id, its time, what happened and to whom.
fn entry(
    event: &Event,
    kind: Kind,
    payload: Payload,
    audience: Audience,
    actor: Option<switchboard_proto::common::v1::Actor>,
) -> Entry {
    Entry {
        event: Some(pb::InboxEvent {
            event_id: event.id.to_string(),
            cursor: String::new(),
            kind: kind as i32,
            event_time: Some(timestamp(event.occurred_at)),
            actor,
            payload: Some(payload),
        }),
        audience: Some(audience),
    }
}

/// How long the projector waits for one internal call before retrying the event.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// An internal request of the projector (the system: no caller), with its timeout.
fn internal<M>(message: M) -> tonic::Request<M> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

/// A gRPC failure of an internal call: retried while it may pass, dropped otherwise.
fn unhandled(what: &str, status: &tonic::Status) -> Unhandled {
    let why = format!("{what}: {} {}", status.code(), status.message());
    match status.code() {
        Code::InvalidArgument | Code::PermissionDenied | Code::Unimplemented => {
            Unhandled::Drop(why)
        }
        _ => Unhandled::Retry(why),
    }
}

/// Builds inbox events from bus events and appends them.
#[derive(Clone)]
pub struct Projector {
    pub upstream: Upstream,
    pub log: Arc<dyn InboxLog>,
    /// `switchboard_gateway_inbox_projected_total{outcome}`.
    pub projected: prometheus::IntCounterVec,
}

impl Projector {
    /// Handles one bus event of [`INBOX_EVENTS`].
    pub async fn handle(&self, event: &Event) -> Result<(), Unhandled> {
        let Some(entry) = self.project(event).await? else {
            self.projected.with_label_values(&["ignored"]).inc();
            return Ok(());
        };
        let appended = self
            .log
            .append(&event.organization_id, &entry)
            .await
            .map_err(|e| Unhandled::Retry(format!("inbox log: {e}")))?;
        let outcome = if appended.is_some() {
            "appended"
        } else {
            "duplicate"
        };
        self.projected.with_label_values(&[outcome]).inc();
        Ok(())
    }

    /// The inbox entry of `event`, or `None` when it changes no tab.
    pub async fn project(&self, event: &Event) -> Result<Option<Entry>, Unhandled> {
        let org = event.organization_id.as_str();
        let (kind, payload, audience, actor) = match event.topic.as_str() {
            ConversationChanged::TOPIC => {
                let changed = event.decode::<ConversationChanged>()?;
                let conversation = self.conversation(org, &changed.conversation_id).await?;
                let kind = conversation_kind(changed.state(), changed.cause());
                let participants = conversation
                    .as_ref()
                    .map(|c| c.participant_agent_ids.clone())
                    .unwrap_or_default();
                let audience = conversation_audience(&changed, &participants);
                // A transfer names its transfer (reason, target, who): the newest of the
                // conversation's, one more call only for this kind.
                let transfer = if kind == Kind::ConversationTransferred {
                    self.last_transfer(org, &changed.conversation_id).await?
                } else {
                    None
                };
                let actor = match kind {
                    Kind::ConversationClosed => {
                        conversation.as_ref().and_then(|c| c.closed_by.clone())
                    }
                    Kind::ConversationTransferred => {
                        transfer.as_ref().and_then(|t| t.actor.clone())
                    }
                    _ => None,
                };
                let transition = (changed.cause != 0).then(|| rpb::Transition {
                    conversation_id: changed.conversation_id.clone(),
                    to_state: changed.state,
                    from_agent_id: changed.previous_agent_id.clone(),
                    to_agent_id: changed.assignee_agent_id.clone(),
                    to_team_id: changed.team_id.clone(),
                    cause: changed.cause,
                    create_time: Some(timestamp(event.occurred_at)),
                    ..Default::default()
                });
                let conversation = conversation.unwrap_or_else(|| rpb::Conversation {
                    id: changed.conversation_id.clone(),
                    organization_id: org.to_string(),
                    channel_account_id: changed.channel_account_id.clone(),
                    contact_id: changed.contact_id.clone(),
                    state: changed.state,
                    team_id: changed.team_id.clone(),
                    assignee_agent_id: changed.assignee_agent_id.clone(),
                    ..Default::default()
                });
                let payload = Payload::Conversation(pb::ConversationEvent {
                    conversation: Some(conversation),
                    transition,
                    transfer,
                });
                (kind, payload, audience, actor)
            }
            WorkItemChanged::TOPIC => {
                let changed = event.decode::<WorkItemChanged>()?;
                let item = self.work_item(org, &changed).await?;
                let audience = work_item_audience(&item);
                let payload = Payload::WorkItem(pb::WorkItemEvent {
                    work_item: Some(item),
                });
                (Kind::WorkItemChanged, payload, audience, None)
            }
            MessageReceived::TOPIC => {
                let m = event.decode::<MessageReceived>()?;
                self.message(
                    org,
                    &m.message_id,
                    &m.conversation_id,
                    Kind::MessageReceived,
                )
                .await?
            }
            MessageSent::TOPIC => {
                let m = event.decode::<MessageSent>()?;
                self.message(org, &m.message_id, &m.conversation_id, Kind::MessageSent)
                    .await?
            }
            MessageStatusChanged::TOPIC => {
                let m = event.decode::<MessageStatusChanged>()?;
                self.message(
                    org,
                    &m.message_id,
                    &m.conversation_id,
                    Kind::MessageStatusChanged,
                )
                .await?
            }
            AgentStatusChanged::TOPIC => {
                let e = event.decode::<AgentStatusChanged>()?;
                presence(e.agent, e.previous_status)
            }
            AgentHeartbeatExpired::TOPIC => {
                let e = event.decode::<AgentHeartbeatExpired>()?;
                presence(e.agent, e.previous_status)
            }
            AgentCapacityChanged::TOPIC => {
                let e = event.decode::<AgentCapacityChanged>()?;
                let status = e.agent.as_ref().map_or(0, |a| a.status);
                presence(e.agent, status)
            }
            AgentSlotReserved::TOPIC => {
                let e = event.decode::<AgentSlotReserved>()?;
                let status = e.agent.as_ref().map_or(0, |a| a.status);
                presence(e.agent, status)
            }
            AgentSlotFreed::TOPIC => {
                let e = event.decode::<AgentSlotFreed>()?;
                let status = e.agent.as_ref().map_or(0, |a| a.status);
                presence(e.agent, status)
            }
            TicketLinkChanged::TOPIC => {
                let e = event.decode::<TicketLinkChanged>()?;
                let linked = match e.change() {
                    LinkChange::Linked => true,
                    LinkChange::Unlinked => false,
                    LinkChange::Proposed | LinkChange::ProposalRejected => {
                        // A customer named a ticket (or the agent turned the proposal down):
                        // the conversation with the tickets picture of this version, which
                        // routing may not have applied yet.
                        let Some(mut conversation) =
                            self.conversation(org, &e.conversation_id).await?
                        else {
                            return Ok(None);
                        };
                        let current = e.current.clone().unwrap_or_default();
                        conversation.ticket =
                            (!current.linked_ticket_id.is_empty()).then(|| rpb::TicketRef {
                                ticket_id: current.linked_ticket_id.clone(),
                                number: current.linked_ticket_number,
                                proposal_id: String::new(),
                            });
                        conversation.proposed_ticket =
                            (!current.proposal_id.is_empty()).then(|| rpb::TicketRef {
                                ticket_id: current.proposed_ticket_id.clone(),
                                number: current.proposed_ticket_number,
                                proposal_id: current.proposal_id.clone(),
                            });
                        let audience = holder_audience(Some(&conversation));
                        let payload = Payload::Conversation(pb::ConversationEvent {
                            conversation: Some(conversation),
                            transition: None,
                            transfer: None,
                        });
                        return Ok(Some(entry(
                            event,
                            Kind::ConversationUpdated,
                            payload,
                            audience,
                            None,
                        )));
                    }
                    LinkChange::Unspecified => return Ok(None),
                };
                let conversation = self.conversation(org, &e.conversation_id).await?;
                let audience = holder_audience(conversation.as_ref());
                let payload = Payload::TicketLink(pb::TicketLinkEvent {
                    link: Some(tpb::TicketLink {
                        ticket_id: e.ticket_id.clone(),
                        ticket_number: e.ticket_number,
                        conversation_id: e.conversation_id.clone(),
                        contact_id: conversation.map(|c| c.contact_id).unwrap_or_default(),
                        create_time: Some(timestamp(event.occurred_at)),
                        ..Default::default()
                    }),
                    linked,
                });
                (Kind::TicketLinkChanged, payload, audience, None)
            }
            _ => return Ok(None),
        };
        Ok(Some(entry(event, kind, payload, audience, actor)))
    }

    /// The newest transfer of a conversation (as the system), `None` when it has none.
    async fn last_transfer(
        &self,
        org: &str,
        conversation_id: &str,
    ) -> Result<Option<rpb::Transfer>, Unhandled> {
        let transfers = crate::upstream::every_page(|page| async move {
            let r = self
                .upstream
                .routing()
                .list_conversation_transfers(internal(rpb::ListConversationTransfersRequest {
                    organization_id: org.to_string(),
                    page: Some(page),
                    actor_agent_id: String::new(),
                    conversation_id: conversation_id.to_string(),
                }))
                .await?
                .into_inner();
            Ok((r.transfers, r.page))
        })
        .await;
        match transfers {
            Ok(transfers) => Ok(transfers.into_iter().last()),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(unhandled("routing ListConversationTransfers", &s)),
        }
    }

    /// The conversation as routing has it now (as the system), `None` when unknown.
    async fn conversation(
        &self,
        org: &str,
        id: &str,
    ) -> Result<Option<rpb::Conversation>, Unhandled> {
        if id.is_empty() {
            return Ok(None);
        }
        match self
            .upstream
            .routing()
            .get_conversation(internal(rpb::GetConversationRequest {
                organization_id: org.to_string(),
                conversation_id: id.to_string(),
                actor_agent_id: String::new(),
            }))
            .await
        {
            Ok(r) => Ok(r.into_inner().conversation),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(unhandled("routing GetConversation", &s)),
        }
    }

    async fn work_item(
        &self,
        org: &str,
        changed: &WorkItemChanged,
    ) -> Result<rpb::WorkItem, Unhandled> {
        let fallback = || rpb::WorkItem {
            id: changed.work_item_id.clone(),
            organization_id: org.to_string(),
            kind: changed.kind.clone(),
            external_ref: changed.external_ref.clone(),
            state: changed.state,
            assignee_agent_id: changed.assignee_agent_id.clone(),
            ..Default::default()
        };
        match self
            .upstream
            .routing()
            .get_work_item(internal(rpb::GetWorkItemRequest {
                organization_id: org.to_string(),
                work_item_id: changed.work_item_id.clone(),
            }))
            .await
        {
            Ok(r) => Ok(r.into_inner().work_item.unwrap_or_else(fallback)),
            Err(s) if s.code() == Code::NotFound => Ok(fallback()),
            Err(s) => Err(unhandled("routing GetWorkItem", &s)),
        }
    }

    /// A message event: the message (channel) and, for its audience, its conversation
    /// (routing), both asked at once.
    async fn message(
        &self,
        org: &str,
        message_id: &str,
        conversation_id: &str,
        kind: Kind,
    ) -> Result<(Kind, Payload, Audience, Option<Actor>), Unhandled> {
        let get_message = async {
            match self
                .upstream
                .channel()
                .get_message(internal(cpb::GetMessageRequest {
                    organization_id: org.to_string(),
                    message_id: message_id.to_string(),
                }))
                .await
            {
                Ok(r) => Ok(r.into_inner().message),
                Err(s) if s.code() == Code::NotFound => Ok(None),
                Err(s) => Err(unhandled("channel GetMessage", &s)),
            }
        };
        let (message, conversation) =
            tokio::try_join!(get_message, self.conversation(org, conversation_id))?;
        let message = message.unwrap_or_else(|| cpb::Message {
            id: message_id.to_string(),
            organization_id: org.to_string(),
            conversation_id: conversation_id.to_string(),
            ..Default::default()
        });
        let actor = message
            .sender
            .clone()
            .filter(|a| a.kind != ActorKind::Unspecified as i32);
        Ok((
            kind,
            Payload::Message(pb::MessageEvent {
                message: Some(message),
            }),
            holder_audience(conversation.as_ref()),
            actor,
        ))
    }
}

fn presence(
    agent: Option<AgentPresence>,
    previous_status: i32,
) -> (Kind, Payload, Audience, Option<Actor>) {
    let agent = agent.unwrap_or_default();
    let audience = presence_audience(&agent.agent_id);
    (
        Kind::PresenceChanged,
        Payload::Presence(pb::PresenceChangedEvent {
            presence: Some(agent),
            previous_status,
        }),
        audience,
        None,
    )
}

/// The gateway keeps nothing durable: an event it gives up on is logged (and counted by the
/// consumer loop's dead-letter metric); clients that missed it reload on their next resync.
struct LoggedDeadLetters;

#[async_trait::async_trait]
impl DeadLetterSink for LoggedDeadLetters {
    async fn store(&self, letter: &DeadLetter) -> anyhow::Result<()> {
        tracing::error!(
            group = %letter.group,
            topic = %letter.event.topic,
            event = %letter.event.id,
            attempts = letter.attempts,
            error = %letter.last_error,
            "inbox event not projected"
        );
        Ok(())
    }
}

/// Runs the projector (one consumer: events of one conversation are appended in order) until
/// `shutdown`.
pub async fn run(
    infra: Infra,
    upstream: Upstream,
    inbox: super::Inbox,
    shutdown: CancellationToken,
) {
    let projector = Projector {
        upstream,
        log: inbox.log,
        projected: inbox.metrics.projected,
    };
    let consumer = format!("gateway-{}", switchboard_runtime::ids::EventId::generate());
    let Some(redis) = infra.redis.clone() else {
        // One process: nobody else appends.
        consume(&infra, &projector, &consumer, shutdown).await;
        return;
    };
    // Several replicas: the one holding the lease consumes, so the log is appended in bus
    // order (two replicas projecting at once could append a conversation's events out of
    // order). The others wait to take over when the lease lapses.
    let lease = Lease {
        key: format!("{}:gw:inbox:projector", infra.settings.redis.key_prefix),
        holder: consumer.clone(),
        conn: redis,
    };
    while !shutdown.is_cancelled() {
        match lease.acquire().await {
            Ok(true) => {
                tracing::info!(%consumer, "inbox projector lease taken");
                let held = shutdown.child_token();
                let keeper = tokio::spawn(lease.clone().keep(held.clone()));
                consume(&infra, &projector, &consumer, held.clone()).await;
                held.cancel();
                let _ = keeper.await;
                lease.release().await;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "inbox projector lease unavailable"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(LEASE_RETRY) => {}
        }
    }
}

async fn consume(infra: &Infra, projector: &Projector, consumer: &str, stop: CancellationToken) {
    let spec = Consumers {
        group: INBOX_EVENTS,
        consumer: consumer.to_string(),
        concurrency: 1,
        span_name: "gateway.inbox",
        dead_letters: DeadLetterPolicy {
            sink: Arc::new(LoggedDeadLetters),
            max_attempts: infra.settings.outbox.dead_letter_after_attempts.max(1),
            min_failing: switchboard_runtime::dead_letters::DEFAULT_MIN_FAILING,
        },
    };
    run_consumers(infra.bus.clone(), &infra.metrics, spec, stop, |event| {
        let projector = projector.clone();
        async move { projector.handle(&event).await }
    })
    .await;
}

/// How long the projector lease lasts without renewal, how often it is renewed, and how
/// often a waiting replica tries to take it.
const LEASE_TTL: Duration = Duration::from_secs(10);
const LEASE_RENEW: Duration = Duration::from_secs(3);
const LEASE_RETRY: Duration = Duration::from_secs(1);

/// The Redis lease naming the one replica that projects.
#[derive(Clone)]
struct Lease {
    key: String,
    holder: String,
    conn: redis::aio::ConnectionManager,
}

impl Lease {
    async fn acquire(&self) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(&self.key)
            .arg(&self.holder)
            .arg("NX")
            .arg("PX")
            .arg(LEASE_TTL.as_millis() as u64)
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    /// Renews the lease until `held` is cancelled; cancels `held` when the lease is lost.
    async fn keep(self, held: CancellationToken) {
        let renew = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then \
               return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end",
        );
        loop {
            tokio::select! {
                _ = held.cancelled() => return,
                _ = tokio::time::sleep(LEASE_RENEW) => {}
            }
            let mut conn = self.conn.clone();
            let kept: redis::RedisResult<i64> = renew
                .key(&self.key)
                .arg(&self.holder)
                .arg(LEASE_TTL.as_millis() as u64)
                .invoke_async(&mut conn)
                .await;
            if !matches!(kept, Ok(1)) {
                tracing::warn!(holder = %self.holder, "inbox projector lease lost; stopping");
                held.cancel();
                return;
            }
        }
    }

    /// Gives the lease up (a restart hands over at once instead of after the TTL).
    async fn release(&self) {
        let release = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) \
             else return 0 end",
        );
        let mut conn = self.conn.clone();
        let _: redis::RedisResult<i64> = release
            .key(&self.key)
            .arg(&self.holder)
            .invoke_async(&mut conn)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_changes_map_to_the_tab_they_move() {
        use ConversationState as S;
        use TransitionCause as C;
        let cases = [
            (S::Queued, C::Routed, Kind::ConversationQueued),
            (S::Assigned, C::Routed, Kind::ConversationAssigned),
            (S::Assigned, C::SlotFreed, Kind::ConversationAssigned),
            (S::Queued, C::OfferTimeout, Kind::ConversationQueued),
            (S::Queued, C::AgentOffline, Kind::ConversationQueued),
            (S::Open, C::Opened, Kind::ConversationOpened),
            (S::Open, C::Picked, Kind::ConversationOpened),
            (S::Closed, C::Closed, Kind::ConversationClosed),
            (S::Expired, C::Expired, Kind::ConversationExpired),
            (S::Expired, C::Finalized, Kind::ConversationFinalized),
            (S::Queued, C::Transferred, Kind::ConversationTransferred),
            (S::Assigned, C::Transferred, Kind::ConversationTransferred),
            (S::Open, C::Unspecified, Kind::ConversationUpdated),
        ];
        for (state, cause, kind) in cases {
            assert_eq!(conversation_kind(state, cause), kind, "{state:?} {cause:?}");
        }
    }

    #[test]
    fn a_conversation_change_reaches_both_holders_and_while_waiting_its_queue() {
        let changed = ConversationChanged {
            state: ConversationState::Queued as i32,
            assignee_agent_id: String::new(),
            previous_agent_id: "agt_b".into(),
            team_id: "team_1".into(),
            channel_account_id: "chacc_1".into(),
            ..Default::default()
        };
        let a = conversation_audience(&changed, &["agt_p".into(), "agt_b".into()]);
        assert_eq!(a.agents, ["agt_b", "agt_p"]);
        assert_eq!(a.waiting_team_id, "team_1");
        assert_eq!(a.waiting_channel_account_id, "");

        let org_list = ConversationChanged {
            team_id: String::new(),
            ..changed.clone()
        };
        let a = conversation_audience(&org_list, &[]);
        assert_eq!(a.waiting_channel_account_id, "chacc_1");

        let assigned = ConversationChanged {
            state: ConversationState::Assigned as i32,
            assignee_agent_id: "agt_a".into(),
            ..changed
        };
        let a = conversation_audience(&assigned, &[]);
        assert_eq!(a.agents, ["agt_a", "agt_b"]);
        assert_eq!(a.waiting_team_id, "");
    }

    #[test]
    fn message_events_reach_the_holder_only_while_it_holds_the_conversation() {
        let mut c = rpb::Conversation {
            state: ConversationState::Open as i32,
            assignee_agent_id: "agt_a".into(),
            ..Default::default()
        };
        assert_eq!(holder_audience(Some(&c)).agents, ["agt_a"]);
        c.state = ConversationState::Closed as i32;
        assert!(holder_audience(Some(&c)).agents.is_empty());
        assert!(holder_audience(None).agents.is_empty());
    }

    #[test]
    fn work_items_queued_to_a_team_reach_that_team() {
        let item = rpb::WorkItem {
            state: rpb::WorkItemState::Queued as i32,
            target: Some(rpb::Target {
                kind: Some(rpb::target::Kind::TeamId("team_1".into())),
            }),
            ..Default::default()
        };
        assert_eq!(work_item_audience(&item).waiting_team_id, "team_1");
        let held = rpb::WorkItem {
            state: rpb::WorkItemState::Assigned as i32,
            assignee_agent_id: "agt_a".into(),
            ..item
        };
        let a = work_item_audience(&held);
        assert_eq!(a.agents, ["agt_a"]);
        assert_eq!(a.waiting_team_id, "");
    }
}
