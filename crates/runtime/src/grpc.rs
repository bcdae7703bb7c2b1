//! Serving a service over gRPC the same way everywhere: health (overall and per service),
//! reflection v1 and v1alpha, gRPC-Web, a trace span per request continuing the caller's trace,
//! request metrics ([`MetricsLayer`]), and SIGTERM → NOT_SERVING → drain within the grace period.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::LazyLock,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{service::Routes, transport::Server};
use tonic_health::ServingStatus;

use crate::{Service, metrics::Metrics};

/// Binds `host:port` (port 0 picks a free one).
pub async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    let addr: SocketAddr = format!("{host}:{port}").parse()?;
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind {addr}: {e}"))
}

/// Serves `routes` (the service's own gRPC services) on `listener` until `shutdown` fires, then
/// reports NOT_SERVING, stops accepting and lets in-flight calls finish for up to `grace`.
/// Every Switchboard RPC is counted and timed in `metrics`.
pub async fn serve(
    service: Service,
    listener: TcpListener,
    routes: Routes,
    readiness: Readiness,
    metrics: &Metrics,
    shutdown: CancellationToken,
    Serving { grace, edge }: Serving,
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
    let incoming = tokio_stream_listener(listener, edge.timeouts);
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
        .http2_keepalive_interval(edge.keepalive)
        .http2_keepalive_timeout(edge.keepalive.map(|_| Duration::from_secs(20)))
        .http2_max_header_list_size(edge.max_header_bytes)
        .trace_fn(crate::telemetry::grpc_server_span)
        // Outermost: every call counts as in flight on its connection (the idle timeout).
        .layer(crate::conn::CallsLayer)
        // A browser's preflight is answered before anything else sees it.
        .layer(tower::util::option_layer(edge.cors))
        .layer(tonic_web::GrpcWebLayer::new())
        // Inside gRPC-Web: it sees every call as native gRPC (its status in the headers or not).
        .layer(MetricsLayer::new(metrics))
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

/// How a server serves: the drain grace after SIGTERM and what it adds at its edge.
#[derive(Default)]
pub struct Serving {
    /// Time in-flight calls get to finish after shutdown starts.
    pub grace: Duration,
    pub edge: Edge,
}

/// What a server facing the internet (the gateway) adds: CORS for browsers calling through
/// gRPC-Web, HTTP/2 keep-alive pings that find dead connections. Internal services use the
/// default (none).
#[derive(Default)]
pub struct Edge {
    pub cors: Option<tower_http::cors::CorsLayer>,
    pub keepalive: Option<Duration>,
    /// Largest header block a client may send (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE).
    pub max_header_bytes: Option<u32>,
    /// Connections idle (no call) or without a first call for too long are closed.
    pub timeouts: crate::conn::Timeouts,
}

impl Edge {
    /// CORS for `origins` ("*" for any), exposing the gRPC status headers a gRPC-Web client
    /// reads; keep-alive pings every `keepalive`.
    pub fn public(
        origins: &[String],
        keepalive: Duration,
        timeouts: crate::conn::Timeouts,
    ) -> Self {
        use http::{HeaderName, HeaderValue, Method};
        use tower_http::cors::{AllowOrigin, CorsLayer};
        let cors = (!origins.is_empty()).then(|| {
            let allow = if origins.iter().any(|o| o == "*") {
                AllowOrigin::any()
            } else {
                AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
            };
            let header = HeaderName::from_static;
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::POST, Method::OPTIONS])
                .allow_headers([
                    header("authorization"),
                    header("content-type"),
                    header("x-grpc-web"),
                    header("x-user-agent"),
                    header("grpc-timeout"),
                    header("x-switchboard-organization"),
                    header("traceparent"),
                    header("tracestate"),
                    header("connect-protocol-version"),
                    header("connect-timeout-ms"),
                ])
                .expose_headers([
                    header("grpc-status"),
                    header("grpc-message"),
                    header("grpc-status-details-bin"),
                ])
                .max_age(Duration::from_secs(600))
        });
        Self {
            cors,
            keepalive: Some(keepalive),
            max_header_bytes: Some(16 * 1024),
            timeouts,
        }
    }
}

fn tokio_stream_listener(
    listener: TcpListener,
    timeouts: crate::conn::Timeouts,
) -> impl futures::Stream<Item = std::io::Result<crate::conn::Guarded<tokio::net::TcpStream>>> {
    futures::stream::unfold(listener, move |listener| async move {
        let res = listener.accept().await.map(|(stream, remote)| {
            let _ = stream.set_nodelay(true);
            crate::conn::Guarded::new(stream, Some(remote), timeouts)
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

/// Counts and times every call to a Switchboard RPC:
/// `switchboard_grpc_server_handled_total{service,method,code}` and
/// `switchboard_grpc_server_handling_seconds{service,method}`. Health checks, reflection and
/// paths that name no Switchboard RPC are not recorded (probes are noise, and unknown paths would
/// make label values without bound).
///
/// The code is the `grpc-status` of the response headers (a trailers-only answer: every error
/// tonic returns from a handler), else OK: a unary handler has finished when its headers leave,
/// and a stream that started is counted OK when it starts (its time is the time to its first
/// headers).
#[derive(Clone)]
pub struct MetricsLayer {
    handled: prometheus::IntCounterVec,
    seconds: prometheus::HistogramVec,
}

impl MetricsLayer {
    /// The layer recording into `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            handled: metrics.counter_vec(
                "switchboard_grpc_server_handled_total",
                "RPCs completed by the server, by gRPC service, method and status code",
                &["service", "method", "code"],
            ),
            seconds: metrics.histogram_vec(
                "switchboard_grpc_server_handling_seconds",
                "Seconds from request to response headers (a unary call's whole handling)",
                &["service", "method"],
                crate::metrics::LATENCY_BUCKETS,
            ),
        }
    }
}

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`MetricsLayer`] wraps around a server's routes.
#[derive(Clone)]
pub struct MetricsService<S> {
    inner: S,
    layer: MetricsLayer,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for MetricsService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let rpc = known_rpc(request.uri().path());
        let call = self.inner.call(request);
        let Some((service, method)) = rpc else {
            return Box::pin(call);
        };
        let layer = self.layer.clone();
        let started = Instant::now();
        Box::pin(async move {
            let result = call.await;
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or("OK", code_name),
                Err(_) => "UNKNOWN",
            };
            layer
                .seconds
                .with_label_values(&[service, method])
                .observe(started.elapsed().as_secs_f64());
            layer
                .handled
                .with_label_values(&[service, method, code])
                .inc();
            result
        })
    }
}

/// Every Switchboard RPC by its HTTP path (`/switchboard.routing.v1.RoutingService/Method`), as
/// (service, method), read once from the descriptor set the protos were compiled into.
static RPCS: LazyLock<HashMap<String, (String, String)>> = LazyLock::new(|| {
    use switchboard_proto::prost::Message;
    let set = switchboard_proto::prost_types::FileDescriptorSet::decode(
        switchboard_proto::FILE_DESCRIPTOR_SET,
    )
    .unwrap_or_default();
    let mut rpcs = HashMap::new();
    for file in set.file {
        for svc in &file.service {
            let service = format!("{}.{}", file.package(), svc.name());
            for method in &svc.method {
                rpcs.insert(
                    format!("/{service}/{}", method.name()),
                    (service.clone(), method.name().to_string()),
                );
            }
        }
    }
    rpcs
});

/// The (service, method) of a Switchboard RPC path; `None` for anything else.
fn known_rpc(path: &str) -> Option<(&'static str, &'static str)> {
    RPCS.get(path).map(|(s, m)| (s.as_str(), m.as_str()))
}

/// The canonical name of a gRPC status code (`NOT_FOUND`), as Prometheus label value.
fn code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, Service as _, ServiceExt};

    #[test]
    fn only_switchboard_rpcs_are_known() {
        assert_eq!(
            known_rpc("/switchboard.routing.v1.RoutingService/StartConversation"),
            Some(("switchboard.routing.v1.RoutingService", "StartConversation"))
        );
        assert_eq!(known_rpc("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            known_rpc("/switchboard.routing.v1.RoutingService/NoSuchMethod"),
            None
        );
        assert_eq!(known_rpc("/"), None);
        for name in switchboard_proto::SERVICE_NAMES {
            assert!(
                RPCS.values().any(|(s, _)| s == name),
                "{name} has no RPC in the descriptor set"
            );
        }
    }

    #[test]
    fn codes_have_their_canonical_names() {
        assert_eq!(code_name(0), "OK");
        assert_eq!(code_name(5), "NOT_FOUND");
        assert_eq!(code_name(9), "FAILED_PRECONDITION");
        assert_eq!(code_name(16), "UNAUTHENTICATED");
        assert_eq!(code_name(99), "UNKNOWN");
    }

    /// A server answering every call with `grpc-status` = `.0` in its headers (or none).
    #[derive(Clone)]
    struct Answer(Option<&'static str>);

    impl tower::Service<http::Request<()>> for Answer {
        type Response = http::Response<()>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            let mut response = http::Response::new(());
            if let Some(s) = self.0 {
                response
                    .headers_mut()
                    .insert("grpc-status", http::HeaderValue::from_static(s));
            }
            std::future::ready(Ok(response))
        }
    }

    async fn call(svc: &mut MetricsService<Answer>, path: &str) {
        let request = http::Request::builder()
            .uri(path)
            .body(())
            .expect("request");
        let Ok(ready) = svc.ready().await;
        let Ok(_) = ready.call(request).await;
    }

    #[tokio::test]
    async fn the_layer_counts_by_method_and_status_and_skips_the_rest() {
        let metrics = Metrics::new();
        let layer = MetricsLayer::new(&metrics);
        let start = "/switchboard.routing.v1.RoutingService/StartConversation";
        let mut ok = layer.layer(Answer(None));
        call(&mut ok, start).await;
        call(&mut ok, start).await;
        call(&mut ok, "/grpc.health.v1.Health/Check").await;
        let mut refused = layer.layer(Answer(Some("5")));
        call(&mut refused, start).await;
        let text = metrics.render();
        let handled = |code: &str| {
            crate::metrics::sum_samples(
                &text,
                "switchboard_grpc_server_handled_total",
                &[
                    ("service", "switchboard.routing.v1.RoutingService"),
                    ("method", "StartConversation"),
                    ("code", code),
                ],
            )
        };
        assert_eq!(handled("OK"), Some(2.0), "{text}");
        assert_eq!(handled("NOT_FOUND"), Some(1.0), "{text}");
        assert_eq!(
            crate::metrics::sum_samples(
                &text,
                "switchboard_grpc_server_handling_seconds_count",
                &[("method", "StartConversation")],
            ),
            Some(3.0)
        );
        assert!(!text.contains("grpc.health"), "{text}");
    }
}
