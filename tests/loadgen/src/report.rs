//! The end of a run: a table for people, JSON for machines, latency charts, and the ratio lines
//! (always the last lines of the output).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::{
    baseline::{Baselines, Rate},
    saturation::SaturationResult,
    stats::LatencySummary,
    steady::SteadyResult,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub os: String,
}

impl Machine {
    pub fn read() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_default();
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            })
            .unwrap_or_else(|| std::env::consts::OS.into());
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            os,
        }
    }
}

/// The targets, each with the figure it is judged on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub value: Option<f64>,
    pub target: String,
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ratios {
    /// Saturation webhooks acknowledged per second ÷ raw dedup inserts per second.
    pub ingest_vs_raw_insert: Option<f64>,
    /// Saturation assignments per second (end to end) ÷ raw `SKIP LOCKED` claims per second.
    pub assign_vs_raw_claim: Option<f64>,
    /// Redis commands per second during the realistic phase ÷ raw script calls per second.
    pub redis_load_vs_ceiling: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub started: String,
    pub target: String,
    pub machine: Machine,
    pub baselines: Option<Baselines>,
    pub saturation: Option<SaturationResult>,
    pub steady: Option<SteadyResult>,
    pub ratios: Ratios,
    pub checks: Vec<Check>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn check(name: &str, value: Option<f64>, target: &str, ok: impl Fn(f64) -> bool) -> Check {
    Check {
        name: name.into(),
        value,
        target: target.into(),
        met: value.map(ok),
    }
}

impl Report {
    /// Fills the ratios and the target checks from the measured phases.
    pub fn judge(&mut self) {
        let b = self.baselines.as_ref();
        let sat = self.saturation.as_ref();
        let steady = self.steady.as_ref();
        self.ratios = Ratios {
            ingest_vs_raw_insert: ratio(
                sat.map(|s| s.webhooks_per_sec),
                b.map(|b| b.raw_insert.per_sec),
            ),
            assign_vs_raw_claim: ratio(
                sat.map(|s| s.assignments_per_sec),
                b.map(|b| b.raw_claim.per_sec),
            ),
            redis_load_vs_ceiling: ratio(
                steady.and_then(|s| s.redis_commands_per_sec),
                b.map(|b| b.raw_redis_script.per_sec),
            ),
        };
        let errors = sat.map_or(0, |s| s.errors.values().sum::<u64>())
            + steady.map_or(0, |s| s.errors.values().sum::<u64>());
        self.checks = vec![
            check(
                "ingest_vs_raw_insert",
                self.ratios.ingest_vs_raw_insert,
                ">= 0.50",
                |v| v >= 0.5,
            ),
            check(
                "ack_p50_ms (steady)",
                steady.map(|s| s.ack.p50_ms),
                "<= 250",
                |v| v <= 250.0,
            ),
            check(
                "ack_p99_ms (steady)",
                steady.map(|s| s.ack.p99_ms),
                "< 1000",
                |v| v < 1000.0,
            ),
            check(
                "ack_p99_ms (saturation)",
                sat.map(|s| s.ack.p99_ms),
                "< 1000",
                |v| v < 1000.0,
            ),
            check(
                "assign_vs_raw_claim",
                self.ratios.assign_vs_raw_claim,
                ">= 0.50",
                |v| v >= 0.5,
            ),
            check(
                "decision_p99_ms (steady, half load)",
                steady.and_then(|s| s.decision_p99_ms),
                "<= 50",
                |v| v <= 50.0,
            ),
            check(
                "webhook_decay (saturation)",
                sat.filter(|s| s.seconds >= 300.0).map(|s| s.webhook_decay),
                "< 0.20 over 10 min",
                |v| v < 0.2,
            ),
            check(
                "assignment_decay (saturation)",
                sat.filter(|s| s.seconds >= 300.0)
                    .map(|s| s.assignment_decay),
                "< 0.20 over 10 min",
                |v| v < 0.2,
            ),
            check("errors", Some(errors as f64), "0", |v| v == 0.0),
        ];
    }

    /// The human-readable report; its last lines are the `ratio …` lines.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(w, "\n== Switchboard load report ({}) ==", self.target);
        let _ = writeln!(
            w,
            "machine: {} CPUs, {}, {}",
            self.machine.cpus, self.machine.cpu_model, self.machine.os
        );
        if let Some(b) = &self.baselines {
            let _ = writeln!(w, "\n-- baselines (same PostgreSQL and Redis, same run) --");
            let rate = |w: &mut String, name: &str, r: &Rate| {
                let _ = writeln!(
                    w,
                    "{name:<44} {:>10.0} /s   p50 {:>7.2} ms   p99 {:>7.2} ms",
                    r.per_sec, r.p50_ms, r.p99_ms
                );
            };
            rate(w, "raw INSERT … ON CONFLICT DO NOTHING", &b.raw_insert);
            rate(w, "raw FOR UPDATE SKIP LOCKED claim + event", &b.raw_claim);
            rate(
                w,
                "raw Redis script (least-loaded claim)",
                &b.raw_redis_script,
            );
        }
        let lat = |w: &mut String, name: &str, l: &LatencySummary| {
            let _ = writeln!(
                w,
                "{name:<44} p50 {:>8.1} ms   p99 {:>8.1} ms   max {:>8.1} ms   (n={})",
                l.p50_ms, l.p99_ms, l.max_ms, l.count
            );
        };
        if let Some(s) = &self.saturation {
            let _ = writeln!(
                w,
                "\n-- saturation: {} concurrent senders, {:.0} s, a new customer per webhook --",
                s.concurrency, s.seconds
            );
            let _ = writeln!(
                w,
                "{:<44} {:>10.0} /s   ({} acknowledged)",
                "webhooks acknowledged", s.webhooks_per_sec, s.webhooks_acked
            );
            lat(w, "webhook acknowledgement", &s.ack);
            let _ = writeln!(
                w,
                "{:<44} {:>10.0} /s   ({} assigned, backlog drained {:.1} s after the last webhook)",
                "assignments (end to end)", s.assignments_per_sec, s.assignments, s.drain_seconds
            );
            let windows: Vec<String> = s
                .windows
                .iter()
                .map(|x| format!("{:.0}/{:.0}", x.webhooks_per_sec, x.assignments_per_sec))
                .collect();
            let _ = writeln!(
                w,
                "{:<44} {}   (decay {:.1}% / {:.1}%)",
                "windows webhooks/assignments per s",
                windows.join(" "),
                s.webhook_decay * 100.0,
                s.assignment_decay * 100.0
            );
            if let Some(n) = s.messages_stored {
                let _ = writeln!(w, "{:<44} {n}", "messages stored by the channel");
            }
            errors(w, &s.errors);
        }
        if let Some(s) = &self.steady {
            let p = &s.profile;
            let _ = writeln!(
                w,
                "\n-- realistic: Poisson {:.1} msg/s for {:.0} s, {} agents × capacity {}, handle {:.1} s mean --",
                p.rate,
                p.seconds,
                s.load.agents,
                s.load.capacity,
                p.handle_ms as f64 / 1000.0
            );
            let _ = writeln!(
                w,
                "{:<44} {} sent, {} acknowledged, {} redelivered, {} out of order",
                "webhooks", s.webhooks_sent, s.webhooks_acked, s.redeliveries, s.reordered
            );
            let _ = writeln!(
                w,
                "{:<44} {} acknowledged, {} stored",
                "distinct customer messages",
                s.messages_acked,
                s.messages_stored.map_or("?".to_string(), |n| n.to_string())
            );
            lat(w, "webhook acknowledgement", &s.ack);
            lat(w, "webhook → assigned", &s.webhook_to_assigned);
            lat(w, "queue wait (created → assigned)", &s.queue_wait);
            let _ = writeln!(
                w,
                "{:<44} p50 {:>8} ms   p99 {:>8} ms   (n={})",
                "routing decision (routing's histogram)",
                s.decision_p50_ms.map_or("?".into(), |v| format!("{v:.1}")),
                s.decision_p99_ms.map_or("?".into(), |v| format!("{v:.1}")),
                s.decisions.map_or("?".into(), |v| v.to_string())
            );
            let _ = writeln!(
                w,
                "{:<44} {:>10.1} /s   ({} assigned, {} replies, {} closed, {} retries after ABORTED, {} waiting at the end)",
                "assignments",
                s.assignments_per_sec,
                s.assignments,
                s.replies_sent,
                s.closed,
                s.retries,
                s.waiting_at_end
            );
            let _ = writeln!(
                w,
                "{:<44} min {} / mean {:.1} / max {} per agent, cv {:.2}, peak held {} of {}",
                "agent load spread",
                s.load.assignments_min,
                s.load.assignments_mean,
                s.load.assignments_max,
                s.load.assignments_cv,
                s.load.peak_held,
                s.load.capacity
            );
            if let Some(r) = s.redis_commands_per_sec {
                let _ = writeln!(w, "{:<44} {:>10.0} /s", "Redis commands (all clients)", r);
            }
            errors(w, &s.errors);
        }
        let _ = writeln!(w, "\n-- targets --");
        for c in &self.checks {
            let verdict = match c.met {
                Some(true) => "met",
                Some(false) => "NOT MET",
                None => "not measured",
            };
            let _ = writeln!(
                w,
                "{:<44} {:>10}   target {:<20} {verdict}",
                c.name,
                c.value.map_or("-".into(), |v| format!("{v:.3}")),
                c.target
            );
        }
        let _ = writeln!(w);
        let line = |w: &mut String, name: &str, v: Option<f64>| {
            if let Some(v) = v {
                let _ = writeln!(w, "ratio {name}={v:.3}");
            }
        };
        line(w, "ingest_vs_raw_insert", self.ratios.ingest_vs_raw_insert);
        line(w, "assign_vs_raw_claim", self.ratios.assign_vs_raw_claim);
        line(
            w,
            "redis_load_vs_ceiling",
            self.ratios.redis_load_vs_ceiling,
        );
        out
    }
}

fn errors(w: &mut String, errors: &std::collections::BTreeMap<String, u64>) {
    if errors.is_empty() {
        let _ = writeln!(w, "{:<44} none", "errors");
    } else {
        for (kind, n) in errors {
            let _ = writeln!(w, "{:<44} {n}", format!("error {kind}"));
        }
    }
}
