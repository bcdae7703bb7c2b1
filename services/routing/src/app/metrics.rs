//! Routing's Prometheus metrics: how long a routing decision takes and what it decides, which
//! rule assigns, the lifecycle's state changes and how long conversations wait in a queue.
//! Registered in the process's registry (served on `server.metrics_port`); the domain never sees
//! them.

use std::time::Instant;

use prometheus::{Histogram, HistogramVec, IntCounterVec};
use switchboard_runtime::metrics::{LATENCY_BUCKETS, Metrics, WAIT_BUCKETS};

use crate::store::conversations::NewTransition;

/// What a routing decision came to, as the decision histogram's `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// The domain's outcome (assigned, queued, waiting_for_owner), committed.
    Committed(crate::domain::decision::Outcome),
    /// Another replica changed the subject first; the decision was dropped (and its slot given
    /// back).
    Conflict,
    /// The decision failed (storage or presence unavailable).
    Error,
}

impl Decided {
    fn label(self) -> &'static str {
        match self {
            Decided::Committed(outcome) => outcome.as_str(),
            Decided::Conflict => "conflict",
            Decided::Error => "error",
        }
    }
}

/// The routing service's metrics.
#[derive(Clone)]
pub struct RoutingMetrics {
    decision_seconds: HistogramVec,
    assignments: IntCounterVec,
    transitions: IntCounterVec,
    queue_wait: Histogram,
    automatic_messages: IntCounterVec,
}

impl RoutingMetrics {
    /// Routing's metrics, registered in `metrics` (the process's).
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            decision_seconds: metrics.histogram_vec(
                "switchboard_routing_decision_seconds",
                "Wall time of one routing decision (conversation or work item), from planning through presence's Reserve to the commit, by outcome",
                &["outcome"],
                LATENCY_BUCKETS,
            ),
            assignments: metrics.counter_vec(
                "switchboard_routing_assignments_total",
                "Conversations and work items given to an agent, by the rule that chose it",
                &["rule"],
            ),
            transitions: metrics.counter_vec(
                "switchboard_routing_transitions_total",
                "Conversation state changes, by the state entered",
                &["to"],
            ),
            queue_wait: metrics.histogram(
                "switchboard_routing_queue_wait_seconds",
                "Seconds a conversation waited in a queue before an agent got it (routed, offered or picked)",
                WAIT_BUCKETS,
            ),
            automatic_messages: metrics.counter_vec(
                "switchboard_routing_automatic_messages_total",
                "Automatic messages (out_of_hours, no_agent_available, all_at_capacity, assigned) by outcome: sent, skipped (window closed, conversation ended, campaign reply, already sent to the contact today) or failed; each trigger counted once",
                &["kind", "outcome"],
            ),
        }
    }

    /// Records how one trigger's automatic message ended (`sent`, `skipped`, `failed`).
    pub fn automatic_message(&self, kind: &str, outcome: &str) {
        self.automatic_messages
            .with_label_values(&[kind, outcome])
            .inc();
    }

    /// Records a decision that started at `started`.
    pub fn decided(&self, started: Instant, decided: Decided) {
        self.decision_seconds
            .with_label_values(&[decided.label()])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Records a committed assignment chosen by `rule` (a routing rule's name, or `picked`).
    pub fn assigned(&self, rule: &str) {
        self.assignments.with_label_values(&[rule]).inc();
    }

    /// Records the state changes of a committed change (a move between queues or a finalize
    /// keeps the state and is not counted).
    pub fn transitions(&self, transitions: &[NewTransition]) {
        for t in transitions
            .iter()
            .filter(|t| t.from_state != Some(t.to_state))
        {
            self.transitions
                .with_label_values(&[t.to_state.as_str()])
                .inc();
        }
    }

    /// Records how long a conversation queued since `queue_ms` waited until `now_ms` (the
    /// routing clock's milliseconds).
    pub fn waited(&self, queue_ms: Option<i64>, now_ms: i64) {
        if let Some(since) = queue_ms {
            self.queue_wait
                .observe((now_ms - since).max(0) as f64 / 1000.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use switchboard_runtime::metrics::sum_samples;

    use super::*;
    use crate::domain::{
        conversation::{Actor, Cause, State},
        decision::Outcome,
    };

    fn t(from: Option<State>, to: State) -> NewTransition {
        NewTransition {
            from_state: from,
            to_state: to,
            from_agent: None,
            to_agent: None,
            to_team: None,
            actor: Actor::system(),
            cause: Cause::Routed,
            detail: String::new(),
            decision_id: None,
        }
    }

    #[test]
    fn decisions_transitions_and_waits_are_recorded_with_their_labels() {
        let metrics = Metrics::new();
        let m = RoutingMetrics::new(&metrics);
        let started = Instant::now();
        m.decided(started, Decided::Committed(Outcome::Assigned));
        m.decided(started, Decided::Committed(Outcome::WaitingForOwner));
        m.decided(started, Decided::Conflict);
        m.assigned("campaign");
        m.transitions(&[
            t(None, State::Queued),
            t(Some(State::Queued), State::Assigned),
            // A move between queues, a finalize: the state stays.
            t(Some(State::Queued), State::Queued),
            t(Some(State::Expired), State::Expired),
        ]);
        m.waited(Some(1_000), 31_000);
        m.waited(None, 31_000);
        let text = metrics.render();
        let n = |name: &str, labels: &[(&str, &str)]| sum_samples(&text, name, labels);
        let decisions = "switchboard_routing_decision_seconds_count";
        assert_eq!(n(decisions, &[("outcome", "assigned")]), Some(1.0));
        assert_eq!(n(decisions, &[("outcome", "waiting_for_owner")]), Some(1.0));
        assert_eq!(n(decisions, &[("outcome", "conflict")]), Some(1.0));
        assert_eq!(
            n(
                "switchboard_routing_assignments_total",
                &[("rule", "campaign")]
            ),
            Some(1.0)
        );
        let transitions = "switchboard_routing_transitions_total";
        assert_eq!(n(transitions, &[("to", "queued")]), Some(1.0), "{text}");
        assert_eq!(n(transitions, &[("to", "assigned")]), Some(1.0));
        assert_eq!(n(transitions, &[("to", "expired")]), None);
        assert_eq!(
            n("switchboard_routing_queue_wait_seconds_count", &[]),
            Some(1.0)
        );
        assert_eq!(
            n("switchboard_routing_queue_wait_seconds_sum", &[]),
            Some(30.0)
        );
    }
}
