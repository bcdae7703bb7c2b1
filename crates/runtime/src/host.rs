//! What every service does around its own logic: open (and on SQLite migrate) its storage, run
//! its outbox relay, serve gRPC with readiness tracking, and stop in order on shutdown.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::{
    Infra, Service, db,
    outbox::{Relay, RelayWaker},
};

/// The sockets a service serves on, bound by the caller (tests pass `127.0.0.1:0`).
pub struct Listeners {
    /// The gRPC listener.
    pub grpc: TcpListener,
    /// The HTTP listener (the channel's webhook endpoint); `None` for other services.
    pub http: Option<TcpListener>,
}

/// Connects `service` to its storage and applies migrations when the store is SQLite (the
/// embedded default) or `database.migrate_on_start` is set.
pub async fn open_storage<M: MigratorTrait>(
    infra: &Infra,
    service: Service,
) -> anyhow::Result<DatabaseConnection> {
    let settings = &infra.settings.database;
    let conn = db::connect(settings, service)
        .await
        .map_err(|e| anyhow::anyhow!("{service}: cannot open storage: {e}"))?;
    if settings.url.starts_with("sqlite:") || settings.migrate_on_start {
        db::migrate::<M>(&conn)
            .await
            .map_err(|e| anyhow::anyhow!("{service}: migrations failed: {e}"))?;
    }
    Ok(conn)
}

/// A running outbox relay.
pub struct OutboxWorker {
    waker: RelayWaker,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl OutboxWorker {
    /// Starts relaying `service`'s outbox in `db` to the process's bus.
    pub fn start(infra: &Infra, service: Service, db: DatabaseConnection) -> Self {
        let settings = &infra.settings.outbox;
        let relay = Relay::new(
            db,
            infra.bus.clone(),
            settings.batch_size,
            Duration::from_millis(settings.poll_interval_ms),
        )
        .with_metrics(&infra.metrics, service.name());
        let waker = relay.waker();
        let stop = CancellationToken::new();
        let task = tokio::spawn(relay.run(stop.clone()));
        Self { waker, stop, task }
    }

    /// Wakes the relay after a commit.
    pub fn waker(&self) -> RelayWaker {
        self.waker.clone()
    }

    /// Stops the relay (an unfinished pass is abandoned; its events are relayed on the next
    /// start, after their lease).
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Serves `routes` until shutdown, keeping health NOT_SERVING while the database or Redis does
/// not answer, then stops `outbox` (after the last in-flight call committed).
pub async fn serve(
    infra: &Infra,
    service: Service,
    listener: TcpListener,
    routes: Routes,
    db: Option<DatabaseConnection>,
    outbox: Option<OutboxWorker>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let checks = crate::grpc::Readiness {
        db,
        redis: infra.redis.clone(),
    };
    let grace = Duration::from_secs(infra.settings.server.shutdown_grace_secs);
    let edge = if service == Service::Gateway {
        let gateway = &infra.settings.gateway;
        crate::grpc::Edge::public(
            &gateway.cors.allowed_origins,
            Duration::from_secs(gateway.limits.http2_keepalive_secs),
            crate::conn::Timeouts {
                idle: Some(Duration::from_secs(gateway.limits.idle_timeout_secs)),
                first_request: Some(Duration::from_secs(
                    gateway.limits.first_request_timeout_secs,
                )),
            },
        )
    } else {
        crate::grpc::Edge::default()
    };
    let result = crate::grpc::serve(
        service,
        listener,
        routes,
        checks,
        &infra.metrics,
        shutdown,
        crate::grpc::Serving { grace, edge },
    )
    .await;
    if let Some(outbox) = outbox {
        outbox.stop().await;
    }
    result
}

/// The service's replay store for mutating calls (`idempotent_calls` in its storage), with
/// an upkeep task forgetting expired keys every 10 minutes until `shutdown`.
pub fn idempotent_calls(
    infra: &Infra,
    db: &DatabaseConnection,
    shutdown: &CancellationToken,
) -> crate::idempotency::calls::Calls {
    let calls = crate::idempotency::calls::Calls::new(db.clone(), infra.clock.clone());
    calls.keep_forgetting(Duration::from_secs(600), shutdown.clone());
    calls
}

/// Starts [`db::keep_vacuumed`] for `service`'s `hot_tables` on `db` with the configured
/// interval; it stops with `shutdown`.
pub fn keep_vacuumed(
    infra: &Infra,
    db: &DatabaseConnection,
    service: Service,
    hot_tables: &'static [&'static str],
    shutdown: &CancellationToken,
) {
    tokio::spawn(db::keep_vacuumed(
        db.clone(),
        hot_tables,
        Duration::from_secs(infra.settings.database.vacuum_interval_secs),
        infra.metrics.clone(),
        service,
        shutdown.clone(),
    ));
}
