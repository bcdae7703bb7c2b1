//! work_items RPCs.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

pub async fn list_work_items(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListWorkItemsRequest,
) -> Result<pb::ListWorkItemsResponse, Status> {
    Err(Status::unimplemented("ListWorkItems"))
}

pub async fn accept_work_item(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::AcceptWorkItemRequest,
) -> Result<pb::AcceptWorkItemResponse, Status> {
    Err(Status::unimplemented("AcceptWorkItem"))
}

pub async fn complete_work_item(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::CompleteWorkItemRequest,
) -> Result<pb::CompleteWorkItemResponse, Status> {
    Err(Status::unimplemented("CompleteWorkItem"))
}
