//! Test support: every test gets its own storage (a fresh PostgreSQL database or SQLite folder)
//! and its own Redis key prefix, and starts the targets it needs in-process on 127.0.0.1:0,
//! talking over real gRPC exactly as in a cluster.
//!
//! PostgreSQL and Redis are found at `SWITCHBOARD_TEST_DATABASE_URL` (an admin connection,
//! default `postgres://postgres@127.0.0.1:5432/postgres`) and `SWITCHBOARD_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`); `scripts/with-test-services.sh` starts throwaway ones when
//! nothing answers there.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use sea_orm::{ConnectionTrait, Database};
use switchboard::Running;
use switchboard_runtime::{Service, Settings, bus::ConsumerGroup};
use tokio_util::sync::CancellationToken;

/// Which storage and bus a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: SQLite files, in-process event bus.
    Embedded,
    /// The cluster setup: PostgreSQL (a schema per service) and Redis Streams.
    Cluster,
}

/// The admin URL of the test PostgreSQL.
pub fn database_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of the test Redis.
pub fn redis_url() -> String {
    std::env::var("SWITCHBOARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One test's isolated world: its storage, its Redis prefix, its settings.
pub struct TestEnv {
    pub backend: Backend,
    pub settings: Settings,
    /// Redis key prefix of this test (Cluster).
    pub redis_prefix: String,
    database: Option<String>,
    dir: Option<PathBuf>,
}

impl TestEnv {
    /// Creates fresh storage for `backend` and settings pointing at it, every port 0.
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        let redis_prefix = format!("sbt{unique}");
        let mut env: Vec<(String, String)> = [
            ("SERVER__HOST", "127.0.0.1"),
            ("SERVER__SHUTDOWN_GRACE_SECS", "2"),
            ("SERVER__METRICS_PORT", "0"),
            ("OUTBOX__POLL_INTERVAL_MS", "50"),
            ("REDIS__KEY_PREFIX", redis_prefix.as_str()),
            ("TELEMETRY__LOG_FILTER", "warn"),
            ("GATEWAY__PORT", "0"),
            ("CHANNEL__PORT", "0"),
            ("CHANNEL__WEBHOOK_PORT", "0"),
            ("ROUTING__PORT", "0"),
            ("PRESENCE__PORT", "0"),
            ("TICKETING__PORT", "0"),
            ("REPORTING__PORT", "0"),
            ("INTEGRATIONS__PORT", "0"),
            // Not the public development secret: the cluster backend refuses that one.
            (
                "GATEWAY__AUTH__HS256_SECRET",
                "switchboard-test-secret-at-least-32-bytes",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (format!("SWITCHBOARD__{k}"), v.to_string()))
        .collect();
        let (database, dir) = match backend {
            Backend::Embedded => {
                let dir = std::env::temp_dir().join(format!("switchboard-test-{unique}"));
                std::fs::create_dir_all(&dir)?;
                env.push((
                    "SWITCHBOARD__DATABASE__URL".into(),
                    format!("sqlite://{}/{{service}}.db?mode=rwc", dir.display()),
                ));
                (None, Some(dir))
            }
            Backend::Cluster => {
                let name = format!("sbt_{unique}");
                let admin = Database::connect(database_admin_url()).await.map_err(|e| {
                    anyhow::anyhow!(
                        "test PostgreSQL at SWITCHBOARD_TEST_DATABASE_URL does not answer \
                         (run the tests through `make test`): {e}"
                    )
                })?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                admin.close().await?;
                env.push((
                    "SWITCHBOARD__DATABASE__URL".into(),
                    replace_db(&database_admin_url(), &name),
                ));
                env.push(("SWITCHBOARD__REDIS__URL".into(), redis_url()));
                (Some(name), None)
            }
        };
        let settings = Settings::load_from(None, env)?;
        Ok(Self {
            backend,
            settings,
            redis_prefix,
            database,
            dir,
        })
    }

    /// Starts `targets` in this process.
    pub async fn start(&self, targets: &[Service]) -> anyhow::Result<Suite> {
        self.start_with_groups(targets, &[]).await
    }

    /// Starts `targets`, declaring `groups` on the bus first.
    pub async fn start_with_groups(
        &self,
        targets: &[Service],
        groups: &[ConsumerGroup],
    ) -> anyhow::Result<Suite> {
        let _ = switchboard_runtime::telemetry::init(&self.settings.telemetry);
        // As the Helm hook Job does before any replica starts (SQLite migrates on start).
        switchboard::migrate(&self.settings, targets).await?;
        let token = CancellationToken::new();
        let running =
            switchboard::start_with_groups(self.settings.clone(), targets, groups, token.clone())
                .await?;
        Ok(Suite {
            grpc: running.grpc.clone(),
            webhook: running.webhook,
            metrics: running.metrics,
            running: Some(running),
            token,
        })
    }
}

fn replace_db(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let database = self.database.take();
        let prefix = self.redis_prefix.clone();
        let backend = self.backend;
        // Drop runs inside or outside a runtime: clean up on a thread with its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Some(name) = database
                    && let Ok(admin) = Database::connect(database_admin_url()).await
                {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
                if backend == Backend::Cluster {
                    let _ = delete_redis_prefix(&prefix).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn delete_redis_prefix(prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(redis_url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Targets running in this process for one test.
pub struct Suite {
    /// Where each started service answers gRPC.
    pub grpc: BTreeMap<Service, SocketAddr>,
    /// The channel's webhook HTTP address, when channel runs.
    pub webhook: Option<SocketAddr>,
    /// The process's Prometheus endpoint (`http://{metrics}/metrics`).
    pub metrics: SocketAddr,
    running: Option<Running>,
    token: CancellationToken,
}

impl Suite {
    /// A connected gRPC channel to `service`.
    pub async fn channel(&self, service: Service) -> anyhow::Result<tonic::transport::Channel> {
        let addr = self
            .grpc
            .get(&service)
            .ok_or_else(|| anyhow::anyhow!("{service} is not running in this suite"))?;
        Ok(
            tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
                .connect_timeout(Duration::from_secs(5))
                .connect()
                .await?,
        )
    }

    /// What the running services share (the bus, Redis).
    pub fn infra(&self) -> Option<&switchboard_runtime::Infra> {
        self.running.as_ref().map(|r| &r.infra)
    }

    /// Cancels every service and waits for them to stop (a test's "SIGTERM").
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.token.cancel();
        match self.running.take() {
            Some(r) => tokio::time::timeout(Duration::from_secs(10), r.wait())
                .await
                .map_err(|_| anyhow::anyhow!("services did not stop within 10 s"))?,
            None => Ok(()),
        }
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.token.cancel();
    }
}
