//! The channel model: channel accounts (WhatsApp numbers), contacts, the 24-hour windows,
//! messages in and out, statuses that arrived before their message, webhooks for numbers nobody
//! registered, templates and idempotency keys. Plain SQL that both SQLite and PostgreSQL accept;
//! every time is epoch milliseconds (`*_ms`). Every tenant table leads with `organization_id`.

use switchboard_runtime::db::SqlMigration;

const UP: &[&str] = &[
    "CREATE TABLE idempotency_keys (
        organization_id TEXT NOT NULL,
        method TEXT NOT NULL,
        request_id TEXT NOT NULL,
        result_id TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (organization_id, method, request_id))",
    // active_phone_key is phone_number_id while the account is not deleted, NULL after: a
    // number belongs to at most one live account across all organizations.
    "CREATE TABLE channel_accounts (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        phone_number_id TEXT NOT NULL,
        active_phone_key TEXT NULL UNIQUE,
        display_phone_number TEXT NOT NULL,
        waba_id TEXT NOT NULL,
        access_token_secret_ref TEXT NOT NULL,
        disabled BOOLEAN NOT NULL,
        deleted BOOLEAN NOT NULL,
        last_webhook_ms BIGINT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL)",
    "CREATE INDEX channel_accounts_org ON channel_accounts (organization_id, display_name)",
    // A contact is one phone number in an organization; wa_id is set once it writes.
    "CREATE TABLE contacts (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        phone_number TEXT NOT NULL,
        wa_id TEXT NULL,
        profile_name TEXT NOT NULL,
        display_name TEXT NOT NULL,
        attributes TEXT NOT NULL,
        last_inbound_ms BIGINT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX contacts_phone ON contacts (organization_id, phone_number)",
    "CREATE UNIQUE INDEX contacts_wa_id ON contacts (organization_id, wa_id)",
    "CREATE INDEX contacts_recent ON contacts (organization_id, last_inbound_ms)",
    // The 24-hour customer service window of a contact on a number: its last message's time.
    "CREATE TABLE windows (
        organization_id TEXT NOT NULL,
        channel_account_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        last_inbound_ms BIGINT NOT NULL,
        PRIMARY KEY (organization_id, channel_account_id, contact_id))",
    // Messages in and out. wamid is WhatsApp's id (globally unique: the dedup key of inbound
    // webhooks); request_id the client's key of an outbound send. status_rank orders statuses
    // so a conditional UPDATE only moves them forward.
    "CREATE TABLE messages (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        channel_account_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        conversation_id TEXT NULL,
        direction TEXT NOT NULL,
        wamid TEXT NULL UNIQUE,
        request_id TEXT NULL,
        sender_kind TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        content_kind TEXT NOT NULL,
        content TEXT NOT NULL,
        status TEXT NOT NULL,
        status_rank INTEGER NOT NULL,
        errors TEXT NOT NULL,
        reply_to_wamid TEXT NULL,
        reply_to_message_id TEXT NULL,
        campaign_id TEXT NULL,
        provider_ms BIGINT NULL,
        created_ms BIGINT NOT NULL,
        status_ms BIGINT NOT NULL,
        deliver_ms BIGINT NULL,
        read_ms BIGINT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_ms BIGINT NULL,
        claimed_until_ms BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX messages_request ON messages (organization_id, request_id)",
    "CREATE INDEX messages_conversation ON messages (organization_id, conversation_id, created_ms)",
    "CREATE INDEX messages_contact ON messages (organization_id, contact_id, created_ms)",
    "CREATE INDEX messages_campaign ON messages (organization_id, campaign_id, created_ms)",
    "CREATE INDEX messages_outgoing ON messages (next_attempt_ms)",
    // Status callbacks that arrived before the send that produced their wamid had stored it.
    "CREATE TABLE early_statuses (
        wamid TEXT NOT NULL,
        status TEXT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        errors TEXT NOT NULL,
        received_ms BIGINT NOT NULL,
        PRIMARY KEY (wamid, status))",
    // Webhook changes for numbers no organization registered: acknowledged, kept for replay.
    "CREATE TABLE unmatched_webhooks (
        id TEXT NOT NULL PRIMARY KEY,
        phone_number_id TEXT NOT NULL,
        received_ms BIGINT NOT NULL,
        body TEXT NOT NULL)",
    "CREATE TABLE templates (
        organization_id TEXT NOT NULL,
        channel_account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        language_code TEXT NOT NULL,
        whatsapp_template_id TEXT NOT NULL,
        category TEXT NOT NULL,
        status TEXT NOT NULL,
        header_format TEXT NOT NULL,
        header_text TEXT NOT NULL,
        body_text TEXT NOT NULL,
        footer_text TEXT NOT NULL,
        buttons TEXT NOT NULL,
        body_parameter_count INTEGER NOT NULL,
        sync_ms BIGINT NOT NULL,
        PRIMARY KEY (organization_id, channel_account_id, name, language_code))",
];

const DOWN: &[&str] = &[
    "DROP TABLE templates",
    "DROP TABLE unmatched_webhooks",
    "DROP TABLE early_statuses",
    "DROP TABLE messages",
    "DROP TABLE windows",
    "DROP TABLE contacts",
    "DROP TABLE channel_accounts",
    "DROP TABLE idempotency_keys",
];

/// The migration.
pub const CREATE_CHANNEL_MODEL: SqlMigration = SqlMigration {
    name: "m0003_create_channel_model",
    up: UP,
    down: DOWN,
};
