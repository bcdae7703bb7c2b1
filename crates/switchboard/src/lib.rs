//! Starting any set of Switchboard services in one process: the `serve`, `migrate` and
//! `healthcheck` behind the `switchboard` binary, and what tests use to start targets in-process.

pub mod demo;

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use switchboard_runtime::{
    Infra, Service, Settings,
    bus::{ConsumerGroup, EventBus, InProcessBus, RedisBus},
    clients::Endpoints,
    grpc::bind,
    host::Listeners,
    metrics::Metrics,
};
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

/// The services of one process, running.
pub struct Running {
    /// Where each started service answers gRPC.
    pub grpc: BTreeMap<Service, SocketAddr>,
    /// Where the channel's webhook HTTP server answers, when channel runs here.
    pub webhook: Option<SocketAddr>,
    /// Where the process's Prometheus endpoint (`GET /metrics`) answers.
    pub metrics: SocketAddr,
    /// What the services share (bus, Redis, endpoints, metrics).
    pub infra: Infra,
    tasks: JoinSet<(Task, anyhow::Result<()>)>,
    shutdown: CancellationToken,
}

/// What runs in a process besides its services' own workers.
#[derive(Debug, Clone, Copy)]
enum Task {
    Service(Service),
    /// The metrics HTTP server.
    Metrics,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Task::Service(svc) => svc.fmt(f),
            Task::Metrics => f.write_str("metrics"),
        }
    }
}

impl Running {
    /// Waits until every service stopped (after `shutdown`), or one failed (then stops the rest).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let (task, result) = joined?;
            if let Err(err) = result {
                tracing::error!(%task, error = %err, "service stopped with an error");
                if first_error.is_none() {
                    first_error = Some(anyhow::anyhow!("{task}: {err:#}"));
                }
                self.shutdown.cancel();
            } else if !self.shutdown.is_cancelled() {
                tracing::error!(%task, "service stopped unexpectedly");
                first_error.get_or_insert_with(|| anyhow::anyhow!("{task} stopped"));
                self.shutdown.cancel();
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The token that stops every service here.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Lines naming every address served, as `make run` prints them.
    pub fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .grpc
            .iter()
            .map(|(svc, addr)| format!("{svc:<9} gRPC     {addr}  ({})", svc.grpc_name()))
            .collect();
        if let Some(addr) = self.webhook {
            lines.push(format!(
                "channel   webhooks http://{addr}/webhooks/whatsapp  (probes /healthz /readyz)"
            ));
        }
        lines.push(format!(
            "metrics   http://{}/metrics  (Prometheus, every service here)",
            self.metrics
        ));
        lines
    }
}

/// The event bus and Redis connection the settings ask for: Redis Streams when `redis.url` is
/// set, the in-process bus otherwise.
pub async fn connect_bus(
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn EventBus>, Option<redis::aio::ConnectionManager>)> {
    if settings.redis.url.is_empty() {
        return Ok((Arc::new(InProcessBus::default()), None));
    }
    let bus = RedisBus::connect(&settings.redis.url, &settings.redis.key_prefix)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach redis at redis.url: {e}"))?;
    let client = redis::Client::open(settings.redis.url.as_str())?;
    let conn = client.get_connection_manager().await?;
    Ok((Arc::new(bus), Some(conn)))
}

/// Serves `GET /metrics` (the Prometheus text of `metrics`) on `listener` until `shutdown`.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use axum::{http::header::CONTENT_TYPE, routing::get};
    let router = axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(CONTENT_TYPE, switchboard_runtime::metrics::CONTENT_TYPE)],
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

/// Binds and starts `targets` with `settings`; they stop when `shutdown` is cancelled.
pub async fn start(
    settings: Settings,
    targets: &[Service],
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    start_with_groups(settings, targets, &[], shutdown).await
}

/// Like [`start`], declaring `groups` on the bus before any service (and so any outbox relay)
/// starts, so no event they consume can be published before they exist.
pub async fn start_with_groups(
    settings: Settings,
    targets: &[Service],
    groups: &[ConsumerGroup],
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let settings = Arc::new(settings);
    let host = settings.server.host.clone();

    // One metrics endpoint per process, whatever the targets.
    let metrics_listener = bind(&host, settings.server.metrics_port).await?;
    let metrics_addr = metrics_listener.local_addr()?;
    let mut listeners = BTreeMap::new();
    let mut grpc = BTreeMap::new();
    let mut webhook = None;
    for &svc in targets {
        let listener = bind(&host, settings.grpc_port(svc)).await?;
        grpc.insert(svc, listener.local_addr()?);
        let http = if svc == Service::Channel {
            let l = bind(&host, settings.channel.webhook_port).await?;
            webhook = Some(l.local_addr()?);
            Some(l)
        } else {
            None
        };
        listeners.insert(
            svc,
            Listeners {
                grpc: listener,
                http,
            },
        );
    }

    let endpoints = Endpoints::new(
        Service::ALL
            .into_iter()
            .map(|svc| {
                let configured = settings.endpoint(svc);
                let url = if !configured.is_empty() {
                    configured.to_string()
                } else {
                    // A service in this process is reached on loopback at its bound port.
                    let port = grpc
                        .get(&svc)
                        .map_or(settings.grpc_port(svc), SocketAddr::port);
                    format!("http://127.0.0.1:{port}")
                };
                (svc, url)
            })
            .collect(),
    );

    let (bus, redis) = connect_bus(&settings).await?;
    for group in groups {
        bus.declare_group(group.name, group.topics).await?;
    }
    if targets.contains(&Service::Routing) {
        for group in switchboard_routing::CONSUMER_GROUPS {
            bus.declare_group(group.name, group.topics).await?;
        }
    }
    if targets.contains(&Service::Channel) {
        for group in switchboard_channel::CONSUMER_GROUPS {
            bus.declare_group(group.name, group.topics).await?;
        }
    }
    if targets.contains(&Service::Ticketing) {
        for group in switchboard_ticketing::CONSUMER_GROUPS {
            bus.declare_group(group.name, group.topics).await?;
        }
    }
    if targets.contains(&Service::Reporting) {
        for group in switchboard_reporting::CONSUMER_GROUPS {
            bus.declare_group(group.name, group.topics).await?;
        }
    }
    if targets.contains(&Service::Integrations) {
        for group in switchboard_integrations::CONSUMER_GROUPS {
            bus.declare_group(group.name, group.topics).await?;
        }
    }
    if targets.contains(&Service::Gateway) {
        for group in switchboard_gateway::CONSUMER_GROUPS {
            bus.declare_group(group.name, group.topics).await?;
        }
    }
    let infra = Infra {
        settings,
        bus,
        redis,
        endpoints,
        clock: Default::default(),
        metrics: Metrics::new(),
    };

    let mut tasks = JoinSet::new();
    tasks.spawn({
        let (metrics, token) = (infra.metrics.clone(), shutdown.clone());
        async move {
            let result = serve_metrics(metrics_listener, metrics, token).await;
            (Task::Metrics, result)
        }
    });
    for (svc, l) in listeners {
        let infra = infra.clone();
        let token = shutdown.clone();
        tasks.spawn(async move {
            let result = match svc {
                Service::Gateway => switchboard_gateway::run(infra, l, token).await,
                Service::Channel => switchboard_channel::run(infra, l, token).await,
                Service::Routing => switchboard_routing::run(infra, l, token).await,
                Service::Presence => switchboard_presence::run(infra, l, token).await,
                Service::Ticketing => switchboard_ticketing::run(infra, l, token).await,
                Service::Reporting => switchboard_reporting::run(infra, l, token).await,
                Service::Integrations => switchboard_integrations::run(infra, l, token).await,
            };
            (Task::Service(svc), result)
        });
    }
    Ok(Running {
        grpc,
        webhook,
        metrics: metrics_addr,
        infra,
        tasks,
        shutdown,
    })
}

/// Applies the migrations of `targets` (the gateway has none).
pub async fn migrate(settings: &Settings, targets: &[Service]) -> anyhow::Result<Vec<Service>> {
    use switchboard_runtime::db;
    let mut done = Vec::new();
    for &svc in targets {
        if svc == Service::Gateway {
            continue;
        }
        let conn = db::connect(&settings.database, svc).await?;
        let result = match svc {
            Service::Channel => {
                db::migrate::<switchboard_channel::migration::Migrator>(&conn).await
            }
            Service::Routing => {
                db::migrate::<switchboard_routing::migration::Migrator>(&conn).await
            }
            Service::Presence => {
                db::migrate::<switchboard_presence::migration::Migrator>(&conn).await
            }
            Service::Ticketing => {
                db::migrate::<switchboard_ticketing::migration::Migrator>(&conn).await
            }
            Service::Reporting => {
                db::migrate::<switchboard_reporting::migration::Migrator>(&conn).await
            }
            Service::Integrations => {
                db::migrate::<switchboard_integrations::migration::Migrator>(&conn).await
            }
            Service::Gateway => Ok(()),
        };
        result.map_err(|e| anyhow::anyhow!("{svc}: migrations failed: {e}"))?;
        conn.close().await?;
        done.push(svc);
    }
    Ok(done)
}

/// The dead letters of `targets`' storage (services without consumers have none), with the
/// service each is in.
pub async fn list_dead_letters(
    settings: &Settings,
    targets: &[Service],
    selector: &switchboard_runtime::dead_letters::Selector,
) -> anyhow::Result<Vec<(Service, switchboard_runtime::dead_letters::DeadLetter)>> {
    use switchboard_runtime::{db, dead_letters};
    let mut out = Vec::new();
    for &svc in targets.iter().filter(|s| CONSUMING.contains(s)) {
        let conn = db::connect(&settings.database, svc).await?;
        let letters = dead_letters::list(&conn, selector)
            .await
            .map_err(|e| anyhow::anyhow!("{svc}: cannot read dead letters: {e:#}"))?;
        out.extend(letters.into_iter().map(|l| (svc, l)));
        conn.close().await?;
    }
    Ok(out)
}

/// Hands the dead letters `selector` picks in `targets`' storage back to their topics (see
/// [`switchboard_runtime::dead_letters::replay`]); how many per service.
pub async fn replay_dead_letters(
    settings: &Settings,
    targets: &[Service],
    selector: &switchboard_runtime::dead_letters::Selector,
) -> anyhow::Result<Vec<(Service, usize)>> {
    use switchboard_runtime::{db, dead_letters};
    let mut out = Vec::new();
    for &svc in targets.iter().filter(|s| CONSUMING.contains(s)) {
        let conn = db::connect(&settings.database, svc).await?;
        let n = dead_letters::replay(&conn, selector)
            .await
            .map_err(|e| anyhow::anyhow!("{svc}: cannot replay dead letters: {e:#}"))?;
        out.push((svc, n));
        conn.close().await?;
    }
    Ok(out)
}

/// The outbox rows of `targets`' storage that the relay kept back as undecodable (see
/// [`switchboard_runtime::outbox::quarantined`]), with the service each is in.
pub async fn quarantined_outbox_rows(
    settings: &Settings,
    targets: &[Service],
) -> anyhow::Result<Vec<(Service, switchboard_runtime::outbox::entity::Model)>> {
    use switchboard_runtime::{db, outbox};
    let mut out = Vec::new();
    for &svc in targets.iter().filter(|s| **s != Service::Gateway) {
        let conn = db::connect(&settings.database, svc).await?;
        let rows = outbox::quarantined(&conn)
            .await
            .map_err(|e| anyhow::anyhow!("{svc}: cannot read the outbox: {e}"))?;
        out.extend(rows.into_iter().map(|r| (svc, r)));
        conn.close().await?;
    }
    Ok(out)
}

/// The services that run consumer groups (and so keep dead letters).
const CONSUMING: [Service; 5] = [
    Service::Channel,
    Service::Routing,
    Service::Ticketing,
    Service::Reporting,
    Service::Integrations,
];

/// Asks `addr` (http://host:port) whether `service` ("" for the whole server) is SERVING.
pub async fn healthcheck(addr: &str, service: &str) -> anyhow::Result<()> {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let channel = tonic::transport::Endpoint::from_shared(addr.to_string())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(3))
        .connect()
        .await?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await?
        .into_inner()
        .status;
    if status == ServingStatus::Serving as i32 {
        Ok(())
    } else {
        anyhow::bail!(
            "{addr} reports {:?} for `{service}`",
            ServingStatus::try_from(status).unwrap_or(ServingStatus::Unknown)
        )
    }
}
