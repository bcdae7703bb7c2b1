//! The presence service. This crate is the library behind `switchboard serve --target presence`.
//! Its RPCs answer UNIMPLEMENTED until the presence issue implements them; storage, the outbox relay,
//! health and reflection are in place.

pub mod migration;

use switchboard_proto::presence::v1::presence_service_server::{
    PresenceService, PresenceServiceServer,
};
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners, OutboxWorker},
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Presence;

/// Runs the presence service on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    let outbox = OutboxWorker::start(&infra, db.clone());
    let routes = tonic::service::Routes::new(PresenceServiceServer::new(PresenceGrpc));
    host::serve(
        &infra,
        SERVICE,
        listeners.grpc,
        routes,
        Some(db),
        Some(outbox),
        shutdown,
    )
    .await
}

/// `switchboard.presence.v1.PresenceService` (every RPC UNIMPLEMENTED for now).
pub struct PresenceGrpc;

impl PresenceService for PresenceGrpc {}
