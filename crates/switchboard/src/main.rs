//! `switchboard`: one binary, a target per Deployment (`serve --target all` for one process).

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use switchboard_runtime::{Service, Settings, parse_targets, shutdown, telemetry};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "WhatsApp conversation routing suite"
)]
struct Cli {
    /// Configuration file layered over the embedded defaults (env SWITCHBOARD__… wins over it).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve one or more services: all, or a comma list of gateway, channel, routing, presence,
    /// ticketing.
    Serve {
        #[arg(long, default_value = "all", value_parser = parse_targets)]
        target: std::vec::Vec<Service>,
    },
    /// Apply the database migrations of the targets' services, then exit.
    Migrate {
        #[arg(long, default_value = "all", value_parser = parse_targets)]
        target: std::vec::Vec<Service>,
    },
    /// Exit 0 when the target's gRPC health check answers SERVING (for probes and scripts).
    Healthcheck {
        #[arg(long, default_value = "gateway", value_parser = parse_service)]
        target: Service,
        /// Address to check; defaults to 127.0.0.1 at the target's configured port.
        #[arg(long)]
        addr: Option<String>,
    },
    /// Print the embedded, commented default configuration.
    Defaults,
}

fn parse_service(s: &str) -> Result<Service, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Defaults = cli.command {
        print!("{}", switchboard_runtime::config::DEFAULTS);
        return ExitCode::SUCCESS;
    }
    // Validated before anything binds: a bad key or value names itself and exits non-zero.
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(err) => {
            eprintln!("switchboard: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("switchboard: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("switchboard: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let telemetry = telemetry::init(&settings.telemetry)?;
    let result = match command {
        Command::Serve { target } => serve(settings, &target).await,
        Command::Migrate { target } => {
            let done = switchboard::migrate(&settings, &target).await?;
            for svc in done {
                println!("migrated {svc}");
            }
            Ok(())
        }
        Command::Healthcheck { target, addr } => {
            let addr =
                addr.unwrap_or_else(|| format!("http://127.0.0.1:{}", settings.grpc_port(target)));
            switchboard::healthcheck(&addr, target.grpc_name()).await?;
            println!("{target} SERVING at {addr}");
            Ok(())
        }
        Command::Defaults => Ok(()),
    };
    telemetry.shutdown();
    result
}

async fn serve(settings: Settings, targets: &[Service]) -> anyhow::Result<()> {
    let token = shutdown::on_signal();
    let database = settings.database.url.clone();
    let redis = if settings.redis.url.is_empty() {
        "in-process bus (no redis.url)".to_string()
    } else {
        "redis (redis.url)".to_string()
    };
    let running = switchboard::start(settings, targets, token).await?;
    println!("switchboard serving:");
    for line in running.describe() {
        println!("  {line}");
    }
    println!("  storage   {database}");
    println!("  events    {redis}");
    println!("Ctrl-C (or SIGTERM) stops it.");
    running.wait().await
}
