//! What an SRE charts about ticketing.

use prometheus::{Histogram, IntCounter, IntCounterVec};
use switchboard_runtime::metrics::{LATENCY_BUCKETS, Metrics};

/// Ticketing's metrics, registered in the process's registry.
#[derive(Clone)]
pub struct TicketingMetrics {
    pub search_seconds: Histogram,
    pub tickets_created: IntCounter,
    pub histories_appended: IntCounterVec,
    pub proposals: IntCounterVec,
    pub links: IntCounterVec,
    pub close_checks: IntCounterVec,
}

impl TicketingMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            search_seconds: metrics.histogram(
                "switchboard_ticketing_search_seconds",
                "Seconds one ListTickets with a word query took in the database (count and page)",
                LATENCY_BUCKETS,
            ),
            tickets_created: metrics
                .counter_vec(
                    "switchboard_ticketing_tickets_created_total",
                    "Tickets created (directly or by linking a conversation to a new ticket)",
                    &[],
                )
                .with_label_values(&[] as &[&str]),
            histories_appended: metrics.counter_vec(
                "switchboard_ticketing_histories_total",
                "Conversation history appends, by outcome (appended, already: a redelivery or a replica's race, unlinked: no ticket)",
                &["outcome"],
            ),
            proposals: metrics.counter_vec(
                "switchboard_ticketing_proposals_total",
                "Ticket proposals, by source (customer_message, internal_service) and outcome (proposed, existing, confirmed, rejected, unknown_number)",
                &["source", "outcome"],
            ),
            links: metrics.counter_vec(
                "switchboard_ticketing_links_total",
                "Conversation link changes, by change (linked, unlinked)",
                &["change"],
            ),
            close_checks: metrics.counter_vec(
                "switchboard_ticketing_close_checks_total",
                "CheckClosePolicy answers, by outcome (not_required, linked, refused)",
                &["outcome"],
            ),
        }
    }
}
