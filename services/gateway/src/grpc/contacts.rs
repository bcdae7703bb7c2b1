//! Contacts: the channel service's contacts, with their owners (default assignees) from
//! routing. The caller is the actor of every change.

use switchboard_proto::{channel::v1 as cpb, gateway::v1 as pb, routing::v1 as rpb};
use switchboard_runtime::errors::{FieldViolation, invalid_argument};
use tonic::Status;

use super::{Ctx, Scope};
use crate::upstream::every_page;

/// The fields UpdateContact may change through the gateway.
const UPDATABLE: &[&str] = &["display_name", "attributes"];

/// The contact `contact_id` of my organization (NOT_FOUND otherwise).
async fn contact(ctx: &Ctx, scope: &Scope, contact_id: &str) -> Result<cpb::Contact, Status> {
    ctx.upstream
        .channel()
        .get_contact(scope.req(cpb::GetContactRequest {
            organization_id: scope.org(),
            lookup: Some(cpb::get_contact_request::Lookup::ContactId(
                contact_id.to_string(),
            )),
        }))
        .await?
        .into_inner()
        .contact
        .ok_or_else(|| Status::not_found(format!("contact {contact_id} not found")))
}

/// Every owner of a contact, in routing order.
async fn owners(
    ctx: &Ctx,
    scope: &Scope,
    contact_id: &str,
) -> Result<Vec<rpb::ContactOwner>, Status> {
    every_page(|page| async move {
        let r = ctx
            .upstream
            .routing()
            .list_contact_owners(scope.req(rpb::ListContactOwnersRequest {
                organization_id: scope.org(),
                contact_id: contact_id.to_string(),
                page: Some(page),
            }))
            .await?
            .into_inner();
        Ok((r.owners, r.page))
    })
    .await
}

pub async fn get_contact(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetContactRequest,
) -> Result<pb::GetContactResponse, Status> {
    let (contact, owners) = tokio::try_join!(
        contact(ctx, scope, &request.contact_id),
        owners(ctx, scope, &request.contact_id),
    )?;
    Ok(pb::GetContactResponse {
        contact: Some(contact),
        owners,
    })
}

pub async fn list_contacts(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListContactsRequest,
) -> Result<pb::ListContactsResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .list_contacts(scope.req(cpb::ListContactsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            query: request.query,
            tags: vec![],
        }))
        .await?
        .into_inner();
    Ok(pb::ListContactsResponse {
        contacts: answer.contacts,
        page: answer.page,
    })
}

pub async fn create_contact(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CreateContactRequest,
) -> Result<pb::CreateContactResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .create_contact(scope.req(cpb::CreateContactRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            phone_number: request.phone_number,
            display_name: request.display_name,
            attributes: request.attributes,
            tags: vec![],
        }))
        .await?
        .into_inner();
    Ok(pb::CreateContactResponse {
        contact: answer.contact,
        created: answer.created,
    })
}

pub async fn update_contact(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateContactRequest,
) -> Result<pb::UpdateContactResponse, Status> {
    if let Some(mask) = &request.update_mask {
        let violations: Vec<FieldViolation> = mask
            .paths
            .iter()
            .enumerate()
            .filter(|(_, p)| !UPDATABLE.contains(&p.as_str()))
            .map(|(i, p)| {
                FieldViolation::new(
                    format!("update_mask.paths[{i}]"),
                    format!("{p:?} cannot be changed here; use display_name or attributes"),
                )
            })
            .collect();
        if !violations.is_empty() {
            return Err(invalid_argument(&violations));
        }
    }
    // Only the id and the masked fields are read; the organization is always mine.
    let contact = request.contact.map(|mut c| {
        c.organization_id = scope.org();
        c
    });
    let answer = ctx
        .upstream
        .channel()
        .update_contact(scope.req(cpb::UpdateContactRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            contact,
            update_mask: request.update_mask,
        }))
        .await?
        .into_inner();
    Ok(pb::UpdateContactResponse {
        contact: answer.contact,
    })
}

/// Routing checks the contact with the channel service: an unknown or foreign contact is
/// NOT_FOUND.
pub async fn add_contact_owner(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::AddContactOwnerRequest,
) -> Result<pb::AddContactOwnerResponse, Status> {
    let answer = ctx
        .upstream
        .routing()
        .add_contact_owner(scope.req(rpb::AddContactOwnerRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            contact_id: request.contact_id,
            agent_id: request.agent_id,
        }))
        .await?
        .into_inner();
    Ok(pb::AddContactOwnerResponse {
        owner: answer.owner,
    })
}

pub async fn remove_contact_owner(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::RemoveContactOwnerRequest,
) -> Result<pb::RemoveContactOwnerResponse, Status> {
    contact(ctx, scope, &request.contact_id).await?;
    ctx.upstream
        .routing()
        .remove_contact_owner(scope.req(rpb::RemoveContactOwnerRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            contact_id: request.contact_id,
            agent_id: request.agent_id,
        }))
        .await?;
    Ok(pb::RemoveContactOwnerResponse {})
}
