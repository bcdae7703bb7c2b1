//! Configuration RPCs: organization updates, agents, teams and memberships, channel account
//! routing, campaigns and contact owners. Parses and validates every field (all violations at
//! once), converts to domain calls and back.

use std::collections::BTreeSet;

use switchboard_proto::{
    common::v1 as common,
    prost_types::{Duration, FieldMask},
    routing::v1 as pb,
};
use switchboard_runtime::ids::{
    AgentId, CampaignId, ChannelAccountId, ContactId, OrganizationId, TeamId,
};
use switchboard_runtime::{page_filter, paging::Dir};

use super::{
    convert::{Check, actor_to_pb, org, target_to_pb, timestamp_ms},
    organizations::organization_to_pb,
};
use crate::{
    app::{
        Routing,
        config::{
            AgentChanges, CampaignChanges, NewAgent, NewCampaign, NewTeam, OrganizationChanges,
            TeamChanges,
        },
    },
    domain::{
        config::{
            Agent, Campaign, ChannelAccountRouting, ContactOwner, FormField, FormFieldKind,
            OfflinePolicy, OwnerSource, PriorityRule, Role, Strategy, Team,
        },
        organization::MAX_AGENT_CAPACITY,
    },
    error::RoutingError,
    store::config::{AgentFilter, MembersOf, Membership},
};

/// Longest offer timeout and owner fallback wait: 24 hours.
const DAY_SECS: i64 = 24 * 3600;
/// Shortest non-zero offer timeout.
const MIN_OFFER_TIMEOUT_SECS: i64 = 10;
/// Campaign reply window when unset: 72 hours.
const DEFAULT_REPLY_WINDOW_SECS: i64 = 72 * 3600;
/// Longest campaign reply window: 30 days.
const MAX_REPLY_WINDOW_SECS: i64 = 30 * DAY_SECS;

// ---- Field helpers ----

/// The calling agent; empty means internal provisioning.
fn actor(check: &mut Check, value: &str) -> Option<AgentId> {
    check.opt_id("actor_agent_id", value)
}

/// A trimmed text of 1 to `max` characters.
fn text(check: &mut Check, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.is_empty() {
        check.bad(field, "must not be empty");
    } else if value.chars().count() > max {
        check.bad(field, format!("must be at most {max} characters"));
    }
    value.to_string()
}

/// A trimmed optional text of at most `max` characters.
fn opt_text(check: &mut Check, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.chars().count() > max {
        check.bad(field, format!("must be at most {max} characters"));
    }
    value.to_string()
}

/// The paths of an update mask, each one of `allowed`; at least one.
fn mask(check: &mut Check, mask: Option<&FieldMask>, allowed: &[&str]) -> BTreeSet<String> {
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

fn whole_seconds(check: &mut Check, field: &str, d: &Duration) -> Option<i64> {
    if d.nanos != 0 || d.seconds < 0 {
        check.bad(field, "must be a non-negative whole number of seconds");
        None
    } else {
        Some(d.seconds)
    }
}

fn duration(seconds: i64) -> Option<Duration> {
    (seconds > 0).then_some(Duration { seconds, nanos: 0 })
}

fn role_from_pb(check: &mut Check, field: &str, value: i32) -> Option<Role> {
    match common::Role::try_from(value) {
        Ok(common::Role::Agent) => Some(Role::Agent),
        Ok(common::Role::Operator) => Some(Role::Operator),
        Ok(common::Role::Admin) => Some(Role::Admin),
        Ok(common::Role::Unspecified) => {
            check.bad(field, "is required");
            None
        }
        Err(_) => {
            check.bad(field, "unknown role");
            None
        }
    }
}

fn role_to_pb(role: Role) -> common::Role {
    match role {
        Role::Agent => common::Role::Agent,
        Role::Operator => common::Role::Operator,
        Role::Admin => common::Role::Admin,
    }
}

fn capacity(check: &mut Check, field: &str, value: i32) -> i32 {
    if !(0..=MAX_AGENT_CAPACITY).contains(&value) {
        check.bad(
            field,
            format!(
                "must be between 0 and {MAX_AGENT_CAPACITY} (0 means the organization default)"
            ),
        );
    }
    value
}

fn email(check: &mut Check, field: &str, value: &str) -> String {
    let value = value.trim().to_lowercase();
    if value.is_empty() {
        check.bad(field, "is required");
    } else if !value.contains('@') || value.len() > 320 || value.chars().any(char::is_whitespace) {
        check.bad(field, "must be an email address");
    }
    value
}

fn auth_subject(check: &mut Check, field: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.len() > 255 {
        check.bad(field, "must be at most 255 characters");
    }
    (!value.is_empty()).then(|| value.to_string())
}

fn ids<T: std::str::FromStr<Err = switchboard_runtime::ids::IdError>>(
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

async fn default_capacity(app: &Routing, org: &OrganizationId) -> Result<i32, RoutingError> {
    Ok(app.store().organization(org).await?.default_agent_capacity)
}

// ---- Conversions out ----

fn agent_to_pb(org: &OrganizationId, a: Agent, default_capacity: i32) -> pb::Agent {
    pb::Agent {
        effective_capacity: a.effective_capacity(default_capacity),
        id: a.id.to_string(),
        organization_id: org.to_string(),
        display_name: a.display_name,
        email: a.email,
        role: role_to_pb(a.role) as i32,
        capacity: a.capacity,
        auth_subject: a.auth_subject.unwrap_or_default(),
        disabled: a.disabled,
        team_ids: a.team_ids.iter().map(ToString::to_string).collect(),
        create_time: Some(timestamp_ms(a.created_ms)),
        update_time: Some(timestamp_ms(a.updated_ms)),
    }
}

fn strategy_to_pb(s: Strategy) -> pb::TeamStrategy {
    match s {
        Strategy::Manual => pb::TeamStrategy::Manual,
        Strategy::RoundRobin => pb::TeamStrategy::RoundRobin,
        Strategy::LeastOpen => pb::TeamStrategy::LeastOpen,
        Strategy::DedicatedAgent => pb::TeamStrategy::DedicatedAgent,
    }
}

fn team_to_pb(org: &OrganizationId, t: Team) -> pb::Team {
    pb::Team {
        id: t.id.to_string(),
        organization_id: org.to_string(),
        name: t.name,
        description: t.description,
        strategy: strategy_to_pb(t.strategy) as i32,
        auto_distribution: Some(t.auto_distribution),
        offer_timeout: duration(t.offer_timeout_secs),
        offline_policy: match t.offline_policy {
            OfflinePolicy::Requeue => pb::OfflinePolicy::Requeue,
            OfflinePolicy::KeepUntilTimeout => pb::OfflinePolicy::KeepUntilTimeout,
        } as i32,
        priority_rules: t
            .priority_rules
            .into_iter()
            .map(|r| pb::PriorityRule {
                attribute: r.attribute,
                value: r.value,
                priority: r.priority,
            })
            .collect(),
        dedicated_agent_id: t
            .dedicated_agent_id
            .map(|a| a.to_string())
            .unwrap_or_default(),
        member_count: t.member_count,
        create_time: Some(timestamp_ms(t.created_ms)),
        update_time: Some(timestamp_ms(t.updated_ms)),
    }
}

fn membership_to_pb(m: Membership) -> pb::TeamMembership {
    pb::TeamMembership {
        team_id: m.team_id.to_string(),
        agent_id: m.agent_id.to_string(),
        create_time: Some(timestamp_ms(m.created_ms)),
    }
}

fn routing_to_pb(
    account: &ChannelAccountId,
    r: ChannelAccountRouting,
) -> pb::ChannelAccountRouting {
    pb::ChannelAccountRouting {
        channel_account_id: account.to_string(),
        linked_team_ids: r.linked_team_ids.iter().map(ToString::to_string).collect(),
        linked_agent_ids: r.linked_agent_ids.iter().map(ToString::to_string).collect(),
        default_target: Some(target_to_pb(&r.default_target)),
        update_time: r.updated_ms.map(timestamp_ms),
    }
}

fn form_kind_to_pb(k: FormFieldKind) -> pb::FormFieldKind {
    match k {
        FormFieldKind::Text => pb::FormFieldKind::Text,
        FormFieldKind::Number => pb::FormFieldKind::Number,
        FormFieldKind::Date => pb::FormFieldKind::Date,
        FormFieldKind::Boolean => pb::FormFieldKind::Boolean,
        FormFieldKind::Select => pb::FormFieldKind::Select,
    }
}

fn campaign_to_pb(org: &OrganizationId, c: Campaign) -> pb::Campaign {
    pb::Campaign {
        id: c.id.to_string(),
        organization_id: org.to_string(),
        name: c.name,
        channel_account_id: c.channel_account_id.to_string(),
        continue_with_human: c.continue_with_human,
        human_target: Some(target_to_pb(&c.human_target)),
        reply_window: duration(c.reply_window_secs),
        form_fields: c
            .form_fields
            .into_iter()
            .map(|f| pb::FormField {
                key: f.key,
                label: f.label,
                kind: form_kind_to_pb(f.kind) as i32,
                required: f.required,
                options: f.options,
                help_text: f.help_text,
            })
            .collect(),
        archived: c.archived,
        create_time: Some(timestamp_ms(c.created_ms)),
        update_time: Some(timestamp_ms(c.updated_ms)),
    }
}

fn owner_to_pb(o: ContactOwner) -> pb::ContactOwner {
    pb::ContactOwner {
        contact_id: o.contact_id.to_string(),
        agent_id: o.agent_id.to_string(),
        source: match o.source {
            OwnerSource::Manual => pb::OwnerSource::Manual,
            OwnerSource::FirstResponder => pb::OwnerSource::FirstResponder,
        } as i32,
        added_by: Some(actor_to_pb(&o.added_by)),
        create_time: Some(timestamp_ms(o.created_ms)),
    }
}

// ---- Organizations ----

const ORGANIZATION_FIELDS: &[&str] = &[
    "name",
    "default_agent_capacity",
    "settings",
    "settings.first_responder_becomes_owner",
    "settings.owner_routing_enabled",
    "settings.owner_fallback_wait",
    "settings.unrouted_policy",
];

pub async fn update_organization(
    app: &Routing,
    req: pb::UpdateOrganizationRequest,
) -> Result<pb::UpdateOrganizationResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let paths = mask(&mut check, req.update_mask.as_ref(), ORGANIZATION_FIELDS);
    let o = req.organization.unwrap_or_default();
    let has =
        |p: &str| paths.contains(p) || (p.starts_with("settings.") && paths.contains("settings"));
    let mut changes = OrganizationChanges::default();
    if has("name") {
        changes.name = Some(text(&mut check, "organization.name", &o.name, 200));
    }
    if has("default_agent_capacity") {
        if !(1..=MAX_AGENT_CAPACITY).contains(&o.default_agent_capacity) {
            check.bad(
                "organization.default_agent_capacity",
                format!("must be between 1 and {MAX_AGENT_CAPACITY}"),
            );
        }
        changes.default_agent_capacity = Some(o.default_agent_capacity);
    }
    let s = o.settings.unwrap_or_default();
    settings_changes(&mut check, "organization.settings", &s, has, &mut changes);
    check.done()?;
    let id = id.expect("validated");
    let updated = app
        .update_organization(&id, actor.as_ref(), changes)
        .await?;
    Ok(pb::UpdateOrganizationResponse {
        organization: Some(organization_to_pb(updated)),
    })
}

/// Reads the `settings.*` fields `has` names into `changes` (UpdateOrganization's mask, or
/// every field for CreateOrganization).
pub(super) fn settings_changes(
    check: &mut Check,
    field: &str,
    s: &pb::OrganizationSettings,
    has: impl Fn(&str) -> bool,
    changes: &mut OrganizationChanges,
) {
    if has("settings.first_responder_becomes_owner") {
        changes.first_responder_becomes_owner = Some(s.first_responder_becomes_owner);
    }
    if has("settings.owner_routing_enabled") {
        changes.owner_routing_enabled = Some(s.owner_routing_enabled);
    }
    if has("settings.owner_fallback_wait") {
        let field = &format!("{field}.owner_fallback_wait");
        let secs = s
            .owner_fallback_wait
            .as_ref()
            .and_then(|d| whole_seconds(check, field, d))
            .unwrap_or(0);
        if secs > DAY_SECS {
            check.bad(field, "must be at most 24 hours");
        }
        changes.owner_fallback_wait_secs = Some(secs);
    }
    if has("settings.unrouted_policy") {
        changes.unrouted_all_teams = Some(match pb::UnroutedPolicy::try_from(s.unrouted_policy) {
            Ok(pb::UnroutedPolicy::AllTeams) => true,
            Ok(_) => false,
            Err(_) => {
                check.bad(&format!("{field}.unrouted_policy"), "unknown policy");
                false
            }
        });
    }
}

// ---- Agents ----

pub async fn create_agent(
    app: &Routing,
    req: pb::CreateAgentRequest,
) -> Result<pb::CreateAgentResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let a = req.agent.unwrap_or_default();
    let display_name = text(&mut check, "agent.display_name", &a.display_name, 200);
    let email = email(&mut check, "agent.email", &a.email);
    let role = role_from_pb(&mut check, "agent.role", a.role);
    let capacity = capacity(&mut check, "agent.capacity", a.capacity);
    let auth_subject = auth_subject(&mut check, "agent.auth_subject", &a.auth_subject);
    let team_ids = ids::<TeamId>(&mut check, "team_ids", &req.team_ids);
    check.done()?;
    let id = id.expect("validated");
    let new = NewAgent {
        display_name,
        email,
        role: role.expect("validated"),
        capacity,
        auth_subject,
        team_ids,
    };
    let agent = app
        .create_agent(&id, actor.as_ref(), &req.request_id, new)
        .await?;
    let default = default_capacity(app, &id).await?;
    Ok(pb::CreateAgentResponse {
        agent: Some(agent_to_pb(&id, agent, default)),
    })
}

pub async fn get_agent(
    app: &Routing,
    req: pb::GetAgentRequest,
) -> Result<pb::GetAgentResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let agent: Option<AgentId> = check.id("agent_id", &req.agent_id);
    check.done()?;
    let id = id.expect("validated");
    let found = app.store().agent(&id, &agent.expect("validated")).await?;
    let default = default_capacity(app, &id).await?;
    Ok(pb::GetAgentResponse {
        agent: Some(agent_to_pb(&id, found, default)),
    })
}

pub async fn lookup_agent(
    app: &Routing,
    req: pb::LookupAgentRequest,
) -> Result<pb::LookupAgentResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    if req.auth_subject.trim().is_empty() {
        check.bad("auth_subject", "is required");
    }
    check.done()?;
    let id = id.expect("validated");
    let found = app.lookup_agent(&id, req.auth_subject.trim()).await?;
    let default = default_capacity(app, &id).await?;
    Ok(pb::LookupAgentResponse {
        agent: Some(agent_to_pb(&id, found, default)),
    })
}

pub async fn list_agents(
    app: &Routing,
    req: pb::ListAgentsRequest,
) -> Result<pb::ListAgentsResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let team: Option<TeamId> = check.opt_id("team_id", &req.team_id);
    let roles: Vec<Role> = req
        .roles
        .iter()
        .enumerate()
        .filter_map(|(i, r)| role_from_pb(&mut check, &format!("roles[{i}]"), *r))
        .collect();
    check.done()?;
    let id = id.expect("validated");
    let filter = AgentFilter {
        team,
        roles,
        include_disabled: req.include_disabled,
        query: req.query,
    };
    let (agents, total) = app.store().list_agents(&id, &filter, &page).await?;
    let default = default_capacity(app, &id).await?;
    Ok(pb::ListAgentsResponse {
        page: Some(agents.response(Some(total))),
        agents: agents
            .items
            .into_iter()
            .map(|a| agent_to_pb(&id, a, default))
            .collect(),
    })
}

const AGENT_FIELDS: &[&str] = &[
    "display_name",
    "email",
    "role",
    "capacity",
    "auth_subject",
    "disabled",
];

pub async fn update_agent(
    app: &Routing,
    req: pb::UpdateAgentRequest,
) -> Result<pb::UpdateAgentResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let paths = mask(&mut check, req.update_mask.as_ref(), AGENT_FIELDS);
    let a = req.agent.unwrap_or_default();
    let agent: Option<AgentId> = check.id("agent.id", &a.id);
    let mut changes = AgentChanges::default();
    if paths.contains("display_name") {
        changes.display_name = Some(text(&mut check, "agent.display_name", &a.display_name, 200));
    }
    if paths.contains("email") {
        changes.email = Some(email(&mut check, "agent.email", &a.email));
    }
    if paths.contains("role") {
        changes.role = role_from_pb(&mut check, "agent.role", a.role);
    }
    if paths.contains("capacity") {
        changes.capacity = Some(capacity(&mut check, "agent.capacity", a.capacity));
    }
    if paths.contains("auth_subject") {
        changes.auth_subject = Some(auth_subject(
            &mut check,
            "agent.auth_subject",
            &a.auth_subject,
        ));
    }
    if paths.contains("disabled") {
        changes.disabled = Some(a.disabled);
    }
    check.done()?;
    let id = id.expect("validated");
    let updated = app
        .update_agent(&id, actor.as_ref(), &agent.expect("validated"), changes)
        .await?;
    let default = default_capacity(app, &id).await?;
    Ok(pb::UpdateAgentResponse {
        agent: Some(agent_to_pb(&id, updated, default)),
    })
}

pub async fn delete_agent(
    app: &Routing,
    req: pb::DeleteAgentRequest,
) -> Result<pb::DeleteAgentResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let agent: Option<AgentId> = check.id("agent_id", &req.agent_id);
    check.done()?;
    let id = id.expect("validated");
    let (agent, requeued) = app
        .delete_agent(&id, actor.as_ref(), &agent.expect("validated"))
        .await?;
    let default = default_capacity(app, &id).await?;
    Ok(pb::DeleteAgentResponse {
        agent: Some(agent_to_pb(&id, agent, default)),
        requeued_conversation_ids: requeued.iter().map(ToString::to_string).collect(),
    })
}

// ---- Teams ----

fn strategy_from_pb(check: &mut Check, field: &str, value: i32) -> Strategy {
    match pb::TeamStrategy::try_from(value) {
        Ok(pb::TeamStrategy::Manual) => Strategy::Manual,
        Ok(pb::TeamStrategy::RoundRobin) => Strategy::RoundRobin,
        Ok(pb::TeamStrategy::LeastOpen | pb::TeamStrategy::Unspecified) => Strategy::LeastOpen,
        Ok(pb::TeamStrategy::DedicatedAgent) => Strategy::DedicatedAgent,
        Err(_) => {
            check.bad(field, "unknown strategy");
            Strategy::LeastOpen
        }
    }
}

fn offline_policy_from_pb(check: &mut Check, field: &str, value: i32) -> OfflinePolicy {
    match pb::OfflinePolicy::try_from(value) {
        Ok(pb::OfflinePolicy::KeepUntilTimeout) => OfflinePolicy::KeepUntilTimeout,
        Ok(_) => OfflinePolicy::Requeue,
        Err(_) => {
            check.bad(field, "unknown offline policy");
            OfflinePolicy::Requeue
        }
    }
}

fn offer_timeout(check: &mut Check, field: &str, value: Option<&Duration>) -> i64 {
    let secs = value
        .and_then(|d| whole_seconds(check, field, d))
        .unwrap_or(0);
    if secs != 0 && !(MIN_OFFER_TIMEOUT_SECS..=DAY_SECS).contains(&secs) {
        check.bad(
            field,
            "must be 0 (never) or between 10 seconds and 24 hours",
        );
    }
    secs
}

fn priority_rules(check: &mut Check, field: &str, rules: &[pb::PriorityRule]) -> Vec<PriorityRule> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.attribute.trim().is_empty() {
                check.bad(&format!("{field}[{i}].attribute"), "must not be empty");
            }
            if !(-100..=100).contains(&r.priority) {
                check.bad(
                    &format!("{field}[{i}].priority"),
                    "must be between -100 and 100",
                );
            }
            PriorityRule {
                attribute: r.attribute.trim().to_string(),
                value: r.value.clone(),
                priority: r.priority,
            }
        })
        .collect()
}

pub async fn create_team(
    app: &Routing,
    req: pb::CreateTeamRequest,
) -> Result<pb::CreateTeamResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let t = req.team.unwrap_or_default();
    let name = text(&mut check, "team.name", &t.name, 200);
    let description = opt_text(&mut check, "team.description", &t.description, 2000);
    let strategy = strategy_from_pb(&mut check, "team.strategy", t.strategy);
    let offer_timeout_secs =
        offer_timeout(&mut check, "team.offer_timeout", t.offer_timeout.as_ref());
    let offline_policy =
        offline_policy_from_pb(&mut check, "team.offline_policy", t.offline_policy);
    let rules = priority_rules(&mut check, "team.priority_rules", &t.priority_rules);
    let dedicated: Option<AgentId> = check.opt_id("team.dedicated_agent_id", &t.dedicated_agent_id);
    match (strategy, t.dedicated_agent_id.is_empty()) {
        (Strategy::DedicatedAgent, true) => check.bad(
            "team.dedicated_agent_id",
            "is required with TEAM_STRATEGY_DEDICATED_AGENT",
        ),
        (s, false) if s != Strategy::DedicatedAgent => check.bad(
            "team.dedicated_agent_id",
            "only with TEAM_STRATEGY_DEDICATED_AGENT",
        ),
        _ => {}
    }
    let members = ids::<AgentId>(&mut check, "member_agent_ids", &req.member_agent_ids);
    check.done()?;
    let id = id.expect("validated");
    let new = NewTeam {
        name,
        description,
        strategy,
        auto_distribution: t.auto_distribution.unwrap_or(true),
        offer_timeout_secs,
        offline_policy,
        priority_rules: rules,
        dedicated_agent_id: dedicated,
        member_agent_ids: members,
    };
    let team = app
        .create_team(&id, actor.as_ref(), &req.request_id, new)
        .await?;
    Ok(pb::CreateTeamResponse {
        team: Some(team_to_pb(&id, team)),
    })
}

pub async fn get_team(
    app: &Routing,
    req: pb::GetTeamRequest,
) -> Result<pb::GetTeamResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let team: Option<TeamId> = check.id("team_id", &req.team_id);
    check.done()?;
    let id = id.expect("validated");
    let team = app.store().team(&id, &team.expect("validated")).await?;
    Ok(pb::GetTeamResponse {
        team: Some(team_to_pb(&id, team)),
    })
}

pub async fn list_teams(
    app: &Routing,
    req: pb::ListTeamsRequest,
) -> Result<pb::ListTeamsResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let account: Option<ChannelAccountId> =
        check.opt_id("channel_account_id", &req.channel_account_id);
    check.done()?;
    let id = id.expect("validated");
    let (teams, total) = app.store().list_teams(&id, account.as_ref(), &page).await?;
    Ok(pb::ListTeamsResponse {
        page: Some(teams.response(Some(total))),
        teams: teams
            .items
            .into_iter()
            .map(|t| team_to_pb(&id, t))
            .collect(),
    })
}

const TEAM_FIELDS: &[&str] = &[
    "name",
    "description",
    "strategy",
    "auto_distribution",
    "offer_timeout",
    "offline_policy",
    "priority_rules",
    "dedicated_agent_id",
];

pub async fn update_team(
    app: &Routing,
    req: pb::UpdateTeamRequest,
) -> Result<pb::UpdateTeamResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let paths = mask(&mut check, req.update_mask.as_ref(), TEAM_FIELDS);
    let t = req.team.unwrap_or_default();
    let team: Option<TeamId> = check.id("team.id", &t.id);
    let mut changes = TeamChanges::default();
    if paths.contains("name") {
        changes.name = Some(text(&mut check, "team.name", &t.name, 200));
    }
    if paths.contains("description") {
        changes.description = Some(opt_text(
            &mut check,
            "team.description",
            &t.description,
            2000,
        ));
    }
    if paths.contains("strategy") {
        changes.strategy = Some(strategy_from_pb(&mut check, "team.strategy", t.strategy));
    }
    if paths.contains("auto_distribution") {
        changes.auto_distribution = Some(t.auto_distribution.unwrap_or(true));
    }
    if paths.contains("offer_timeout") {
        changes.offer_timeout_secs = Some(offer_timeout(
            &mut check,
            "team.offer_timeout",
            t.offer_timeout.as_ref(),
        ));
    }
    if paths.contains("offline_policy") {
        changes.offline_policy = Some(offline_policy_from_pb(
            &mut check,
            "team.offline_policy",
            t.offline_policy,
        ));
    }
    if paths.contains("priority_rules") {
        changes.priority_rules = Some(priority_rules(
            &mut check,
            "team.priority_rules",
            &t.priority_rules,
        ));
    }
    if paths.contains("dedicated_agent_id") {
        changes.dedicated_agent_id =
            Some(check.opt_id("team.dedicated_agent_id", &t.dedicated_agent_id));
    }
    check.done()?;
    let id = id.expect("validated");
    let updated = app
        .update_team(&id, actor.as_ref(), &team.expect("validated"), changes)
        .await?;
    Ok(pb::UpdateTeamResponse {
        team: Some(team_to_pb(&id, updated)),
    })
}

pub async fn delete_team(
    app: &Routing,
    req: pb::DeleteTeamRequest,
) -> Result<pb::DeleteTeamResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let team: Option<TeamId> = check.id("team_id", &req.team_id);
    if req.request_id.len() > 128 {
        check.bad("request_id", "must be at most 128 characters");
    }
    check.done()?;
    app.delete_team(
        &id.expect("validated"),
        actor.as_ref(),
        req.request_id.trim(),
        &team.expect("validated"),
    )
    .await?;
    Ok(pb::DeleteTeamResponse {})
}

pub async fn add_team_member(
    app: &Routing,
    req: pb::AddTeamMemberRequest,
) -> Result<pb::AddTeamMemberResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let team: Option<TeamId> = check.id("team_id", &req.team_id);
    let agent: Option<AgentId> = check.id("agent_id", &req.agent_id);
    check.done()?;
    let membership = app
        .add_team_member(
            &id.expect("validated"),
            actor.as_ref(),
            &team.expect("validated"),
            &agent.expect("validated"),
        )
        .await?;
    Ok(pb::AddTeamMemberResponse {
        membership: Some(membership_to_pb(membership)),
    })
}

pub async fn remove_team_member(
    app: &Routing,
    req: pb::RemoveTeamMemberRequest,
) -> Result<pb::RemoveTeamMemberResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let team: Option<TeamId> = check.id("team_id", &req.team_id);
    let agent: Option<AgentId> = check.id("agent_id", &req.agent_id);
    check.done()?;
    app.remove_team_member(
        &id.expect("validated"),
        actor.as_ref(),
        &team.expect("validated"),
        &agent.expect("validated"),
    )
    .await?;
    Ok(pb::RemoveTeamMemberResponse {})
}

pub async fn list_team_members(
    app: &Routing,
    req: pb::ListTeamMembersRequest,
) -> Result<pb::ListTeamMembersResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let of = match (req.team_id.is_empty(), req.agent_id.is_empty()) {
        (false, true) => check.id("team_id", &req.team_id).map(MembersOf::Team),
        (true, false) => check.id("agent_id", &req.agent_id).map(MembersOf::Agent),
        _ => {
            check.bad("team_id", "exactly one of team_id and agent_id is required");
            None
        }
    };
    check.done()?;
    let (list, total) = app
        .store()
        .memberships(&id.expect("validated"), &of.expect("validated"), &page)
        .await?;
    Ok(pb::ListTeamMembersResponse {
        page: Some(list.response(Some(total))),
        memberships: list.items.into_iter().map(membership_to_pb).collect(),
    })
}

// ---- Channel account routing ----

pub async fn get_channel_account_routing(
    app: &Routing,
    req: pb::GetChannelAccountRoutingRequest,
) -> Result<pb::GetChannelAccountRoutingResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let account: Option<ChannelAccountId> = check.id("channel_account_id", &req.channel_account_id);
    check.done()?;
    let account = account.expect("validated");
    let routing = app
        .store()
        .channel_account_routing(&id.expect("validated"), &account)
        .await?;
    Ok(pb::GetChannelAccountRoutingResponse {
        routing: Some(routing_to_pb(&account, routing)),
    })
}

pub async fn update_channel_account_routing(
    app: &Routing,
    req: pb::UpdateChannelAccountRoutingRequest,
) -> Result<pb::UpdateChannelAccountRoutingResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    if req.routing.is_none() {
        check.bad("routing", "is required");
    }
    let r = req.routing.unwrap_or_default();
    let account: Option<ChannelAccountId> =
        check.id("routing.channel_account_id", &r.channel_account_id);
    let teams = ids::<TeamId>(&mut check, "routing.linked_team_ids", &r.linked_team_ids);
    let agents = ids::<AgentId>(&mut check, "routing.linked_agent_ids", &r.linked_agent_ids);
    let target = check.target("routing.default_target", r.default_target.as_ref(), true);
    check.done()?;
    let account = account.expect("validated");
    let routing = ChannelAccountRouting {
        channel_account_id: Some(account.clone()),
        linked_team_ids: teams,
        linked_agent_ids: agents,
        default_target: target,
        updated_ms: None,
    };
    let saved = app
        .update_channel_account_routing(&id.expect("validated"), actor.as_ref(), &account, routing)
        .await?;
    Ok(pb::UpdateChannelAccountRoutingResponse {
        routing: Some(routing_to_pb(&account, saved)),
    })
}

// ---- Campaigns ----

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn form_fields(check: &mut Check, field: &str, fields: &[pb::FormField]) -> Vec<FormField> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        let key = f.key.trim();
        if !is_key(key) || key.len() > 64 {
            check.bad(
                &at("key"),
                "must be 1 to 64 lowercase letters, digits and underscores",
            );
        } else if !seen.insert(key.to_string()) {
            check.bad(&at("key"), format!("duplicate key {key:?}"));
        }
        let label = text(check, &at("label"), &f.label, 200);
        let kind = match pb::FormFieldKind::try_from(f.kind) {
            Ok(pb::FormFieldKind::Text) => Some(FormFieldKind::Text),
            Ok(pb::FormFieldKind::Number) => Some(FormFieldKind::Number),
            Ok(pb::FormFieldKind::Date) => Some(FormFieldKind::Date),
            Ok(pb::FormFieldKind::Boolean) => Some(FormFieldKind::Boolean),
            Ok(pb::FormFieldKind::Select) => Some(FormFieldKind::Select),
            Ok(pb::FormFieldKind::Unspecified) => {
                check.bad(&at("kind"), "is required");
                None
            }
            Err(_) => {
                check.bad(&at("kind"), "unknown kind");
                None
            }
        };
        let options: Vec<String> = f
            .options
            .iter()
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if kind == Some(FormFieldKind::Select) && options.is_empty() {
            check.bad(&at("options"), "a select field needs at least one option");
        }
        if let Some(kind) = kind {
            out.push(FormField {
                key: key.to_string(),
                label,
                kind,
                required: f.required,
                options: if kind == FormFieldKind::Select {
                    options
                } else {
                    Vec::new()
                },
                help_text: f.help_text.trim().to_string(),
            });
        }
    }
    out
}

fn reply_window(check: &mut Check, field: &str, value: Option<&Duration>) -> i64 {
    let secs = value
        .and_then(|d| whole_seconds(check, field, d))
        .unwrap_or(0);
    if secs == 0 {
        return DEFAULT_REPLY_WINDOW_SECS;
    }
    if secs > MAX_REPLY_WINDOW_SECS {
        check.bad(field, "must be at most 30 days");
    }
    secs
}

pub async fn create_campaign(
    app: &Routing,
    req: pb::CreateCampaignRequest,
) -> Result<pb::CreateCampaignResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let c = req.campaign.unwrap_or_default();
    let name = text(&mut check, "campaign.name", &c.name, 200);
    let account: Option<ChannelAccountId> =
        check.id("campaign.channel_account_id", &c.channel_account_id);
    let target = check.target("campaign.human_target", c.human_target.as_ref(), true);
    let window = reply_window(&mut check, "campaign.reply_window", c.reply_window.as_ref());
    let fields = form_fields(&mut check, "campaign.form_fields", &c.form_fields);
    check.done()?;
    let id = id.expect("validated");
    let new = NewCampaign {
        name,
        channel_account_id: account.expect("validated"),
        continue_with_human: c.continue_with_human,
        human_target: target,
        reply_window_secs: window,
        form_fields: fields,
    };
    let campaign = app
        .create_campaign(&id, actor.as_ref(), &req.request_id, new)
        .await?;
    Ok(pb::CreateCampaignResponse {
        campaign: Some(campaign_to_pb(&id, campaign)),
    })
}

pub async fn get_campaign(
    app: &Routing,
    req: pb::GetCampaignRequest,
) -> Result<pb::GetCampaignResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let campaign: Option<CampaignId> = check.id("campaign_id", &req.campaign_id);
    check.done()?;
    let id = id.expect("validated");
    let campaign = app
        .store()
        .campaign(&id, &campaign.expect("validated"))
        .await?;
    Ok(pb::GetCampaignResponse {
        campaign: Some(campaign_to_pb(&id, campaign)),
    })
}

pub async fn list_campaigns(
    app: &Routing,
    req: pb::ListCampaignsRequest,
) -> Result<pb::ListCampaignsResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let account: Option<ChannelAccountId> =
        check.opt_id("channel_account_id", &req.channel_account_id);
    check.done()?;
    let id = id.expect("validated");
    let (list, total) = app
        .store()
        .list_campaigns(&id, account.as_ref(), req.include_archived, &page)
        .await?;
    Ok(pb::ListCampaignsResponse {
        page: Some(list.response(Some(total))),
        campaigns: list
            .items
            .into_iter()
            .map(|c| campaign_to_pb(&id, c))
            .collect(),
    })
}

const CAMPAIGN_FIELDS: &[&str] = &[
    "name",
    "channel_account_id",
    "continue_with_human",
    "human_target",
    "reply_window",
    "form_fields",
];

pub async fn update_campaign(
    app: &Routing,
    req: pb::UpdateCampaignRequest,
) -> Result<pb::UpdateCampaignResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let paths = mask(&mut check, req.update_mask.as_ref(), CAMPAIGN_FIELDS);
    let c = req.campaign.unwrap_or_default();
    let campaign: Option<CampaignId> = check.id("campaign.id", &c.id);
    let mut changes = CampaignChanges::default();
    if paths.contains("name") {
        changes.name = Some(text(&mut check, "campaign.name", &c.name, 200));
    }
    if paths.contains("channel_account_id") {
        changes.channel_account_id = check.id("campaign.channel_account_id", &c.channel_account_id);
    }
    if paths.contains("continue_with_human") {
        changes.continue_with_human = Some(c.continue_with_human);
    }
    if paths.contains("human_target") {
        changes.human_target =
            Some(check.target("campaign.human_target", c.human_target.as_ref(), true));
    }
    if paths.contains("reply_window") {
        changes.reply_window_secs = Some(reply_window(
            &mut check,
            "campaign.reply_window",
            c.reply_window.as_ref(),
        ));
    }
    if paths.contains("form_fields") {
        changes.form_fields = Some(form_fields(
            &mut check,
            "campaign.form_fields",
            &c.form_fields,
        ));
    }
    check.done()?;
    let id = id.expect("validated");
    let updated = app
        .update_campaign(&id, actor.as_ref(), &campaign.expect("validated"), changes)
        .await?;
    Ok(pb::UpdateCampaignResponse {
        campaign: Some(campaign_to_pb(&id, updated)),
    })
}

pub async fn delete_campaign(
    app: &Routing,
    req: pb::DeleteCampaignRequest,
) -> Result<pb::DeleteCampaignResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let campaign: Option<CampaignId> = check.id("campaign_id", &req.campaign_id);
    check.done()?;
    let id = id.expect("validated");
    let archived = app
        .archive_campaign(&id, actor.as_ref(), &campaign.expect("validated"))
        .await?;
    Ok(pb::DeleteCampaignResponse {
        campaign: Some(campaign_to_pb(&id, archived)),
    })
}

// ---- Contact owners ----

pub async fn add_contact_owner(
    app: &Routing,
    req: pb::AddContactOwnerRequest,
) -> Result<pb::AddContactOwnerResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let contact: Option<ContactId> = check.id("contact_id", &req.contact_id);
    let agent: Option<AgentId> = check.id("agent_id", &req.agent_id);
    check.done()?;
    let owner = app
        .add_contact_owner(
            &id.expect("validated"),
            actor.as_ref(),
            &contact.expect("validated"),
            &agent.expect("validated"),
        )
        .await?;
    Ok(pb::AddContactOwnerResponse {
        owner: Some(owner_to_pb(owner)),
    })
}

pub async fn remove_contact_owner(
    app: &Routing,
    req: pb::RemoveContactOwnerRequest,
) -> Result<pb::RemoveContactOwnerResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let actor = actor(&mut check, &req.actor_agent_id);
    let contact: Option<ContactId> = check.id("contact_id", &req.contact_id);
    let agent: Option<AgentId> = check.id("agent_id", &req.agent_id);
    check.done()?;
    app.remove_contact_owner(
        &id.expect("validated"),
        actor.as_ref(),
        &contact.expect("validated"),
        &agent.expect("validated"),
    )
    .await?;
    Ok(pb::RemoveContactOwnerResponse {})
}

pub async fn list_contact_owners(
    app: &Routing,
    req: pb::ListContactOwnersRequest,
) -> Result<pb::ListContactOwnersResponse, RoutingError> {
    let mut check = Check::default();
    let id = org(&mut check, &req.organization_id);
    let contact: Option<ContactId> = check.id("contact_id", &req.contact_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    check.done()?;
    let owners = app
        .store()
        .contact_owners(&id.expect("validated"), &contact.expect("validated"))
        .await?;
    let total = owners.len() as u64;
    // Oldest first, agent id as the tie-break (an agent owns a contact once).
    let list = page.slice(owners, &[Dir::Asc, Dir::Asc], |o| {
        vec![o.created_ms.into(), o.agent_id.as_str().into()]
    });
    Ok(pb::ListContactOwnersResponse {
        page: Some(list.response(Some(total))),
        owners: list.items.into_iter().map(owner_to_pb).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_field_keys_are_lowercase_snake() {
        assert!(is_key("order_id_2"));
        assert!(!is_key("Order"));
        assert!(!is_key("order-id"));
        assert!(!is_key(""));
    }

    #[test]
    fn offer_timeout_is_zero_or_ten_seconds_to_a_day() {
        let mut check = Check::default();
        assert_eq!(offer_timeout(&mut check, "t", None), 0);
        assert_eq!(
            offer_timeout(
                &mut check,
                "t",
                Some(&Duration {
                    seconds: 30,
                    nanos: 0
                })
            ),
            30
        );
        assert!(check.0.is_empty());
        offer_timeout(
            &mut check,
            "t",
            Some(&Duration {
                seconds: 5,
                nanos: 0,
            }),
        );
        offer_timeout(
            &mut check,
            "t",
            Some(&Duration {
                seconds: DAY_SECS + 1,
                nanos: 0,
            }),
        );
        assert_eq!(check.0.len(), 2);
    }

    #[test]
    fn duplicate_form_keys_and_optionless_selects_are_refused() {
        let field = |key: &str, kind: pb::FormFieldKind| pb::FormField {
            key: key.into(),
            label: "L".into(),
            kind: kind as i32,
            ..Default::default()
        };
        let mut check = Check::default();
        form_fields(
            &mut check,
            "f",
            &[
                field("a", pb::FormFieldKind::Text),
                field("a", pb::FormFieldKind::Text),
                field("b", pb::FormFieldKind::Select),
            ],
        );
        let fields: Vec<_> = check.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["f[1].key", "f[2].options"]);
    }
}
