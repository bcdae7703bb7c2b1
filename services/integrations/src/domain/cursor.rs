//! Feed cursors: opaque to clients, base64url (no padding) of 16 bytes, the event's sequence
//! number in its organization's feed and the time it was appended (big-endian i64 each).
//!
//! The stamp binds a cursor to one log: when the event at `seq` is still kept, its append time
//! must equal the stamp, so a cursor from another deployment or a reset database is not taken
//! for a position in this one.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

/// A position in an organization's feed: just after the event `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub seq: i64,
    pub stamp_ms: i64,
}

/// Why a cursor string is not a cursor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a feed cursor: use the cursor of a received event, or empty")]
pub struct Malformed;

impl Cursor {
    /// The position before the first event.
    pub const START: Cursor = Cursor {
        seq: 0,
        stamp_ms: 0,
    };

    pub fn encode(&self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.seq.to_be_bytes());
        bytes[8..].copy_from_slice(&self.stamp_ms.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Result<Self, Malformed> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| Malformed)?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| Malformed)?;
        let seq = i64::from_be_bytes(bytes[..8].try_into().map_err(|_| Malformed)?);
        let stamp_ms = i64::from_be_bytes(bytes[8..].try_into().map_err(|_| Malformed)?);
        if seq < 0 || stamp_ms < 0 {
            return Err(Malformed);
        }
        Ok(Self { seq, stamp_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            seq: 42,
            stamp_ms: 1_764_000_000_123,
        };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        assert_eq!(Cursor::decode(&Cursor::START.encode()), Ok(Cursor::START));
        for bad in [
            "",
            "abc",
            "!!!!",
            &c.encode()[1..],
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(Cursor::decode(bad), Err(Malformed), "{bad}");
        }
        let negative = URL_SAFE_NO_PAD.encode([0xffu8; 16]);
        assert_eq!(Cursor::decode(&negative), Err(Malformed));
    }
}
