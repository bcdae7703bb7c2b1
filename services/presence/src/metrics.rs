//! Presence's Prometheus metrics: how long a slot reservation takes on the live store and what
//! it decides. Registered in the process's registry (served on `server.metrics_port`).

use std::time::Instant;

use prometheus::{HistogramVec, IntCounterVec};
use switchboard_runtime::metrics::{LATENCY_BUCKETS, Metrics};

use crate::{domain::ReserveOutcome, error::PresenceError};

/// The presence service's metrics.
#[derive(Clone)]
pub struct PresenceMetrics {
    /// Which live store answers: `redis` or `memory`.
    store: &'static str,
    reserve_seconds: HistogramVec,
    reservations: IntCounterVec,
}

impl PresenceMetrics {
    /// Presence's metrics in `metrics`, for reservations made on `store` (`redis`, `memory`).
    pub fn new(metrics: &Metrics, store: &'static str) -> Self {
        Self {
            store,
            reserve_seconds: metrics.histogram_vec(
                "switchboard_presence_reserve_seconds",
                "Seconds one slot reservation took in presence (pick and take, atomically), by live store",
                &["store"],
                LATENCY_BUCKETS,
            ),
            reservations: metrics.counter_vec(
                "switchboard_presence_reservations_total",
                "Slot reservations by outcome (reserved, no_agent_available, agent_not_available, agent_at_capacity, agent_not_linked, rebuilding, error)",
                &["outcome"],
            ),
        }
    }

    /// Records one reservation that started at `started` and ended with `result`.
    pub fn reserved(&self, started: Instant, result: Result<&ReserveOutcome, &PresenceError>) {
        self.reserve_seconds
            .with_label_values(&[self.store])
            .observe(started.elapsed().as_secs_f64());
        let label = match result {
            Ok(outcome) => outcome_label(outcome),
            Err(PresenceError::Rebuilding) => "rebuilding",
            Err(_) => "error",
        };
        self.reservations.with_label_values(&[label]).inc();
    }
}

/// The label of a reservation's outcome.
fn outcome_label(outcome: &ReserveOutcome) -> &'static str {
    match outcome {
        ReserveOutcome::Granted(_) => "reserved",
        ReserveOutcome::NoAgentAvailable => "no_agent_available",
        ReserveOutcome::AgentNotAvailable => "agent_not_available",
        ReserveOutcome::AgentAtCapacity => "agent_at_capacity",
        ReserveOutcome::AgentNotLinked => "agent_not_linked",
    }
}

#[cfg(test)]
mod tests {
    use switchboard_runtime::metrics::sum_samples;

    use super::*;

    #[test]
    fn reservations_are_counted_by_outcome_and_timed_by_store() {
        let metrics = Metrics::new();
        let m = PresenceMetrics::new(&metrics, "memory");
        let started = Instant::now();
        m.reserved(started, Ok(&ReserveOutcome::AgentAtCapacity));
        m.reserved(started, Ok(&ReserveOutcome::NoAgentAvailable));
        m.reserved(started, Err(&PresenceError::Rebuilding));
        let text = metrics.render();
        for (outcome, n) in [
            ("agent_at_capacity", 1.0),
            ("no_agent_available", 1.0),
            ("rebuilding", 1.0),
        ] {
            assert_eq!(
                sum_samples(
                    &text,
                    "switchboard_presence_reservations_total",
                    &[("outcome", outcome)]
                ),
                Some(n),
                "{text}"
            );
        }
        assert_eq!(
            sum_samples(
                &text,
                "switchboard_presence_reserve_seconds_count",
                &[("store", "memory")]
            ),
            Some(3.0)
        );
    }
}
