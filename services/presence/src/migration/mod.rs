//! Presence's schema migrations (in its own SQLite file or PostgreSQL schema).

use sea_orm_migration::{prelude::*, schema::*};
use switchboard_runtime::{
    db::{CHURN, TuneHotTables},
    outbox::{dedup::CreateProcessedEvents, migration::CreateOutbox},
};

/// Tables whose rows churn (updated or deleted soon after written): kept vacuumed on PostgreSQL.
pub const HOT_TABLES: &[&str] = &["outbox_events", "processed_events"];

/// Applies presence's migrations in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateProcessedEvents),
            Box::new(CreateAgentProfiles),
            Box::new(TuneHotTables {
                name: "m0004_tune_hot_tables",
                tables: &[("outbox_events", CHURN)],
            }),
            Box::new(switchboard_runtime::idempotency::calls::CREATE_IDEMPOTENT_CALLS),
        ]
    }
}

struct CreateAgentProfiles;

impl MigrationName for CreateAgentProfiles {
    fn name(&self) -> &str {
        "m0003_create_agent_profiles"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAgentProfiles {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("agent_profiles")
                    .if_not_exists()
                    .col(string_len("organization_id", 64))
                    .col(string_len("agent_id", 64))
                    .col(integer("capacity"))
                    .col(text("team_ids"))
                    .col(text("channel_account_ids"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("agent_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("agent_profiles").to_owned())
            .await
    }
}
