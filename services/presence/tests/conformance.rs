//! One conformance suite, every behaviour run against both live stores: Redis (at
//! SWITCHBOARD_TEST_REDIS_URL, a unique key prefix per test) and process memory.

use std::sync::Arc;

use switchboard_presence::{
    domain::{Profile, ReserveOutcome, ReserveRequest, Status, Strategy},
    store::{PresenceStore, ReserveResult, memory::MemoryStore, redis::RedisStore},
};
use switchboard_runtime::ids::{AgentId, ChannelAccountId, OrganizationId, ReservationId, TeamId};

const NOW: i64 = 1_000_000;
const ALIVE: i64 = NOW + 60_000;

async fn redis_store() -> Arc<dyn PresenceStore> {
    let url = std::env::var("SWITCHBOARD_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).expect("redis url");
    let conn = client
        .get_connection_manager()
        .await
        .expect("test Redis answers (run through `make test`)");
    let prefix = format!("sbt{}", uuid::Uuid::now_v7().simple());
    Arc::new(RedisStore::new(conn, &prefix))
}

fn memory_store() -> Arc<dyn PresenceStore> {
    Arc::new(MemoryStore::new())
}

fn agent(n: &str) -> AgentId {
    AgentId::parse(&format!("agt_{n}")).expect("id")
}
fn team(n: &str) -> TeamId {
    TeamId::parse(&format!("team_{n}")).expect("id")
}
fn chan(n: &str) -> ChannelAccountId {
    ChannelAccountId::parse(&format!("chacc_{n}")).expect("id")
}

/// A fresh organization with `agents` (name, capacity) in team `t1` on number `c1`, available.
async fn org_with(store: &dyn PresenceStore, agents: &[(&str, u32)]) -> OrganizationId {
    let org = OrganizationId::generate();
    store.initialize(&org).await.expect("init");
    for (name, cap) in agents {
        store
            .upsert_profile(
                &org,
                &Profile {
                    agent_id: agent(name),
                    capacity: *cap,
                    team_ids: vec![team("t1")],
                    channel_account_ids: vec![chan("c1")],
                },
            )
            .await
            .expect("upsert");
        store
            .set_status(&org, &agent(name), Status::Available, "", NOW)
            .await
            .expect("status");
        store
            .heartbeat(&org, &agent(name), NOW, ALIVE)
            .await
            .expect("heartbeat");
    }
    org
}

fn request(strategy: Strategy) -> ReserveRequest {
    ReserveRequest {
        reservation_id: ReservationId::generate(),
        strategy,
        team_id: Some(team("t1")),
        channel_account_id: None,
        exclude: vec![],
        subject_id: "conv_1".into(),
        allow_not_available: false,
    }
}

async fn reserve(
    store: &dyn PresenceStore,
    org: &OrganizationId,
    req: &ReserveRequest,
    now: i64,
) -> ReserveOutcome {
    match store.reserve(org, req, now).await.expect("reserve") {
        ReserveResult::Decided(d) => d.outcome,
        ReserveResult::Rebuilding => panic!("unexpected rebuilding"),
    }
}

fn granted_to(outcome: &ReserveOutcome) -> Option<String> {
    match outcome {
        ReserveOutcome::Granted(r) => Some(r.agent_id.to_string()),
        _ => None,
    }
}

async fn least_open_picks_lowest_load_then_longest_idle(store: Arc<dyn PresenceStore>) {
    let org = org_with(&*store, &[("a", 3), ("b", 3), ("c", 3)]).await;
    // a gets one at t=1, b one at t=2: c (load 0) next, then a (load 1, idle longest).
    let first = reserve(&*store, &org, &request(Strategy::LeastOpen), NOW + 1).await;
    assert_eq!(
        granted_to(&first).as_deref(),
        Some("agt_a"),
        "all equal: agent id order"
    );
    let second = reserve(&*store, &org, &request(Strategy::LeastOpen), NOW + 2).await;
    assert_eq!(granted_to(&second).as_deref(), Some("agt_b"));
    let third = reserve(&*store, &org, &request(Strategy::LeastOpen), NOW + 3).await;
    assert_eq!(granted_to(&third).as_deref(), Some("agt_c"));
    let fourth = reserve(&*store, &org, &request(Strategy::LeastOpen), NOW + 4).await;
    assert_eq!(
        granted_to(&fourth).as_deref(),
        Some("agt_a"),
        "longest idle among load 1"
    );
}

async fn round_robin_rotates_among_available(store: Arc<dyn PresenceStore>) {
    let org = org_with(&*store, &[("a", 9), ("b", 9), ("c", 9)]).await;
    store
        .set_status(&org, &agent("b"), Status::Away, "lunch", NOW)
        .await
        .expect("away");
    let mut order = Vec::new();
    for i in 0..4 {
        let o = reserve(&*store, &org, &request(Strategy::RoundRobin), NOW + i).await;
        order.push(granted_to(&o).expect("granted"));
    }
    assert_eq!(order, ["agt_a", "agt_c", "agt_a", "agt_c"], "b is away");
}

async fn named_agent_outcomes(store: Arc<dyn PresenceStore>) {
    let org = org_with(&*store, &[("a", 1), ("b", 1)]).await;
    store
        .set_status(&org, &agent("b"), Status::Away, "", NOW)
        .await
        .expect("away");
    let named = |n: &str| {
        let mut r = request(Strategy::Named(agent(n)));
        r.channel_account_id = Some(chan("c1"));
        r
    };
    assert_eq!(
        reserve(&*store, &org, &named("zz"), NOW).await,
        ReserveOutcome::AgentNotLinked
    );
    let mut other_number = named("a");
    other_number.channel_account_id = Some(chan("c2"));
    assert_eq!(
        reserve(&*store, &org, &other_number, NOW).await,
        ReserveOutcome::AgentNotLinked
    );
    assert_eq!(
        reserve(&*store, &org, &named("b"), NOW).await,
        ReserveOutcome::AgentNotAvailable
    );
    let mut transfer = named("b");
    transfer.allow_not_available = true;
    assert_eq!(
        granted_to(&reserve(&*store, &org, &transfer, NOW).await).as_deref(),
        Some("agt_b")
    );
    assert_eq!(
        granted_to(&reserve(&*store, &org, &named("a"), NOW).await).as_deref(),
        Some("agt_a")
    );
    assert_eq!(
        reserve(&*store, &org, &named("a"), NOW).await,
        ReserveOutcome::AgentAtCapacity
    );
}

async fn reserve_and_release_are_idempotent_by_id(store: Arc<dyn PresenceStore>) {
    let org = org_with(&*store, &[("a", 2)]).await;
    let req = request(Strategy::LeastOpen);
    let first = reserve(&*store, &org, &req, NOW).await;
    let again = reserve(&*store, &org, &req, NOW + 5).await;
    assert_eq!(granted_to(&first), granted_to(&again));
    assert_eq!(
        store
            .get(&org, &agent("a"))
            .await
            .expect("get")
            .expect("agent")
            .load,
        1,
        "one slot"
    );
    let released = store
        .release(&org, &req.reservation_id)
        .await
        .expect("release");
    assert_eq!(
        released.map(|(a, l)| (a.to_string(), l)),
        Some(("agt_a".into(), 0))
    );
    assert_eq!(
        store
            .release(&org, &req.reservation_id)
            .await
            .expect("release"),
        None
    );
    assert_eq!(
        store
            .get(&org, &agent("a"))
            .await
            .expect("get")
            .expect("agent")
            .load,
        0,
        "freed once"
    );
}

async fn capacity_is_never_exceeded(store: Arc<dyn PresenceStore>) {
    let org = org_with(&*store, &[("a", 2), ("b", 1)]).await;
    let mut granted = 0;
    for i in 0..6 {
        if granted_to(&reserve(&*store, &org, &request(Strategy::LeastOpen), NOW + i).await)
            .is_some()
        {
            granted += 1;
        }
    }
    assert_eq!(granted, 3);
    assert_eq!(
        reserve(&*store, &org, &request(Strategy::RoundRobin), NOW).await,
        ReserveOutcome::NoAgentAvailable
    );
    for s in store.list(&org).await.expect("list") {
        assert_eq!(
            s.load, s.profile.capacity,
            "{} full, not over",
            s.profile.agent_id
        );
    }
}

async fn excluded_and_unlinked_agents_are_skipped(store: Arc<dyn PresenceStore>) {
    let org = org_with(&*store, &[("a", 3), ("b", 3)]).await;
    let mut req = request(Strategy::LeastOpen);
    req.exclude = vec![agent("a")];
    assert_eq!(
        granted_to(&reserve(&*store, &org, &req, NOW).await).as_deref(),
        Some("agt_b")
    );
    let mut req = request(Strategy::LeastOpen);
    req.channel_account_id = Some(chan("other"));
    assert_eq!(
        reserve(&*store, &org, &req, NOW).await,
        ReserveOutcome::NoAgentAvailable
    );
    let mut req = request(Strategy::LeastOpen);
    req.team_id = Some(team("t2"));
    assert_eq!(
        reserve(&*store, &org, &req, NOW).await,
        ReserveOutcome::NoAgentAvailable
    );
}

async fn missed_heartbeats_mean_offline(store: Arc<dyn PresenceStore>) {
    let org = org_with(&*store, &[("a", 3)]).await;
    let later = ALIVE + 1;
    assert_eq!(
        reserve(&*store, &org, &request(Strategy::LeastOpen), later).await,
        ReserveOutcome::NoAgentAvailable
    );
    let stale = store.stale_heartbeats(later).await.expect("stale");
    assert!(stale.contains(&(org.clone(), agent("a"))), "{stale:?}");
    let (state, previous) = store
        .expire_heartbeat(&org, &agent("a"), later)
        .await
        .expect("expire")
        .expect("changed");
    assert_eq!(
        (state.status, previous),
        (Status::Offline, Status::Available)
    );
    assert_eq!(state.status_reason, "heartbeat expired");
    assert_eq!(
        store
            .expire_heartbeat(&org, &agent("a"), later)
            .await
            .expect("expire"),
        None,
        "once"
    );
    // A fresh heartbeat alone does not bring it back: the client restates its status.
    store
        .heartbeat(&org, &agent("a"), later, later + 60_000)
        .await
        .expect("hb");
    assert_eq!(
        reserve(&*store, &org, &request(Strategy::LeastOpen), later).await,
        ReserveOutcome::NoAgentAvailable
    );
    store
        .set_status(&org, &agent("a"), Status::Available, "", later)
        .await
        .expect("status");
    assert!(
        granted_to(&reserve(&*store, &org, &request(Strategy::LeastOpen), later).await).is_some()
    );
}

async fn unknown_loads_refuse_reservations_until_rebuilt(store: Arc<dyn PresenceStore>) {
    let org = OrganizationId::generate();
    assert!(!store.is_initialized(&org).await.expect("init?"));
    assert_eq!(
        store
            .reserve(&org, &request(Strategy::LeastOpen), NOW)
            .await
            .expect("reserve"),
        ReserveResult::Rebuilding
    );
    let profile = Profile {
        agent_id: agent("a"),
        capacity: 2,
        team_ids: vec![team("t1")],
        channel_account_ids: vec![],
    };
    let held = switchboard_presence::domain::Reservation {
        id: ReservationId::generate(),
        agent_id: agent("a"),
        team_id: Some(team("t1")),
        channel_account_id: None,
        subject_id: "conv_9".into(),
        created_ms: NOW,
    };
    store
        .rebuild(&org, &[(profile, vec![held.clone()])])
        .await
        .expect("rebuild");
    store
        .set_status(&org, &agent("a"), Status::Available, "", NOW)
        .await
        .expect("status");
    store
        .heartbeat(&org, &agent("a"), NOW, ALIVE)
        .await
        .expect("hb");
    assert_eq!(
        store
            .get(&org, &agent("a"))
            .await
            .expect("get")
            .expect("agent")
            .load,
        1
    );
    assert!(
        granted_to(&reserve(&*store, &org, &request(Strategy::LeastOpen), NOW).await).is_some()
    );
    assert_eq!(
        reserve(&*store, &org, &request(Strategy::LeastOpen), NOW).await,
        ReserveOutcome::NoAgentAvailable,
        "capacity 2 counts the rebuilt one"
    );
    assert!(
        store
            .release(&org, &held.id)
            .await
            .expect("release")
            .is_some(),
        "rebuilt reservation releasable"
    );
}

async fn organizations_do_not_see_each_other(store: Arc<dyn PresenceStore>) {
    let one = org_with(&*store, &[("a", 1)]).await;
    let two = org_with(&*store, &[("b", 1)]).await;
    assert_eq!(store.list(&one).await.expect("list").len(), 1);
    assert!(store.get(&two, &agent("a")).await.expect("get").is_none());
    let mut req = request(Strategy::Named(agent("a")));
    req.team_id = None;
    assert_eq!(
        reserve(&*store, &two, &req, NOW).await,
        ReserveOutcome::AgentNotLinked
    );
}

/// A reserve says whether it took a slot, so presence publishes a load change exactly when the
/// load went up: a grant did, its replay and a refusal did not.
async fn a_reserve_says_whether_it_took_a_slot(store: Arc<dyn PresenceStore>) {
    let org = org_with(&*store, &[("a", 1)]).await;
    let took = |r: ReserveResult| match r {
        ReserveResult::Decided(d) => (granted_to(&d.outcome).is_some(), d.took_slot),
        ReserveResult::Rebuilding => panic!("unexpected rebuilding"),
    };
    let req = request(Strategy::LeastOpen);
    let first = store.reserve(&org, &req, NOW).await.expect("reserve");
    assert_eq!(took(first), (true, true), "a grant");
    let replay = store.reserve(&org, &req, NOW).await.expect("reserve");
    assert_eq!(took(replay), (true, false), "its replay");
    let full = store
        .reserve(&org, &request(Strategy::LeastOpen), NOW)
        .await
        .expect("reserve");
    assert_eq!(took(full), (false, false), "a refusal");
}

/// An agent whose heartbeat ran out reads offline with the reason "heartbeat expired" before
/// the sweep stores it, not with the reason of the status it had.
async fn a_lapsed_heartbeat_reads_heartbeat_expired_before_the_sweep(
    store: Arc<dyn PresenceStore>,
) {
    let org = org_with(&*store, &[("a", 1)]).await;
    store
        .set_status(&org, &agent("a"), Status::Away, "lunch", NOW)
        .await
        .expect("status");
    let later = ALIVE + 1;
    let state = store
        .get(&org, &agent("a"))
        .await
        .expect("get")
        .expect("known");
    assert_eq!(
        (state.effective_status(NOW), state.effective_reason(NOW)),
        (Status::Away, "lunch")
    );
    assert_eq!(
        (state.effective_status(later), state.effective_reason(later)),
        (Status::Offline, "heartbeat expired")
    );
    let (swept, _) = store
        .expire_heartbeat(&org, &agent("a"), later)
        .await
        .expect("expire")
        .expect("changed");
    assert_eq!(
        (swept.status, swept.status_reason.as_str()),
        (Status::Offline, "heartbeat expired")
    );
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod redis_store {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::redis_store().await).await;
                }
            )*
        }
        mod memory_store {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::memory_store()).await;
                }
            )*
        }
    };
}

conformance!(
    least_open_picks_lowest_load_then_longest_idle,
    round_robin_rotates_among_available,
    named_agent_outcomes,
    reserve_and_release_are_idempotent_by_id,
    capacity_is_never_exceeded,
    excluded_and_unlinked_agents_are_skipped,
    missed_heartbeats_mean_offline,
    unknown_loads_refuse_reservations_until_rebuilt,
    organizations_do_not_see_each_other,
    a_reserve_says_whether_it_took_a_slot,
    a_lapsed_heartbeat_reads_heartbeat_expired_before_the_sweep,
);
