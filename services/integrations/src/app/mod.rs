//! Integrations' application logic over the store and routing (roles): the feed's appender
//! (consumers), its readers (feed), endpoints and deliveries (webhooks), the dispatcher that
//! POSTs them, and the retention trim. Transport-free: the gRPC adapter calls in with domain
//! types.

pub mod body;
pub mod consumers;
pub mod directory;
pub mod dispatcher;
pub mod feed;
pub mod metrics;
pub mod webhooks;

use std::{sync::Arc, time::Duration};

use switchboard_runtime::{
    clock::Clock,
    config::IntegrationsSettings,
    ids::{AgentId, OrganizationId},
};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{Role, webhook::RetrySchedule},
    error::IntegrationsError,
    store::Store,
};
pub use metrics::IntegrationsMetrics;

/// What the service's parts share to wake each other after a commit in this process.
#[derive(Clone)]
pub struct Wakers {
    /// Bumped after every feed append: live streams read again at once.
    pub feed: Arc<watch::Sender<u64>>,
    /// Notified when a new delivery is due now.
    pub dispatcher: Arc<Notify>,
}

impl Default for Wakers {
    fn default() -> Self {
        Self {
            feed: Arc::new(watch::channel(0).0),
            dispatcher: Arc::new(Notify::new()),
        }
    }
}

/// The integrations service's logic.
#[derive(Clone)]
pub struct Integrations {
    pub(crate) store: Store,
    pub(crate) directory: Arc<dyn directory::Directory>,
    pub(crate) clock: Clock,
    pub(crate) metrics: IntegrationsMetrics,
    pub(crate) settings: Arc<IntegrationsSettings>,
    pub(crate) wakers: Wakers,
    pub(crate) http: reqwest::Client,
    pub(crate) body: body::Bodies,
}

impl Integrations {
    pub fn new(
        store: Store,
        directory: Arc<dyn directory::Directory>,
        clock: Clock,
        metrics: IntegrationsMetrics,
        settings: IntegrationsSettings,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.webhooks.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            directory,
            clock,
            metrics,
            settings: Arc::new(settings),
            wakers: Wakers::default(),
            http,
            body: body::Bodies::new()?,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn schedule(&self) -> RetrySchedule {
        RetrySchedule::from_millis(&self.settings.webhooks.retry_schedule_ms)
    }

    /// The caller's role; an unknown or disabled agent of the organization is refused.
    pub async fn role(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Role, IntegrationsError> {
        self.directory.role(org, agent).await?.ok_or_else(|| {
            IntegrationsError::denied("the actor is not an agent of this organization")
        })
    }

    /// Operators and admins read the feed, endpoints and deliveries.
    pub async fn require_reader(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<(), IntegrationsError> {
        if self.role(org, agent).await? >= Role::Operator {
            Ok(())
        } else {
            Err(IntegrationsError::denied(
                "only operators and admins may read the event feed and webhooks",
            ))
        }
    }

    /// Admins manage endpoints and replay deliveries.
    pub async fn require_admin(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<(), IntegrationsError> {
        if self.role(org, agent).await? == Role::Admin {
            Ok(())
        } else {
            Err(IntegrationsError::denied("only admins may manage webhooks"))
        }
    }

    /// Trims what is older than the retention every `trim_interval_secs` until `shutdown`.
    pub async fn keep_trimming(self, shutdown: CancellationToken) {
        let every = Duration::from_secs(self.settings.feed.trim_interval_secs);
        let retention_ms = (self.settings.feed.retention_secs as i64).saturating_mul(1000);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let before = self.clock.now_ms() - retention_ms;
            match self.store.trim(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "feed trimmed to its retention"),
                Err(e) => tracing::warn!(error = %e, "feed trim failed; retrying next pass"),
            }
        }
    }
}
