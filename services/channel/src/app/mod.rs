//! The channel's use cases: the webhook's ingest, the conversation consumer, sends, campaigns,
//! history, accounts, contacts and templates. Transport-free: gRPC and HTTP adapt to this.

mod accounts;
mod campaigns;
mod contacts;
pub mod conversations;
mod history;
pub mod ingest;
mod media;
pub mod routing;
mod secrets;
mod send;
mod templates;

pub use accounts::NewAccount;
pub use campaigns::{CampaignRecipient, CampaignSend, MAX_RECIPIENTS, Recipient, RecipientResult};
pub use history::WindowView;
pub use routing::RoutingClient;
pub use secrets::Secrets;
pub use send::{Outbound, SendTarget, Sent};

use switchboard_runtime::{clock::Clock, ids::OrganizationId};

use crate::{error::ChannelError, graph::GraphClient, store::Store};

/// What the webhook checks.
#[derive(Clone)]
pub struct WebhookSecrets {
    /// HMAC key of `X-Hub-Signature-256`.
    pub app_secret: String,
    /// Token of the GET verification handshake.
    pub verify_token: String,
}

/// The channel service's application layer.
#[derive(Clone)]
pub struct Channel {
    pub(crate) store: Store,
    pub(crate) graph: GraphClient,
    pub(crate) routing: RoutingClient,
    pub(crate) clock: Clock,
    pub(crate) secrets: Secrets,
    pub(crate) webhook: WebhookSecrets,
    pub(crate) metrics: crate::metrics::Metrics,
}

/// What an actor may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// Internal provisioning or a system send (no actor).
    System,
    Agent,
    Operator,
    Admin,
}

impl Authority {
    /// Operators and admins supervise (and the system).
    pub fn supervises(self) -> bool {
        !matches!(self, Authority::Agent)
    }
}

impl Channel {
    /// The service's metrics.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    pub fn new(
        store: Store,
        graph: GraphClient,
        routing: RoutingClient,
        clock: Clock,
        secrets: Secrets,
        webhook: WebhookSecrets,
        metrics: crate::metrics::Metrics,
    ) -> Self {
        Self {
            store,
            graph,
            routing,
            clock,
            secrets,
            webhook,
            metrics,
        }
    }

    /// The authority of `actor` (empty: the system).
    pub async fn authority(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
    ) -> Result<Authority, ChannelError> {
        match actor {
            None => Ok(Authority::System),
            Some(agent) => self.routing.authority(org, agent).await,
        }
    }

    /// Refuses unless `actor` is an admin (or the system).
    pub async fn require_admin(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
    ) -> Result<(), ChannelError> {
        match self.authority(org, actor).await? {
            Authority::System | Authority::Admin => Ok(()),
            _ => Err(ChannelError::PermissionDenied(
                "only an admin may change channel accounts".into(),
            )),
        }
    }

    /// Refuses unless `actor` is an operator or admin (or the system).
    pub async fn require_supervisor(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
    ) -> Result<Authority, ChannelError> {
        let authority = self.authority(org, actor).await?;
        if authority.supervises() {
            Ok(authority)
        } else {
            Err(ChannelError::PermissionDenied(
                "only an operator or admin may do this".into(),
            ))
        }
    }
}
