//! Liveness of the queue and the records a re-route leaves: an exclusion steers the next offer
//! and never strands a conversation, re-routed conversations keep their place, a team that
//! starts distributing again serves what waited first, and every re-route is one transition.

use std::time::Duration;

use switchboard_proto::{
    common::v1::AgentStatus,
    presence::v1::HeartbeatRequest,
    routing::v1::{self as pb, ConversationState as S, TeamStrategy},
};
use switchboard_testkit::Backend;

use crate::{
    on_both_backends,
    routing_support::{World, rid, state, team_target},
};

fn timeout(seconds: i64) -> Option<switchboard_proto::prost_types::Duration> {
    Some(switchboard_proto::prost_types::Duration { seconds, nanos: 0 })
}

async fn transitions(w: &mut World, id: &str) -> anyhow::Result<Vec<pb::Transition>> {
    Ok(w.routing
        .list_conversation_transitions(pb::ListConversationTransitionsRequest {
            organization_id: w.org.clone(),
            conversation_id: id.into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .transitions)
}

/// Bug: Ana's offer times out (goes to Beto), then Beto's: the conversation stayed QUEUED with
/// both excluded although Ana was AVAILABLE at 0/3. An exclusion is "not the agent who just
/// let it go", so it goes back to Ana, and the explanation says so by name.
async fn two_offer_timeouts_never_strand_a_conversation(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 3).await?;
    let beto = w.agent("Beto", 3).await?;
    let team = w
        .team("Soporte", TeamStrategy::LeastOpen, &[&ana, &beto], |t| {
            t.offer_timeout = timeout(10);
        })
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let c = w.start().await?;
    assert_eq!(state(&c), S::Assigned);
    let first = c.assignee_agent_id.clone();
    let second = if first == ana {
        beto.clone()
    } else {
        ana.clone()
    };

    w.clock().advance(Duration::from_secs(11));
    w.until(&c.id, "offered to the other agent", |x| {
        state(x) == S::Assigned && x.assignee_agent_id == second
    })
    .await?;
    w.clock().advance(Duration::from_secs(11));
    let back = w
        .until(&c.id, "offered back to the first agent, free at 0/3", |x| {
            state(x) == S::Assigned && x.assignee_agent_id == first
        })
        .await?;
    assert!(back.offer_expire_time.is_some());

    let decisions = w.explain(&c.id).await?;
    let last = &decisions[0];
    assert_eq!(last.trigger, pb::DecisionTrigger::OfferTimeout as i32);
    assert_eq!(
        last.excluded_agent_ids,
        std::slice::from_ref(&second),
        "only the agent who just let it go is excluded"
    );
    let name = |id: &str| if id == ana { "Ana" } else { "Beto" };
    assert!(
        last.explanation
            .contains(&format!("{} excluded", name(&second))),
        "the exclusion is named as one, by name: {}",
        last.explanation
    );
    assert!(
        last.explanation.contains(name(&first)),
        "{}",
        last.explanation
    );
    assert!(
        !last.explanation.contains("agt_"),
        "people read names, not ids: {}",
        last.explanation
    );
    assert!(
        !last.explanation.contains("no member is available"),
        "{}",
        last.explanation
    );
    let excluded = last
        .candidates
        .iter()
        .find(|c| c.agent_id == second)
        .expect("the excluded agent is a candidate");
    assert_eq!(excluded.verdict, pb::CandidateVerdict::Excluded as i32);
    assert_eq!(excluded.display_name, name(&second));
    Ok(())
}
on_both_backends!(two_offer_timeouts_never_strand_a_conversation);

/// When nobody else can take it, the agent who let it go gets it again rather than nobody:
/// a one-agent team re-offers after a timeout.
async fn an_exclusion_falls_back_to_the_only_agent_who_can_take_it(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 3).await?;
    let team = w
        .team("Solo", TeamStrategy::RoundRobin, &[&ana], |t| {
            t.offer_timeout = timeout(10);
        })
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let c = w.start().await?;
    assert_eq!(c.assignee_agent_id, ana);
    let before = c.assign_time;
    w.clock().advance(Duration::from_secs(11));
    let again = w
        .until(&c.id, "offered to Ana again", |x| {
            state(x) == S::Assigned && x.assign_time != before
        })
        .await?;
    assert_eq!(again.assignee_agent_id, ana);
    let last = &w.explain(&c.id).await?[0];
    assert!(
        last.explanation.contains("nobody else could take it"),
        "{}",
        last.explanation
    );
    w.open(&ana, &c.id).await?;
    Ok(())
}
on_both_backends!(an_exclusion_falls_back_to_the_only_agent_who_can_take_it);

/// Bug: Ana goes offline (her unopened conversation goes to Beto), comes back; Beto's
/// heartbeats stop: the conversation returned to QUEUED with both excluded and was never
/// offered to Ana. It goes back to Ana.
async fn heartbeat_expiry_hands_it_back_to_the_agent_who_returned(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::with_settings(backend, |s| s.presence.heartbeat_ttl_secs = 1).await?;
    let ana = w.agent("Ana", 3).await?;
    let beto = w.agent("Beto", 3).await?;
    // Keeps an agent's heartbeat alive while `alive` holds it.
    let beat = |agent: String, alive: tokio_util::sync::CancellationToken| {
        let mut presence = w.presence.clone();
        let org = w.org.clone();
        tokio::spawn(async move {
            while !alive.is_cancelled() {
                let _ = presence
                    .heartbeat(HeartbeatRequest {
                        organization_id: org.clone(),
                        agent_id: agent.clone(),
                        ..Default::default()
                    })
                    .await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let ana_alive = tokio_util::sync::CancellationToken::new();
    let beto_alive = tokio_util::sync::CancellationToken::new();
    let _ana_beat = beat(ana.clone(), ana_alive.clone());
    let _beto_beat = beat(beto.clone(), beto_alive.clone());
    let _stop = (
        ana_alive.clone().drop_guard(),
        beto_alive.clone().drop_guard(),
    );
    w.set_status(&beto, AgentStatus::Offline).await?;
    let team = w
        .team("Soporte", TeamStrategy::LeastOpen, &[&ana, &beto], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let c = w.start().await?;
    assert_eq!(c.assignee_agent_id, ana);

    w.set_status(&beto, AgentStatus::Available).await?;
    w.set_status(&ana, AgentStatus::Offline).await?;
    w.until(&c.id, "handed to Beto", |x| x.assignee_agent_id == beto)
        .await?;
    w.set_status(&ana, AgentStatus::Available).await?;
    beto_alive.cancel();
    let back = w
        .until(
            &c.id,
            "handed back to Ana after Beto's heartbeat expired",
            |x| state(x) == S::Assigned && x.assignee_agent_id == ana,
        )
        .await?;
    assert_eq!(state(&back), S::Assigned);
    let last = &w.explain(&c.id).await?[0];
    assert_eq!(last.trigger, pb::DecisionTrigger::AgentOffline as i32);
    assert_eq!(last.excluded_agent_ids, std::slice::from_ref(&beto));
    Ok(())
}
on_both_backends!(heartbeat_expiry_hands_it_back_to_the_agent_who_returned);

/// Queue order (priority, then age) holds for re-routed conversations: a conversation taken
/// back keeps its age, so the slot it frees serves it before a newer one.
async fn a_re_routed_conversation_keeps_its_place_in_the_queue(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 1).await?;
    let team = w
        .team("Solo", TeamStrategy::LeastOpen, &[&ana], |t| {
            t.offer_timeout = timeout(10);
        })
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let older = w.start().await?;
    assert_eq!(older.assignee_agent_id, ana);
    w.clock().advance(Duration::from_secs(2));
    let newer = w.start().await?;
    assert_eq!(state(&newer), S::Queued, "Ana is full");
    let before = older.assign_time;
    w.clock().advance(Duration::from_secs(9));
    w.until(&older.id, "the older one offered to Ana again", |x| {
        state(x) == S::Assigned && x.assign_time != before
    })
    .await?;
    let newer = w.get(&newer.id).await?;
    assert_eq!(state(&newer), S::Queued, "the newer one waits behind it");
    Ok(())
}
on_both_backends!(a_re_routed_conversation_keeps_its_place_in_the_queue);

/// Bug: turning a team's automatic distribution back on left what queued while it was off
/// waiting while newer conversations were assigned ahead of them.
async fn turning_distribution_back_on_serves_what_waited_first(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 2).await?;
    let team = w
        .team("Soporte", TeamStrategy::LeastOpen, &[&ana], |t| {
            t.auto_distribution = Some(false);
        })
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let mut waited = Vec::new();
    for _ in 0..3 {
        let c = w.start().await?;
        assert_eq!(state(&c), S::Queued, "distribution is off");
        waited.push(c.id);
        w.clock().advance(Duration::from_secs(1));
    }
    w.routing
        .update_team(pb::UpdateTeamRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            team: Some(pb::Team {
                id: team.clone(),
                auto_distribution: Some(true),
                ..Default::default()
            }),
            update_mask: Some(switchboard_proto::prost_types::FieldMask {
                paths: vec!["auto_distribution".into()],
            }),
        })
        .await?;
    // The two oldest fill Ana's two slots, in queue order (the sweeper's liveness pass may
    // race the update for them; either way they go first).
    for id in &waited[..2] {
        w.until(id, "assigned to Ana", |c| {
            state(c) == S::Assigned && c.assignee_agent_id == ana
        })
        .await?;
    }
    assert_eq!(
        state(&w.get(&waited[2]).await?),
        S::Queued,
        "the newest still waits"
    );
    let newer = w.start().await?;
    assert_eq!(state(&newer), S::Queued, "no newer one jumps the queue");
    Ok(())
}
on_both_backends!(turning_distribution_back_on_serves_what_waited_first);

/// Bug: each re-route recorded two transitions with the same cause (four transfers gave five
/// TRANSFERRED). A creation, a transfer, a timeout: one transition each, with its decision.
async fn every_re_route_records_one_transition(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 3).await?;
    let beto = w.agent("Beto", 3).await?;
    let first = w
        .team("First", TeamStrategy::LeastOpen, &[&ana], |t| {
            t.offer_timeout = timeout(10);
        })
        .await?;
    let second = w
        .team("Second", TeamStrategy::LeastOpen, &[&beto], |t| {
            t.offer_timeout = timeout(10);
        })
        .await?;
    w.link(&[&first, &second], &[], Some(team_target(&first)))
        .await?;
    let c = w.start().await?;
    let created = transitions(&mut w, &c.id).await?;
    assert_eq!(
        created.len(),
        1,
        "a new conversation is written routed: {created:?}"
    );
    assert_eq!(created[0].from_state, S::Unspecified as i32);
    assert_eq!(created[0].to_state, S::Assigned as i32);
    assert!(!created[0].decision_id.is_empty(), "with its decision");
    for (i, (holder, to)) in [
        (&ana, &second),
        (&beto, &first),
        (&ana, &second),
        (&beto, &first),
    ]
    .into_iter()
    .enumerate()
    {
        let moved = w
            .routing
            .transfer_conversation(pb::TransferConversationRequest {
                request_id: rid(),
                organization_id: w.org.clone(),
                actor_agent_id: holder.clone(),
                conversation_id: c.id.clone(),
                target: Some(team_target(to)),
                reason: format!("hop {i}"),
                priority: None,
            })
            .await?
            .into_inner()
            .conversation
            .expect("conversation");
        assert_eq!(state(&moved), S::Assigned);
    }
    w.clock().advance(Duration::from_secs(11));
    let timed_out = |all: &[pb::Transition]| {
        all.iter()
            .any(|t| t.cause == pb::TransitionCause::OfferTimeout as i32)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !timed_out(&transitions(&mut w, &c.id).await?) {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the offer never timed out"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = transitions(&mut w, &c.id).await?;
    let count = |cause: pb::TransitionCause| all.iter().filter(|t| t.cause == cause as i32).count();
    assert_eq!(count(pb::TransitionCause::Transferred), 4, "{all:#?}");
    assert_eq!(count(pb::TransitionCause::OfferTimeout), 1, "{all:#?}");
    assert_eq!(all.len(), 6, "{all:#?}");
    let hop = &all[1];
    assert_eq!(
        (hop.from_state, hop.to_state),
        (S::Assigned as i32, S::Assigned as i32)
    );
    assert_eq!(
        (hop.from_agent_id.as_str(), hop.to_agent_id.as_str()),
        (ana.as_str(), beto.as_str())
    );
    assert!(hop.detail.starts_with("hop 0"), "{}", hop.detail);
    Ok(())
}
on_both_backends!(every_re_route_records_one_transition);
