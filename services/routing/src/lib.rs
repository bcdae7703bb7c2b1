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

/// The consumer groups routing reads; declared on the bus before any service starts so no
/// event is published before its group exists.
pub const CONSUMER_GROUPS: &[switchboard_runtime::bus::ConsumerGroup] = &[
    app::events::PRESENCE_EVENTS,
    app::tickets::TICKET_EVENTS,
    app::channel_routing::ACCOUNT_EVENTS,
    app::automations::AUTOMATIONS,
];

/// Runs the routing service on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    host::keep_vacuumed(&infra, &db, SERVICE, migration::HOT_TABLES, &shutdown);
    let outbox = OutboxWorker::start(&infra, SERVICE, db.clone());
    let store = store::Store::new(db.clone(), outbox.waker());
    let app = app::Routing::new(
        store,
        app::PresenceClient::new(infra.endpoints.clone()),
        std::sync::Arc::new(app::channel::ChannelClient::new(infra.endpoints.clone())),
        std::sync::Arc::new(app::tickets::TicketingClient::new(infra.endpoints.clone())),
        infra.clock.clone(),
        infra.settings.routing.conversation_ttl_secs as i64 * 1000,
        app::RoutingMetrics::new(&infra.metrics),
    );
    let sweeper = tokio::spawn(app.clone().run_sweeper(
        std::time::Duration::from_millis(infra.settings.routing.sweep_interval_ms),
        shutdown.clone(),
    ));
    let consumers: Vec<_> = CONSUMER_GROUPS
        .iter()
        .map(|group| {
            tokio::spawn(app.clone().run_consumer(
                *group,
                infra.bus.clone(),
                infra.metrics.clone(),
                format!("routing-{}", switchboard_runtime::ids::EventId::generate()),
                switchboard_runtime::dead_letters::DeadLetterPolicy::new(
                    db.clone(),
                    infra.settings.outbox.dead_letter_after_attempts,
                ),
                shutdown.clone(),
            ))
        })
        .collect();
    let routes = tonic::service::Routes::new(RoutingServiceServer::new(grpc::RoutingGrpc::new(
        app,
        host::idempotent_calls(&infra, &db, &shutdown),
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
    let _ = sweeper.await;
    for consumer in consumers {
        let _ = consumer.await;
    }
    result
}
