//! Presence over gRPC: no agent ever exceeds its capacity under concurrent reserves from several
//! clients (and replicas), missed heartbeats turn agents offline, and a Redis loss under load
//! never grants a slot beyond capacity while loads are rebuilt.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use switchboard_proto::{
    common::v1::{AgentStatus, PageRequest},
    presence::v1::{
        AgentProfile, AgentSnapshot, GetAgentPresenceRequest, ListAgentPresencesRequest,
        RebuildLoadsRequest, ReleaseRequest, ReserveOutcome, ReserveRequest, ReserveStrategy,
        SetStatusRequest, SyncAgentRequest, presence_service_client::PresenceServiceClient,
    },
};
use switchboard_runtime::{Service, bus::ConsumerGroup, ids::ReservationId};
use switchboard_testkit::{Backend, TestEnv};
use tokio::sync::{Mutex, RwLock};
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::on_both_backends;

type Client = PresenceServiceClient<Channel>;

async fn setup_agents(client: &mut Client, org: &str, n: usize, capacity: i32) -> Vec<String> {
    let mut agents = Vec::new();
    for i in 0..n {
        let agent = format!("agt_{i:03}");
        client
            .sync_agent(SyncAgentRequest {
                request_id: uuid::Uuid::now_v7().simple().to_string(),
                organization_id: org.into(),
                profile: Some(AgentProfile {
                    agent_id: agent.clone(),
                    capacity,
                    team_ids: vec!["team_1".into()],
                    channel_account_ids: vec!["chacc_1".into()],
                }),
            })
            .await
            .expect("sync");
        set_available(client, org, &agent).await;
        agents.push(agent);
    }
    agents
}

async fn set_available(client: &mut Client, org: &str, agent: &str) {
    client
        .set_status(SetStatusRequest {
            request_id: uuid::Uuid::now_v7().simple().to_string(),
            organization_id: org.into(),
            agent_id: agent.into(),
            status: AgentStatus::Available as i32,
            ..Default::default()
        })
        .await
        .expect("status");
}

fn reserve_request(org: &str, strategy: ReserveStrategy) -> ReserveRequest {
    ReserveRequest {
        organization_id: org.into(),
        reservation_id: ReservationId::generate().to_string(),
        strategy: strategy as i32,
        team_id: "team_1".into(),
        channel_account_id: "chacc_1".into(),
        ..Default::default()
    }
}

async fn load_of(client: &mut Client, org: &str, agent: &str) -> i32 {
    client
        .get_agent_presence(GetAgentPresenceRequest {
            organization_id: org.into(),
            agent_id: agent.into(),
        })
        .await
        .expect("get")
        .into_inner()
        .presence
        .expect("presence")
        .load
}

/// Held reservations per agent as the clients (routing's stand-in) know them. A grant is added
/// before anything else can see it and a release removed before it is sent, so the ledger can
/// only under-count the server's load: a count above capacity is an over-grant.
#[derive(Default)]
struct Ledger {
    held: Mutex<HashMap<String, Vec<String>>>,
    max_seen: AtomicUsize,
}

impl Ledger {
    async fn grant(&self, agent: &str, reservation: &str, capacity: usize) {
        let mut held = self.held.lock().await;
        let list = held.entry(agent.to_string()).or_default();
        list.push(reservation.to_string());
        self.max_seen.fetch_max(list.len(), Ordering::SeqCst);
        assert!(
            list.len() <= capacity,
            "{agent} holds {} > capacity {capacity}",
            list.len()
        );
    }

    async fn take_one(&self, agent: &str) -> Option<String> {
        self.held.lock().await.get_mut(agent).and_then(|l| l.pop())
    }
}

/// 3 clients (on 3 presence replicas in the cluster setup) fire 3,000 concurrent reserves at 20
/// agents of capacity 3, releasing some as they go. No agent ever exceeds 3, granted minus
/// released equals the sum of loads, and releasing everything (twice) brings every load to 0.
async fn concurrent_reserves_never_exceed_capacity(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let replicas = match backend {
        Backend::Cluster => 3,
        // The in-process store lives in one process: one server, three clients.
        Backend::Embedded => 1,
    };
    let mut suites = Vec::new();
    for _ in 0..replicas {
        suites.push(env.start(&[Service::Presence]).await?);
    }
    let org = switchboard_runtime::ids::OrganizationId::generate().to_string();
    let mut admin = PresenceServiceClient::new(suites[0].channel(Service::Presence).await?);
    let agents = setup_agents(&mut admin, &org, 20, 3).await;

    let ledger = Arc::new(Ledger::default());
    let granted = Arc::new(AtomicUsize::new(0));
    let released = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..3 {
        let channel = suites[c % replicas].channel(Service::Presence).await?;
        for w in 0..10 {
            let client = PresenceServiceClient::new(channel.clone());
            let (org, ledger, granted, released) = (
                org.clone(),
                ledger.clone(),
                granted.clone(),
                released.clone(),
            );
            tasks.spawn(async move {
                let mut client = client;
                for i in 0..100 {
                    let strategy = if (w + i) % 2 == 0 {
                        ReserveStrategy::LeastOpen
                    } else {
                        ReserveStrategy::RoundRobin
                    };
                    let resp = client
                        .reserve(reserve_request(&org, strategy))
                        .await
                        .expect("reserve")
                        .into_inner();
                    if resp.outcome == ReserveOutcome::Granted as i32 {
                        let r = resp.reservation.expect("reservation");
                        ledger.grant(&r.agent_id, &r.id, 3).await;
                        granted.fetch_add(1, Ordering::SeqCst);
                        if i % 3 == 0
                            && let Some(rid) = ledger.take_one(&r.agent_id).await
                        {
                            let rel = client
                                .release(ReleaseRequest {
                                    organization_id: org.clone(),
                                    reservation_id: rid,
                                    ..Default::default()
                                })
                                .await
                                .expect("release")
                                .into_inner();
                            assert!(rel.released);
                            released.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
    }
    while let Some(r) = tasks.join_next().await {
        r?;
    }
    let mut sum = 0;
    for a in &agents {
        let load = load_of(&mut admin, &org, a).await;
        assert!((0..=3).contains(&load), "{a} load {load}");
        sum += load as usize;
    }
    let (granted, released) = (
        granted.load(Ordering::SeqCst),
        released.load(Ordering::SeqCst),
    );
    assert!(
        granted >= 60,
        "every slot was granted at least once: {granted}"
    );
    assert_eq!(granted - released, sum, "granted − released = Σ load");
    assert_eq!(ledger.max_seen.load(Ordering::SeqCst), 3);

    // Release everything, each twice: the second release frees nothing.
    let held: Vec<String> = ledger
        .held
        .lock()
        .await
        .values()
        .flatten()
        .cloned()
        .collect();
    assert_eq!(held.len(), sum);
    for rid in held {
        for attempt in 0..2 {
            let rel = admin
                .release(ReleaseRequest {
                    organization_id: org.clone(),
                    reservation_id: rid.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            assert_eq!(rel.released, attempt == 0);
        }
    }
    for a in &agents {
        assert_eq!(load_of(&mut admin, &org, a).await, 0, "{a} back to 0");
    }
    for s in suites {
        s.stop().await?;
    }
    Ok(())
}
on_both_backends!(concurrent_reserves_never_exceed_capacity);

const PRESENCE_EVENTS: ConsumerGroup = ConsumerGroup {
    name: "test.presence",
    topics: &[
        <switchboard_proto::presence::v1::AgentHeartbeatExpired as switchboard_proto::events::TypedEvent>::TOPIC,
        <switchboard_proto::presence::v1::AgentSlotFreed as switchboard_proto::events::TypedEvent>::TOPIC,
    ],
};

/// An agent whose client stops sending heartbeats turns offline by itself (an event says so) and
/// gets no reservation; releasing a slot publishes that it freed.
async fn missed_heartbeats_turn_an_agent_offline(backend: Backend) -> anyhow::Result<()> {
    let mut env = TestEnv::new(backend).await?;
    env.settings.presence.heartbeat_ttl_secs = 1;
    let suite = env
        .start_with_groups(&[Service::Presence], &[PRESENCE_EVENTS])
        .await?;
    let bus = suite.infra().expect("running").bus.clone();
    let mut sub = bus
        .subscribe(PRESENCE_EVENTS.name, "c1", PRESENCE_EVENTS.topics)
        .await?;
    let org = switchboard_runtime::ids::OrganizationId::generate().to_string();
    let mut client = PresenceServiceClient::new(suite.channel(Service::Presence).await?);
    setup_agents(&mut client, &org, 1, 2).await;

    let first = client
        .reserve(reserve_request(&org, ReserveStrategy::LeastOpen))
        .await?
        .into_inner();
    assert_eq!(first.outcome, ReserveOutcome::Granted as i32);
    client
        .release(ReleaseRequest {
            organization_id: org.clone(),
            reservation_id: first.reservation.expect("r").id,
            ..Default::default()
        })
        .await?;

    let mut topics = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while topics.len() < 2 && tokio::time::Instant::now() < deadline {
        if let Some(d) = sub.next(Duration::from_millis(500)).await? {
            topics.push(d.event.topic.clone());
            assert_eq!(d.event.organization_id, org);
            sub.ack(d).await?;
        }
    }
    assert_eq!(
        topics,
        [
            <switchboard_proto::presence::v1::AgentSlotFreed as switchboard_proto::events::TypedEvent>::TOPIC,
            <switchboard_proto::presence::v1::AgentHeartbeatExpired as switchboard_proto::events::TypedEvent>::TOPIC
        ]
    );
    let presence = client
        .get_agent_presence(GetAgentPresenceRequest {
            organization_id: org.clone(),
            agent_id: "agt_000".into(),
        })
        .await?
        .into_inner()
        .presence
        .expect("presence");
    assert_eq!(presence.status, AgentStatus::Offline as i32);
    assert_eq!(presence.status_reason, "heartbeat expired");
    let after = client
        .reserve(reserve_request(&org, ReserveStrategy::LeastOpen))
        .await?
        .into_inner();
    assert_eq!(after.outcome, ReserveOutcome::NoAgentAvailable as i32);
    drop(sub);
    suite.stop().await
}
on_both_backends!(missed_heartbeats_turn_an_agent_offline);

/// Bad input names its fields and changes nothing.
async fn bad_reserve_requests_name_their_fields(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let suite = env.start(&[Service::Presence]).await?;
    let mut client = PresenceServiceClient::new(suite.channel(Service::Presence).await?);
    let org = switchboard_runtime::ids::OrganizationId::generate().to_string();
    setup_agents(&mut client, &org, 1, 1).await;
    let err = client
        .reserve(ReserveRequest {
            organization_id: org.clone(),
            strategy: ReserveStrategy::LeastOpen as i32,
            exclude_agent_ids: vec!["nope".into()],
            ..Default::default()
        })
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let fields: Vec<String> = err
        .get_details_bad_request()
        .expect("details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(
        fields,
        ["reservation_id", "exclude_agent_ids[0]", "team_id"]
    );
    assert_eq!(load_of(&mut client, &org, "agt_000").await, 0);
    let unknown = client
        .get_agent_presence(GetAgentPresenceRequest {
            organization_id: org,
            agent_id: "agt_999".into(),
        })
        .await
        .expect_err("unknown agent");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    suite.stop().await
}
on_both_backends!(bad_reserve_requests_name_their_fields);

/// ListAgentPresences pages: ordered by agent id, every agent exactly once across pages,
/// total_size set, and a page token is refused under other filters.
async fn agent_presences_page_by_agent_id(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let suite = env.start(&[Service::Presence]).await?;
    let mut client = PresenceServiceClient::new(suite.channel(Service::Presence).await?);
    let org = switchboard_runtime::ids::OrganizationId::generate().to_string();
    let agents = setup_agents(&mut client, &org, 7, 1).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let response = client
            .list_agent_presences(ListAgentPresencesRequest {
                organization_id: org.clone(),
                page: Some(PageRequest {
                    page_size: 3,
                    page_token: token.clone(),
                }),
                ..Default::default()
            })
            .await?
            .into_inner();
        pages += 1;
        let page = response.page.expect("page metadata");
        assert_eq!(page.total_size, Some(7), "total_size counts every match");
        assert!(
            response.presences.len() <= 3,
            "a page holds at most page_size"
        );
        seen.extend(response.presences.into_iter().map(|p| p.agent_id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
        let other_filter = client
            .list_agent_presences(ListAgentPresencesRequest {
                organization_id: org.clone(),
                page: Some(PageRequest {
                    page_size: 3,
                    page_token: token.clone(),
                }),
                team_id: "team_2".into(),
                ..Default::default()
            })
            .await
            .expect_err("a token of other filters");
        assert_eq!(other_filter.code(), tonic::Code::InvalidArgument);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, agents, "every agent once, by id");
    suite.stop().await
}
on_both_backends!(agent_presences_page_by_agent_id);

/// A Redis of this test's own, so FLUSHALL touches nobody else.
struct OwnRedis {
    child: std::process::Child,
    url: String,
    _dir: tempdir::Dir,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl OwnRedis {
    async fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("sb-redis-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("redis-server (Debian package redis-server) is needed: {e}")
            })?;
        let url = format!("redis://127.0.0.1:{port}");
        let client = redis::Client::open(url.as_str())?;
        for _ in 0..100 {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                let pong: Result<String, _> = redis::cmd("PING").query_async(&mut c).await;
                if pong.is_ok() {
                    return Ok(Self {
                        child,
                        url,
                        _dir: tempdir::Dir(dir),
                    });
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("redis-server did not answer")
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// FLUSHALL while clients reserve and release: from then on no slot is granted until routing's
/// stand-in rebuilds loads from the reservations it holds, the ledger never shows an agent over
/// capacity, and afterwards reserves and releases balance to zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_flushall_under_load_never_over_assigns() -> anyhow::Result<()> {
    let redis = OwnRedis::start().await?;
    let mut env = TestEnv::new(Backend::Cluster).await?;
    env.settings.redis.url = redis.url.clone();
    let suite = env.start(&[Service::Presence]).await?;
    let channel = suite.channel(Service::Presence).await?;
    let mut admin = PresenceServiceClient::new(channel.clone());
    let org = switchboard_runtime::ids::OrganizationId::generate().to_string();
    let agents = setup_agents(&mut admin, &org, 10, 2).await;

    let ledger = Arc::new(Ledger::default());
    // Routing's consistency: a rebuild snapshot is taken while no release is in flight.
    let snapshot_lock = Arc::new(RwLock::new(()));
    let refused = Arc::new(AtomicUsize::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..4 {
        let mut client = PresenceServiceClient::new(channel.clone());
        let (org, ledger, lock, refused, stop) = (
            org.clone(),
            ledger.clone(),
            snapshot_lock.clone(),
            refused.clone(),
            stop.clone(),
        );
        tasks.spawn(async move {
            let mut i = 0u64;
            while !stop.is_cancelled() {
                i += 1;
                match client
                    .reserve(reserve_request(&org, ReserveStrategy::LeastOpen))
                    .await
                {
                    Ok(resp) => {
                        let resp = resp.into_inner();
                        if resp.outcome == ReserveOutcome::Granted as i32 {
                            let r = resp.reservation.expect("reservation");
                            ledger.grant(&r.agent_id, &r.id, 2).await;
                        }
                    }
                    Err(status) => {
                        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                        assert_eq!(
                            status
                                .get_details_error_info()
                                .map(|i| (i.reason, i.domain)),
                            Some((
                                "ERROR_REASON_LOADS_REBUILDING".to_string(),
                                "switchboard".to_string()
                            ))
                        );
                        refused.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                if (i + w).is_multiple_of(2) {
                    let _guard = lock.read().await;
                    let agent = format!("agt_{:03}", (i + w) % 10);
                    if let Some(rid) = ledger.take_one(&agent).await {
                        let _ = client
                            .release(ReleaseRequest {
                                organization_id: org.clone(),
                                reservation_id: rid,
                                ..Default::default()
                            })
                            .await;
                    }
                }
            }
        });
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = redis::Client::open(redis.url.as_str())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await?;

    // Wait until presence notices (reservations refused), then rebuild as routing would.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while refused.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loss was never detected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    {
        let _no_releases = snapshot_lock.write().await;
        let held = ledger.held.lock().await.clone();
        let snapshots = agents
            .iter()
            .map(|a| AgentSnapshot {
                profile: Some(AgentProfile {
                    agent_id: a.clone(),
                    capacity: 2,
                    team_ids: vec!["team_1".into()],
                    channel_account_ids: vec!["chacc_1".into()],
                }),
                reservations: held
                    .get(a)
                    .into_iter()
                    .flatten()
                    .map(|rid| switchboard_proto::presence::v1::Reservation {
                        id: rid.clone(),
                        agent_id: a.clone(),
                        team_id: "team_1".into(),
                        channel_account_id: "chacc_1".into(),
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect();
        admin
            .rebuild_loads(RebuildLoadsRequest {
                request_id: uuid::Uuid::now_v7().simple().to_string(),
                organization_id: org.clone(),
                agents: snapshots,
                ..Default::default()
            })
            .await?;
        for a in &agents {
            assert_eq!(
                load_of(&mut admin, &org, a).await as usize,
                held.get(a).map_or(0, Vec::len),
                "{a}: load rebuilt from the held reservations"
            );
        }
    }
    // Statuses come back with the agents' next heartbeats.
    for a in &agents {
        set_available(&mut admin, &org, a).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    while let Some(r) = tasks.join_next().await {
        r?;
    }
    assert!(refused.load(Ordering::SeqCst) > 0);

    // Everything still held releases exactly once, to zero.
    let held: Vec<String> = ledger
        .held
        .lock()
        .await
        .values()
        .flatten()
        .cloned()
        .collect();
    for rid in held {
        let rel = admin
            .release(ReleaseRequest {
                organization_id: org.clone(),
                reservation_id: rid,
                ..Default::default()
            })
            .await?
            .into_inner();
        assert!(rel.released);
    }
    for a in &agents {
        assert_eq!(load_of(&mut admin, &org, a).await, 0, "{a}");
    }
    let rebuilding = admin
        .reserve(reserve_request(&org, ReserveStrategy::LeastOpen))
        .await?
        .into_inner();
    assert_eq!(
        rebuilding.outcome,
        ReserveOutcome::Granted as i32,
        "serving again"
    );
    suite.stop().await?;
    Ok(())
}

async fn next_watch_event(
    stream: &mut tonic::Streaming<switchboard_proto::presence::v1::WatchPresenceResponse>,
) -> switchboard_proto::presence::v1::PresenceEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("an event within 10 s")
        .expect("ok item")
        .expect("stream open")
        .event
        .expect("event")
}

/// WatchPresence: an initial snapshot, then the changes of the watched team as they happen —
/// in the cluster setup made through another replica than the one streaming.
async fn watchers_see_changes_from_every_replica(backend: Backend) -> anyhow::Result<()> {
    use switchboard_proto::presence::v1::{
        PresenceEventKind, SetCapacityRequest, WatchPresenceRequest,
    };
    let env = TestEnv::new(backend).await?;
    let watched = env.start(&[Service::Presence]).await?;
    let other = match backend {
        Backend::Cluster => Some(env.start(&[Service::Presence]).await?),
        Backend::Embedded => None,
    };
    let mut watch_client = PresenceServiceClient::new(watched.channel(Service::Presence).await?);
    let mut changer = PresenceServiceClient::new(
        other
            .as_ref()
            .unwrap_or(&watched)
            .channel(Service::Presence)
            .await?,
    );
    let org = switchboard_runtime::ids::OrganizationId::generate().to_string();
    setup_agents(&mut changer, &org, 2, 3).await;
    changer
        .sync_agent(SyncAgentRequest {
            request_id: uuid::Uuid::now_v7().simple().to_string(),
            organization_id: org.clone(),
            profile: Some(AgentProfile {
                agent_id: "agt_900".into(),
                capacity: 1,
                team_ids: vec!["team_2".into()],
                channel_account_ids: vec![],
            }),
        })
        .await?;

    let bad = watch_client
        .watch_presence(WatchPresenceRequest {
            organization_id: org.clone(),
            kinds: vec![99],
            ..Default::default()
        })
        .await
        .expect_err("unknown kind");
    assert_eq!(
        bad.get_details_bad_request()
            .expect("details")
            .field_violations[0]
            .field,
        "kinds[0]"
    );

    let mut stream = watch_client
        .watch_presence(WatchPresenceRequest {
            organization_id: org.clone(),
            team_id: "team_1".into(),
            send_initial_snapshot: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    for _ in 0..2 {
        let e = next_watch_event(&mut stream).await;
        assert_eq!(e.kind, PresenceEventKind::Snapshot as i32);
        assert_eq!(
            e.presence.expect("presence").status,
            AgentStatus::Available as i32
        );
    }

    changer
        .set_status(SetStatusRequest {
            request_id: uuid::Uuid::now_v7().simple().to_string(),
            organization_id: org.clone(),
            agent_id: "agt_000".into(),
            status: AgentStatus::Away as i32,
            reason: "lunch".into(),
        })
        .await?;
    // A change in another team is not this watcher's business.
    set_available(&mut changer, &org, "agt_900").await;
    changer
        .set_capacity(SetCapacityRequest {
            request_id: uuid::Uuid::now_v7().simple().to_string(),
            organization_id: org.clone(),
            agent_id: "agt_001".into(),
            capacity: 5,
        })
        .await?;

    // Setup's own events (profiles, becoming available) may still be on their way from the
    // outbox when the watch starts; the changes made after it are what must arrive, in order.
    let mut changes = Vec::new();
    while changes.len() < 2 {
        let e = next_watch_event(&mut stream).await;
        let p = e.presence.clone().expect("presence");
        let from_setup = e.kind == PresenceEventKind::ProfileChanged as i32
            || (e.kind == PresenceEventKind::StatusChanged as i32
                && p.status == AgentStatus::Available as i32);
        assert_ne!(
            p.agent_id, "agt_900",
            "team_2's changes are not this watcher's"
        );
        if !from_setup {
            changes.push(e);
        }
    }
    let e = &changes[0];
    assert_eq!(e.kind, PresenceEventKind::StatusChanged as i32);
    assert!(e.event_id.starts_with("evt_"));
    assert_eq!(e.previous_status, AgentStatus::Available as i32);
    let p = e.presence.clone().expect("presence");
    assert_eq!(
        (p.agent_id.as_str(), p.status, p.status_reason.as_str()),
        ("agt_000", AgentStatus::Away as i32, "lunch")
    );
    let e = &changes[1];
    assert_eq!(e.kind, PresenceEventKind::CapacityChanged as i32);
    let p = e.presence.clone().expect("presence");
    assert_eq!((p.agent_id.as_str(), p.capacity), ("agt_001", 5));

    drop(stream);
    if let Some(o) = other {
        o.stop().await?;
    }
    watched.stop().await
}
on_both_backends!(watchers_see_changes_from_every_replica);

/// WatchPresence: a reservation is a load change like a release (the proto promises both), so a
/// watcher of LOAD_CHANGED sees the load go 0 → 1 on reserve and back to 0 on release.
async fn watchers_see_load_change_on_reserve_and_on_release(
    backend: Backend,
) -> anyhow::Result<()> {
    use switchboard_proto::presence::v1::{PresenceEventKind, WatchPresenceRequest};
    let env = TestEnv::new(backend).await?;
    let suite = env.start(&[Service::Presence]).await?;
    let mut client = PresenceServiceClient::new(suite.channel(Service::Presence).await?);
    let org = switchboard_runtime::ids::OrganizationId::generate().to_string();
    setup_agents(&mut client, &org, 1, 2).await;
    let mut stream = client
        .watch_presence(WatchPresenceRequest {
            organization_id: org.clone(),
            team_id: "team_1".into(),
            kinds: vec![PresenceEventKind::LoadChanged as i32],
            ..Default::default()
        })
        .await?
        .into_inner();

    let granted = client
        .reserve(reserve_request(&org, ReserveStrategy::LeastOpen))
        .await?
        .into_inner();
    assert_eq!(granted.outcome, ReserveOutcome::Granted as i32);
    let e = next_watch_event(&mut stream).await;
    assert_eq!(e.kind, PresenceEventKind::LoadChanged as i32);
    let p = e.presence.expect("presence");
    assert_eq!((p.agent_id.as_str(), p.load), ("agt_000", 1), "on reserve");

    client
        .release(ReleaseRequest {
            organization_id: org.clone(),
            reservation_id: granted.reservation.expect("reservation").id,
            ..Default::default()
        })
        .await?;
    let e = next_watch_event(&mut stream).await;
    assert_eq!(e.kind, PresenceEventKind::LoadChanged as i32);
    let p = e.presence.expect("presence");
    assert_eq!((p.agent_id.as_str(), p.load), ("agt_000", 0), "on release");

    drop(stream);
    suite.stop().await
}
on_both_backends!(watchers_see_load_change_on_reserve_and_on_release);

/// An agent whose heartbeats stop reads OFFLINE with the reason "heartbeat expired" (the proto's
/// promise) from the first read that shows it offline, and its HEARTBEAT_EXPIRED event carries
/// the same reason for watchers.
async fn expired_heartbeat_reads_offline_with_reason_heartbeat_expired(
    backend: Backend,
) -> anyhow::Result<()> {
    use switchboard_proto::presence::v1::{PresenceEventKind, WatchPresenceRequest};
    let mut env = TestEnv::new(backend).await?;
    env.settings.presence.heartbeat_ttl_secs = 1;
    let suite = env.start(&[Service::Presence]).await?;
    let mut client = PresenceServiceClient::new(suite.channel(Service::Presence).await?);
    let org = switchboard_runtime::ids::OrganizationId::generate().to_string();
    let mut stream = client
        .watch_presence(WatchPresenceRequest {
            organization_id: org.clone(),
            kinds: vec![PresenceEventKind::HeartbeatExpired as i32],
            ..Default::default()
        })
        .await?
        .into_inner();
    // Away with a reason of its own: expiry must replace it, not keep it.
    setup_agents(&mut client, &org, 1, 2).await;
    client
        .set_status(SetStatusRequest {
            request_id: uuid::Uuid::now_v7().simple().to_string(),
            organization_id: org.clone(),
            agent_id: "agt_000".into(),
            status: AgentStatus::Away as i32,
            reason: "lunch".into(),
        })
        .await?;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let offline = loop {
        let p = client
            .get_agent_presence(GetAgentPresenceRequest {
                organization_id: org.clone(),
                agent_id: "agt_000".into(),
            })
            .await?
            .into_inner()
            .presence
            .expect("presence");
        if p.status == AgentStatus::Offline as i32 {
            break p;
        }
        assert!(tokio::time::Instant::now() < deadline, "never went offline");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    assert_eq!(
        offline.status_reason, "heartbeat expired",
        "GetAgentPresence"
    );

    let e = next_watch_event(&mut stream).await;
    assert_eq!(e.kind, PresenceEventKind::HeartbeatExpired as i32);
    assert_eq!(e.previous_status, AgentStatus::Away as i32);
    let p = e.presence.expect("presence");
    assert_eq!(
        (p.agent_id.as_str(), p.status, p.status_reason.as_str()),
        ("agt_000", AgentStatus::Offline as i32, "heartbeat expired"),
        "WatchPresence"
    );
    drop(stream);
    suite.stop().await
}
on_both_backends!(expired_heartbeat_reads_offline_with_reason_heartbeat_expired);

/// Presence losing its keys reaches routing's caller as UNAVAILABLE with
/// ERROR_REASON_LOADS_REBUILDING in domain "switchboard" (routing reads presence's answer by its
/// reason through the shared error table, not by its words); once routing rebuilt the loads on
/// presence's request, the same pick goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pick_while_presence_rebuilds_answers_unavailable_loads_rebuilding() -> anyhow::Result<()>
{
    use crate::routing_support::{World, channel_account, rid, team_target};
    use switchboard_proto::routing::v1::{self as rpb, TeamStrategy};

    let env = TestEnv::new(Backend::Cluster).await?;
    let (redis_url, prefix) = (env.settings.redis.url.clone(), env.redis_prefix.clone());
    let mut w = World::launch(
        env,
        &[
            Service::Presence,
            Service::Routing,
            Service::Channel,
            Service::Ticketing,
        ],
    )
    .await?;
    w.account = channel_account(&w.suite, &w.org, &w.admin).await?;
    let ana = w.agent("Ana", 3).await?;
    let manual = w
        .team("Manual", TeamStrategy::Manual, &[&ana], |_| {})
        .await?;
    w.link(&[&manual], &[], Some(team_target(&manual))).await?;
    let c = w.start().await?;

    // The presence store loses this test's keys (its loads), as after a Redis loss.
    let client = redis::Client::open(redis_url.as_str())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:presence*"))
        .query_async(&mut conn)
        .await?;
    assert!(!keys.is_empty(), "presence keeps its state under {prefix}");
    let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;

    let pick = |mut routing: crate::routing_support::Routing, org: String, agent: String, id| async move {
        routing
            .pick_conversation(rpb::PickConversationRequest {
                request_id: rid(),
                organization_id: org,
                actor_agent_id: agent,
                conversation_id: id,
            })
            .await
    };
    let refused = pick(w.routing.clone(), w.org.clone(), ana.clone(), c.id.clone())
        .await
        .expect_err("presence is rebuilding");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert_eq!(
        refused
            .get_details_error_info()
            .map(|i| (i.reason, i.domain)),
        Some((
            "ERROR_REASON_LOADS_REBUILDING".to_string(),
            "switchboard".to_string()
        ))
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match pick(w.routing.clone(), w.org.clone(), ana.clone(), c.id.clone()).await {
            Ok(_) => break,
            Err(s) if s.code() == tonic::Code::Unavailable => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "loads never rebuilt: {s:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => panic!("unexpected answer {s:?}"),
        }
    }
    Ok(())
}
