//! Resume cursors of the live inbox: opaque to clients, base64url (no padding) of a short text
//! naming the log backend, the position in the organization's log and the time the position
//! was current ("as of"), which retention is checked against.
//!
//! - Redis: `r1:<ms>-<seq>:<asof_ms>` (the stream entry id).
//! - In-process: `m1:<epoch>:<seq>:<asof_ms>`; the epoch is random per process, so a cursor
//!   from before a restart is recognised and answered with RESYNC_REQUIRED.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

/// A position in one organization's inbox log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Position {
    /// A Redis stream entry id (`ms-seq`); `0-0` is before the first entry.
    Redis { ms: u64, seq: u64 },
    /// An in-process log sequence number of the process with `epoch`; 0 is before the first.
    Memory { epoch: u64, seq: u64 },
}

impl Position {
    /// The Redis entry id text, `ms-seq`.
    pub fn redis_id(ms: u64, seq: u64) -> String {
        format!("{ms}-{seq}")
    }

    /// Parses a Redis entry id `ms-seq`.
    pub fn parse_redis_id(id: &str) -> Option<Self> {
        let (ms, seq) = id.split_once('-')?;
        Some(Self::Redis {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// Where a client is in the log, and when that position was current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub position: Position,
    /// Unix milliseconds (the gateway's clock) when the position was the log's latest the
    /// client had passed: the event's append time, or the keepalive's time.
    pub asof_ms: i64,
}

/// A `resume_cursor` that is not one this API ever handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor of this stream: {0}")]
pub struct MalformedCursor(pub &'static str);

impl Cursor {
    /// The opaque text a client keeps.
    pub fn encode(&self) -> String {
        let text = match self.position {
            Position::Redis { ms, seq } => format!("r1:{ms}-{seq}:{}", self.asof_ms),
            Position::Memory { epoch, seq } => format!("m1:{epoch:x}:{seq}:{}", self.asof_ms),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Reads a cursor handed out by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Self, MalformedCursor> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| MalformedCursor("not base64url"))?;
        let text = String::from_utf8(bytes).map_err(|_| MalformedCursor("not text"))?;
        let parts: Vec<&str> = text.split(':').collect();
        let asof = |s: &str| s.parse::<i64>().map_err(|_| MalformedCursor("bad time"));
        match parts.as_slice() {
            ["r1", id, asof_ms] => Ok(Self {
                position: Position::parse_redis_id(id).ok_or(MalformedCursor("bad entry id"))?,
                asof_ms: asof(asof_ms)?,
            }),
            ["m1", epoch, seq, asof_ms] => Ok(Self {
                position: Position::Memory {
                    epoch: u64::from_str_radix(epoch, 16)
                        .map_err(|_| MalformedCursor("bad epoch"))?,
                    seq: seq.parse().map_err(|_| MalformedCursor("bad sequence"))?,
                },
                asof_ms: asof(asof_ms)?,
            }),
            _ => Err(MalformedCursor("unknown form")),
        }
    }

    /// Whether retention has passed since the position was current (RESYNC_REQUIRED).
    pub fn expired(&self, now_ms: i64, retention_ms: i64) -> bool {
        self.asof_ms < now_ms.saturating_sub(retention_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_their_opaque_text() {
        for position in [
            Position::Redis {
                ms: 1_764_000_000_123,
                seq: 7,
            },
            Position::Redis { ms: 0, seq: 0 },
            Position::Memory {
                epoch: u64::MAX,
                seq: 42,
            },
        ] {
            let cursor = Cursor {
                position,
                asof_ms: 1_764_000_000_999,
            };
            let text = cursor.encode();
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
            assert_eq!(Cursor::decode(&text), Ok(cursor));
        }
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in ["", "!!!", "bm9wZQ", &URL_SAFE_NO_PAD.encode("r1:12:5")] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?}");
        }
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("m1:zz:1:5")).is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("x9:1-0:5")).is_err());
    }

    #[test]
    fn a_cursor_expires_once_retention_has_passed_since_it_was_current() {
        let c = Cursor {
            position: Position::Memory { epoch: 1, seq: 1 },
            asof_ms: 10_000,
        };
        assert!(!c.expired(15_000, 5_000));
        assert!(c.expired(15_001, 5_000));
    }

    #[test]
    fn redis_positions_order_by_entry_id() {
        let a = Position::parse_redis_id("100-5").expect("id");
        let b = Position::parse_redis_id("101-0").expect("id");
        assert!(a < b);
        assert_eq!(Position::parse_redis_id("1-x"), None);
    }
}
