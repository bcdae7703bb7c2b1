//! contacts RPCs.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

pub async fn get_contact(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetContactRequest,
) -> Result<pb::GetContactResponse, Status> {
    Err(Status::unimplemented("GetContact"))
}

pub async fn list_contacts(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListContactsRequest,
) -> Result<pb::ListContactsResponse, Status> {
    Err(Status::unimplemented("ListContacts"))
}

pub async fn create_contact(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::CreateContactRequest,
) -> Result<pb::CreateContactResponse, Status> {
    Err(Status::unimplemented("CreateContact"))
}

pub async fn update_contact(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UpdateContactRequest,
) -> Result<pb::UpdateContactResponse, Status> {
    Err(Status::unimplemented("UpdateContact"))
}

pub async fn add_contact_owner(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::AddContactOwnerRequest,
) -> Result<pb::AddContactOwnerResponse, Status> {
    Err(Status::unimplemented("AddContactOwner"))
}

pub async fn remove_contact_owner(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::RemoveContactOwnerRequest,
) -> Result<pb::RemoveContactOwnerResponse, Status> {
    Err(Status::unimplemented("RemoveContactOwner"))
}
