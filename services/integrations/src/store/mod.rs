//! Integrations' storage: raw statements over its own tables, every query taking the
//! organization first (the dispatcher's claim, which serves every organization, and the
//! retention trim are the only exceptions, and say so).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    TransactionTrait, Value,
};
use switchboard_runtime::{
    db::statement,
    ids::{OrganizationId, WebhookDeliveryId},
    paging::{KeyPart, Page, Paged},
};

use crate::domain::{
    FeedEntry, Topics,
    webhook::{Attempt, Delivery, DeliveryStatus, Endpoint, Trigger},
};

/// Integrations' database.
#[derive(Clone)]
pub struct Store {
    pub db: DatabaseConnection,
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, DbErr> {
    STANDARD
        .decode(text)
        .map_err(|e| DbErr::Custom(format!("stored payload is not base64: {e}")))
}

fn topics_to_text(topics: &Topics) -> String {
    topics.0.join(",")
}

fn topics_from_text(text: &str) -> Topics {
    Topics(
        text.split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

fn entry(row: &QueryResult) -> Result<FeedEntry, DbErr> {
    Ok(FeedEntry {
        organization_id: row.try_get("", "organization_id")?,
        seq: row.try_get("", "seq")?,
        event_id: row.try_get("", "event_id")?,
        topic: row.try_get("", "topic")?,
        aggregate_id: row.try_get("", "aggregate_id")?,
        payload: unb64(&row.try_get::<String>("", "payload")?)?,
        occurred_ms: row.try_get("", "occurred_ms")?,
        append_ms: row.try_get("", "append_ms")?,
    })
}

fn endpoint(row: &QueryResult) -> Result<(Endpoint, String), DbErr> {
    Ok((
        Endpoint {
            id: row.try_get("", "id")?,
            organization_id: row.try_get("", "organization_id")?,
            url: row.try_get("", "url")?,
            topics: topics_from_text(&row.try_get::<String>("", "topics")?),
            description: row.try_get("", "description")?,
            enabled: row.try_get("", "enabled")?,
            create_ms: row.try_get("", "create_ms")?,
            update_ms: row.try_get("", "update_ms")?,
        },
        row.try_get("", "secret")?,
    ))
}

fn delivery(row: &QueryResult) -> Result<Delivery, DbErr> {
    let status: String = row.try_get("", "status")?;
    Ok(Delivery {
        id: row.try_get("", "id")?,
        organization_id: row.try_get("", "organization_id")?,
        endpoint_id: row.try_get("", "endpoint_id")?,
        event_id: row.try_get("", "event_id")?,
        topic: row.try_get("", "topic")?,
        payload: unb64(&row.try_get::<String>("", "payload")?)?,
        occurred_ms: row.try_get("", "occurred_ms")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| DbErr::Custom(format!("unknown delivery status {status:?}")))?,
        attempt_count: row.try_get("", "attempt_count")?,
        next_attempt_ms: row.try_get("", "next_attempt_ms")?,
        create_ms: row.try_get("", "create_ms")?,
        attempts: Vec::new(),
    })
}

const ENTRY_COLUMNS: &str =
    "organization_id, seq, event_id, topic, aggregate_id, payload, occurred_ms, append_ms";
const ENDPOINT_COLUMNS: &str =
    "id, organization_id, url, topics, description, enabled, secret, create_ms, update_ms";
const DELIVERY_COLUMNS: &str = "id, organization_id, endpoint_id, event_id, topic, payload, \
     occurred_ms, status, attempt_count, next_attempt_ms, create_ms";

/// An event to append to its organization's feed.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub event_id: String,
    pub topic: String,
    pub aggregate_id: String,
    pub payload: Vec<u8>,
    pub occurred_ms: i64,
}

impl Store {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db.begin().await
    }

    // ---- feed ----

    /// Takes the organization's next sequence number in `tx`.
    ///
    /// The ordering guarantee of the feed rests here. The upsert locks the organization's
    /// counter row until `tx` ends (PostgreSQL: the row lock of `ON CONFLICT DO UPDATE`;
    /// SQLite: the database has one writer, whose write lock is held from the first write to
    /// the commit). A second appender of the organization waits for that lock and reads the
    /// counter only after the first committed (or rolled back, un-taking its number). So
    /// numbers are handed out in commit order, without gaps: when a reader sees event N+1
    /// committed, N committed before it, and a reader that resumes after N never skips an
    /// event that commits later with a smaller number.
    pub async fn next_seq(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
    ) -> Result<i64, DbErr> {
        let row = tx
            .query_one_raw(statement(
                self.backend(),
                "INSERT INTO feed_counters (organization_id, last_seq) VALUES (?, 1) \
                 ON CONFLICT (organization_id) DO UPDATE SET last_seq = feed_counters.last_seq + 1 \
                 RETURNING last_seq",
                vec![org.as_str().into()],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("the counter upsert returned no row".into()))?;
        row.try_get("", "last_seq")
    }

    /// Appends `entry` as number `seq` of the organization's feed, in `tx`.
    pub async fn insert_entry(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        seq: i64,
        entry: &NewEntry,
        append_ms: i64,
    ) -> Result<FeedEntry, DbErr> {
        tx.execute_raw(statement(
            self.backend(),
            &format!("INSERT INTO feed_events ({ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            vec![
                org.as_str().into(),
                seq.into(),
                entry.event_id.clone().into(),
                entry.topic.clone().into(),
                entry.aggregate_id.clone().into(),
                b64(&entry.payload).into(),
                entry.occurred_ms.into(),
                append_ms.into(),
            ],
        ))
        .await?;
        Ok(FeedEntry {
            organization_id: org.to_string(),
            seq,
            event_id: entry.event_id.clone(),
            topic: entry.topic.clone(),
            aggregate_id: entry.aggregate_id.clone(),
            payload: entry.payload.clone(),
            occurred_ms: entry.occurred_ms,
            append_ms,
        })
    }

    /// Up to `limit` events of the organization after `after_seq`, in order.
    pub async fn entries_after(
        &self,
        org: &OrganizationId,
        after_seq: i64,
        limit: u64,
    ) -> Result<Vec<FeedEntry>, DbErr> {
        let rows = self
            .db
            .query_all_raw(statement(
                self.backend(),
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM feed_events WHERE organization_id = ? AND seq > ? \
                     ORDER BY seq LIMIT {limit}"
                ),
                vec![org.as_str().into(), after_seq.into()],
            ))
            .await?;
        rows.iter().map(entry).collect()
    }

    /// The append time of event `seq` of the organization, when it is still kept.
    pub async fn stamp_of(&self, org: &OrganizationId, seq: i64) -> Result<Option<i64>, DbErr> {
        let row = self
            .db
            .query_one_raw(statement(
                self.backend(),
                "SELECT append_ms FROM feed_events WHERE organization_id = ? AND seq = ?",
                vec![org.as_str().into(), seq.into()],
            ))
            .await?;
        row.map(|r| r.try_get("", "append_ms")).transpose()
    }

    /// The organization's newest event (sequence number and append time), if any is kept.
    pub async fn newest(&self, org: &OrganizationId) -> Result<Option<(i64, i64)>, DbErr> {
        self.one_end(org, "DESC").await
    }

    /// The organization's oldest kept event.
    pub async fn oldest(&self, org: &OrganizationId) -> Result<Option<(i64, i64)>, DbErr> {
        self.one_end(org, "ASC").await
    }

    async fn one_end(&self, org: &OrganizationId, dir: &str) -> Result<Option<(i64, i64)>, DbErr> {
        let row = self
            .db
            .query_one_raw(statement(
                self.backend(),
                &format!(
                    "SELECT seq, append_ms FROM feed_events WHERE organization_id = ? \
                     ORDER BY seq {dir} LIMIT 1"
                ),
                vec![org.as_str().into()],
            ))
            .await?;
        row.map(|r| Ok((r.try_get("", "seq")?, r.try_get("", "append_ms")?)))
            .transpose()
    }

    /// The last number the organization's counter handed out (0 when none).
    pub async fn last_seq(&self, org: &OrganizationId) -> Result<i64, DbErr> {
        let row = self
            .db
            .query_one_raw(statement(
                self.backend(),
                "SELECT last_seq FROM feed_counters WHERE organization_id = ?",
                vec![org.as_str().into()],
            ))
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64>("", "last_seq"))
            .transpose()?
            .unwrap_or(0))
    }

    /// Retention, across organizations: deletes feed events appended before `before_ms`, and
    /// finished deliveries (with their attempts) last changed before it. How many events went.
    pub async fn trim(&self, before_ms: i64) -> Result<u64, DbErr> {
        let backend = self.backend();
        let events = self
            .db
            .execute_raw(statement(
                backend,
                "DELETE FROM feed_events WHERE append_ms < ?",
                vec![before_ms.into()],
            ))
            .await?
            .rows_affected();
        let tx = self.db.begin().await?;
        tx.execute_raw(statement(
            backend,
            "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries \
             WHERE status <> 'pending' AND update_ms < ?)",
            vec![before_ms.into()],
        ))
        .await?;
        tx.execute_raw(statement(
            backend,
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND update_ms < ?",
            vec![before_ms.into()],
        ))
        .await?;
        tx.commit().await?;
        Ok(events)
    }

    // ---- endpoints ----

    pub async fn insert_endpoint<C: ConnectionTrait>(
        &self,
        conn: &C,
        e: &Endpoint,
        secret: &str,
    ) -> Result<(), DbErr> {
        conn.execute_raw(statement(
            self.backend(),
            &format!("INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            vec![
                e.id.clone().into(),
                e.organization_id.clone().into(),
                e.url.clone().into(),
                topics_to_text(&e.topics).into(),
                e.description.clone().into(),
                e.enabled.into(),
                secret.into(),
                e.create_ms.into(),
                e.update_ms.into(),
            ],
        ))
        .await?;
        Ok(())
    }

    /// An endpoint of the organization, with its secret.
    pub async fn endpoint<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        id: &str,
    ) -> Result<Option<(Endpoint, String)>, DbErr> {
        let row = conn
            .query_one_raw(statement(
                self.backend(),
                &format!(
                    "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = ? AND id = ?"
                ),
                vec![org.as_str().into(), id.into()],
            ))
            .await?;
        row.as_ref().map(endpoint).transpose()
    }

    /// The organization's enabled endpoints (in `conn`, the appending transaction).
    pub async fn enabled_endpoints<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
    ) -> Result<Vec<Endpoint>, DbErr> {
        let rows = conn
            .query_all_raw(statement(
                self.backend(),
                &format!(
                    "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = ? AND enabled = ?"
                ),
                vec![org.as_str().into(), true.into()],
            ))
            .await?;
        rows.iter().map(|r| endpoint(r).map(|(e, _)| e)).collect()
    }

    /// One page of the organization's endpoints, oldest first.
    pub async fn list_endpoints(
        &self,
        org: &OrganizationId,
        page: &Page,
    ) -> Result<Paged<Endpoint>, DbErr> {
        let mut values: Vec<Value> = vec![org.as_str().into()];
        let mut after = String::new();
        if let Some([KeyPart::Int(ms), KeyPart::Text(id)]) = page.after() {
            after = " AND (create_ms > ? OR (create_ms = ? AND id > ?))".into();
            values.extend([(*ms).into(), (*ms).into(), id.clone().into()]);
        }
        let rows = self
            .db
            .query_all_raw(statement(
                self.backend(),
                &format!(
                    "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = ?{after} \
                     ORDER BY create_ms, id LIMIT {}",
                    page.fetch_limit()
                ),
                values,
            ))
            .await?;
        let items = rows
            .iter()
            .map(|r| endpoint(r).map(|(e, _)| e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(items, |e| vec![e.create_ms.into(), e.id.clone().into()]))
    }

    pub async fn update_endpoint<C: ConnectionTrait>(
        &self,
        conn: &C,
        e: &Endpoint,
    ) -> Result<(), DbErr> {
        conn.execute_raw(statement(
            self.backend(),
            "UPDATE webhook_endpoints SET url = ?, topics = ?, description = ?, enabled = ?, update_ms = ? \
             WHERE organization_id = ? AND id = ?",
            vec![
                e.url.clone().into(),
                topics_to_text(&e.topics).into(),
                e.description.clone().into(),
                e.enabled.into(),
                e.update_ms.into(),
                e.organization_id.clone().into(),
                e.id.clone().into(),
            ],
        ))
        .await?;
        Ok(())
    }

    pub async fn set_secret<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        id: &str,
        secret: &str,
        now_ms: i64,
    ) -> Result<bool, DbErr> {
        let res = conn
            .execute_raw(statement(
                self.backend(),
                "UPDATE webhook_endpoints SET secret = ?, update_ms = ? WHERE organization_id = ? AND id = ?",
                vec![secret.into(), now_ms.into(), org.as_str().into(), id.into()],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Deletes an endpoint with its deliveries and their attempts; false when unknown.
    pub async fn delete_endpoint(&self, org: &OrganizationId, id: &str) -> Result<bool, DbErr> {
        let backend = self.backend();
        let tx = self.db.begin().await?;
        tx.execute_raw(statement(
            backend,
            "DELETE FROM webhook_attempts WHERE organization_id = ? AND delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE organization_id = ? AND endpoint_id = ?)",
            vec![org.as_str().into(), org.as_str().into(), id.into()],
        ))
        .await?;
        tx.execute_raw(statement(
            backend,
            "DELETE FROM webhook_deliveries WHERE organization_id = ? AND endpoint_id = ?",
            vec![org.as_str().into(), id.into()],
        ))
        .await?;
        let gone = tx
            .execute_raw(statement(
                backend,
                "DELETE FROM webhook_endpoints WHERE organization_id = ? AND id = ?",
                vec![org.as_str().into(), id.into()],
            ))
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(gone == 1)
    }

    // ---- deliveries ----

    /// A pending delivery of `entry` to `endpoint_id`, due at `due_ms` (once per endpoint and
    /// event: a redelivered event adds nothing).
    pub async fn insert_delivery(
        &self,
        tx: &DatabaseTransaction,
        entry: &FeedEntry,
        endpoint_id: &str,
        due_ms: i64,
    ) -> Result<(), DbErr> {
        tx.execute_raw(statement(
            self.backend(),
            &format!(
                "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}, claimed_until_ms, update_ms) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, ?) ON CONFLICT DO NOTHING"
            ),
            vec![
                WebhookDeliveryId::generate().to_string().into(),
                entry.organization_id.clone().into(),
                endpoint_id.into(),
                entry.event_id.clone().into(),
                entry.topic.clone().into(),
                b64(&entry.payload).into(),
                entry.occurred_ms.into(),
                DeliveryStatus::Pending.as_str().into(),
                due_ms.into(),
                entry.append_ms.into(),
                entry.append_ms.into(),
            ],
        ))
        .await?;
        Ok(())
    }

    /// Claims up to `limit` due pending deliveries of any organization (the dispatcher serves
    /// them all) for `lease_ms`: a replica that dies mid-attempt leaves them to another after
    /// the lease. PostgreSQL skips rows another replica is claiming (`FOR UPDATE SKIP
    /// LOCKED`), so replicas share the work without waiting on each other; SQLite has one
    /// writer.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<Delivery>, DbErr> {
        let lock = match self.backend() {
            DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let rows = self
            .db
            .query_all_raw(statement(
                self.backend(),
                &format!(
                    "UPDATE webhook_deliveries SET claimed_until_ms = ? WHERE id IN (\
                     SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_ms <= ? \
                     AND (claimed_until_ms IS NULL OR claimed_until_ms < ?) \
                     ORDER BY next_attempt_ms LIMIT {limit}{lock}) RETURNING {DELIVERY_COLUMNS}"
                ),
                vec![(now_ms + lease_ms).into(), now_ms.into(), now_ms.into()],
            ))
            .await?;
        rows.iter().map(delivery).collect()
    }

    /// Puts a claimed delivery back for later without an attempt (its endpoint is disabled).
    pub async fn postpone(&self, org: &str, id: &str, until_ms: i64) -> Result<(), DbErr> {
        self.db
            .execute_raw(statement(
                self.backend(),
                "UPDATE webhook_deliveries SET next_attempt_ms = ?, claimed_until_ms = NULL \
                 WHERE organization_id = ? AND id = ?",
                vec![until_ms.into(), org.into(), id.into()],
            ))
            .await?;
        Ok(())
    }

    /// Records `attempt` of a delivery and its outcome (status, attempts, next attempt) in one
    /// transaction, releasing the claim.
    pub async fn record_attempt(
        &self,
        d: &Delivery,
        attempt: &Attempt,
        status: DeliveryStatus,
        attempt_count: i32,
        next_attempt_ms: Option<i64>,
    ) -> Result<(), DbErr> {
        let backend = self.backend();
        let tx = self.db.begin().await?;
        tx.execute_raw(statement(
            backend,
            "INSERT INTO webhook_attempts (id, organization_id, delivery_id, attempt_ms, status_code, \
             error, duration_ms, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                format!("what_{}", switchboard_runtime::ids::uuid_v7_simple()).into(),
                d.organization_id.clone().into(),
                d.id.clone().into(),
                attempt.attempt_ms.into(),
                attempt.status_code.into(),
                attempt.error.clone().into(),
                attempt.duration_ms.into(),
                attempt.trigger.as_str().into(),
            ],
        ))
        .await?;
        tx.execute_raw(statement(
            backend,
            "UPDATE webhook_deliveries SET status = ?, attempt_count = ?, next_attempt_ms = ?, \
             claimed_until_ms = NULL, update_ms = ? WHERE organization_id = ? AND id = ?",
            vec![
                status.as_str().into(),
                attempt_count.into(),
                next_attempt_ms.into(),
                attempt.attempt_ms.into(),
                d.organization_id.clone().into(),
                d.id.clone().into(),
            ],
        ))
        .await?;
        tx.commit().await
    }

    /// A delivery of the organization, with its attempts.
    pub async fn delivery(
        &self,
        org: &OrganizationId,
        id: &str,
    ) -> Result<Option<Delivery>, DbErr> {
        let row = self
            .db
            .query_one_raw(statement(
                self.backend(),
                &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE organization_id = ? AND id = ?"),
                vec![org.as_str().into(), id.into()],
            ))
            .await?;
        let Some(mut d) = row.as_ref().map(delivery).transpose()? else {
            return Ok(None);
        };
        d.attempts = self
            .attempts(org, std::slice::from_ref(&d.id))
            .await?
            .remove(&d.id)
            .unwrap_or_default();
        Ok(Some(d))
    }

    /// One page of the organization's deliveries, newest first, with their attempts.
    pub async fn list_deliveries(
        &self,
        org: &OrganizationId,
        endpoint_id: Option<&str>,
        status: Option<DeliveryStatus>,
        page: &Page,
    ) -> Result<Paged<Delivery>, DbErr> {
        let mut values: Vec<Value> = vec![org.as_str().into()];
        let mut filters = String::new();
        if let Some(e) = endpoint_id {
            filters.push_str(" AND endpoint_id = ?");
            values.push(e.into());
        }
        if let Some(s) = status {
            filters.push_str(" AND status = ?");
            values.push(s.as_str().into());
        }
        if let Some([KeyPart::Int(ms), KeyPart::Text(id)]) = page.after() {
            filters.push_str(" AND (create_ms < ? OR (create_ms = ? AND id < ?))");
            values.extend([(*ms).into(), (*ms).into(), id.clone().into()]);
        }
        let rows = self
            .db
            .query_all_raw(statement(
                self.backend(),
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE organization_id = ?{filters} \
                     ORDER BY create_ms DESC, id DESC LIMIT {}",
                    page.fetch_limit()
                ),
                values,
            ))
            .await?;
        let items = rows.iter().map(delivery).collect::<Result<Vec<_>, _>>()?;
        let mut paged = page.finish(items, |d| vec![d.create_ms.into(), d.id.clone().into()]);
        let ids: Vec<String> = paged.items.iter().map(|d| d.id.clone()).collect();
        let mut attempts = self.attempts(org, &ids).await?;
        for d in &mut paged.items {
            d.attempts = attempts.remove(&d.id).unwrap_or_default();
        }
        Ok(paged)
    }

    async fn attempts(
        &self,
        org: &OrganizationId,
        delivery_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<Attempt>>, DbErr> {
        let mut out: std::collections::HashMap<String, Vec<Attempt>> = Default::default();
        if delivery_ids.is_empty() {
            return Ok(out);
        }
        let marks = vec!["?"; delivery_ids.len()].join(", ");
        let mut values: Vec<Value> = vec![org.as_str().into()];
        values.extend(delivery_ids.iter().map(|id| Value::from(id.clone())));
        let rows = self
            .db
            .query_all_raw(statement(
                self.backend(),
                &format!(
                    "SELECT delivery_id, attempt_ms, status_code, error, duration_ms, cause FROM webhook_attempts \
                     WHERE organization_id = ? AND delivery_id IN ({marks}) ORDER BY attempt_ms, id"
                ),
                values,
            ))
            .await?;
        for r in rows {
            let id: String = r.try_get("", "delivery_id")?;
            out.entry(id).or_default().push(Attempt {
                attempt_ms: r.try_get("", "attempt_ms")?,
                status_code: r.try_get("", "status_code")?,
                error: r.try_get("", "error")?,
                duration_ms: r.try_get("", "duration_ms")?,
                trigger: Trigger::parse(&r.try_get::<String>("", "cause")?),
            });
        }
        Ok(out)
    }

    /// Pending deliveries of every organization (the gauge an SRE watches).
    pub async fn pending_count(&self) -> Result<i64, DbErr> {
        let row = self
            .db
            .query_one_raw(statement(
                self.backend(),
                "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'",
                vec![],
            ))
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0))
    }
}
