//! Agent RPCs: create, get, look up by identity-provider subject, list, update and delete.
//! Parses and validates every field (all violations at once).

use switchboard_proto::{common::v1 as common, routing::v1 as pb};
use switchboard_runtime::{
    ids::{AgentId, OrganizationId, TeamId},
    page_filter,
};

use super::convert::{Check, timestamp_ms};
use crate::{
    app::{
        Routing,
        agents::{AgentChanges, NewAgent},
    },
    domain::{
        config::{Agent, Role},
        organization::MAX_AGENT_CAPACITY,
    },
    error::RoutingError,
    store::agents::AgentFilter,
};

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

pub(crate) fn role_to_pb(role: Role) -> common::Role {
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

async fn default_capacity(app: &Routing, org: &OrganizationId) -> Result<i32, RoutingError> {
    Ok(app.store().organization(org).await?.default_agent_capacity)
}

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

pub async fn create_agent(
    app: &Routing,
    req: pb::CreateAgentRequest,
) -> Result<pb::CreateAgentResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let a = req.agent.unwrap_or_default();
    let display_name = check.text("agent.display_name", &a.display_name, 200);
    let email = email(&mut check, "agent.email", &a.email);
    let role = role_from_pb(&mut check, "agent.role", a.role);
    let capacity = capacity(&mut check, "agent.capacity", a.capacity);
    let auth_subject = auth_subject(&mut check, "agent.auth_subject", &a.auth_subject);
    let team_ids = check.ids::<TeamId>("team_ids", &req.team_ids);
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
    let id = check.org(&req.organization_id);
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
    let id = check.org(&req.organization_id);
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
    let id = check.org(&req.organization_id);
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
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let paths = check.mask(req.update_mask.as_ref(), AGENT_FIELDS);
    let a = req.agent.unwrap_or_default();
    let agent: Option<AgentId> = check.id("agent.id", &a.id);
    let mut changes = AgentChanges::default();
    if paths.contains("display_name") {
        changes.display_name = Some(check.text("agent.display_name", &a.display_name, 200));
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
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
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
