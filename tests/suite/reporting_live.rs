//! Live figures (reporting): after a randomized run of real activity (webhooks from many
//! contacts, agents changing status, opening, closing, transferring) the figures equal a
//! brute-force count over routing's conversations and presence's agents; redelivered and
//! out-of-order events published on the real bus move nothing.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use futures::StreamExt as _;
use rand::{Rng, SeedableRng, rngs::StdRng};
use switchboard_graph_sim::StatusPlan;
use switchboard_proto::{
    common::v1::{AgentStatus, PageRequest},
    prost::Message as _,
    prost_types::Timestamp,
    reporting::v1::{self as rep, reporting_service_client::ReportingServiceClient},
    routing::v1::{self as pb, ConversationChanged, ConversationState},
};
use switchboard_runtime::{
    Service,
    ids::{ContactId, ConversationId, EventId, TeamId},
    outbox::{Event, TypedEvent},
};
use switchboard_testkit::Backend;
use tonic::transport::Channel;

use crate::{
    channel_support::ChannelWorld,
    gateway_support::GatewayWorld,
    on_both_backends,
    routing_support::{World, channel_account, rid, team_target},
};

type Reporting = ReportingServiceClient<Channel>;

/// How long the projection may take to catch up before a test fails.
const CATCH_UP: Duration = Duration::from_secs(30);

fn ms(t: Option<&Timestamp>) -> i64 {
    t.map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

fn empty_queue(id: &str) -> rep::QueueFigures {
    rep::QueueFigures {
        id: id.into(),
        agents: Some(rep::AgentStatusCounts::default()),
        ..Default::default()
    }
}

/// The figures in a comparable form: keyed by id, the read time left out, longest wait as
/// Unix milliseconds.
#[derive(Debug, Default, PartialEq)]
struct Comparable {
    teams: BTreeMap<String, rep::QueueFigures>,
    numbers: BTreeMap<String, rep::QueueFigures>,
    agents: BTreeMap<String, rep::AgentFigures>,
    org: rep::QueueFigures,
}

fn normalize(mut q: rep::QueueFigures) -> rep::QueueFigures {
    if q.agents.is_none() {
        q.agents = Some(rep::AgentStatusCounts::default());
    }
    q.longest_waiting_since = q.longest_waiting_since.map(|t| Timestamp {
        seconds: ms(Some(&t)).div_euclid(1000),
        nanos: (ms(Some(&t)).rem_euclid(1000) * 1_000_000) as i32,
    });
    q.waiting_by_priority.retain(|p| p.waiting != 0);
    q
}

fn comparable(r: rep::GetLiveFiguresResponse) -> Comparable {
    Comparable {
        teams: r
            .teams
            .into_iter()
            .map(|q| (q.id.clone(), normalize(q)))
            .collect(),
        numbers: r
            .channel_accounts
            .into_iter()
            .map(|q| (q.id.clone(), normalize(q)))
            .collect(),
        agents: r
            .agents
            .into_iter()
            .map(|a| (a.agent_id.clone(), a))
            .collect(),
        org: normalize(r.organization.unwrap_or_default()),
    }
}

/// Every difference between `actual` and `expected`; a queue or agent missing on one side
/// counts as all zeros.
fn differences(actual: &Comparable, expected: &Comparable) -> Vec<String> {
    let mut out = Vec::new();
    let queues = |what: &str,
                  a: &BTreeMap<String, rep::QueueFigures>,
                  e: &BTreeMap<String, rep::QueueFigures>,
                  out: &mut Vec<String>| {
        let ids: BTreeSet<&String> = a.keys().chain(e.keys()).collect();
        for id in ids {
            let av = a.get(id).cloned().unwrap_or_else(|| empty_queue(id));
            let ev = e.get(id).cloned().unwrap_or_else(|| empty_queue(id));
            if av != ev {
                out.push(format!("{what} {id}:\n  live  {av:?}\n  count {ev:?}"));
            }
        }
    };
    queues("team", &actual.teams, &expected.teams, &mut out);
    queues("number", &actual.numbers, &expected.numbers, &mut out);
    if actual.org != expected.org {
        out.push(format!(
            "organization:\n  live  {:?}\n  count {:?}",
            actual.org, expected.org
        ));
    }
    let ids: BTreeSet<&String> = actual.agents.keys().chain(expected.agents.keys()).collect();
    for id in ids {
        let blank = rep::AgentFigures {
            agent_id: id.clone(),
            ..Default::default()
        };
        let av = actual.agents.get(id).unwrap_or(&blank);
        let ev = expected.agents.get(id).unwrap_or(&blank);
        if av != ev {
            out.push(format!("agent {id}:\n  live  {av:?}\n  count {ev:?}"));
        }
    }
    out
}

/// Every active conversation of the organization, paged through routing's ListConversations.
async fn active_conversations(w: &mut World) -> anyhow::Result<Vec<pb::Conversation>> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = w
            .routing
            .list_conversations(pb::ListConversationsRequest {
                organization_id: w.org.clone(),
                actor_agent_id: w.admin.clone(),
                page: Some(PageRequest {
                    page_size: 100,
                    page_token: token.clone(),
                }),
                states: vec![
                    ConversationState::Queued as i32,
                    ConversationState::Assigned as i32,
                    ConversationState::Open as i32,
                ],
                ..Default::default()
            })
            .await?
            .into_inner();
        out.extend(page.conversations);
        token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(out);
        }
    }
}

/// Every agent presence keeps for the organization.
async fn presences(
    w: &mut World,
) -> anyhow::Result<Vec<switchboard_proto::presence::v1::AgentPresence>> {
    use switchboard_proto::presence::v1::ListAgentPresencesRequest;
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = w
            .presence
            .list_agent_presences(ListAgentPresencesRequest {
                organization_id: w.org.clone(),
                page: Some(PageRequest {
                    page_size: 100,
                    page_token: token.clone(),
                }),
                ..Default::default()
            })
            .await?
            .into_inner();
        out.extend(page.presences);
        token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(out);
        }
    }
}

/// The figures counted from scratch: routing's active conversations and presence's agents,
/// with the definitions of docs/live-figures.md.
async fn brute_force(w: &mut World) -> anyhow::Result<Comparable> {
    let conversations = active_conversations(w).await?;
    let agents = presences(w).await?;
    let mut out = Comparable {
        org: empty_queue(&w.org),
        ..Default::default()
    };
    fn queue<'a>(
        map: &'a mut BTreeMap<String, rep::QueueFigures>,
        id: &str,
    ) -> &'a mut rep::QueueFigures {
        map.entry(id.to_string()).or_insert_with(|| empty_queue(id))
    }
    let mut longest: BTreeMap<(u8, String), (i64, String)> = BTreeMap::new();
    let mut priorities: BTreeMap<(u8, String), BTreeMap<i32, i64>> = BTreeMap::new();
    for c in &conversations {
        let state = ConversationState::try_from(c.state).unwrap_or_default();
        let mut scopes: Vec<(u8, String)> =
            vec![(0, String::new()), (2, c.channel_account_id.clone())];
        if !c.team_id.is_empty() {
            scopes.push((1, c.team_id.clone()));
        }
        for (kind, id) in &scopes {
            let q = match kind {
                0 => &mut out.org,
                1 => queue(&mut out.teams, id),
                _ => queue(&mut out.numbers, id),
            };
            match state {
                ConversationState::Queued => {
                    q.waiting += 1;
                    *priorities
                        .entry((*kind, id.clone()))
                        .or_default()
                        .entry(c.priority)
                        .or_default() += 1;
                    let since = if c.queue_time.is_some() {
                        ms(c.queue_time.as_ref())
                    } else {
                        ms(c.update_time.as_ref())
                    };
                    let candidate = (since, c.id.clone());
                    let entry = longest
                        .entry((*kind, id.clone()))
                        .or_insert_with(|| candidate.clone());
                    if candidate < *entry {
                        *entry = candidate;
                    }
                }
                ConversationState::Assigned => q.offers_pending += 1,
                ConversationState::Open => q.open += 1,
                _ => {}
            }
        }
        if matches!(state, ConversationState::Assigned | ConversationState::Open) {
            let a = out
                .agents
                .entry(c.assignee_agent_id.clone())
                .or_insert_with(|| rep::AgentFigures {
                    agent_id: c.assignee_agent_id.clone(),
                    ..Default::default()
                });
            if state == ConversationState::Assigned {
                a.assigned += 1;
            } else {
                a.open += 1;
            }
        }
    }
    for ((kind, id), (since, conv)) in longest {
        let q = match kind {
            0 => &mut out.org,
            1 => queue(&mut out.teams, &id),
            _ => queue(&mut out.numbers, &id),
        };
        q.longest_waiting_conversation_id = conv;
        q.longest_waiting_since = Some(Timestamp {
            seconds: since.div_euclid(1000),
            nanos: (since.rem_euclid(1000) * 1_000_000) as i32,
        });
    }
    for ((kind, id), by) in priorities {
        let q = match kind {
            0 => &mut out.org,
            1 => queue(&mut out.teams, &id),
            _ => queue(&mut out.numbers, &id),
        };
        q.waiting_by_priority = by
            .into_iter()
            .rev()
            .map(|(priority, waiting)| rep::PriorityCount { priority, waiting })
            .collect();
    }
    for p in &agents {
        let status = AgentStatus::try_from(p.status).unwrap_or_default();
        let status = if status == AgentStatus::Unspecified {
            AgentStatus::Offline
        } else {
            status
        };
        let a = out
            .agents
            .entry(p.agent_id.clone())
            .or_insert_with(|| rep::AgentFigures {
                agent_id: p.agent_id.clone(),
                ..Default::default()
            });
        a.status = status as i32;
        a.load = i64::from(p.load);
        a.capacity = i64::from(p.capacity);
        let teams: BTreeSet<&String> = p.team_ids.iter().collect();
        let numbers: BTreeSet<&String> = p.channel_account_ids.iter().collect();
        let apply = |q: &mut rep::QueueFigures| {
            let counts = q.agents.get_or_insert_with(Default::default);
            match status {
                AgentStatus::Available => counts.available += 1,
                AgentStatus::Away => counts.away += 1,
                _ => counts.offline += 1,
            }
            if status == AgentStatus::Available && p.load >= p.capacity {
                counts.at_capacity += 1;
            }
            q.held_load += i64::from(p.load);
            if status == AgentStatus::Available {
                q.capacity += i64::from(p.capacity);
            }
        };
        apply(&mut out.org);
        for t in teams {
            apply(queue(&mut out.teams, t));
        }
        for n in numbers {
            apply(queue(&mut out.numbers, n));
        }
    }
    Ok(out)
}

async fn live_figures(reporting: &mut Reporting, w: &World) -> anyhow::Result<Comparable> {
    Ok(comparable(
        reporting
            .get_live_figures(rep::GetLiveFiguresRequest {
                organization_id: w.org.clone(),
                actor_agent_id: w.admin.clone(),
                filter: None,
            })
            .await?
            .into_inner(),
    ))
}

/// Polls until the live figures equal the brute-force count (both re-read each round: routing
/// and presence may still be moving), or fails with the last differences.
async fn until_figures_match(w: &mut World, reporting: &mut Reporting) -> anyhow::Result<Duration> {
    let started = tokio::time::Instant::now();
    loop {
        match compare_once(w, reporting).await {
            Ok(None) => return Ok(started.elapsed()),
            Ok(Some(diff)) if started.elapsed() > CATCH_UP => anyhow::bail!(
                "live figures never matched the brute-force count:\n{}",
                diff.join("\n")
            ),
            Ok(Some(_)) => {}
            // "Temporarily unavailable, retry" (a busy shared database): the contract says retry.
            Err(e)
                if e.downcast_ref::<tonic::Status>()
                    .is_some_and(|s| s.code() == tonic::Code::Unavailable)
                    && started.elapsed() <= CATCH_UP => {}
            Err(e) => return Err(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `None` when the live figures equal the brute-force count (read twice around them, so
/// routing and presence did not move meanwhile), else the differences.
async fn compare_once(
    w: &mut World,
    reporting: &mut Reporting,
) -> anyhow::Result<Option<Vec<String>>> {
    let expected = brute_force(w).await?;
    let actual = live_figures(reporting, w).await?;
    let diff = differences(&actual, &expected);
    if diff.is_empty() && brute_force(w).await? == expected {
        Ok(None)
    } else {
        Ok(Some(diff))
    }
}

const STEPS: usize = 40;

async fn live_figures_match_a_brute_force_count_after_a_randomized_run(
    backend: Backend,
) -> anyhow::Result<()> {
    let seed: u64 = std::env::var("SWITCHBOARD_LIVE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("live figures run: seed {seed} (SWITCHBOARD_LIVE_SEED={seed} replays it)");
    one_run(backend, seed).await.map_err(|e| {
        e.context(format!(
            "seed {seed} (SWITCHBOARD_LIVE_SEED={seed} replays it)"
        ))
    })
}

async fn one_run(backend: Backend, seed: u64) -> anyhow::Result<()> {
    let mut cw = ChannelWorld::with_targets(
        backend,
        StatusPlan::default(),
        // A small pool per service: the shared PostgreSQL serves other suites at once.
        |s| s.database.max_connections = 4,
        &[Service::Reporting],
    )
    .await?;
    let mut reporting =
        ReportingServiceClient::new(cw.world.suite.channel(Service::Reporting).await?);
    let number_one = cw.account.clone();
    let w = &mut cw.world;
    // A second number, fed through routing directly.
    let number_two = channel_account(&w.suite, &w.org, &w.admin).await?;
    let mut agents = Vec::new();
    for (name, capacity) in [("Ana", 1), ("Bruno", 2), ("Carla", 1), ("Dario", 2)] {
        agents.push(w.agent(name, capacity).await?);
    }
    let sales = w
        .team(
            "Ventas",
            pb::TeamStrategy::LeastOpen,
            &[&agents[0], &agents[1], &agents[2]],
            |_| {},
        )
        .await?;
    let care = w
        .team(
            "Postventa",
            pb::TeamStrategy::RoundRobin,
            &[&agents[2], &agents[3]],
            |_| {},
        )
        .await?;
    let soporte = cw.team.clone();
    let w = &mut cw.world;
    w.link(&[&soporte, &sales, &care], &[], Some(team_target(&sales)))
        .await?;
    w.account = number_two.clone();
    w.link(&[&care], &[&agents[0]], Some(team_target(&care)))
        .await?;
    w.account = number_one.clone();
    let teams = [sales.clone(), care.clone()];
    let contacts_two: Vec<String> = (0..6).map(|_| ContactId::generate().to_string()).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut log = Vec::new();
    for step in 0..STEPS {
        let op = rng.random_range(0..9);
        let outcome: Result<String, tonic::Status> = async {
            match op {
                0..=2 => {
                    let wa_id = format!("5491100000{:03}", rng.random_range(0..15));
                    cw.customer_writes(&wa_id, "Cliente", "hola, necesito ayuda")
                        .await
                        .map_err(|e| tonic::Status::internal(e.to_string()))?;
                    Ok(format!("webhook from {wa_id}"))
                }
                3 => {
                    let contact = contacts_two[rng.random_range(0..contacts_two.len())].clone();
                    let w = &mut cw.world;
                    w.account = number_two.clone();
                    let started = w.start_for(&contact, None).await;
                    w.account = number_one.clone();
                    let c = started.map_err(|e| tonic::Status::internal(e.to_string()))?;
                    Ok(format!("start {} on number two", c.id))
                }
                4 => {
                    let agent = agents[rng.random_range(0..agents.len())].clone();
                    let status = [
                        AgentStatus::Available,
                        AgentStatus::Away,
                        AgentStatus::Offline,
                    ][rng.random_range(0..3)];
                    cw.world
                        .set_status(&agent, status)
                        .await
                        .map_err(|e| tonic::Status::internal(e.to_string()))?;
                    Ok(format!("{agent} {status:?}"))
                }
                5..=8 => {
                    let w = &mut cw.world;
                    let active = active_conversations(w)
                        .await
                        .map_err(|e| tonic::Status::internal(e.to_string()))?;
                    let held: Vec<&pb::Conversation> = active
                        .iter()
                        .filter(|c| !c.assignee_agent_id.is_empty())
                        .collect();
                    if held.is_empty() {
                        return Ok("nothing held".into());
                    }
                    let c = held[rng.random_range(0..held.len())].clone();
                    let state = ConversationState::try_from(c.state).unwrap_or_default();
                    match (op, state) {
                        (5 | 6, ConversationState::Assigned) => {
                            w.open(&c.assignee_agent_id, &c.id).await?;
                            Ok(format!("open {}", c.id))
                        }
                        (5 | 6, _) => {
                            w.close(&c.assignee_agent_id, &c.id).await?;
                            Ok(format!("close {}", c.id))
                        }
                        _ => {
                            let to = teams[rng.random_range(0..teams.len())].clone();
                            let priority = rng.random_range(0..4);
                            w.routing
                                .transfer_conversation(pb::TransferConversationRequest {
                                    request_id: rid(),
                                    organization_id: w.org.clone(),
                                    actor_agent_id: w.admin.clone(),
                                    conversation_id: c.id.clone(),
                                    target: Some(team_target(&to)),
                                    reason: "randomized run".into(),
                                    priority: Some(priority),
                                })
                                .await?;
                            Ok(format!("transfer {} to {to} at priority {priority}", c.id))
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
        .await;
        // Races with routing's own moves (an offer timing out, a slot refilled) are refusals,
        // not failures: the run goes on.
        log.push(format!(
            "{step}: {}",
            match outcome {
                Ok(s) => s,
                Err(e) => format!("refused {:?} {}", e.code(), e.message()),
            }
        ));
    }
    let w = &mut cw.world;
    let caught_up = until_figures_match(w, &mut reporting)
        .await
        .map_err(|e| e.context(format!("steps:\n{}", log.join("\n"))))?;
    let figures = live_figures(&mut reporting, w).await?;
    anyhow::ensure!(
        figures.org.waiting + figures.org.offers_pending + figures.org.open > 0,
        "the run left no active conversation: a vacuous comparison; steps:\n{}",
        log.join("\n")
    );
    println!("steps:\n{}", log.join("\n"));
    let text = w.suite.infra().expect("running").metrics.render();
    let sum =
        |name: &str| switchboard_runtime::metrics::sum_samples(&text, name, &[]).unwrap_or(0.0);
    let (lag_sum, lag_count) = (
        sum("switchboard_reporting_live_lag_seconds_sum"),
        sum("switchboard_reporting_live_lag_seconds_count"),
    );
    anyhow::ensure!(lag_count > 0.0, "no event applied by the live projection");
    println!(
        "live projection ({backend:?}): {lag_count} events applied, mean lag {:.1} ms",
        lag_sum / lag_count * 1000.0
    );
    println!(
        "live figures matched the brute-force count {caught_up:?} after the last step ({} teams, {} numbers, {} agents)",
        figures.teams.len(),
        figures.numbers.len(),
        figures.agents.len()
    );
    cw.stop().await
}

on_both_backends!(live_figures_match_a_brute_force_count_after_a_randomized_run);

/// A conversation change published on the bus as routing would (another id, another version).
fn change_event(org: &str, changed: &ConversationChanged) -> Event {
    Event {
        id: EventId::generate(),
        organization_id: org.into(),
        topic: ConversationChanged::TOPIC.into(),
        aggregate_id: changed.conversation_id.clone(),
        payload: changed.encode_to_vec(),
        traceparent: None,
        occurred_at: chrono::Utc::now(),
    }
}

/// The conversation figures of `c` (agents' figures move with presence's own events, which
/// the world's setup may still be delivering).
fn conversation_part(mut c: Comparable) -> Comparable {
    for q in c
        .teams
        .values_mut()
        .chain(c.numbers.values_mut())
        .chain(std::iter::once(&mut c.org))
    {
        q.agents = Some(rep::AgentStatusCounts::default());
        q.held_load = 0;
        q.capacity = 0;
    }
    for a in c.agents.values_mut() {
        a.status = 0;
        a.load = 0;
        a.capacity = 0;
    }
    c
}

/// `switchboard_reporting_live_events_total{outcome}` in this process.
fn live_events(w: &World, outcome: &str) -> f64 {
    let text = w.suite.infra().expect("running").metrics.render();
    switchboard_runtime::metrics::sum_samples(
        &text,
        "switchboard_reporting_live_events_total",
        &[("outcome", outcome)],
    )
    .unwrap_or(0.0)
}

async fn until_metric(w: &World, outcome: &str, at_least: f64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    while live_events(w, outcome) < at_least {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the projection never handled a {outcome} event"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn redelivered_and_out_of_order_events_do_not_double_count(
    backend: Backend,
) -> anyhow::Result<()> {
    let gw = GatewayWorld::new(backend).await?;
    let w = &gw.world;
    let mut reporting = ReportingServiceClient::new(w.suite.channel(Service::Reporting).await?);
    let bus = w.suite.infra().expect("running").bus.clone();
    let base = live_figures(&mut reporting, w).await?;
    let team = TeamId::generate().to_string();
    let conversation = ConversationId::generate().to_string();
    let now = chrono::Utc::now().timestamp_millis();
    let queued = ConversationChanged {
        conversation_id: conversation.clone(),
        state: ConversationState::Queued as i32,
        team_id: team.clone(),
        channel_account_id: w.account.clone(),
        contact_id: ContactId::generate().to_string(),
        version: 5,
        priority: 2,
        created_ms: now,
        queued_ms: now,
        changed_ms: now,
        ..Default::default()
    };
    let first = change_event(&w.org, &queued);
    bus.publish(&first).await?;
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    let after_first = loop {
        let f = live_figures(&mut reporting, w).await?;
        if f.org.waiting == base.org.waiting + 1 {
            break f;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "a queued conversation never counted: {:?}",
            f.org
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let team_figures = after_first.teams.get(&team).expect("the team counted");
    assert_eq!(team_figures.waiting, 1);
    assert_eq!(team_figures.longest_waiting_conversation_id, conversation);
    assert_eq!(
        team_figures.waiting_by_priority,
        vec![rep::PriorityCount {
            priority: 2,
            waiting: 1
        }]
    );

    // The same event again (a redelivery), then an older version of the conversation (in
    // another team, at another priority): neither moves anything.
    let duplicates = live_events(w, "duplicate");
    let stale = live_events(w, "stale");
    bus.publish(&first).await?;
    let older = ConversationChanged {
        version: 3,
        team_id: TeamId::generate().to_string(),
        priority: 7,
        ..queued.clone()
    };
    bus.publish(&change_event(&w.org, &older)).await?;
    until_metric(w, "duplicate", duplicates + 1.0).await?;
    until_metric(w, "stale", stale + 1.0).await?;
    assert_eq!(
        conversation_part(live_figures(&mut reporting, w).await?),
        conversation_part(after_first),
        "a redelivered or older event moved the figures"
    );

    // It ends (version 6): a tombstone. A late copy of version 5 does not bring it back.
    let closed = ConversationChanged {
        version: 6,
        state: ConversationState::Closed as i32,
        queued_ms: 0,
        ended_ms: now + 1,
        changed_ms: now + 1,
        ..queued.clone()
    };
    bus.publish(&change_event(&w.org, &closed)).await?;
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    loop {
        let f = live_figures(&mut reporting, w).await?;
        if f.org.waiting == base.org.waiting {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the close never counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stale = live_events(w, "stale");
    bus.publish(&change_event(&w.org, &queued)).await?;
    until_metric(w, "stale", stale + 1.0).await?;
    let end = conversation_part(live_figures(&mut reporting, w).await?);
    assert_eq!(
        end.org,
        conversation_part(base).org,
        "a late event resurrected an ended conversation"
    );
    assert_eq!(end.teams.get(&team).map(|t| t.waiting), Some(0));
    Ok(())
}

on_both_backends!(redelivered_and_out_of_order_events_do_not_double_count);

/// What a synthetic conversation looks like after each of its changes.
fn synthetic_history(
    rng: &mut StdRng,
    org_teams: &[String],
    numbers: &[String],
    agents: &[String],
) -> Vec<ConversationChanged> {
    let id = ConversationId::generate().to_string();
    let number = numbers[rng.random_range(0..numbers.len())].clone();
    let base_ms = chrono::Utc::now().timestamp_millis() - rng.random_range(0..600_000);
    let changes = rng.random_range(1..7);
    let mut out = Vec::new();
    for version in 1..=changes {
        let state = match rng.random_range(0..8) {
            0..=2 => ConversationState::Queued,
            3..=4 => ConversationState::Assigned,
            5..=6 => ConversationState::Open,
            _ => ConversationState::Closed,
        };
        let held = matches!(state, ConversationState::Assigned | ConversationState::Open);
        let team = if rng.random_range(0..5) == 0 {
            String::new()
        } else {
            org_teams[rng.random_range(0..org_teams.len())].clone()
        };
        let changed_ms = base_ms + i64::from(version) * 1000;
        out.push(ConversationChanged {
            conversation_id: id.clone(),
            state: state as i32,
            assignee_agent_id: if held {
                agents[rng.random_range(0..agents.len())].clone()
            } else {
                String::new()
            },
            team_id: team,
            channel_account_id: number.clone(),
            contact_id: ContactId::generate().to_string(),
            version: i64::from(version),
            priority: rng.random_range(0..3),
            queued_ms: if state == ConversationState::Queued {
                changed_ms - rng.random_range(0..500)
            } else {
                0
            },
            changed_ms,
            ..Default::default()
        });
        if state == ConversationState::Closed {
            break;
        }
    }
    out
}

/// The figures the last version of each conversation makes (conversation figures only).
fn expected_from(last: &[&ConversationChanged], org: &str) -> Comparable {
    let mut out = Comparable {
        org: empty_queue(org),
        ..Default::default()
    };
    let mut longest: BTreeMap<(u8, String), (i64, String)> = BTreeMap::new();
    let mut priorities: BTreeMap<(u8, String), BTreeMap<i32, i64>> = BTreeMap::new();
    for c in last {
        let state = ConversationState::try_from(c.state).unwrap_or_default();
        let mut scopes = vec![(0u8, String::new()), (2, c.channel_account_id.clone())];
        if !c.team_id.is_empty() {
            scopes.push((1, c.team_id.clone()));
        }
        for (kind, id) in scopes {
            let q = match kind {
                0 => &mut out.org,
                1 => out
                    .teams
                    .entry(id.clone())
                    .or_insert_with(|| empty_queue(&id)),
                _ => out
                    .numbers
                    .entry(id.clone())
                    .or_insert_with(|| empty_queue(&id)),
            };
            match state {
                ConversationState::Queued => {
                    q.waiting += 1;
                    *priorities
                        .entry((kind, id.clone()))
                        .or_default()
                        .entry(c.priority)
                        .or_default() += 1;
                    let candidate = (c.queued_ms, c.conversation_id.clone());
                    let entry = longest.entry((kind, id)).or_insert(candidate.clone());
                    if candidate < *entry {
                        *entry = candidate;
                    }
                }
                ConversationState::Assigned => q.offers_pending += 1,
                ConversationState::Open => q.open += 1,
                _ => {}
            }
        }
        if matches!(state, ConversationState::Assigned | ConversationState::Open) {
            let a = out
                .agents
                .entry(c.assignee_agent_id.clone())
                .or_insert_with(|| rep::AgentFigures {
                    agent_id: c.assignee_agent_id.clone(),
                    ..Default::default()
                });
            if state == ConversationState::Assigned {
                a.assigned += 1;
            } else {
                a.open += 1;
            }
        }
    }
    for ((kind, id), (since, conv)) in longest {
        let q = match kind {
            0 => &mut out.org,
            1 => out.teams.get_mut(&id).expect("counted"),
            _ => out.numbers.get_mut(&id).expect("counted"),
        };
        q.longest_waiting_conversation_id = conv;
        q.longest_waiting_since = Some(Timestamp {
            seconds: since.div_euclid(1000),
            nanos: (since.rem_euclid(1000) * 1_000_000) as i32,
        });
    }
    for ((kind, id), by) in priorities {
        let q = match kind {
            0 => &mut out.org,
            1 => out.teams.get_mut(&id).expect("counted"),
            _ => out.numbers.get_mut(&id).expect("counted"),
        };
        q.waiting_by_priority = by
            .into_iter()
            .rev()
            .map(|(priority, waiting)| rep::PriorityCount { priority, waiting })
            .collect();
    }
    out
}

/// Every change of 150 conversations published shuffled (each conversation's changes out of
/// order), a fifth of them twice, consumed by one reporting replica embedded and three on the
/// cluster (one consumer group, row locks between them): the figures are those of each
/// conversation's last version, exactly.
async fn shuffled_and_duplicated_changes_end_at_each_conversations_last_version(
    backend: Backend,
) -> anyhow::Result<()> {
    let seed: u64 = std::env::var("SWITCHBOARD_LIVE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("shuffled changes: seed {seed} (SWITCHBOARD_LIVE_SEED={seed} replays it)");
    let mut env = switchboard_testkit::TestEnv::new(backend).await?;
    // A small pool per service: the shared PostgreSQL serves other suites at once.
    env.settings.database.max_connections = 4;
    // Channel too: the reports consumer of the same service asks it for each new
    // conversation's contact tags, and the embedded bus waits for every group's answer.
    let main = env
        .start(&[
            Service::Presence,
            Service::Routing,
            Service::Channel,
            Service::Reporting,
        ])
        .await?;
    let mut replicas = Vec::new();
    if backend == Backend::Cluster {
        replicas.push(env.start(&[Service::Reporting]).await?);
        replicas.push(env.start(&[Service::Reporting]).await?);
    }
    let mut routing = pb::routing_service_client::RoutingServiceClient::new(
        main.channel(Service::Routing).await?,
    );
    let org = routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Acme".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let admin = routing
        .create_agent(pb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent: Some(pb::Agent {
                display_name: "Admin".into(),
                email: format!("admin-{}@acme.test", rid()),
                role: switchboard_proto::common::v1::Role::Admin as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent")
        .id;
    let mut rng = StdRng::seed_from_u64(seed);
    let teams: Vec<String> = (0..3).map(|_| TeamId::generate().to_string()).collect();
    let numbers: Vec<String> = (0..2)
        .map(|_| switchboard_runtime::ids::ChannelAccountId::generate().to_string())
        .collect();
    let agents: Vec<String> = (0..5)
        .map(|_| switchboard_runtime::ids::AgentId::generate().to_string())
        .collect();
    let histories: Vec<Vec<ConversationChanged>> = (0..150)
        .map(|_| synthetic_history(&mut rng, &teams, &numbers, &agents))
        .collect();
    let mut events: Vec<Event> = histories
        .iter()
        .flatten()
        .map(|c| change_event(&org, c))
        .collect();
    let again: Vec<Event> = events
        .iter()
        .filter(|_| rng.random_range(0..5) == 0)
        .cloned()
        .collect();
    events.extend(again);
    // Fisher–Yates with the seeded generator.
    for i in (1..events.len()).rev() {
        let j = rng.random_range(0..=i);
        events.swap(i, j);
    }
    let bus = main.infra().expect("running").bus.clone();
    let published = events.len();
    let started = std::time::Instant::now();
    futures::stream::iter(events.iter().map(|e| bus.publish(e)))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let last: Vec<&ConversationChanged> = histories
        .iter()
        .map(|h| h.last().expect("one change at least"))
        .collect();
    let expected = expected_from(&last, &org);
    let mut reporting = ReportingServiceClient::new(main.channel(Service::Reporting).await?);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = reporting
            .get_live_figures(rep::GetLiveFiguresRequest {
                organization_id: org.clone(),
                actor_agent_id: admin.clone(),
                filter: None,
            })
            .await;
        let actual = match answer {
            Ok(r) => comparable(r.into_inner()),
            // "Temporarily unavailable, retry" (a database connection lost): the contract.
            Err(s) if s.code() == tonic::Code::Unavailable => {
                anyhow::ensure!(tokio::time::Instant::now() < deadline, "unavailable: {s:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(s) => return Err(s.into()),
        };
        // Only conversation figures: no agent is known to presence here but the admin.
        let mut actual_conversations = conversation_part(actual);
        actual_conversations
            .agents
            .retain(|_, a| a.assigned + a.open > 0);
        let diff = differences(&actual_conversations, &expected);
        if diff.is_empty() {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "seed {seed}: after {published} events the figures are not the last versions':\n{}",
            diff.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "{backend:?}: {published} shuffled events ({} conversations) applied by {} replica(s) in {:?}",
        histories.len(),
        replicas.len() + 1,
        started.elapsed()
    );
    for r in replicas {
        r.stop().await?;
    }
    main.stop().await
}

on_both_backends!(shuffled_and_duplicated_changes_end_at_each_conversations_last_version);
