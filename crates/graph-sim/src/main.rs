//! `switchboard-graph-sim`: the WhatsApp Cloud API simulator as a process, for local runs.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};
use clap::Parser;
use switchboard_graph_sim::{SimAccount, SimConfig, SimTemplate, Simulator};
use tokio::net::TcpListener;

/// A stand-in for Meta's WhatsApp Cloud API: sends, media, templates and signed webhooks.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port to listen on.
    #[arg(long, env = "SIM_PORT", default_value_t = 8089)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "SIM_BIND", default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// App secret that signs the webhooks (X-Hub-Signature-256).
    #[arg(long, env = "SIM_APP_SECRET", default_value = "sim-app-secret")]
    app_secret: String,
    /// Where webhooks go, e.g. http://127.0.0.1:8081/webhooks/whatsapp.
    #[arg(long, env = "SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// An account as phone_number_id:token:waba_id (repeatable). Each WABA gets Meta's
    /// `hello_world` template.
    #[arg(long = "account", value_parser = parse_account)]
    accounts: Vec<SimAccount>,
    /// Milliseconds before each status callback.
    #[arg(long, default_value_t = 300)]
    callback_delay_ms: u64,
    /// Fail free-form sends to customers who have not written in 24 hours (error 131047).
    #[arg(long)]
    enforce_service_window: bool,
}

fn parse_account(value: &str) -> anyhow::Result<SimAccount> {
    let parts: Vec<&str> = value.split(':').collect();
    let [phone_number_id, token, waba_id] = parts.as_slice() else {
        bail!("expected phone_number_id:token:waba_id, got {value:?}");
    };
    if phone_number_id.is_empty() || token.is_empty() || waba_id.is_empty() {
        bail!("phone_number_id, token and waba_id must not be empty");
    }
    Ok(SimAccount::new(phone_number_id, waba_id, token))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut accounts = args.accounts;
    if accounts.is_empty() {
        accounts.push(SimAccount::new(
            "100000000000001",
            "200000000000001",
            "sim-token",
        ));
    }
    let mut wabas: Vec<&str> = accounts.iter().map(|a| a.waba_id.as_str()).collect();
    wabas.sort_unstable();
    wabas.dedup();
    let templates = wabas.into_iter().map(SimTemplate::hello_world).collect();
    for account in &accounts {
        println!(
            "account: phone_number_id={} waba_id={} token={} display={}",
            account.phone_number_id, account.waba_id, account.token, account.display_phone_number
        );
    }
    let config = SimConfig {
        app_secret: args.app_secret,
        webhook_url: args.webhook_url,
        accounts,
        templates,
        callback_delay: Duration::from_millis(args.callback_delay_ms),
        enforce_service_window: args.enforce_service_window,
        ..SimConfig::default()
    };
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let sim = Simulator::start_on(config, listener).await?;
    println!("graph simulator at {}", sim.base_url());
    tokio::signal::ctrl_c().await?;
    sim.stop().await;
    Ok(())
}
