//! The agent console through the gateway: inbox tabs as inbox items (contact, last message,
//! names, window) and every conversation action, with a real token, the caller always "me".

use std::time::Duration;

use switchboard_proto::{
    common::v1::{AgentStatus, Role},
    gateway::v1 as pb,
    routing::v1::{self as rpb, ConversationState},
};
use switchboard_runtime::Service;
use switchboard_testkit::Backend;
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    channel_support::ChannelWorld,
    gateway_support::sign_up,
    on_both_backends,
    routing_support::{agent_target, rid},
};
use switchboard_graph_sim::StatusPlan;

fn state_of(item: &pb::InboxItem) -> ConversationState {
    item.conversation
        .as_ref()
        .map(|c| c.state())
        .unwrap_or_default()
}

/// Polls `list` until it holds `id`, or fails after 10 s.
async fn until_listed<F, Fut>(what: &str, id: &str, list: F) -> anyhow::Result<pb::InboxItem>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<pb::InboxItem>, tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let items = list().await?;
        if let Some(item) = items
            .into_iter()
            .find(|i| i.conversation.as_ref().is_some_and(|c| c.id == id))
        {
            return Ok(item);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{id} never appeared in {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A customer writes; the conversation is offered to Ana, who sees it in her Assigned tab
/// with everything a row shows, opens it, fills the form, transfers it to Beto (who opens and
/// closes it); a second conversation waits while everyone is away and Ana picks it; it expires
/// and she finalizes it. Supervision lists are for supervisors only.
async fn the_console_works_a_conversation_through_the_gateway(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut cw =
        ChannelWorld::with_targets(backend, StatusPlan::default(), |_| {}, &[Service::Gateway])
            .await?;
    // Lucía (the world's agent) steps away; Ana and Beto join the number's team.
    let lucia = cw.agent.clone();
    cw.world.set_status(&lucia, AgentStatus::Offline).await?;
    let ana = sign_up(&mut cw.world, "Ana", Role::Agent, 3).await?;
    let beto = sign_up(&mut cw.world, "Beto", Role::Agent, 3).await?;
    let boss = sign_up(&mut cw.world, "Olga", Role::Admin, 0).await?;
    for member in [&ana.id, &beto.id] {
        cw.world
            .routing
            .add_team_member(rpb::AddTeamMemberRequest {
                request_id: rid(),
                organization_id: cw.world.org.clone(),
                actor_agent_id: cw.world.admin.clone(),
                team_id: cw.team.clone(),
                agent_id: member.clone(),
            })
            .await?;
    }
    let mut a = ana.gateway.clone();
    let mut b = beto.gateway.clone();
    let mut admin = boss.gateway.clone();
    a.set_my_status(pb::SetMyStatusRequest {
        request_id: rid(),
        status: AgentStatus::Available as i32,
        reason: String::new(),
    })
    .await?;

    // Offered to Ana, with the row a console shows.
    cw.customer_writes("5491100000001", "Camila", "Hola, ¿me ayudan?")
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let item = loop {
        let list = a
            .list_assigned_conversations(pb::ListAssignedConversationsRequest::default())
            .await?
            .into_inner();
        if let Some(item) = list.items.into_iter().next() {
            break item;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "never offered to Ana"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let conversation = item.conversation.clone().expect("conversation");
    assert_eq!(conversation.assignee_agent_id, ana.id);
    assert_eq!(
        item.contact.as_ref().map(|c| c.wa_id.as_str()),
        Some("5491100000001")
    );
    assert_eq!(
        item.contact.as_ref().map(|c| c.profile_name.as_str()),
        Some("Camila")
    );
    let last = item.last_message.clone().expect("last message");
    assert_eq!(last.conversation_id, conversation.id);
    assert_eq!(item.unanswered_count, 1);
    assert_eq!(item.team_name, "Soporte");
    assert_eq!(item.assignee_display_name, "Ana");
    assert!(item.window_close_time.is_some());
    let counts = a
        .get_inbox_counts(pb::GetInboxCountsRequest {})
        .await?
        .into_inner()
        .counts
        .expect("counts");
    assert_eq!((counts.assigned, counts.open), (1, 0));

    // Beto cannot open Ana's offer; Ana opens it.
    let refused = b
        .open_conversation(pb::OpenConversationRequest {
            request_id: rid(),
            conversation_id: conversation.id.clone(),
        })
        .await
        .expect_err("not Beto's");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let opened = a
        .open_conversation(pb::OpenConversationRequest {
            request_id: rid(),
            conversation_id: conversation.id.clone(),
        })
        .await?
        .into_inner()
        .item
        .expect("item");
    assert_eq!(state_of(&opened), ConversationState::Open);
    let open = a
        .list_open_conversations(pb::ListOpenConversationsRequest::default())
        .await?
        .into_inner();
    assert_eq!(open.items.len(), 1);
    let got = a
        .get_conversation(pb::GetConversationRequest {
            conversation_id: conversation.id.clone(),
        })
        .await?
        .into_inner()
        .item
        .expect("item");
    assert_eq!(got.contact, item.contact);
    let contact_id = conversation.contact_id.clone();
    let history = a
        .list_contact_conversations(pb::ListContactConversationsRequest {
            contact_id: contact_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(history.items.len(), 1);
    // Not a campaign conversation: no form; routing's field violation comes back intact.
    let refused = a
        .update_conversation_form(pb::UpdateConversationFormRequest {
            request_id: rid(),
            conversation_id: conversation.id.clone(),
            values: [("motivo".to_string(), "reclamo".to_string())].into(),
        })
        .await
        .expect_err("no form");
    assert_eq!(refused.code(), Code::InvalidArgument);
    let violations = refused
        .get_details_bad_request()
        .map(|b| b.field_violations)
        .unwrap_or_default();
    assert_eq!(
        violations.first().map(|v| v.field.as_str()),
        Some("values[motivo]"),
        "{refused:?}"
    );

    // Ana transfers it to Beto, who opens and closes it.
    let transfer = a
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            conversation_id: conversation.id.clone(),
            target: Some(agent_target(&beto.id)),
            reason: "es de facturación".into(),
        })
        .await?
        .into_inner();
    assert_eq!(
        transfer
            .conversation
            .as_ref()
            .map(|c| c.assignee_agent_id.as_str()),
        Some(beto.id.as_str())
    );
    let transfers = b
        .list_conversation_transfers(pb::ListConversationTransfersRequest {
            conversation_id: conversation.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .transfers;
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0].reason, "es de facturación");
    b.open_conversation(pb::OpenConversationRequest {
        request_id: rid(),
        conversation_id: conversation.id.clone(),
    })
    .await?;
    let closed = b
        .close_conversation(pb::CloseConversationRequest {
            request_id: rid(),
            conversation_id: conversation.id.clone(),
            close_note: "resuelto".into(),
        })
        .await?
        .into_inner();
    assert_eq!(
        closed.conversation.as_ref().map(|c| c.state()),
        Some(ConversationState::Closed)
    );
    let transitions = b
        .list_conversation_transitions(pb::ListConversationTransitionsRequest {
            conversation_id: conversation.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .transitions;
    assert!(transitions.len() >= 5, "{transitions:?}");
    let decisions = admin
        .explain_routing(pb::ExplainRoutingRequest {
            subject: Some(pb::explain_routing_request::Subject::ConversationId(
                conversation.id.clone(),
            )),
        })
        .await?
        .into_inner()
        .decisions;
    assert!(!decisions.is_empty());

    // Everyone away: the next conversation waits; Ana sees it and picks it.
    for member in [&ana.gateway, &beto.gateway] {
        member
            .clone()
            .set_my_status(pb::SetMyStatusRequest {
                request_id: rid(),
                status: AgentStatus::Away as i32,
                reason: "almuerzo".into(),
            })
            .await?;
    }
    cw.customer_writes("5491100000002", "Diego", "Buenas")
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let waiting = loop {
        let list = a
            .list_waiting_conversations(pb::ListWaitingConversationsRequest::default())
            .await?
            .into_inner();
        if let Some(item) = list.items.into_iter().next() {
            break item;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "never waited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(state_of(&waiting), ConversationState::Queued);
    assert_eq!(
        waiting.contact.as_ref().map(|c| c.profile_name.as_str()),
        Some("Diego")
    );
    let second = waiting.conversation.expect("conversation").id;
    let refused = a
        .list_waiting_conversations(pb::ListWaitingConversationsRequest {
            all_queues: true,
            ..Default::default()
        })
        .await
        .expect_err("agents see their own queues");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let all = admin
        .list_waiting_conversations(pb::ListWaitingConversationsRequest {
            all_queues: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(all.items.len(), 1);
    let picked = a
        .pick_conversation(pb::PickConversationRequest {
            request_id: rid(),
            conversation_id: second.clone(),
        })
        .await?
        .into_inner()
        .item
        .expect("item");
    assert_eq!(state_of(&picked), ConversationState::Open);
    assert_eq!(
        picked
            .conversation
            .as_ref()
            .map(|c| c.assignee_agent_id.as_str()),
        Some(ana.id.as_str())
    );

    // Supervision lists: not for agents.
    let refused = a
        .list_conversations(pb::ListConversationsRequest::default())
        .await
        .expect_err("operators and admins only");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let every = admin
        .list_conversations(pb::ListConversationsRequest::default())
        .await?
        .into_inner();
    assert_eq!(every.items.len(), 2);

    // A day passes: the picked conversation expires; Ana finalizes it.
    cw.world.clock().advance(Duration::from_secs(25 * 3600));
    let expired = until_listed("Ana's Expired tab", &second, || {
        let mut a = a.clone();
        async move {
            Ok(
                a.list_expired_conversations(pb::ListExpiredConversationsRequest::default())
                    .await?
                    .into_inner()
                    .items,
            )
        }
    })
    .await?;
    assert_eq!(state_of(&expired), ConversationState::Expired);
    let finalized = a
        .finalize_conversation(pb::FinalizeConversationRequest {
            request_id: rid(),
            conversation_id: second.clone(),
        })
        .await?
        .into_inner();
    assert!(
        finalized
            .conversation
            .is_some_and(|c| c.finalize_time.is_some())
    );
    let left = a
        .list_expired_conversations(pb::ListExpiredConversationsRequest::default())
        .await?
        .into_inner();
    assert!(left.items.is_empty());
    cw.stop().await
}
on_both_backends!(the_console_works_a_conversation_through_the_gateway);

/// Another organization's admin naming this organization's conversation and contact in every
/// inbox and conversation RPC gets NOT_FOUND or an empty answer, and the conversation does not
/// change.
async fn another_organizations_conversations_are_not_served(
    backend: Backend,
) -> anyhow::Result<()> {
    use crate::gateway_support::{Credentials, GatewayWorld};
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = gw.member("Ana", Role::Agent, 3).await?;
    gw.world.set_status(&ana.id, AgentStatus::Available).await?;
    gw.world
        .link(&[], &[&ana.id], Some(agent_target(&ana.id)))
        .await?;
    let c = gw.world.start().await?;
    let before = gw.world.get(&c.id).await?;

    // Organization B and its admin, signed in to B.
    let org_b = gw
        .world
        .routing
        .create_organization(rpb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Globex".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("org")
        .id;
    let subject = format!("idp|bruno-{}", rid());
    gw.world
        .routing
        .create_agent(rpb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org_b.clone(),
            agent: Some(rpb::Agent {
                display_name: "Bruno".into(),
                email: format!("bruno-{}@globex.test", rid()),
                role: Role::Admin as i32,
                capacity: 3,
                auth_subject: subject.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    let mut b = gw
        .client(Credentials {
            token: Some(gw.token_for(&subject, Duration::from_secs(600))),
            organization: Some(org_b),
        })
        .await?;
    let conv = || c.id.clone();
    let not_found = |what: &str, r: Result<(), tonic::Status>| match r {
        Err(s) if s.code() == Code::NotFound => Ok(()),
        other => Err(anyhow::anyhow!("{what}: NOT_FOUND expected, got {other:?}")),
    };
    not_found(
        "GetConversation",
        b.get_conversation(pb::GetConversationRequest {
            conversation_id: conv(),
        })
        .await
        .map(drop),
    )?;
    not_found(
        "PickConversation",
        b.pick_conversation(pb::PickConversationRequest {
            request_id: rid(),
            conversation_id: conv(),
        })
        .await
        .map(drop),
    )?;
    not_found(
        "OpenConversation",
        b.open_conversation(pb::OpenConversationRequest {
            request_id: rid(),
            conversation_id: conv(),
        })
        .await
        .map(drop),
    )?;
    not_found(
        "CloseConversation",
        b.close_conversation(pb::CloseConversationRequest {
            request_id: rid(),
            conversation_id: conv(),
            close_note: String::new(),
        })
        .await
        .map(drop),
    )?;
    not_found(
        "FinalizeConversation",
        b.finalize_conversation(pb::FinalizeConversationRequest {
            request_id: rid(),
            conversation_id: conv(),
        })
        .await
        .map(drop),
    )?;
    let transferred = b
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            conversation_id: conv(),
            target: Some(agent_target(&ana.id)),
            reason: String::new(),
        })
        .await;
    assert!(
        matches!(&transferred, Err(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument)),
        "TransferConversation: {transferred:?}"
    );
    not_found(
        "UpdateConversationForm",
        b.update_conversation_form(pb::UpdateConversationFormRequest {
            request_id: rid(),
            conversation_id: conv(),
            values: Default::default(),
        })
        .await
        .map(drop),
    )?;
    for (what, result) in [
        (
            "ListConversationTransfers",
            b.list_conversation_transfers(pb::ListConversationTransfersRequest {
                conversation_id: conv(),
                ..Default::default()
            })
            .await
            .map(|r| r.into_inner().transfers.len()),
        ),
        (
            "ListConversationTransitions",
            b.list_conversation_transitions(pb::ListConversationTransitionsRequest {
                conversation_id: conv(),
                ..Default::default()
            })
            .await
            .map(|r| r.into_inner().transitions.len()),
        ),
        (
            "ExplainRouting",
            b.explain_routing(pb::ExplainRoutingRequest {
                subject: Some(pb::explain_routing_request::Subject::ConversationId(conv())),
            })
            .await
            .map(|r| r.into_inner().decisions.len()),
        ),
        (
            "ListContactConversations",
            b.list_contact_conversations(pb::ListContactConversationsRequest {
                contact_id: c.contact_id.clone(),
                ..Default::default()
            })
            .await
            .map(|r| r.into_inner().items.len()),
        ),
    ] {
        match result {
            Err(s) if s.code() == Code::NotFound => {}
            Ok(0) => {}
            other => anyhow::bail!("{what}: NOT_FOUND or empty expected, got {other:?}"),
        }
    }
    // B's own lists hold nothing of A.
    for (what, n) in [
        (
            "ListConversations",
            b.list_conversations(pb::ListConversationsRequest::default())
                .await?
                .into_inner()
                .items
                .len(),
        ),
        (
            "ListWaitingConversations",
            b.list_waiting_conversations(pb::ListWaitingConversationsRequest {
                all_queues: true,
                ..Default::default()
            })
            .await?
            .into_inner()
            .items
            .len(),
        ),
        (
            "ListAssignedConversations",
            b.list_assigned_conversations(pb::ListAssignedConversationsRequest::default())
                .await?
                .into_inner()
                .items
                .len(),
        ),
        (
            "ListOpenConversations",
            b.list_open_conversations(pb::ListOpenConversationsRequest::default())
                .await?
                .into_inner()
                .items
                .len(),
        ),
        (
            "ListExpiredConversations",
            b.list_expired_conversations(pb::ListExpiredConversationsRequest {
                all_agents: true,
                ..Default::default()
            })
            .await?
            .into_inner()
            .items
            .len(),
        ),
    ] {
        assert_eq!(n, 0, "{what}");
    }
    let counts = b
        .get_inbox_counts(pb::GetInboxCountsRequest {})
        .await?
        .into_inner()
        .counts
        .expect("counts");
    assert_eq!((counts.waiting, counts.assigned, counts.open), (0, 0, 0));
    // Nothing of A changed.
    let after = gw.world.get(&c.id).await?;
    assert_eq!(after, before);
    Ok(())
}
on_both_backends!(another_organizations_conversations_are_not_served);
