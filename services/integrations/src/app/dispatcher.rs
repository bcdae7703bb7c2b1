//! The webhook dispatcher: claims due deliveries (several replicas share them, see
//! [`crate::store::Store::claim_due`]), POSTs each, and records the attempt with the delivery's
//! next step of the retry schedule, or its end.

use std::time::Duration;

use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::Integrations;
use crate::domain::webhook::{Delivery, DeliveryStatus, Trigger};

/// How long a claimed delivery is held before another replica may take it.
const LEASE_MS: i64 = 60_000;
/// When a disabled endpoint's pending deliveries are looked at again.
const DISABLED_RECHECK_MS: i64 = 60_000;

impl Integrations {
    /// Dispatches until `shutdown`, every `dispatch_interval_ms` or when woken.
    pub async fn run_dispatcher(self, shutdown: CancellationToken) {
        let every = Duration::from_millis(self.settings.webhooks.dispatch_interval_ms);
        loop {
            let handled = match self.dispatch_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook dispatch failed; retrying");
                    0
                }
            };
            if let Ok(n) = self.store.pending_count().await {
                self.metrics.pending.set(n);
            }
            // A full batch: more may be due at once.
            if handled >= self.settings.webhooks.batch_size as usize {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wakers.dispatcher.notified() => {}
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One pass: claims the due deliveries and attempts them, `concurrency` at a time.
    pub async fn dispatch_once(&self) -> anyhow::Result<usize> {
        let claimed = self
            .store
            .claim_due(
                self.clock.now_ms(),
                LEASE_MS,
                self.settings.webhooks.batch_size,
            )
            .await?;
        let n = claimed.len();
        futures::stream::iter(claimed)
            .for_each_concurrent(self.settings.webhooks.concurrency, |d| async move {
                if let Err(e) = self.attempt(&d).await {
                    tracing::warn!(delivery = %d.id, error = %e, "webhook attempt not recorded; retried after its lease");
                }
            })
            .await;
        Ok(n)
    }

    async fn attempt(&self, d: &Delivery) -> anyhow::Result<()> {
        let org = d.organization_id.parse()?;
        let Some((endpoint, secret)) = self
            .store
            .endpoint(&self.store.db, &org, &d.endpoint_id)
            .await?
        else {
            // Deleted meanwhile: its deliveries went with it.
            return Ok(());
        };
        if !endpoint.enabled {
            self.store
                .postpone(
                    &d.organization_id,
                    &d.id,
                    self.clock.now_ms() + DISABLED_RECHECK_MS,
                )
                .await?;
            return Ok(());
        }
        let attempt = self.post(&endpoint, &secret, d, Trigger::Scheduled).await;
        let count = d.attempt_count + 1;
        let (status, next) = if attempt.succeeded() {
            self.metrics
                .delivery_seconds
                .observe(((attempt.attempt_ms - d.occurred_ms).max(0) as f64) / 1000.0);
            (DeliveryStatus::Delivered, None)
        } else {
            match self.schedule().after_failures(count as usize) {
                Some(wait) => (
                    DeliveryStatus::Pending,
                    Some(attempt.attempt_ms + wait.as_millis() as i64),
                ),
                None => {
                    tracing::warn!(delivery = %d.id, endpoint = %endpoint.id, attempts = count, "webhook delivery failed for good");
                    (DeliveryStatus::Failed, None)
                }
            }
        };
        self.store
            .record_attempt(d, &attempt, status, count, next)
            .await?;
        Ok(())
    }
}
