//! What every gateway RPC starts with: the token verified, the organization and the caller
//! resolved, the per-token rate limit taken, and a [`Scope`] that builds the internal calls.

use std::{sync::Arc, time::Duration};

use switchboard_runtime::{Infra, errors};
use tonic::{Request, Status};

use crate::{
    auth::{self, AuthError, Authenticator},
    caller::{self, Bindings, Caller},
    directory::Directory,
    inbox::Inbox,
    limits::Limits,
    upstream::{self, Upstream},
};

/// Shared by every RPC of one gateway.
pub struct Ctx {
    pub auth: Authenticator,
    pub bindings: Bindings,
    pub upstream: Upstream,
    pub directory: Directory,
    pub limits: Limits,
    /// The live inbox log and its shutdown signal.
    pub inbox: Inbox,
    pub infra: Infra,
    /// `switchboard_gateway_refusals_total{reason}`: calls refused before reaching a service.
    pub refusals: prometheus::IntCounterVec,
}

impl Ctx {
    pub fn new(infra: Infra) -> anyhow::Result<Self> {
        let settings = &infra.settings.gateway;
        let upstream = Upstream::new(&infra.endpoints)?;
        Ok(Self {
            auth: Authenticator::new(&settings.auth)?,
            bindings: Bindings::new(
                upstream.clone(),
                Duration::from_secs(settings.auth.subject_cache_ttl_secs),
            ),
            limits: Limits::new(&settings.limits),
            directory: Directory::new(upstream.clone()),
            inbox: Inbox::new(&infra)?,
            upstream,
            refusals: infra.metrics.counter_vec(
                "switchboard_gateway_refusals_total",
                "Gateway calls refused before any internal call, by reason (token_expired, \
                 token_signature, not_a_member, rate_limited, ...).",
                &["reason"],
            ),
            infra,
        })
    }

    /// Authenticates `request`: its token, its organization, the agent it is bound to, the
    /// token's rate limit. The message comes back with the caller's scope.
    pub async fn enter<T>(&self, request: Request<T>) -> Result<(Scope, T), Status> {
        let metadata = request.metadata();
        let refused = |reason: &str| self.refusals.with_label_values(&[reason]).inc();
        let token = auth::bearer(metadata).map_err(|e| {
            refused(e.label());
            unauthenticated(e)
        })?;
        // The bucket first: a token over its rate costs no signature check.
        self.limits
            .take(token)
            .inspect_err(|_| refused("rate_limited"))?;
        let claims = self.auth.verify(token).await.map_err(|e| {
            refused(e.label());
            unauthenticated(e)
        })?;
        let organization_id =
            caller::organization(metadata).inspect_err(|_| refused("organization_header"))?;
        let caller = self
            .bindings
            .resolve(&organization_id, &claims.sub)
            .await
            .inspect_err(|s| {
                if s.code() == tonic::Code::PermissionDenied {
                    refused("not_a_member");
                }
            })?;
        let deadline = upstream::deadline(metadata);
        Ok((
            Scope {
                caller: Arc::new(caller),
                deadline,
            },
            request.into_inner(),
        ))
    }
}

/// A refused token: UNAUTHENTICATED saying why (UNAVAILABLE when the keys cannot be fetched).
fn unauthenticated(e: AuthError) -> Status {
    tracing::info!(reason = %e, "call refused: token");
    if e.is_unavailable() {
        errors::unavailable(&e)
    } else {
        Status::unauthenticated(e.to_string())
    }
}

/// One call's caller and deadline.
#[derive(Clone)]
pub struct Scope {
    pub caller: Arc<Caller>,
    pub deadline: Option<Duration>,
}

impl Scope {
    /// An internal request carrying the caller's remaining deadline.
    pub fn req<M>(&self, message: M) -> Request<M> {
        let mut request = Request::new(message);
        if let Some(deadline) = self.deadline {
            request.set_timeout(deadline);
        }
        request
    }

    /// The organization's id.
    pub fn org(&self) -> String {
        self.caller.organization_id.clone()
    }

    /// My agent id (the actor of every internal call).
    pub fn me(&self) -> String {
        self.caller.agent.id.clone()
    }
}
