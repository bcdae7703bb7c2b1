//! Contact owner RPCs: add, remove and list a contact's owners.

use switchboard_proto::routing::v1 as pb;
use switchboard_runtime::{
    ids::{AgentId, ContactId},
    page_filter,
    paging::Dir,
};

use super::convert::{Check, actor_to_pb, timestamp_ms};
use crate::{
    app::Routing,
    domain::config::{ContactOwner, OwnerSource},
    error::RoutingError,
};

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

pub async fn add_contact_owner(
    app: &Routing,
    req: pb::AddContactOwnerRequest,
) -> Result<pb::AddContactOwnerResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
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
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
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
    let id = check.org(&req.organization_id);
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
