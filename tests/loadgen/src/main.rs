//! `switchboard-loadgen`: see the crate docs and docs/performance.md.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, ValueEnum};
use switchboard_loadgen::{Options, Target, run, target::Endpoints};
use switchboard_testkit::Backend;

#[derive(Clone, Copy, ValueEnum)]
enum Suite {
    /// Every service in this process on PostgreSQL + Redis (a throwaway database).
    Cluster,
    /// Every service in this process on the embedded default (SQLite, in-process presence).
    Embedded,
    /// A running suite given by the addresses below.
    External,
}

#[derive(Parser)]
#[command(
    name = "switchboard-loadgen",
    about = "Drives Switchboard as a contact center would and measures it against raw PostgreSQL and Redis"
)]
struct Cli {
    #[arg(long, value_enum, default_value = "cluster")]
    suite: Suite,
    /// Seconds per baseline phase.
    #[arg(long, default_value_t = 5.0)]
    baseline_secs: f64,
    /// Skip the raw PostgreSQL/Redis baselines (no ratio lines then).
    #[arg(long)]
    no_baselines: bool,
    /// Admin URL of the PostgreSQL the baselines run on.
    #[arg(long, env = "SWITCHBOARD_TEST_DATABASE_URL")]
    database_url: Option<String>,
    /// Redis the baselines run on (and whose command rate is read; external suites).
    #[arg(long, env = "SWITCHBOARD_TEST_REDIS_URL")]
    redis_url: Option<String>,
    /// Concurrent webhook senders at saturation (and tasks per baseline).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds of the saturation phase (0 skips it; 600 for the decay run).
    #[arg(long, default_value_t = 15.0)]
    saturation_secs: f64,
    /// Agents of the saturation organization (capacity 100 each).
    #[arg(long, default_value_t = 50)]
    saturation_agents: usize,
    /// Customer messages per second of the realistic phase (default: half the measured
    /// saturation assignment rate).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of the realistic phase (0 skips it).
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// Simulated agents of the realistic phase.
    #[arg(long, default_value_t = 50)]
    agents: usize,
    /// Mean handle time, milliseconds (exponential).
    #[arg(long, default_value_t = 3000)]
    handle_ms: u64,
    /// How often each agent polls its inbox, milliseconds.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Customers of the realistic phase (default: rate × handle time × 4, at least 500).
    #[arg(long)]
    contacts: Option<usize>,
    /// Share of webhooks delivered twice.
    #[arg(long, default_value_t = 0.05)]
    redeliver: f64,
    /// Share of arrivals that are two messages delivered newest first.
    #[arg(long, default_value_t = 0.05)]
    reorder: f64,
    /// Where loadgen.json and the SVG charts go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// External: the channel's webhook URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/webhooks/whatsapp")]
    webhook_url: String,
    /// External: the app secret the suite checks signatures with.
    #[arg(long, default_value = "dev-app-secret")]
    app_secret: String,
    /// External: gRPC addresses.
    #[arg(long, default_value = "http://127.0.0.1:50053")]
    routing: String,
    #[arg(long, default_value = "http://127.0.0.1:50054")]
    presence: String,
    #[arg(long, default_value = "http://127.0.0.1:50052")]
    channel: String,
    /// External: Prometheus text with routing's histograms.
    #[arg(long, default_value = "http://127.0.0.1:9464/metrics")]
    metrics_url: String,
    /// External: the port the Graph API simulator listens on (the suite's graph_base_url).
    #[arg(long, default_value_t = 8089)]
    sim_port: u16,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let target = match cli.suite {
        Suite::Cluster => Target::Spawn(Backend::Cluster),
        Suite::Embedded => Target::Spawn(Backend::Embedded),
        Suite::External => Target::External {
            endpoints: Endpoints {
                channel_metrics_url: cli.webhook_url.replace("/webhooks/whatsapp", "/metrics"),
                webhook_url: cli.webhook_url.clone(),
                metrics_url: cli.metrics_url.clone(),
                routing: cli.routing.clone(),
                presence: cli.presence.clone(),
                channel: cli.channel.clone(),
                app_secret: cli.app_secret.clone(),
                redis_url: cli.redis_url.clone(),
            },
            sim_port: cli.sim_port,
        },
    };
    let mut opts = Options::bench(target);
    if cli.no_baselines {
        opts.baseline_database_url = None;
    } else {
        if let Some(db) = cli.database_url {
            opts.baseline_database_url = Some(db);
        }
        if let Some(r) = &cli.redis_url {
            opts.baseline_redis_url = Some(r.clone());
        }
    }
    opts.baseline_secs = cli.baseline_secs;
    opts.concurrency = cli.concurrency;
    opts.saturation_secs = cli.saturation_secs;
    opts.saturation_agents = cli.saturation_agents;
    opts.rate = cli.rate;
    opts.steady_secs = cli.duration;
    opts.agents = cli.agents;
    opts.handle_ms = cli.handle_ms;
    opts.poll_ms = cli.poll_ms;
    opts.contacts = cli.contacts;
    opts.redeliver = cli.redeliver;
    opts.reorder = cli.reorder;
    opts.out_dir = Some(cli.out.clone());
    opts.progress = !cli.quiet;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard-loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(opts)) {
        Ok(report) => {
            eprintln!(
                "loadgen: report written to {}",
                cli.out.join("loadgen.json").display()
            );
            print!("{}", report.table());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}
