//! The routing engine and the conversation lifecycle over gRPC: every rule of the routing
//! order, each team strategy, manual pick races, offer timeouts, agents going offline,
//! transfers, the 24-hour expiry (with the injectable clock), close permissions, slot refill
//! and first-responder ownership.

use std::time::Duration;

use switchboard_proto::{
    common::v1::{AgentStatus, Role},
    routing::v1::{self as pb, ConversationState as S, RoutingRule, TeamStrategy},
};
use switchboard_runtime::ids::ContactId;
use switchboard_testkit::Backend;

use crate::{
    on_both_backends,
    routing_support::{self, World, agent_target, reason, rid, state, team_target},
};

async fn routing_order_campaign_owner_default_waiting_list(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let sales_agent = w.agent("Sales", 3).await?;
    let support_agent = w.agent("Support", 3).await?;
    let owner = w.agent("Owner", 3).await?;
    let sales = w
        .team("Sales", TeamStrategy::LeastOpen, &[&sales_agent], |_| {})
        .await?;
    let support = w
        .team(
            "Support",
            TeamStrategy::LeastOpen,
            &[&support_agent],
            |_| {},
        )
        .await?;
    w.link(&[&sales, &support], &[&owner], Some(team_target(&support)))
        .await?;
    w.routing
        .update_organization(pb::UpdateOrganizationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            organization: Some(pb::Organization {
                settings: Some(pb::OrganizationSettings {
                    owner_routing_enabled: true,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            update_mask: Some(switchboard_proto::prost_types::FieldMask {
                paths: vec!["settings".into()],
            }),
        })
        .await?;
    let campaign = w
        .routing
        .create_campaign(pb::CreateCampaignRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            campaign: Some(pb::Campaign {
                name: "Black Friday".into(),
                channel_account_id: w.account.clone(),
                continue_with_human: true,
                human_target: Some(team_target(&sales)),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign")
        .id;

    // 1. A campaign reply goes to the campaign's team, even when the contact has an owner.
    let owned_contact = routing_support::contact(&w.suite, &w.org, &w.admin).await?;
    w.routing
        .add_contact_owner(pb::AddContactOwnerRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            contact_id: owned_contact.clone(),
            agent_id: owner.clone(),
        })
        .await?;
    let c = w.start_for(&owned_contact, Some(&campaign)).await?;
    assert_eq!(state(&c), S::Assigned);
    assert_eq!(c.assignee_agent_id, sales_agent, "campaign rule wins");
    let d = &w.explain(&c.id).await?[0];
    assert_eq!(d.matched_rule, RoutingRule::Campaign as i32);
    assert_eq!(d.chosen_agent_id, sales_agent);
    assert!(
        !d.candidates.is_empty(),
        "the decision lists the candidates"
    );
    w.close(&sales_agent, &c.id)
        .await
        .expect_err("assigned, not opened: an agent closes only what it opened");
    w.open(&sales_agent, &c.id).await?;
    w.close(&sales_agent, &c.id).await?;

    // 2. Without a campaign, the owner gets its contact's conversation.
    let c = w.start_for(&owned_contact, None).await?;
    assert_eq!(c.assignee_agent_id, owner, "contact owner rule");
    let d = &w.explain(&c.id).await?[0];
    assert_eq!(d.matched_rule, RoutingRule::ContactOwner as i32);
    assert!(
        !d.evaluations[0].matched,
        "campaign rule evaluated and skipped first"
    );

    // 3. A contact without owner: the number's default team.
    let c = w.start().await?;
    assert_eq!(c.team_id, support);
    assert_eq!(c.assignee_agent_id, support_agent);
    assert_eq!(
        w.explain(&c.id).await?[0].matched_rule,
        RoutingRule::ChannelDefault as i32
    );

    // 4. No default: the organization waiting list, picked by an agent linked to the number.
    w.link(&[&sales, &support], &[&owner], None).await?;
    let c = w.start().await?;
    assert_eq!(state(&c), S::Queued);
    assert_eq!(c.team_id, "", "organization waiting list");
    let d = &w.explain(&c.id).await?[0];
    assert_eq!(d.matched_rule, RoutingRule::OrganizationWaitingList as i32);
    assert!(d.explanation.contains("waiting list"), "{}", d.explanation);
    let waiting = w
        .routing
        .list_waiting_conversations(pb::ListWaitingConversationsRequest {
            organization_id: w.org.clone(),
            actor_agent_id: support_agent.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(
        waiting.conversations.iter().any(|x| x.id == c.id),
        "linked agent sees it waiting"
    );
    Ok(())
}
on_both_backends!(routing_order_campaign_owner_default_waiting_list);

async fn least_open_and_round_robin_pick_as_documented(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 5).await?;
    let b = w.agent("Bea", 5).await?;
    let least = w
        .team("Least", TeamStrategy::LeastOpen, &[&a, &b], |_| {})
        .await?;
    // Ana starts with two conversations from another team, so least_open is told apart from
    // round robin (which would alternate whatever the loads).
    let preload = w
        .team("Preload", TeamStrategy::LeastOpen, &[&a], |_| {})
        .await?;
    w.link(&[&least, &preload], &[], Some(team_target(&preload)))
        .await?;
    for _ in 0..2 {
        assert_eq!(w.start().await?.assignee_agent_id, a);
    }
    w.link(&[&least, &preload], &[], Some(team_target(&least)))
        .await?;
    // least_open: Bea (0 held) takes two; at 2 and 2 the tie goes to the longest idle (Ana),
    // then Bea again (2 < 3).
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(w.start().await?.assignee_agent_id);
    }
    assert_eq!(
        order,
        [b.clone(), b.clone(), a.clone(), b.clone()],
        "Ana {a}, Bea {b}"
    );

    // round_robin: alternates between members.
    let c1 = w.agent("Cai", 5).await?;
    let c2 = w.agent("Dan", 5).await?;
    let rr = w
        .team("Rotation", TeamStrategy::RoundRobin, &[&c1, &c2], |_| {})
        .await?;
    w.link(&[&least, &preload, &rr], &[], Some(team_target(&rr)))
        .await?;
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(w.start().await?.assignee_agent_id);
    }
    assert_ne!(order[0], order[1], "{order:?}");
    assert_eq!(order[0], order[2], "{order:?}");
    assert_eq!(order[1], order[3], "{order:?}");
    Ok(())
}
on_both_backends!(least_open_and_round_robin_pick_as_documented);

async fn manual_team_waits_and_one_of_two_pickers_wins(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 3).await?;
    let b = w.agent("Bea", 3).await?;
    let outsider = w.agent("Out", 3).await?;
    let manual = w
        .team("Manual", TeamStrategy::Manual, &[&a, &b], |_| {})
        .await?;
    w.link(&[&manual], &[], Some(team_target(&manual))).await?;
    let c = w.start().await?;
    assert_eq!(state(&c), S::Queued, "manual teams do not assign");
    assert_eq!(c.team_id, manual);

    let pick = |agent: String,
                mut client: crate::routing_support::Routing,
                org: String,
                id: String| async move {
        client
            .pick_conversation(pb::PickConversationRequest {
                request_id: rid(),
                organization_id: org,
                actor_agent_id: agent,
                conversation_id: id,
            })
            .await
    };
    let denied = pick(outsider, w.routing.clone(), w.org.clone(), c.id.clone())
        .await
        .expect_err("not a member");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let (ra, rb) = tokio::join!(
        pick(a.clone(), w.routing.clone(), w.org.clone(), c.id.clone()),
        pick(b.clone(), w.routing.clone(), w.org.clone(), c.id.clone())
    );
    let winners = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "exactly one picker wins: {ra:?} {rb:?}");
    let loser = if ra.is_err() {
        ra.expect_err("lost")
    } else {
        rb.expect_err("lost")
    };
    assert_eq!(loser.code(), tonic::Code::Aborted);
    assert_eq!(reason(&loser), "ERROR_REASON_ALREADY_TAKEN");
    let now = w.get(&c.id).await?;
    assert_eq!(state(&now), S::Open, "picking is opening");
    Ok(())
}
on_both_backends!(manual_team_waits_and_one_of_two_pickers_wins);

async fn unopened_offer_times_out_to_the_next_agent(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 3).await?;
    let b = w.agent("Bea", 3).await?;
    let team = w
        .team("Timed", TeamStrategy::LeastOpen, &[&a, &b], |t| {
            t.offer_timeout = Some(switchboard_proto::prost_types::Duration {
                seconds: 30,
                nanos: 0,
            });
        })
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let c = w.start().await?;
    assert_eq!(state(&c), S::Assigned);
    assert!(c.offer_expire_time.is_some(), "the offer has a deadline");
    let first = c.assignee_agent_id.clone();
    w.clock().advance(Duration::from_secs(31));
    let moved = w
        .until(&c.id, "offered to the other agent", |x| {
            state(x) == S::Assigned && x.assignee_agent_id != first
        })
        .await?;
    let decisions = w.explain(&c.id).await?;
    assert_eq!(
        decisions[0].trigger,
        pb::DecisionTrigger::OfferTimeout as i32
    );
    assert!(
        decisions[0].excluded_agent_ids.contains(&first),
        "the timed-out agent is excluded"
    );
    // The first agent may no longer open it.
    let err = w.open(&first, &c.id).await.expect_err("taken back");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    w.open(&moved.assignee_agent_id, &c.id).await?;
    Ok(())
}
on_both_backends!(unopened_offer_times_out_to_the_next_agent);

async fn agent_going_offline_returns_its_unopened_conversations(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 3).await?;
    let team = w
        .team("Team", TeamStrategy::LeastOpen, &[&a], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let opened = w.start().await?;
    let unopened = w.start().await?;
    assert_eq!(unopened.assignee_agent_id, a);
    w.open(&a, &opened.id).await?;
    let b = w.agent("Bea", 3).await?;
    w.routing
        .add_team_member(pb::AddTeamMemberRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            team_id: team.clone(),
            agent_id: b.clone(),
        })
        .await?;
    w.set_status(&a, AgentStatus::Offline).await?;
    // The presence event reaches routing; the unopened one goes to Bea, the open one stays.
    w.until(&unopened.id, "reassigned to Bea", |x| {
        x.assignee_agent_id == b
    })
    .await?;
    let still = w.get(&opened.id).await?;
    assert_eq!(state(&still), S::Open);
    assert_eq!(
        still.assignee_agent_id, a,
        "open conversations stay with their agent"
    );
    Ok(())
}
on_both_backends!(agent_going_offline_returns_its_unopened_conversations);

async fn transfers_to_team_and_agent_are_recorded_and_reported(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 3).await?;
    let b = w.agent("Bea", 3).await?;
    let c_agent = w.agent("Cai", 3).await?;
    let first = w
        .team("First", TeamStrategy::LeastOpen, &[&a], |_| {})
        .await?;
    let second = w
        .team("Second", TeamStrategy::LeastOpen, &[&b], |_| {})
        .await?;
    w.link(&[&first, &second], &[&c_agent], Some(team_target(&first)))
        .await?;
    let conv = w.start().await?;
    w.open(&a, &conv.id).await?;

    let to_team = w
        .routing
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: a.clone(),
            conversation_id: conv.id.clone(),
            target: Some(team_target(&second)),
            reason: "billing question".into(),
            priority: None,
        })
        .await?
        .into_inner();
    let moved = to_team.conversation.expect("conversation");
    assert_eq!(moved.team_id, second);
    assert_eq!(
        moved.assignee_agent_id, b,
        "re-queued in Second and routed by its strategy"
    );
    assert_eq!(
        to_team.transfer.expect("transfer").reason,
        "billing question"
    );

    let to_agent = w
        .routing
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: b.clone(),
            conversation_id: conv.id.clone(),
            target: Some(agent_target(&c_agent)),
            reason: String::new(),
            priority: None,
        })
        .await?
        .into_inner()
        .conversation
        .expect("conversation");
    assert_eq!(state(&to_agent), S::Assigned);
    assert_eq!(to_agent.assignee_agent_id, c_agent);
    assert_eq!(to_agent.transfer_count, 2);

    // Only the holder (or a supervisor) transfers.
    let err = w
        .routing
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: a.clone(),
            conversation_id: conv.id.clone(),
            target: Some(team_target(&first)),
            ..Default::default()
        })
        .await
        .expect_err("not the holder");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let err = w
        .routing
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: c_agent.clone(),
            conversation_id: conv.id.clone(),
            target: None,
            ..Default::default()
        })
        .await
        .expect_err("no target");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    let transfers = w
        .routing
        .list_conversation_transfers(pb::ListConversationTransfersRequest {
            organization_id: w.org.clone(),
            conversation_id: conv.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .transfers;
    assert_eq!(transfers.len(), 2);
    assert_eq!(transfers[0].from_agent_id, a);
    assert_eq!(transfers[1].from_agent_id, b);

    let now = w.clock().now();
    let report = w
        .routing
        .get_transfer_report(pb::GetTransferReportRequest {
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            time_range: Some(switchboard_proto::common::v1::TimeRange {
                start_time: Some(switchboard_proto::prost_types::Timestamp {
                    seconds: now.timestamp() - 3600,
                    nanos: 0,
                }),
                end_time: Some(switchboard_proto::prost_types::Timestamp {
                    seconds: now.timestamp() + 3600,
                    nanos: 0,
                }),
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.rows[0].transfers.len(), 2);
    let err = w
        .routing
        .get_transfer_report(pb::GetTransferReportRequest {
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            ..Default::default()
        })
        .await
        .expect_err("range required");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    Ok(())
}
on_both_backends!(transfers_to_team_and_agent_are_recorded_and_reported);

async fn conversations_expire_after_24h_without_customer_messages(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 3).await?;
    let team = w
        .team("Team", TeamStrategy::LeastOpen, &[&a], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let c = w.start().await?;
    w.open(&a, &c.id).await?;
    let clock = w.clock();
    // 20 h later the customer writes again: the clock restarts.
    clock.advance(Duration::from_secs(20 * 3600));
    let touched = w
        .routing
        .record_customer_message(pb::RecordCustomerMessageRequest {
            organization_id: w.org.clone(),
            conversation_id: c.id.clone(),
            message_id: "msg_2".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .conversation
        .expect("conversation");
    assert!(touched.expire_time.expect("expire").seconds > c.expire_time.expect("expire").seconds);
    clock.advance(Duration::from_secs(20 * 3600));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        state(&w.get(&c.id).await?),
        S::Open,
        "40 h after start but 20 h after the last message"
    );
    clock.advance(Duration::from_secs(5 * 3600));
    let expired = w
        .until(&c.id, "expired", |x| state(x) == S::Expired)
        .await?;
    assert!(expired.end_time.is_some());
    // Expired: only finalized; the agent's slot is free again.
    let err = w
        .close(&a, &c.id)
        .await
        .expect_err("expired cannot be closed");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    let err = w
        .routing
        .record_customer_message(pb::RecordCustomerMessageRequest {
            organization_id: w.org.clone(),
            conversation_id: c.id.clone(),
            message_id: "msg_3".into(),
            ..Default::default()
        })
        .await
        .expect_err("start a new one");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    let listed = w
        .routing
        .list_expired_conversations(pb::ListExpiredConversationsRequest {
            organization_id: w.org.clone(),
            actor_agent_id: a.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .conversations;
    assert_eq!(listed.len(), 1);
    let finalized = w
        .routing
        .finalize_conversation(pb::FinalizeConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: a.clone(),
            conversation_id: c.id.clone(),
        })
        .await?
        .into_inner()
        .conversation
        .expect("conversation");
    assert!(finalized.finalize_time.is_some());
    let listed = w
        .routing
        .list_expired_conversations(pb::ListExpiredConversationsRequest {
            organization_id: w.org.clone(),
            actor_agent_id: a.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .conversations;
    assert!(listed.is_empty(), "finalized leaves the Expired list");
    Ok(())
}
on_both_backends!(conversations_expire_after_24h_without_customer_messages);

async fn only_the_opener_or_an_admin_closes_and_closing_refills_the_slot(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 1).await?;
    let b = w.agent("Bea", 1).await?;
    let operator = w.agent_with_role("Op", Role::Operator, 0).await?;
    let team = w
        .team("Team", TeamStrategy::LeastOpen, &[&a, &b], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let first = w.start().await?;
    let second = w.start().await?;
    let third = w.start().await?;
    assert_eq!(state(&third), S::Queued, "both agents are at capacity 1");
    let holder = first.assignee_agent_id.clone();
    let other = if holder == a { b.clone() } else { a.clone() };
    w.open(&holder, &first.id).await?;
    let err = w
        .close(&other, &first.id)
        .await
        .expect_err("not the opener");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let err = w
        .close(&operator, &first.id)
        .await
        .expect_err("operators do not close");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    w.close(&holder, &first.id).await?;
    // The freed slot takes the waiting conversation at once.
    let refilled = w
        .until(&third.id, "offered to the freed agent", |x| {
            state(x) == S::Assigned
        })
        .await?;
    assert_eq!(refilled.assignee_agent_id, holder);
    // An admin closes any active conversation.
    let closed = w.close(&w.admin.clone(), &second.id).await?;
    assert_eq!(state(&closed), S::Closed);
    let transitions = w
        .routing
        .list_conversation_transitions(pb::ListConversationTransitionsRequest {
            organization_id: w.org.clone(),
            conversation_id: first.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .transitions;
    let causes: Vec<_> = transitions.iter().map(|t| t.cause).collect();
    assert_eq!(
        causes,
        [
            pb::TransitionCause::Routed as i32,
            pb::TransitionCause::Opened as i32,
            pb::TransitionCause::Closed as i32
        ],
        "created routed in one transition, then opened and closed"
    );
    Ok(())
}
on_both_backends!(only_the_opener_or_an_admin_closes_and_closing_refills_the_slot);

async fn first_responder_becomes_the_contact_owner(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 3).await?;
    let b = w.agent("Bea", 3).await?;
    let team = w
        .team("Team", TeamStrategy::LeastOpen, &[&a, &b], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    w.routing
        .update_organization(pb::UpdateOrganizationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            organization: Some(pb::Organization {
                settings: Some(pb::OrganizationSettings {
                    first_responder_becomes_owner: true,
                    owner_routing_enabled: true,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            update_mask: Some(switchboard_proto::prost_types::FieldMask {
                paths: vec!["settings".into()],
            }),
        })
        .await?;
    let contact = ContactId::generate().to_string();
    let c = w.start_for(&contact, None).await?;
    let responder = c.assignee_agent_id.clone();
    w.open(&responder, &c.id).await?;
    let reply = |agent: &str, msg: &str| pb::RecordAgentReplyRequest {
        organization_id: w.org.clone(),
        conversation_id: c.id.clone(),
        agent_id: agent.into(),
        message_id: msg.into(),
        ..Default::default()
    };
    let first = w
        .routing
        .record_agent_reply(reply(&responder, "msg_a"))
        .await?
        .into_inner();
    assert!(first.became_owner);
    assert!(
        first
            .conversation
            .expect("conversation")
            .first_response_time
            .is_some()
    );
    let again = w
        .routing
        .record_agent_reply(reply(&responder, "msg_b"))
        .await?
        .into_inner();
    assert!(!again.became_owner, "only once");
    w.close(&responder, &c.id).await?;
    // The owner gets the contact's next conversation, whoever least_open would pick.
    for _ in 0..3 {
        let next = w.start_for(&contact, None).await?;
        assert_eq!(next.assignee_agent_id, responder);
        w.open(&responder, &next.id).await?;
        w.close(&responder, &next.id).await?;
    }
    Ok(())
}
on_both_backends!(first_responder_becomes_the_contact_owner);

async fn a_contact_has_one_active_conversation_per_number(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 3).await?;
    let team = w
        .team("Team", TeamStrategy::LeastOpen, &[&a], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let contact = ContactId::generate().to_string();
    let mut handles = Vec::new();
    for _ in 0..5 {
        let mut client = w.routing.clone();
        let req = pb::StartConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            channel_account_id: w.account.clone(),
            contact_id: contact.clone(),
            first_message_id: "msg_1".into(),
            ..Default::default()
        };
        handles.push(tokio::spawn(
            async move { client.start_conversation(req).await },
        ));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for h in handles {
        let r = h.await??.into_inner();
        created += usize::from(r.created);
        ids.insert(r.conversation.expect("conversation").id);
    }
    assert_eq!(ids.len(), 1, "five concurrent starts, one conversation");
    assert_eq!(created, 1);
    let err = w
        .routing
        .start_conversation(pb::StartConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            channel_account_id: "not-an-id".into(),
            contact_id: contact.clone(),
            ..Default::default()
        })
        .await
        .expect_err("bad id");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    Ok(())
}
on_both_backends!(a_contact_has_one_active_conversation_per_number);

async fn no_call_reads_or_changes_another_organizations_conversations(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 3).await?;
    let team = w
        .team("Team", TeamStrategy::LeastOpen, &[&a], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let c = w.start().await?;
    w.open(&a, &c.id).await?;

    // A second tenant with its own admin.
    let other = w
        .routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Other".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let intruder = w
        .routing
        .create_agent(pb::CreateAgentRequest {
            request_id: rid(),
            organization_id: other.clone(),
            agent: Some(pb::Agent {
                display_name: "Eve".into(),
                email: "eve@other.test".into(),
                role: Role::Admin as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent")
        .id;

    // Its ids in its own organization find nothing of ours.
    let err = w
        .routing
        .get_conversation(pb::GetConversationRequest {
            organization_id: other.clone(),
            conversation_id: c.id.clone(),
            actor_agent_id: intruder.clone(),
        })
        .await
        .expect_err("another tenant's conversation");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let err = w
        .routing
        .explain_routing(pb::ExplainRoutingRequest {
            organization_id: other.clone(),
            actor_agent_id: intruder.clone(),
            subject: Some(pb::explain_routing_request::Subject::ConversationId(
                c.id.clone(),
            )),
        })
        .await
        .expect_err("another tenant's decisions");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let listed = w
        .routing
        .list_conversations(pb::ListConversationsRequest {
            organization_id: other.clone(),
            actor_agent_id: intruder.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(listed.conversations.is_empty());
    // Naming our organization with its agent as actor: not an agent here, refused.
    let err = w
        .close(&intruder, &c.id)
        .await
        .expect_err("not an agent of this organization");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let err = w
        .routing
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: intruder.clone(),
            conversation_id: c.id.clone(),
            target: Some(team_target(&team)),
            ..Default::default()
        })
        .await
        .expect_err("not an agent of this organization");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let still = w.get(&c.id).await?;
    assert_eq!(state(&still), S::Open, "nothing changed");
    assert_eq!(still.assignee_agent_id, a);
    Ok(())
}
on_both_backends!(no_call_reads_or_changes_another_organizations_conversations);
