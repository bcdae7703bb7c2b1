//! Reporting's schema migrations (in its own SQLite file or PostgreSQL schema).

use sea_orm_migration::prelude::*;
use switchboard_runtime::outbox::dedup::CreateProcessedEvents;

/// Tables whose rows churn: kept vacuumed on PostgreSQL.
pub const HOT_TABLES: &[&str] = &[
    "processed_events",
    // Live figures: every event rewrites counter rows and a conversation row.
    "live_counters",
    "live_conversations",
    // Reports: every event rewrites a conversation's state row.
    "report_conversations",
];

/// Applies reporting's migrations in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateProcessedEvents),
            Box::new(switchboard_runtime::idempotency::calls::CREATE_IDEMPOTENT_CALLS),
            Box::new(switchboard_runtime::dead_letters::migration::CreateDeadLetters),
            Box::new(crate::live::store::CREATE_LIVE_FIGURES),
            Box::new(crate::reports::migration::CREATE_REPORT_FACTS),
        ]
    }
}
