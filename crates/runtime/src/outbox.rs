//! The transactional outbox: a service writes its events in the same transaction as the change
//! ([`enqueue`]), and a relay moves committed events to the event bus, deleting each row only
//! after the bus accepted it. A crash between commit and relay loses nothing (the row stays and
//! is relayed after restart); a crash between publish and delete relays it again, so consumers
//! deduplicate by event id (at-least-once).
//!
//! # Wire form
//!
//! An event's payload is one proto message of `proto/switchboard/<service>/v1/events.proto`
//! (a [`TypedEvent`]), carried as its **protobuf binary encoding**: in the outbox row as
//! standard base64 in the `payload` text column (the existing column, valid UTF-8 on SQLite and
//! PostgreSQL alike), on Redis as the base64 `payload` of the JSON envelope, in process as the
//! bytes themselves. Binary protobuf rather than the proto's canonical JSON because it is what
//! prost generates and checks without a reflection layer (canonical JSON would need pbjson and
//! descriptors at run time), it keeps the evolution rules of proto (fields are added by number,
//! unknown ones skipped) and it is what any other consumer of the bus decodes with the same
//! `.proto`. The envelope stays JSON so an operator can still read ids, topic and time with
//! `XRANGE`, and a dead letter's payload can be replayed byte for byte.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{bus::EventBus, ids::EventId};
pub use switchboard_proto::events::TypedEvent;

/// A fact that happened, as relayed on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id; consumers deduplicate on it.
    pub id: EventId,
    /// The tenant the fact belongs to.
    pub organization_id: String,
    /// Dotted topic, `<service>.<entity>.<verb>`, e.g. `routing.organization.created`.
    pub topic: String,
    /// Id of the entity the fact is about.
    pub aggregate_id: String,
    /// The topic's proto message ([`TypedEvent`]), protobuf encoded; base64 in JSON.
    #[serde(with = "base64_bytes")]
    pub payload: Vec<u8>,
    /// W3C `traceparent` of the span that produced it, so consumers continue the trace.
    pub traceparent: Option<String>,
    /// When the change committed (by the producer's clock).
    pub occurred_at: DateTime<Utc>,
}

/// Why an event's payload is not the message a consumer expected. It never gets better by
/// retrying: consumers dead-letter it ([`crate::bus::Unhandled::Drop`]).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("event {event} has topic {actual}, not {expected}")]
    WrongTopic {
        event: String,
        expected: &'static str,
        actual: String,
    },
    #[error("event {event} on {topic}: undecodable payload: {source}")]
    Payload {
        event: String,
        topic: String,
        source: prost::DecodeError,
    },
}

impl Event {
    /// The payload as `T`, the message of this event's topic. An event of another topic or a
    /// payload that is not a valid `T` is an error (never a default message).
    pub fn decode<T: TypedEvent>(&self) -> Result<T, DecodeError> {
        if self.topic != T::TOPIC {
            return Err(DecodeError::WrongTopic {
                event: self.id.to_string(),
                expected: T::TOPIC,
                actual: self.topic.clone(),
            });
        }
        T::decode(self.payload.as_slice()).map_err(|source| DecodeError::Payload {
            event: self.id.to_string(),
            topic: self.topic.clone(),
            source,
        })
    }
}

/// Serde of payload bytes as standard base64 (the JSON envelope on Redis).
pub(crate) mod base64_bytes {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// An event to write with a change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub organization_id: String,
    pub topic: String,
    pub aggregate_id: String,
    /// The encoded message of `topic`; build with [`NewEvent::typed`].
    pub payload: Vec<u8>,
}

impl NewEvent {
    /// The event of `message` (its topic is `T::TOPIC`) about `aggregate_id`.
    pub fn typed<T: TypedEvent>(
        organization_id: impl Into<String>,
        aggregate_id: impl Into<String>,
        message: &T,
    ) -> Self {
        Self {
            organization_id: organization_id.into(),
            topic: T::TOPIC.to_string(),
            aggregate_id: aggregate_id.into(),
            payload: message.encode_to_vec(),
        }
    }
}

/// The `outbox_events` table every service has in its own storage.
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        #[sea_orm(unique)]
        pub event_id: String,
        pub organization_id: String,
        pub topic: String,
        pub aggregate_id: String,
        pub payload: String,
        pub traceparent: Option<String>,
        pub occurred_at: DateTimeUtc,
        /// Unix milliseconds until which a relay holds the row (a lease, so a relay that dies
        /// mid-pass leaves it to another after the lease).
        pub claimed_until_ms: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The migration that creates `outbox_events`; every service's migrator lists it.
pub mod migration {
    use sea_orm_migration::{prelude::*, schema::*};

    pub struct CreateOutbox;

    impl MigrationName for CreateOutbox {
        fn name(&self) -> &str {
            "m0001_create_outbox_events"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for CreateOutbox {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table("outbox_events")
                        .if_not_exists()
                        .col(big_integer("seq").auto_increment().primary_key())
                        .col(string_len_uniq("event_id", 64))
                        .col(string_len("organization_id", 64))
                        .col(string_len("topic", 128))
                        .col(string_len("aggregate_id", 64))
                        .col(text("payload"))
                        .col(string_len_null("traceparent", 128))
                        .col(timestamp_with_time_zone("occurred_at"))
                        .col(big_integer_null("claimed_until_ms"))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table("outbox_events").to_owned())
                .await
        }
    }
}

/// Writes `event` in the caller's transaction; it is relayed once that transaction commits.
pub async fn enqueue<C: ConnectionTrait>(conn: &C, event: NewEvent) -> Result<EventId, DbErr> {
    let id = EventId::generate();
    let row = entity::ActiveModel {
        event_id: Set(id.to_string()),
        organization_id: Set(event.organization_id),
        topic: Set(event.topic),
        aggregate_id: Set(event.aggregate_id),
        payload: Set(encode_payload(&event.payload)),
        traceparent: Set(crate::telemetry::current_traceparent()),
        occurred_at: Set(Utc::now()),
        claimed_until_ms: Set(None),
        ..Default::default()
    };
    entity::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(id)
}

/// Wakes the relay right after a commit so events do not wait for the next poll.
#[derive(Clone, Default)]
pub struct RelayWaker(Arc<Notify>);

impl RelayWaker {
    /// Call after committing a transaction that enqueued events.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Moves committed events from a service's outbox to the bus.
pub struct Relay {
    db: DatabaseConnection,
    bus: Arc<dyn EventBus>,
    batch_size: u64,
    poll_interval: Duration,
    waker: RelayWaker,
    metrics: Option<RelayMetrics>,
}

/// What a relay records: `switchboard_outbox_relayed_total{service}`,
/// `switchboard_outbox_relay_lag_seconds{service}` (event written → accepted by the bus) and
/// `switchboard_outbox_quarantined_total{service}` (rows kept back as undecodable).
struct RelayMetrics {
    relayed: prometheus::IntCounter,
    lag: prometheus::Histogram,
    quarantined: prometheus::IntCounter,
}

impl RelayMetrics {
    fn new(metrics: &crate::metrics::Metrics, service: &str) -> Self {
        Self {
            relayed: metrics
                .counter_vec(
                    "switchboard_outbox_relayed_total",
                    "Outbox events published to the bus, by producing service",
                    &["service"],
                )
                .with_label_values(&[service]),
            lag: metrics
                .histogram_vec(
                    "switchboard_outbox_relay_lag_seconds",
                    "Seconds from an event's write (in the producer's transaction) to the bus accepting it",
                    &["service"],
                    crate::metrics::LAG_BUCKETS,
                )
                .with_label_values(&[service]),
            quarantined: metrics
                .counter_vec(
                    "switchboard_outbox_quarantined_total",
                    "Outbox rows the relay could not decode and kept back (never published, never deleted); alert on any increase",
                    &["service"],
                )
                .with_label_values(&[service]),
        }
    }

    fn published(&self, event: &Event) {
        self.relayed.inc();
        let lag = (Utc::now() - event.occurred_at).num_milliseconds().max(0);
        self.lag.observe(lag as f64 / 1000.0);
    }
}

impl Relay {
    pub fn new(
        db: DatabaseConnection,
        bus: Arc<dyn EventBus>,
        batch_size: u32,
        poll_interval: Duration,
    ) -> Self {
        Self {
            db,
            bus,
            batch_size: u64::from(batch_size),
            poll_interval,
            waker: RelayWaker::default(),
            metrics: None,
        }
    }

    /// Records what this relay publishes in `metrics`, labelled with the producing `service`.
    pub fn with_metrics(mut self, metrics: &crate::metrics::Metrics, service: &str) -> Self {
        self.metrics = Some(RelayMetrics::new(metrics, service));
        self
    }

    /// A handle that wakes this relay.
    pub fn waker(&self) -> RelayWaker {
        self.waker.clone()
    }

    /// Relays until `shutdown`; a failed pass is retried after the poll interval.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            // A pass is abandoned at shutdown (a publish may wait for an acknowledgement that a
            // stopped consumer will never send); what it claimed is relayed again after the
            // lease, so nothing is lost.
            let pass = tokio::select! {
                _ = shutdown.cancelled() => return,
                pass = self.relay_once() => pass,
            };
            let relayed = match pass {
                Ok(n) => n,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox relay pass failed; retrying");
                    0
                }
            };
            if relayed as u64 == self.batch_size {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.waker.0.notified() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }

    /// One pass: claims up to a batch of the oldest unclaimed events with a lease (one
    /// statement; SKIP LOCKED on PostgreSQL so replicas share the work), publishes them in order
    /// and deletes what the bus accepted. No transaction is held while publishing, so a consumer
    /// writing to the same database is never blocked by the relay.
    pub async fn relay_once(&self) -> anyhow::Result<usize> {
        let now_ms = Utc::now().timestamp_millis();
        let lease_ms = now_ms + CLAIM_LEASE.as_millis() as i64;
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => {
                "UPDATE outbox_events SET claimed_until_ms = $1 WHERE seq IN (\
                 SELECT seq FROM outbox_events \
                 WHERE claimed_until_ms IS NULL OR claimed_until_ms < $2 \
                 ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING seq, event_id, organization_id, topic, aggregate_id, payload, \
                 traceparent, occurred_at, claimed_until_ms"
            }
            _ => {
                "UPDATE outbox_events SET claimed_until_ms = ? WHERE seq IN (\
                 SELECT seq FROM outbox_events \
                 WHERE claimed_until_ms IS NULL OR claimed_until_ms < ? \
                 ORDER BY seq LIMIT ?) \
                 RETURNING seq, event_id, organization_id, topic, aggregate_id, payload, \
                 traceparent, occurred_at, claimed_until_ms"
            }
        };
        let mut rows = entity::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(
                backend,
                sql,
                [
                    lease_ms.into(),
                    now_ms.into(),
                    (self.batch_size as i64).into(),
                ],
            ))
            .all(&self.db)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        rows.sort_by_key(|r| r.seq);
        let mut published = Vec::with_capacity(rows.len());
        let mut unpublished = Vec::new();
        let mut quarantined = Vec::new();
        let mut failure = None;
        for row in rows {
            let seq = row.seq;
            if failure.is_some() {
                unpublished.push(seq);
                continue;
            }
            let event = match to_event(row) {
                Ok(e) => e,
                Err(err) => {
                    // A row that cannot be decoded (only a bug in the writer makes one) must
                    // neither block the outbox nor vanish: it is kept back in place, out of
                    // every relay's reach, with a metric and an error line; an SRE reads it
                    // with `switchboard outbox quarantined` and fixes or deletes it.
                    tracing::error!(seq, error = %err, "undecodable outbox row quarantined");
                    if let Some(m) = &self.metrics {
                        m.quarantined.inc();
                    }
                    quarantined.push(seq);
                    continue;
                }
            };
            match self.bus.publish(&event).await {
                Ok(()) => {
                    if let Some(m) = &self.metrics {
                        m.published(&event);
                    }
                    published.push(seq);
                }
                Err(err) => {
                    failure = Some(err);
                    unpublished.push(seq);
                }
            }
        }
        let n = published.len();
        if !quarantined.is_empty() {
            entity::Entity::update_many()
                .col_expr(
                    entity::Column::ClaimedUntilMs,
                    sea_orm::sea_query::Expr::value(QUARANTINED),
                )
                .filter(entity::Column::Seq.is_in(quarantined))
                .exec(&self.db)
                .await?;
        }
        if !published.is_empty() {
            entity::Entity::delete_many()
                .filter(entity::Column::Seq.is_in(published))
                .exec(&self.db)
                .await?;
        }
        if let Some(err) = failure {
            // Give the rest back at once instead of waiting for the lease to run out.
            entity::Entity::update_many()
                .col_expr(
                    entity::Column::ClaimedUntilMs,
                    sea_orm::sea_query::Expr::value(Option::<i64>::None),
                )
                .filter(entity::Column::Seq.is_in(unpublished))
                .exec(&self.db)
                .await?;
            return Err(anyhow::anyhow!(
                "bus refused an event after {n} were relayed: {err}"
            ));
        }
        tracing::debug!(relayed = n, "outbox relayed");
        Ok(n)
    }
}

/// How long a relay holds claimed rows before another relay may take them.
const CLAIM_LEASE: Duration = Duration::from_secs(60);

/// The claim of a quarantined row: a lease that never runs out.
const QUARANTINED: i64 = i64::MAX;

/// The outbox rows kept back as undecodable (seq, event id, topic, payload as stored), oldest
/// first: what `switchboard outbox quarantined` prints.
pub async fn quarantined<C: ConnectionTrait>(conn: &C) -> Result<Vec<entity::Model>, DbErr> {
    entity::Entity::find()
        .filter(entity::Column::ClaimedUntilMs.eq(QUARANTINED))
        .order_by_asc(entity::Column::Seq)
        .all(conn)
        .await
}

/// A payload as stored in a text column (outbox, dead letters): standard base64.
pub(crate) fn encode_payload(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bytes of a stored payload.
pub(crate) fn decode_payload(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text)
}

fn to_event(row: entity::Model) -> anyhow::Result<Event> {
    Ok(Event {
        id: EventId::parse(&row.event_id)?,
        organization_id: row.organization_id,
        topic: row.topic,
        aggregate_id: row.aggregate_id,
        payload: decode_payload(&row.payload)?,
        traceparent: row.traceparent,
        occurred_at: row.occurred_at,
    })
}

/// Consumers record the events they handled here, in the same transaction as the effect, so a
/// redelivered event changes nothing (`processed_events`, one row per consumer group and event).
pub mod dedup {
    use sea_orm::{ConnectionTrait, DbErr, Statement};
    use sea_orm_migration::{prelude::*, schema::*};

    use crate::ids::EventId;

    /// Records `event_id` for `group`; false when it was already recorded (skip the effect).
    pub async fn first_delivery<C: ConnectionTrait>(
        conn: &C,
        group: &str,
        event_id: &EventId,
    ) -> Result<bool, DbErr> {
        let backend = conn.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES ($1, $2, CURRENT_TIMESTAMP) ON CONFLICT DO NOTHING"
            }
            _ => {
                "INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES (?, ?, CURRENT_TIMESTAMP) ON CONFLICT DO NOTHING"
            }
        };
        let res = conn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [group.into(), event_id.as_str().into()],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// The migration that creates `processed_events`.
    pub struct CreateProcessedEvents;

    impl MigrationName for CreateProcessedEvents {
        fn name(&self) -> &str {
            "m0002_create_processed_events"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for CreateProcessedEvents {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table("processed_events")
                        .if_not_exists()
                        .col(string_len("consumer_group", 128))
                        .col(string_len("event_id", 64))
                        .col(timestamp_with_time_zone("processed_at"))
                        .primary_key(Index::create().col("consumer_group").col("event_id"))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table("processed_events").to_owned())
                .await
        }
    }
}
