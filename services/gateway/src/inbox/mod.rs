//! The live inbox behind `StreamInboxEvents`: a projector (consumer group `gateway.inbox`)
//! turns the services' events into inbox events with their audience and appends them to the
//! organization's inbox log (Redis stream in a cluster, in-process ring in the embedded
//! default); each stream replays that log after the client's cursor, then follows it live,
//! keeping what the caller may see. See docs/inbox-stream.md.

pub mod cursor;
pub mod log;
pub mod project;
pub mod stream;

use std::sync::Arc;

use switchboard_proto::gateway::v1 as pb;
use switchboard_runtime::Infra;
use tokio_util::sync::CancellationToken;

/// Who an inbox event concerns, decided when it is projected, so a stream filters without
/// asking anyone.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Audience {
    /// Agents it is about: assignee, previous assignee, participants, the presence subject,
    /// the holder of a message's conversation, a work item's assignee (agt_ ids).
    #[prost(string, repeated, tag = "1")]
    pub agents: Vec<String>,
    /// The team whose queue it waits in, when waiting (team_ id): members could pick it.
    #[prost(string, tag = "2")]
    pub waiting_team_id: String,
    /// The number whose organization waiting list it waits on, when waiting without a team
    /// (chacc_ id): agents linked to the number could pick it.
    #[prost(string, tag = "3")]
    pub waiting_channel_account_id: String,
}

/// One entry of an organization's inbox log: the event as streamed (without its cursor,
/// which is the entry's position) and its audience.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entry {
    #[prost(message, optional, tag = "1")]
    pub event: Option<pb::InboxEvent>,
    #[prost(message, optional, tag = "2")]
    pub audience: Option<Audience>,
}

impl Entry {
    /// The event's id (evt_ id of the bus event it was projected from).
    pub fn event_id(&self) -> &str {
        self.event.as_ref().map_or("", |e| e.event_id.as_str())
    }
}

/// What the live inbox records: `switchboard_gateway_inbox_streams{scope}`,
/// `switchboard_gateway_inbox_projected_total{outcome}`,
/// `switchboard_gateway_inbox_resyncs_total{cause}`.
#[derive(Clone)]
pub struct InboxMetrics {
    pub streams: prometheus::IntGaugeVec,
    pub projected: prometheus::IntCounterVec,
    pub resyncs: prometheus::IntCounterVec,
}

impl InboxMetrics {
    pub fn new(metrics: &switchboard_runtime::metrics::Metrics) -> Self {
        Self {
            streams: metrics.gauge_vec(
                "switchboard_gateway_inbox_streams",
                "Live inbox streams open on this gateway, by scope (mine, organization)",
                &["scope"],
            ),
            projected: metrics.counter_vec(
                "switchboard_gateway_inbox_projected_total",
                "Bus events the inbox projector handled, by outcome (appended, duplicate: a redelivery already in the log, ignored: no tab changes)",
                &["outcome"],
            ),
            resyncs: metrics.counter_vec(
                "switchboard_gateway_inbox_resyncs_total",
                "RESYNC_REQUIRED events sent, by cause (cursor: the resume cursor could not be honoured, behind: a live reader fell behind the log)",
                &["cause"],
            ),
        }
    }
}

/// The inbox of one gateway process: its log and what streams need to run.
#[derive(Clone)]
pub struct Inbox {
    pub log: Arc<dyn log::InboxLog>,
    /// Cancelled when the server shuts down: every stream ends cleanly.
    pub closing: CancellationToken,
    pub metrics: InboxMetrics,
}

impl Inbox {
    /// The log the settings ask for: Redis when `infra.redis` is set, in-process otherwise.
    pub fn new(infra: &Infra) -> anyhow::Result<Self> {
        let closing = CancellationToken::new();
        let retention_ms = i64::try_from(infra.settings.gateway.inbox.retention_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let log: Arc<dyn log::InboxLog> = match &infra.redis {
            Some(conn) => Arc::new(log::RedisLog::new(
                redis::Client::open(infra.settings.redis.url.as_str())?,
                conn.clone(),
                &infra.settings.redis.key_prefix,
                retention_ms,
                infra.clock.clone(),
                closing.clone(),
            )),
            None => Arc::new(log::MemoryLog::new(retention_ms, infra.clock.clone())),
        };
        Ok(Self {
            log,
            closing,
            metrics: InboxMetrics::new(&infra.metrics),
        })
    }
}
