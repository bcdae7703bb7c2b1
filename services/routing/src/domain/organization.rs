//! Organizations (tenants) and their settings.

use chrono::{DateTime, Utc};
use switchboard_runtime::{errors::FieldViolation, ids::OrganizationId};

/// Default simultaneous conversations per agent when the request leaves it unset.
pub const DEFAULT_AGENT_CAPACITY: i32 = 3;
/// Upper bound of an agent's capacity.
pub const MAX_AGENT_CAPACITY: i32 = 100;

/// A tenant: everything else belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub default_agent_capacity: i32,
    pub settings: super::config::OrganizationSettings,
    pub created_at: DateTime<Utc>,
    pub updated_ms: i64,
}

/// A validated request to create an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganization {
    pub name: String,
    pub default_agent_capacity: i32,
    /// Initial settings (all off, waiting list, unless the request sets them).
    pub settings: super::config::OrganizationSettings,
}

impl NewOrganization {
    /// Validates raw input; every bad field is reported at once.
    pub fn parse(name: &str, default_agent_capacity: i32) -> Result<Self, Vec<FieldViolation>> {
        let mut bad = Vec::new();
        let name = name.trim();
        if name.is_empty() {
            bad.push(FieldViolation::new("name", "must not be empty"));
        } else if name.chars().count() > 200 {
            bad.push(FieldViolation::new(
                "name",
                "must be at most 200 characters",
            ));
        }
        let capacity = match default_agent_capacity {
            0 => DEFAULT_AGENT_CAPACITY,
            c if (1..=MAX_AGENT_CAPACITY).contains(&c) => c,
            _ => {
                bad.push(FieldViolation::new(
                    "default_agent_capacity",
                    "must be between 1 and 100 (0 means the default, 3)",
                ));
                0
            }
        };
        if bad.is_empty() {
            Ok(Self {
                name: name.to_string(),
                default_agent_capacity: capacity,
                settings: Default::default(),
            })
        } else {
            Err(bad)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_zero_means_default() {
        let org = NewOrganization::parse(" Acme ", 0).expect("valid");
        assert_eq!(org.name, "Acme");
        assert_eq!(org.default_agent_capacity, DEFAULT_AGENT_CAPACITY);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = NewOrganization::parse("  ", 101).expect_err("invalid");
        let fields: Vec<_> = bad.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name", "default_agent_capacity"]);
    }
}
