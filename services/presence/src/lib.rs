//! The presence service: live agent availability and load, and atomic slot reservation that
//! never exceeds capacity. Redis in clusters, process memory in the embedded default. This crate
//! is the library behind `switchboard serve --target presence`.

pub mod app;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod migration;
pub mod store;

use std::{sync::Arc, time::Duration};

use switchboard_proto::presence::v1::presence_service_server::PresenceServiceServer;
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners, OutboxWorker},
};
use tokio_util::sync::CancellationToken;

use crate::store::{PresenceStore, memory::MemoryStore, redis::RedisStore};

/// This service.
pub const SERVICE: Service = Service::Presence;

/// The live store the settings ask for: Redis when `redis.url` is set, memory otherwise.
pub fn live_store(infra: &Infra) -> Arc<dyn PresenceStore> {
    match &infra.redis {
        Some(conn) => Arc::new(
            RedisStore::new(conn.clone(), &infra.settings.redis.key_prefix)
                .with_clock(infra.clock.clone()),
        ),
        None => Arc::new(MemoryStore::new()),
    }
}

/// Runs the presence service on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    host::keep_vacuumed(&infra, &db, SERVICE, migration::HOT_TABLES, &shutdown);
    let outbox = OutboxWorker::start(&infra, SERVICE, db.clone());
    let ttl = Duration::from_secs(infra.settings.presence.heartbeat_ttl_secs);
    let store_kind = if infra.redis.is_some() {
        "redis"
    } else {
        "memory"
    };
    let presence = app::Presence::new(
        live_store(&infra),
        db.clone(),
        outbox.waker(),
        infra.clock.clone(),
        ttl,
        metrics::PresenceMetrics::new(&infra.metrics, store_kind),
    );
    let sweeper = tokio::spawn(presence.clone().run_sweeper(
        (ttl / 4).clamp(Duration::from_millis(200), Duration::from_secs(5)),
        shutdown.clone(),
    ));
    let routes = tonic::service::Routes::new(PresenceServiceServer::new(grpc::PresenceGrpc::new(
        presence,
        infra.bus.clone(),
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
    result
}
