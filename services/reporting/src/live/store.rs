//! The live projection's tables: `live_conversations` (one row per conversation, a tombstone
//! once it ended), `live_agents` (one row per agent) and `live_counters` (one row per
//! organization, scope and bucket). Every change of a row and the counters it moves is one
//! transaction, with the event id recorded in `processed_events` (idempotent by event id).
//! Every query takes the organization first, except the tombstone sweep.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    TransactionTrait, Value,
};
use switchboard_runtime::{db::statement, ids::EventId, outbox::dedup};

use super::domain::{
    AgentFacts, Bucket, ConversationFacts, CounterKey, LiveState, LiveStatus, Scope, agent_counts,
    conversation_counts, delta, newer, weighted,
};

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The projection moved.
    Applied,
    /// Older than what is stored (out of order): nothing moved.
    Stale,
    /// Seen before (a redelivery): nothing moved.
    Duplicate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Stale => "stale",
            Outcome::Duplicate => "duplicate",
        }
    }
}

/// Version of a row inserted only to lock it: counts nothing, any real change replaces it.
const PLACEHOLDER: i64 = i64::MIN;

/// The live projection in reporting's storage.
#[derive(Clone)]
pub struct LiveStore {
    db: DatabaseConnection,
}

fn backend<C: ConnectionTrait>(c: &C) -> DbBackend {
    c.get_database_backend()
}

/// `FOR UPDATE` where the backend has row locks (SQLite has one writer at a time anyway).
fn for_update(b: DbBackend) -> &'static str {
    if b == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl LiveStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Applies a conversation's change unless its event was handled before or a newer
    /// version is stored.
    pub async fn apply_conversation(
        &self,
        group: &str,
        event_id: &EventId,
        org: &str,
        conversation_id: &str,
        facts: &ConversationFacts,
        changed_ms: i64,
    ) -> Result<Outcome, DbErr> {
        let tx = self.db.begin().await?;
        if !dedup::first_delivery(&tx, group, event_id).await? {
            tx.rollback().await?;
            return Ok(Outcome::Duplicate);
        }
        let b = backend(&tx);
        tx.execute_raw(statement(
            b,
            "INSERT INTO live_conversations (organization_id, conversation_id, state, team_id,
                 channel_account_id, agent_id, priority, queued_ms, version, changed_ms)
             VALUES (?, ?, 'ended', '', '', '', 0, 0, ?, 0) ON CONFLICT DO NOTHING",
            vec![org.into(), conversation_id.into(), PLACEHOLDER.into()],
        ))
        .await?;
        let row = tx
            .query_one_raw(statement(
                b,
                &format!(
                    "SELECT state, team_id, channel_account_id, agent_id, priority, queued_ms, version
                     FROM live_conversations WHERE organization_id = ? AND conversation_id = ?{}",
                    for_update(b)
                ),
                vec![org.into(), conversation_id.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("live conversation".into()))?;
        let stored = conversation_row(&row)?;
        let stored_version = (stored.version != PLACEHOLDER).then_some(stored.version);
        if !newer(stored_version, facts.version) {
            // Recorded as handled: a redelivery is a duplicate from now on.
            tx.commit().await?;
            return Ok(Outcome::Stale);
        }
        let before = if stored_version.is_some() {
            weighted(conversation_counts(&stored))
        } else {
            Vec::new()
        };
        let after = weighted(conversation_counts(facts));
        add_counters(&tx, org, &delta(&before, &after)).await?;
        tx.execute_raw(statement(
            b,
            "UPDATE live_conversations SET state = ?, team_id = ?, channel_account_id = ?,
                 agent_id = ?, priority = ?, queued_ms = ?, version = ?, changed_ms = ?
             WHERE organization_id = ? AND conversation_id = ?",
            vec![
                facts.state.as_str().into(),
                facts.team.clone().unwrap_or_default().into(),
                facts.number.clone().into(),
                facts.holder.clone().unwrap_or_default().into(),
                facts.priority.into(),
                facts.queued_ms.into(),
                facts.version.into(),
                changed_ms.into(),
                org.into(),
                conversation_id.into(),
            ],
        ))
        .await?;
        tx.commit().await?;
        Ok(Outcome::Applied)
    }

    /// Applies an agent's state unless its event was handled before or a later state is
    /// stored (`at_us`: when presence recorded it, Unix microseconds).
    pub async fn apply_agent(
        &self,
        group: &str,
        event_id: &EventId,
        org: &str,
        agent_id: &str,
        facts: &AgentFacts,
        at_us: i64,
    ) -> Result<Outcome, DbErr> {
        let tx = self.db.begin().await?;
        if !dedup::first_delivery(&tx, group, event_id).await? {
            tx.rollback().await?;
            return Ok(Outcome::Duplicate);
        }
        let b = backend(&tx);
        tx.execute_raw(statement(
            b,
            "INSERT INTO live_agents (organization_id, agent_id, status, load, capacity, team_ids,
                 channel_account_ids, updated_us)
             VALUES (?, ?, 'offline', 0, 0, '', '', ?) ON CONFLICT DO NOTHING",
            vec![org.into(), agent_id.into(), PLACEHOLDER.into()],
        ))
        .await?;
        let row = tx
            .query_one_raw(statement(
                b,
                &format!(
                    "SELECT status, load, capacity, team_ids, channel_account_ids, updated_us
                     FROM live_agents WHERE organization_id = ? AND agent_id = ?{}",
                    for_update(b)
                ),
                vec![org.into(), agent_id.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("live agent".into()))?;
        let (stored, stored_us) = agent_row(&row)?;
        if stored_us != PLACEHOLDER && at_us < stored_us {
            tx.commit().await?;
            return Ok(Outcome::Stale);
        }
        let before = if stored_us == PLACEHOLDER {
            Vec::new()
        } else {
            agent_counts(&stored)
        };
        add_counters(&tx, org, &delta(&before, &agent_counts(facts))).await?;
        tx.execute_raw(statement(
            b,
            "UPDATE live_agents SET status = ?, load = ?, capacity = ?, team_ids = ?,
                 channel_account_ids = ?, updated_us = ?
             WHERE organization_id = ? AND agent_id = ?",
            vec![
                facts.status.as_str().into(),
                facts.load.into(),
                facts.capacity.into(),
                facts.teams.join(",").into(),
                facts.numbers.join(",").into(),
                at_us.into(),
                org.into(),
                agent_id.into(),
            ],
        ))
        .await?;
        tx.commit().await?;
        Ok(Outcome::Applied)
    }

    /// Every counter of `org`.
    pub async fn counters(&self, org: &str) -> Result<Vec<(Scope, Bucket, i64)>, DbErr> {
        let rows = self
            .db
            .query_all_raw(statement(
                backend(&self.db),
                "SELECT scope, scope_id, bucket, value FROM live_counters WHERE organization_id = ?",
                vec![org.into()],
            ))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let scope: String = r.try_get("", "scope")?;
            let id: String = r.try_get("", "scope_id")?;
            let bucket: String = r.try_get("", "bucket")?;
            let value: i64 = r.try_get("", "value")?;
            if let (Some(s), Some(b)) = (Scope::from_key(&scope, &id), Bucket::parse(&bucket)) {
                out.push((s, b, value));
            }
        }
        Ok(out)
    }

    /// Every agent of `org` presence told about.
    pub async fn agents(&self, org: &str) -> Result<Vec<(String, AgentFacts)>, DbErr> {
        let rows = self
            .db
            .query_all_raw(statement(
                backend(&self.db),
                "SELECT agent_id, status, load, capacity, team_ids, channel_account_ids, updated_us
                 FROM live_agents WHERE organization_id = ? AND updated_us <> ?
                 ORDER BY agent_id",
                vec![org.into(), PLACEHOLDER.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "agent_id")?, agent_row(r)?.0)))
            .collect()
    }

    /// The conversation of `scope` waiting longest, with since when (an index lookup:
    /// `(organization_id, team_id | channel_account_id, state, queued_ms)`).
    pub async fn longest_waiting(
        &self,
        org: &str,
        scope: &Scope,
    ) -> Result<Option<(String, i64)>, DbErr> {
        let (filter, values): (&str, Vec<Value>) = match scope {
            Scope::Org => ("", vec![org.into()]),
            Scope::Team(id) => (" AND team_id = ?", vec![org.into(), id.as_str().into()]),
            Scope::Number(id) => (
                " AND channel_account_id = ?",
                vec![org.into(), id.as_str().into()],
            ),
            Scope::Agent(_) => return Ok(None),
        };
        let row = self
            .db
            .query_one_raw(statement(
                backend(&self.db),
                &format!(
                    "SELECT conversation_id, queued_ms FROM live_conversations
                     WHERE organization_id = ?{filter} AND state = 'queued'
                     ORDER BY queued_ms, conversation_id LIMIT 1"
                ),
                values,
            ))
            .await?;
        row.map(|r| {
            Ok((
                r.try_get("", "conversation_id")?,
                r.try_get("", "queued_ms")?,
            ))
        })
        .transpose()
    }

    /// Forgets tombstones of conversations that ended before `cutoff_ms`; how many went.
    pub async fn prune_tombstones(&self, cutoff_ms: i64) -> Result<u64, DbErr> {
        let res = self
            .db
            .execute_raw(statement(
                backend(&self.db),
                "DELETE FROM live_conversations WHERE state = 'ended' AND changed_ms < ?",
                vec![cutoff_ms.into()],
            ))
            .await?;
        Ok(res.rows_affected())
    }
}

fn conversation_row(r: &QueryResult) -> Result<ConversationFacts, DbErr> {
    let state: String = r.try_get("", "state")?;
    let team: String = r.try_get("", "team_id")?;
    let holder: String = r.try_get("", "agent_id")?;
    Ok(ConversationFacts {
        state: LiveState::parse(&state).unwrap_or(LiveState::Ended),
        team: (!team.is_empty()).then_some(team),
        number: r.try_get("", "channel_account_id")?,
        holder: (!holder.is_empty()).then_some(holder),
        priority: r.try_get("", "priority")?,
        queued_ms: r.try_get("", "queued_ms")?,
        version: r.try_get("", "version")?,
    })
}

fn agent_row(r: &QueryResult) -> Result<(AgentFacts, i64), DbErr> {
    let status: String = r.try_get("", "status")?;
    let teams: String = r.try_get("", "team_ids")?;
    let numbers: String = r.try_get("", "channel_account_ids")?;
    Ok((
        AgentFacts {
            status: LiveStatus::parse(&status).unwrap_or(LiveStatus::Offline),
            load: r.try_get("", "load")?,
            capacity: r.try_get("", "capacity")?,
            teams: split(&teams),
            numbers: split(&numbers),
        },
        r.try_get("", "updated_us")?,
    ))
}

/// Adds `deltas` to `org`'s counters, in key order.
async fn add_counters(
    tx: &DatabaseTransaction,
    org: &str,
    deltas: &std::collections::BTreeMap<CounterKey, i64>,
) -> Result<(), DbErr> {
    let b = backend(tx);
    for ((scope, bucket), value) in deltas {
        let (kind, id) = scope.key();
        tx.execute_raw(statement(
            b,
            "INSERT INTO live_counters (organization_id, scope, scope_id, bucket, value)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (organization_id, scope, scope_id, bucket)
             DO UPDATE SET value = live_counters.value + excluded.value",
            vec![
                org.into(),
                kind.into(),
                id.into(),
                bucket.name().into(),
                (*value).into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// The live projection's tables, on SQLite and PostgreSQL alike.
pub const CREATE_LIVE_FIGURES: switchboard_runtime::db::SqlMigration =
    switchboard_runtime::db::SqlMigration {
        name: "m0200_create_live_figures",
        up: &[
            "CREATE TABLE live_conversations (
                organization_id TEXT NOT NULL,
                conversation_id TEXT NOT NULL,
                state TEXT NOT NULL,
                team_id TEXT NOT NULL,
                channel_account_id TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                priority INTEGER NOT NULL,
                queued_ms BIGINT NOT NULL,
                version BIGINT NOT NULL,
                changed_ms BIGINT NOT NULL,
                PRIMARY KEY (organization_id, conversation_id))",
            "CREATE INDEX live_conversations_team_wait
                ON live_conversations (organization_id, team_id, state, queued_ms, conversation_id)",
            "CREATE INDEX live_conversations_number_wait
                ON live_conversations (organization_id, channel_account_id, state, queued_ms, conversation_id)",
            "CREATE INDEX live_conversations_org_wait
                ON live_conversations (organization_id, state, queued_ms, conversation_id)",
            "CREATE INDEX live_conversations_tombstones ON live_conversations (state, changed_ms)",
            "CREATE TABLE live_agents (
                organization_id TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                status TEXT NOT NULL,
                load BIGINT NOT NULL,
                capacity BIGINT NOT NULL,
                team_ids TEXT NOT NULL,
                channel_account_ids TEXT NOT NULL,
                updated_us BIGINT NOT NULL,
                PRIMARY KEY (organization_id, agent_id))",
            "CREATE TABLE live_counters (
                organization_id TEXT NOT NULL,
                scope TEXT NOT NULL,
                scope_id TEXT NOT NULL,
                bucket TEXT NOT NULL,
                value BIGINT NOT NULL,
                PRIMARY KEY (organization_id, scope, scope_id, bucket))",
        ],
        down: &[
            "DROP TABLE live_counters",
            "DROP TABLE live_agents",
            "DROP TABLE live_conversations",
        ],
    };
