//! Where the suite under load answers: either one this process starts (the embedded default or
//! PostgreSQL + Redis, in a throwaway database, as `make test` does), or a running one given by
//! addresses. Either way the load generator only talks to it over gRPC and HTTP.

use std::{path::PathBuf, time::Duration};

use switchboard_graph_sim::{SimAccount, SimConfig, SimHandle, Simulator};
use switchboard_runtime::Service;
use switchboard_testkit::{Backend, Suite, TestEnv};
use tonic::transport::{Channel, Endpoint};

/// The token the simulator expects for the load generator's numbers, and the secret reference
/// accounts name for it (a running suite reads it from `SWITCHBOARD_SECRET_LOADGEN`).
pub const TOKEN: &str = "loadgen-token";
pub const TOKEN_REF: &str = "loadgen";
pub const WABA_ID: &str = "102290129340398";

/// The addresses of a running suite.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `http://host:port/webhooks/whatsapp`.
    pub webhook_url: String,
    /// The channel's Prometheus text (the webhook port's `/metrics`).
    pub channel_metrics_url: String,
    /// The process's Prometheus text, where routing's histograms are (may equal the above).
    pub metrics_url: String,
    pub routing: String,
    pub presence: String,
    pub channel: String,
    /// The app secret webhooks are signed with.
    pub app_secret: String,
    /// Redis the suite uses, to read its command rate (None: in-process presence).
    pub redis_url: Option<String>,
}

/// Connected gRPC channels.
#[derive(Clone)]
pub struct Clients {
    pub routing: Channel,
    pub presence: Channel,
    pub channel: Channel,
}

async fn connect(addr: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(addr.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await?)
}

impl Endpoints {
    pub async fn connect(&self) -> anyhow::Result<Clients> {
        Ok(Clients {
            routing: connect(&self.routing).await?,
            presence: connect(&self.presence).await?,
            channel: connect(&self.channel).await?,
        })
    }
}

/// A suite this process started, with the Graph API simulator it sends through; dropping it
/// removes the database, the Redis keys and the secrets directory.
pub struct Spawned {
    pub suite: Suite,
    env: TestEnv,
    secrets: PathBuf,
}

impl Spawned {
    pub fn backend(&self) -> Backend {
        self.env.backend
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        let result = self.suite.stop().await;
        let _ = std::fs::remove_dir_all(&self.secrets);
        drop(self.env);
        result
    }
}

/// Starts the Graph API simulator for `phone_number_ids` (webhooks to `webhook_url` once set).
pub async fn simulator(
    app_secret: &str,
    phone_number_ids: &[String],
    port: Option<u16>,
) -> anyhow::Result<SimHandle> {
    let config = SimConfig {
        app_secret: app_secret.into(),
        accounts: phone_number_ids
            .iter()
            .map(|p| SimAccount::new(p, WABA_ID, TOKEN))
            .collect(),
        callback_delay: Duration::from_millis(20),
        ..Default::default()
    };
    match port {
        Some(port) => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            Simulator::start_on(config, listener).await
        }
        None => Simulator::start(config).await,
    }
}

/// Starts every service in this process on `backend` (a throwaway database, as the tests do),
/// sending WhatsApp messages through `sim`.
pub async fn spawn(backend: Backend, sim: &SimHandle) -> anyhow::Result<(Spawned, Endpoints)> {
    const APP_SECRET: &str = "loadgen-app-secret";
    let secrets = std::env::temp_dir().join(format!(
        "sb-loadgen-secrets-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&secrets)?;
    std::fs::write(secrets.join(TOKEN_REF), TOKEN)?;
    let mut env = TestEnv::new(backend).await?;
    let s = &mut env.settings;
    s.channel.whatsapp.app_secret = APP_SECRET.into();
    s.channel.whatsapp.verify_token = "loadgen-verify".into();
    s.channel.whatsapp.graph_base_url = sim.base_url();
    s.channel.whatsapp.secrets_dir = secrets.display().to_string();
    let redis_url = (!s.redis.url.is_empty()).then(|| s.redis.url.clone());
    let suite = env.start(&Service::ALL).await?;
    let webhook = suite.webhook.expect("channel runs");
    let grpc = |svc: Service| format!("http://{}", suite.grpc[&svc]);
    let endpoints = Endpoints {
        webhook_url: format!("http://{webhook}/webhooks/whatsapp"),
        channel_metrics_url: format!("http://{webhook}/metrics"),
        metrics_url: format!("http://{webhook}/metrics"),
        routing: grpc(Service::Routing),
        presence: grpc(Service::Presence),
        channel: grpc(Service::Channel),
        app_secret: APP_SECRET.into(),
        redis_url,
    };
    sim.set_webhook_url(endpoints.webhook_url.clone());
    Ok((
        Spawned {
            suite,
            env,
            secrets,
        },
        endpoints,
    ))
}

/// GETs Prometheus text; empty when it cannot be read (the figure is then reported missing).
pub async fn scrape(http: &reqwest::Client, url: &str) -> String {
    match http.get(url).send().await {
        Ok(res) if res.status().is_success() => res.text().await.unwrap_or_default(),
        _ => String::new(),
    }
}
