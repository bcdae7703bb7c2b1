//! The reports' tables: facts (one row per event and kind, in the spirit of Chatwoot's
//! `reporting_events`), a small state per conversation, and the tags captured at each
//! conversation's start. Plain SQL valid on both backends.

use switchboard_runtime::db::SqlMigration;

/// `report_facts`, `report_conversations`, `report_conversation_tags`.
pub const CREATE_REPORT_FACTS: SqlMigration = SqlMigration {
    name: "m0200_create_report_facts",
    up: &[
        "CREATE TABLE report_facts (
            event_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            organization_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            occurrence BIGINT NOT NULL,
            instant_ms BIGINT NOT NULL,
            value_ms BIGINT NOT NULL,
            value_bh_ms BIGINT,
            team_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            channel_account_id TEXT NOT NULL,
            campaign_id TEXT NOT NULL,
            PRIMARY KEY (event_id, kind))",
        "CREATE UNIQUE INDEX report_facts_happening
            ON report_facts (organization_id, conversation_id, kind, occurrence)",
        "CREATE INDEX report_facts_by_kind_instant
            ON report_facts (organization_id, kind, instant_ms)",
        "CREATE TABLE report_conversations (
            organization_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            state TEXT NOT NULL,
            PRIMARY KEY (organization_id, conversation_id))",
        "CREATE TABLE report_conversation_tags (
            organization_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            tag TEXT NOT NULL,
            PRIMARY KEY (organization_id, conversation_id, tag))",
        "CREATE INDEX report_conversation_tags_by_tag
            ON report_conversation_tags (organization_id, tag)",
    ],
    down: &[
        "DROP TABLE report_conversation_tags",
        "DROP TABLE report_conversations",
        "DROP TABLE report_facts",
    ],
};
