//! The live inbox stream (see `crate::inbox` and docs/inbox-stream.md).

use std::time::Duration;

use switchboard_proto::{
    gateway::v1::{self as pb, InboxScope},
    presence::v1 as ppb,
};
use switchboard_runtime::errors;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{Ctx, Scope};
use crate::inbox::stream::{self, Run, Viewer, Visibility};

/// The stream of StreamInboxEvents.
pub type InboxStream = tonic::codegen::BoxStream<pb::StreamInboxEventsResponse>;

pub async fn stream_inbox_events(
    ctx: &Ctx,
    scope: Scope,
    request: pb::StreamInboxEventsRequest,
) -> Result<InboxStream, Status> {
    let (inbox_scope, kinds, cursor) = stream::validate(&request, scope.caller.is_supervisor())?;
    let permit = ctx.limits.stream_permit(&scope.me())?;
    let visibility = if inbox_scope == InboxScope::Organization {
        Visibility::Organization
    } else {
        Visibility::Mine {
            agent_id: scope.me(),
            team_ids: scope.caller.agent.team_ids.iter().cloned().collect(),
            channel_account_ids: my_numbers(ctx, &scope).await,
        }
    };
    let log = ctx.inbox.log.clone();
    let org = scope.org();
    let unavailable = |e: crate::inbox::log::LogError| errors::unavailable(&e);
    let metrics = &ctx.inbox.metrics;
    let (start, resync) = match cursor {
        None => (log.head(&org).await.map_err(unavailable)?, None),
        Some(c) => match log.check(&org, &c).await.map_err(unavailable)? {
            None => (c.position, None),
            Some(reason) => {
                metrics.resyncs.with_label_values(&["cursor"]).inc();
                (log.head(&org).await.map_err(unavailable)?, Some(reason))
            }
        },
    };
    let run = Run {
        log,
        org,
        viewer: Viewer { visibility, kinds },
        clock: ctx.infra.clock.clone(),
        keepalive: Duration::from_secs(ctx.infra.settings.gateway.inbox.keepalive_secs),
        closing: ctx.inbox.closing.clone(),
        resyncs: metrics.resyncs.clone(),
    };
    let open = metrics
        .streams
        .with_label_values(&[if inbox_scope == InboxScope::Organization {
            "organization"
        } else {
            "mine"
        }]);
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        // The agent's stream slot is held for as long as the stream runs.
        let _permit = permit;
        open.inc();
        run.stream(start, resync, tx).await;
        open.dec();
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

/// The numbers I am linked to (directly or through a team), as presence keeps them: waiting
/// conversations of their organization list are mine to pick. Empty when presence does not
/// answer (those events then reach me on the next reload).
async fn my_numbers(ctx: &Ctx, scope: &Scope) -> std::collections::HashSet<String> {
    let asked = ctx
        .upstream
        .presence()
        .get_agent_presence(scope.req(ppb::GetAgentPresenceRequest {
            organization_id: scope.org(),
            agent_id: scope.me(),
        }))
        .await;
    match asked {
        Ok(r) => r
            .into_inner()
            .presence
            .map(|p| p.channel_account_ids.into_iter().collect())
            .unwrap_or_default(),
        Err(status) => {
            tracing::info!(code = ?status.code(), "inbox stream: my numbers unknown");
            Default::default()
        }
    }
}
