//! Dead letters: events a consumer group could not handle, kept where an SRE sees them and can
//! replay them. A consumer never acknowledges an event it did not handle: an event its handler
//! refuses for good ([`crate::bus::Unhandled::Drop`]: undecodable, malformed) or that keeps
//! failing ([`crate::bus::Unhandled::Retry`] past [`DeadLetterPolicy::max_attempts`]) is written
//! to the `dead_letters` table of the consuming service's storage, and only then acknowledged; if
//! that write fails the event stays unacknowledged and is delivered again.
//!
//! Each dead letter increments `switchboard_bus_dead_lettered_total{group,topic}` and logs one
//! error line (`event dead-lettered`, with group, topic, event id, attempts and reason); see
//! docs/observability.md. [`replay`] (`switchboard dead-letters replay`) hands them back.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait, sea_query::OnConflict,
};

use crate::{
    ids::EventId,
    outbox::{self, Event, decode_payload, encode_payload},
};

/// Delivery attempts after which an event whose handler keeps asking for a retry is
/// dead-lettered (`outbox.dead_letter_after_attempts`).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// How long an event whose handler keeps asking for a retry has to have been failing, besides
/// the attempts, before it is dead-lettered: in process a retry can come back within
/// milliseconds (the relay is woken by every commit), and a dependency restarting for a few
/// seconds must not fill the dead letters.
pub const DEFAULT_MIN_FAILING: std::time::Duration = std::time::Duration::from_secs(10);

/// One event a consumer group gave up on.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The consumer group that could not handle it.
    pub group: String,
    /// The event, as delivered (payload bytes untouched).
    pub event: Event,
    /// Deliveries tried.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: String,
    pub first_failed_at: DateTime<Utc>,
    pub last_failed_at: DateTime<Utc>,
}

/// Where a consumer loop writes its dead letters.
#[async_trait]
pub trait DeadLetterSink: Send + Sync + 'static {
    /// Stores `letter` durably (a second letter for the same group and event replaces the
    /// first, keeping its first failure time); the event is acknowledged only after this
    /// returned `Ok`.
    async fn store(&self, letter: &DeadLetter) -> anyhow::Result<()>;
}

/// What a consumer group does with events it cannot handle.
#[derive(Clone)]
pub struct DeadLetterPolicy {
    pub sink: Arc<dyn DeadLetterSink>,
    /// Deliveries of an event that keeps asking for a retry before it is dead-lettered (at
    /// least 1).
    pub max_attempts: u32,
    /// And for at least this long since its first failure.
    pub min_failing: std::time::Duration,
}

impl std::fmt::Debug for DeadLetterPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("min_failing", &self.min_failing)
            .finish_non_exhaustive()
    }
}

impl DeadLetterPolicy {
    /// Dead letters go to `db`'s `dead_letters` table (the consuming service's storage).
    pub fn new(db: DatabaseConnection, max_attempts: u32) -> Self {
        Self {
            sink: Arc::new(DeadLetters(db)),
            max_attempts: max_attempts.max(1),
            min_failing: DEFAULT_MIN_FAILING,
        }
    }
}

/// The `dead_letters` table of a service's storage.
#[derive(Clone)]
pub struct DeadLetters(pub DatabaseConnection);

#[async_trait]
impl DeadLetterSink for DeadLetters {
    async fn store(&self, letter: &DeadLetter) -> anyhow::Result<()> {
        store(&self.0, letter).await?;
        Ok(())
    }
}

/// The `dead_letters` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dead_letters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer_group: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub organization_id: String,
        pub topic: String,
        pub aggregate_id: String,
        /// Standard base64 of the payload bytes, as in the outbox.
        pub payload: String,
        pub traceparent: Option<String>,
        pub occurred_at: DateTimeUtc,
        pub attempts: i32,
        pub last_error: String,
        pub first_failed_at: DateTimeUtc,
        pub last_failed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The migration that creates `dead_letters`; the migrator of every service that runs
/// consumers lists it.
pub mod migration {
    use sea_orm_migration::{prelude::*, schema::*};

    pub struct CreateDeadLetters;

    impl MigrationName for CreateDeadLetters {
        fn name(&self) -> &str {
            "m0100_create_dead_letters"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for CreateDeadLetters {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table("dead_letters")
                        .if_not_exists()
                        .col(string_len("consumer_group", 128))
                        .col(string_len("event_id", 64))
                        .col(string_len("organization_id", 64))
                        .col(string_len("topic", 128))
                        .col(string_len("aggregate_id", 128))
                        .col(text("payload"))
                        .col(string_len_null("traceparent", 128))
                        .col(timestamp_with_time_zone("occurred_at"))
                        .col(integer("attempts"))
                        .col(text("last_error"))
                        .col(timestamp_with_time_zone("first_failed_at"))
                        .col(timestamp_with_time_zone("last_failed_at"))
                        .primary_key(Index::create().col("consumer_group").col("event_id"))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table("dead_letters").to_owned())
                .await
        }
    }
}

/// Writes `letter`, replacing an earlier one of the same group and event (its first failure
/// time is kept).
pub async fn store<C: ConnectionTrait>(conn: &C, letter: &DeadLetter) -> Result<(), DbErr> {
    let e = &letter.event;
    let row = entity::ActiveModel {
        consumer_group: Set(letter.group.clone()),
        event_id: Set(e.id.to_string()),
        organization_id: Set(e.organization_id.clone()),
        topic: Set(e.topic.clone()),
        aggregate_id: Set(e.aggregate_id.clone()),
        payload: Set(encode_payload(&e.payload)),
        traceparent: Set(e.traceparent.clone()),
        occurred_at: Set(e.occurred_at),
        attempts: Set(i32::try_from(letter.attempts).unwrap_or(i32::MAX)),
        last_error: Set(letter.last_error.clone()),
        first_failed_at: Set(letter.first_failed_at),
        last_failed_at: Set(letter.last_failed_at),
    };
    entity::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([entity::Column::ConsumerGroup, entity::Column::EventId])
                .update_columns([
                    entity::Column::Attempts,
                    entity::Column::LastError,
                    entity::Column::LastFailedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Which dead letters [`list`] and [`replay`] take.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// Only this consumer group's.
    pub group: Option<String>,
    /// Only this event's (evt_ id).
    pub event_id: Option<String>,
}

/// The dead letters `selector` picks, oldest failure first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    selector: &Selector,
) -> anyhow::Result<Vec<DeadLetter>> {
    let mut query = entity::Entity::find().order_by_asc(entity::Column::FirstFailedAt);
    if let Some(group) = &selector.group {
        query = query.filter(entity::Column::ConsumerGroup.eq(group.as_str()));
    }
    if let Some(id) = &selector.event_id {
        query = query.filter(entity::Column::EventId.eq(id.as_str()));
    }
    query.all(conn).await?.into_iter().map(from_row).collect()
}

fn from_row(row: entity::Model) -> anyhow::Result<DeadLetter> {
    Ok(DeadLetter {
        group: row.consumer_group,
        event: Event {
            id: EventId::parse(&row.event_id)?,
            organization_id: row.organization_id,
            topic: row.topic,
            aggregate_id: row.aggregate_id,
            payload: decode_payload(&row.payload)?,
            traceparent: row.traceparent,
            occurred_at: row.occurred_at,
        },
        attempts: u32::try_from(row.attempts).unwrap_or_default(),
        last_error: row.last_error,
        first_failed_at: row.first_failed_at,
        last_failed_at: row.last_failed_at,
    })
}

/// Hands the dead letters `selector` picks back to the bus, unchanged (same event id, topic,
/// payload bytes and trace), and deletes them: in one transaction each is written to this
/// storage's outbox and removed from `dead_letters`, so the service's relay publishes it as
/// soon as it is committed and nothing is lost or doubled by a crash in between. Going through
/// the outbox (rather than publishing from here) also works with the in-process bus of the
/// embedded default, where the process running this command has no consumers of its own.
///
/// The event goes to its topic, so every group of that topic receives it again; consumers are
/// idempotent by event id (at-least-once delivery). Returns how many were handed back.
pub async fn replay(db: &DatabaseConnection, selector: &Selector) -> anyhow::Result<usize> {
    let txn = db.begin().await?;
    let letters = list(&txn, selector).await?;
    let mut requeued = std::collections::HashSet::new();
    for letter in &letters {
        let e = &letter.event;
        // Two groups of this storage may have dead-lettered the same event: it is published
        // once (the topic reaches both).
        if requeued.insert(e.id.clone()) {
            outbox::entity::Entity::insert(outbox::entity::ActiveModel {
                event_id: Set(e.id.to_string()),
                organization_id: Set(e.organization_id.clone()),
                topic: Set(e.topic.clone()),
                aggregate_id: Set(e.aggregate_id.clone()),
                payload: Set(encode_payload(&e.payload)),
                traceparent: Set(e.traceparent.clone()),
                occurred_at: Set(e.occurred_at),
                claimed_until_ms: Set(None),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::column(outbox::entity::Column::EventId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        entity::Entity::delete_many()
            .filter(entity::Column::ConsumerGroup.eq(letter.group.as_str()))
            .filter(entity::Column::EventId.eq(e.id.as_str()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    if !letters.is_empty() {
        tracing::info!(
            replayed = letters.len(),
            group = selector.group.as_deref().unwrap_or("*"),
            "dead letters handed back to the outbox"
        );
    }
    Ok(letters.len())
}
