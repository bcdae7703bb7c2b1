//! The capacity phase: as many webhooks as the suite acknowledges, each from a new customer (so
//! each starts a conversation), from a fixed number of concurrent senders. Gives the ingest rate
//! and the end-to-end assignment rate, and, run long, their decay over time.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use switchboard_proto::{
    common::v1::PageRequest,
    routing::v1::{self as pb, ConversationState, routing_service_client::RoutingServiceClient},
};
use tonic::transport::Channel;

use crate::{
    setup::{Org, rid, wa_id},
    stats::{Errors, Latency, LatencySummary, Second, Timeline, prom_counter},
    target::{Clients, Endpoints, scrape},
    webhook::{AckLog, Inbound, Poster, unique_wamid},
};

/// Throughput over one window of the phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Window {
    pub start_secs: f64,
    pub seconds: f64,
    pub webhooks_per_sec: f64,
    pub assignments_per_sec: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SaturationResult {
    pub seconds: f64,
    pub concurrency: usize,
    pub webhooks_acked: u64,
    pub webhooks_per_sec: f64,
    pub ack: LatencySummary,
    /// Conversations assigned from the phase's start until the backlog drained.
    pub assignments: u64,
    /// `assignments` over the time from the start to the last assignment.
    pub assignments_per_sec: f64,
    /// How long after the last webhook the last assignment came.
    pub drain_seconds: f64,
    pub windows: Vec<Window>,
    /// 1 − (last window's webhook rate ÷ first window's); windows are minutes on runs of 5
    /// minutes or more, else thirds.
    pub webhook_decay: f64,
    pub assignment_decay: f64,
    /// Messages the channel stored during the phase (its own counter), to check none was lost.
    pub messages_stored: Option<u64>,
    pub errors: BTreeMap<String, u64>,
    pub timeline: Vec<Second>,
}

/// Assignments so far: routing's own counter when its metrics answer (cheap, and what an SRE
/// charts), else the conversations of `org` that were ever assigned (assigned, open or closed),
/// counted through the API.
async fn assigned_total(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    routing: &mut RoutingServiceClient<Channel>,
    org: &Org,
) -> Option<u64> {
    let text = scrape(http, &endpoints.metrics_url).await;
    if text.contains("switchboard_routing_assignments_total") {
        return Some(prom_counter(&text, "switchboard_routing_assignments_total", &[]) as u64);
    }
    count(
        routing,
        org,
        &[
            ConversationState::Assigned,
            ConversationState::Open,
            ConversationState::Closed,
        ],
    )
    .await
}

async fn count(
    routing: &mut RoutingServiceClient<Channel>,
    org: &Org,
    states: &[ConversationState],
) -> Option<u64> {
    routing
        .list_conversations(pb::ListConversationsRequest {
            organization_id: org.id.clone(),
            page: Some(PageRequest {
                page_size: 1,
                page_token: String::new(),
            }),
            states: states.iter().map(|s| *s as i32).collect(),
            ..Default::default()
        })
        .await
        .ok()
        .and_then(|r| r.into_inner().page)
        .and_then(|p| p.total_size)
        .map(|n| n as u64)
}

/// Closes assigned conversations as the admin, up to 200 a pass, so a long run never stalls on
/// the team's capacity (agents who finish at once: the close path is part of the load).
async fn closer(clients: Clients, org: Org, stop: Arc<AtomicBool>, errors: Arc<Errors>) {
    let mut routing = RoutingServiceClient::new(clients.routing.clone());
    while !stop.load(Ordering::Relaxed) {
        let page = routing
            .list_conversations(pb::ListConversationsRequest {
                organization_id: org.id.clone(),
                page: Some(PageRequest {
                    page_size: 200,
                    page_token: String::new(),
                }),
                states: vec![ConversationState::Assigned as i32],
                ..Default::default()
            })
            .await;
        let conversations = match page {
            Ok(page) => page.into_inner().conversations,
            Err(s) => {
                errors.rpc("ListConversations", &s);
                Vec::new()
            }
        };
        if conversations.len() < 50 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        futures::stream::iter(conversations)
            .for_each_concurrent(4, |c| {
                let mut routing = routing.clone();
                let (org, errors) = (org.clone(), errors.clone());
                async move {
                    if let Err(s) = routing
                        .close_conversation(pb::CloseConversationRequest {
                            request_id: rid(),
                            organization_id: org.id.clone(),
                            actor_agent_id: org.admin.clone(),
                            conversation_id: c.id,
                            close_note: "loadgen".into(),
                        })
                        .await
                    {
                        errors.rpc("CloseConversation", &s);
                    }
                }
            })
            .await;
    }
}

fn windows_of(samples: &[(f64, u64, u64)], total_secs: f64) -> Vec<Window> {
    let width = if total_secs >= 300.0 {
        60.0
    } else {
        (total_secs / 3.0).max(1.0)
    };
    let at = |t: f64| {
        // The last sample at or before t.
        samples
            .iter()
            .rev()
            .find(|s| s.0 <= t)
            .copied()
            .unwrap_or((0.0, 0, 0))
    };
    let mut out = Vec::new();
    let mut start = 0.0;
    while start + width <= total_secs + 0.5 {
        let (a, b) = (at(start), at(start + width));
        let secs = (b.0 - a.0).max(1e-9);
        out.push(Window {
            start_secs: start,
            seconds: width,
            webhooks_per_sec: b.1.saturating_sub(a.1) as f64 / secs,
            assignments_per_sec: b.2.saturating_sub(a.2) as f64 / secs,
        });
        start += width;
    }
    out
}

fn decay(first: f64, last: f64) -> f64 {
    if first <= 0.0 {
        0.0
    } else {
        1.0 - last / first
    }
}

pub async fn run(
    endpoints: &Endpoints,
    clients: &Clients,
    org: &Org,
    seconds: f64,
    concurrency: usize,
    bar: &ProgressBar,
) -> anyhow::Result<SaturationResult> {
    let poster = Poster::new(
        &endpoints.webhook_url,
        &endpoints.app_secret,
        crate::target::WABA_ID,
    )?;
    let http = reqwest::Client::new();
    let stored_before = prom_counter(
        &scrape(&http, &endpoints.channel_metrics_url).await,
        "switchboard_channel_inbound_messages_total",
        &[("outcome", "stored")],
    );
    let mut routing = RoutingServiceClient::new(clients.routing.clone());
    let base = assigned_total(&http, endpoints, &mut routing, org)
        .await
        .unwrap_or(0);
    let errors = Arc::new(Errors::default());
    let ack = Arc::new(Latency::default());
    let start = Instant::now();
    let timeline = Arc::new(Timeline::new(start));
    let acked = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let stop_closer = Arc::new(AtomicBool::new(false));
    let closer = tokio::spawn(closer(
        clients.clone(),
        org.clone(),
        stop_closer.clone(),
        errors.clone(),
    ));
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut senders = Vec::new();
    for _ in 0..concurrency {
        let (poster, errors, ack, timeline, acked, next) = (
            poster.clone(),
            errors.clone(),
            ack.clone(),
            timeline.clone(),
            acked.clone(),
            next.clone(),
        );
        let pnid = org.phone_number_id.clone();
        senders.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let m = Inbound {
                    wa_id: wa_id("5411", i),
                    name: format!("Nuevo {i}"),
                    wamid: unique_wamid(),
                    unix_secs: chrono::Utc::now().timestamp(),
                    text: "Hola, necesito ayuda con mi pedido".into(),
                };
                let body = poster.body(&pnid, &[m]);
                let log = AckLog {
                    latency: &ack,
                    timeline: &timeline,
                    errors: &errors,
                };
                if poster.deliver(&body, log).await.acked {
                    acked.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Sample the assignment count while sending, then until the backlog drained.
    let mut samples: Vec<(f64, u64, u64)> = vec![(0.0, 0, 0)];
    let mut last_change = (0.0_f64, 0_u64);
    let mut sending_done: Option<f64> = None;
    loop {
        // Counting is a COUNT over the organization's conversations: once a second keeps the
        // measurement's own load small.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t = start.elapsed().as_secs_f64();
        let done = senders.iter().all(|s| s.is_finished());
        if done && sending_done.is_none() {
            sending_done = Some(t);
        }
        // A failed read keeps the last figure: the count never goes back.
        let assigned = assigned_total(&http, endpoints, &mut routing, org)
            .await
            .map_or(last_change.1, |n| n.saturating_sub(base))
            .max(last_change.1);
        let a = acked.load(Ordering::Relaxed);
        if assigned > last_change.1 {
            last_change = (t, assigned);
        }
        if sending_done.is_none() {
            samples.push((t, a, assigned));
        }
        bar.set_message(format!(
            "saturation: {a} webhooks acknowledged, {assigned} assigned, {} errors",
            errors.total()
        ));
        if let Some(end) = sending_done
            && (assigned >= a || t - last_change.0 > 30.0 || t - end > 120.0)
        {
            break;
        }
    }
    for s in senders {
        s.await?;
    }
    stop_closer.store(true, Ordering::Relaxed);
    let _ = closer.await;
    let sending = sending_done.unwrap_or(seconds);
    let webhooks_acked = acked.load(Ordering::Relaxed);
    let (last_t, assignments) = last_change;
    if assignments < webhooks_acked {
        errors.add("conversations_not_assigned_after_drain");
    }
    let stored_after = prom_counter(
        &scrape(&http, &endpoints.channel_metrics_url).await,
        "switchboard_channel_inbound_messages_total",
        &[("outcome", "stored")],
    );
    let messages_stored = (stored_after > 0.0).then_some((stored_after - stored_before) as u64);
    if let Some(stored) = messages_stored
        && stored != webhooks_acked
    {
        errors.add(if stored < webhooks_acked {
            "messages_lost"
        } else {
            "messages_stored_but_never_acknowledged"
        });
    }
    let windows = windows_of(&samples, sending);
    let (first, last) = (windows.first(), windows.last());
    Ok(SaturationResult {
        seconds: sending,
        concurrency,
        webhooks_acked,
        webhooks_per_sec: webhooks_acked as f64 / sending,
        ack: ack.summary(),
        assignments,
        assignments_per_sec: assignments as f64 / last_t.max(1e-9),
        drain_seconds: (last_t - sending).max(0.0),
        webhook_decay: decay(
            first.map_or(0.0, |w| w.webhooks_per_sec),
            last.map_or(0.0, |w| w.webhooks_per_sec),
        ),
        assignment_decay: decay(
            first.map_or(0.0, |w| w.assignments_per_sec),
            last.map_or(0.0, |w| w.assignments_per_sec),
        ),
        windows,
        messages_stored,
        errors: errors.snapshot(),
        timeline: timeline.seconds(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_thirds_on_short_runs_and_minutes_on_long_ones() {
        let samples: Vec<(f64, u64, u64)> = (0..=30)
            .map(|t| (t as f64, t as u64 * 100, t as u64 * 50))
            .collect();
        let w = windows_of(&samples, 30.0);
        assert_eq!(w.len(), 3);
        assert!((w[0].webhooks_per_sec - 100.0).abs() < 1e-9);
        assert!((w[2].assignments_per_sec - 50.0).abs() < 1e-9);
        let long: Vec<(f64, u64, u64)> = (0..=600)
            .map(|t| (t as f64, (t as u64) * if t < 300 { 10 } else { 8 }, 0))
            .collect();
        assert_eq!(windows_of(&long, 600.0).len(), 10);
        assert!((decay(100.0, 80.0) - 0.2).abs() < 1e-9);
        assert_eq!(decay(0.0, 5.0), 0.0);
    }
}
