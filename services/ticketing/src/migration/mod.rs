//! Ticketing's schema migrations (in its own SQLite file or PostgreSQL schema).
//!
//! Search lives in the database on both backends: on PostgreSQL a `search_document` tsvector
//! per ticket (generated from subject and description, plus the comments and appended histories
//! a trigger on `ticket_actions` adds to `actions_document`), under a GIN index and the
//! `switchboard_search` text search configuration (`simple` with `unaccent`, so Spanish and
//! Portuguese accents match both ways); on SQLite an FTS5 table (`unicode61 remove_diacritics
//! 2`) the store keeps in the same transaction as the ticket.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use switchboard_runtime::{
    db::{CHURN, SqlMigration, TuneHotTables},
    outbox::{dedup::CreateProcessedEvents, migration::CreateOutbox},
};

/// Tables whose rows churn: kept vacuumed on PostgreSQL.
pub const HOT_TABLES: &[&str] = &[
    "outbox_events",
    "processed_events",
    "ticket_counters",
    "tickets",
];

/// Applies ticketing's migrations in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateProcessedEvents),
            Box::new(switchboard_runtime::idempotency::calls::CREATE_IDEMPOTENT_CALLS),
            Box::new(switchboard_runtime::dead_letters::migration::CreateDeadLetters),
            Box::new(CREATE_TICKETING_MODEL),
            Box::new(CreateSearch),
            Box::new(OneSearchDocument),
            Box::new(TuneHotTables {
                name: "m0120_tune_hot_tables",
                tables: &[("ticket_counters", CHURN), ("outbox_events", CHURN)],
            }),
            // Every comment rewrites its ticket (update time, search document).
            Box::new(TuneHotTables {
                name: "m0121_tune_tickets",
                tables: &[("tickets", CHURN)],
            }),
        ]
    }
}

/// Tickets, their actions, links, proposals, close policies and number counters.
const CREATE_TICKETING_MODEL: SqlMigration = SqlMigration {
    name: "m0110_create_ticketing_model",
    up: &[
        "CREATE TABLE ticket_counters (
            organization_id TEXT NOT NULL PRIMARY KEY,
            next_number BIGINT NOT NULL)",
        "CREATE TABLE tickets (
            id TEXT NOT NULL PRIMARY KEY,
            organization_id TEXT NOT NULL,
            number BIGINT NOT NULL,
            subject TEXT NOT NULL,
            description TEXT NOT NULL,
            requester TEXT NOT NULL,
            requester_contact_id TEXT NULL,
            status TEXT NOT NULL,
            priority TEXT NOT NULL,
            assignee_agent_id TEXT NULL,
            tags TEXT NOT NULL,
            created_by TEXT NOT NULL,
            linked_conversation_count INTEGER NOT NULL,
            create_ms BIGINT NOT NULL,
            update_ms BIGINT NOT NULL,
            solve_ms BIGINT NULL,
            close_ms BIGINT NULL)",
        "CREATE UNIQUE INDEX tickets_number ON tickets (organization_id, number)",
        "CREATE INDEX tickets_recent ON tickets (organization_id, update_ms, id)",
        "CREATE TABLE ticket_actions (
            id TEXT NOT NULL PRIMARY KEY,
            organization_id TEXT NOT NULL,
            ticket_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            body TEXT NOT NULL,
            changes TEXT NOT NULL,
            conversation_id TEXT NULL,
            transcript TEXT NULL,
            search_text TEXT NOT NULL,
            create_ms BIGINT NOT NULL)",
        "CREATE INDEX ticket_actions_of_ticket ON ticket_actions (organization_id, ticket_id, create_ms, id)",
        // One history per conversation, whatever the redeliveries, replicas or crashes.
        "CREATE UNIQUE INDEX ticket_actions_one_history ON ticket_actions (organization_id, conversation_id) \
         WHERE kind = 'conversation_history'",
        "CREATE TABLE ticket_links (
            organization_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            ticket_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            linked_by TEXT NOT NULL,
            create_ms BIGINT NOT NULL,
            history_append_ms BIGINT NULL,
            PRIMARY KEY (organization_id, conversation_id))",
        "CREATE INDEX ticket_links_of_ticket ON ticket_links (organization_id, ticket_id, create_ms)",
        "CREATE TABLE conversation_link_versions (
            organization_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            version BIGINT NOT NULL,
            PRIMARY KEY (organization_id, conversation_id))",
        "CREATE TABLE ticket_proposals (
            id TEXT NOT NULL PRIMARY KEY,
            organization_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            ticket_id TEXT NOT NULL,
            source TEXT NOT NULL,
            message_id TEXT NOT NULL,
            evidence TEXT NOT NULL,
            status TEXT NOT NULL,
            decided_by TEXT NULL,
            create_ms BIGINT NOT NULL,
            decide_ms BIGINT NULL)",
        "CREATE UNIQUE INDEX ticket_proposals_once ON ticket_proposals (organization_id, conversation_id, ticket_id)",
        "CREATE INDEX ticket_proposals_of_ticket ON ticket_proposals (organization_id, ticket_id)",
        "CREATE TABLE close_policies (
            organization_id TEXT NOT NULL PRIMARY KEY,
            require_ticket BOOLEAN NOT NULL,
            channel_account_ids TEXT NOT NULL,
            team_ids TEXT NOT NULL,
            update_ms BIGINT NOT NULL)",
    ],
    down: &[
        "DROP TABLE close_policies",
        "DROP TABLE ticket_proposals",
        "DROP TABLE conversation_link_versions",
        "DROP TABLE ticket_links",
        "DROP TABLE ticket_actions",
        "DROP TABLE tickets",
        "DROP TABLE ticket_counters",
    ],
};

/// The search document of each backend.
struct CreateSearch;

impl MigrationName for CreateSearch {
    fn name(&self) -> &str {
        "m0111_create_ticket_search"
    }
}

const POSTGRES_SEARCH: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION switchboard_search (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION switchboard_search \
     ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple",
    "ALTER TABLE tickets ADD COLUMN actions_document tsvector NOT NULL DEFAULT ''::tsvector",
    "ALTER TABLE tickets ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('switchboard_search'::regconfig, subject), 'A')
        || setweight(to_tsvector('switchboard_search'::regconfig, description), 'B')
        || actions_document) STORED",
    "CREATE INDEX tickets_search ON tickets USING GIN (search_document)",
    // Comments and appended histories join their ticket's document as they are recorded.
    "CREATE FUNCTION ticket_actions_to_document() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.search_text <> '' THEN
         UPDATE tickets
            SET actions_document = actions_document
                || setweight(to_tsvector('switchboard_search'::regconfig, NEW.search_text), 'C')
          WHERE id = NEW.ticket_id;
       END IF;
       RETURN NEW;
     END $$",
    "CREATE TRIGGER ticket_actions_document AFTER INSERT ON ticket_actions \
     FOR EACH ROW EXECUTE FUNCTION ticket_actions_to_document()",
];

const SQLITE_SEARCH: &[&str] = &["CREATE VIRTUAL TABLE ticket_search USING fts5(
        ticket_id UNINDEXED, organization_id UNINDEXED, subject, description, actions,
        tokenize = 'unicode61 remove_diacritics 2')"];

#[async_trait::async_trait]
impl MigrationTrait for CreateSearch {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let statements = match conn.get_database_backend() {
            DbBackend::Postgres => POSTGRES_SEARCH,
            _ => SQLITE_SEARCH,
        };
        for sql in statements {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let statements: &[&str] = match conn.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER ticket_actions_document ON ticket_actions",
                "DROP FUNCTION ticket_actions_to_document()",
                "DROP INDEX tickets_search",
                "ALTER TABLE tickets DROP COLUMN search_document",
                "ALTER TABLE tickets DROP COLUMN actions_document",
                "DROP TEXT SEARCH CONFIGURATION switchboard_search",
            ],
            _ => &["DROP TABLE ticket_search"],
        };
        for sql in statements {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

/// PostgreSQL's search document becomes one stored tsvector kept by triggers (m0111 kept a
/// generated column over a second stored tsvector of the actions' words: two copies of every
/// word doubled the rows and the time of every ranked search).
const POSTGRES_ONE_DOCUMENT: &[&str] = &[
    "DROP TRIGGER ticket_actions_document ON ticket_actions",
    "DROP FUNCTION ticket_actions_to_document()",
    "DROP INDEX tickets_search",
    "ALTER TABLE tickets DROP COLUMN search_document",
    "ALTER TABLE tickets DROP COLUMN actions_document",
    // One document per ticket, kept by the database (one copy of the words: a second stored
    // tsvector doubled the row and the time of every ranked search).
    "ALTER TABLE tickets ADD COLUMN search_document tsvector NOT NULL DEFAULT ''::tsvector",
    "CREATE INDEX tickets_search ON tickets USING GIN (search_document)",
    // Subject (A) and description (B), plus the words of its comments and histories (C).
    "CREATE FUNCTION tickets_document() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       NEW.search_document :=
            setweight(to_tsvector('switchboard_search'::regconfig, NEW.subject), 'A')
         || setweight(to_tsvector('switchboard_search'::regconfig, NEW.description), 'B');
       -- A new ticket has no actions yet; a changed one keeps its comments' and histories'.
       IF TG_OP = 'UPDATE' THEN
         NEW.search_document := NEW.search_document
           || COALESCE((SELECT setweight(to_tsvector('switchboard_search'::regconfig,
                                string_agg(a.search_text, E'\\n' ORDER BY a.create_ms, a.id)), 'C')
                          FROM ticket_actions a
                         WHERE a.organization_id = NEW.organization_id AND a.ticket_id = NEW.id
                           AND a.search_text <> ''), ''::tsvector);
       END IF;
       RETURN NEW;
     END $$",
    "CREATE TRIGGER tickets_document_on_insert BEFORE INSERT ON tickets \
     FOR EACH ROW EXECUTE FUNCTION tickets_document()",
    "CREATE TRIGGER tickets_document_on_update BEFORE UPDATE OF subject, description ON tickets \
     FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject \
                        OR OLD.description IS DISTINCT FROM NEW.description) \
     EXECUTE FUNCTION tickets_document()",
    // Comments and appended histories join their ticket's document as they are recorded.
    "CREATE FUNCTION ticket_actions_to_document() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.search_text <> '' THEN
         UPDATE tickets
            SET search_document = search_document
                || setweight(to_tsvector('switchboard_search'::regconfig, NEW.search_text), 'C')
          WHERE id = NEW.ticket_id;
       END IF;
       RETURN NEW;
     END $$",
    "CREATE TRIGGER ticket_actions_document AFTER INSERT ON ticket_actions \
     FOR EACH ROW EXECUTE FUNCTION ticket_actions_to_document()",
    // Tickets written before this migration.
    "UPDATE tickets t SET search_document =
            setweight(to_tsvector('switchboard_search'::regconfig, t.subject), 'A')
         || setweight(to_tsvector('switchboard_search'::regconfig, t.description), 'B')
         || COALESCE((SELECT setweight(to_tsvector('switchboard_search'::regconfig,
                                string_agg(a.search_text, E'\\n' ORDER BY a.create_ms, a.id)), 'C')
                        FROM ticket_actions a
                       WHERE a.organization_id = t.organization_id AND a.ticket_id = t.id
                         AND a.search_text <> ''), ''::tsvector)",
];

/// m0112: see [`POSTGRES_ONE_DOCUMENT`]; nothing changes on SQLite.
struct OneSearchDocument;

impl MigrationName for OneSearchDocument {
    fn name(&self) -> &str {
        "m0112_one_search_document"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OneSearchDocument {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if conn.get_database_backend() == DbBackend::Postgres {
            for sql in POSTGRES_ONE_DOCUMENT {
                conn.execute_unprepared(sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m0112_one_search_document cannot be undone (the search document would be rebuilt by m0111's down and up)".into(),
        ))
    }
}
