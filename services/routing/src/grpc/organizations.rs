//! Organization RPCs.

use switchboard_proto::routing::v1 as pb;

use super::convert::{Check, org, timestamp_ms};
use crate::{
    app::{Routing, config::OrganizationChanges},
    domain::organization::{NewOrganization, Organization},
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
        super::config::settings_changes(&mut check, "settings", s, |_| true, &mut changes);
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
    let id = org(&mut check, &req.organization_id);
    check.done()?;
    let org = app.store().organization(&id.expect("validated")).await?;
    Ok(pb::GetOrganizationResponse {
        organization: Some(organization_to_pb(org)),
    })
}
