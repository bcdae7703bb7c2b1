//! The gateway: the public API (agents, admins, inbox views, the live inbox stream, gRPC-Web).
//! It owns nothing durable. Every call is authenticated (a bearer JWT), scoped to the
//! organization of `x-switchboard-organization` and forwarded to the internal services with the
//! caller as actor. This crate is the library behind `switchboard serve --target gateway`.
//!
//! Layout: `auth` (tokens, JWKS), `caller` (tenancy: subject → agent), `limits`, `upstream`
//! (internal clients, deadlines), `context` (what every RPC starts with), `grpc` (one module
//! per section of the proto).

pub mod auth;
pub mod caller;
pub mod context;
pub mod directory;
pub mod grpc;
pub mod limits;
pub mod size;
pub mod upstream;

use std::sync::Arc;

use switchboard_proto::gateway::v1::gateway_service_server::GatewayServiceServer;
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners},
};
use tokio_util::sync::CancellationToken;

pub use auth::dev_token;

/// This service.
pub const SERVICE: Service = Service::Gateway;

/// Runs the gateway on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let max_request = infra.settings.gateway.limits.max_request_bytes;
    let ctx = Arc::new(context::Ctx::new(infra.clone())?);
    ctx.bindings.keep_fresh(infra.bus.clone(), shutdown.clone());
    // tonic's own decoder limit stays as a backstop (a compressed message can grow on decoding).
    let service = GatewayServiceServer::new(grpc::GatewayGrpc::new(ctx))
        .max_decoding_message_size(max_request)
        .max_encoding_message_size(16 * 1024 * 1024);
    let routes = tonic::service::Routes::new(size::MaxRequest::new(service, max_request));
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
