//! Limits and durations shared by the configuration RPCs; the fields themselves are checked
//! by the runtime's one validator ([`super::convert::Check`]).

use switchboard_proto::prost_types::Duration;

/// Longest offer timeout and owner fallback wait: 24 hours.
pub(super) const DAY_SECS: i64 = 24 * 3600;

pub(super) fn duration(seconds: i64) -> Option<Duration> {
    (seconds > 0).then_some(Duration { seconds, nanos: 0 })
}
