//! What an SRE charts about integrations.

use prometheus::{Histogram, IntCounterVec, IntGauge};
use switchboard_runtime::metrics::{LATENCY_BUCKETS, Metrics};

/// Integrations' metrics, registered in the process's registry.
#[derive(Clone)]
pub struct IntegrationsMetrics {
    /// `switchboard_integrations_feed_events_total{topic}`.
    pub feed_events: IntCounterVec,
    /// `switchboard_integrations_webhook_attempts_total{outcome}`.
    pub attempts: IntCounterVec,
    /// `switchboard_integrations_webhook_attempt_seconds`.
    pub attempt_seconds: Histogram,
    /// `switchboard_integrations_webhook_delivery_seconds`.
    pub delivery_seconds: Histogram,
    /// `switchboard_integrations_webhook_pending_deliveries`.
    pub pending: IntGauge,
    /// `switchboard_integrations_feed_streams`.
    pub streams: IntGauge,
}

/// From a few seconds to the 27.5 hours of the default retry schedule.
const DELIVERY_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 100000.0,
];

impl IntegrationsMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            feed_events: metrics.counter_vec(
                "switchboard_integrations_feed_events_total",
                "Events appended to the organizations' feeds, by topic (redeliveries not counted)",
                &["topic"],
            ),
            attempts: metrics.counter_vec(
                "switchboard_integrations_webhook_attempts_total",
                "Webhook POSTs, by outcome (delivered: 2xx, rejected: another status, unreachable: no answer or timeout)",
                &["outcome"],
            ),
            attempt_seconds: metrics.histogram(
                "switchboard_integrations_webhook_attempt_seconds",
                "Seconds one webhook POST took, whatever its outcome",
                LATENCY_BUCKETS,
            ),
            delivery_seconds: metrics.histogram(
                "switchboard_integrations_webhook_delivery_seconds",
                "Seconds from an event's commit to its webhook's 2xx (first delivery only, retries included)",
                DELIVERY_BUCKETS,
            ),
            pending: metrics
                .gauge_vec(
                    "switchboard_integrations_webhook_pending_deliveries",
                    "Webhook deliveries waiting for an attempt (due or in backoff), every organization",
                    &[],
                )
                .with_label_values(&[] as &[&str]),
            streams: metrics
                .gauge_vec(
                    "switchboard_integrations_feed_streams",
                    "Feed streams (StreamEvents) open on this replica",
                    &[],
                )
                .with_label_values(&[] as &[&str]),
        }
    }
}
