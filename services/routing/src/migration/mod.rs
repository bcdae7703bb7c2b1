//! Routing's schema migrations (in its own SQLite file or PostgreSQL schema).

mod model;

use sea_orm_migration::{prelude::*, schema::*};
use switchboard_runtime::{
    db::{CHURN, SqlMigration, TuneHotTables},
    outbox::{dedup::CreateProcessedEvents, migration::CreateOutbox},
};

/// Tables whose rows churn (updated or deleted soon after written): kept vacuumed on PostgreSQL.
pub const HOT_TABLES: &[&str] = &[
    "conversations",
    "work_items",
    "pending_releases",
    "outbox_events",
    "processed_events",
];

/// Applies routing's migrations in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateProcessedEvents),
            Box::new(CreateOrganizations),
            Box::new(model::CREATE_ROUTING_MODEL),
            Box::new(TuneHotTables {
                name: "m0005_tune_hot_tables",
                tables: &[
                    ("conversations", "fillfactor = 70"),
                    ("conversations", CHURN),
                    ("work_items", "fillfactor = 70"),
                    ("work_items", CHURN),
                    ("pending_releases", CHURN),
                    ("outbox_events", CHURN),
                ],
            }),
            Box::new(switchboard_runtime::idempotency::calls::CREATE_IDEMPOTENT_CALLS),
            Box::new(INDEX_WAITING_TEAMS),
            Box::new(switchboard_runtime::dead_letters::migration::CreateDeadLetters),
            Box::new(CONVERSATION_TICKETS),
            Box::new(AUTOMATIC_MESSAGES),
        ]
    }
}

struct CreateOrganizations;

impl MigrationName for CreateOrganizations {
    fn name(&self) -> &str {
        "m0003_create_organizations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOrganizations {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organizations")
                    .if_not_exists()
                    .col(string_len("id", 64).primary_key())
                    .col(string_len("name", 200))
                    .col(integer("default_agent_capacity"))
                    // The request id of the create call, so a retried create returns the same row.
                    .col(string_len_uniq("create_request_id", 128))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("organizations").to_owned())
            .await
    }
}

/// The sweeper's liveness pass looks up the teams with waiting conversations across
/// organizations every pass: an index led by the state keeps that a short range scan.
const INDEX_WAITING_TEAMS: SqlMigration = SqlMigration {
    name: "m0006_index_waiting_teams",
    up: &["CREATE INDEX IF NOT EXISTS conversations_waiting_teams \
           ON conversations (state, team_id, organization_id)"],
    down: &["DROP INDEX conversations_waiting_teams"],
};

/// A conversation's ticket and pending proposal as ticketing announces them
/// (`ticketing.link.changed`), so lists (the Expired tab in particular) show "#123" without a
/// call per item; `tickets_version` keeps a late event from bringing back an older picture.
const CONVERSATION_TICKETS: SqlMigration = SqlMigration {
    name: "m0007_conversation_tickets",
    up: &[
        "ALTER TABLE conversations ADD COLUMN ticket_id TEXT NULL",
        "ALTER TABLE conversations ADD COLUMN ticket_number BIGINT NULL",
        "ALTER TABLE conversations ADD COLUMN proposal_id TEXT NULL",
        "ALTER TABLE conversations ADD COLUMN proposed_ticket_id TEXT NULL",
        "ALTER TABLE conversations ADD COLUMN proposed_ticket_number BIGINT NULL",
        "ALTER TABLE conversations ADD COLUMN tickets_version BIGINT NOT NULL DEFAULT 0",
    ],
    down: &[
        "ALTER TABLE conversations DROP COLUMN tickets_version",
        "ALTER TABLE conversations DROP COLUMN proposed_ticket_number",
        "ALTER TABLE conversations DROP COLUMN proposed_ticket_id",
        "ALTER TABLE conversations DROP COLUMN proposal_id",
        "ALTER TABLE conversations DROP COLUMN ticket_number",
        "ALTER TABLE conversations DROP COLUMN ticket_id",
    ],
};

/// Business hours (the organization's under an empty `channel_account_id`, a number's override
/// under its id), each number's automatic messages, and the claims of their triggers: one row
/// per trigger key, inserted if absent by the consumer that sends, so a trigger sends at most
/// once whatever the redeliveries or replicas. The claim keeps the rendered text, so a send
/// repeated after a crash is the same request to channel (whose idempotency absorbs it).
const AUTOMATIC_MESSAGES: SqlMigration = SqlMigration {
    name: "m0008_business_hours_and_automatic_messages",
    up: &[
        "CREATE TABLE business_hours (
            organization_id TEXT NOT NULL,
            channel_account_id TEXT NOT NULL,
            time_zone TEXT NOT NULL,
            schedule TEXT NOT NULL,
            updated_ms BIGINT NOT NULL,
            PRIMARY KEY (organization_id, channel_account_id))",
        "CREATE TABLE automatic_messages (
            organization_id TEXT NOT NULL,
            channel_account_id TEXT NOT NULL,
            settings TEXT NOT NULL,
            updated_ms BIGINT NOT NULL,
            PRIMARY KEY (organization_id, channel_account_id))",
        "CREATE TABLE automatic_message_claims (
            organization_id TEXT NOT NULL,
            trigger_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            body TEXT NOT NULL,
            state TEXT NOT NULL,
            message_id TEXT NULL,
            detail TEXT NOT NULL,
            created_ms BIGINT NOT NULL,
            updated_ms BIGINT NOT NULL,
            PRIMARY KEY (organization_id, trigger_key))",
        "CREATE INDEX automatic_message_claims_conversation \
         ON automatic_message_claims (organization_id, conversation_id)",
    ],
    down: &[
        "DROP TABLE automatic_message_claims",
        "DROP TABLE automatic_messages",
        "DROP TABLE business_hours",
    ],
};
