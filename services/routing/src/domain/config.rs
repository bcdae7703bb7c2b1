//! The configuration model: agents and roles, teams and their strategies, channel account
//! routing, campaigns and contact owners.

use serde::{Deserialize, Serialize};
use switchboard_runtime::ids::{AgentId, CampaignId, ChannelAccountId, ContactId, TeamId};

use super::string_enum;

string_enum!(
    /// An agent's role in its organization.
    Role { Agent = "agent", Operator = "operator", Admin = "admin" }
);

impl Role {
    /// Operators and admins supervise: they see every queue and act on any conversation.
    pub fn supervises(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }
}

string_enum!(
    /// How a team picks the agent for a conversation.
    Strategy {
        Manual = "manual",
        RoundRobin = "round_robin",
        LeastOpen = "least_open",
        DedicatedAgent = "dedicated_agent",
    }
);

string_enum!(
    /// What happens to an agent's assigned, unopened conversations when it goes offline.
    OfflinePolicy { Requeue = "requeue", KeepUntilTimeout = "keep_until_timeout" }
);

string_enum!(
    /// Routing step 4.
    UnroutedPolicy { WaitingList = "waiting_list", AllTeams = "all_teams" }
);

/// Where something is routed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    #[default]
    None,
    Team(TeamId),
    Agent(AgentId),
}

impl Target {
    /// Stored as (kind, id).
    pub fn kind(&self) -> &'static str {
        match self {
            Target::None => "none",
            Target::Team(_) => "team",
            Target::Agent(_) => "agent",
        }
    }

    /// The team or agent id, if any.
    pub fn id(&self) -> Option<&str> {
        match self {
            Target::None => None,
            Target::Team(t) => Some(t.as_str()),
            Target::Agent(a) => Some(a.as_str()),
        }
    }

    /// Rebuilds a stored target; unknown kinds and bad ids read as none.
    pub fn from_parts(kind: &str, id: Option<&str>) -> Self {
        match (kind, id) {
            ("team", Some(id)) => TeamId::parse(id).map(Target::Team).unwrap_or_default(),
            ("agent", Some(id)) => AgentId::parse(id).map(Target::Agent).unwrap_or_default(),
            _ => Target::None,
        }
    }
}

/// Organization-wide routing settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationSettings {
    pub first_responder_becomes_owner: bool,
    pub owner_routing_enabled: bool,
    pub owner_fallback_wait_secs: i64,
    pub unrouted_all_teams: bool,
}

impl OrganizationSettings {
    pub fn unrouted_policy(&self) -> UnroutedPolicy {
        if self.unrouted_all_teams {
            UnroutedPolicy::AllTeams
        } else {
            UnroutedPolicy::WaitingList
        }
    }
}

/// A human who handles conversations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    /// 0 means the organization default.
    pub capacity: i32,
    pub auth_subject: Option<String>,
    pub disabled: bool,
    pub team_ids: Vec<TeamId>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Agent {
    /// The capacity in force.
    pub fn effective_capacity(&self, org_default: i32) -> i32 {
        if self.capacity > 0 {
            self.capacity
        } else {
            org_default
        }
    }
}

/// Raises the priority of matching items in a team's queue; first match wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityRule {
    pub attribute: String,
    pub value: String,
    pub priority: i32,
}

/// The priority the first matching rule gives, 0 when none matches.
pub fn priority_for(rules: &[PriorityRule], attribute: impl Fn(&str) -> Option<String>) -> i32 {
    rules
        .iter()
        .find(|r| attribute(&r.attribute).as_deref() == Some(r.value.as_str()))
        .map_or(0, |r| r.priority)
}

/// A group of agents with one strategy and one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub description: String,
    pub strategy: Strategy,
    pub auto_distribution: bool,
    /// 0 means never.
    pub offer_timeout_secs: i64,
    pub offline_policy: OfflinePolicy,
    pub priority_rules: Vec<PriorityRule>,
    pub dedicated_agent_id: Option<AgentId>,
    pub member_count: i32,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Team {
    /// Whether the team hands out work by itself (otherwise agents pick from its queue).
    pub fn distributes(&self) -> bool {
        self.auto_distribution && self.strategy != Strategy::Manual
    }
}

/// How conversations arriving on one WhatsApp number are routed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelAccountRouting {
    pub channel_account_id: Option<ChannelAccountId>,
    pub linked_team_ids: Vec<TeamId>,
    pub linked_agent_ids: Vec<AgentId>,
    pub default_target: Target,
    pub updated_ms: Option<i64>,
}

/// The kind of value a campaign form field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormFieldKind {
    Text,
    Number,
    Date,
    Boolean,
    Select,
}

/// One field of a campaign's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub key: String,
    pub label: String,
    pub kind: FormFieldKind,
    pub required: bool,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub help_text: String,
}

/// A broadcast whose replies may continue with human service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    pub channel_account_id: ChannelAccountId,
    pub continue_with_human: bool,
    pub human_target: Target,
    pub reply_window_secs: i64,
    pub form_fields: Vec<FormField>,
    pub archived: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
}

string_enum!(
    /// How an agent became a contact's owner.
    OwnerSource { Manual = "manual", FirstResponder = "first_responder" }
);

/// An agent who is a default assignee of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactOwner {
    pub contact_id: ContactId,
    pub agent_id: AgentId,
    pub source: OwnerSource,
    pub added_by: super::conversation::Actor,
    pub created_ms: i64,
}

/// Checks a non-empty form value against its field's kind.
pub fn check_form_value(field: &FormField, value: &str) -> Result<(), String> {
    match field.kind {
        FormFieldKind::Text => Ok(()),
        FormFieldKind::Number => value
            .parse::<f64>()
            .map(|_| ())
            .map_err(|_| "must be a number written with a dot".into()),
        FormFieldKind::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(|_| ())
            .map_err(|_| "must be a date written YYYY-MM-DD".into()),
        FormFieldKind::Boolean => match value {
            "true" | "false" => Ok(()),
            _ => Err("must be true or false".into()),
        },
        FormFieldKind::Select => {
            if field.options.iter().any(|o| o == value) {
                Ok(())
            } else {
                Err(format!("must be one of: {}", field.options.join(", ")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_priority_rule_wins() {
        let rules = vec![
            PriorityRule {
                attribute: "has_owner".into(),
                value: "true".into(),
                priority: 5,
            },
            PriorityRule {
                attribute: "campaign_id".into(),
                value: "cmp_1".into(),
                priority: 9,
            },
        ];
        let attrs = |k: &str| match k {
            "has_owner" => Some("true".to_string()),
            "campaign_id" => Some("cmp_1".to_string()),
            _ => None,
        };
        assert_eq!(priority_for(&rules, attrs), 5);
        assert_eq!(priority_for(&rules, |_| None), 0);
    }

    #[test]
    fn manual_or_switched_off_teams_do_not_distribute() {
        let mut team = Team {
            id: TeamId::generate(),
            name: "t".into(),
            description: String::new(),
            strategy: Strategy::LeastOpen,
            auto_distribution: true,
            offer_timeout_secs: 0,
            offline_policy: OfflinePolicy::Requeue,
            priority_rules: vec![],
            dedicated_agent_id: None,
            member_count: 0,
            created_ms: 0,
            updated_ms: 0,
        };
        assert!(team.distributes());
        team.auto_distribution = false;
        assert!(!team.distributes());
        team.auto_distribution = true;
        team.strategy = Strategy::Manual;
        assert!(!team.distributes());
    }
}
