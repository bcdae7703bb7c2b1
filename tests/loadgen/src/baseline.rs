//! The raw ceilings Switchboard is measured against, taken in the same run as the product so the
//! report can give ratios instead of absolute numbers (see `../shared/TOOLING.md`, "Ceilings
//! measured here").
//!
//! Three phases, each a closed loop of `concurrency` Tokio tasks running one operation after the
//! other until the deadline, after a short warm-up that is not counted:
//!
//! - [`raw_insert`]: `INSERT … ON CONFLICT (wamid) DO NOTHING` of one message-shaped row,
//!   autocommit, ~5 % redeliveries of an earlier wamid;
//! - [`raw_claim`]: the one-statement `FOR UPDATE SKIP LOCKED` claim plus its event row;
//! - [`raw_redis_script`]: a Lua "pick the least-loaded live agent and claim" (one `ZRANGE`, one
//!   `ZINCRBY`) through `EVALSHA` on one multiplexed connection shared by the tasks.
//!
//! The PostgreSQL phases run in a throwaway database `sbbench_<uuid>` created through the admin
//! URL and dropped (`WITH (FORCE)`) at the end, also on error. Tables are ordinary logged tables
//! and `synchronous_commit` is left as the server has it: that is what the product pays. The Redis
//! phase keeps its keys under `sbbench:<uuid>:` and deletes them at the end.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value,
};
use uuid::Uuid;

/// Warm-up before each phase; its operations are not counted.
pub const WARMUP: Duration = Duration::from_millis(500);

/// Agents in the Redis phase's load ZSET.
pub const REDIS_AGENTS: usize = 50;

/// Queued rows prefilled per second of claim phase (warm-up included): about ten times the
/// claim ceiling measured on the project's machines (1,775/s), so the phase never runs dry.
const CLAIM_PREFILL_PER_SEC: f64 = 20_000.0;

/// Lowest number of queued rows prefilled for a claim phase.
const CLAIM_PREFILL_MIN: u64 = 10_000;

/// Where and how hard to measure.
#[derive(Debug, Clone)]
pub struct BaselineConfig {
    /// An admin PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/postgres); the baseline
    /// creates its own throwaway database `sbbench_<uuid simple>` through it and drops it
    /// (WITH (FORCE)) at the end, also on error.
    pub database_admin_url: String,
    pub redis_url: String,
    /// Duration of each phase.
    pub seconds: f64,
    /// Concurrent tasks (and pool connections) per phase, e.g. 32.
    pub concurrency: usize,
}

/// One phase's result.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    /// Operations counted (a claim that found nothing is not one).
    pub ops: u64,
    /// Measured time: from the end of the warm-up to the completion of the last counted operation.
    pub seconds: f64,
    /// `ops / seconds`.
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The three raw ceilings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Baselines {
    /// Raw `INSERT … ON CONFLICT (wamid) DO NOTHING` of one message-shaped row (org id, wamid
    /// text unique, contact text, jsonb body ~300 bytes, created_ms bigint), autocommit, a unique
    /// wamid each (plus ~5% repeats of an earlier wamid, as webhooks redeliver).
    pub raw_insert: Rate,
    /// Raw one-statement claim (`FOR UPDATE SKIP LOCKED` + `UPDATE` + event `INSERT`) on a table
    /// prefilled so the phase never runs dry; claims counted by affected rows.
    pub raw_claim: Rate,
    /// Raw Redis Lua script "pick the least-loaded live agent and claim" (`ZRANGE 0 0 WITHSCORES`,
    /// capacity check, `ZINCRBY 1`) through `EVALSHA` on one shared multiplexed connection.
    pub raw_redis_script: Rate,
}

/// Measures the three ceilings one after the other (PostgreSQL phases in one throwaway database).
pub async fn measure(cfg: &BaselineConfig) -> anyhow::Result<Baselines> {
    measure_with_id(cfg, Uuid::now_v7()).await
}

/// [`measure`] with a chosen run id: the database is `sbbench_<id simple>`, the Redis prefix
/// `sbbench:<id>:` (tests use it to check both are gone afterwards).
pub async fn measure_with_id(cfg: &BaselineConfig, id: Uuid) -> anyhow::Result<Baselines> {
    check(cfg)?;
    let (raw_insert, raw_claim) = {
        let db = ThrowawayDatabase::create(&cfg.database_admin_url, id).await?;
        let result = async {
            let pool = db.connect(cfg.concurrency).await?;
            let phases = async {
                let insert = insert_phase(&pool, cfg.concurrency, WARMUP, phase_time(cfg))
                    .await
                    .context("raw insert phase")?;
                let claim = claim_phase(
                    &pool,
                    cfg.concurrency,
                    WARMUP,
                    phase_time(cfg),
                    claim_prefill(cfg.seconds),
                )
                .await
                .and_then(Counted::into_full)
                .context("raw claim phase")?;
                anyhow::Ok((insert, claim))
            }
            .await;
            pool.close().await.ok();
            phases
        }
        .await;
        finish(result, db.drop().await)?
    };
    let raw_redis_script = redis_phase(
        &cfg.redis_url,
        &redis_prefix(id),
        cfg.concurrency,
        WARMUP,
        phase_time(cfg),
    )
    .await
    .context("raw Redis script phase")?;
    Ok(Baselines {
        raw_insert,
        raw_claim,
        raw_redis_script,
    })
}

/// The insert ceiling alone (in its own throwaway database).
pub async fn raw_insert(cfg: &BaselineConfig) -> anyhow::Result<Rate> {
    check(cfg)?;
    let db = ThrowawayDatabase::create(&cfg.database_admin_url, Uuid::now_v7()).await?;
    let result = async {
        let pool = db.connect(cfg.concurrency).await?;
        let rate = insert_phase(&pool, cfg.concurrency, WARMUP, phase_time(cfg)).await;
        pool.close().await.ok();
        rate
    }
    .await;
    finish(result, db.drop().await)
}

/// The claim ceiling alone (in its own throwaway database).
pub async fn raw_claim(cfg: &BaselineConfig) -> anyhow::Result<Rate> {
    check(cfg)?;
    let db = ThrowawayDatabase::create(&cfg.database_admin_url, Uuid::now_v7()).await?;
    let result = async {
        let pool = db.connect(cfg.concurrency).await?;
        let claims = claim_phase(
            &pool,
            cfg.concurrency,
            WARMUP,
            phase_time(cfg),
            claim_prefill(cfg.seconds),
        )
        .await;
        pool.close().await.ok();
        claims?.into_full()
    }
    .await;
    finish(result, db.drop().await)
}

/// The Redis script ceiling alone (under its own key prefix).
pub async fn raw_redis_script(cfg: &BaselineConfig) -> anyhow::Result<Rate> {
    check(cfg)?;
    redis_phase(
        &cfg.redis_url,
        &redis_prefix(Uuid::now_v7()),
        cfg.concurrency,
        WARMUP,
        phase_time(cfg),
    )
    .await
}

fn check(cfg: &BaselineConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        cfg.concurrency > 0,
        "baseline concurrency must be at least 1"
    );
    anyhow::ensure!(
        cfg.seconds.is_finite() && cfg.seconds > 0.0,
        "baseline seconds must be a positive number, got {}",
        cfg.seconds
    );
    Ok(())
}

fn phase_time(cfg: &BaselineConfig) -> Duration {
    Duration::from_secs_f64(cfg.seconds)
}

fn claim_prefill(seconds: f64) -> u64 {
    let total = seconds + WARMUP.as_secs_f64();
    ((total * CLAIM_PREFILL_PER_SEC).ceil() as u64).max(CLAIM_PREFILL_MIN)
}

/// The Redis key prefix of run `id`.
pub fn redis_prefix(id: Uuid) -> String {
    format!("sbbench:{id}:")
}

/// The throwaway database name of run `id`.
pub fn database_name(id: Uuid) -> String {
    format!("sbbench_{}", id.simple())
}

/// Keeps the work's error first; a cleanup error is reported when the work succeeded, and added
/// as context when it did not.
fn finish<T>(work: anyhow::Result<T>, cleanup: anyhow::Result<()>) -> anyhow::Result<T> {
    match (work, cleanup) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(c)) => Err(c),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(c)) => Err(e.context(format!("cleanup failed too: {c:#}"))),
    }
}

// ------------------------------------------------------------------ throwaway database ---

/// A database created for one run through the admin URL; [`ThrowawayDatabase::drop`] removes it.
/// Not dropped automatically: call `drop` on every path (the phases here do).
pub struct ThrowawayDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ThrowawayDatabase {
    /// Creates `sbbench_<id simple>`.
    pub async fn create(admin_url: &str, id: Uuid) -> anyhow::Result<Self> {
        let name = database_name(id);
        let admin = admin_connect(admin_url).await?;
        let created = admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .with_context(|| format!("creating database {name}"));
        admin.close().await.ok();
        created?;
        Ok(Self {
            admin_url: admin_url.to_string(),
            url: replace_database(admin_url, &name),
            name,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A pool of exactly `connections` connections to the database, all of them open (so
    /// connection setup is never measured), with the benchmark tables created.
    pub async fn connect(&self, connections: usize) -> anyhow::Result<DatabaseConnection> {
        let n = u32::try_from(connections).context("too many connections")?;
        let mut opts = ConnectOptions::new(self.url.clone());
        opts.max_connections(n)
            .min_connections(n)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false);
        let pool = Database::connect(opts)
            .await
            .with_context(|| format!("connecting to {}", self.name))?;
        create_tables(&pool).await?;
        open_all(&pool, connections).await?;
        Ok(pool)
    }

    /// Drops the database, terminating whatever is still connected to it.
    pub async fn drop(self) -> anyhow::Result<()> {
        let admin = admin_connect(&self.admin_url).await?;
        let dropped = admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await
            .with_context(|| format!("dropping database {}", self.name));
        admin.close().await.ok();
        dropped.map(|_| ())
    }
}

async fn admin_connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(opts)
        .await
        .with_context(|| format!("connecting to the admin PostgreSQL URL {url}"))
}

/// `url` with its database path replaced by `name` (query string kept).
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn create_tables(db: &DatabaseConnection) -> anyhow::Result<()> {
    for sql in [
        "CREATE TABLE IF NOT EXISTS bench_messages (
            id bigserial PRIMARY KEY,
            org_id uuid NOT NULL,
            wamid text NOT NULL UNIQUE,
            contact text NOT NULL,
            body jsonb NOT NULL,
            created_ms bigint NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS bench_queue (
            id bigserial PRIMARY KEY,
            org_id uuid NOT NULL,
            priority int NOT NULL,
            state text NOT NULL,
            assignee text,
            assigned_ms bigint,
            created_ms bigint NOT NULL
        )",
        "CREATE INDEX IF NOT EXISTS bench_queue_queued
            ON bench_queue (priority DESC, id) WHERE state = 'queued'",
        "CREATE TABLE IF NOT EXISTS bench_events (
            id bigserial PRIMARY KEY,
            item_id bigint NOT NULL,
            kind text NOT NULL,
            created_ms bigint NOT NULL
        )",
    ] {
        db.execute_unprepared(sql)
            .await
            .context("creating benchmark tables")?;
    }
    Ok(())
}

/// Holds `n` connections at once so the pool has them all open before anything is measured.
async fn open_all(db: &DatabaseConnection, n: usize) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let db = db.clone();
        tasks.spawn(async move {
            db.execute_unprepared("SELECT pg_sleep(0.05)")
                .await
                .map(|_| ())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r?.context("opening pool connections")?;
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// --------------------------------------------------------------------------- closed loop ---

/// What a closed loop counted.
#[derive(Debug, Clone)]
pub struct Counted {
    pub rate: Rate,
    /// Operations in the measured window that found nothing to do (not counted in `rate.ops`).
    pub misses: u64,
}

impl Counted {
    /// The rate, or an error when the phase ran dry.
    fn into_full(self) -> anyhow::Result<Rate> {
        anyhow::ensure!(
            self.misses == 0,
            "the claim phase ran dry ({} empty claims after {} claims): prefill more rows",
            self.misses,
            self.rate.ops
        );
        Ok(self.rate)
    }
}

/// Runs `op(task, seq)` in `concurrency` tasks, each one after the other until `warmup + run`
/// has passed. Operations *started* after the warm-up and before the deadline are measured; an
/// `Ok(true)` counts (latency recorded, in microseconds), an `Ok(false)` is a miss. The measured
/// time runs from the end of the warm-up to the completion of the last measured operation. The
/// first error stops every task and is returned.
async fn closed_loop<O, F>(
    concurrency: usize,
    warmup: Duration,
    run: Duration,
    op: O,
) -> anyhow::Result<Counted>
where
    O: Fn(usize, u64) -> F + Send + Sync + 'static,
    F: Future<Output = anyhow::Result<bool>> + Send + 'static,
{
    let op = Arc::new(op);
    let failed = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let measured_from = start + warmup;
    let deadline = measured_from + run;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let op = op.clone();
        let failed = failed.clone();
        tasks.spawn(async move {
            let mut hist = new_histogram();
            let (mut ops, mut misses) = (0u64, 0u64);
            let mut last_end = measured_from;
            let mut seq = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= deadline || failed.load(Ordering::Relaxed) {
                    break;
                }
                let done = match op(task, seq).await {
                    Ok(done) => done,
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                };
                seq += 1;
                let t1 = Instant::now();
                if t0 >= measured_from {
                    last_end = last_end.max(t1);
                    if done {
                        ops += 1;
                        hist.saturating_record(micros(t1 - t0));
                    } else {
                        misses += 1;
                    }
                }
            }
            anyhow::Ok((hist, ops, misses, last_end))
        });
    }
    let mut hist = new_histogram();
    let (mut ops, mut misses) = (0u64, 0u64);
    let mut last_end = measured_from;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok((h, o, m, end)) => {
                hist.add(&h).context("merging latency histograms")?;
                ops += o;
                misses += m;
                last_end = last_end.max(end);
            }
            Err(e) => {
                failed.store(true, Ordering::Relaxed);
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let seconds = if last_end > measured_from {
        (last_end - measured_from).as_secs_f64()
    } else {
        run.as_secs_f64()
    };
    let ms = |q: f64| {
        if hist.is_empty() {
            0.0
        } else {
            hist.value_at_quantile(q) as f64 / 1000.0
        }
    };
    Ok(Counted {
        rate: Rate {
            ops,
            seconds,
            per_sec: ops as f64 / seconds,
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
        },
        misses,
    })
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs … 1 h, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

// -------------------------------------------------------------------------- raw insert ---

const INSERT_SQL: &str = "INSERT INTO bench_messages (org_id, wamid, contact, body, created_ms) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (wamid) DO NOTHING";

/// Every `REDELIVERY_EVERY`th insert of a task repeats one of its earlier wamids (5 %).
const REDELIVERY_EVERY: u64 = 20;

/// A WhatsApp-message-shaped JSON body of about 300 bytes.
fn message_body(wamid: &str, contact: &str) -> serde_json::Value {
    serde_json::json!({
        "messaging_product": "whatsapp",
        "from": contact,
        "id": wamid,
        "timestamp": "1763720000",
        "type": "text",
        "text": {
            "body": "Hello, I ordered a replacement charger last week and it has not arrived yet. \
                     Could someone check the tracking number for me, please? Thanks!"
        },
        "context": { "forwarded": false }
    })
}

/// The phase behind [`raw_insert`], on a pool from [`ThrowawayDatabase::connect`].
pub async fn insert_phase(
    db: &DatabaseConnection,
    concurrency: usize,
    warmup: Duration,
    run: Duration,
) -> anyhow::Result<Rate> {
    let org = Uuid::now_v7();
    // Distinct per phase run, so the same tables can be measured twice.
    let salt = Uuid::new_v4().simple().to_string();
    let salt: Arc<str> = salt[..8].into();
    let db = db.clone();
    let counted = closed_loop(concurrency, warmup, run, move |task, seq| {
        let db = db.clone();
        let salt = salt.clone();
        async move {
            // Redeliveries reuse the wamid of an operation 10 steps back of the same task.
            let n = if seq % REDELIVERY_EVERY == REDELIVERY_EVERY - 1 {
                seq - 10
            } else {
                seq
            };
            let wamid = format!("wamid.HBgL{salt}{task:04}{n:012}");
            let contact = format!("+4915{:09}", (task as u64 * 1_000_003 + n) % 1_000_000_000);
            let body = message_body(&wamid, &contact);
            let stmt = Statement::from_sql_and_values(
                DbBackend::Postgres,
                INSERT_SQL,
                [
                    Value::from(org),
                    Value::from(wamid),
                    Value::from(contact),
                    Value::from(body),
                    Value::from(now_ms()),
                ],
            );
            db.execute_raw(stmt).await?;
            Ok(true)
        }
    })
    .await?;
    Ok(counted.rate)
}

// --------------------------------------------------------------------------- raw claim ---

const CLAIM_SQL: &str = "WITH c AS (SELECT id FROM bench_queue WHERE state='queued' \
     ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED), \
     u AS (UPDATE bench_queue q SET state='assigned', assignee=$1, assigned_ms=$2 \
     FROM c WHERE q.id=c.id RETURNING q.id) \
     INSERT INTO bench_events(item_id, kind, created_ms) SELECT id,'assigned',$2 FROM u";

/// Adds `rows` queued items (priorities 0–2) to `bench_queue` in one statement and analyzes it.
pub async fn prefill_queue(db: &DatabaseConnection, rows: u64) -> anyhow::Result<()> {
    let rows = i64::try_from(rows).context("too many rows")?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO bench_queue (org_id, priority, state, created_ms) \
         SELECT $1, g % 3, 'queued', $2 FROM generate_series(1, $3::bigint) AS g",
        [
            Value::from(Uuid::now_v7()),
            Value::from(now_ms()),
            Value::from(rows),
        ],
    ))
    .await
    .context("prefilling bench_queue")?;
    db.execute_unprepared("ANALYZE bench_queue").await?;
    Ok(())
}

/// The phase behind [`raw_claim`], on a pool from [`ThrowawayDatabase::connect`]: prefills
/// `prefill` queued rows, then claims. A claim that found nothing is a miss, not an op; the
/// public [`raw_claim`] / [`measure`] fail if there was any.
pub async fn claim_phase(
    db: &DatabaseConnection,
    concurrency: usize,
    warmup: Duration,
    run: Duration,
    prefill: u64,
) -> anyhow::Result<Counted> {
    prefill_queue(db, prefill).await?;
    let db = db.clone();
    closed_loop(concurrency, warmup, run, move |task, _seq| {
        let db = db.clone();
        async move {
            let stmt = Statement::from_sql_and_values(
                DbBackend::Postgres,
                CLAIM_SQL,
                [Value::from(format!("agent-{task}")), Value::from(now_ms())],
            );
            let res = db.execute_raw(stmt).await?;
            Ok(res.rows_affected() == 1)
        }
    })
    .await
}

// -------------------------------------------------------------------- raw Redis script ---

/// KEYS[1] the agents' load ZSET, ARGV[1] the capacity. One read, one write.
const PICK_AND_CLAIM_LUA: &str = r"
local least = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #least == 0 then return false end
if tonumber(least[2]) >= tonumber(ARGV[1]) then return false end
redis.call('ZINCRBY', KEYS[1], 1, least[1])
return least[1]
";

/// Large enough that the phase never saturates (loads grow by ops / 50).
const REDIS_CAPACITY: u64 = 1_000_000_000_000;

/// The phase behind [`raw_redis_script`]: a ZSET `<prefix>agents` of [`REDIS_AGENTS`] agents, the
/// script through `EVALSHA` on one multiplexed connection shared by the tasks. Deletes every key
/// under `prefix` at the end, also on error.
pub async fn redis_phase(
    redis_url: &str,
    prefix: &str,
    concurrency: usize,
    warmup: Duration,
    run: Duration,
) -> anyhow::Result<Rate> {
    let client =
        redis::Client::open(redis_url).with_context(|| format!("Redis URL {redis_url}"))?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("connecting to Redis at {redis_url}"))?;
    let key = format!("{prefix}agents");
    let result = async {
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(&key);
        for a in 0..REDIS_AGENTS {
            zadd.arg(0).arg(format!("agent-{a:02}"));
        }
        let _: u64 = zadd.query_async(&mut conn).await?;
        let script = Arc::new(redis::Script::new(PICK_AND_CLAIM_LUA));
        script.load_async(&mut conn).await?;
        let key: Arc<str> = key.as_str().into();
        let shared = conn.clone();
        let counted = closed_loop(concurrency, warmup, run, move |_task, _seq| {
            let mut conn = shared.clone();
            let script = script.clone();
            let key = key.clone();
            async move {
                let agent: Option<String> = script
                    .key(&*key)
                    .arg(REDIS_CAPACITY)
                    .invoke_async(&mut conn)
                    .await?;
                Ok(agent.is_some())
            }
        })
        .await?;
        anyhow::ensure!(
            counted.misses == 0,
            "the Redis script found no agent under capacity {} times",
            counted.misses
        );
        Ok(counted.rate)
    }
    .await;
    let cleanup = delete_prefix(&mut conn, prefix).await;
    finish(result, cleanup)
}

/// Deletes every key under `prefix` (SCAN, not KEYS).
async fn delete_prefix(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> anyhow::Result<()> {
    let pattern = format!("{}*", escape_glob(prefix));
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .context("scanning benchmark keys")?;
        if !keys.is_empty() {
            let _: u64 = redis::cmd("DEL")
                .arg(&keys)
                .query_async(conn)
                .await
                .context("deleting benchmark keys")?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seconds: f64, concurrency: usize) -> BaselineConfig {
        BaselineConfig {
            database_admin_url: switchboard_testkit::database_admin_url(),
            redis_url: switchboard_testkit::redis_url(),
            seconds,
            concurrency,
        }
    }

    async fn admin() -> DatabaseConnection {
        admin_connect(&switchboard_testkit::database_admin_url())
            .await
            .expect("test PostgreSQL (run through scripts/with-test-services.sh)")
    }

    async fn redis_conn() -> redis::aio::MultiplexedConnection {
        redis::Client::open(switchboard_testkit::redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("test Redis (run through scripts/with-test-services.sh)")
    }

    async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
        db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap()
    }

    fn assert_rate(name: &str, r: &Rate) {
        assert!(r.ops > 0, "{name}: no ops: {r:?}");
        assert!(r.per_sec > 0.0, "{name}: {r:?}");
        assert!(r.seconds > 0.0, "{name}: {r:?}");
        assert!(r.p50_ms > 0.0, "{name}: {r:?}");
        assert!(r.p99_ms >= r.p50_ms, "{name}: {r:?}");
    }

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn measures_all_three_and_cleans_up() {
        let id = Uuid::now_v7();
        let b = measure_with_id(&config(0.5, 4), id).await.unwrap();
        assert_rate("raw_insert", &b.raw_insert);
        assert_rate("raw_claim", &b.raw_claim);
        assert_rate("raw_redis_script", &b.raw_redis_script);

        let admin = admin().await;
        let left = admin
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                [Value::from(database_name(id))],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        assert_eq!(left, 0, "throwaway database still there");

        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", escape_glob(&redis_prefix(id))))
            .query_async(&mut redis_conn().await)
            .await
            .unwrap();
        assert!(keys.is_empty(), "Redis keys left: {keys:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_claim_never_double_claims() {
        const PREFILL: u64 = 300;
        let db =
            ThrowawayDatabase::create(&switchboard_testkit::database_admin_url(), Uuid::now_v7())
                .await
                .unwrap();
        let result = async {
            let pool = db.connect(8).await?;
            // No warm-up: every event row comes from a measured claim.
            let c = claim_phase(
                &pool,
                8,
                Duration::ZERO,
                Duration::from_millis(500),
                PREFILL,
            )
            .await?;
            let events = count(&pool, "SELECT count(*) FROM bench_events").await;
            let distinct = count(&pool, "SELECT count(DISTINCT item_id) FROM bench_events").await;
            let assigned = count(
                &pool,
                "SELECT count(*) FROM bench_queue WHERE state = 'assigned'",
            )
            .await;
            pool.close().await.ok();
            anyhow::Ok((c, events, distinct, assigned))
        }
        .await;
        finish(result, db.drop().await)
            .map(|(c, events, distinct, assigned)| {
                println!("claims {c:?}, events {events}, distinct {distinct}, assigned {assigned}");
                assert!(c.rate.ops > 0);
                assert!(c.rate.ops <= PREFILL);
                assert_eq!(events, distinct, "an item was claimed twice");
                assert_eq!(events as u64, c.rate.ops, "events vs claims reported");
                assert_eq!(
                    assigned as u64, c.rate.ops,
                    "assigned rows vs claims reported"
                );
            })
            .unwrap();
    }

    /// `cargo test --release -p switchboard-loadgen -- --ignored --nocapture baseline_figures`
    /// (`BASELINE_SECONDS`, `BASELINE_CONCURRENCY` override 3 s × 32).
    #[tokio::test(flavor = "multi_thread")]
    #[ignore = "a measurement, not a test: run it with --ignored --nocapture"]
    async fn baseline_figures() {
        let seconds = std::env::var("BASELINE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0);
        let concurrency = std::env::var("BASELINE_CONCURRENCY")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(32);
        let admin = admin().await;
        let sync = admin
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT current_setting('synchronous_commit') || ' / ' || version()",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<String>(0)
            .unwrap();
        println!("synchronous_commit / server: {sync}");
        let b = measure(&config(seconds, concurrency)).await.unwrap();
        println!("baselines, {seconds} s × {concurrency} tasks:");
        for (name, r) in [
            ("raw_insert", &b.raw_insert),
            ("raw_claim", &b.raw_claim),
            ("raw_redis_script", &b.raw_redis_script),
        ] {
            println!(
                "  {name:<17} {:>9.0}/s  ops {:>7}  in {:.2} s  p50 {:.2} ms  p99 {:.2} ms",
                r.per_sec, r.ops, r.seconds, r.p50_ms, r.p99_ms
            );
        }
        println!("{}", serde_json::to_string(&b).unwrap());
    }
}
