//! Conversions between proto messages and domain types shared by every RPC group.

use switchboard_proto::{common::v1 as common, prost_types::Timestamp, routing::v1 as pb};
use switchboard_runtime::ids::{AgentId, TeamId};

use crate::{
    domain::{config::Target, conversation::Actor},
    error::RoutingError,
};

pub use switchboard_runtime::validate::Check;

/// Routing's own fields, over the runtime's one validator.
pub trait RoutingChecks {
    /// Parses a target; `none` is allowed only when `allow_none`.
    fn target(&mut self, field: &str, target: Option<&pb::Target>, allow_none: bool) -> Target;
}

impl RoutingChecks for Check {
    fn target(&mut self, field: &str, target: Option<&pb::Target>, allow_none: bool) -> Target {
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
}

impl From<switchboard_runtime::validate::Invalid> for RoutingError {
    fn from(invalid: switchboard_runtime::validate::Invalid) -> Self {
        RoutingError::InvalidArgument(invalid.0)
    }
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
