//! The channel service: WhatsApp numbers, contacts, messages, the webhook endpoint (HTTP) and
//! outbound sends. This crate is the library behind `switchboard serve --target channel`.
//! Its RPCs answer UNIMPLEMENTED and the webhook route is absent until the channel issue lands;
//! storage, the outbox relay, health, reflection and the HTTP server (probes) are in place.

pub mod domain;
pub mod graph;
pub mod http;
pub mod migration;

use switchboard_proto::channel::v1::channel_service_server::{
    ChannelService, ChannelServiceServer,
};
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners, OutboxWorker},
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Channel;

/// Runs the channel service (gRPC and the webhook HTTP server) until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let http_listener = listeners
        .http
        .ok_or_else(|| anyhow::anyhow!("the channel service needs an HTTP listener"))?;
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    let outbox = OutboxWorker::start(&infra, db.clone());
    let http = tokio::spawn(http::serve(http_listener, db.clone(), shutdown.clone()));
    let routes = tonic::service::Routes::new(ChannelServiceServer::new(ChannelGrpc));
    let grpc = host::serve(
        &infra,
        SERVICE,
        listeners.grpc,
        routes,
        Some(db),
        Some(outbox),
        shutdown,
    )
    .await;
    let http = http.await.map_err(anyhow::Error::from).and_then(|r| r);
    grpc.and(http)
}

/// `switchboard.channel.v1.ChannelService` (every RPC UNIMPLEMENTED for now).
pub struct ChannelGrpc;

impl ChannelService for ChannelGrpc {}
