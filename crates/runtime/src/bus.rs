//! The event bus: Redis Streams with consumer groups in a cluster, an in-process bus in the
//! embedded default. Both deliver at least once; consumers deduplicate by event id
//! ([`crate::outbox::dedup`]).

use std::{collections::VecDeque, sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::{
    dead_letters::{DeadLetter, DeadLetterPolicy},
    outbox::Event,
};

/// Why the bus refused an operation.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("event encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("no consumer acknowledged the event within {0:?}")]
    NotAcknowledged(Duration),
    #[error("the bus is closed")]
    Closed,
}

/// A consumer group a service declares up front, so events published before its consumers
/// connect (a restart, start-up order) wait for it instead of being missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerGroup {
    /// Group name, `<service>.<purpose>`.
    pub name: &'static str,
    /// Topics it consumes.
    pub topics: &'static [&'static str],
}

/// Publishes events and hands them to consumer groups.
#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Returns once the bus holds the event durably enough for every consumer group to get it.
    async fn publish(&self, event: &Event) -> Result<(), BusError>;

    /// Creates `group` for `topics` if missing; from then on it receives every event of those
    /// topics, whether or not a consumer is connected.
    async fn declare_group(&self, group: &str, topics: &[&str]) -> Result<(), BusError>;

    /// A live tail of `topics` from now on, outside any group: no acknowledgement, no redelivery,
    /// nothing kept for a slow or disconnected reader (server streams to UIs use this).
    async fn tail(&self, topics: &[&str]) -> Result<Box<dyn Tail>, BusError>;

    /// Joins consumer `consumer` of `group` (declaring it) for `topics`. Each event reaches one
    /// consumer per group; an unacknowledged event is delivered again.
    async fn subscribe(
        &self,
        group: &str,
        consumer: &str,
        topics: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError>;
}

/// A live, best-effort view of some topics.
#[async_trait]
pub trait Tail: Send {
    /// The next event, or `None` when nothing arrived within `max_wait`.
    async fn next(&mut self, max_wait: Duration) -> Result<Option<Event>, BusError>;
}

/// One consumer's view of a group.
#[async_trait]
pub trait Subscription: Send {
    /// The next event, or `None` when nothing arrived within `max_wait`.
    async fn next(&mut self, max_wait: Duration) -> Result<Option<Delivery>, BusError>;

    /// Marks a delivery handled; until then it may be delivered again.
    async fn ack(&mut self, delivery: Delivery) -> Result<(), BusError>;

    /// How many times the bus has delivered this event to the group, when it keeps count
    /// (Redis: the pending entry's delivery counter); `None` when it does not.
    async fn delivery_count(&mut self, _delivery: &Delivery) -> Result<Option<u32>, BusError> {
        Ok(None)
    }
}

/// An event handed to a consumer.
pub struct Delivery {
    pub event: Event,
    /// Set when the bus could not read the entry's envelope (`event` then holds the raw entry
    /// as its payload): the consumer loop dead-letters it without calling the handler.
    pub malformed: Option<String>,
    token: DeliveryToken,
}

enum DeliveryToken {
    Redis { stream: String, entry_id: String },
    InProcess(oneshot::Sender<()>),
}

// ---------------------------------------------------------------------------------------------
// In-process bus

/// The embedded default's bus. `publish` waits until every group declared for the topic has
/// acknowledged the event (or times out, leaving the event in the outbox to be relayed again), so
/// an event leaves the outbox only once it has been handled: nothing is lost when the process
/// dies, though a timed-out event may be delivered twice. Topics no group declared are dropped
/// at once (nobody in this process consumes them).
pub struct InProcessBus {
    groups: Mutex<Vec<Group>>,
    ack_timeout: Duration,
    live: tokio::sync::broadcast::Sender<Event>,
}

/// A group's queue: events with the ack each must send back.
type GroupQueue = Arc<Mutex<mpsc::UnboundedReceiver<(Event, oneshot::Sender<()>)>>>;

struct Group {
    name: String,
    topics: Vec<String>,
    tx: mpsc::UnboundedSender<(Event, oneshot::Sender<()>)>,
    rx: GroupQueue,
}

impl InProcessBus {
    pub fn new(ack_timeout: Duration) -> Self {
        Self {
            groups: Mutex::new(Vec::new()),
            ack_timeout,
            live: tokio::sync::broadcast::channel(4096).0,
        }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        // Tails see it now; no tail listening is fine.
        let _ = self.live.send(event.clone());
        let mut acks = Vec::new();
        {
            let groups = self.groups.lock().await;
            for g in groups.iter().filter(|g| g.topics.contains(&event.topic)) {
                let (ack_tx, ack_rx) = oneshot::channel();
                if g.tx.send((event.clone(), ack_tx)).is_ok() {
                    acks.push(ack_rx);
                }
            }
        }
        let all = futures::future::join_all(acks);
        match tokio::time::timeout(self.ack_timeout, all).await {
            Ok(results) if results.iter().all(Result::is_ok) => Ok(()),
            _ => Err(BusError::NotAcknowledged(self.ack_timeout)),
        }
    }

    async fn declare_group(&self, group: &str, topics: &[&str]) -> Result<(), BusError> {
        self.group_queue(group, topics).await;
        Ok(())
    }

    async fn tail(&self, topics: &[&str]) -> Result<Box<dyn Tail>, BusError> {
        Ok(Box::new(InProcessTail {
            rx: self.live.subscribe(),
            topics: topics.iter().map(|t| (*t).to_string()).collect(),
        }))
    }

    async fn subscribe(
        &self,
        group: &str,
        _consumer: &str,
        topics: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError> {
        let rx = self.group_queue(group, topics).await;
        Ok(Box::new(InProcessSubscription { rx }))
    }
}

impl InProcessBus {
    /// The queue of `group`, created (or widened to `topics`) on first use.
    async fn group_queue(&self, group: &str, topics: &[&str]) -> GroupQueue {
        let mut groups = self.groups.lock().await;
        if let Some(g) = groups.iter_mut().find(|g| g.name == group) {
            for t in topics {
                if !g.topics.iter().any(|x| x == t) {
                    g.topics.push((*t).to_string());
                }
            }
            return g.rx.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(Mutex::new(rx));
        groups.push(Group {
            name: group.to_string(),
            topics: topics.iter().map(|t| (*t).to_string()).collect(),
            tx,
            rx: rx.clone(),
        });
        rx
    }
}

struct InProcessTail {
    rx: tokio::sync::broadcast::Receiver<Event>,
    topics: Vec<String>,
}

#[async_trait]
impl Tail for InProcessTail {
    async fn next(&mut self, max_wait: Duration) -> Result<Option<Event>, BusError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => return Ok(None),
                Ok(Ok(event)) if self.topics.contains(&event.topic) => return Ok(Some(event)),
                Ok(Ok(_)) => {}
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                    tracing::warn!(missed = n, "live tail fell behind; events skipped");
                }
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                    return Err(BusError::Closed);
                }
            }
        }
    }
}

struct InProcessSubscription {
    rx: GroupQueue,
}

#[async_trait]
impl Subscription for InProcessSubscription {
    async fn next(&mut self, max_wait: Duration) -> Result<Option<Delivery>, BusError> {
        let mut rx = self.rx.lock().await;
        match tokio::time::timeout(max_wait, rx.recv()).await {
            Ok(Some((event, ack))) => Ok(Some(Delivery {
                event,
                malformed: None,
                token: DeliveryToken::InProcess(ack),
            })),
            Ok(None) => Err(BusError::Closed),
            Err(_) => Ok(None),
        }
    }

    async fn ack(&mut self, delivery: Delivery) -> Result<(), BusError> {
        if let DeliveryToken::InProcess(tx) = delivery.token {
            let _ = tx.send(());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Redis Streams bus

/// Events on Redis Streams, one stream per topic, all under one hash tag so a consumer can read
/// several topics in one XREADGROUP on Redis Cluster too.
pub struct RedisBus {
    client: redis::Client,
    conn: redis::aio::ConnectionManager,
    prefix: String,
    max_len: usize,
    /// A delivered but unacknowledged entry idle this long is claimed by another consumer.
    claim_idle: Duration,
}

impl RedisBus {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_string(),
            max_len: 100_000,
            claim_idle: Duration::from_secs(30),
        })
    }

    /// Sets how long an unacknowledged delivery waits before another consumer claims it.
    pub fn with_claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle;
        self
    }

    fn stream_key(&self, topic: &str) -> String {
        format!("{}:{{events}}:{}", self.prefix, topic)
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let body = serde_json::to_string(event)?;
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("XADD")
            .arg(self.stream_key(&event.topic))
            .arg("MAXLEN")
            .arg("~")
            .arg(self.max_len)
            .arg("*")
            .arg("event")
            .arg(body)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn declare_group(&self, group: &str, topics: &[&str]) -> Result<(), BusError> {
        let mut conn = self.conn.clone();
        for topic in topics {
            let key = self.stream_key(topic);
            // Start at 0: a group created after events were published still sees them.
            let res: Result<(), redis::RedisError> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&key)
                .arg(group)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut conn)
                .await;
            if let Err(err) = res
                && err.code() != Some("BUSYGROUP")
            {
                return Err(err.into());
            }
        }
        Ok(())
    }

    async fn tail(&self, topics: &[&str]) -> Result<Box<dyn Tail>, BusError> {
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        let reader = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let streams: Vec<String> = topics.iter().map(|t| self.stream_key(t)).collect();
        // Concrete start ids, not `$`: `$` means "newest at the time of each call", so a stream
        // left at `$` would lose what arrived on it between two reads.
        let mut conn = self.conn.clone();
        let mut positions = Vec::with_capacity(streams.len());
        for key in &streams {
            let last: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
                .arg(key)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await?;
            positions.push(
                last.ids
                    .first()
                    .map_or_else(|| "0-0".to_string(), |e| e.id.clone()),
            );
        }
        Ok(Box::new(RedisTail {
            reader,
            streams,
            positions,
            buffer: VecDeque::new(),
        }))
    }

    async fn subscribe(
        &self,
        group: &str,
        consumer: &str,
        topics: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError> {
        self.declare_group(group, topics).await?;
        let conn = self.conn.clone();
        let streams: Vec<String> = topics.iter().map(|t| self.stream_key(t)).collect();
        // Blocking reads get their own connection so they never stall other commands.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        let reader = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok(Box::new(RedisSubscription {
            reader,
            conn,
            group: group.to_string(),
            consumer: consumer.to_string(),
            streams,
            buffer: VecDeque::new(),
            reading_pending: true,
            claim_idle: self.claim_idle,
            last_claim: tokio::time::Instant::now(),
        }))
    }
}

struct RedisTail {
    reader: redis::aio::MultiplexedConnection,
    streams: Vec<String>,
    /// Last entry id seen per stream (at first, the newest when the tail started).
    positions: Vec<String>,
    buffer: VecDeque<Event>,
}

#[async_trait]
impl Tail for RedisTail {
    async fn next(&mut self, max_wait: Duration) -> Result<Option<Event>, BusError> {
        if let Some(e) = self.buffer.pop_front() {
            return Ok(Some(e));
        }
        let reply: Option<redis::streams::StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(max_wait.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&self.streams)
            .arg(&self.positions)
            .query_async(&mut self.reader)
            .await?;
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            let Some(i) = self.streams.iter().position(|s| *s == key.key) else {
                continue;
            };
            for entry in key.ids {
                self.positions[i] = entry.id.clone();
                if let Some(redis::Value::BulkString(raw)) = entry.map.get("event")
                    && let Ok(event) = serde_json::from_slice::<Event>(raw)
                {
                    self.buffer.push_back(event);
                }
            }
        }
        Ok(self.buffer.pop_front())
    }
}

struct RedisSubscription {
    reader: redis::aio::MultiplexedConnection,
    conn: redis::aio::ConnectionManager,
    group: String,
    consumer: String,
    streams: Vec<String>,
    buffer: VecDeque<Delivery>,
    /// First this consumer's own pending entries (delivered before a restart), then new ones.
    reading_pending: bool,
    claim_idle: Duration,
    last_claim: tokio::time::Instant,
}

impl RedisSubscription {
    fn push_entries(&mut self, stream: &str, ids: Vec<redis::streams::StreamId>) {
        for entry in ids {
            let raw = match entry.map.get("event") {
                Some(redis::Value::BulkString(raw)) => Ok(raw),
                _ => Err("stream entry without an event field".to_string()),
            };
            let parsed = raw.and_then(|raw| {
                serde_json::from_slice::<Event>(raw)
                    .map_err(|err| format!("undecodable event envelope: {err}"))
            });
            let token = DeliveryToken::Redis {
                stream: stream.to_string(),
                entry_id: entry.id.clone(),
            };
            let delivery = match parsed {
                Ok(event) => Delivery {
                    event,
                    malformed: None,
                    token,
                },
                // Never skipped (it would stay pending forever, unread): handed to the consumer
                // loop, which dead-letters the raw entry.
                Err(why) => Delivery {
                    event: malformed_entry(stream, &entry),
                    malformed: Some(why),
                    token,
                },
            };
            self.buffer.push_back(delivery);
        }
    }

    /// Takes over entries another (dead) consumer left unacknowledged for too long.
    async fn claim_stale(&mut self) -> Result<(), BusError> {
        for stream in self.streams.clone() {
            let reply: redis::streams::StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(&stream)
                .arg(&self.group)
                .arg(&self.consumer)
                .arg(self.claim_idle.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(100)
                .query_async(&mut self.conn)
                .await?;
            self.push_entries(&stream, reply.claimed);
        }
        Ok(())
    }
}

#[async_trait]
impl Subscription for RedisSubscription {
    async fn next(&mut self, max_wait: Duration) -> Result<Option<Delivery>, BusError> {
        if let Some(d) = self.buffer.pop_front() {
            return Ok(Some(d));
        }
        if self.reading_pending {
            self.read(max_wait).await?;
            if let Some(d) = self.buffer.pop_front() {
                return Ok(Some(d));
            }
        }
        if self.last_claim.elapsed() >= self.claim_idle {
            self.last_claim = tokio::time::Instant::now();
            self.claim_stale().await?;
            if let Some(d) = self.buffer.pop_front() {
                return Ok(Some(d));
            }
        }
        self.read(max_wait).await?;
        Ok(self.buffer.pop_front())
    }

    async fn ack(&mut self, delivery: Delivery) -> Result<(), BusError> {
        if let DeliveryToken::Redis { stream, entry_id } = delivery.token {
            let _: i64 = redis::cmd("XACK")
                .arg(stream)
                .arg(&self.group)
                .arg(entry_id)
                .query_async(&mut self.conn)
                .await?;
        }
        Ok(())
    }

    async fn delivery_count(&mut self, delivery: &Delivery) -> Result<Option<u32>, BusError> {
        let DeliveryToken::Redis { stream, entry_id } = &delivery.token else {
            return Ok(None);
        };
        // XPENDING key group start end count: [[id, consumer, idle ms, deliveries]].
        let reply: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(stream)
            .arg(&self.group)
            .arg(entry_id)
            .arg(entry_id)
            .arg(1)
            .query_async(&mut self.conn)
            .await?;
        Ok(reply
            .first()
            .map(|(_, _, _, n)| u32::try_from(*n).unwrap_or(u32::MAX)))
    }
}

/// A stand-in event for a stream entry whose envelope cannot be read: its topic is the
/// stream's, its aggregate id the entry id, its payload every field of the entry as read.
fn malformed_entry(stream: &str, entry: &redis::streams::StreamId) -> Event {
    let topic = stream.rsplit_once("}:").map_or(stream, |(_, t)| t);
    let mut payload = Vec::new();
    for (field, value) in &entry.map {
        payload.extend_from_slice(field.as_bytes());
        payload.push(b'=');
        match value {
            redis::Value::BulkString(b) => payload.extend_from_slice(b),
            other => payload.extend_from_slice(format!("{other:?}").as_bytes()),
        }
        payload.push(b'\n');
    }
    Event {
        id: crate::ids::EventId::generate(),
        organization_id: String::new(),
        topic: topic.to_string(),
        aggregate_id: entry.id.clone(),
        payload,
        traceparent: None,
        occurred_at: chrono::Utc::now(),
    }
}

/// Entries one XREADGROUP takes for a consumer.
const READ_BATCH: usize = 4;

impl RedisSubscription {
    /// One XREADGROUP: this consumer's pending entries first (no blocking), then new ones
    /// (blocking up to `max_wait`).
    async fn read(&mut self, max_wait: Duration) -> Result<(), BusError> {
        let id = if self.reading_pending { "0" } else { ">" };
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            // Small batches: a consumer handles its batch one event at a time, so a large one
            // would hoard a burst while the group's other consumers (run_consumers) sit idle.
            .arg("COUNT")
            .arg(READ_BATCH);
        if !self.reading_pending {
            cmd.arg("BLOCK").arg(max_wait.as_millis().max(1) as u64);
        }
        cmd.arg("STREAMS").arg(&self.streams);
        for _ in &self.streams {
            cmd.arg(id);
        }
        let reply: Option<redis::streams::StreamReadReply> =
            cmd.query_async(&mut self.reader).await?;
        let mut got_any = false;
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            got_any |= !key.ids.is_empty();
            self.push_entries(&key.key, key.ids);
        }
        if self.reading_pending && !got_any {
            self.reading_pending = false;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Consumer loop

/// What a handler says about an event it could not handle.
#[derive(Debug)]
pub enum Unhandled {
    /// A passing failure (a dependency down): not acknowledged, delivered again; after
    /// [`DeadLetterPolicy::max_attempts`] deliveries it is dead-lettered.
    Retry(String),
    /// It will never succeed (an undecodable or malformed event): dead-lettered at once, then
    /// acknowledged.
    Drop(String),
}

impl From<crate::outbox::DecodeError> for Unhandled {
    /// An event that cannot be decoded never will be: it is dead-lettered.
    fn from(err: crate::outbox::DecodeError) -> Self {
        Unhandled::Drop(err.to_string())
    }
}

/// What a consumer loop records: `switchboard_bus_consumed_total{group,outcome}` (ok, retry,
/// drop), `switchboard_bus_handle_seconds{group}` and
/// `switchboard_bus_dead_lettered_total{group,topic}`.
struct ConsumerMetrics {
    consumed: prometheus::IntCounterVec,
    seconds: prometheus::Histogram,
    dead_lettered: prometheus::IntCounterVec,
    group: &'static str,
}

impl ConsumerMetrics {
    fn new(metrics: &crate::metrics::Metrics, group: &'static str) -> Self {
        Self {
            consumed: metrics.counter_vec(
                "switchboard_bus_consumed_total",
                "Events handled by a consumer group, by outcome (ok, retry: delivered again, drop: refused for good)",
                &["group", "outcome"],
            ),
            seconds: metrics
                .histogram_vec(
                    "switchboard_bus_handle_seconds",
                    "Seconds a consumer group's handler took for one event, whatever the outcome",
                    &["group"],
                    crate::metrics::LATENCY_BUCKETS,
                )
                .with_label_values(&[group]),
            dead_lettered: metrics.counter_vec(
                "switchboard_bus_dead_lettered_total",
                "Events a consumer group gave up on (undecodable, refused, or failing past the attempt limit), stored in dead_letters",
                &["group", "topic"],
            ),
            group,
        }
    }

    fn handled(&self, outcome: &str, started: std::time::Instant) {
        self.seconds.observe(started.elapsed().as_secs_f64());
        self.consumed
            .with_label_values(&[self.group, outcome])
            .inc();
    }
}

/// Failed deliveries per event id of one consumer group in this process, so an event that
/// keeps asking for a retry is dead-lettered after [`DeadLetterPolicy::max_attempts`]. Bounded:
/// past [`Attempts::CAPACITY`] events the oldest failure is forgotten (that event merely gets
/// more attempts). On Redis the entry's own delivery counter is used when it is higher.
#[derive(Clone, Default)]
pub struct Attempts(Arc<std::sync::Mutex<std::collections::HashMap<String, Failures>>>);

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    first: chrono::DateTime<chrono::Utc>,
}

impl Attempts {
    /// Events tracked at most.
    pub const CAPACITY: usize = 10_000;

    /// Records one more failed delivery of `id`: how many so far, and when the first was.
    fn failed(&self, id: &str) -> Failures {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !map.contains_key(id)
            && map.len() >= Self::CAPACITY
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, f)| f.first)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        let entry = map.entry(id.to_string()).or_insert(Failures {
            count: 0,
            first: chrono::Utc::now(),
        });
        entry.count = entry.count.saturating_add(1);
        *entry
    }

    fn forget(&self, id: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }
}

/// Which consumers [`run_consumers`] runs.
#[derive(Debug, Clone)]
pub struct Consumers {
    pub group: ConsumerGroup,
    /// Base consumer name; each gets `-<i>`.
    pub consumer: String,
    pub concurrency: usize,
    /// Name of each event's span.
    pub span_name: &'static str,
    /// Where events the group cannot handle go.
    pub dead_letters: DeadLetterPolicy,
}

/// Consumes `spec.group` with `spec.concurrency` consumers in this process
/// (`<consumer>-<i>`, each handling one event at a time: handlers that wait on other services
/// overlap instead of queueing behind each other; several only for handlers that are safe to
/// run concurrently, events of one aggregate may then be handled out of order) until
/// `shutdown`.
///
/// Each event goes to `handle` inside a span named `span_name` that continues the producer's
/// trace. Handled events are acknowledged. Nothing is acknowledged unread: an
/// [`Unhandled::Drop`] (or an entry the bus could not even read) is written to the dead-letter
/// sink and only then acknowledged; an [`Unhandled::Retry`] is not acknowledged (the bus
/// delivers it again) until its `max_attempts`-th failure (and at least `min_failing` after the
/// first), when it is dead-lettered too. If the dead letter cannot be stored the event stays
/// unacknowledged. Each dead letter increments `switchboard_bus_dead_lettered_total{group,topic}`
/// and logs an error line. Subscribing is retried every second until it works.
pub async fn run_consumers<F, Fut>(
    bus: Arc<dyn EventBus>,
    metrics: &crate::metrics::Metrics,
    spec: Consumers,
    shutdown: tokio_util::sync::CancellationToken,
    handle: F,
) where
    F: Fn(Event) -> Fut,
    Fut: std::future::Future<Output = Result<(), Unhandled>>,
{
    let recorder = ConsumerMetrics::new(metrics, spec.group.name);
    let attempts = Attempts::default();
    let loops = (0..spec.concurrency.max(1)).map(|i| {
        consume(
            bus.clone(),
            &recorder,
            &spec,
            format!("{}-{i}", spec.consumer),
            &attempts,
            shutdown.clone(),
            &handle,
        )
    });
    futures::future::join_all(loops).await;
}

async fn consume<F, Fut>(
    bus: Arc<dyn EventBus>,
    recorder: &ConsumerMetrics,
    spec: &Consumers,
    consumer: String,
    attempts: &Attempts,
    shutdown: tokio_util::sync::CancellationToken,
    handle: F,
) where
    F: Fn(Event) -> Fut,
    Fut: std::future::Future<Output = Result<(), Unhandled>>,
{
    use tracing::Instrument;
    let group = spec.group;
    let mut sub = loop {
        match bus.subscribe(group.name, &consumer, group.topics).await {
            Ok(s) => break s,
            Err(err) => {
                tracing::warn!(group = group.name, error = %err, "cannot subscribe; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = sub.next(Duration::from_millis(500)) => next,
        };
        let mut delivery = match next {
            Ok(Some(d)) => d,
            Ok(None) => continue,
            Err(err) => {
                tracing::warn!(group = group.name, error = %err, "reading events failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let span =
            tracing::info_span!("event", otel.name = spec.span_name, topic = %delivery.event.topic);
        crate::telemetry::continue_trace(&span, delivery.event.traceparent.as_deref());
        let event_id = delivery.event.id.to_string();
        let started = std::time::Instant::now();
        let outcome = match delivery.malformed.take() {
            Some(why) => Err(Unhandled::Drop(why)),
            None => handle(delivery.event.clone()).instrument(span).await,
        };
        match outcome {
            Ok(()) => {
                recorder.handled("ok", started);
                attempts.forget(&event_id);
                if let Err(err) = sub.ack(delivery).await {
                    tracing::warn!(error = %err, "ack failed; the event will be handled again");
                }
            }
            Err(Unhandled::Retry(why)) => {
                recorder.handled("retry", started);
                let mut failures = attempts.failed(&event_id);
                if let Ok(Some(n)) = sub.delivery_count(&delivery).await {
                    failures.count = failures.count.max(n);
                }
                let failing_for = (chrono::Utc::now() - failures.first)
                    .to_std()
                    .unwrap_or_default();
                if failures.count >= spec.dead_letters.max_attempts
                    && failing_for >= spec.dead_letters.min_failing
                {
                    let why = format!("still failing after {} attempts: {why}", failures.count);
                    dead_letter(&mut *sub, recorder, spec, attempts, delivery, failures, why).await;
                } else {
                    tracing::warn!(group = group.name, event = %event_id, attempts = failures.count, error = %why, "event not handled; will retry");
                }
            }
            Err(Unhandled::Drop(why)) => {
                recorder.handled("drop", started);
                let failures = attempts.failed(&event_id);
                dead_letter(&mut *sub, recorder, spec, attempts, delivery, failures, why).await;
            }
        }
    }
}

/// Stores `delivery` as a dead letter of the group and then acknowledges it; if it cannot be
/// stored, the delivery is left unacknowledged (delivered again, dead-lettered again).
async fn dead_letter(
    sub: &mut dyn Subscription,
    recorder: &ConsumerMetrics,
    spec: &Consumers,
    attempts: &Attempts,
    delivery: Delivery,
    failures: Failures,
    reason: String,
) {
    let group = spec.group.name;
    let event_id = delivery.event.id.to_string();
    let letter = DeadLetter {
        group: group.to_string(),
        event: delivery.event.clone(),
        attempts: failures.count,
        last_error: reason.clone(),
        first_failed_at: failures.first,
        last_failed_at: chrono::Utc::now(),
    };
    if let Err(err) = spec.dead_letters.sink.store(&letter).await {
        tracing::error!(group, topic = %letter.event.topic, event = %event_id, error = %err, "dead letter not stored; the event stays unacknowledged");
        return;
    }
    recorder
        .dead_lettered
        .with_label_values(&[group, letter.event.topic.as_str()])
        .inc();
    attempts.forget(&event_id);
    tracing::error!(
        group,
        topic = %letter.event.topic,
        event = %event_id,
        attempts = failures.count,
        reason = %reason,
        "event dead-lettered"
    );
    if let Err(err) = sub.ack(delivery).await {
        tracing::warn!(group, event = %event_id, error = %err, "ack of a dead-lettered event failed; it will be dead-lettered again");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use switchboard_proto::{events::TypedEvent, routing::v1::OrganizationCreated};

    use super::*;
    use crate::{
        dead_letters::{self, DeadLetterSink, DeadLetters, Selector},
        ids::EventId,
        metrics::{Metrics, sum_samples},
        outbox::{NewEvent, Relay},
    };

    const GROUP: ConsumerGroup = ConsumerGroup {
        name: "test.group",
        topics: &[OrganizationCreated::TOPIC],
    };

    fn event(kind: &str) -> Event {
        Event {
            id: EventId::generate(),
            organization_id: "org".into(),
            topic: OrganizationCreated::TOPIC.into(),
            aggregate_id: kind.into(),
            payload: NewEvent::typed("org", kind, &OrganizationCreated { name: kind.into() })
                .payload,
            traceparent: None,
            occurred_at: chrono::Utc::now(),
        }
    }

    /// Storage with the outbox and the dead letters, in memory.
    async fn storage() -> sea_orm::DatabaseConnection {
        let db = sea_orm::Database::connect("sqlite::memory:")
            .await
            .expect("sqlite");
        let manager = sea_orm_migration::SchemaManager::new(&db);
        sea_orm_migration::MigrationTrait::up(&crate::outbox::migration::CreateOutbox, &manager)
            .await
            .expect("outbox");
        sea_orm_migration::MigrationTrait::up(
            &dead_letters::migration::CreateDeadLetters,
            &manager,
        )
        .await
        .expect("dead letters");
        db
    }

    /// The dead-letter table, refusing writes while `down` is set.
    struct FlakySink {
        inner: DeadLetters,
        down: AtomicBool,
    }

    #[async_trait]
    impl DeadLetterSink for FlakySink {
        async fn store(&self, letter: &DeadLetter) -> anyhow::Result<()> {
            if self.down.load(Ordering::SeqCst) {
                anyhow::bail!("dead-letter storage down");
            }
            self.inner.store(letter).await
        }
    }

    fn spec(sink: Arc<dyn DeadLetterSink>, max_attempts: u32) -> Consumers {
        Consumers {
            group: GROUP,
            consumer: "c".into(),
            concurrency: 1,
            span_name: "test.event",
            dead_letters: DeadLetterPolicy {
                sink,
                max_attempts,
                min_failing: Duration::ZERO,
            },
        }
    }

    #[tokio::test]
    async fn the_consumer_loop_counts_each_outcome_and_times_every_event() {
        let db = storage().await;
        let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new(Duration::from_secs(5)));
        bus.declare_group(GROUP.name, GROUP.topics)
            .await
            .expect("declared");
        let metrics = Metrics::new();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let consumer = tokio::spawn({
            let (bus, metrics, shutdown) = (bus.clone(), metrics.clone(), shutdown.clone());
            let spec = spec(Arc::new(DeadLetters(db.clone())), 5);
            async move {
                run_consumers(bus, &metrics, spec, shutdown, |event| async move {
                    match event.aggregate_id.as_str() {
                        "ok" => Ok(()),
                        "drop" => Err(Unhandled::Drop("malformed".into())),
                        _ => Err(Unhandled::Retry("dependency down".into())),
                    }
                })
                .await
            }
        });
        // The in-process bus returns once the event was acknowledged (or, for a retry, once its
        // delivery was let go): each outcome is recorded by then.
        for kind in ["ok", "ok", "drop"] {
            bus.publish(&event(kind)).await.expect("acknowledged");
        }
        assert!(bus.publish(&event("retry")).await.is_err());
        shutdown.cancel();
        consumer.await.expect("consumer stops");

        let text = metrics.render();
        let consumed = |outcome: &str| {
            sum_samples(
                &text,
                "switchboard_bus_consumed_total",
                &[("group", "test.group"), ("outcome", outcome)],
            )
        };
        assert_eq!(consumed("ok"), Some(2.0), "{text}");
        assert_eq!(consumed("drop"), Some(1.0), "{text}");
        assert_eq!(consumed("retry"), Some(1.0), "{text}");
        assert_eq!(
            sum_samples(
                &text,
                "switchboard_bus_handle_seconds_count",
                &[("group", "test.group")]
            ),
            Some(4.0),
            "{text}"
        );
        // The dropped one is a dead letter, not lost.
        let letters = dead_letters::list(&db, &Selector::default())
            .await
            .expect("listed");
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].event.aggregate_id, "drop");
    }

    #[tokio::test]
    async fn an_undecodable_event_is_dead_lettered_acknowledged_only_once_stored_and_replayed() {
        let db = storage().await;
        let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new(Duration::from_secs(5)));
        bus.declare_group(GROUP.name, GROUP.topics)
            .await
            .expect("declared");
        let metrics = Metrics::new();
        let sink = Arc::new(FlakySink {
            inner: DeadLetters(db.clone()),
            down: AtomicBool::new(true),
        });
        let dependency_up = Arc::new(AtomicBool::new(false));
        let handled = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = Arc::new(AtomicUsize::new(0));
        let shutdown = tokio_util::sync::CancellationToken::new();
        let consumer = tokio::spawn({
            let (bus, metrics, shutdown) = (bus.clone(), metrics.clone(), shutdown.clone());
            let spec = spec(sink.clone(), 3);
            let (dependency_up, handled, seen) =
                (dependency_up.clone(), handled.clone(), seen.clone());
            async move {
                run_consumers(bus, &metrics, spec, shutdown, move |event| {
                    let (dependency_up, handled, seen) =
                        (dependency_up.clone(), handled.clone(), seen.clone());
                    async move {
                        seen.fetch_add(1, Ordering::SeqCst);
                        let created = event.decode::<OrganizationCreated>()?;
                        if !dependency_up.load(Ordering::SeqCst) {
                            return Err(Unhandled::Retry("dependency down".into()));
                        }
                        handled.lock().expect("lock").push(created.name);
                        Ok(())
                    }
                })
                .await
            }
        });
        let letters = || async {
            dead_letters::list(&db, &Selector::default())
                .await
                .expect("listed")
        };
        let dead_lettered = || {
            sum_samples(
                &metrics.render(),
                "switchboard_bus_dead_lettered_total",
                &[("group", GROUP.name), ("topic", OrganizationCreated::TOPIC)],
            )
            .unwrap_or(0.0)
        };

        // Garbage where an OrganizationCreated should be (a truncated varint).
        let mut garbage = event("garbage");
        garbage.payload = vec![0xff, 0xff, 0xff];
        // The dead-letter store is down: the event is not acknowledged (the in-process bus
        // reports it unacknowledged, the outbox would relay it again) and nothing is counted.
        assert!(bus.publish(&garbage).await.is_err());
        assert!(letters().await.is_empty());
        assert_eq!(dead_lettered(), 0.0);
        // Once the store is back, the next delivery is dead-lettered and only then acknowledged.
        sink.down.store(false, Ordering::SeqCst);
        bus.publish(&garbage)
            .await
            .expect("acknowledged after the dead letter");
        let stored = letters().await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].group, GROUP.name);
        assert_eq!(stored[0].event, garbage, "kept byte for byte");
        assert_eq!(stored[0].attempts, 2);
        assert!(
            stored[0].last_error.contains("undecodable"),
            "{}",
            stored[0].last_error
        );
        assert_eq!(dead_lettered(), 1.0);

        // A decodable event whose handler keeps failing: retried, dead-lettered at the third.
        let stuck = event("stuck");
        assert!(bus.publish(&stuck).await.is_err());
        assert!(bus.publish(&stuck).await.is_err());
        bus.publish(&stuck)
            .await
            .expect("dead-lettered at the third attempt");
        let stuck_letter = dead_letters::list(
            &db,
            &Selector {
                event_id: Some(stuck.id.to_string()),
                ..Selector::default()
            },
        )
        .await
        .expect("listed");
        assert_eq!(stuck_letter.len(), 1);
        assert_eq!(stuck_letter[0].attempts, 3);
        assert_eq!(dead_lettered(), 2.0);

        // Replay hands it back through the outbox: the relay publishes it, it is handled now.
        dependency_up.store(true, Ordering::SeqCst);
        let by_id = Selector {
            event_id: Some(stuck.id.to_string()),
            ..Selector::default()
        };
        assert_eq!(
            dead_letters::replay(&db, &by_id).await.expect("replayed"),
            1
        );
        let relay = Relay::new(db.clone(), bus.clone(), 10, Duration::from_millis(10));
        assert_eq!(relay.relay_once().await.expect("relayed"), 1);
        assert_eq!(*handled.lock().expect("lock"), vec!["stuck".to_string()]);
        // The garbage one, replayed, is delivered again (and dead-lettered again: still garbage).
        let before = seen.load(Ordering::SeqCst);
        let by_group = Selector {
            group: Some(GROUP.name.into()),
            ..Selector::default()
        };
        assert_eq!(
            dead_letters::replay(&db, &by_group)
                .await
                .expect("replayed"),
            1
        );
        assert_eq!(relay.relay_once().await.expect("relayed"), 1);
        assert_eq!(seen.load(Ordering::SeqCst), before + 1);
        let again = letters().await;
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].event.id, garbage.id);
        assert_eq!(dead_lettered(), 3.0);

        shutdown.cancel();
        consumer.await.expect("consumer stops");
    }

    /// A row its writer garbled must neither block the outbox nor vanish: the relay publishes
    /// the rows around it and keeps it back, counted, where `switchboard quarantined` reads it.
    #[tokio::test]
    async fn the_relay_quarantines_an_undecodable_row_and_publishes_the_rest() {
        let db = storage().await;
        let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new(Duration::from_secs(5)));
        bus.declare_group(GROUP.name, GROUP.topics)
            .await
            .expect("declared");
        let mut sub = bus
            .subscribe(GROUP.name, "c", GROUP.topics)
            .await
            .expect("subscribed");
        for name in ["before", "garbled", "after"] {
            crate::outbox::enqueue(
                &db,
                NewEvent::typed("org", name, &OrganizationCreated { name: name.into() }),
            )
            .await
            .expect("enqueued");
        }
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        crate::outbox::entity::Entity::update_many()
            .col_expr(
                crate::outbox::entity::Column::Payload,
                sea_orm::sea_query::Expr::value("%%% not base64 %%%"),
            )
            .filter(crate::outbox::entity::Column::AggregateId.eq("garbled"))
            .exec(&db)
            .await
            .expect("garbled");
        let metrics = Metrics::new();
        let relay = Relay::new(db.clone(), bus.clone(), 10, Duration::from_millis(10))
            .with_metrics(&metrics, "test");
        // The in-process bus answers a publish once a consumer acknowledged it.
        let reader = tokio::spawn(async move {
            let mut delivered = Vec::new();
            while let Some(d) = sub.next(Duration::from_millis(500)).await.expect("next") {
                delivered.push(d.event.aggregate_id.clone());
                sub.ack(d).await.expect("acked");
            }
            delivered
        });
        assert_eq!(relay.relay_once().await.expect("relayed"), 2);
        assert_eq!(reader.await.expect("read"), vec!["before", "after"]);
        let kept = crate::outbox::quarantined(&db).await.expect("listed");
        assert_eq!(kept.len(), 1, "the garbled row is kept, not dropped");
        assert_eq!(kept[0].aggregate_id, "garbled");
        assert_eq!(
            sum_samples(
                &metrics.render(),
                "switchboard_outbox_quarantined_total",
                &[]
            ),
            Some(1.0)
        );
        // Later passes leave it where it is and do not count it again.
        assert_eq!(relay.relay_once().await.expect("relayed"), 0);
        assert_eq!(
            crate::outbox::quarantined(&db).await.expect("listed").len(),
            1
        );
        assert_eq!(
            sum_samples(
                &metrics.render(),
                "switchboard_outbox_quarantined_total",
                &[]
            ),
            Some(1.0)
        );
    }
}
