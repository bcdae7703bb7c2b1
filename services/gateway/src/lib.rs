//! The gateway: the public API (agents, admins, inbox views, the live inbox stream, gRPC-Web).
//! It owns nothing durable. This crate is the library behind `switchboard serve --target gateway`.
//! Its RPCs answer UNIMPLEMENTED until the issues behind them land; health, reflection and
//! gRPC-Web are in place.

use switchboard_proto::gateway::v1::gateway_service_server::{
    GatewayService, GatewayServiceServer,
};
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners},
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Gateway;

/// Runs the gateway on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let routes = tonic::service::Routes::new(GatewayServiceServer::new(GatewayGrpc));
    host::serve(
        &infra,
        SERVICE,
        listeners.grpc,
        routes,
        None,
        None,
        shutdown,
    )
    .await
}

/// `switchboard.gateway.v1.GatewayService` (every RPC UNIMPLEMENTED for now).
pub struct GatewayGrpc;

impl GatewayService for GatewayGrpc {}
