//! The channel's Prometheus metrics, served on the webhook port at `/metrics`: what an SRE
//! charts for Meta's delivery contract (acknowledgement latency, refusals, 503s), dedup, the
//! status stream and outbound sends.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// The metrics of one channel service instance (own registry: several services may share a
/// process).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
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

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| {
        panic!("metric {name} is malformed: {e}");
    });
    let _ = registry.register(Box::new(c.clone()));
    c
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(vec![
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]);
    let h = HistogramVec::new(opts, labels).unwrap_or_else(|e| {
        panic!("metric {name} is malformed: {e}");
    });
    let _ = registry.register(Box::new(h.clone()));
    h
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        Self {
            webhook_requests: counter(
                &registry,
                "switchboard_channel_webhook_requests_total",
                "WhatsApp webhook POSTs by HTTP status",
                &["status"],
            ),
            webhook_seconds: histogram(
                &registry,
                "switchboard_channel_webhook_seconds",
                "Webhook acknowledgement latency (Meta asks for a median under 250 ms)",
                &["status"],
            ),
            inbound_messages: counter(
                &registry,
                "switchboard_channel_inbound_messages_total",
                "Inbound messages by outcome (stored, duplicate)",
                &["outcome"],
            ),
            status_reports: counter(
                &registry,
                "switchboard_channel_status_reports_total",
                "Status callbacks by outcome (advanced, stale, early)",
                &["outcome"],
            ),
            sends: counter(
                &registry,
                "switchboard_channel_sends_total",
                "Outbound sends by content kind and outcome (sent, failed)",
                &["kind", "outcome"],
            ),
            send_seconds: histogram(
                &registry,
                "switchboard_channel_send_seconds",
                "Graph API send latency, retries included",
                &["outcome"],
            ),
            registry,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
