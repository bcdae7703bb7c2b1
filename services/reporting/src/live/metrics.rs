//! What an SRE charts about live figures: how far the projection trails the events, and how
//! many events it applied, by topic and outcome.

use prometheus::{Histogram, IntCounterVec, IntGauge};

use switchboard_runtime::metrics::{LAG_BUCKETS, Metrics};

/// The live projection's metrics, registered in the process's registry.
#[derive(Clone)]
pub struct LiveMetrics {
    /// `switchboard_reporting_live_lag_seconds`: event time (the producer's commit) → applied.
    pub lag_seconds: Histogram,
    /// `switchboard_reporting_live_events_total{topic,outcome}`.
    pub events: IntCounterVec,
    /// `switchboard_reporting_live_watchers`: WatchLiveFigures streams open now.
    pub watchers: IntGauge,
}

impl LiveMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            lag_seconds: metrics.histogram(
                "switchboard_reporting_live_lag_seconds",
                "Seconds from an event's commit at its producer to its effect on the live figures",
                LAG_BUCKETS,
            ),
            events: metrics.counter_vec(
                "switchboard_reporting_live_events_total",
                "Events the live projection handled, by topic and outcome (applied, stale: an older version than stored, duplicate: a redelivery)",
                &["topic", "outcome"],
            ),
            watchers: metrics
                .gauge_vec(
                    "switchboard_reporting_live_watchers",
                    "WatchLiveFigures streams open on this replica",
                    &[],
                )
                .with_label_values(&[] as &[&str]),
        }
    }
}
