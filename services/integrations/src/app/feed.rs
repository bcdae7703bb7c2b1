//! Reading an organization's feed: where a stream starts (a cursor, now, or the oldest kept
//! event), then every event after it in sequence order, then new ones as they commit (woken by
//! this process's appends, polling for other replicas'). At least once: a client resuming
//! from its last cursor may see again what it saw after that cursor, never a gap.

use std::time::Duration;

use switchboard_runtime::ids::OrganizationId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Integrations;
use crate::{
    domain::{FeedEntry, Topics, cursor::Cursor},
    error::IntegrationsError,
};

/// Events read per query.
const BATCH: u64 = 500;

/// What a stream was asked to start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// After this cursor.
    After(Cursor),
    /// After the newest event: only what happens from now on.
    Now,
    /// Before the oldest event kept.
    Oldest,
}

fn expired(why: &str) -> IntegrationsError {
    IntegrationsError::CursorExpired(format!(
        "{why}: the events after this cursor are no longer kept; resync (re-read the state you \
         mirror, then stream from an empty cursor)"
    ))
}

impl Integrations {
    /// The sequence number to stream after, or CURSOR_EXPIRED when the events after the cursor
    /// cannot all be served (older than the retention, trimmed, or from another log).
    pub async fn start_after(
        &self,
        org: &OrganizationId,
        start: Start,
    ) -> Result<i64, IntegrationsError> {
        let last = self.store.last_seq(org).await?;
        let oldest = self.store.oldest(org).await?.map(|(seq, _)| seq);
        let cursor = match start {
            Start::Now => return Ok(last),
            Start::Oldest => return Ok(oldest.map_or(last, |seq| seq - 1)),
            Start::After(c) => c,
        };
        let retention_ms = (self.settings.feed.retention_secs as i64).saturating_mul(1000);
        if cursor != Cursor::START && cursor.stamp_ms < self.clock.now_ms() - retention_ms {
            return Err(expired("the cursor is older than the feed's retention"));
        }
        if cursor.seq > last {
            return Err(expired(
                "the cursor is not a position of this organization's feed",
            ));
        }
        // Nothing after the cursor was trimmed: its successor is the oldest kept event (or
        // nothing follows it at all).
        let next_kept = match oldest {
            Some(first) => first <= cursor.seq + 1,
            None => cursor.seq == last,
        };
        if cursor == Cursor::START || cursor.seq == 0 {
            return if next_kept {
                Ok(0)
            } else {
                Err(expired("the oldest events were trimmed"))
            };
        }
        match self.store.stamp_of(org, cursor.seq).await? {
            Some(stamp) if stamp == cursor.stamp_ms => Ok(cursor.seq),
            Some(_) => Err(expired(
                "the cursor is not a position of this organization's feed",
            )),
            None if next_kept => Ok(cursor.seq),
            None => Err(expired("the cursor's events were trimmed")),
        }
    }

    /// Up to `limit` events after `after`: CURSOR_EXPIRED when the next one was trimmed under
    /// a slow reader (the first event kept is not `after + 1`).
    pub async fn read_after(
        &self,
        org: &OrganizationId,
        after: i64,
        limit: u64,
    ) -> Result<Vec<FeedEntry>, IntegrationsError> {
        let batch = self.store.entries_after(org, after, limit).await?;
        if let Some(first) = batch.first()
            && first.seq != after + 1
        {
            return Err(expired("the reader fell behind the feed's retention"));
        }
        Ok(batch)
    }

    /// Streams the feed after `after` into `tx` (events of `topics` only) until the receiver
    /// goes, `shutdown`, or an error (sent as the last item).
    pub async fn stream(
        self,
        org: OrganizationId,
        mut after: i64,
        topics: Topics,
        tx: mpsc::Sender<Result<FeedEntry, IntegrationsError>>,
        shutdown: CancellationToken,
    ) {
        let poll = Duration::from_millis(self.settings.feed.poll_interval_ms);
        let mut woken = self.wakers.feed.subscribe();
        self.metrics.streams.inc();
        loop {
            // Marked seen before reading: an append committing during the read wakes us again.
            woken.borrow_and_update();
            let batch = match self.read_after(&org, after, BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            };
            if !batch.is_empty() {
                for entry in batch {
                    after = entry.seq;
                    if topics.matches(&entry.topic) && tx.send(Ok(entry)).await.is_err() {
                        self.metrics.streams.dec();
                        return;
                    }
                }
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tx.closed() => break,
                _ = woken.changed() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
        self.metrics.streams.dec();
    }
}
