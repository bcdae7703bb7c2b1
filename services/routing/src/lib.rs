//! The routing service: teams, rules, conversations and their lifecycle. This crate is the
//! library behind `switchboard serve --target routing`.

pub mod app;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod migration;
pub mod store;

use switchboard_proto::routing::v1::routing_service_server::RoutingServiceServer;
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners, OutboxWorker},
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Routing;

/// Runs the routing service on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    let outbox = OutboxWorker::start(&infra, db.clone());
    let store = store::Store::new(db.clone(), outbox.waker());
    let app = app::Routing::new(
        store,
        app::PresenceClient::new(infra.endpoints.clone()),
        infra.clock.clone(),
        infra.settings.routing.conversation_ttl_secs as i64 * 1000,
    );
    let routes =
        tonic::service::Routes::new(RoutingServiceServer::new(grpc::RoutingGrpc::new(app)));
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
