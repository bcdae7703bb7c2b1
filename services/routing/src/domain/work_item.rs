//! Work items: any unit of work an internal service asks routing to hand to an agent (a
//! callback request, an email, a lead), routed by the same teams, strategies and presence
//! slots as conversations.

use std::collections::BTreeMap;

use switchboard_runtime::ids::{
    AgentId, ChannelAccountId, ReservationId, RoutingDecisionId, WorkItemId,
};

use super::{config::Target, conversation::Actor, string_enum};

string_enum!(
    /// Where a work item is in its life.
    WorkState {
        Queued = "queued",
        Assigned = "assigned",
        Accepted = "accepted",
        Completed = "completed",
        Canceled = "canceled",
    }
);

impl WorkState {
    /// Assigned or accepted: an agent holds it (and a presence slot).
    pub fn is_held(self) -> bool {
        matches!(self, WorkState::Assigned | WorkState::Accepted)
    }

    pub fn is_final(self) -> bool {
        matches!(self, WorkState::Completed | WorkState::Canceled)
    }
}

/// A routed unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub id: WorkItemId,
    pub kind: String,
    pub external_ref: String,
    pub target: Target,
    pub channel_account_id: Option<ChannelAccountId>,
    pub priority: i32,
    pub attributes: BTreeMap<String, String>,
    pub state: WorkState,
    pub assignee: Option<AgentId>,
    pub reservation_id: Option<ReservationId>,
    pub created_by: Actor,
    pub outcome: String,
    pub last_decision_id: Option<RoutingDecisionId>,
    pub excluded_agents: Vec<AgentId>,
    pub created_ms: i64,
    pub queue_ms: Option<i64>,
    pub assign_ms: Option<i64>,
    pub offer_expire_ms: Option<i64>,
    pub accept_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub updated_ms: i64,
    pub version: i64,
}
