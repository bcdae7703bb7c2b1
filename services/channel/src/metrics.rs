//! The channel's Prometheus metrics: what an SRE charts for Meta's delivery contract
//! (acknowledgement latency, refusals, 503s), dedup, the status stream and outbound sends.
//! Registered in the process's registry (served on `server.metrics_port`, and on the webhook
//! port at `/metrics` too).

use prometheus::{HistogramVec, IntCounterVec};

/// Buckets of the webhook and send latencies, in seconds.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The channel service's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: switchboard_runtime::metrics::Metrics,
    /// Webhook POSTs by HTTP status.
    pub webhook_requests: IntCounterVec,
    /// Seconds from request to answer, by HTTP status.
    pub webhook_seconds: HistogramVec,
    /// Inbound messages by outcome: stored, duplicate.
    pub inbound_messages: IntCounterVec,
    /// Status callbacks by outcome: advanced, stale, early.
    pub status_reports: IntCounterVec,
    /// Outbound sends by kind and outcome: sent, failed.
    pub sends: IntCounterVec,
    /// Seconds a Graph API send took (retries included), by outcome.
    pub send_seconds: HistogramVec,
}

impl Metrics {
    /// The channel's metrics, registered in `registry` (the process's).
    pub fn new(registry: &switchboard_runtime::metrics::Metrics) -> Self {
        Self {
            webhook_requests: registry.counter_vec(
                "switchboard_channel_webhook_requests_total",
                "WhatsApp webhook POSTs by HTTP status",
                &["status"],
            ),
            webhook_seconds: registry.histogram_vec(
                "switchboard_channel_webhook_seconds",
                "Webhook acknowledgement latency (Meta asks for a median under 250 ms)",
                &["status"],
                BUCKETS,
            ),
            inbound_messages: registry.counter_vec(
                "switchboard_channel_inbound_messages_total",
                "Inbound messages by outcome (stored, duplicate)",
                &["outcome"],
            ),
            status_reports: registry.counter_vec(
                "switchboard_channel_status_reports_total",
                "Status callbacks by outcome (advanced, stale, early)",
                &["outcome"],
            ),
            sends: registry.counter_vec(
                "switchboard_channel_sends_total",
                "Outbound sends by content kind and outcome (sent, failed)",
                &["kind", "outcome"],
            ),
            send_seconds: registry.histogram_vec(
                "switchboard_channel_send_seconds",
                "Graph API send latency, retries included",
                &["outcome"],
                BUCKETS,
            ),
            registry: registry.clone(),
        }
    }

    /// The Prometheus text exposition of the whole process registry (every service here).
    pub fn render(&self) -> String {
        self.registry.render()
    }
}
