//! The inbox log: per organization, the inbox events in the order they were projected, kept
//! for the retention period. Redis streams in a cluster (every gateway replica reads the same
//! log, so a client resumes on any replica), an in-process ring in the embedded default.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use prost::Message as _;
use switchboard_runtime::clock::Clock;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{
    Entry,
    cursor::{Cursor, Position},
};

/// Why the log could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Entries after the position were dropped (retention or size) before they were read.
    #[error("events after this position are no longer kept")]
    Trimmed,
}

/// An entry read back: its position, when it was appended (log clock, Unix ms), the entry.
pub type Read = (Position, i64, Entry);

/// One organization-partitioned, append-only, time-retained log of inbox events.
#[async_trait]
pub trait InboxLog: Send + Sync + 'static {
    /// Appends `entry` to `org`'s log unless an entry with the same event id was appended
    /// within retention; its position, or `None` for a duplicate.
    async fn append(&self, org: &str, entry: &Entry) -> Result<Option<Position>, LogError>;

    /// The log's latest position now (a stream starting "from now" reads after it).
    async fn head(&self, org: &str) -> Result<Position, LogError>;

    /// Whether reading after `cursor` would miss nothing: `None` when fine, the reason for
    /// RESYNC_REQUIRED otherwise (too old, from before a restart, unknown).
    async fn check(&self, org: &str, cursor: &Cursor) -> Result<Option<String>, LogError>;

    /// Up to `max` entries after `after`, oldest first.
    async fn read_after(
        &self,
        org: &str,
        after: Position,
        max: usize,
    ) -> Result<Vec<Read>, LogError>;

    /// Wakes when `org`'s log may have grown. Take it before reading, so nothing appended after
    /// the read goes unnoticed.
    fn changes(&self, org: &str) -> Changes;
}

/// A wake-up source for one organization's log.
pub struct Changes(watch::Receiver<u64>);

impl Changes {
    /// Returns when the log may have grown since the last call (or since taken).
    pub async fn changed(&mut self) {
        if self.0.changed().await.is_err() {
            // The notifier is gone (shutting down): the caller's own timers take over.
            std::future::pending::<()>().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// In-process

/// Entries kept per organization at most, whatever their age (memory bound of the embedded
/// default); a reader further behind is told to resync.
const MEMORY_MAX_ENTRIES: usize = 50_000;

/// The embedded default's log: a ring per organization in this process. Its positions carry a
/// random epoch, so cursors from before a restart are recognised.
pub struct MemoryLog {
    epoch: u64,
    retention_ms: i64,
    clock: Clock,
    orgs: Mutex<HashMap<String, Arc<Ring>>>,
}

struct Ring {
    state: Mutex<RingState>,
    notify: watch::Sender<u64>,
}

#[derive(Default)]
struct RingState {
    /// (sequence, append ms, entry), sequences consecutive.
    entries: VecDeque<(u64, i64, Arc<Entry>)>,
    ids: HashSet<String>,
    /// The last sequence handed out (0: none yet).
    last_seq: u64,
    /// The highest sequence dropped (0: none).
    trimmed_upto: u64,
}

impl RingState {
    fn trim(&mut self, cutoff_ms: i64, max_entries: usize) {
        while let Some((seq, ms, entry)) = self.entries.front() {
            if *ms >= cutoff_ms && self.entries.len() <= max_entries {
                break;
            }
            self.trimmed_upto = *seq;
            self.ids.remove(entry.event_id());
            self.entries.pop_front();
        }
    }
}

impl MemoryLog {
    pub fn new(retention_ms: i64, clock: Clock) -> Self {
        Self::with_epoch(rand_epoch(), retention_ms, clock)
    }

    fn with_epoch(epoch: u64, retention_ms: i64, clock: Clock) -> Self {
        Self {
            epoch,
            retention_ms,
            clock,
            orgs: Mutex::default(),
        }
    }

    fn ring(&self, org: &str) -> Arc<Ring> {
        let mut orgs = self.orgs.lock().unwrap_or_else(|e| e.into_inner());
        orgs.entry(org.to_string())
            .or_insert_with(|| {
                Arc::new(Ring {
                    state: Mutex::default(),
                    notify: watch::channel(0).0,
                })
            })
            .clone()
    }

    fn cutoff(&self) -> i64 {
        self.clock.now_ms().saturating_sub(self.retention_ms)
    }

    fn position(&self, seq: u64) -> Position {
        Position::Memory {
            epoch: self.epoch,
            seq,
        }
    }
}

/// A per-process epoch: the low 64 bits of a fresh UUIDv7's random part.
fn rand_epoch() -> u64 {
    let id = switchboard_runtime::ids::EventId::generate().to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[async_trait]
impl InboxLog for MemoryLog {
    async fn append(&self, org: &str, entry: &Entry) -> Result<Option<Position>, LogError> {
        let ring = self.ring(org);
        let now = self.clock.now_ms();
        let seq = {
            let mut state = ring.state.lock().unwrap_or_else(|e| e.into_inner());
            state.trim(now.saturating_sub(self.retention_ms), MEMORY_MAX_ENTRIES);
            if !state.ids.insert(entry.event_id().to_string()) {
                return Ok(None);
            }
            state.last_seq += 1;
            let seq = state.last_seq;
            state.entries.push_back((seq, now, Arc::new(entry.clone())));
            state.trim(i64::MIN, MEMORY_MAX_ENTRIES);
            seq
        };
        ring.notify.send_modify(|v| *v = seq);
        Ok(Some(self.position(seq)))
    }

    async fn head(&self, org: &str) -> Result<Position, LogError> {
        let ring = self.ring(org);
        let state = ring.state.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.position(state.last_seq))
    }

    async fn check(&self, org: &str, cursor: &Cursor) -> Result<Option<String>, LogError> {
        let seq = match cursor.position {
            Position::Memory { epoch, seq } if epoch == self.epoch => seq,
            Position::Memory { .. } => {
                return Ok(Some("the server restarted since this cursor".into()));
            }
            Position::Redis { .. } => {
                return Ok(Some("cursor of another deployment".into()));
            }
        };
        if cursor.expired(self.clock.now_ms(), self.retention_ms) {
            return Ok(Some("cursor older than retention".into()));
        }
        let ring = self.ring(org);
        let mut state = ring.state.lock().unwrap_or_else(|e| e.into_inner());
        state.trim(self.cutoff(), MEMORY_MAX_ENTRIES);
        if seq > state.last_seq {
            return Ok(Some("unknown cursor".into()));
        }
        if seq < state.trimmed_upto {
            return Ok(Some("events after this cursor are no longer kept".into()));
        }
        Ok(None)
    }

    async fn read_after(
        &self,
        org: &str,
        after: Position,
        max: usize,
    ) -> Result<Vec<Read>, LogError> {
        let Position::Memory { epoch, seq } = after else {
            return Err(LogError::Trimmed);
        };
        if epoch != self.epoch {
            return Err(LogError::Trimmed);
        }
        let ring = self.ring(org);
        let state = ring.state.lock().unwrap_or_else(|e| e.into_inner());
        if seq < state.trimmed_upto {
            return Err(LogError::Trimmed);
        }
        let Some((first, _, _)) = state.entries.front() else {
            return Ok(Vec::new());
        };
        let skip = usize::try_from((seq + 1).saturating_sub(*first)).unwrap_or(usize::MAX);
        Ok(state
            .entries
            .iter()
            .skip(skip)
            .take(max)
            .map(|(s, ms, e)| (self.position(*s), *ms, (**e).clone()))
            .collect())
    }

    fn changes(&self, org: &str) -> Changes {
        Changes(self.ring(org).notify.subscribe())
    }
}

// ---------------------------------------------------------------------------------------------
// Redis

/// Appends unless the event id was seen within retention; the entry id is the gateway clock's
/// milliseconds (so retention follows that clock), or Redis' own next id when that would not
/// be after the stream's last one (another replica's clock ahead). Trims by MINID.
const APPEND: &str = r"
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[4]) then return false end
local ok, id = pcall(redis.call, 'XADD', KEYS[1], 'MINID', '~', ARGV[3], ARGV[2] .. '-*', 'e', ARGV[1])
if not ok then
  id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[3], '*', 'e', ARGV[1])
end
return id
";

/// The stream's last generated id and highest deleted id (empty strings when it is missing).
const INFO: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {'', ''} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, deleted = '', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
end
return {last, deleted}
";

/// The cluster's log: one Redis stream per organization, `<prefix>:gw:inbox:{<org>}` (the org
/// is the hash tag, so the stream and its dedupe keys share a slot on Redis Cluster).
pub struct RedisLog {
    client: redis::Client,
    conn: redis::aio::ConnectionManager,
    prefix: String,
    retention_ms: i64,
    clock: Clock,
    closing: CancellationToken,
    /// Per organization with live readers here: one task blocked in XREAD that wakes them.
    hubs: Arc<Mutex<HashMap<String, watch::Sender<u64>>>>,
    append: redis::Script,
    info: redis::Script,
}

impl RedisLog {
    pub fn new(
        client: redis::Client,
        conn: redis::aio::ConnectionManager,
        prefix: &str,
        retention_ms: i64,
        clock: Clock,
        closing: CancellationToken,
    ) -> Self {
        Self {
            client,
            conn,
            prefix: prefix.to_string(),
            retention_ms,
            clock,
            closing,
            hubs: Arc::default(),
            append: redis::Script::new(APPEND),
            info: redis::Script::new(INFO),
        }
    }

    /// The organization's stream key.
    pub fn stream_key(prefix: &str, org: &str) -> String {
        format!("{prefix}:gw:inbox:{{{org}}}")
    }

    fn key(&self, org: &str) -> String {
        Self::stream_key(&self.prefix, org)
    }

    fn wake(&self, org: &str) {
        let hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = hubs.get(org) {
            tx.send_modify(|v| *v += 1);
        }
    }
}

fn redis_position(id: &str) -> Result<Position, LogError> {
    Position::parse_redis_id(id).ok_or_else(|| {
        LogError::Redis(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "stream entry id",
            id.to_string(),
        )))
    })
}

#[async_trait]
impl InboxLog for RedisLog {
    async fn append(&self, org: &str, entry: &Entry) -> Result<Option<Position>, LogError> {
        let now = self.clock.now_ms();
        let min_id = now.saturating_sub(self.retention_ms).max(0);
        let ttl_secs = (self.retention_ms / 1000).max(1);
        let key = self.key(org);
        let seen = format!("{key}:seen:{}", entry.event_id());
        let mut conn = self.conn.clone();
        let id: Option<String> = self
            .append
            .key(&key)
            .key(&seen)
            .arg(entry.encode_to_vec())
            .arg(now.max(0))
            .arg(min_id)
            .arg(ttl_secs)
            .invoke_async(&mut conn)
            .await?;
        let Some(id) = id else { return Ok(None) };
        self.wake(org);
        Ok(Some(redis_position(&id)?))
    }

    async fn head(&self, org: &str) -> Result<Position, LogError> {
        // The last generated id, not the last entry's: a stream trimmed empty still knows it,
        // so a cursor taken then is not mistaken for one from before the trimmed entries.
        let mut conn = self.conn.clone();
        let (last, _): (String, String) =
            self.info.key(self.key(org)).invoke_async(&mut conn).await?;
        Ok(Position::parse_redis_id(&last).unwrap_or(Position::Redis { ms: 0, seq: 0 }))
    }

    async fn check(&self, org: &str, cursor: &Cursor) -> Result<Option<String>, LogError> {
        let Position::Redis { .. } = cursor.position else {
            return Ok(Some("cursor of another deployment".into()));
        };
        if cursor.expired(self.clock.now_ms(), self.retention_ms) {
            return Ok(Some("cursor older than retention".into()));
        }
        let mut conn = self.conn.clone();
        let (last, deleted): (String, String) =
            self.info.key(self.key(org)).invoke_async(&mut conn).await?;
        let zero = Position::Redis { ms: 0, seq: 0 };
        Ok(verdict(
            cursor.position,
            Position::parse_redis_id(&last),
            Position::parse_redis_id(&deleted).unwrap_or(zero),
        ))
    }

    async fn read_after(
        &self,
        org: &str,
        after: Position,
        max: usize,
    ) -> Result<Vec<Read>, LogError> {
        let Position::Redis { ms, seq } = after else {
            return Err(LogError::Trimmed);
        };
        let mut conn = self.conn.clone();
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.key(org))
            .arg(format!("({}", Position::redis_id(ms, seq)))
            .arg("+")
            .arg("COUNT")
            .arg(max)
            .query_async(&mut conn)
            .await?;
        let mut out = Vec::with_capacity(reply.ids.len());
        for item in reply.ids {
            let position = redis_position(&item.id)?;
            let Position::Redis { ms, .. } = position else {
                continue;
            };
            let entry = match item.map.get("e") {
                Some(redis::Value::BulkString(raw)) => Entry::decode(raw.as_slice()).ok(),
                _ => None,
            };
            match entry {
                Some(entry) => out.push((position, i64::try_from(ms).unwrap_or(i64::MAX), entry)),
                None => tracing::warn!(id = %item.id, "undecodable inbox entry skipped"),
            }
        }
        Ok(out)
    }

    fn changes(&self, org: &str) -> Changes {
        let mut hubs = self.hubs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = hubs.get(org) {
            return Changes(tx.subscribe());
        }
        let (tx, rx) = watch::channel(0);
        hubs.insert(org.to_string(), tx.clone());
        tokio::spawn(hub(
            self.client.clone(),
            self.conn.clone(),
            self.key(org),
            org.to_string(),
            tx,
            self.hubs.clone(),
            self.closing.clone(),
        ));
        Changes(rx)
    }
}

/// RESYNC reason for resuming after `cursor` in a stream whose last generated id is `last`
/// (`None`: no stream) and highest deleted id is `deleted`.
fn verdict(cursor: Position, last: Option<Position>, deleted: Position) -> Option<String> {
    let zero = Position::Redis { ms: 0, seq: 0 };
    match last {
        None if cursor == zero => None,
        None => Some("unknown cursor".into()),
        Some(last) if cursor > last => Some("unknown cursor".into()),
        Some(_) if deleted > cursor => Some("events after this cursor are no longer kept".into()),
        Some(_) => None,
    }
}

/// Wakes the readers of one organization's stream in this process while any is left: blocks
/// in XREAD on a connection of its own (a blocking read would stall the shared one).
async fn hub(
    client: redis::Client,
    mut shared: redis::aio::ConnectionManager,
    key: String,
    org: String,
    tx: watch::Sender<u64>,
    hubs: Arc<Mutex<HashMap<String, watch::Sender<u64>>>>,
    closing: CancellationToken,
) {
    let leave = |hubs: &Mutex<HashMap<String, watch::Sender<u64>>>| {
        let mut map = hubs.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&org).is_some_and(|t| t.same_channel(&tx)) {
            map.remove(&org);
        }
    };
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut reader = match client
        .get_multiplexed_async_connection_with_config(&config)
        .await
    {
        Ok(c) => c,
        Err(err) => {
            tracing::warn!(error = %err, "inbox live reader cannot connect; streams poll");
            leave(&hubs);
            return;
        }
    };
    let mut last = match redis::cmd("XREVRANGE")
        .arg(&key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async::<redis::streams::StreamRangeReply>(&mut shared)
        .await
    {
        Ok(r) => r
            .ids
            .first()
            .map_or_else(|| "0-0".to_string(), |e| e.id.clone()),
        Err(_) => "0-0".to_string(),
    };
    // Whatever landed between a reader's first read and this start is read again.
    tx.send_modify(|v| *v += 1);
    loop {
        {
            let mut map = hubs.lock().unwrap_or_else(|e| e.into_inner());
            if tx.receiver_count() == 0 {
                if map.get(&org).is_some_and(|t| t.same_channel(&tx)) {
                    map.remove(&org);
                }
                return;
            }
        }
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(2_000)
            .arg("STREAMS")
            .arg(&key)
            .arg(&last);
        let read = cmd.query_async::<Option<redis::streams::StreamReadReply>>(&mut reader);
        let reply = tokio::select! {
            _ = closing.cancelled() => { leave(&hubs); return; }
            reply = read => reply,
        };
        match reply {
            Ok(Some(reply)) => {
                let newest = reply
                    .keys
                    .iter()
                    .flat_map(|k| k.ids.last())
                    .map(|e| e.id.clone())
                    .next_back();
                if let Some(id) = newest {
                    last = id;
                    tx.send_modify(|v| *v += 1);
                }
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "inbox live read failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_proto::gateway::v1 as pb;

    fn entry(id: &str) -> Entry {
        Entry {
            event: Some(pb::InboxEvent {
                event_id: id.into(),
                ..Default::default()
            }),
            audience: None,
        }
    }

    fn ids(read: &[Read]) -> Vec<String> {
        read.iter()
            .map(|(_, _, e)| e.event_id().to_string())
            .collect()
    }

    #[tokio::test]
    async fn the_memory_log_replays_in_order_after_a_position_and_drops_duplicates() {
        let log = MemoryLog::with_epoch(7, 60_000, Clock::default());
        let start = log.head("org").await.expect("head");
        let a = log
            .append("org", &entry("a"))
            .await
            .expect("a")
            .expect("new");
        assert_eq!(log.append("org", &entry("a")).await.expect("dup"), None);
        log.append("org", &entry("b")).await.expect("b");
        log.append("other", &entry("x")).await.expect("x");
        assert_eq!(
            ids(&log.read_after("org", start, 10).await.expect("read")),
            ["a", "b"]
        );
        assert_eq!(
            ids(&log.read_after("org", a, 10).await.expect("read")),
            ["b"]
        );
        assert_eq!(
            ids(&log.read_after("org", a, 0).await.expect("read")),
            Vec::<String>::new()
        );
    }

    #[tokio::test]
    async fn memory_cursors_resync_after_a_restart_or_retention() {
        let clock = Clock::default();
        let log = MemoryLog::with_epoch(7, 60_000, clock.clone());
        let p = log
            .append("org", &entry("a"))
            .await
            .expect("a")
            .expect("new");
        let fresh = Cursor {
            position: p,
            asof_ms: clock.now_ms(),
        };
        assert_eq!(log.check("org", &fresh).await.expect("check"), None);
        let restarted = MemoryLog::with_epoch(8, 60_000, clock.clone());
        assert!(
            restarted
                .check("org", &fresh)
                .await
                .expect("check")
                .is_some()
        );
        clock.advance(Duration::from_secs(61));
        log.append("org", &entry("b")).await.expect("b");
        let reason = log.check("org", &fresh).await.expect("check");
        assert_eq!(reason.as_deref(), Some("cursor older than retention"));
        let ahead = Cursor {
            position: Position::Memory { epoch: 7, seq: 99 },
            asof_ms: clock.now_ms(),
        };
        assert_eq!(
            log.check("org", &ahead).await.expect("check").as_deref(),
            Some("unknown cursor")
        );
    }

    #[test]
    fn redis_verdicts_name_unknown_and_trimmed_cursors() {
        let p = |ms, seq| Position::Redis { ms, seq };
        assert_eq!(verdict(p(0, 0), None, p(0, 0)), None);
        assert!(verdict(p(5, 0), None, p(0, 0)).is_some());
        assert!(verdict(p(9, 0), Some(p(8, 0)), p(0, 0)).is_some());
        assert_eq!(verdict(p(5, 0), Some(p(8, 0)), p(5, 0)), None);
        assert!(verdict(p(5, 0), Some(p(8, 0)), p(6, 0)).is_some());
    }

    #[test]
    fn stream_keys_hash_by_organization() {
        assert_eq!(RedisLog::stream_key("sb", "org_1"), "sb:gw:inbox:{org_1}");
    }
}
