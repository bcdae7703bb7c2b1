//! Work items: mine by default; operators and admins may list another agent's or everyone's.
//! Routing's ListWorkItems takes no actor, so who may list what is decided here.

use switchboard_proto::{gateway::v1 as pb, routing::v1 as rpb};
use tonic::Status;

use super::{Ctx, Scope};

pub async fn list_work_items(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListWorkItemsRequest,
) -> Result<pb::ListWorkItemsResponse, Status> {
    let assignee_agent_id = if request.all_agents {
        scope
            .caller
            .require_supervisor("listing everyone's work items")?;
        String::new()
    } else if request.agent_id.is_empty() || request.agent_id == scope.me() {
        scope.me()
    } else {
        scope
            .caller
            .require_supervisor("listing another agent's work items")?;
        request.agent_id
    };
    let states = if request.states.is_empty() {
        vec![
            rpb::WorkItemState::Assigned as i32,
            rpb::WorkItemState::Accepted as i32,
        ]
    } else {
        request.states
    };
    let answer = ctx
        .upstream
        .routing()
        .list_work_items(scope.req(rpb::ListWorkItemsRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            states,
            assignee_agent_id,
            kind: request.kind,
            external_ref: String::new(),
        }))
        .await?
        .into_inner();
    Ok(pb::ListWorkItemsResponse {
        work_items: answer.work_items,
        page: answer.page,
    })
}

pub async fn accept_work_item(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::AcceptWorkItemRequest,
) -> Result<pb::AcceptWorkItemResponse, Status> {
    let answer = ctx
        .upstream
        .routing()
        .accept_work_item(scope.req(rpb::AcceptWorkItemRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            work_item_id: request.work_item_id,
        }))
        .await?
        .into_inner();
    Ok(pb::AcceptWorkItemResponse {
        work_item: answer.work_item,
    })
}

pub async fn complete_work_item(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CompleteWorkItemRequest,
) -> Result<pb::CompleteWorkItemResponse, Status> {
    let answer = ctx
        .upstream
        .routing()
        .complete_work_item(scope.req(rpb::CompleteWorkItemRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            work_item_id: request.work_item_id,
            outcome: request.outcome,
        }))
        .await?
        .into_inner();
    Ok(pb::CompleteWorkItemResponse {
        work_item: answer.work_item,
    })
}
