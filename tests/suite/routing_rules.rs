//! Rules that hold at every entry point: who may take a conversation on a number, how an
//! agent-started conversation begins, and what an organization is created with.

use std::time::Duration;

use switchboard_proto::{
    common::v1::{AgentStatus, Role},
    routing::v1::{self as pb, ConversationState as S, TeamStrategy},
};
use switchboard_runtime::ids::ContactId;
use switchboard_testkit::Backend;

use crate::{
    on_both_backends,
    routing_support::{World, reason, rid, state, team_target},
};

/// Bug: a transfer to a team not linked to the conversation's number was accepted, and then
/// an agent not linked to the number could pick it and reply from that number. Refused as for
/// an agent target, nothing changed; picking checks the link too.
async fn only_teams_and_agents_linked_to_the_number_take_its_conversations(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 3).await?;
    let out = w.agent("Otto", 3).await?;
    let linked = w
        .team("Linked", TeamStrategy::LeastOpen, &[&ana], |_| {})
        .await?;
    let elsewhere = w
        .team("Elsewhere", TeamStrategy::Manual, &[&out], |_| {})
        .await?;
    w.link(&[&linked], &[], Some(team_target(&linked))).await?;
    let c = w.start().await?;
    assert_eq!(c.assignee_agent_id, ana);
    let err = w
        .routing
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: ana.clone(),
            conversation_id: c.id.clone(),
            target: Some(team_target(&elsewhere)),
            reason: "wrong desk".into(),
            priority: None,
        })
        .await
        .expect_err("the team is not linked to the number");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&err), "ERROR_REASON_TEAM_NOT_LINKED");
    let same = w.get(&c.id).await?;
    assert_eq!(
        (
            state(&same),
            same.assignee_agent_id.as_str(),
            same.transfer_count
        ),
        (S::Assigned, ana.as_str(), 0),
        "nothing changed"
    );

    // A supervisor not linked to the number cannot pick from its waiting list either.
    let operator = w.agent_with_role("Olga", Role::Operator, 3).await?;
    w.set_status(&operator, AgentStatus::Available).await?;
    w.link(&[&linked], &[], None).await?;
    w.set_status(&ana, AgentStatus::Away).await?;
    let waiting = w.start().await?;
    assert_eq!(state(&waiting), S::Queued);
    let err = w
        .routing
        .pick_conversation(pb::PickConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: operator.clone(),
            conversation_id: waiting.id.clone(),
        })
        .await
        .expect_err("not linked to the number");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&err), "ERROR_REASON_AGENT_NOT_LINKED");
    assert_eq!(
        state(&w.get(&waiting.id).await?),
        S::Queued,
        "still waiting"
    );
    w.set_status(&ana, AgentStatus::Available).await?;
    let picked = w
        .routing
        .pick_conversation(pb::PickConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: ana.clone(),
            conversation_id: waiting.id.clone(),
        })
        .await;
    // Ana may have been offered it already when she came back; either way she holds it.
    if let Err(e) = &picked {
        assert_eq!(e.code(), tonic::Code::Aborted, "{e:?}");
    }
    assert_eq!(w.get(&waiting.id).await?.assignee_agent_id, ana);
    Ok(())
}
on_both_backends!(only_teams_and_agents_linked_to_the_number_take_its_conversations);

/// Bug: a conversation an agent starts with a template was ASSIGNED, so an offer timeout
/// could take it away. It is OPEN for that agent, as SendTemplateMessage documents.
async fn a_conversation_an_agent_starts_is_open_for_that_agent(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 3).await?;
    let team = w
        .team("Timed", TeamStrategy::LeastOpen, &[&ana], |t| {
            t.offer_timeout = Some(switchboard_proto::prost_types::Duration {
                seconds: 10,
                nanos: 0,
            });
        })
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let started = w
        .routing
        .start_conversation(pb::StartConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            channel_account_id: w.account.clone(),
            contact_id: ContactId::generate().to_string(),
            first_message_id: format!("msg_{}", rid()),
            assign_to_agent_id: ana.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(started.created);
    let c = started.conversation.expect("conversation");
    assert_eq!(state(&c), S::Open, "the agent who started it has it open");
    assert_eq!(c.assignee_agent_id, ana);
    assert!(c.offer_expire_time.is_none(), "no offer to time out");
    w.clock().advance(Duration::from_secs(30));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still = w.get(&c.id).await?;
    assert_eq!(
        (state(&still), still.assignee_agent_id.as_str()),
        (S::Open, ana.as_str())
    );
    w.close(&ana, &c.id).await?;
    Ok(())
}
on_both_backends!(a_conversation_an_agent_starts_is_open_for_that_agent);

/// Bug: CreateOrganization ignored the settings given at creation.
async fn an_organization_is_created_with_the_settings_given(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let settings = pb::OrganizationSettings {
        first_responder_becomes_owner: true,
        owner_routing_enabled: true,
        owner_fallback_wait: Some(switchboard_proto::prost_types::Duration {
            seconds: 90,
            nanos: 0,
        }),
        unrouted_policy: pb::UnroutedPolicy::AllTeams as i32,
    };
    let created = w
        .routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Globex".into(),
            default_agent_capacity: 4,
            settings: Some(settings),
        })
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(created.settings.as_ref(), Some(&settings));
    let read = w
        .routing
        .get_organization(pb::GetOrganizationRequest {
            organization_id: created.id.clone(),
        })
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(read.settings, Some(settings), "stored, not only echoed");

    let err = w
        .routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Initech".into(),
            default_agent_capacity: 0,
            settings: Some(pb::OrganizationSettings {
                owner_fallback_wait: Some(switchboard_proto::prost_types::Duration {
                    seconds: 2 * 86_400,
                    nanos: 0,
                }),
                ..Default::default()
            }),
        })
        .await
        .expect_err("a wait over 24 hours");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("settings.owner_fallback_wait"),
        "{}",
        err.message()
    );
    Ok(())
}
on_both_backends!(an_organization_is_created_with_the_settings_given);
