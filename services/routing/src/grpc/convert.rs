//! Conversions between proto messages and domain types shared by every RPC group.

use switchboard_proto::{common::v1 as common, prost_types::Timestamp, routing::v1 as pb};
use switchboard_runtime::{
    errors::FieldViolation,
    ids::{AgentId, OrganizationId, TeamId},
    paging::{Filter, Page},
};

use crate::{
    domain::{config::Target, conversation::Actor},
    error::RoutingError,
};

/// Collects every bad field of a request before answering.
#[derive(Default)]
pub struct Check(pub Vec<FieldViolation>);

impl Check {
    pub fn bad(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Parses a required typed id.
    pub fn id<T: std::str::FromStr<Err = switchboard_runtime::ids::IdError>>(
        &mut self,
        field: &str,
        value: &str,
    ) -> Option<T> {
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
    pub fn opt_id<T: std::str::FromStr<Err = switchboard_runtime::ids::IdError>>(
        &mut self,
        field: &str,
        value: &str,
    ) -> Option<T> {
        if value.is_empty() {
            None
        } else {
            self.id(field, value)
        }
    }

    /// Checks an idempotency key.
    pub fn request_id(&mut self, value: &str) {
        if value.trim().is_empty() || value.len() > 128 {
            self.bad(
                "request_id",
                "must be 1 to 128 characters (a client-generated idempotency key)",
            );
        }
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

    /// Parses a target; `none` is allowed only when `allow_none`.
    pub fn target(&mut self, field: &str, target: Option<&pb::Target>, allow_none: bool) -> Target {
        use pb::target::Kind;
        match target.and_then(|t| t.kind.as_ref()) {
            Some(Kind::TeamId(id)) => self
                .id::<TeamId>(&format!("{field}.team_id"), id)
                .map(Target::Team)
                .unwrap_or_default(),
            Some(Kind::AgentId(id)) => self
                .id::<AgentId>(&format!("{field}.agent_id"), id)
                .map(Target::Agent)
                .unwrap_or_default(),
            Some(Kind::None(_)) | None if allow_none => Target::None,
            _ => {
                self.bad(field, "must name a team or an agent");
                Target::None
            }
        }
    }

    /// Fails with every collected violation, if any.
    pub fn done(self) -> Result<(), RoutingError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(RoutingError::InvalidArgument(self.0))
        }
    }
}

/// Parses the organization id every request carries.
pub fn org(check: &mut Check, value: &str) -> Option<OrganizationId> {
    check.id("organization_id", value)
}

pub fn timestamp_ms(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn opt_timestamp(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(timestamp_ms)
}

pub fn ms_of(t: &Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

pub fn target_to_pb(target: &Target) -> pb::Target {
    use pb::target::Kind;
    pb::Target {
        kind: Some(match target {
            Target::None => Kind::None(()),
            Target::Team(t) => Kind::TeamId(t.to_string()),
            Target::Agent(a) => Kind::AgentId(a.to_string()),
        }),
    }
}

pub fn actor_to_pb(actor: &Actor) -> common::Actor {
    let kind = match actor.kind.as_str() {
        "agent" => common::ActorKind::Agent,
        "contact" => common::ActorKind::Contact,
        "service" => common::ActorKind::Service,
        _ => common::ActorKind::System,
    };
    common::Actor {
        kind: kind as i32,
        id: actor.id.clone(),
        display_name: String::new(),
    }
}
