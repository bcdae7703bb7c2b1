//! Prometheus metrics: one registry per process (per [`crate::Infra`], never a global one, so
//! several suites in one test binary never see each other's numbers), served on
//! `server.metrics_port` at `/metrics`.
//!
//! Services ask the handle for their metrics by name; asking again for the same name returns the
//! same metric, so several services of one process (or two outbox relays) share one series family
//! and differ by label.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The content type of [`Metrics::render`]'s output (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Buckets for fast operations (an RPC, a routing decision, a reservation), in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Buckets for delays that can grow to minutes when a dependency is down (outbox lag).
pub const LAG_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Buckets for people waiting (a conversation in a queue), up to an hour.
pub const WAIT_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// A cheap-to-clone handle on one process's metric registry.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    registry: Registry,
    /// What each registered name is, so asking twice returns the same metric.
    known: Mutex<HashMap<String, Known>>,
}

#[derive(Clone)]
enum Known {
    Counter(IntCounterVec, Vec<String>),
    Histogram(HistogramVec, Vec<String>),
    Plain(Histogram),
    Gauge(IntGaugeVec, Vec<String>),
}

impl Known {
    fn describe(&self) -> String {
        match self {
            Known::Counter(_, l) => format!("a counter with labels {l:?}"),
            Known::Histogram(_, l) => format!("a histogram with labels {l:?}"),
            Known::Plain(_) => "a histogram without labels".into(),
            Known::Gauge(_, l) => format!("a gauge with labels {l:?}"),
        }
    }

    fn collector(&self) -> Box<dyn prometheus::core::Collector> {
        match self {
            Known::Counter(c, _) => Box::new(c.clone()),
            Known::Histogram(h, _) => Box::new(h.clone()),
            Known::Plain(h) => Box::new(h.clone()),
            Known::Gauge(g, _) => Box::new(g.clone()),
        }
    }
}

fn owned(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|l| (*l).to_string()).collect()
}

fn malformed<T>(name: &str) -> impl FnOnce(prometheus::Error) -> T {
    move |e| panic!("metric {name} is malformed: {e}")
}

// The constructors panic when `name` is malformed or already registered as another kind or
// with other labels: both are programming errors that any test starting the service finds.
impl Metrics {
    /// A fresh, empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The underlying registry (to register a collector this handle does not build).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Registers (or returns the already registered) counter `name` with `labels`.
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let found = self.entry(name, || {
            let c =
                IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(malformed(name));
            Known::Counter(c, owned(labels))
        });
        match found {
            Known::Counter(c, l) if l == owned(labels) => c,
            other => panic!("metric {name} is already {}", other.describe()),
        }
    }

    /// Registers (or returns) histogram `name` with `labels` and `buckets` (seconds).
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> HistogramVec {
        let found = self.entry(name, || {
            let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
            let h = HistogramVec::new(opts, labels).unwrap_or_else(malformed(name));
            Known::Histogram(h, owned(labels))
        });
        match found {
            Known::Histogram(h, l) if l == owned(labels) => h,
            other => panic!("metric {name} is already {}", other.describe()),
        }
    }

    /// Registers (or returns) histogram `name` without labels.
    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        let found = self.entry(name, || {
            let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
            Known::Plain(Histogram::with_opts(opts).unwrap_or_else(malformed(name)))
        });
        match found {
            Known::Plain(h) => h,
            other => panic!("metric {name} is already {}", other.describe()),
        }
    }

    /// Registers (or returns) gauge `name` with `labels`.
    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        let found = self.entry(name, || {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(malformed(name));
            Known::Gauge(g, owned(labels))
        });
        match found {
            Known::Gauge(g, l) if l == owned(labels) => g,
            other => panic!("metric {name} is already {}", other.describe()),
        }
    }

    /// The metric registered as `name`, or the one `create` makes, registered now (under one
    /// lock, so two callers racing for a name get the same metric).
    fn entry(&self, name: &str, create: impl FnOnce() -> Known) -> Known {
        let mut known = self
            .inner
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = known.get(name) {
            return found.clone();
        }
        let made = create();
        if let Err(err) = self.inner.registry.register(made.collector()) {
            panic!("metric {name} cannot be registered: {err}");
        }
        known.insert(name.to_string(), made.clone());
        made
    }

    /// Every metric in the Prometheus text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut out) {
            tracing::error!(error = %err, "metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The sum of the samples of `name` whose labels include every `(label, value)` of `matching`,
/// read from a text exposition; `None` when no sample matches. Tests and tools read numbers back
/// with it (`sum_samples(text, "x_seconds_count", &[("outcome", "assigned")])`).
pub fn sum_samples(text: &str, name: &str, matching: &[(&str, &str)]) -> Option<f64> {
    let mut total = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let pairs: Vec<&str> = labels.split(',').collect();
        let all = matching
            .iter()
            .all(|(k, v)| pairs.contains(&format!("{k}=\"{v}\"").as_str()));
        if let (true, Ok(v)) = (all, value.trim().parse::<f64>()) {
            *total.get_or_insert(0.0) += v;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_twice_returns_the_same_metric() {
        let m = Metrics::new();
        let a = m.counter_vec("t_total", "help", &["outcome"]);
        let b = m.counter_vec("t_total", "help", &["outcome"]);
        a.with_label_values(&["ok"]).inc();
        b.with_label_values(&["ok"]).inc();
        let text = m.render();
        assert!(text.contains("t_total{outcome=\"ok\"} 2"), "{text}");
    }

    #[test]
    fn two_handles_never_share_numbers() {
        let one = Metrics::new();
        let two = Metrics::new();
        one.counter_vec("t_total", "help", &[])
            .with_label_values::<&str>(&[])
            .inc();
        two.counter_vec("t_total", "help", &[]);
        assert_eq!(sum_samples(&one.render(), "t_total", &[]), Some(1.0));
        assert_eq!(sum_samples(&two.render(), "t_total", &[]), None);
        // A clone is the same registry.
        one.clone()
            .counter_vec("t_total", "help", &[])
            .with_label_values::<&str>(&[])
            .inc();
        assert_eq!(sum_samples(&one.render(), "t_total", &[]), Some(2.0));
    }

    #[test]
    #[should_panic(expected = "already a counter")]
    fn a_name_keeps_its_kind() {
        let m = Metrics::new();
        m.counter_vec("t_seconds", "help", &["a"]);
        m.histogram_vec("t_seconds", "help", &["a"], LATENCY_BUCKETS);
    }

    #[test]
    #[should_panic(expected = "labels")]
    fn a_name_keeps_its_labels() {
        let m = Metrics::new();
        m.gauge_vec("t_gauge", "help", &["a"]);
        m.gauge_vec("t_gauge", "help", &["b"]);
    }

    #[test]
    fn histograms_render_their_buckets_and_counts() {
        let m = Metrics::new();
        let h = m.histogram_vec("t_seconds", "help", &["outcome"], LATENCY_BUCKETS);
        h.with_label_values(&["assigned"]).observe(0.003);
        h.with_label_values(&["queued"]).observe(0.2);
        m.histogram("t_wait_seconds", "help", WAIT_BUCKETS)
            .observe(42.0);
        m.gauge_vec("t_depth", "help", &["team"])
            .with_label_values(&["a"])
            .set(3);
        let text = m.render();
        assert_eq!(
            sum_samples(&text, "t_seconds_count", &[("outcome", "assigned")]),
            Some(1.0)
        );
        assert_eq!(sum_samples(&text, "t_seconds_count", &[]), Some(2.0));
        assert_eq!(
            sum_samples(
                &text,
                "t_seconds_bucket",
                &[("outcome", "assigned"), ("le", "0.005")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sum_samples(
                &text,
                "t_seconds_bucket",
                &[("outcome", "assigned"), ("le", "0.0025")]
            ),
            Some(0.0)
        );
        assert_eq!(sum_samples(&text, "t_wait_seconds_sum", &[]), Some(42.0));
        assert_eq!(sum_samples(&text, "t_depth", &[("team", "a")]), Some(3.0));
        assert_eq!(sum_samples(&text, "t_depth", &[("team", "b")]), None);
        assert_eq!(sum_samples(&text, "t_missing", &[]), None);
    }
}
