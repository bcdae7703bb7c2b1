//! Reporting facts in storage (`report_facts`, `report_conversations`,
//! `report_conversation_tags`): written as events are consumed, read only by reports, always
//! scoped by organization. On PostgreSQL a report is one aggregate query (`width_bucket` over
//! the report's bucket starts, `percentile_cont`, `GROUPING SETS` for the totals); on SQLite
//! the store reads the matching facts and [`report::aggregate`] computes the same figures.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    Statement, TransactionTrait, Value,
};

use super::{
    buckets::bucket_of,
    facts::{Fact, FactKind, Tracked},
    report::{self, Aggregate, Breakdown, FactRow, Filter, Stats},
};

/// The facts store.
#[derive(Clone)]
pub struct Store {
    pub db: DatabaseConnection,
}

/// Writes `?` placeholders as the backend wants them.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// A report's question as the store needs it.
pub struct FactQuery<'a> {
    pub organization_id: &'a str,
    pub start_ms: i64,
    pub end_ms: i64,
    pub filter: &'a Filter,
    pub breakdown: Breakdown,
    /// Bucket starts, ascending; the first at or before `start_ms`.
    pub bucket_starts: &'a [i64],
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl FactQuery<'_> {
    /// `FROM … WHERE …` with its values, and the key expression.
    fn sql_from_where(&self, values: &mut Vec<Value>) -> (String, &'static str) {
        let (join, key) = match self.breakdown {
            Breakdown::None => ("", "''"),
            Breakdown::Team => ("", "f.team_id"),
            Breakdown::Agent => ("", "f.agent_id"),
            Breakdown::ChannelAccount => ("", "f.channel_account_id"),
            Breakdown::Campaign => ("", "f.campaign_id"),
            Breakdown::Tag => (
                " JOIN report_conversation_tags t ON t.organization_id = f.organization_id \
                 AND t.conversation_id = f.conversation_id",
                "t.tag",
            ),
        };
        let kinds: Vec<&str> = FactKind::ALL.iter().map(|k| k.as_str()).collect();
        let mut sql = format!(
            "FROM report_facts f{join} WHERE f.organization_id = ? AND f.kind IN ({}) \
             AND f.instant_ms >= ? AND f.instant_ms < ?",
            placeholders(kinds.len())
        );
        values.push(self.organization_id.into());
        values.extend(kinds.into_iter().map(Value::from));
        values.push(self.start_ms.into());
        values.push(self.end_ms.into());
        for (column, ids) in [
            ("f.team_id", &self.filter.team_ids),
            ("f.agent_id", &self.filter.agent_ids),
            ("f.channel_account_id", &self.filter.channel_account_ids),
            ("f.campaign_id", &self.filter.campaign_ids),
        ] {
            if !ids.is_empty() {
                sql.push_str(&format!(" AND {column} IN ({})", placeholders(ids.len())));
                values.extend(ids.iter().map(|v| Value::from(v.as_str())));
            }
        }
        if !self.filter.tags.is_empty() {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM report_conversation_tags ft \
                 WHERE ft.organization_id = f.organization_id \
                 AND ft.conversation_id = f.conversation_id AND ft.tag IN ({}))",
                placeholders(self.filter.tags.len())
            ));
            values.extend(self.filter.tags.iter().map(|v| Value::from(v.as_str())));
        }
        (sql, key)
    }
}

fn stats(row: &QueryResult, prefix: &str) -> Result<Stats, DbErr> {
    let count: i64 = row.try_get("", &format!("{prefix}n"))?;
    let get = |c: &str| -> Result<f64, DbErr> {
        Ok(row
            .try_get::<Option<f64>>("", &format!("{prefix}{c}"))?
            .unwrap_or(0.0))
    };
    Ok(Stats::from_parts(
        count,
        get("med")?,
        get("p90")?,
        get("mean")?,
    ))
}

impl Store {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db.begin().await
    }

    /// A conversation's tracked state, locked for this transaction on PostgreSQL (so two
    /// replicas apply its events one after the other).
    pub async fn tracked(
        &self,
        tx: &DatabaseTransaction,
        org: &str,
        conversation: &str,
    ) -> Result<Option<Tracked>, DbErr> {
        let backend = tx.get_database_backend();
        tx.execute_raw(statement(
            backend,
            "INSERT INTO report_conversations (organization_id, conversation_id, state) \
             VALUES (?, ?, '') ON CONFLICT DO NOTHING",
            vec![org.into(), conversation.into()],
        ))
        .await?;
        let lock = if backend == DbBackend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let row = tx
            .query_one_raw(statement(
                backend,
                &format!(
                    "SELECT state FROM report_conversations \
                     WHERE organization_id = ? AND conversation_id = ?{lock}"
                ),
                vec![org.into(), conversation.into()],
            ))
            .await?;
        let state: String = match row {
            Some(r) => r.try_get("", "state")?,
            None => String::new(),
        };
        if state.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&state)
            .map(Some)
            .map_err(|e| DbErr::Custom(format!("report_conversations.state: {e}")))
    }

    pub async fn save_tracked(
        &self,
        tx: &DatabaseTransaction,
        org: &str,
        conversation: &str,
        tracked: &Tracked,
    ) -> Result<(), DbErr> {
        let state =
            serde_json::to_string(tracked).map_err(|e| DbErr::Custom(format!("state: {e}")))?;
        tx.execute_raw(statement(
            tx.get_database_backend(),
            "UPDATE report_conversations SET state = ? \
             WHERE organization_id = ? AND conversation_id = ?",
            vec![state.into(), org.into(), conversation.into()],
        ))
        .await?;
        Ok(())
    }

    /// Records a fact; one already recorded for the same happening (same event and kind, or
    /// same conversation, kind and occurrence) is left as it is.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_fact(
        &self,
        tx: &DatabaseTransaction,
        event_id: &str,
        org: &str,
        conversation: &str,
        fact: &Fact,
        value_bh_ms: Option<i64>,
    ) -> Result<(), DbErr> {
        let d = &fact.dimensions;
        tx.execute_raw(statement(
            tx.get_database_backend(),
            "INSERT INTO report_facts (event_id, kind, organization_id, conversation_id, \
             occurrence, instant_ms, value_ms, value_bh_ms, team_id, agent_id, \
             channel_account_id, campaign_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
            vec![
                event_id.into(),
                fact.kind.as_str().into(),
                org.into(),
                conversation.into(),
                fact.occurrence.into(),
                fact.instant_ms.into(),
                fact.value_ms().into(),
                value_bh_ms.into(),
                d.team_id.as_str().into(),
                d.agent_id.as_str().into(),
                d.channel_account_id.as_str().into(),
                d.campaign_id.as_str().into(),
            ],
        ))
        .await?;
        Ok(())
    }

    /// Records a conversation's tags (its contact's tags at its start).
    pub async fn save_tags(
        &self,
        tx: &DatabaseTransaction,
        org: &str,
        conversation: &str,
        tags: &[String],
    ) -> Result<(), DbErr> {
        for tag in tags {
            tx.execute_raw(statement(
                tx.get_database_backend(),
                "INSERT INTO report_conversation_tags (organization_id, conversation_id, tag) \
                 VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                vec![org.into(), conversation.into(), tag.as_str().into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// The aggregates of a report: per (bucket, key, kind) and per (key, kind).
    pub async fn aggregates(&self, q: &FactQuery<'_>) -> Result<Vec<Aggregate>, DbErr> {
        match self.db.get_database_backend() {
            DbBackend::Postgres => self.aggregates_in_sql(q).await,
            _ => self.aggregates_in_rust(q).await,
        }
    }

    async fn aggregates_in_sql(&self, q: &FactQuery<'_>) -> Result<Vec<Aggregate>, DbErr> {
        let mut values = Vec::new();
        let (from_where, key) = q.sql_from_where(&mut values);
        let thresholds = q
            .bucket_starts
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT x.b, x.k, x.kind, \
               count(*) AS n, \
               percentile_cont(0.5) WITHIN GROUP (ORDER BY x.value_ms::float8) AS med, \
               percentile_cont(0.9) WITHIN GROUP (ORDER BY x.value_ms::float8) AS p90, \
               sum(x.value_ms)::float8 / count(*)::float8 AS mean, \
               count(x.value_bh_ms) AS bn, \
               percentile_cont(0.5) WITHIN GROUP (ORDER BY x.value_bh_ms::float8) AS bmed, \
               percentile_cont(0.9) WITHIN GROUP (ORDER BY x.value_bh_ms::float8) AS bp90, \
               sum(x.value_bh_ms)::float8 / NULLIF(count(x.value_bh_ms), 0)::float8 AS bmean \
             FROM (SELECT width_bucket(f.instant_ms, '{{{thresholds}}}'::bigint[]) AS b, \
                     {key} AS k, f.kind, f.value_ms, f.value_bh_ms {from_where}) x \
             GROUP BY GROUPING SETS ((x.b, x.k, x.kind), (x.k, x.kind))"
        );
        let rows = self
            .db
            .query_all_raw(statement(DbBackend::Postgres, &sql, values))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.try_get("", "kind")?;
            let Some(kind) = FactKind::parse(&kind) else {
                continue;
            };
            let bucket: Option<i32> = row.try_get("", "b")?;
            let business = stats(&row, "b")?;
            out.push(Aggregate {
                bucket: bucket.and_then(|b| usize::try_from(b - 1).ok()),
                key: row.try_get("", "k")?,
                kind,
                all_hours: stats(&row, "")?,
                business_hours: (business.count > 0).then_some(business),
            });
        }
        Ok(out)
    }

    async fn aggregates_in_rust(&self, q: &FactQuery<'_>) -> Result<Vec<Aggregate>, DbErr> {
        let mut values = Vec::new();
        let (from_where, key) = q.sql_from_where(&mut values);
        let sql = format!(
            "SELECT f.instant_ms, {key} AS k, f.kind, f.value_ms, f.value_bh_ms {from_where}"
        );
        let rows = self
            .db
            .query_all_raw(statement(self.db.get_database_backend(), &sql, values))
            .await?;
        let mut facts = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.try_get("", "kind")?;
            let (Some(kind), Some(bucket)) = (
                FactKind::parse(&kind),
                bucket_of(q.bucket_starts, row.try_get("", "instant_ms")?),
            ) else {
                continue;
            };
            facts.push(FactRow {
                bucket,
                key: row.try_get("", "k")?,
                kind,
                value_ms: row.try_get("", "value_ms")?,
                value_bh_ms: row.try_get("", "value_bh_ms")?,
            });
        }
        Ok(report::aggregate(facts))
    }
}
