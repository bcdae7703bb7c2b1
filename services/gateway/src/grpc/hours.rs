//! Business hours and automatic messages (both kept by routing): operators and admins read
//! them, admins change them. Routing checks the roles from the actor (the caller); the
//! reads are checked here too, so an agent is refused before any internal call.

use switchboard_proto::{gateway::v1 as pb, routing::v1 as rpb};
use tonic::Status;

use super::{Ctx, Scope};

pub async fn get_business_hours(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetBusinessHoursRequest,
) -> Result<pb::GetBusinessHoursResponse, Status> {
    scope.caller.require_supervisor("GetBusinessHours")?;
    let answer = ctx
        .upstream
        .routing()
        .get_business_hours(scope.req(rpb::GetBusinessHoursRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            channel_account_id: request.channel_account_id,
        }))
        .await?
        .into_inner();
    Ok(pb::GetBusinessHoursResponse {
        business_hours: answer.business_hours,
        effective: answer.effective,
        source: answer.source,
    })
}

pub async fn update_business_hours(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateBusinessHoursRequest,
) -> Result<pb::UpdateBusinessHoursResponse, Status> {
    let answer = ctx
        .upstream
        .routing()
        .update_business_hours(scope.req(rpb::UpdateBusinessHoursRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            channel_account_id: request.channel_account_id,
            business_hours: request.business_hours,
        }))
        .await?
        .into_inner();
    Ok(pb::UpdateBusinessHoursResponse {
        business_hours: answer.business_hours,
    })
}

pub async fn get_automatic_messages(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetAutomaticMessagesRequest,
) -> Result<pb::GetAutomaticMessagesResponse, Status> {
    scope.caller.require_supervisor("GetAutomaticMessages")?;
    let answer = ctx
        .upstream
        .routing()
        .get_automatic_messages(scope.req(rpb::GetAutomaticMessagesRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            channel_account_id: request.channel_account_id,
        }))
        .await?
        .into_inner();
    Ok(pb::GetAutomaticMessagesResponse {
        automatic_messages: answer.automatic_messages,
    })
}

pub async fn update_automatic_messages(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateAutomaticMessagesRequest,
) -> Result<pb::UpdateAutomaticMessagesResponse, Status> {
    let answer = ctx
        .upstream
        .routing()
        .update_automatic_messages(scope.req(rpb::UpdateAutomaticMessagesRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            automatic_messages: request.automatic_messages,
        }))
        .await?
        .into_inner();
    Ok(pb::UpdateAutomaticMessagesResponse {
        automatic_messages: answer.automatic_messages,
    })
}
