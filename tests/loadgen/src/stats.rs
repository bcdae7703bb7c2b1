//! What the load generator records while it runs: latency histograms, errors by kind, a
//! per-second timeline, and the Prometheus histograms it reads off the services.

use std::{
    collections::BTreeMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Percentiles of one latency distribution, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

fn new_histogram() -> Histogram<u64> {
    // Microseconds, 1 µs to 1 h, 3 significant figures.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

fn summarize(h: &Histogram<u64>) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    LatencySummary {
        count: h.len(),
        p50_ms: ms(h.value_at_quantile(0.50)),
        p90_ms: ms(h.value_at_quantile(0.90)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
    }
}

/// A latency distribution that many tasks record into.
pub struct Latency(Mutex<Histogram<u64>>);

impl Default for Latency {
    fn default() -> Self {
        Self(Mutex::new(new_histogram()))
    }
}

impl Latency {
    pub fn record(&self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(1, 3_600_000_000);
        self.0.lock().expect("histogram").saturating_record(us);
    }

    pub fn summary(&self) -> LatencySummary {
        summarize(&self.0.lock().expect("histogram"))
    }
}

/// Errors counted by kind (`webhook_http_503`, `rpc_OpenConversation_NOT_FOUND`, …).
#[derive(Default)]
pub struct Errors(Mutex<BTreeMap<String, u64>>);

impl Errors {
    pub fn add(&self, kind: impl Into<String>) {
        *self
            .0
            .lock()
            .expect("errors")
            .entry(kind.into())
            .or_default() += 1;
    }

    pub fn rpc(&self, method: &str, status: &tonic::Status) {
        self.add(format!("rpc_{method}_{:?}", status.code()));
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().expect("errors").clone()
    }

    pub fn total(&self) -> u64 {
        self.0.lock().expect("errors").values().sum()
    }
}

/// One second of a phase.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the phase started.
    pub t: u64,
    pub webhooks_acked: u64,
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
    pub assignments: u64,
}

struct Slot {
    ack: Histogram<u64>,
    assignments: u64,
}

/// Per-second acknowledgement latency and assignment counts of a phase.
pub struct Timeline {
    start: Instant,
    slots: Mutex<Vec<Slot>>,
}

impl Timeline {
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            slots: Mutex::new(Vec::new()),
        }
    }

    fn with_slot(&self, at: Instant, f: impl FnOnce(&mut Slot)) {
        let i = at.saturating_duration_since(self.start).as_secs() as usize;
        let mut slots = self.slots.lock().expect("timeline");
        while slots.len() <= i {
            slots.push(Slot {
                ack: new_histogram(),
                assignments: 0,
            });
        }
        f(&mut slots[i]);
    }

    /// A webhook sent at `sent` was acknowledged after `latency`.
    pub fn ack(&self, sent: Instant, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, 3_600_000_000);
        self.with_slot(sent, |s| s.ack.saturating_record(us));
    }

    pub fn assignment(&self, at: Instant) {
        self.with_slot(at, |s| s.assignments += 1);
    }

    pub fn seconds(&self) -> Vec<Second> {
        self.slots
            .lock()
            .expect("timeline")
            .iter()
            .enumerate()
            .map(|(t, s)| {
                let sum = summarize(&s.ack);
                Second {
                    t: t as u64,
                    webhooks_acked: sum.count,
                    ack_p50_ms: sum.p50_ms,
                    ack_p99_ms: sum.p99_ms,
                    assignments: s.assignments,
                }
            })
            .collect()
    }
}

/// The cumulative buckets of one Prometheus histogram series (`le` → count), summed over the
/// series whose labels contain every `label="value"` pair asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromHistogram {
    pub buckets: Vec<(f64, f64)>,
    pub count: f64,
}

impl PromHistogram {
    /// Reads `name` from Prometheus text exposition, keeping series that match `labels`.
    pub fn parse(text: &str, name: &str, labels: &[(&str, &str)]) -> Self {
        let mut buckets: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        let mut count = 0.0;
        let bucket_prefix = format!("{name}_bucket{{");
        let count_prefix = format!("{name}_count");
        for line in text.lines() {
            let (series, value) = match line.rsplit_once(' ') {
                Some((s, v)) => (s, v.parse::<f64>().unwrap_or(0.0)),
                None => continue,
            };
            let matches = |series: &str| {
                labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
            };
            if let Some(rest) = series.strip_prefix(&bucket_prefix) {
                if !matches(rest) {
                    continue;
                }
                let Some(le) = rest.split("le=\"").nth(1).and_then(|s| s.split('"').next()) else {
                    continue;
                };
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap_or(f64::INFINITY)
                };
                let e = buckets.entry(le.to_bits()).or_insert((le, 0.0));
                e.1 += value;
            } else if series.starts_with(&count_prefix) && matches(series) {
                count += value;
            }
        }
        let mut buckets: Vec<(f64, f64)> = buckets.into_values().collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self { buckets, count }
    }

    /// What was observed between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        let before = |le: f64| {
            earlier
                .buckets
                .iter()
                .find(|(l, _)| *l == le)
                .map_or(0.0, |b| b.1)
        };
        Self {
            buckets: self
                .buckets
                .iter()
                .map(|&(le, c)| (le, c - before(le)))
                .collect(),
            count: self.count - earlier.count,
        }
    }

    /// The `q` quantile in seconds, interpolated linearly within its bucket as Prometheus's
    /// `histogram_quantile` does; None without observations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.last().map(|b| b.1)?;
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut prev = (0.0, 0.0);
        for &(le, c) in &self.buckets {
            if c >= rank {
                if le.is_infinite() {
                    return Some(prev.0);
                }
                let width = c - prev.1;
                let frac = if width > 0.0 {
                    (rank - prev.1) / width
                } else {
                    1.0
                };
                return Some(prev.0 + (le - prev.0) * frac);
            }
            prev = (le, c);
        }
        Some(prev.0)
    }
}

/// The sum of the counter `name` over series matching `labels`.
pub fn prom_counter(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            (*series == name || series.starts_with(&format!("{name}{{")))
                && labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|(_, v)| v.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP switchboard_routing_decision_seconds d
# TYPE switchboard_routing_decision_seconds histogram
switchboard_routing_decision_seconds_bucket{outcome="assigned",le="0.01"} 50
switchboard_routing_decision_seconds_bucket{outcome="assigned",le="0.05"} 90
switchboard_routing_decision_seconds_bucket{outcome="assigned",le="0.1"} 100
switchboard_routing_decision_seconds_bucket{outcome="assigned",le="+Inf"} 100
switchboard_routing_decision_seconds_sum{outcome="assigned"} 1.5
switchboard_routing_decision_seconds_count{outcome="assigned"} 100
switchboard_routing_decision_seconds_bucket{outcome="queued",le="0.01"} 1
switchboard_routing_decision_seconds_bucket{outcome="queued",le="0.05"} 1
switchboard_routing_decision_seconds_bucket{outcome="queued",le="0.1"} 1
switchboard_routing_decision_seconds_bucket{outcome="queued",le="+Inf"} 1
switchboard_routing_decision_seconds_count{outcome="queued"} 1
switchboard_channel_inbound_messages_total{outcome="stored"} 7
switchboard_channel_inbound_messages_total{outcome="duplicate"} 2
"#;

    #[test]
    fn histogram_quantiles_interpolate_within_the_bucket() {
        let h = PromHistogram::parse(TEXT, "switchboard_routing_decision_seconds", &[]);
        assert_eq!(h.count, 101.0);
        assert_eq!(h.buckets.len(), 4);
        let assigned = PromHistogram::parse(
            TEXT,
            "switchboard_routing_decision_seconds",
            &[("outcome", "assigned")],
        );
        assert_eq!(assigned.count, 100.0);
        // rank 50 falls at the top of the first bucket; rank 99 in the third (90..100 → 0.05..0.1).
        assert!((assigned.quantile(0.5).unwrap() - 0.01).abs() < 1e-9);
        assert!((assigned.quantile(0.99).unwrap() - 0.095).abs() < 1e-9);
        assert_eq!(PromHistogram::default().quantile(0.5), None);
    }

    #[test]
    fn histogram_deltas_subtract_bucket_by_bucket() {
        let later = PromHistogram::parse(
            TEXT,
            "switchboard_routing_decision_seconds",
            &[("outcome", "assigned")],
        );
        let earlier = PromHistogram {
            buckets: vec![
                (0.01, 50.0),
                (0.05, 50.0),
                (0.1, 50.0),
                (f64::INFINITY, 50.0),
            ],
            count: 50.0,
        };
        let d = later.since(&earlier);
        assert_eq!(d.count, 50.0);
        // All 50 new observations are above 0.01: the median is inside (0.01, 0.05].
        let p50 = d.quantile(0.5).unwrap();
        assert!(p50 > 0.01 && p50 <= 0.05, "{p50}");
    }

    #[test]
    fn counters_sum_matching_series_only() {
        let stored = prom_counter(
            TEXT,
            "switchboard_channel_inbound_messages_total",
            &[("outcome", "stored")],
        );
        assert_eq!(stored, 7.0);
        assert_eq!(
            prom_counter(TEXT, "switchboard_channel_inbound_messages_total", &[]),
            9.0
        );
    }

    #[test]
    fn latency_percentiles_come_from_what_was_recorded() {
        let l = Latency::default();
        for ms in 1..=100 {
            l.record(Duration::from_millis(ms));
        }
        let s = l.summary();
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
    }

    #[test]
    fn timeline_buckets_by_the_second_of_sending() {
        let start = Instant::now();
        let t = Timeline::new(start);
        t.ack(start, Duration::from_millis(5));
        t.ack(
            start + Duration::from_millis(2500),
            Duration::from_millis(7),
        );
        t.assignment(start + Duration::from_millis(2600));
        let s = t.seconds();
        assert_eq!(s.len(), 3);
        assert_eq!(
            (
                s[0].webhooks_acked,
                s[1].webhooks_acked,
                s[2].webhooks_acked
            ),
            (1, 0, 1)
        );
        assert_eq!(s[2].assignments, 1);
    }
}
