//! The ticketing service. This crate is the library behind `switchboard serve --target ticketing`.
//! Its RPCs answer UNIMPLEMENTED until the ticketing issue implements them; storage, the outbox relay,
//! health and reflection are in place.

pub mod migration;

use switchboard_proto::ticketing::v1::ticketing_service_server::{
    TicketingService, TicketingServiceServer,
};
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners, OutboxWorker},
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Ticketing;

/// Runs the ticketing service on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    let outbox = OutboxWorker::start(&infra, SERVICE, db.clone());
    let routes = tonic::service::Routes::new(TicketingServiceServer::new(TicketingGrpc));
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

/// `switchboard.ticketing.v1.TicketingService` (every RPC UNIMPLEMENTED for now).
pub struct TicketingGrpc;

impl TicketingService for TicketingGrpc {}
