//! Integrations' schema migrations (in its own SQLite file or PostgreSQL schema): the
//! per-organization feed with its counters, webhook endpoints, deliveries and their attempts.

use sea_orm_migration::prelude::*;
use switchboard_runtime::{
    db::{CHURN, SqlMigration, TuneHotTables},
    outbox::{dedup::CreateProcessedEvents, migration::CreateOutbox},
};

/// Tables whose rows churn: kept vacuumed on PostgreSQL.
pub const HOT_TABLES: &[&str] = &[
    "processed_events",
    "feed_counters",
    "feed_events",
    "webhook_deliveries",
];

/// Applies integrations' migrations in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            // Every service's storage has an outbox (integrations publishes nothing yet).
            Box::new(CreateOutbox),
            Box::new(CreateProcessedEvents),
            Box::new(switchboard_runtime::idempotency::calls::CREATE_IDEMPOTENT_CALLS),
            Box::new(switchboard_runtime::dead_letters::migration::CreateDeadLetters),
            Box::new(CREATE_FEED),
            Box::new(CREATE_WEBHOOKS),
            Box::new(TuneHotTables {
                name: "m0120_tune_hot_tables",
                tables: &[("feed_counters", CHURN), ("webhook_deliveries", CHURN)],
            }),
        ]
    }
}

/// The feed: one counter row per organization (locked by the appending transaction, so
/// sequence order is commit order) and the events.
const CREATE_FEED: SqlMigration = SqlMigration {
    name: "m0110_create_feed",
    up: &[
        "CREATE TABLE feed_counters (
            organization_id TEXT NOT NULL PRIMARY KEY,
            last_seq BIGINT NOT NULL)",
        "CREATE TABLE feed_events (
            organization_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            event_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            aggregate_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            occurred_ms BIGINT NOT NULL,
            append_ms BIGINT NOT NULL,
            PRIMARY KEY (organization_id, seq))",
        "CREATE UNIQUE INDEX feed_events_once ON feed_events (event_id)",
        "CREATE INDEX feed_events_age ON feed_events (append_ms)",
    ],
    down: &["DROP TABLE feed_events", "DROP TABLE feed_counters"],
};

/// Endpoints, deliveries (one per endpoint and event) and every attempt.
const CREATE_WEBHOOKS: SqlMigration = SqlMigration {
    name: "m0111_create_webhooks",
    up: &[
        "CREATE TABLE webhook_endpoints (
            id TEXT NOT NULL PRIMARY KEY,
            organization_id TEXT NOT NULL,
            url TEXT NOT NULL,
            topics TEXT NOT NULL,
            description TEXT NOT NULL,
            enabled BOOLEAN NOT NULL,
            secret TEXT NOT NULL,
            create_ms BIGINT NOT NULL,
            update_ms BIGINT NOT NULL)",
        "CREATE INDEX webhook_endpoints_of_org ON webhook_endpoints (organization_id, create_ms, id)",
        "CREATE TABLE webhook_deliveries (
            id TEXT NOT NULL PRIMARY KEY,
            organization_id TEXT NOT NULL,
            endpoint_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            payload TEXT NOT NULL,
            occurred_ms BIGINT NOT NULL,
            status TEXT NOT NULL,
            attempt_count INTEGER NOT NULL,
            next_attempt_ms BIGINT NULL,
            claimed_until_ms BIGINT NULL,
            create_ms BIGINT NOT NULL,
            update_ms BIGINT NOT NULL)",
        "CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, event_id)",
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms)",
        "CREATE INDEX webhook_deliveries_of_org ON webhook_deliveries (organization_id, create_ms, id)",
        "CREATE TABLE webhook_attempts (
            id TEXT NOT NULL PRIMARY KEY,
            organization_id TEXT NOT NULL,
            delivery_id TEXT NOT NULL,
            attempt_ms BIGINT NOT NULL,
            status_code INTEGER NOT NULL,
            error TEXT NOT NULL,
            duration_ms BIGINT NOT NULL,
            cause TEXT NOT NULL)",
        "CREATE INDEX webhook_attempts_of_delivery ON webhook_attempts (delivery_id, attempt_ms)",
    ],
    down: &[
        "DROP TABLE webhook_attempts",
        "DROP TABLE webhook_deliveries",
        "DROP TABLE webhook_endpoints",
    ],
};
