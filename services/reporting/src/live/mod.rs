//! Live figures: per team, per number and per agent, and the organization as a whole, as they
//! are now (TaskRouter's real-time statistics are the anchor). They are answered from counters
//! kept as events are consumed (`reporting.live`: routing's conversation changes, presence's
//! agent events), never by scanning conversations: see docs/live-figures.md.
//!
//! - [`domain`]: what each conversation and agent counts for, free of storage and transport.
//! - [`store`]: the projection's tables, one transaction per event.
//! - [`consumer`]: the consumer group.
//! - [`figures`]: reading the figures for one organization.

pub mod consumer;
pub mod directory;
pub mod domain;
pub mod error;
pub mod figures;
pub mod metrics;
pub mod store;

use std::{sync::Arc, time::Duration};

use switchboard_runtime::clock::Clock;
use tokio_util::sync::CancellationToken;

pub use self::{
    directory::{Directory, RoutingDirectory},
    error::LiveError,
    figures::{Figures, FiguresFilter},
    metrics::LiveMetrics,
    store::LiveStore,
};

/// How long a tombstone (an ended conversation's last version) is kept: a change of the
/// conversation delivered later than that would count it again.
pub const TOMBSTONE_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The live-figures half of reporting: the projection and its readers.
#[derive(Clone)]
pub struct Live {
    pub store: LiveStore,
    pub directory: Arc<dyn Directory>,
    pub metrics: LiveMetrics,
    pub clock: Clock,
}

impl Live {
    pub fn new(
        store: LiveStore,
        directory: Arc<dyn Directory>,
        metrics: LiveMetrics,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            directory,
            metrics,
            clock,
        }
    }

    /// Forgets old tombstones every `every` until `shutdown`.
    pub async fn keep_pruning(self, every: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let cutoff = self.clock.now_ms() - TOMBSTONE_RETENTION.as_millis() as i64;
            match self.store.prune_tombstones(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "live figures: old tombstones forgotten"),
                Err(e) => tracing::warn!(error = %e, "live figures: tombstone pruning failed"),
            }
        }
    }
}
