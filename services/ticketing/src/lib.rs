//! The ticketing service: tickets with per-organization numbers, their action history and
//! search, conversation links and proposals, the close-requires-a-ticket policy, and the
//! conversation history appended exactly once. This crate is the library behind
//! `switchboard serve --target ticketing`.

pub mod app;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod migration;
pub mod store;

use std::sync::Arc;

use switchboard_proto::ticketing::v1::ticketing_service_server::TicketingServiceServer;
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners, OutboxWorker},
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Ticketing;

/// The consumer groups ticketing reads; declared on the bus before any service starts so no
/// event is published before its group exists.
pub const CONSUMER_GROUPS: &[switchboard_runtime::bus::ConsumerGroup] = &[
    app::consumers::MESSAGE_EVENTS,
    app::consumers::CONVERSATION_EVENTS,
];

/// Runs the ticketing service on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    host::keep_vacuumed(&infra, &db, SERVICE, migration::HOT_TABLES, &shutdown);
    let outbox = OutboxWorker::start(&infra, SERVICE, db.clone());
    let app = app::Ticketing::new(
        store::Store::new(db.clone(), outbox.waker()),
        Arc::new(app::directory::RoutingDirectory::new(
            infra.endpoints.clone(),
        )),
        Arc::new(app::channel::ChannelMessages::new(infra.endpoints.clone())),
        infra.clock.clone(),
        app::TicketingMetrics::new(&infra.metrics),
    );
    let consumers = tokio::spawn(app.clone().run_consumers(
        infra.bus.clone(),
        infra.metrics.clone(),
        format!(
            "ticketing-{}",
            switchboard_runtime::ids::EventId::generate()
        ),
        switchboard_runtime::dead_letters::DeadLetterPolicy::new(
            db.clone(),
            infra.settings.outbox.dead_letter_after_attempts,
        ),
        shutdown.clone(),
    ));
    let routes = tonic::service::Routes::new(TicketingServiceServer::new(
        grpc::TicketingGrpc::new(app, host::idempotent_calls(&infra, &db, &shutdown)),
    ));
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
    let _ = consumers.await;
    result
}
