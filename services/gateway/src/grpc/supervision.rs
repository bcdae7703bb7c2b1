//! Supervision: the live figures (per team, number and agent), read from the reporting service
//! for operators and admins.

use switchboard_proto::{gateway::v1 as pb, reporting::v1 as rep};
use tokio_stream::StreamExt;
use tonic::Status;

use super::{Ctx, Scope};

/// The stream of WatchLiveFigures.
pub type LiveFiguresStream = tonic::codegen::BoxStream<pb::WatchLiveFiguresResponse>;

pub async fn get_live_figures(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetLiveFiguresRequest,
) -> Result<pb::GetLiveFiguresResponse, Status> {
    scope.caller.require_supervisor("GetLiveFigures")?;
    let figures = ctx
        .upstream
        .reporting()
        .get_live_figures(scope.req(rep::GetLiveFiguresRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            filter: request.filter,
        }))
        .await?
        .into_inner();
    Ok(pb::GetLiveFiguresResponse {
        teams: figures.teams,
        channel_accounts: figures.channel_accounts,
        agents: figures.agents,
        organization: figures.organization,
        as_of: figures.as_of,
    })
}

pub async fn watch_live_figures(
    ctx: &Ctx,
    scope: Scope,
    request: pb::WatchLiveFiguresRequest,
) -> Result<LiveFiguresStream, Status> {
    scope.caller.require_supervisor("WatchLiveFigures")?;
    let permit = ctx.limits.stream_permit(&scope.me())?;
    let mut upstream = ctx
        .upstream
        .reporting()
        .watch_live_figures(scope.req(rep::WatchLiveFiguresRequest {
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            filter: request.filter,
            min_interval: request.min_interval,
        }))
        .await?
        .into_inner();
    let closing = ctx.inbox.closing.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        // The agent's stream slot is held for as long as the stream runs.
        let _permit = permit;
        loop {
            let next = tokio::select! {
                () = closing.cancelled() => return,
                () = tx.closed() => return,
                next = upstream.next() => next,
            };
            let Some(item) = next else { return };
            let item = item.map(|f| pb::WatchLiveFiguresResponse {
                teams: f.teams,
                channel_accounts: f.channel_accounts,
                agents: f.agents,
                organization: f.organization,
                as_of: f.as_of,
            });
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
}
