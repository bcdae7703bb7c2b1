//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.
//! Every mutating RPC runs through the runtime's replay store (`replay!`): a retry with the same
//! request_id gets the first answer; another body under the same key is INVALID_ARGUMENT.

pub mod convert;
mod webhooks;

use switchboard_proto::integrations::v1::{
    self as pb, integrations_service_server::IntegrationsService,
};
use switchboard_runtime::{idempotency::calls::Calls, ids::AgentId, replay, validate::Check};
use tokio_stream::{StreamExt as _, wrappers::ReceiverStream};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::{
    app::{Integrations, feed::Start},
    domain::{self, Topics, cursor::Cursor},
};

/// `switchboard.integrations.v1.IntegrationsService`.
pub struct IntegrationsGrpc {
    app: Integrations,
    calls: Calls,
    shutdown: CancellationToken,
}

impl IntegrationsGrpc {
    pub fn new(app: Integrations, calls: Calls, shutdown: CancellationToken) -> Self {
        Self {
            app,
            calls,
            shutdown,
        }
    }
}

/// Runs a read-only RPC body and maps its domain error to a status.
macro_rules! rpc {
    ($self:ident, $module:ident :: $method:ident, $request:ident) => {
        $module::$method(&$self.app, $request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    };
}

/// Feed topics named by a request (each must be one the feed carries).
pub(crate) fn topics(c: &mut Check, field: &str, values: &[String]) -> Topics {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in values.iter().enumerate() {
        let t = t.trim();
        if !domain::is_feed_topic(t) {
            c.bad(
                &format!("{field}[{i}]"),
                format!(
                    "not a feed topic; expected one of {}",
                    domain::FEED_TOPICS.join(", ")
                ),
            );
        } else if !out.iter().any(|x| x == t) {
            out.push(t.to_string());
        }
    }
    Topics(out)
}

/// The stream of StreamEvents.
pub type FeedStream = tonic::codegen::BoxStream<pb::FeedEvent>;

#[tonic::async_trait]
impl IntegrationsService for IntegrationsGrpc {
    #[tracing::instrument(name = "integrations.StreamEvents", skip_all)]
    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> Result<Response<FeedStream>, Status> {
        let r = request.into_inner();
        let mut c = Check::new();
        let org = c.org(&r.organization_id);
        let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
        let topics = topics(&mut c, "topics", &r.topics);
        let start = if r.cursor.trim().is_empty() {
            if r.from_oldest {
                Start::Oldest
            } else {
                Start::Now
            }
        } else {
            match Cursor::decode(&r.cursor) {
                Ok(cursor) => Start::After(cursor),
                Err(e) => {
                    c.bad("cursor", e.to_string());
                    Start::Now
                }
            }
        };
        c.done()?;
        let (org, actor) = (org.expect("validated"), actor.expect("validated"));
        self.app.require_reader(&org, &actor).await?;
        let after = self.app.start_after(&org, start).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        tokio::spawn(
            self.app
                .clone()
                .stream(org, after, topics, tx, self.shutdown.clone()),
        );
        let stream = ReceiverStream::new(rx)
            .map(|item| item.map(|e| convert::feed_event(&e)).map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }

    #[tracing::instrument(name = "integrations.CreateWebhookEndpoint", skip_all)]
    async fn create_webhook_endpoint(
        &self,
        request: Request<pb::CreateWebhookEndpointRequest>,
    ) -> Result<Response<pb::CreateWebhookEndpointResponse>, Status> {
        replay!(
            self,
            webhooks::create_webhook_endpoint,
            request,
            "CreateWebhookEndpoint"
        )
    }

    #[tracing::instrument(name = "integrations.ListWebhookEndpoints", skip_all)]
    async fn list_webhook_endpoints(
        &self,
        request: Request<pb::ListWebhookEndpointsRequest>,
    ) -> Result<Response<pb::ListWebhookEndpointsResponse>, Status> {
        rpc!(self, webhooks::list_webhook_endpoints, request)
    }

    #[tracing::instrument(name = "integrations.GetWebhookEndpoint", skip_all)]
    async fn get_webhook_endpoint(
        &self,
        request: Request<pb::GetWebhookEndpointRequest>,
    ) -> Result<Response<pb::GetWebhookEndpointResponse>, Status> {
        rpc!(self, webhooks::get_webhook_endpoint, request)
    }

    #[tracing::instrument(name = "integrations.UpdateWebhookEndpoint", skip_all)]
    async fn update_webhook_endpoint(
        &self,
        request: Request<pb::UpdateWebhookEndpointRequest>,
    ) -> Result<Response<pb::UpdateWebhookEndpointResponse>, Status> {
        replay!(
            self,
            webhooks::update_webhook_endpoint,
            request,
            "UpdateWebhookEndpoint"
        )
    }

    #[tracing::instrument(name = "integrations.DeleteWebhookEndpoint", skip_all)]
    async fn delete_webhook_endpoint(
        &self,
        request: Request<pb::DeleteWebhookEndpointRequest>,
    ) -> Result<Response<pb::DeleteWebhookEndpointResponse>, Status> {
        replay!(
            self,
            webhooks::delete_webhook_endpoint,
            request,
            "DeleteWebhookEndpoint"
        )
    }

    #[tracing::instrument(name = "integrations.RotateWebhookEndpointSecret", skip_all)]
    async fn rotate_webhook_endpoint_secret(
        &self,
        request: Request<pb::RotateWebhookEndpointSecretRequest>,
    ) -> Result<Response<pb::RotateWebhookEndpointSecretResponse>, Status> {
        replay!(
            self,
            webhooks::rotate_webhook_endpoint_secret,
            request,
            "RotateWebhookEndpointSecret"
        )
    }

    #[tracing::instrument(name = "integrations.ListWebhookDeliveries", skip_all)]
    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        rpc!(self, webhooks::list_webhook_deliveries, request)
    }

    #[tracing::instrument(name = "integrations.ReplayWebhookDelivery", skip_all)]
    async fn replay_webhook_delivery(
        &self,
        request: Request<pb::ReplayWebhookDeliveryRequest>,
    ) -> Result<Response<pb::ReplayWebhookDeliveryResponse>, Status> {
        replay!(
            self,
            webhooks::replay_webhook_delivery,
            request,
            "ReplayWebhookDelivery"
        )
    }
}
