//! Integrations: the organization's event feed and its outgoing webhooks, forwarded to the
//! integrations service with the caller as actor (it checks the roles: operators and admins
//! read, admins write). The feed stream holds one of the caller's stream slots while it runs.

use switchboard_proto::{gateway::v1 as pb, integrations::v1 as ipb};
use tokio_stream::StreamExt as _;
use tonic::Status;

use super::{Ctx, Scope};

/// The stream of StreamFeedEvents.
pub type FeedStream = tonic::codegen::BoxStream<pb::StreamFeedEventsResponse>;

pub async fn stream_feed_events(
    ctx: &Ctx,
    scope: Scope,
    request: pb::StreamFeedEventsRequest,
) -> Result<FeedStream, Status> {
    scope.caller.require_supervisor("reading the event feed")?;
    let permit = ctx.limits.stream_permit(&scope.me())?;
    // No deadline: the stream lasts as long as the client keeps it.
    let upstream = ctx
        .upstream
        .integrations()
        .stream_events(ipb::StreamEventsRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            cursor: request.cursor,
            topics: request.topics,
            from_oldest: request.from_oldest,
        })
        .await?
        .into_inner();
    let stream = upstream.map(move |item| {
        // The caller's stream slot is released when the stream is dropped.
        let _held = &permit;
        item.map(|event| pb::StreamFeedEventsResponse { event: Some(event) })
    });
    Ok(Box::pin(stream))
}

pub async fn create_webhook_endpoint(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::CreateWebhookEndpointRequest,
) -> Result<pb::CreateWebhookEndpointResponse, Status> {
    let answer = ctx
        .upstream
        .integrations()
        .create_webhook_endpoint(scope.req(ipb::CreateWebhookEndpointRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            endpoint: request.endpoint,
        }))
        .await?
        .into_inner();
    Ok(pb::CreateWebhookEndpointResponse {
        endpoint: answer.endpoint,
        secret: answer.secret,
    })
}

pub async fn list_webhook_endpoints(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListWebhookEndpointsRequest,
) -> Result<pb::ListWebhookEndpointsResponse, Status> {
    let answer = ctx
        .upstream
        .integrations()
        .list_webhook_endpoints(scope.req(ipb::ListWebhookEndpointsRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            page: ctx.limits.page(request.page),
        }))
        .await?
        .into_inner();
    Ok(pb::ListWebhookEndpointsResponse {
        endpoints: answer.endpoints,
        page: answer.page,
    })
}

pub async fn get_webhook_endpoint(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetWebhookEndpointRequest,
) -> Result<pb::GetWebhookEndpointResponse, Status> {
    let answer = ctx
        .upstream
        .integrations()
        .get_webhook_endpoint(scope.req(ipb::GetWebhookEndpointRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            endpoint_id: request.endpoint_id,
        }))
        .await?
        .into_inner();
    Ok(pb::GetWebhookEndpointResponse {
        endpoint: answer.endpoint,
    })
}

pub async fn update_webhook_endpoint(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UpdateWebhookEndpointRequest,
) -> Result<pb::UpdateWebhookEndpointResponse, Status> {
    let answer = ctx
        .upstream
        .integrations()
        .update_webhook_endpoint(scope.req(ipb::UpdateWebhookEndpointRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            endpoint: request.endpoint,
            update_mask: request.update_mask,
        }))
        .await?
        .into_inner();
    Ok(pb::UpdateWebhookEndpointResponse {
        endpoint: answer.endpoint,
    })
}

pub async fn delete_webhook_endpoint(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::DeleteWebhookEndpointRequest,
) -> Result<pb::DeleteWebhookEndpointResponse, Status> {
    ctx.upstream
        .integrations()
        .delete_webhook_endpoint(scope.req(ipb::DeleteWebhookEndpointRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            endpoint_id: request.endpoint_id,
        }))
        .await?;
    Ok(pb::DeleteWebhookEndpointResponse {})
}

pub async fn rotate_webhook_endpoint_secret(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::RotateWebhookEndpointSecretRequest,
) -> Result<pb::RotateWebhookEndpointSecretResponse, Status> {
    let answer = ctx
        .upstream
        .integrations()
        .rotate_webhook_endpoint_secret(scope.req(ipb::RotateWebhookEndpointSecretRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            endpoint_id: request.endpoint_id,
        }))
        .await?
        .into_inner();
    Ok(pb::RotateWebhookEndpointSecretResponse {
        secret: answer.secret,
    })
}

pub async fn list_webhook_deliveries(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListWebhookDeliveriesRequest,
) -> Result<pb::ListWebhookDeliveriesResponse, Status> {
    let answer = ctx
        .upstream
        .integrations()
        .list_webhook_deliveries(scope.req(ipb::ListWebhookDeliveriesRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            endpoint_id: request.endpoint_id,
            status: request.status,
            page: ctx.limits.page(request.page),
        }))
        .await?
        .into_inner();
    Ok(pb::ListWebhookDeliveriesResponse {
        deliveries: answer.deliveries,
        page: answer.page,
    })
}

pub async fn replay_webhook_delivery(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ReplayWebhookDeliveryRequest,
) -> Result<pb::ReplayWebhookDeliveryResponse, Status> {
    let answer = ctx
        .upstream
        .integrations()
        .replay_webhook_delivery(scope.req(ipb::ReplayWebhookDeliveryRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            delivery_id: request.delivery_id,
        }))
        .await?
        .into_inner();
    Ok(pb::ReplayWebhookDeliveryResponse {
        delivery: answer.delivery,
    })
}
