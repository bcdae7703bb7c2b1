//! The integrations service: an ordered, resumable event feed per organization for other
//! systems (`StreamEvents`), and outgoing webhooks with Standard Webhooks signatures, retries
//! and a delivery log. This crate is the library behind `switchboard serve --target
//! integrations`. See docs/integrations.md.

pub mod app;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod migration;
pub mod store;

use std::sync::Arc;

use switchboard_proto::integrations::v1::integrations_service_server::IntegrationsServiceServer;
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners, OutboxWorker},
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Integrations;

/// The consumer groups integrations reads; declared on the bus before any service starts so no
/// event is published before its group exists.
pub const CONSUMER_GROUPS: &[switchboard_runtime::bus::ConsumerGroup] =
    &[app::consumers::FEED_EVENTS];

/// Runs the integrations service on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    host::keep_vacuumed(&infra, &db, SERVICE, migration::HOT_TABLES, &shutdown);
    // Integrations publishes no events of its own; the relay hands back dead letters an SRE
    // replays (`switchboard dead-letters replay` writes them to this outbox).
    let outbox = OutboxWorker::start(&infra, SERVICE, db.clone());
    let app = app::Integrations::new(
        store::Store::new(db.clone()),
        Arc::new(app::directory::RoutingDirectory::new(
            infra.endpoints.clone(),
        )),
        infra.clock.clone(),
        app::IntegrationsMetrics::new(&infra.metrics),
        infra.settings.integrations.clone(),
    )?;
    // Workers stop after the server drained (in-flight calls may still append or dispatch).
    let workers = CancellationToken::new();
    let consumers = tokio::spawn(app.clone().run_consumers(
        infra.bus.clone(),
        infra.metrics.clone(),
        format!(
            "integrations-{}",
            switchboard_runtime::ids::EventId::generate()
        ),
        switchboard_runtime::dead_letters::DeadLetterPolicy::new(
            db.clone(),
            infra.settings.outbox.dead_letter_after_attempts,
        ),
        shutdown.clone(),
    ));
    let dispatcher = tokio::spawn(app.clone().run_dispatcher(workers.clone()));
    let trimmer = tokio::spawn(app.clone().keep_trimming(workers.clone()));
    let routes =
        tonic::service::Routes::new(IntegrationsServiceServer::new(grpc::IntegrationsGrpc::new(
            app,
            host::idempotent_calls(&infra, &db, &shutdown),
            shutdown.clone(),
        )));
    let result = host::serve(
        &infra,
        SERVICE,
        listeners.grpc,
        routes,
        Some(db),
        Some(outbox),
        shutdown,
    )
    .await;
    workers.cancel();
    let _ = tokio::join!(consumers, dispatcher, trimmer);
    result
}
