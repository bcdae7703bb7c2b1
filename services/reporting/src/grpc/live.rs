//! GetLiveFigures and WatchLiveFigures: requests checked and turned into domain calls, figures
//! turned into messages.

use std::time::Duration;

use switchboard_proto::{
    common::v1::AgentStatus,
    prost_types,
    reporting::v1::{self as pb},
};
use switchboard_runtime::{
    ids::{AgentId, OrganizationId},
    validate::Check,
};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::live::{
    Figures, FiguresFilter, Live, LiveError,
    domain::LiveStatus,
    figures::{AgentFigures, QueueFigures},
};

/// Least (and default) time between two pushes of WatchLiveFigures.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// Longest time between two pushes a watcher may ask for.
pub const MAX_WATCH_INTERVAL: Duration = Duration::from_secs(3600);

/// The stream of WatchLiveFigures.
pub type LiveFiguresStream = tonic::codegen::BoxStream<pb::GetLiveFiguresResponse>;

/// A checked request: whose figures, for whom.
struct Asked {
    org: OrganizationId,
    actor: AgentId,
    filter: FiguresFilter,
}

fn check(
    check: &mut Check,
    org: &str,
    actor: &str,
    filter: Option<&pb::LiveFiguresFilter>,
) -> Option<Asked> {
    let org = check.org(org);
    let actor = check.id("actor_agent_id", actor);
    let filter = filter.cloned().unwrap_or_default();
    check.at_most_items("filter.team_ids", &filter.team_ids, 100);
    check.at_most_items(
        "filter.channel_account_ids",
        &filter.channel_account_ids,
        100,
    );
    let teams = check.ids("filter.team_ids", &filter.team_ids);
    let numbers = check.ids("filter.channel_account_ids", &filter.channel_account_ids);
    Some(Asked {
        org: org?,
        actor: actor?,
        filter: FiguresFilter { teams, numbers },
    })
}

fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn queue_pb(q: QueueFigures) -> pb::QueueFigures {
    pb::QueueFigures {
        id: q.id,
        waiting: q.waiting,
        longest_waiting_conversation_id: q
            .longest_waiting
            .as_ref()
            .map(|(id, _)| id.clone())
            .unwrap_or_default(),
        longest_waiting_since: q.longest_waiting.map(|(_, ms)| timestamp(ms)),
        waiting_by_priority: q
            .waiting_by_priority
            .into_iter()
            .map(|(priority, waiting)| pb::PriorityCount { priority, waiting })
            .collect(),
        agents: Some(pb::AgentStatusCounts {
            available: q.agents.available,
            away: q.agents.away,
            offline: q.agents.offline,
            at_capacity: q.agents.at_capacity,
        }),
        held_load: q.held_load,
        capacity: q.capacity,
        offers_pending: q.offers_pending,
        open: q.open,
    }
}

fn agent_pb(a: AgentFigures) -> pb::AgentFigures {
    pb::AgentFigures {
        agent_id: a.id,
        status: match a.status {
            Some(LiveStatus::Available) => AgentStatus::Available,
            Some(LiveStatus::Away) => AgentStatus::Away,
            Some(LiveStatus::Offline) => AgentStatus::Offline,
            None => AgentStatus::Unspecified,
        } as i32,
        load: a.load,
        capacity: a.capacity,
        assigned: a.assigned,
        open: a.open,
    }
}

fn response(figures: Figures, as_of_ms: i64) -> pb::GetLiveFiguresResponse {
    pb::GetLiveFiguresResponse {
        teams: figures.teams.into_iter().map(queue_pb).collect(),
        channel_accounts: figures.numbers.into_iter().map(queue_pb).collect(),
        agents: figures.agents.into_iter().map(agent_pb).collect(),
        organization: Some(queue_pb(figures.organization)),
        as_of: Some(timestamp(as_of_ms)),
    }
}

pub async fn get_live_figures(
    live: &Live,
    request: pb::GetLiveFiguresRequest,
) -> Result<pb::GetLiveFiguresResponse, Status> {
    let mut c = Check::new();
    let asked = check(
        &mut c,
        &request.organization_id,
        &request.actor_agent_id,
        request.filter.as_ref(),
    );
    c.done()?;
    let Some(asked) = asked else {
        return Err(Status::invalid_argument("invalid request"));
    };
    live.authorize(&asked.org, &asked.actor).await?;
    let as_of = live.clock.now_ms();
    let figures = live.figures(&asked.org, &asked.filter).await?;
    Ok(response(figures, as_of))
}

pub async fn watch_live_figures(
    live: &Live,
    closing: &CancellationToken,
    request: pb::WatchLiveFiguresRequest,
) -> Result<LiveFiguresStream, Status> {
    let mut c = Check::new();
    let asked = check(
        &mut c,
        &request.organization_id,
        &request.actor_agent_id,
        request.filter.as_ref(),
    );
    let interval = match request.min_interval {
        None => MIN_WATCH_INTERVAL,
        Some(d) if d.seconds < 0 || d.nanos < 0 => {
            c.bad("min_interval", "must not be negative");
            MIN_WATCH_INTERVAL
        }
        Some(d) => {
            let asked = Duration::new(d.seconds as u64, d.nanos as u32);
            if asked > MAX_WATCH_INTERVAL {
                c.bad("min_interval", "must be at most 1 hour");
            }
            asked.clamp(MIN_WATCH_INTERVAL, MAX_WATCH_INTERVAL)
        }
    };
    c.done()?;
    let Some(asked) = asked else {
        return Err(Status::invalid_argument("invalid request"));
    };
    live.authorize(&asked.org, &asked.actor).await?;
    // The first message is read before answering, so a failing read is the call's error.
    let first = live.figures(&asked.org, &asked.filter).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let live = live.clone();
    let closing = closing.clone();
    tokio::spawn(async move {
        let watchers = live.metrics.watchers.clone();
        watchers.inc();
        watch(&live, &closing, &asked, interval, first, &tx).await;
        watchers.dec();
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

/// Pushes `first`, then re-reads every `interval` and pushes when the figures changed (another
/// replica may have consumed the events: this replica re-reads rather than waiting to be told).
/// Ends with OK on shutdown or when the watcher went away; a read that fails ends the stream
/// with its status.
async fn watch(
    live: &Live,
    closing: &CancellationToken,
    asked: &Asked,
    interval: Duration,
    first: Figures,
    tx: &tokio::sync::mpsc::Sender<Result<pb::GetLiveFiguresResponse, Status>>,
) {
    let mut last = first.clone();
    if tx
        .send(Ok(response(first, live.clock.now_ms())))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            () = closing.cancelled() => return,
            () = tx.closed() => return,
            () = tokio::time::sleep(interval) => {}
        }
        // The actor may have lost its role meanwhile (cached briefly).
        let read = match live.authorize(&asked.org, &asked.actor).await {
            Ok(()) => live.figures(&asked.org, &asked.filter).await,
            Err(e) => Err(e),
        };
        match read {
            Ok(now) if now == last => {}
            Ok(now) => {
                last = now.clone();
                if tx
                    .send(Ok(response(now, live.clock.now_ms())))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e @ LiveError::PermissionDenied(_)) => {
                let _ = tx.send(Err(e.into())).await;
                return;
            }
            Err(e) => {
                // A passing failure: keep the watcher, try again next round.
                tracing::warn!(error = %e, "live figures: watch read failed");
            }
        }
    }
}
