//! The routing model: agents, teams, channel account routing, campaigns, contact owners,
//! conversations with their transitions, transfers and decisions, work items. Plain SQL that
//! both SQLite and PostgreSQL accept; every time is epoch milliseconds (`*_ms`), so ordering and
//! comparisons behave the same on both. Every table leads with `organization_id`.

use sea_orm_migration::prelude::*;

pub struct CreateRoutingModel;

impl MigrationName for CreateRoutingModel {
    fn name(&self) -> &str {
        "m0004_create_routing_model"
    }
}

const UP: &[&str] = &[
    "ALTER TABLE organizations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE organizations ADD COLUMN updated_ms BIGINT NOT NULL DEFAULT 0",
    // Idempotency keys of create/command calls: a retry returns what the first call made.
    "CREATE TABLE idempotency_keys (
        organization_id TEXT NOT NULL,
        method TEXT NOT NULL,
        request_id TEXT NOT NULL,
        result_id TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (organization_id, method, request_id))",
    "CREATE TABLE agents (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        email TEXT NOT NULL,
        role TEXT NOT NULL,
        capacity INTEGER NOT NULL,
        auth_subject TEXT NULL,
        disabled BOOLEAN NOT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX agents_email ON agents (organization_id, email)",
    "CREATE UNIQUE INDEX agents_subject ON agents (organization_id, auth_subject)",
    "CREATE TABLE teams (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        strategy TEXT NOT NULL,
        auto_distribution BOOLEAN NOT NULL,
        offer_timeout_secs BIGINT NOT NULL,
        offline_policy TEXT NOT NULL,
        priority_rules TEXT NOT NULL,
        dedicated_agent_id TEXT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX teams_name ON teams (organization_id, name)",
    "CREATE TABLE team_members (
        organization_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (organization_id, team_id, agent_id))",
    "CREATE INDEX team_members_agent ON team_members (organization_id, agent_id)",
    "CREATE TABLE channel_accounts (
        organization_id TEXT NOT NULL,
        channel_account_id TEXT NOT NULL,
        default_target_kind TEXT NOT NULL,
        default_target_id TEXT NULL,
        updated_ms BIGINT NOT NULL,
        PRIMARY KEY (organization_id, channel_account_id))",
    // target_kind is 'team' or 'agent'.
    "CREATE TABLE channel_account_links (
        organization_id TEXT NOT NULL,
        channel_account_id TEXT NOT NULL,
        target_kind TEXT NOT NULL,
        target_id TEXT NOT NULL,
        PRIMARY KEY (organization_id, channel_account_id, target_kind, target_id))",
    "CREATE INDEX channel_account_links_target ON channel_account_links (organization_id, target_id)",
    "CREATE TABLE campaigns (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        name TEXT NOT NULL,
        channel_account_id TEXT NOT NULL,
        continue_with_human BOOLEAN NOT NULL,
        human_target_kind TEXT NOT NULL,
        human_target_id TEXT NULL,
        reply_window_secs BIGINT NOT NULL,
        form_fields TEXT NOT NULL,
        archived BOOLEAN NOT NULL,
        created_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX campaigns_name ON campaigns (organization_id, name)",
    "CREATE TABLE contact_owners (
        organization_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        source TEXT NOT NULL,
        added_by TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (organization_id, contact_id, agent_id))",
    // active_key is 'org/account/contact' while the conversation is queued, assigned or open and
    // NULL afterwards: the unique index keeps one active conversation per contact and account,
    // whatever the number of replicas starting one at the same time.
    "CREATE TABLE conversations (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        channel_account_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        state TEXT NOT NULL,
        active_key TEXT NULL,
        campaign_id TEXT NULL,
        team_id TEXT NULL,
        assignee_agent_id TEXT NULL,
        waiting_agent_id TEXT NULL,
        reservation_id TEXT NULL,
        priority INTEGER NOT NULL,
        participants TEXT NOT NULL,
        form_values TEXT NOT NULL,
        transfer_count INTEGER NOT NULL,
        excluded_agents TEXT NOT NULL,
        owner_wait_until_ms BIGINT NULL,
        created_ms BIGINT NOT NULL,
        queue_ms BIGINT NULL,
        assign_ms BIGINT NULL,
        offer_expire_ms BIGINT NULL,
        open_ms BIGINT NULL,
        first_response_ms BIGINT NULL,
        last_customer_ms BIGINT NOT NULL,
        expire_ms BIGINT NOT NULL,
        end_ms BIGINT NULL,
        closed_by TEXT NULL,
        close_note TEXT NOT NULL,
        finalize_ms BIGINT NULL,
        last_decision_id TEXT NULL,
        updated_ms BIGINT NOT NULL,
        version BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX conversations_active ON conversations (active_key)",
    "CREATE INDEX conversations_queue ON conversations (organization_id, state, team_id, priority, queue_ms)",
    "CREATE INDEX conversations_waiting_agent ON conversations (organization_id, waiting_agent_id, state)",
    "CREATE INDEX conversations_assignee ON conversations (organization_id, assignee_agent_id, state)",
    "CREATE INDEX conversations_contact ON conversations (organization_id, contact_id, created_ms)",
    "CREATE INDEX conversations_expiry ON conversations (state, expire_ms)",
    "CREATE INDEX conversations_offer ON conversations (state, offer_expire_ms)",
    "CREATE TABLE conversation_transitions (
        organization_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        sequence BIGINT NOT NULL,
        from_state TEXT NULL,
        to_state TEXT NOT NULL,
        from_agent_id TEXT NULL,
        to_agent_id TEXT NULL,
        to_team_id TEXT NULL,
        actor TEXT NOT NULL,
        cause TEXT NOT NULL,
        detail TEXT NOT NULL,
        decision_id TEXT NULL,
        created_ms BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, sequence))",
    "CREATE TABLE transfers (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        actor TEXT NOT NULL,
        from_agent_id TEXT NULL,
        from_team_id TEXT NULL,
        target_kind TEXT NOT NULL,
        target_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        from_state TEXT NOT NULL,
        created_ms BIGINT NOT NULL)",
    "CREATE INDEX transfers_conversation ON transfers (organization_id, conversation_id, created_ms)",
    "CREATE INDEX transfers_time ON transfers (organization_id, created_ms)",
    "CREATE TABLE routing_decisions (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        trigger_kind TEXT NOT NULL,
        matched_rule TEXT NOT NULL,
        target_kind TEXT NOT NULL,
        target_id TEXT NULL,
        strategy TEXT NULL,
        outcome TEXT NOT NULL,
        chosen_agent_id TEXT NULL,
        reservation_id TEXT NULL,
        explanation TEXT NOT NULL,
        detail TEXT NOT NULL,
        created_ms BIGINT NOT NULL)",
    "CREATE INDEX routing_decisions_subject ON routing_decisions (organization_id, subject_id, created_ms)",
    "CREATE TABLE work_items (
        id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        external_ref TEXT NOT NULL,
        target_kind TEXT NOT NULL,
        target_id TEXT NOT NULL,
        channel_account_id TEXT NULL,
        priority INTEGER NOT NULL,
        attributes TEXT NOT NULL,
        state TEXT NOT NULL,
        assignee_agent_id TEXT NULL,
        reservation_id TEXT NULL,
        created_by TEXT NOT NULL,
        outcome TEXT NOT NULL,
        last_decision_id TEXT NULL,
        excluded_agents TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        queue_ms BIGINT NULL,
        assign_ms BIGINT NULL,
        offer_expire_ms BIGINT NULL,
        accept_ms BIGINT NULL,
        end_ms BIGINT NULL,
        updated_ms BIGINT NOT NULL,
        version BIGINT NOT NULL)",
    "CREATE INDEX work_items_queue ON work_items (organization_id, state, target_kind, target_id, priority, queue_ms)",
    "CREATE INDEX work_items_assignee ON work_items (organization_id, assignee_agent_id, state)",
    // Slots freed in routing's database whose release presence has not confirmed yet; the
    // sweeper retries them, so a presence outage never leaks capacity.
    "CREATE TABLE pending_releases (
        reservation_id TEXT NOT NULL PRIMARY KEY,
        organization_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        created_ms BIGINT NOT NULL)",
];

const DOWN: &[&str] = &[
    "DROP TABLE pending_releases",
    "DROP TABLE work_items",
    "DROP TABLE routing_decisions",
    "DROP TABLE transfers",
    "DROP TABLE conversation_transitions",
    "DROP TABLE conversations",
    "DROP TABLE contact_owners",
    "DROP TABLE campaigns",
    "DROP TABLE channel_account_links",
    "DROP TABLE channel_accounts",
    "DROP TABLE team_members",
    "DROP TABLE teams",
    "DROP TABLE agents",
    "DROP TABLE idempotency_keys",
];

#[async_trait::async_trait]
impl MigrationTrait for CreateRoutingModel {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
