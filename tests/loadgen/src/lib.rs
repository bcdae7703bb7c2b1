//! The load generator behind `make bench`: drives a running Switchboard (one it starts, embedded
//! or on PostgreSQL + Redis, or one given by addresses) as a contact center would, and measures
//! it against the raw database and Redis in the same run.
//!
//! A run has three phases:
//! 1. **baselines**: raw dedup inserts, raw `SKIP LOCKED` claims and a raw Redis script against
//!    the same PostgreSQL and Redis;
//! 2. **saturation**: concurrent senders post signed webhooks as fast as they are acknowledged,
//!    each from a new customer; gives the ingest and end-to-end assignment rates;
//! 3. **realistic**: Poisson arrivals at half the measured assignment rate (or `--rate`),
//!    redeliveries and out-of-order deliveries, agents that heartbeat, open, reply and close.

pub mod baseline;
pub mod chart;
pub mod report;
pub mod saturation;
pub mod setup;
pub mod stats;
pub mod steady;
pub mod target;
pub mod webhook;

use std::{path::PathBuf, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};
use switchboard_proto::routing::v1::TeamStrategy;
use switchboard_testkit::Backend;

use crate::{
    report::{Machine, Report},
    setup::{OrgSpec, organization, phone_number_id},
    steady::SteadyProfile,
    target::Endpoints,
};

/// Which suite to drive.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start every service in this process on `Backend` (a throwaway database, as tests do).
    Spawn(Backend),
    /// A running suite; the Graph API simulator starts here on `sim_port` and the suite must
    /// send through it (see docs/performance.md).
    External { endpoints: Endpoints, sim_port: u16 },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    /// Admin URL of the PostgreSQL to measure the raw baselines on (None: skip them).
    pub baseline_database_url: Option<String>,
    pub baseline_redis_url: Option<String>,
    pub baseline_secs: f64,
    /// Concurrent senders in the saturation phase, and tasks per baseline phase.
    pub concurrency: usize,
    /// 0 skips the saturation phase.
    pub saturation_secs: f64,
    pub saturation_agents: usize,
    /// Messages per second of the realistic phase; None: half the saturation assignment rate.
    pub rate: Option<f64>,
    /// 0 skips the realistic phase.
    pub steady_secs: f64,
    pub agents: usize,
    pub handle_ms: u64,
    pub poll_ms: u64,
    /// Customers of the realistic phase; None: enough that about a quarter of the messages
    /// follow up on an open conversation.
    pub contacts: Option<usize>,
    pub redeliver: f64,
    pub reorder: f64,
    /// Where the JSON report and the charts go (None: not written).
    pub out_dir: Option<PathBuf>,
    pub progress: bool,
}

impl Options {
    /// The `make bench` profile on `target`.
    pub fn bench(target: Target) -> Self {
        Self {
            target,
            baseline_database_url: Some(switchboard_testkit::database_admin_url()),
            baseline_redis_url: Some(switchboard_testkit::redis_url()),
            baseline_secs: 5.0,
            concurrency: 32,
            saturation_secs: 15.0,
            saturation_agents: 50,
            rate: None,
            steady_secs: 60.0,
            agents: 50,
            handle_ms: 3000,
            poll_ms: 1000,
            contacts: None,
            redeliver: 0.05,
            reorder: 0.05,
            out_dir: Some(PathBuf::from("target/bench")),
            progress: true,
        }
    }
}

fn bar(show: bool, len: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len}s {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs the phases and returns the judged report (printing progress lines to stderr).
pub async fn run(opts: Options) -> anyhow::Result<Report> {
    let started = chrono::Utc::now().to_rfc3339();
    let mut report = Report {
        started,
        target: String::new(),
        machine: Machine::read(),
        baselines: None,
        saturation: None,
        steady: None,
        ratios: Default::default(),
        checks: Vec::new(),
    };
    if let (Some(db), Some(redis)) = (&opts.baseline_database_url, &opts.baseline_redis_url) {
        eprintln!(
            "loadgen: baselines, {:.0} s each, {} tasks",
            opts.baseline_secs, opts.concurrency
        );
        report.baselines = Some(
            baseline::measure(&baseline::BaselineConfig {
                database_admin_url: db.clone(),
                redis_url: redis.clone(),
                seconds: opts.baseline_secs,
                concurrency: opts.concurrency,
            })
            .await?,
        );
    }
    let numbers = [phone_number_id(), phone_number_id()];
    let (sim, spawned, endpoints) = match &opts.target {
        Target::Spawn(backend) => {
            let sim = target::simulator("loadgen-app-secret", &numbers, None).await?;
            let (spawned, endpoints) = target::spawn(*backend, &sim).await?;
            report.target = format!(
                "{} in this process",
                match backend {
                    Backend::Embedded => "embedded default (SQLite, in-process bus and presence)",
                    Backend::Cluster => "PostgreSQL + Redis",
                }
            );
            (sim, Some(spawned), endpoints)
        }
        Target::External {
            endpoints,
            sim_port,
        } => {
            let sim = target::simulator(&endpoints.app_secret, &numbers, Some(*sim_port)).await?;
            sim.set_webhook_url(endpoints.webhook_url.clone());
            report.target = format!("running suite at {}", endpoints.webhook_url);
            (sim, None, endpoints.clone())
        }
    };
    let result = phases(&opts, &endpoints, &numbers, &mut report).await;
    if let Some(s) = spawned {
        s.stop().await?;
    }
    sim.stop().await;
    result?;
    report.judge();
    if let Some(dir) = &opts.out_dir {
        write_outputs(dir, &report)?;
    }
    Ok(report)
}

async fn phases(
    opts: &Options,
    endpoints: &Endpoints,
    numbers: &[String; 2],
    report: &mut Report,
) -> anyhow::Result<()> {
    let clients = endpoints.connect().await?;
    if opts.saturation_secs > 0.0 {
        let org = organization(
            &clients,
            OrgSpec {
                name: "Loadgen saturation",
                phone_number_id: &numbers[0],
                agents: opts.saturation_agents,
                capacity: 100,
                strategy: TeamStrategy::LeastOpen,
                contacts: 0,
                contact_prefix: "5411",
            },
        )
        .await?;
        eprintln!(
            "loadgen: saturation, {:.0} s, {} senders, {} agents × 100",
            opts.saturation_secs, opts.concurrency, opts.saturation_agents
        );
        let bar = bar(opts.progress, opts.saturation_secs as u64);
        let sat = saturation::run(
            endpoints,
            &clients,
            &org,
            opts.saturation_secs,
            opts.concurrency,
            &bar,
        )
        .await?;
        bar.finish_and_clear();
        report.saturation = Some(sat);
    }
    if opts.steady_secs > 0.0 {
        let rate = opts
            .rate
            .or_else(|| {
                report
                    .saturation
                    .as_ref()
                    .map(|s| (s.assignments_per_sec / 2.0).max(1.0))
            })
            .unwrap_or(20.0);
        let handle_s = opts.handle_ms as f64 / 1000.0;
        // Little's law with room: held conversations ≈ rate × (handle + poll) × 1.5.
        let held = rate * (handle_s + opts.poll_ms as f64 / 1000.0 + 0.5) * 1.5;
        let capacity = ((held / opts.agents.max(1) as f64).ceil() as i32).clamp(2, 100);
        let contacts = opts
            .contacts
            .unwrap_or(((rate * handle_s * 4.0) as usize).max(500));
        eprintln!(
            "loadgen: realistic, {rate:.1} msg/s for {:.0} s, {} agents × {capacity}, {contacts} customers",
            opts.steady_secs, opts.agents
        );
        let org = organization(
            &clients,
            OrgSpec {
                name: "Loadgen realistic",
                phone_number_id: &numbers[1],
                agents: opts.agents,
                capacity,
                strategy: TeamStrategy::LeastOpen,
                contacts,
                contact_prefix: "5491",
            },
        )
        .await?;
        let bar = bar(opts.progress, opts.steady_secs as u64);
        let steady = steady::run(
            endpoints,
            &clients,
            &org,
            SteadyProfile {
                rate,
                seconds: opts.steady_secs,
                handle_ms: opts.handle_ms,
                poll_ms: opts.poll_ms,
                redeliver: opts.redeliver,
                reorder: opts.reorder,
            },
            &bar,
        )
        .await?;
        bar.finish_and_clear();
        report.steady = Some(steady);
    }
    Ok(())
}

fn write_outputs(dir: &std::path::Path, report: &Report) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("loadgen.json"), serde_json::to_vec_pretty(report)?)?;
    let series = |timeline: &[stats::Second]| {
        vec![
            chart::Series {
                name: "ack p50".into(),
                color: "#1f77b4".into(),
                points: timeline
                    .iter()
                    .filter(|s| s.webhooks_acked > 0)
                    .map(|s| (s.t as f64, s.ack_p50_ms))
                    .collect(),
            },
            chart::Series {
                name: "ack p99".into(),
                color: "#d62728".into(),
                points: timeline
                    .iter()
                    .filter(|s| s.webhooks_acked > 0)
                    .map(|s| (s.t as f64, s.ack_p99_ms))
                    .collect(),
            },
        ]
    };
    let charts = [
        report.steady.as_ref().map(|s| {
            (
                "loadgen-realistic.svg",
                format!(
                    "Webhook acknowledgement, Poisson {:.0} msg/s",
                    s.profile.rate
                ),
                &s.timeline,
            )
        }),
        report.saturation.as_ref().map(|s| {
            (
                "loadgen-saturation.svg",
                format!(
                    "Webhook acknowledgement at saturation, {} senders",
                    s.concurrency
                ),
                &s.timeline,
            )
        }),
    ];
    for (file, title, timeline) in charts.into_iter().flatten() {
        std::fs::write(
            dir.join(file),
            chart::latency_svg(
                &format!("{title} ({})", report.target),
                "ms",
                &series(timeline),
            ),
        )?;
    }
    Ok(())
}
