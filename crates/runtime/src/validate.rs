//! The one request validator every service uses: a [`Check`] collects every bad field of a
//! request before answering, so a caller sees them all at once (INVALID_ARGUMENT with a
//! `BadRequest` of field violations, see [`crate::errors::invalid_argument`]).
//!
//! Lengths are counted in characters (Unicode scalar values), never bytes, and texts are
//! trimmed before they are measured and stored: a limit means the same in every service.
//! Service-specific fields (a routing target, a Meta id) are extension traits over [`Check`]
//! in their service.

use std::{collections::BTreeSet, str::FromStr};

use switchboard_proto::{common::v1 as common, prost_types};

use crate::{
    errors::{self, FieldViolation},
    ids::{AgentId, IdError, OrganizationId},
    paging::{Filter, Page},
};

/// Longest idempotency key (`switchboard.common.v1` `request_id`).
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// Every violation a [`Check`] found; each service's error type converts it into its
/// INVALID_ARGUMENT variant, and `tonic::Status` takes it directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<FieldViolation>);

impl From<Invalid> for tonic::Status {
    fn from(invalid: Invalid) -> Self {
        errors::invalid_argument(&invalid.0)
    }
}

/// Collects every bad field of a request.
#[derive(Debug, Default)]
pub struct Check(pub Vec<FieldViolation>);

impl Check {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a bad field.
    pub fn bad(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Whether nothing was found wrong so far.
    pub fn is_clean(&self) -> bool {
        self.0.is_empty()
    }

    /// Fails with every collected violation, if any (`?` turns [`Invalid`] into the
    /// service's error or a `Status`).
    pub fn done(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }

    // ---- ids ----

    /// Parses a required typed id.
    pub fn id<T: FromStr<Err = IdError>>(&mut self, field: &str, value: &str) -> Option<T> {
        if value.is_empty() {
            self.bad(field, "is required");
            return None;
        }
        match value.parse() {
            Ok(id) => Some(id),
            Err(e) => {
                self.bad(field, e.to_string());
                None
            }
        }
    }

    /// Parses an optional typed id (empty means none).
    pub fn opt_id<T: FromStr<Err = IdError>>(&mut self, field: &str, value: &str) -> Option<T> {
        if value.is_empty() {
            None
        } else {
            self.id(field, value)
        }
    }

    /// Parses a list of typed ids; each bad one is named by its index (`field[i]`).
    pub fn ids<T: FromStr<Err = IdError>>(&mut self, field: &str, values: &[String]) -> Vec<T> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| self.id(&format!("{field}[{i}]"), v))
            .collect()
    }

    /// Parses the organization id every tenant request carries.
    pub fn org(&mut self, value: &str) -> Option<OrganizationId> {
        self.id("organization_id", value)
    }

    /// Parses `actor_agent_id`: an agent id, or empty for the system / internal provisioning.
    pub fn actor(&mut self, value: &str) -> Option<AgentId> {
        self.opt_id("actor_agent_id", value)
    }

    // ---- texts ----

    /// Checks an idempotency key: 1 to 128 characters, not blank.
    pub fn request_id(&mut self, value: &str) {
        if value.trim().is_empty() || value.chars().count() > MAX_REQUEST_ID_CHARS {
            self.bad(
                "request_id",
                "must be 1 to 128 characters (a client-generated idempotency key)",
            );
        }
    }

    /// A required text, trimmed, of 1 to `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        self.required(field, value, max);
        value.to_string()
    }

    /// Checks a required value as given (no trimming: for values whose spaces matter, such
    /// as message bodies): not blank, at most `max` characters.
    pub fn required(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.bad(field, "is required");
        } else {
            self.at_most(field, value, max);
        }
    }

    /// An optional text, trimmed, of at most `max` characters (empty means none).
    pub fn opt_text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        self.at_most(field, value, max);
        value.to_string()
    }

    /// Checks that `value` has at most `max` characters, as given (no trimming: for values
    /// whose spaces matter, such as message bodies).
    pub fn at_most(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.bad(field, format!("must be at most {max} characters"));
        }
    }

    /// Checks a list has at most `max` entries.
    pub fn at_most_items<T>(&mut self, field: &str, values: &[T], max: usize) {
        if values.len() > max {
            self.bad(field, format!("must have at most {max} entries"));
        }
    }

    /// An integer in `range`, or a violation naming the range.
    pub fn within(&mut self, field: &str, value: i32, range: std::ops::RangeInclusive<i32>) -> i32 {
        if !range.contains(&value) {
            self.bad(
                field,
                format!("must be between {} and {}", range.start(), range.end()),
            );
        }
        value
    }

    // ---- structure ----

    /// A non-negative whole number of seconds.
    pub fn whole_seconds(&mut self, field: &str, d: &prost_types::Duration) -> Option<i64> {
        if d.nanos != 0 || d.seconds < 0 {
            self.bad(field, "must be a non-negative whole number of seconds");
            None
        } else {
            Some(d.seconds)
        }
    }

    /// The paths of an update mask (trimmed, deduplicated), each one of `allowed`; at least one.
    pub fn mask(
        &mut self,
        mask: Option<&prost_types::FieldMask>,
        allowed: &[&str],
    ) -> BTreeSet<String> {
        let paths: BTreeSet<String> = mask
            .map(|m| m.paths.iter().map(|p| p.trim().to_string()).collect())
            .unwrap_or_default();
        if paths.is_empty() {
            self.bad("update_mask", "must name at least one field to change");
        }
        for p in &paths {
            if !allowed.contains(&p.as_str()) {
                self.bad(
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

    /// Parses a page selection bound to the request's `filter` (see `page_filter!`).
    pub fn page(&mut self, page: Option<&common::PageRequest>, filter: Filter) -> Page {
        let (size, token) = page.map_or((0, ""), |p| (p.page_size, p.page_token.as_str()));
        match Page::parse(size, token, filter) {
            Ok(p) => p,
            Err(v) => {
                self.0.push(v);
                Page::first(1, filter)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(c: &Check) -> Vec<&str> {
        c.0.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn lengths_are_characters_not_bytes_in_every_check() {
        let mut c = Check::new();
        // 128 two-byte characters: 256 bytes, 128 characters.
        let key = "ñ".repeat(128);
        c.request_id(&key);
        assert!(c.is_clean(), "{:?}", c.0);
        c.request_id(&"ñ".repeat(129));
        assert_eq!(fields(&c), ["request_id"]);

        let mut c = Check::new();
        assert_eq!(c.text("name", "  Añá  ", 3), "Añá");
        assert!(c.is_clean());
        c.text("name", "Añás", 3);
        c.opt_text("note", "ñññ ", 2);
        assert_eq!(fields(&c), ["name", "note"]);
    }

    #[test]
    fn every_violation_is_collected_before_answering() {
        let mut c = Check::new();
        c.org("");
        c.id::<AgentId>("agent_id", "not-an-id");
        c.text("name", "   ", 10);
        c.request_id("");
        c.mask(None, &["name"]);
        assert_eq!(
            fields(&c),
            [
                "organization_id",
                "agent_id",
                "name",
                "request_id",
                "update_mask"
            ]
        );
        let status = tonic::Status::from(c.done().unwrap_err());
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn masks_name_allowed_paths_only() {
        let mut c = Check::new();
        let mask = prost_types::FieldMask {
            paths: vec![" name ".into(), "name".into(), "id".into()],
        };
        let paths = c.mask(Some(&mask), &["name"]);
        assert_eq!(paths.into_iter().collect::<Vec<_>>(), ["id", "name"]);
        assert_eq!(fields(&c), ["update_mask"]);
    }

    #[test]
    fn ids_name_the_bad_index() {
        let mut c = Check::new();
        let got: Vec<AgentId> = c.ids("agent_ids", &[AgentId::generate().to_string(), "x".into()]);
        assert_eq!(got.len(), 1);
        assert_eq!(fields(&c), ["agent_ids[1]"]);
    }
}
