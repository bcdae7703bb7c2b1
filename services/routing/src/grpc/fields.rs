//! Field helpers shared by the configuration RPCs: the actor, texts, update masks, durations
//! and id lists. Each records its violations in the [`Check`] (all violations at once).

use std::collections::BTreeSet;

use switchboard_proto::prost_types::{Duration, FieldMask};
use switchboard_runtime::ids::AgentId;

use super::convert::Check;

/// Longest offer timeout and owner fallback wait: 24 hours.
pub(super) const DAY_SECS: i64 = 24 * 3600;

/// The calling agent; empty means internal provisioning.
pub(super) fn actor(check: &mut Check, value: &str) -> Option<AgentId> {
    check.opt_id("actor_agent_id", value)
}

/// A trimmed text of 1 to `max` characters.
pub(super) fn text(check: &mut Check, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.is_empty() {
        check.bad(field, "must not be empty");
    } else if value.chars().count() > max {
        check.bad(field, format!("must be at most {max} characters"));
    }
    value.to_string()
}

/// A trimmed optional text of at most `max` characters.
pub(super) fn opt_text(check: &mut Check, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.chars().count() > max {
        check.bad(field, format!("must be at most {max} characters"));
    }
    value.to_string()
}

/// The paths of an update mask, each one of `allowed`; at least one.
pub(super) fn mask(
    check: &mut Check,
    mask: Option<&FieldMask>,
    allowed: &[&str],
) -> BTreeSet<String> {
    let paths: BTreeSet<String> = mask
        .map(|m| m.paths.iter().map(|p| p.trim().to_string()).collect())
        .unwrap_or_default();
    if paths.is_empty() {
        check.bad("update_mask", "must name at least one field to change");
    }
    for p in &paths {
        if !allowed.contains(&p.as_str()) {
            check.bad(
                "update_mask",
                format!(
                    "unknown or read-only field {p:?}; allowed: {}",
                    allowed.join(", ")
                ),
            );
        }
    }
    paths
}

pub(super) fn whole_seconds(check: &mut Check, field: &str, d: &Duration) -> Option<i64> {
    if d.nanos != 0 || d.seconds < 0 {
        check.bad(field, "must be a non-negative whole number of seconds");
        None
    } else {
        Some(d.seconds)
    }
}

pub(super) fn duration(seconds: i64) -> Option<Duration> {
    (seconds > 0).then_some(Duration { seconds, nanos: 0 })
}

pub(super) fn ids<T: std::str::FromStr<Err = switchboard_runtime::ids::IdError>>(
    check: &mut Check,
    field: &str,
    values: &[String],
) -> Vec<T> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| check.id(&format!("{field}[{i}]"), v))
        .collect()
}
