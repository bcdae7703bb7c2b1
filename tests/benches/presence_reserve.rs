//! Benchmark: reserve+release pairs per second through presence's gRPC API, next to the raw
//! Redis EVAL rate and the bare Redis store (no gRPC) measured in the same run against the same
//! Redis. Prints a table and `ratio …` lines. Run with `make bench-presence`.
//!
//! Environment: BENCH_SECONDS (per phase, default 5), BENCH_CONCURRENCY (default 32).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use switchboard_presence::{
    domain::{Profile, ReserveOutcome, ReserveRequest, Status, Strategy},
    store::{PresenceStore, ReserveResult, redis::RedisStore},
};
use switchboard_proto::{
    common::v1::AgentStatus,
    presence::v1::{
        AgentProfile, ReleaseRequest, ReserveRequest as PbReserve, ReserveStrategy,
        SetStatusRequest, SyncAgentRequest, presence_service_client::PresenceServiceClient,
    },
};
use switchboard_runtime::{
    Service,
    ids::{AgentId, OrganizationId, ReservationId, TeamId},
};
use switchboard_testkit::{Backend, TestEnv};

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `op` from `concurrency` tasks for `seconds`; returns operations per second.
async fn measure<F, Fut>(concurrency: u64, seconds: u64, op: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (op, count) = (op.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = t << 32;
            while Instant::now() < deadline {
                op(i).await;
                i += 1;
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("bench task");
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn grpc_phase(backend: Backend, concurrency: u64, seconds: u64) -> anyhow::Result<f64> {
    let env = TestEnv::new(backend).await?;
    let suite = env.start(&[Service::Presence]).await?;
    let channel = suite.channel(Service::Presence).await?;
    let mut admin = PresenceServiceClient::new(channel.clone());
    let org = OrganizationId::generate().to_string();
    for i in 0..50 {
        let agent = format!("agt_{i:03}");
        admin
            .sync_agent(SyncAgentRequest {
                request_id: uuid::Uuid::now_v7().simple().to_string(),
                organization_id: org.clone(),
                profile: Some(AgentProfile {
                    agent_id: agent.clone(),
                    capacity: 100,
                    team_ids: vec!["team_1".into()],
                    channel_account_ids: vec![],
                }),
            })
            .await?;
        admin
            .set_status(SetStatusRequest {
                request_id: uuid::Uuid::now_v7().simple().to_string(),
                organization_id: org.clone(),
                agent_id: agent,
                status: AgentStatus::Available as i32,
                ..Default::default()
            })
            .await?;
    }
    let rate = measure(concurrency, seconds, move |_| {
        let mut client = PresenceServiceClient::new(channel.clone());
        let org = org.clone();
        async move {
            let resp = client
                .reserve(PbReserve {
                    organization_id: org.clone(),
                    reservation_id: ReservationId::generate().to_string(),
                    strategy: ReserveStrategy::LeastOpen as i32,
                    team_id: "team_1".into(),
                    ..Default::default()
                })
                .await
                .expect("reserve")
                .into_inner();
            let r = resp.reservation.expect("granted: capacity is ample");
            client
                .release(ReleaseRequest {
                    organization_id: org,
                    reservation_id: r.id,
                    ..Default::default()
                })
                .await
                .expect("release");
        }
    })
    .await;
    suite.stop().await?;
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = env_num("BENCH_SECONDS", 5);
    let concurrency = env_num("BENCH_CONCURRENCY", 32);
    let redis_url = switchboard_testkit::redis_url();
    let client = redis::Client::open(redis_url.as_str())?;
    let conn = client.get_connection_manager().await?;
    let prefix = format!("sbbench{}", uuid::Uuid::now_v7().simple());

    // Baseline 1: a plain EVAL (one INCR) from the same number of tasks.
    let script = redis::Script::new("return redis.call('INCR', KEYS[1])");
    let key = format!("{prefix}:eval");
    let raw_eval = {
        let (conn, script, key) = (conn.clone(), script.clone(), key.clone());
        measure(concurrency, seconds, move |_| {
            let (mut conn, script, key) = (conn.clone(), script.clone(), key.clone());
            async move {
                let _: i64 = script
                    .key(&key)
                    .invoke_async(&mut conn)
                    .await
                    .expect("eval");
            }
        })
        .await
    };

    // Baseline 2: the bare Redis store (the reserve and release scripts, no gRPC, no service).
    let store: Arc<dyn PresenceStore> = Arc::new(RedisStore::new(conn.clone(), &prefix));
    let org = OrganizationId::generate();
    let team = TeamId::parse("team_1")?;
    store.initialize(&org).await?;
    let now = chrono::Utc::now().timestamp_millis();
    for i in 0..50 {
        let agent = AgentId::parse(&format!("agt_{i:03}"))?;
        store
            .upsert_profile(
                &org,
                &Profile {
                    agent_id: agent.clone(),
                    capacity: 100,
                    team_ids: vec![team.clone()],
                    channel_account_ids: vec![],
                },
            )
            .await?;
        store
            .set_status(&org, &agent, Status::Available, "", now)
            .await?;
        store.heartbeat(&org, &agent, now, now + 3_600_000).await?;
    }
    let store_pairs = {
        let (store, org, team) = (store.clone(), org.clone(), team.clone());
        measure(concurrency, seconds, move |_| {
            let (store, org, team) = (store.clone(), org.clone(), team.clone());
            async move {
                let req = ReserveRequest {
                    reservation_id: ReservationId::generate(),
                    strategy: Strategy::LeastOpen,
                    team_id: Some(team),
                    channel_account_id: None,
                    exclude: vec![],
                    subject_id: String::new(),
                    allow_not_available: false,
                };
                let now = chrono::Utc::now().timestamp_millis();
                match store.reserve(&org, &req, now).await.expect("reserve") {
                    ReserveResult::Decided(d) => match d.outcome {
                        ReserveOutcome::Granted(r) => {
                            store.release(&org, &r.id).await.expect("release");
                        }
                        other => panic!("not granted: {other:?}"),
                    },
                    ReserveResult::Rebuilding => panic!("rebuilding"),
                }
            }
        })
        .await
    };

    let grpc_redis = grpc_phase(Backend::Cluster, concurrency, seconds).await?;
    let grpc_memory = grpc_phase(Backend::Embedded, concurrency, seconds).await?;

    // Leave nothing behind in a shared Redis.
    let mut c = conn.clone();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut c)
        .await?;
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL").arg(keys).query_async(&mut c).await?;
    }

    println!(
        "presence reserve+release benchmark ({concurrency} concurrent tasks, {seconds} s per phase, 50 agents)"
    );
    println!("{:<52} {:>12}", "phase", "ops/s");
    println!(
        "{:<52} {:>12.0}",
        "raw Redis EVAL (INCR), baseline", raw_eval
    );
    println!(
        "{:<52} {:>12.0}",
        "Redis store reserve+release pairs (no gRPC)", store_pairs
    );
    println!(
        "{:<52} {:>12.0}",
        "gRPC reserve+release pairs, Redis store", grpc_redis
    );
    println!(
        "{:<52} {:>12.0}",
        "gRPC reserve+release pairs, in-memory store", grpc_memory
    );
    println!(
        "ratio store_pairs_vs_raw_eval={:.3}",
        store_pairs / raw_eval
    );
    println!(
        "ratio grpc_redis_pairs_vs_raw_eval={:.3}",
        grpc_redis / raw_eval
    );
    println!(
        "ratio grpc_memory_pairs_vs_raw_eval={:.3}",
        grpc_memory / raw_eval
    );
    Ok(())
}
