//! Channel's schema migrations (in its own SQLite file or PostgreSQL schema).

mod model;
mod tags;

use sea_orm_migration::prelude::*;
use switchboard_runtime::{
    db::{CHURN, TuneHotTables},
    outbox::{dedup::CreateProcessedEvents, migration::CreateOutbox},
};

/// Tables whose rows churn (updated or deleted soon after written): kept vacuumed on PostgreSQL.
pub const HOT_TABLES: &[&str] = &[
    "messages",
    "windows",
    "contacts",
    "outbox_events",
    "processed_events",
];

/// Applies channel's migrations in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateProcessedEvents),
            Box::new(model::CREATE_CHANNEL_MODEL),
            Box::new(TuneHotTables {
                name: "m0004_tune_hot_tables",
                tables: &[
                    ("messages", "fillfactor = 85"),
                    ("messages", CHURN),
                    ("windows", "fillfactor = 70"),
                    ("windows", CHURN),
                    ("contacts", "fillfactor = 80"),
                    ("outbox_events", CHURN),
                ],
            }),
            Box::new(tags::CREATE_CONTACT_TAGS),
            Box::new(switchboard_runtime::idempotency::calls::CREATE_IDEMPOTENT_CALLS),
            Box::new(switchboard_runtime::dead_letters::migration::CreateDeadLetters),
        ]
    }
}
