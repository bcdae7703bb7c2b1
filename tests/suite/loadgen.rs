//! The load generator behind `make bench`, run briefly: it must drive the real suite end to end
//! (signed webhooks, routing, simulated agents replying through the Graph API simulator) and its
//! report must add up — every acknowledged message stored exactly once, every conversation
//! assigned, no agent above capacity, and the ratio lines printed last.

use switchboard_loadgen::{Options, Target, run};
use switchboard_testkit::Backend;

use crate::on_both_backends;

async fn a_short_run_adds_up(backend: Backend) -> anyhow::Result<()> {
    let mut opts = Options::bench(Target::Spawn(backend));
    opts.baseline_secs = 0.5;
    opts.concurrency = 4;
    opts.saturation_secs = 2.0;
    opts.saturation_agents = 3;
    opts.rate = Some(8.0);
    opts.steady_secs = 4.0;
    opts.agents = 3;
    opts.handle_ms = 400;
    opts.poll_ms = 100;
    opts.contacts = Some(40);
    opts.redeliver = 0.3;
    opts.reorder = 0.2;
    opts.out_dir = None;
    opts.progress = false;
    let report = run(opts).await?;

    let sat = report.saturation.as_ref().expect("saturation ran");
    anyhow::ensure!(sat.errors.is_empty(), "saturation errors: {:?}", sat.errors);
    anyhow::ensure!(sat.webhooks_acked > 0, "nothing acknowledged");
    // Each webhook came from a new customer: one conversation each, all assigned once drained.
    anyhow::ensure!(
        sat.assignments == sat.webhooks_acked,
        "{} acknowledged, {} assigned",
        sat.webhooks_acked,
        sat.assignments
    );
    anyhow::ensure!(sat.messages_stored == Some(sat.webhooks_acked));

    let steady = report.steady.as_ref().expect("realistic phase ran");
    anyhow::ensure!(
        steady.errors.is_empty(),
        "steady errors: {:?}",
        steady.errors
    );
    // Redeliveries and reordered pairs were sent, and the channel stored each message once.
    anyhow::ensure!(steady.redeliveries > 0 && steady.webhooks_sent > steady.messages_acked);
    anyhow::ensure!(
        steady.messages_stored == Some(steady.messages_acked),
        "{:?} stored, {} acknowledged",
        steady.messages_stored,
        steady.messages_acked
    );
    anyhow::ensure!(steady.assignments > 0 && steady.replies_sent > 0 && steady.closed > 0);
    anyhow::ensure!(steady.webhook_to_assigned.count > 0 && steady.queue_wait.count > 0);
    anyhow::ensure!(steady.load.peak_held <= steady.load.capacity as u64);
    anyhow::ensure!(
        steady.decisions.unwrap_or(0) > 0,
        "routing's decision histogram was not read"
    );

    // Baselines ran against the same PostgreSQL and Redis; the report ends with the ratios.
    let table = report.table();
    let tail: Vec<&str> = table.trim_end().lines().rev().take(3).collect();
    for name in [
        "ingest_vs_raw_insert",
        "assign_vs_raw_claim",
        "redis_load_vs_ceiling",
    ] {
        if name == "redis_load_vs_ceiling" && backend == Backend::Embedded {
            continue; // no Redis in the embedded suite
        }
        anyhow::ensure!(
            tail.iter()
                .any(|l| l.starts_with(&format!("ratio {name}="))),
            "no `ratio {name}=` among the last lines:\n{table}"
        );
    }
    Ok(())
}
on_both_backends!(a_short_run_adds_up);
