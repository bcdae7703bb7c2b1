//! Benchmark: what the gateway adds to a call. The same RPC (GetInboxCounts: auth, tenancy,
//! one routing call) through the gateway with a real token and directly to routing, in one run
//! on one PostgreSQL/Redis: sequential latency (p50/p99) and throughput at a concurrency, then
//! `ratio …` lines (direct / gateway for throughput, gateway / direct for latency). Run with
//! `make bench-gateway`.
//!
//! Then the live inbox's fan-out: BENCH_FANOUT agents (default 1,000) of one team each hold a
//! StreamInboxEvents stream; BENCH_FANOUT_EVENTS conversations (default 20) queue in their
//! team, and each must reach every stream: the delay from the event's time to its delivery on
//! each stream, p50/p99/max over all deliveries.
//!
//! Environment: BENCH_CALLS (sequential calls per side, default 2000), BENCH_SECONDS (per
//! throughput phase, default 5), BENCH_CONCURRENCY (default 32). The per-token rate limit is
//! lifted for the run (it would measure the limiter, not the path).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use switchboard_proto::{
    common::v1::Role,
    gateway::v1::{self as gpb, gateway_service_client::GatewayServiceClient},
    routing::v1::{self as rpb, routing_service_client::RoutingServiceClient},
};
use switchboard_runtime::Service;
use switchboard_testkit::{Backend, TestEnv};
use tonic::{
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone)]
struct Credentials(
    MetadataValue<tonic::metadata::Ascii>,
    MetadataValue<tonic::metadata::Ascii>,
);

impl Interceptor for Credentials {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        req.metadata_mut()
            .insert("x-switchboard-organization", self.1.clone());
        Ok(req)
    }
}

type Gateway = GatewayServiceClient<InterceptedService<Channel, Credentials>>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `calls` sequential calls of `op`; sorted latencies.
async fn latencies<F, Fut>(calls: u64, op: F) -> Vec<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut out = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        let t = Instant::now();
        op().await;
        out.push(t.elapsed());
    }
    out.sort();
    out
}

/// Calls per second of `op` from `concurrency` tasks for `seconds`.
async fn throughput<F, Fut>(concurrency: u64, seconds: u64, op: F) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (op, count) = (op.clone(), count.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    op().await;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let calls = env_num("BENCH_CALLS", 2000);
    let seconds = env_num("BENCH_SECONDS", 5);
    let concurrency = env_num("BENCH_CONCURRENCY", 32);
    let mut env = TestEnv::new(Backend::Cluster).await?;
    env.settings.gateway.limits.requests_per_second = 1_000_000;
    env.settings.gateway.limits.burst = 1_000_000;
    env.settings.telemetry.log_filter = "warn".into();
    let suite = env
        .start(&[
            Service::Presence,
            Service::Routing,
            Service::Channel,
            Service::Ticketing,
            Service::Gateway,
        ])
        .await?;
    let mut routing = RoutingServiceClient::new(suite.channel(Service::Routing).await?);
    let org = routing
        .create_organization(rpb::CreateOrganizationRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            name: "Bench".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("org")
        .id;
    let agent = routing
        .create_agent(rpb::CreateAgentRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            organization_id: org.clone(),
            agent: Some(rpb::Agent {
                display_name: "Ana".into(),
                email: "ana@bench.test".into(),
                role: Role::Agent as i32,
                capacity: 3,
                auth_subject: "bench|ana".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent")
        .id;
    let token = switchboard_gateway::dev_token(
        &env.settings.gateway.auth,
        "bench|ana",
        Duration::from_secs(3600),
    )?;
    let gateway: Gateway = GatewayServiceClient::with_interceptor(
        suite.channel(Service::Gateway).await?,
        Credentials(format!("Bearer {token}").parse()?, org.parse()?),
    );
    let direct_request = rpb::GetInboxCountsRequest {
        organization_id: org.clone(),
        actor_agent_id: agent.clone(),
        agent_id: agent.clone(),
    };
    let direct = {
        let routing = routing.clone();
        let request = direct_request.clone();
        move || {
            let (mut routing, request) = (routing.clone(), request.clone());
            async move {
                routing
                    .get_inbox_counts(request)
                    .await
                    .expect("direct call");
            }
        }
    };
    let through = {
        let gateway = gateway.clone();
        move || {
            let mut gateway = gateway.clone();
            async move {
                gateway
                    .get_inbox_counts(gpb::GetInboxCountsRequest {})
                    .await
                    .expect("gateway call");
            }
        }
    };
    // Warm both paths (connections, the subject binding, prepared statements), then measure
    // them alternately, call by call, so neither gets a warmer or quieter machine.
    latencies(200, &direct).await;
    latencies(200, &through).await;
    let (mut d, mut g) = (Vec::new(), Vec::new());
    for _ in 0..calls {
        d.extend(latencies(1, &direct).await);
        g.extend(latencies(1, &through).await);
    }
    d.sort();
    g.sort();
    let d_tp = throughput(concurrency, seconds, direct.clone()).await;
    let g_tp = throughput(concurrency, seconds, through.clone()).await;
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    println!(
        "GetInboxCounts, {calls} sequential calls, then {concurrency} concurrent for {seconds} s (PostgreSQL + Redis)"
    );
    println!(
        "{:<10} {:>9} {:>9} {:>12}",
        "path", "p50 ms", "p99 ms", "calls/s"
    );
    for (name, lat, tp) in [("direct", &d, d_tp), ("gateway", &g, g_tp)] {
        println!(
            "{:<10} {:>9.3} {:>9.3} {:>12.0}",
            name,
            ms(percentile(lat, 0.5)),
            ms(percentile(lat, 0.99)),
            tp
        );
    }
    println!(
        "ratio gateway_vs_direct_p50_latency={:.3}",
        ms(percentile(&g, 0.5)) / ms(percentile(&d, 0.5))
    );
    println!(
        "ratio gateway_vs_direct_p99_latency={:.3}",
        ms(percentile(&g, 0.99)) / ms(percentile(&d, 0.99))
    );
    println!("ratio gateway_vs_direct_throughput={:.3}", g_tp / d_tp);
    fan_out(&env, &suite, &mut routing, &org).await?;
    suite.stop().await?;
    Ok(())
}

/// The live inbox's fan-out to many connected agents.
async fn fan_out(
    env: &TestEnv,
    suite: &switchboard_testkit::Suite,
    routing: &mut RoutingServiceClient<Channel>,
    org: &str,
) -> anyhow::Result<()> {
    use switchboard_proto::{
        channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
        gateway::v1::InboxScope,
    };
    let agents = env_num("BENCH_FANOUT", 1000) as usize;
    let events = env_num("BENCH_FANOUT_EVENTS", 20) as usize;
    let rid = || uuid::Uuid::now_v7().to_string();
    // The agents (offline: conversations wait in their team's queue, which every member sees).
    let mut members = Vec::with_capacity(agents);
    for i in 0..agents {
        let subject = format!("bench|agent-{i}");
        let id = routing
            .create_agent(rpb::CreateAgentRequest {
                request_id: rid(),
                organization_id: org.into(),
                agent: Some(rpb::Agent {
                    display_name: format!("Agent {i}"),
                    email: format!("agent-{i}@bench.test"),
                    role: Role::Agent as i32,
                    capacity: 3,
                    auth_subject: subject.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await?
            .into_inner()
            .agent
            .expect("agent")
            .id;
        members.push((id, subject));
    }
    let admin = routing
        .create_agent(rpb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.into(),
            agent: Some(rpb::Agent {
                display_name: "Admin".into(),
                email: "admin@bench.test".into(),
                role: Role::Admin as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("admin")
        .id;
    let team = routing
        .create_team(rpb::CreateTeamRequest {
            request_id: rid(),
            organization_id: org.into(),
            actor_agent_id: admin.clone(),
            team: Some(rpb::Team {
                name: "Everyone".into(),
                strategy: rpb::TeamStrategy::LeastOpen as i32,
                ..Default::default()
            }),
            member_agent_ids: members.iter().map(|(id, _)| id.clone()).collect(),
        })
        .await?
        .into_inner()
        .team
        .expect("team")
        .id;
    let account = ChannelServiceClient::new(suite.channel(Service::Channel).await?)
        .create_channel_account(ch::CreateChannelAccountRequest {
            request_id: rid(),
            organization_id: org.into(),
            actor_agent_id: admin.clone(),
            channel_account: Some(ch::ChannelAccount {
                display_name: "Bench".into(),
                phone_number_id: "900000000000001".into(),
                display_phone_number: "+1 555-010-0001".into(),
                waba_id: "900000000000002".into(),
                access_token_secret_ref: "bench".into(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .channel_account
        .expect("account")
        .id;
    routing
        .update_channel_account_routing(rpb::UpdateChannelAccountRoutingRequest {
            request_id: rid(),
            organization_id: org.into(),
            actor_agent_id: admin.clone(),
            routing: Some(rpb::ChannelAccountRouting {
                channel_account_id: account.clone(),
                linked_team_ids: vec![team.clone()],
                default_target: Some(rpb::Target {
                    kind: Some(rpb::target::Kind::TeamId(team.clone())),
                }),
                ..Default::default()
            }),
        })
        .await?;

    // Every agent opens its stream (connections shared 100 streams each).
    let mut channels = Vec::new();
    for _ in 0..agents.div_ceil(100) {
        channels.push(
            tonic::transport::Endpoint::from_shared(format!(
                "http://{}",
                suite.grpc[&Service::Gateway]
            ))?
            .connect()
            .await?,
        );
    }
    let delays = Arc::new(std::sync::Mutex::new(Vec::<Duration>::new()));
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for (i, (_, subject)) in members.iter().enumerate() {
        let token = switchboard_gateway::dev_token(
            &env.settings.gateway.auth,
            subject,
            Duration::from_secs(3600),
        )?;
        let mut client = GatewayServiceClient::with_interceptor(
            channels[i / 100].clone(),
            Credentials(format!("Bearer {token}").parse()?, org.parse()?),
        );
        let mut stream = client
            .stream_inbox_events(gpb::StreamInboxEventsRequest {
                resume_cursor: String::new(),
                scope: InboxScope::Mine as i32,
                kinds: vec![gpb::InboxEventKind::ConversationQueued as i32],
            })
            .await?
            .into_inner();
        let (delays, received) = (delays.clone(), received.clone());
        readers.push(tokio::spawn(async move {
            while let Ok(Some(message)) = stream.message().await {
                let Some(event) = message.event else { continue };
                if event.kind != gpb::InboxEventKind::ConversationQueued as i32 {
                    continue;
                }
                let at = event.event_time.unwrap_or_default();
                let sent = std::time::UNIX_EPOCH
                    + Duration::new(at.seconds.max(0) as u64, at.nanos.max(0) as u32);
                let delay = std::time::SystemTime::now()
                    .duration_since(sent)
                    .unwrap_or_default();
                delays.lock().expect("delays").push(delay);
                received.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    for _ in 0..events {
        routing
            .start_conversation(rpb::StartConversationRequest {
                request_id: rid(),
                organization_id: org.into(),
                channel_account_id: account.clone(),
                contact_id: switchboard_runtime::ids::ContactId::generate().to_string(),
                first_message_id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
                ..Default::default()
            })
            .await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let want = (agents * events) as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    for r in readers {
        r.abort();
    }
    let mut delays = delays.lock().expect("delays").clone();
    delays.sort();
    let got = delays.len();
    println!();
    println!(
        "inbox fan-out: {agents} agents streaming, {events} queued conversations → {got} of {want} deliveries in {:.1} s",
        elapsed.as_secs_f64()
    );
    if !delays.is_empty() {
        let ms = |x: Duration| x.as_secs_f64() * 1e3;
        println!(
            "event → delivered: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&delays, 0.5)),
            ms(percentile(&delays, 0.99)),
            ms(*delays.last().expect("one"))
        );
    }
    println!("ratio fanout_delivered={:.3}", got as f64 / want as f64);
    Ok(())
}
