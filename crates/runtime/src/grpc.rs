//! Serving a service over gRPC the same way everywhere: health (overall and per service),
//! reflection v1 and v1alpha, gRPC-Web, a trace span per request continuing the caller's trace,
//! and SIGTERM → NOT_SERVING → drain within the grace period.

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{service::Routes, transport::Server};
use tonic_health::ServingStatus;

use crate::Service;

/// Binds `host:port` (port 0 picks a free one).
pub async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    let addr: SocketAddr = format!("{host}:{port}").parse()?;
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind {addr}: {e}"))
}

/// Serves `routes` (the service's own gRPC services) on `listener` until `shutdown` fires, then
/// reports NOT_SERVING, stops accepting and lets in-flight calls finish for up to `grace`.
pub async fn serve(
    service: Service,
    listener: TcpListener,
    routes: Routes,
    readiness: Readiness,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let first = readiness.check().await;
    set_status(&reporter, service, first.is_ok()).await;
    if let Err(reason) = &first {
        tracing::warn!(%service, %reason, "not ready at start");
    }
    let watcher = tokio::spawn(watch_readiness(
        readiness,
        reporter.clone(),
        service,
        first.is_ok(),
        shutdown.clone(),
    ));

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(switchboard_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(service.grpc_name())
        .with_service_name("grpc.health.v1.Health")
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(switchboard_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(service.grpc_name())
        .with_service_name("grpc.health.v1.Health")
        .build_v1alpha()?;

    let local = listener.local_addr()?;
    let incoming = tokio_stream_listener(listener);
    let drain_started = CancellationToken::new();
    let signal = {
        let shutdown = shutdown.clone();
        let reporter = reporter.clone();
        let drain_started = drain_started.clone();
        async move {
            shutdown.cancelled().await;
            set_status(&reporter, service, false).await;
            tracing::info!(%service, "not serving; draining in-flight calls");
            drain_started.cancel();
        }
    };

    let server = Server::builder()
        .accept_http1(true)
        .trace_fn(crate::telemetry::grpc_server_span)
        .layer(tonic_web::GrpcWebLayer::new())
        .add_routes(routes)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, signal);
    tracing::debug!(%service, %local, "grpc server started");

    tokio::pin!(server);
    let _stop_watcher = AbortOnDrop(watcher);
    tokio::select! {
        res = &mut server => res?,
        _ = async {
            drain_started.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(%service, grace_secs = grace.as_secs(), "drain took longer than the grace period; closing");
        }
    }
    Ok(())
}

fn tokio_stream_listener(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let res = listener.accept().await.map(|(stream, _)| {
            let _ = stream.set_nodelay(true);
            stream
        });
        Some((res, listener))
    })
}

/// What a service needs to answer before it reports SERVING.
pub struct Readiness {
    pub db: Option<sea_orm::DatabaseConnection>,
    pub redis: Option<redis::aio::ConnectionManager>,
}

impl Readiness {
    /// Ok when every dependency answers; otherwise which one does not.
    pub async fn check(&self) -> Result<(), String> {
        if let Some(db) = &self.db
            && !crate::db::ping(db).await
        {
            return Err("database does not answer".into());
        }
        if let Some(redis) = &self.redis {
            let mut conn = redis.clone();
            let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
            if pong.is_err() {
                return Err("redis does not answer".into());
            }
        }
        Ok(())
    }
}

async fn set_status(reporter: &tonic_health::server::HealthReporter, service: Service, up: bool) {
    let status = if up {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    reporter.set_service_status("", status).await;
    reporter
        .set_service_status(service.grpc_name(), status)
        .await;
}

/// Re-checks readiness every few seconds and flips health when it changes.
async fn watch_readiness(
    readiness: Readiness,
    reporter: tonic_health::server::HealthReporter,
    service: Service,
    mut up: bool,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let now = readiness.check().await;
        if now.is_ok() != up && !shutdown.is_cancelled() {
            up = now.is_ok();
            match &now {
                Ok(()) => tracing::info!(%service, "dependencies answer again; serving"),
                Err(reason) => tracing::warn!(%service, %reason, "not ready"),
            }
            set_status(&reporter, service, up).await;
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
