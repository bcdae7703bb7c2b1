//! Business hours and automatic messages: their configuration (the organization's schedule, a
//! number's override, a number's messages), and the consumer that sends them on
//! `routing.conversation.changed` (group `routing.automations`).
//!
//! Once per trigger: each trigger has a deterministic key (`domain::automations::trigger_key`)
//! claimed in `automatic_message_claims` (insert if absent) together with the rendered text;
//! only the claim's conversation sends, with the claim's text, under a channel request id
//! derived from the key. A redelivered event, or another replica handling it, finds the claim
//! and either stops (the send is recorded) or repeats the same request, which channel's
//! idempotency turns into the same message.

use chrono::DateTime;
use switchboard_hours::{Schedule, ScheduleSpec};
use switchboard_proto::{events::TypedEvent, routing::v1 as pb};
use switchboard_runtime::{
    bus::{ConsumerGroup, Unhandled},
    errors::FieldViolation,
    ids::{AgentId, ChannelAccountId, ConversationId, OrganizationId},
    outbox::Event,
};

use super::{Routing, access::Need, channel::SystemSend};
use crate::{
    domain::{
        automations::{
            self as auto, AutomaticMessages, Candidate, Changed, Kind, Values, Variable, WaitReason,
        },
        conversation::{Cause, Conversation, State},
    },
    error::RoutingError,
    grpc::conversations::{cause_to_pb, state_to_pb},
    store::automations::{ClaimState, StoredHours},
};

/// The consumer group that sends automatic messages; declared before any service starts.
pub const AUTOMATIONS: ConsumerGroup = ConsumerGroup {
    name: "routing.automations",
    topics: &[pb::ConversationChanged::TOPIC],
};

/// How long the consumer trusts a number's settings it read: every conversation change would
/// otherwise cost a read, and most numbers send nothing. A change made through this replica
/// applies at once; one made through another within this long.
pub const SETTINGS_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// A number of an organization.
type NumberKey = (OrganizationId, ChannelAccountId);

/// Numbers' automatic-message settings as last read, with when.
#[derive(Clone, Default)]
pub struct SettingsCache(
    std::sync::Arc<
        std::sync::Mutex<
            std::collections::HashMap<NumberKey, (std::time::Instant, AutomaticMessages)>,
        >,
    >,
);

impl SettingsCache {
    fn get(&self, key: &NumberKey) -> Option<AutomaticMessages> {
        let map = self.0.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < SETTINGS_TTL)
            .map(|(_, m)| m.clone())
    }

    fn put(&self, key: NumberKey, value: AutomaticMessages) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() > 10_000 {
                map.retain(|_, (at, _)| at.elapsed() < SETTINGS_TTL);
            }
            map.insert(key, (std::time::Instant::now(), value));
        }
    }

    fn forget(&self, key: &NumberKey) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(key);
        }
    }
}

/// Where the schedule in effect for a number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursSource {
    None,
    Organization,
    ChannelAccount,
}

/// The business hours of a scope, and those in effect there.
#[derive(Debug, Clone)]
pub struct HoursView {
    pub configured: Option<StoredHours>,
    pub effective: Option<StoredHours>,
    pub source: HoursSource,
}

fn schedule_of(stored: &StoredHours) -> Option<Schedule> {
    Schedule::new(&stored.spec).ok()
}

impl Routing {
    /// The business hours of the organization (`account` None) or of a number, with those in
    /// effect. Operator or admin.
    pub async fn get_business_hours(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        account: Option<&ChannelAccountId>,
    ) -> Result<HoursView, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        if let Some(account) = account {
            self.require_account(org, account).await?;
        }
        let configured = self.store.business_hours(org, account).await?;
        let (effective, source) = match (&configured, account) {
            (Some(c), Some(_)) => (Some(c.clone()), HoursSource::ChannelAccount),
            (Some(c), None) => (Some(c.clone()), HoursSource::Organization),
            (None, Some(_)) => match self.store.business_hours(org, None).await? {
                Some(o) => (Some(o), HoursSource::Organization),
                None => (None, HoursSource::None),
            },
            (None, None) => (None, HoursSource::None),
        };
        Ok(HoursView {
            configured,
            effective,
            source,
        })
    }

    /// Replaces (or removes, with `spec` None) the business hours of a scope. Admin only.
    /// Every invalid field is reported under `business_hours.` and nothing changes.
    pub async fn update_business_hours(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        account: Option<&ChannelAccountId>,
        spec: Option<ScheduleSpec>,
    ) -> Result<Option<StoredHours>, RoutingError> {
        self.authorize(org, actor, Need::Admin).await?;
        if let Some(account) = account {
            self.require_account(org, account).await?;
        }
        if let Some(spec) = &spec {
            Schedule::new(spec).map_err(|bad| {
                RoutingError::InvalidArgument(
                    bad.into_iter()
                        .map(|f| {
                            FieldViolation::new(
                                format!("business_hours.{}", f.field),
                                f.description,
                            )
                        })
                        .collect(),
                )
            })?;
        }
        self.store
            .put_business_hours(org, account, spec.as_ref(), self.clock.now_ms())
            .await
    }

    /// A number's automatic messages. Operator or admin.
    pub async fn get_automatic_messages(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        account: &ChannelAccountId,
    ) -> Result<AutomaticMessages, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        self.require_account(org, account).await?;
        self.store.automatic_messages(org, account).await
    }

    /// Replaces a number's automatic messages. Admin only; every invalid text is reported
    /// (`automatic_messages.<message>.text`) and nothing changes.
    pub async fn update_automatic_messages(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        account: &ChannelAccountId,
        config: AutomaticMessages,
    ) -> Result<AutomaticMessages, RoutingError> {
        self.authorize(org, actor, Need::Admin).await?;
        self.require_account(org, account).await?;
        let bad = config.problems("automatic_messages");
        if !bad.is_empty() {
            return Err(RoutingError::InvalidArgument(
                bad.into_iter()
                    .map(|(field, why)| FieldViolation::new(field, why))
                    .collect(),
            ));
        }
        let saved = self
            .store
            .put_automatic_messages(org, account, &config, self.clock.now_ms())
            .await?;
        self.automations.forget(&(org.clone(), account.clone()));
        Ok(saved)
    }

    /// The schedule in effect for a number: its override, else the organization's; None when
    /// neither is configured (always open).
    async fn schedule_for(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<Option<Schedule>, RoutingError> {
        Ok(match self.store.business_hours(org, Some(account)).await? {
            Some(own) => schedule_of(&own),
            None => self
                .store
                .business_hours(org, None)
                .await?
                .as_ref()
                .and_then(schedule_of),
        })
    }

    /// Handles one `routing.conversation.changed` event: the automatic messages it triggers
    /// are sent, each at most once. An undecodable event is refused for good; a failure of
    /// routing's storage or of channel is retried.
    pub async fn on_conversation_changed(&self, event: &Event) -> Result<(), Unhandled> {
        let drop = |what: String| Unhandled::Drop(format!("event {}: {what}", event.id));
        let org = OrganizationId::parse(&event.organization_id)
            .map_err(|e| drop(format!("bad organization id: {e}")))?;
        let m = event.decode::<pb::ConversationChanged>()?;
        let agent = |id: &str| -> Result<Option<AgentId>, Unhandled> {
            if id.is_empty() {
                return Ok(None);
            }
            AgentId::parse(id)
                .map(Some)
                .map_err(|e| drop(format!("bad agent id: {e}")))
        };
        let changed = Changed {
            conversation_id: ConversationId::parse(&m.conversation_id)
                .map_err(|e| drop(format!("bad conversation id: {e}")))?,
            state: [
                State::Queued,
                State::Assigned,
                State::Open,
                State::Closed,
                State::Expired,
            ]
            .into_iter()
            .find(|s| state_to_pb(*s) as i32 == m.state)
            .ok_or_else(|| drop(format!("unknown state {}", m.state)))?,
            cause: [
                Cause::Routed,
                Cause::Picked,
                Cause::Opened,
                Cause::Transferred,
                Cause::OfferTimeout,
                Cause::AgentOffline,
                Cause::AgentDisabled,
                Cause::SlotFreed,
                Cause::Closed,
                Cause::Expired,
                Cause::Finalized,
                Cause::OwnerWaitExpired,
            ]
            .into_iter()
            .find(|c| cause_to_pb(*c) as i32 == m.cause),
            assignee: agent(&m.assignee_agent_id)?,
            previous: agent(&m.previous_agent_id)?,
            version: m.version,
        };
        let candidates = auto::candidates(&changed);
        if candidates.is_empty() {
            return Ok(());
        }
        let account = ChannelAccountId::parse(&m.channel_account_id)
            .map_err(|e| drop(format!("bad channel account id: {e}")))?;
        self.automate(&org, &account, &changed, &candidates)
            .await
            .map_err(|e| Unhandled::Retry(e.to_string()))
    }

    async fn automate(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        changed: &Changed,
        candidates: &[Candidate],
    ) -> Result<(), RoutingError> {
        // The number's settings first: most numbers send nothing, and then one read is all.
        let key = (org.clone(), account.clone());
        let config = match self.automations.get(&key) {
            Some(config) => config,
            None => {
                let config = self.store.automatic_messages(org, account).await?;
                self.automations.put(key, config.clone());
                config
            }
        };
        let enabled = |kind: Kind| config.message(kind).enabled;
        if ![
            Kind::OutOfHours,
            Kind::NoAgentAvailable,
            Kind::AllAtCapacity,
            Kind::Assigned,
        ]
        .into_iter()
        .any(enabled)
        {
            return Ok(());
        }
        let conv = match self.store.conversation(org, &changed.conversation_id).await {
            Ok(c) => c,
            // Gone with its organization: nothing to say to anyone.
            Err(RoutingError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let schedule = if enabled(Kind::OutOfHours) {
            self.schedule_for(org, &conv.channel_account_id).await?
        } else {
            None
        };
        let started = DateTime::from_timestamp_millis(conv.created_ms).unwrap_or_default();
        let now = self.clock.now();
        let mut values = Values::default();
        for candidate in candidates {
            match candidate {
                Candidate::Started => {
                    let Some(schedule) = &schedule else { continue };
                    if schedule.is_open(started) {
                        continue;
                    }
                    // Only a conversation a customer's message started (not an agent's
                    // template) is answered with the out-of-hours message.
                    let by_contact = self
                        .store
                        .first_and_last_actors(org, &conv.id)
                        .await?
                        .is_some_and(|(first, _)| first.kind == "contact");
                    if !by_contact {
                        continue;
                    }
                    let key = auto::trigger_key(
                        Kind::OutOfHours,
                        &conv,
                        changed.version,
                        Some((config.out_of_hours_frequency, schedule)),
                        started,
                    );
                    self.fire(org, &conv, Kind::OutOfHours, &key, &config, &mut values)
                        .await?;
                }
                Candidate::Waiting => {
                    // Out of hours the out-of-hours message says it all.
                    if schedule.as_ref().is_some_and(|s| !s.is_open(now)) {
                        continue;
                    }
                    if conv.state != State::Queued {
                        continue;
                    }
                    let Some(decision_id) = &conv.last_decision_id else {
                        continue;
                    };
                    let Some(decision) = self
                        .store
                        .decisions(org, None, Some(decision_id.as_str()))
                        .await?
                        .into_iter()
                        .next()
                    else {
                        continue;
                    };
                    let kind = match auto::wait_reason(&decision) {
                        Some(WaitReason::NoAgentAvailable) => Kind::NoAgentAvailable,
                        Some(WaitReason::AllAtCapacity) => Kind::AllAtCapacity,
                        None => continue,
                    };
                    if !enabled(kind) {
                        continue;
                    }
                    let text = &config.message(kind).text;
                    if auto::uses(text, Variable::QueuePosition) {
                        values.queue_position = Some(self.store.queue_position(org, &conv).await?);
                    }
                    if auto::uses(text, Variable::EstimatedWait) {
                        values.estimated_wait = match &conv.team_id {
                            Some(team) => auto::estimated_wait_ms(
                                &self
                                    .store
                                    .recent_waits(org, team, auto::RECENT_WAITS)
                                    .await?,
                            )
                            .map(auto::wait_words),
                            None => None,
                        };
                    }
                    let key = auto::trigger_key(kind, &conv, changed.version, None, now);
                    self.fire(org, &conv, kind, &key, &config, &mut values)
                        .await?;
                }
                Candidate::Assigned => {
                    if !enabled(Kind::Assigned) {
                        continue;
                    }
                    let Some(agent) = &changed.assignee else {
                        continue;
                    };
                    // Taken since, or handed to someone else: the news is stale.
                    if conv.assignee.as_ref() != Some(agent) {
                        continue;
                    }
                    // An agent who took it itself needs no introduction.
                    let by_itself = self
                        .store
                        .first_and_last_actors(org, &conv.id)
                        .await?
                        .is_some_and(|(_, last)| last.kind == "agent" && last.id == agent.as_str());
                    if by_itself {
                        continue;
                    }
                    values.agent_name = Some(self.store.agent(org, agent).await?.display_name);
                    let key = auto::trigger_key(Kind::Assigned, &conv, changed.version, None, now);
                    self.fire(org, &conv, Kind::Assigned, &key, &config, &mut values)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Claims `key` and sends `kind`'s message for it, unless the trigger was claimed already
    /// (then it finishes what the claim says: nothing, or the same send again).
    async fn fire(
        &self,
        org: &OrganizationId,
        conv: &Conversation,
        kind: Kind,
        key: &str,
        config: &AutomaticMessages,
        values: &mut Values,
    ) -> Result<(), RoutingError> {
        let now_ms = self.clock.now_ms();
        if config.skip_campaign_replies && conv.campaign_id.is_some() {
            let (_, inserted) = self
                .store
                .claim_trigger(org, key, kind, &conv.id, "", ClaimState::Skipped, now_ms)
                .await?;
            if inserted {
                self.metrics.automatic_message(kind.as_str(), "skipped");
                tracing::info!(conversation_id = %conv.id, kind = kind.as_str(), "automatic message skipped: a campaign reply");
            }
            return Ok(());
        }
        let text = &config.message(kind).text;
        if values.contact_name.is_none() && auto::uses(text, Variable::ContactName) {
            values.contact_name = self.channel.contact_name(org, &conv.contact_id).await?;
        }
        let body = auto::render(text, values);
        let (claim, _) = self
            .store
            .claim_trigger(org, key, kind, &conv.id, &body, ClaimState::Claimed, now_ms)
            .await?;
        if claim.conversation_id != conv.id.as_str() {
            // Once per day per contact: another conversation of the contact had it today.
            self.metrics.automatic_message(kind.as_str(), "skipped");
            return Ok(());
        }
        if claim.state != ClaimState::Claimed {
            return Ok(());
        }
        let sent = self
            .channel
            .send_system_text(org, &conv.id, &auto::request_id(key), &claim.body)
            .await?;
        let (state, message_id, detail, outcome) = match &sent {
            SystemSend::Sent { message_id } => {
                (ClaimState::Sent, Some(message_id.as_str()), "", "sent")
            }
            SystemSend::Skipped(why) => (ClaimState::Skipped, None, why.as_str(), "skipped"),
            SystemSend::Failed(why) => (ClaimState::Failed, None, why.as_str(), "failed"),
        };
        let ended = self
            .store
            .finish_trigger(org, key, state, message_id, detail, self.clock.now_ms())
            .await?;
        if ended {
            self.metrics.automatic_message(claim.kind.as_str(), outcome);
            tracing::info!(
                conversation_id = %conv.id,
                kind = claim.kind.as_str(),
                outcome,
                detail,
                "automatic message"
            );
        }
        Ok(())
    }
}
