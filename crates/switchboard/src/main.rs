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
    /// ticketing, reporting, integrations.
    Serve {
        #[arg(long, default_value = "all", value_parser = parse_targets)]
        target: std::vec::Vec<Service>,
        /// Seed (once) a demo organization with an admin, two agents, a team and a number, and
        /// print a development token and how to call the gateway. Needs routing, channel and
        /// gateway in this process.
        #[arg(long)]
        demo: bool,
        /// Where --demo remembers what it created (reused while it exists).
        #[arg(long, default_value = "data/demo.json")]
        demo_state: PathBuf,
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
    /// Load and validate the configuration (defaults, --config, environment) for the targets
    /// and exit: 0 with "configuration ok", or 2 naming the bad key (what a Helm-rendered
    /// config is checked with). With the gateway among the targets, its token settings too.
    CheckConfig {
        #[arg(long, default_value = "all", value_parser = parse_targets)]
        target: std::vec::Vec<Service>,
    },
    /// Print a development token for the gateway: HS256, signed with gateway.auth.hs256_secret,
    /// with the configured issuer and audience. Bind SUBJECT to an agent (Agent.auth_subject)
    /// and send it as `authorization: Bearer <token>`.
    Token {
        /// The identity-provider subject (`sub` claim).
        #[arg(long)]
        subject: String,
        /// Seconds the token is valid.
        #[arg(long, default_value_t = 3600)]
        ttl_secs: u64,
    },
    /// Events a consumer group gave up on (undecodable, or still failing after
    /// outbox.dead_letter_after_attempts): list them, or hand them back to the bus.
    DeadLetters {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
    /// Outbox rows the relay could not decode and kept back (never published, never deleted;
    /// `switchboard_outbox_quarantined_total` counts them): one tab-separated line each
    /// (service, seq, event id, topic, organization, occurred at, stored payload).
    Quarantined {
        /// Services whose outbox to read.
        #[arg(long, default_value = "channel,routing,presence,ticketing,integrations", value_parser = parse_targets)]
        target: std::vec::Vec<Service>,
    },
}

#[derive(Subcommand)]
enum DeadLetterAction {
    /// Print the dead letters, oldest failure first (one tab-separated line each: service,
    /// group, event id, topic, organization, attempts, first and last failure, last error).
    List {
        #[command(flatten)]
        select: DeadLetterSelect,
    },
    /// Hand the dead letters back to their topic (through the service's outbox: the running
    /// service's relay publishes them) and delete them; prints how many per service.
    Replay {
        #[command(flatten)]
        select: DeadLetterSelect,
    },
}

#[derive(clap::Args)]
struct DeadLetterSelect {
    /// Services whose dead letters to read (those that run consumers: channel, routing).
    #[arg(long, default_value = "channel,routing", value_parser = parse_targets)]
    target: std::vec::Vec<Service>,
    /// Only this consumer group's (e.g. channel.conversations, routing.presence).
    #[arg(long)]
    group: Option<String>,
    /// Only this event's (evt_ id).
    #[arg(long)]
    id: Option<String>,
}

impl DeadLetterSelect {
    fn selector(&self) -> switchboard_runtime::dead_letters::Selector {
        switchboard_runtime::dead_letters::Selector {
            group: self.group.clone(),
            event_id: self.id.clone(),
        }
    }
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
    if let Command::CheckConfig { target } = &cli.command {
        if target.contains(&Service::Gateway)
            && let Err(err) = switchboard_gateway::auth::Authenticator::new(&settings.gateway.auth)
        {
            eprintln!("switchboard: {err:#}");
            return ExitCode::from(2);
        }
        println!("configuration ok");
        return ExitCode::SUCCESS;
    }
    if let Command::Token { subject, ttl_secs } = &cli.command {
        return match switchboard_gateway::dev_token(
            &settings.gateway.auth,
            subject,
            std::time::Duration::from_secs(*ttl_secs),
        ) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("switchboard: {err:#}");
                ExitCode::from(2)
            }
        };
    }
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
        Command::Serve {
            target,
            demo,
            demo_state,
        } => serve(settings, &target, demo.then_some(demo_state)).await,
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
        Command::DeadLetters { action } => dead_letters(&settings, action).await,
        Command::Quarantined { target } => {
            let rows = switchboard::quarantined_outbox_rows(&settings, &target).await?;
            for (svc, r) in &rows {
                println!(
                    "{svc}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.seq,
                    r.event_id,
                    r.topic,
                    r.organization_id,
                    r.occurred_at.to_rfc3339(),
                    r.payload,
                );
            }
            eprintln!("{} quarantined outbox row(s)", rows.len());
            Ok(())
        }
        Command::Defaults | Command::Token { .. } | Command::CheckConfig { .. } => Ok(()),
    };
    telemetry.shutdown();
    result
}

async fn dead_letters(settings: &Settings, action: DeadLetterAction) -> anyhow::Result<()> {
    match action {
        DeadLetterAction::List { select } => {
            let letters =
                switchboard::list_dead_letters(settings, &select.target, &select.selector())
                    .await?;
            for (svc, l) in &letters {
                println!(
                    "{svc}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    l.group,
                    l.event.id,
                    l.event.topic,
                    l.event.organization_id,
                    l.attempts,
                    l.first_failed_at.to_rfc3339(),
                    l.last_failed_at.to_rfc3339(),
                    l.last_error.replace(['\t', '\n'], " "),
                );
            }
            eprintln!("{} dead letter(s)", letters.len());
        }
        DeadLetterAction::Replay { select } => {
            let replayed =
                switchboard::replay_dead_letters(settings, &select.target, &select.selector())
                    .await?;
            for (svc, n) in replayed {
                println!("{svc}: {n} dead letter(s) handed back to the outbox");
            }
        }
    }
    Ok(())
}

async fn serve(
    settings: Settings,
    targets: &[Service],
    demo_state: Option<PathBuf>,
) -> anyhow::Result<()> {
    let token = shutdown::on_signal();
    let database = settings.database.url.clone();
    let redis = if settings.redis.url.is_empty() {
        "in-process bus (no redis.url)".to_string()
    } else {
        "redis (redis.url)".to_string()
    };
    let running = switchboard::start(settings.clone(), targets, token).await?;
    println!("switchboard serving:");
    for line in running.describe() {
        println!("  {line}");
    }
    if let Some(state) = demo_state {
        let demo = switchboard::demo::seed(&running, &state).await?;
        for line in switchboard::demo::instructions(&demo, &settings, &running) {
            println!("  {line}");
        }
    }
    println!("  storage   {database}");
    println!("  events    {redis}");
    println!("Ctrl-C (or SIGTERM) stops it.");
    running.wait().await
}
