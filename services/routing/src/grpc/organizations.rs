//! Organization RPCs: create, get and update (name, default capacity and routing settings).

use switchboard_proto::routing::v1 as pb;

use super::{
    convert::{Check, timestamp_ms},
    fields::DAY_SECS,
};
use crate::{
    app::{Routing, organizations::OrganizationChanges},
    domain::organization::{MAX_AGENT_CAPACITY, NewOrganization, Organization},
    error::RoutingError,
};

pub fn organization_to_pb(o: Organization) -> pb::Organization {
    pb::Organization {
        id: o.id.to_string(),
        name: o.name,
        default_agent_capacity: o.default_agent_capacity,
        create_time: Some(timestamp_ms(o.created_at.timestamp_millis())),
        settings: Some(pb::OrganizationSettings {
            first_responder_becomes_owner: o.settings.first_responder_becomes_owner,
            owner_routing_enabled: o.settings.owner_routing_enabled,
            owner_fallback_wait: (o.settings.owner_fallback_wait_secs > 0).then_some({
                switchboard_proto::prost_types::Duration {
                    seconds: o.settings.owner_fallback_wait_secs,
                    nanos: 0,
                }
            }),
            unrouted_policy: if o.settings.unrouted_all_teams {
                pb::UnroutedPolicy::AllTeams
            } else {
                pb::UnroutedPolicy::WaitingList
            } as i32,
        }),
        update_time: Some(timestamp_ms(o.updated_ms)),
    }
}

pub async fn create_organization(
    app: &Routing,
    req: pb::CreateOrganizationRequest,
) -> Result<pb::CreateOrganizationResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let new = match NewOrganization::parse(&req.name, req.default_agent_capacity) {
        Ok(new) => Some(new),
        Err(more) => {
            check.0.extend(more);
            None
        }
    };
    let mut changes = OrganizationChanges::default();
    if let Some(s) = &req.settings {
        settings_changes(&mut check, "settings", s, |_| true, &mut changes);
    }
    check.done()?;
    let mut new = new.expect("validated");
    changes.apply_settings(&mut new.settings);
    let org = app
        .store()
        .create_organization(&req.request_id, new)
        .await?;
    Ok(pb::CreateOrganizationResponse {
        organization: Some(organization_to_pb(org)),
    })
}

pub async fn get_organization(
    app: &Routing,
    req: pb::GetOrganizationRequest,
) -> Result<pb::GetOrganizationResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    check.done()?;
    let org = app.store().organization(&id.expect("validated")).await?;
    Ok(pb::GetOrganizationResponse {
        organization: Some(organization_to_pb(org)),
    })
}

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
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let paths = check.mask(req.update_mask.as_ref(), ORGANIZATION_FIELDS);
    let o = req.organization.unwrap_or_default();
    let has =
        |p: &str| paths.contains(p) || (p.starts_with("settings.") && paths.contains("settings"));
    let mut changes = OrganizationChanges::default();
    if has("name") {
        changes.name = Some(check.text("organization.name", &o.name, 200));
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
fn settings_changes(
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
            .and_then(|d| check.whole_seconds(field, d))
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
