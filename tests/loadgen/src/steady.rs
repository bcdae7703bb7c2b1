//! The realistic phase: customers write with Poisson arrivals at a fixed rate (some deliveries
//! repeated, some out of order), agents heartbeat, open what they are assigned, reply through
//! the API and close after a random handle time.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use indicatif::ProgressBar;
use rand::Rng;
use serde::{Deserialize, Serialize};
use switchboard_proto::{
    channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
    common::v1::{AgentStatus, PageRequest},
    presence::v1::{HeartbeatRequest, presence_service_client::PresenceServiceClient},
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};
use tokio::task::JoinSet;

use crate::{
    setup::{Org, rid},
    stats::{Errors, Latency, LatencySummary, PromHistogram, Second, Timeline, prom_counter},
    target::{Clients, Endpoints, scrape},
    webhook::{AckLog, Inbound, Poster, unique_wamid},
};

/// The shape of the realistic phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SteadyProfile {
    /// Customer messages per second (Poisson arrivals).
    pub rate: f64,
    pub seconds: f64,
    /// Mean handle time (exponential), from assignment to close.
    pub handle_ms: u64,
    /// How often agents look at their inbox.
    pub poll_ms: u64,
    /// Share of webhooks delivered a second time.
    pub redeliver: f64,
    /// Share of arrivals that are two messages delivered newest first.
    pub reorder: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadSpread {
    pub agents: usize,
    pub capacity: i32,
    pub assignments_min: u64,
    pub assignments_max: u64,
    pub assignments_mean: f64,
    /// Standard deviation ÷ mean of assignments per agent (0 = perfectly even).
    pub assignments_cv: f64,
    /// The most conversations any agent held at once.
    pub peak_held: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SteadyResult {
    pub profile: SteadyProfile,
    pub webhooks_sent: u64,
    pub webhooks_acked: u64,
    pub redeliveries: u64,
    pub reordered: u64,
    /// Distinct customer messages acknowledged.
    pub messages_acked: u64,
    /// What the channel counted as stored (new) messages over the phase.
    pub messages_stored: Option<u64>,
    pub ack: LatencySummary,
    /// From the POST of a customer's first message to the assignment (the server's
    /// `assign_time`; same machine, same clock).
    pub webhook_to_assigned: LatencySummary,
    /// From the conversation's creation to its assignment.
    pub queue_wait: LatencySummary,
    /// Routing's own decision histogram over the phase (its `/metrics`).
    pub decision_p50_ms: Option<f64>,
    pub decision_p99_ms: Option<f64>,
    pub decisions: Option<u64>,
    pub assignments: u64,
    pub assignments_per_sec: f64,
    pub replies_sent: u64,
    pub closed: u64,
    /// Opens and closes answered ABORTED (the conversation changed meanwhile) and retried.
    pub retries: u64,
    /// Customers still waiting for an agent when the phase ended.
    pub waiting_at_end: u64,
    pub load: LoadSpread,
    /// Commands Redis processed per second during the phase (all clients).
    pub redis_commands_per_sec: Option<f64>,
    pub errors: BTreeMap<String, u64>,
    pub timeline: Vec<Second>,
}

#[derive(Clone, Copy)]
enum Contact {
    Idle,
    /// Wrote first at this time; no agent yet.
    Waiting(SystemTime),
    InConversation,
}

struct Shared {
    org: Org,
    clients: Clients,
    poster: Poster,
    profile: SteadyProfile,
    contacts: Vec<Mutex<Contact>>,
    errors: Errors,
    ack: Latency,
    to_assigned: Latency,
    queue_wait: Latency,
    timeline: Timeline,
    sent: AtomicU64,
    acked: AtomicU64,
    redeliveries: AtomicU64,
    reordered: AtomicU64,
    messages_acked: AtomicU64,
    assignments: AtomicU64,
    replies: AtomicU64,
    closed: AtomicU64,
    retries: AtomicU64,
    stop_agents: AtomicBool,
}

fn system_time(ts: &Option<prost_types::Timestamp>) -> Option<SystemTime> {
    let ts = ts.as_ref()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(ts.seconds as u64, ts.nanos as u32))
}

impl Shared {
    /// POSTs until acknowledged (Meta delivers again after a refusal), at most 5 times.
    async fn deliver(&self, body: &[u8]) -> bool {
        let log = AckLog {
            latency: &self.ack,
            timeline: &self.timeline,
            errors: &self.errors,
        };
        let d = self.poster.deliver(body, log).await;
        self.sent.fetch_add(d.attempts, Ordering::Relaxed);
        if d.acked {
            self.acked.fetch_add(1, Ordering::Relaxed);
        }
        d.acked
    }

    async fn arrival(self: Arc<Self>, idx: usize, reorder: bool, redeliver: bool) {
        {
            let mut c = self.contacts[idx].lock().expect("contact");
            if matches!(*c, Contact::Idle) {
                *c = Contact::Waiting(SystemTime::now());
            }
        }
        let now = chrono::Utc::now().timestamp();
        let wa = &self.org.contacts[idx];
        let message = |secs: i64, text: &str| Inbound {
            wa_id: wa.clone(),
            name: format!("Cliente {idx}"),
            wamid: unique_wamid(),
            unix_secs: secs,
            text: text.into(),
        };
        let mut bodies = vec![self.poster.body(
            &self.org.phone_number_id,
            &[message(now, "Hola, ¿me ayudan?")],
        )];
        if reorder {
            // The later message arrives first.
            self.reordered.fetch_add(1, Ordering::Relaxed);
            bodies.insert(
                0,
                self.poster
                    .body(&self.org.phone_number_id, &[message(now + 1, "¿Hola?")]),
            );
        }
        for body in &bodies {
            if self.deliver(body).await {
                self.messages_acked.fetch_add(1, Ordering::Relaxed);
            }
        }
        if redeliver {
            let wait = rand::rng().random_range(0..2000);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            self.redeliveries.fetch_add(1, Ordering::Relaxed);
            self.deliver(&bodies[0]).await;
        }
    }
}

/// One simulated agent: heartbeats, polls its assigned list, opens, replies, closes.
async fn agent(shared: Arc<Shared>, agent: String) -> (u64, u64) {
    let mut routing = RoutingServiceClient::new(shared.clients.routing.clone());
    let mut presence = PresenceServiceClient::new(shared.clients.presence.clone());
    let org = shared.org.id.clone();
    let held = Arc::new(AtomicU64::new(0));
    let mut seen: HashSet<String> = HashSet::new();
    let mut handling = JoinSet::new();
    let mut assigned_count = 0_u64;
    let mut peak = 0_u64;
    let mut last_beat = Instant::now() - Duration::from_secs(60);
    let poll = Duration::from_millis(shared.profile.poll_ms);
    // Spread the agents' polls over the interval.
    let stagger = rand::rng().random_range(0..shared.profile.poll_ms.max(1));
    tokio::time::sleep(Duration::from_millis(stagger)).await;
    while !shared.stop_agents.load(Ordering::Relaxed) {
        if last_beat.elapsed() > Duration::from_secs(15) {
            last_beat = Instant::now();
            if let Err(s) = presence
                .heartbeat(HeartbeatRequest {
                    request_id: String::new(),
                    organization_id: org.clone(),
                    agent_id: agent.clone(),
                    status: AgentStatus::Available as i32,
                    status_reason: String::new(),
                })
                .await
            {
                shared.errors.rpc("Heartbeat", &s);
            }
        }
        let listed = routing
            .list_assigned_conversations(pb::ListAssignedConversationsRequest {
                organization_id: org.clone(),
                page: Some(PageRequest {
                    page_size: 100,
                    page_token: String::new(),
                }),
                actor_agent_id: agent.clone(),
                agent_id: String::new(),
            })
            .await;
        match listed {
            Err(s) => shared.errors.rpc("ListAssignedConversations", &s),
            Ok(list) => {
                for c in list.into_inner().conversations {
                    if !seen.insert(c.id.clone()) {
                        continue;
                    }
                    assigned_count += 1;
                    shared.assignments.fetch_add(1, Ordering::Relaxed);
                    shared.timeline.assignment(Instant::now());
                    let now_held = held.fetch_add(1, Ordering::Relaxed) + 1;
                    peak = peak.max(now_held);
                    if now_held > shared.org.capacity as u64 {
                        shared.errors.add("agent_over_capacity");
                    }
                    let assigned_at = system_time(&c.assign_time);
                    if let (Some(at), Some(created)) = (assigned_at, system_time(&c.create_time)) {
                        shared
                            .queue_wait
                            .record(at.duration_since(created).unwrap_or_default());
                    }
                    if let Some(&idx) = shared.org.contact_index.get(&c.contact_id) {
                        let mut contact = shared.contacts[idx].lock().expect("contact");
                        if let (Contact::Waiting(t0), Some(at)) = (*contact, assigned_at) {
                            shared
                                .to_assigned
                                .record(at.duration_since(t0).unwrap_or_default());
                        }
                        *contact = Contact::InConversation;
                    }
                    handling.spawn(handle(shared.clone(), agent.clone(), c, held.clone()));
                }
            }
        }
        while handling.try_join_next().is_some() {}
        tokio::time::sleep(poll).await;
    }
    handling.abort_all();
    (assigned_count, peak)
}

/// Opens `c`, replies after a while, closes it after the handle time; the customer may then
/// write again and start a new conversation.
async fn handle(shared: Arc<Shared>, agent: String, c: pb::Conversation, held: Arc<AtomicU64>) {
    let mut routing = RoutingServiceClient::new(shared.clients.routing.clone());
    let mut channel = ChannelServiceClient::new(shared.clients.channel.clone());
    let org = shared.org.id.clone();
    let handle_ms = {
        let mean = shared.profile.handle_ms.max(1) as f64;
        let u: f64 = rand::rng().random_range(f64::EPSILON..1.0);
        (-u.ln() * mean).min(mean * 5.0) as u64
    };
    for attempt in 0..3 {
        match routing
            .open_conversation(pb::OpenConversationRequest {
                request_id: rid(),
                organization_id: org.clone(),
                actor_agent_id: agent.clone(),
                conversation_id: c.id.clone(),
            })
            .await
        {
            Ok(_) => break,
            Err(s) if s.code() == tonic::Code::Aborted && attempt < 2 => {
                shared.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => {
                shared.errors.rpc("OpenConversation", &s);
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(handle_ms / 3)).await;
    match channel
        .send_text_message(ch::SendTextMessageRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: agent.clone(),
            conversation_id: c.id.clone(),
            text: Some(ch::TextContent {
                body: "¡Hola! Ya reviso tu pedido.".into(),
                preview_url: false,
            }),
            reply_to_message_id: String::new(),
        })
        .await
    {
        Ok(_) => {
            shared.replies.fetch_add(1, Ordering::Relaxed);
        }
        Err(s) => shared.errors.rpc("SendTextMessage", &s),
    }
    tokio::time::sleep(Duration::from_millis(handle_ms - handle_ms / 3)).await;
    // Counted free before the close is sent: routing may assign the freed slot before this
    // agent hears back, and that must not read as over capacity.
    held.fetch_sub(1, Ordering::Relaxed);
    // ABORTED means the conversation changed meanwhile (the customer wrote again): a client
    // reads it again and retries, as routing's message says.
    for attempt in 0..3 {
        match routing
            .close_conversation(pb::CloseConversationRequest {
                request_id: rid(),
                organization_id: org.clone(),
                actor_agent_id: agent.clone(),
                conversation_id: c.id.clone(),
                close_note: "resuelto".into(),
            })
            .await
        {
            Ok(_) => {
                shared.closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Err(s) if s.code() == tonic::Code::Aborted && attempt < 2 => {
                shared.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => {
                shared.errors.rpc("CloseConversation", &s);
                break;
            }
        }
    }
    if let Some(&idx) = shared.org.contact_index.get(&c.contact_id) {
        *shared.contacts[idx].lock().expect("contact") = Contact::Idle;
    }
}

async fn redis_commands(url: &Option<String>) -> Option<u64> {
    let client = redis::Client::open(url.as_deref()?).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
}

const DECISION: &str = "switchboard_routing_decision_seconds";

pub async fn run(
    endpoints: &Endpoints,
    clients: &Clients,
    org: &Org,
    profile: SteadyProfile,
    bar: &ProgressBar,
) -> anyhow::Result<SteadyResult> {
    let http = reqwest::Client::new();
    let metrics_before = scrape(&http, &endpoints.metrics_url).await;
    let channel_before = scrape(&http, &endpoints.channel_metrics_url).await;
    let redis_before = redis_commands(&endpoints.redis_url).await;
    let start = Instant::now();
    let shared = Arc::new(Shared {
        org: org.clone(),
        clients: clients.clone(),
        poster: Poster::new(
            &endpoints.webhook_url,
            &endpoints.app_secret,
            crate::target::WABA_ID,
        )?,
        profile: profile.clone(),
        contacts: org
            .contacts
            .iter()
            .map(|_| Mutex::new(Contact::Idle))
            .collect(),
        errors: Errors::default(),
        ack: Latency::default(),
        to_assigned: Latency::default(),
        queue_wait: Latency::default(),
        timeline: Timeline::new(start),
        sent: AtomicU64::new(0),
        acked: AtomicU64::new(0),
        redeliveries: AtomicU64::new(0),
        reordered: AtomicU64::new(0),
        messages_acked: AtomicU64::new(0),
        assignments: AtomicU64::new(0),
        replies: AtomicU64::new(0),
        closed: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        stop_agents: AtomicBool::new(false),
    });
    let agents: Vec<_> = org
        .agents
        .iter()
        .map(|a| tokio::spawn(agent(shared.clone(), a.clone())))
        .collect();
    // Open-loop Poisson arrivals on an absolute schedule: a slow suite does not slow the load.
    let mut arrivals = JoinSet::new();
    let end = start + Duration::from_secs_f64(profile.seconds);
    let mut at = start;
    let mut last_tick = Instant::now();
    loop {
        let gap = {
            let u: f64 = rand::rng().random_range(f64::EPSILON..1.0);
            -u.ln() / profile.rate.max(1e-6)
        };
        at += Duration::from_secs_f64(gap);
        if at >= end {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let (idx, reorder, redeliver) = {
            let mut rng = rand::rng();
            (
                rng.random_range(0..org.contacts.len()),
                rng.random_bool(profile.reorder.clamp(0.0, 1.0)),
                rng.random_bool(profile.redeliver.clamp(0.0, 1.0)),
            )
        };
        arrivals.spawn(shared.clone().arrival(idx, reorder, redeliver));
        while arrivals.try_join_next().is_some() {}
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            bar.set_position(start.elapsed().as_secs());
            bar.set_message(format!(
                "steady: {} acked, {} assigned, {} closed, {} errors",
                shared.acked.load(Ordering::Relaxed),
                shared.assignments.load(Ordering::Relaxed),
                shared.closed.load(Ordering::Relaxed),
                shared.errors.total()
            ));
        }
    }
    tokio::time::sleep_until(end.into()).await;
    let seconds = start.elapsed().as_secs_f64();
    // Deliveries in flight finish (redeliveries wait up to 2 s); agents get a moment to see the
    // last assignments.
    while tokio::time::timeout(Duration::from_secs(30), arrivals.join_next())
        .await
        .ok()
        .flatten()
        .is_some()
    {}
    let waiting = || {
        shared
            .contacts
            .iter()
            .filter(|c| matches!(*c.lock().expect("contact"), Contact::Waiting(_)))
            .count() as u64
    };
    let grace = Instant::now();
    while waiting() > 0 && grace.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let redis_after = redis_commands(&endpoints.redis_url).await;
    shared.stop_agents.store(true, Ordering::Relaxed);
    let mut per_agent = Vec::new();
    for a in agents {
        per_agent.push(a.await?);
    }
    let waiting_at_end = waiting();
    let metrics_after = scrape(&http, &endpoints.metrics_url).await;
    let channel_after = scrape(&http, &endpoints.channel_metrics_url).await;
    let decision = PromHistogram::parse(&metrics_after, DECISION, &[])
        .since(&PromHistogram::parse(&metrics_before, DECISION, &[]));
    let stored = |text: &str| {
        prom_counter(
            text,
            "switchboard_channel_inbound_messages_total",
            &[("outcome", "stored")],
        )
    };
    let messages_acked = shared.messages_acked.load(Ordering::Relaxed);
    let messages_stored = (!channel_after.is_empty())
        .then(|| (stored(&channel_after) - stored(&channel_before)) as u64);
    if let Some(n) = messages_stored
        && n != messages_acked
    {
        shared.errors.add(if n < messages_acked {
            "messages_lost"
        } else {
            "messages_stored_but_never_acknowledged"
        });
    }
    let counts: Vec<f64> = per_agent.iter().map(|a| a.0 as f64).collect();
    let mean = counts.iter().sum::<f64>() / counts.len().max(1) as f64;
    let sd = (counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / counts.len().max(1) as f64)
        .sqrt();
    let assignments = shared.assignments.load(Ordering::Relaxed);
    Ok(SteadyResult {
        webhooks_sent: shared.sent.load(Ordering::Relaxed),
        webhooks_acked: shared.acked.load(Ordering::Relaxed),
        redeliveries: shared.redeliveries.load(Ordering::Relaxed),
        reordered: shared.reordered.load(Ordering::Relaxed),
        messages_acked,
        messages_stored,
        ack: shared.ack.summary(),
        webhook_to_assigned: shared.to_assigned.summary(),
        queue_wait: shared.queue_wait.summary(),
        decision_p50_ms: decision.quantile(0.5).map(|s| s * 1000.0),
        decision_p99_ms: decision.quantile(0.99).map(|s| s * 1000.0),
        decisions: (decision.count > 0.0).then_some(decision.count as u64),
        assignments,
        assignments_per_sec: assignments as f64 / seconds,
        replies_sent: shared.replies.load(Ordering::Relaxed),
        closed: shared.closed.load(Ordering::Relaxed),
        retries: shared.retries.load(Ordering::Relaxed),
        waiting_at_end,
        load: LoadSpread {
            agents: per_agent.len(),
            capacity: org.capacity,
            assignments_min: per_agent.iter().map(|a| a.0).min().unwrap_or(0),
            assignments_max: per_agent.iter().map(|a| a.0).max().unwrap_or(0),
            assignments_mean: mean,
            assignments_cv: if mean > 0.0 { sd / mean } else { 0.0 },
            peak_held: per_agent.iter().map(|a| a.1).max().unwrap_or(0),
        },
        redis_commands_per_sec: match (redis_before, redis_after) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / seconds),
            _ => None,
        },
        errors: shared.errors.snapshot(),
        timeline: shared.timeline.seconds(),
        profile,
    })
}
