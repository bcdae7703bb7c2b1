//! The contracts between services, through routing's gRPC: idempotency keys (a retry with the
//! same body gets the first answer and no second effect, even after other changes; another
//! body under the same key is INVALID_ARGUMENT) and machine-readable refusals.

use switchboard_proto::routing::v1::{self as pb, ConversationState as S, TeamStrategy};
use switchboard_runtime::ids::ContactId;
use switchboard_testkit::Backend;
use tonic_types::StatusExt;

use crate::{
    on_both_backends,
    routing_support::{World, reason, rid, state, team_target},
};

fn required_form() -> Vec<pb::FormField> {
    vec![
        pb::FormField {
            key: "dni".into(),
            label: "DNI".into(),
            kind: pb::FormFieldKind::Text as i32,
            required: true,
            ..Default::default()
        },
        pb::FormField {
            key: "plan".into(),
            label: "Plan".into(),
            kind: pb::FormFieldKind::Text as i32,
            required: true,
            ..Default::default()
        },
    ]
}

/// Bug: FORM_INCOMPLETE carried no ErrorInfo metadata naming the fields (common.proto
/// documents "fields", comma-separated keys).
async fn an_incomplete_form_names_its_missing_fields(backend: Backend) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 3).await?;
    let team = w
        .team("Ventas", TeamStrategy::LeastOpen, &[&ana], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    let campaign = w
        .routing
        .create_campaign(pb::CreateCampaignRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            campaign: Some(pb::Campaign {
                name: "Promo".into(),
                channel_account_id: w.account.clone(),
                continue_with_human: true,
                human_target: Some(team_target(&team)),
                form_fields: required_form(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign")
        .id;
    let c = w
        .start_for(&ContactId::generate().to_string(), Some(&campaign))
        .await?;
    w.open(&ana, &c.id).await?;
    let err = w.close(&ana, &c.id).await.expect_err("form incomplete");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    let info = err.get_details_error_info().expect("error info");
    assert_eq!(info.reason, "ERROR_REASON_FORM_INCOMPLETE");
    assert_eq!(info.domain, "switchboard");
    assert_eq!(
        info.metadata.get("fields").map(String::as_str),
        Some("dni,plan")
    );
    w.routing
        .update_conversation_form(pb::UpdateConversationFormRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: ana.clone(),
            conversation_id: c.id.clone(),
            values: [("dni".to_string(), "30111222".to_string())].into(),
        })
        .await?;
    let err = w.close(&ana, &c.id).await.expect_err("plan still missing");
    let info = err.get_details_error_info().expect("error info");
    assert_eq!(
        info.metadata.get("fields").map(String::as_str),
        Some("plan")
    );
    Ok(())
}
on_both_backends!(an_incomplete_form_names_its_missing_fields);

/// Every mutating RPC keeps `common.proto`'s promise. Tried before: a retried pick picked a
/// second conversation, a retried transfer answered FAILED_PRECONDITION, a retried
/// AddTeamMember re-added someone removed in between, a retried form update reverted a newer
/// value, a retried UpdateChannelAccountRouting reverted a newer configuration; none refused
/// a reused key with another body.
async fn a_retried_call_answers_as_the_first_and_a_reused_key_is_refused(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = w.agent("Ana", 3).await?;
    let beto = w.agent("Beto", 3).await?;
    let manual = w
        .team("Manual", TeamStrategy::Manual, &[&ana], |_| {})
        .await?;
    let other = w
        .team("Other", TeamStrategy::LeastOpen, &[&beto], |_| {})
        .await?;
    let org = w.org.clone();
    let admin = w.admin.clone();
    let routing = w.routing.clone();
    let refused = |e: tonic::Status| {
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
        assert_eq!(reason(&e), "ERROR_REASON_IDEMPOTENCY_KEY_REUSED");
        let bad = e.get_details_bad_request().expect("field violations");
        assert_eq!(bad.field_violations[0].field, "request_id");
    };

    // UpdateChannelAccountRouting: a retry after a newer configuration does not revert it.
    let link = |key: &str, teams: Vec<String>| {
        let mut r = routing.clone();
        let (key, org, admin, account) = (
            key.to_string(),
            org.clone(),
            admin.clone(),
            w.account.clone(),
        );
        async move {
            r.update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
                request_id: key,
                organization_id: org,
                actor_agent_id: admin,
                routing: Some(pb::ChannelAccountRouting {
                    channel_account_id: account,
                    linked_team_ids: teams,
                    ..Default::default()
                }),
            })
            .await
        }
    };
    let first = link("link-1", vec![manual.clone()]).await?.into_inner();
    link("link-2", vec![manual.clone(), other.clone()]).await?;
    let again = link("link-1", vec![manual.clone()]).await?.into_inner();
    assert_eq!(first, again, "the first answer");
    refused(
        link("link-1", vec![other.clone()])
            .await
            .expect_err("another body"),
    );

    // PickConversation: a retry picks nothing more.
    let c1 = w.start().await?;
    let c2 = w.start().await?;
    assert_eq!((state(&c1), state(&c2)), (S::Queued, S::Queued));
    let pick = |key: &str, id: &str| {
        let mut r = routing.clone();
        let req = pb::PickConversationRequest {
            request_id: key.into(),
            organization_id: org.clone(),
            actor_agent_id: ana.clone(),
            conversation_id: id.into(),
        };
        async move { r.pick_conversation(req).await }
    };
    let picked = pick("pick-1", &c1.id).await?.into_inner();
    assert_eq!(pick("pick-1", &c1.id).await?.into_inner(), picked);
    refused(
        pick("pick-1", &c2.id)
            .await
            .expect_err("another conversation"),
    );
    assert_eq!(state(&w.get(&c2.id).await?), S::Queued, "no second pick");

    // TransferConversation: the retry answers the first transfer, recorded once.
    let transfer = |key: &str, to: &str| {
        let mut r = routing.clone();
        let req = pb::TransferConversationRequest {
            request_id: key.into(),
            organization_id: org.clone(),
            actor_agent_id: ana.clone(),
            conversation_id: c1.id.clone(),
            target: Some(team_target(to)),
            reason: "billing".into(),
            priority: None,
        };
        async move { r.transfer_conversation(req).await }
    };
    let moved = transfer("move-1", &other).await?.into_inner();
    assert_eq!(transfer("move-1", &other).await?.into_inner(), moved);
    refused(
        transfer("move-1", &manual)
            .await
            .expect_err("another target"),
    );
    let after = w.get(&c1.id).await?;
    assert_eq!(
        (after.transfer_count, after.assignee_agent_id.as_str()),
        (1, beto.as_str())
    );

    // AddTeamMember: a retry after a removal does not re-add.
    let add = |key: &str| {
        let mut r = routing.clone();
        let req = pb::AddTeamMemberRequest {
            request_id: key.into(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team_id: other.clone(),
            agent_id: ana.clone(),
        };
        async move { r.add_team_member(req).await }
    };
    add("add-1").await?;
    w.routing
        .remove_team_member(pb::RemoveTeamMemberRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team_id: other.clone(),
            agent_id: ana.clone(),
        })
        .await?;
    add("add-1").await?;
    let members: Vec<String> = w
        .routing
        .list_team_members(pb::ListTeamMembersRequest {
            organization_id: org.clone(),
            team_id: other.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .memberships
        .into_iter()
        .map(|m| m.agent_id)
        .collect();
    assert_eq!(members, std::slice::from_ref(&beto), "the removal stands");

    // CreateAgent: one agent per key.
    let create = |key: &str, name: &str| {
        let mut r = routing.clone();
        let req = pb::CreateAgentRequest {
            request_id: key.into(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            agent: Some(pb::Agent {
                display_name: name.into(),
                email: format!("{}@acme.test", name.to_lowercase()),
                role: switchboard_proto::common::v1::Role::Agent as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        async move { r.create_agent(req).await }
    };
    let made = create("agent-1", "Caro").await?.into_inner();
    assert_eq!(create("agent-1", "Caro").await?.into_inner(), made);
    refused(create("agent-1", "Dani").await.expect_err("another agent"));
    Ok(())
}
on_both_backends!(a_retried_call_answers_as_the_first_and_a_reused_key_is_refused);
