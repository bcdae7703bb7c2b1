//! Gateway administration through real tokens: the organization and its close policy, agents
//! (disabling included), teams and memberships, channel accounts and their routing, campaigns
//! (sent through the Graph API simulator), the transfer report; who may do what (agents,
//! operators, admins); and tenancy (another organization naming this one's ids sees nothing and
//! changes nothing).

use std::time::{Duration, Instant};

use switchboard_graph_sim::StatusPlan;
use switchboard_proto::{
    channel::v1::{self as ch, campaign_recipient, template_parameter},
    common::v1::{AgentStatus, PageRequest, Role, TimeRange},
    gateway::v1::{self as pb, gateway_service_client::GatewayServiceClient},
    prost_types::{FieldMask, Timestamp},
    routing::v1 as rpb,
    ticketing::v1 as tpb,
};
use switchboard_runtime::Service;
use switchboard_testkit::Backend;
use tonic::Code;

use crate::{
    channel_support::{ChannelWorld, TEMPLATE},
    gateway_support::{Credentials, Gateway, GatewayWorld},
    on_both_backends,
    routing_support::{World, rid, team_target},
};

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

/// Asserts `result` is an error with `code`.
#[track_caller]
fn refused<T: std::fmt::Debug>(what: &str, result: Result<T, tonic::Status>, code: Code) {
    match result {
        Ok(answer) => panic!("{what}: expected {code:?}, got {answer:?}"),
        Err(status) => assert_eq!(status.code(), code, "{what}: {status:?}"),
    }
}

fn unique_phone_number_id() -> String {
    format!(
        "8{:014}",
        uuid::Uuid::now_v7().as_u128() % 100_000_000_000_000
    )
}

fn new_account(name: &str) -> ch::ChannelAccount {
    ch::ChannelAccount {
        display_name: name.into(),
        phone_number_id: unique_phone_number_id(),
        display_phone_number: "+1 555-010-0001".into(),
        waba_id: "102290129340398".into(),
        access_token_secret_ref: "wa-token-test".into(),
        ..Default::default()
    }
}

fn around_now(world: &World) -> TimeRange {
    let now = world.clock().now().timestamp();
    TimeRange {
        start_time: Some(Timestamp {
            seconds: now - 3600,
            nanos: 0,
        }),
        end_time: Some(Timestamp {
            seconds: now + 3600,
            nanos: 0,
        }),
    }
}

/// An agent of `org` bound to a fresh subject, created through routing (provisioning), and its
/// signed-in gateway client.
async fn provision(
    world: &mut World,
    org: &str,
    name: &str,
    role: Role,
) -> anyhow::Result<(String, String)> {
    let subject = format!("idp|{}-{}", name.to_lowercase(), rid());
    let agent = world
        .routing
        .create_agent(rpb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.into(),
            agent: Some(rpb::Agent {
                display_name: name.into(),
                email: format!("{}-{}@other.test", name.to_lowercase(), rid()),
                role: role as i32,
                auth_subject: subject.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    Ok((agent.id, subject))
}

async fn sign_in(world: &World, org: &str, subject: &str) -> anyhow::Result<Gateway> {
    let settings = &world.suite.infra().expect("running").settings;
    let token =
        switchboard_gateway::dev_token(&settings.gateway.auth, subject, Duration::from_secs(600))?;
    Ok(GatewayServiceClient::with_interceptor(
        world.suite.channel(Service::Gateway).await?,
        Credentials {
            token: Some(token),
            organization: Some(org.into()),
        },
    ))
}

/// The organization and the close policy: anyone reads them, only an admin changes them, and
/// the organization is always the caller's (an id in the message is ignored).
async fn organization_settings_and_close_policy(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let org = gw.world.org.clone();
    let mut admin = gw.admin.gateway.clone();
    let mut agent = gw.member("Ana", Role::Agent, 2).await?.gateway;
    let mut operator = gw.member("Olga", Role::Operator, 2).await?.gateway;

    let read = agent
        .get_organization(pb::GetOrganizationRequest {})
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(
        (read.id.as_str(), read.name.as_str()),
        (org.as_str(), "Acme")
    );

    let change = |name: &str| pb::UpdateOrganizationRequest {
        request_id: rid(),
        organization: Some(rpb::Organization {
            // Ignored: always my organization.
            id: "org_0000000000000000000000000000".into(),
            name: name.into(),
            settings: Some(rpb::OrganizationSettings {
                first_responder_becomes_owner: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_mask: mask(&["name", "settings.first_responder_becomes_owner"]),
    };
    refused(
        "agent renames the organization",
        agent.update_organization(change("Agent Corp")).await,
        Code::PermissionDenied,
    );
    refused(
        "operator renames the organization",
        operator.update_organization(change("Operator Corp")).await,
        Code::PermissionDenied,
    );
    let still = agent
        .get_organization(pb::GetOrganizationRequest {})
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(still.name, "Acme", "refused changes changed nothing");
    let updated = admin
        .update_organization(change("Acme Renamed"))
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(updated.id, org);
    assert_eq!(updated.name, "Acme Renamed");
    assert!(
        updated
            .settings
            .as_ref()
            .is_some_and(|s| s.first_responder_becomes_owner)
    );
    let again = operator
        .get_organization(pb::GetOrganizationRequest {})
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(again.name, "Acme Renamed");

    // Close policy (ticketing).
    let initial = agent
        .get_close_policy(pb::GetClosePolicyRequest {})
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(!initial.require_ticket);
    let policy = tpb::ClosePolicy {
        require_ticket: true,
        channel_account_ids: vec![gw.world.account.clone()],
        ..Default::default()
    };
    refused(
        "agent changes the close policy",
        agent
            .update_close_policy(pb::UpdateClosePolicyRequest {
                request_id: rid(),
                policy: Some(policy.clone()),
            })
            .await,
        Code::PermissionDenied,
    );
    refused(
        "operator changes the close policy",
        operator
            .update_close_policy(pb::UpdateClosePolicyRequest {
                request_id: rid(),
                policy: Some(policy.clone()),
            })
            .await,
        Code::PermissionDenied,
    );
    let unchanged = admin
        .get_close_policy(pb::GetClosePolicyRequest {})
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(
        !unchanged.require_ticket,
        "a refused change changed nothing"
    );
    let saved = admin
        .update_close_policy(pb::UpdateClosePolicyRequest {
            request_id: rid(),
            policy: Some(policy),
        })
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(saved.require_ticket);
    let read = agent
        .get_close_policy(pb::GetClosePolicyRequest {})
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(read.require_ticket);
    assert_eq!(read.channel_account_ids, vec![gw.world.account.clone()]);
    Ok(())
}
on_both_backends!(organization_settings_and_close_policy);

/// Agents: created, read, listed, changed and disabled by the admin; an agent may only rename
/// itself; operators watch presences; a disabled agent is refused at once.
async fn agent_lifecycle_and_disabling(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let mut admin = gw.admin.gateway.clone();
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let mut agent = ana.gateway.clone();
    let mut operator = gw.member("Olga", Role::Operator, 2).await?.gateway;
    let team = gw
        .world
        .team("Soporte", rpb::TeamStrategy::LeastOpen, &[], |_| {})
        .await?;

    let subject = format!("idp|xavier-{}", rid());
    let new_agent = |email: &str| pb::CreateAgentRequest {
        request_id: rid(),
        agent: Some(rpb::Agent {
            display_name: "Xavier".into(),
            email: email.into(),
            role: Role::Agent as i32,
            capacity: 4,
            auth_subject: subject.clone(),
            ..Default::default()
        }),
        team_ids: vec![team.clone()],
    };
    let email = format!("xavier-{}@acme.test", rid());
    refused(
        "agent creates an agent",
        agent.create_agent(new_agent(&email)).await,
        Code::PermissionDenied,
    );
    refused(
        "operator creates an agent",
        operator.create_agent(new_agent(&email)).await,
        Code::PermissionDenied,
    );
    let listed = agent
        .list_agents(pb::ListAgentsRequest {
            query: "xavier".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(
        listed.agents.is_empty(),
        "refused creations created nothing"
    );

    let x = admin
        .create_agent(new_agent(&email))
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(x.organization_id, gw.world.org);
    assert_eq!((x.capacity, x.team_ids.clone()), (4, vec![team.clone()]));
    let got = agent
        .get_agent(pb::GetAgentRequest {
            agent_id: x.id.clone(),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(got.email, email);
    let listed = agent
        .list_agents(pb::ListAgentsRequest {
            team_id: team.clone(),
            page: Some(PageRequest {
                page_size: 10,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        listed
            .agents
            .iter()
            .map(|a| a.id.as_str())
            .collect::<Vec<_>>(),
        vec![x.id.as_str()]
    );
    assert_eq!(listed.page.and_then(|p| p.total_size), Some(1));

    // The new agent signs in (its subject) and is synced to presence.
    let mut xavier = gw.signed_in(&subject).await?;
    xavier
        .set_my_status(pb::SetMyStatusRequest {
            request_id: rid(),
            status: AgentStatus::Available as i32,
            reason: String::new(),
        })
        .await?;
    refused(
        "agent lists presences",
        agent
            .list_agent_presences(pb::ListAgentPresencesRequest::default())
            .await,
        Code::PermissionDenied,
    );
    let presences = operator
        .list_agent_presences(pb::ListAgentPresencesRequest {
            team_id: team.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .presences;
    assert_eq!(presences.len(), 1, "{presences:?}");
    assert_eq!(presences[0].agent_id, x.id);
    assert_eq!(presences[0].status, AgentStatus::Available as i32);

    // An agent renames itself, nothing else.
    let renamed = xavier
        .update_agent(pb::UpdateAgentRequest {
            request_id: rid(),
            agent: Some(rpb::Agent {
                id: x.id.clone(),
                display_name: "Xavi".into(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(renamed.display_name, "Xavi");
    refused(
        "agent promotes itself",
        xavier
            .update_agent(pb::UpdateAgentRequest {
                request_id: rid(),
                agent: Some(rpb::Agent {
                    id: x.id.clone(),
                    role: Role::Admin as i32,
                    ..Default::default()
                }),
                update_mask: mask(&["role"]),
            })
            .await,
        Code::PermissionDenied,
    );
    refused(
        "agent renames another agent",
        agent
            .update_agent(pb::UpdateAgentRequest {
                request_id: rid(),
                agent: Some(rpb::Agent {
                    id: x.id.clone(),
                    display_name: "Hacked".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await,
        Code::PermissionDenied,
    );
    refused(
        "operator changes an agent's role",
        operator
            .update_agent(pb::UpdateAgentRequest {
                request_id: rid(),
                agent: Some(rpb::Agent {
                    id: x.id.clone(),
                    role: Role::Operator as i32,
                    ..Default::default()
                }),
                update_mask: mask(&["role"]),
            })
            .await,
        Code::PermissionDenied,
    );
    refused(
        "operator disables an agent",
        operator
            .delete_agent(pb::DeleteAgentRequest {
                request_id: rid(),
                agent_id: x.id.clone(),
            })
            .await,
        Code::PermissionDenied,
    );
    refused(
        "agent disables another agent",
        agent
            .delete_agent(pb::DeleteAgentRequest {
                request_id: rid(),
                agent_id: x.id.clone(),
            })
            .await,
        Code::PermissionDenied,
    );
    let now = admin
        .get_agent(pb::GetAgentRequest {
            agent_id: x.id.clone(),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(
        (now.display_name.as_str(), now.role(), now.disabled),
        ("Xavi", Role::Agent, false)
    );
    let changed = admin
        .update_agent(pb::UpdateAgentRequest {
            request_id: rid(),
            agent: Some(rpb::Agent {
                id: x.id.clone(),
                capacity: 6,
                ..Default::default()
            }),
            update_mask: mask(&["capacity"]),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(changed.effective_capacity, 6);

    // Disabled through UpdateAgent: Xavier's next call is refused within a second.
    xavier.get_me(pb::GetMeRequest {}).await?;
    let disabled = admin
        .update_agent(pb::UpdateAgentRequest {
            request_id: rid(),
            agent: Some(rpb::Agent {
                id: x.id.clone(),
                disabled: true,
                ..Default::default()
            }),
            update_mask: mask(&["disabled"]),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert!(disabled.disabled);
    let since = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match xavier.get_me(pb::GetMeRequest {}).await {
            Err(s) if s.code() == Code::PermissionDenied => break,
            other => {
                assert!(
                    since.elapsed() < Duration::from_secs(1),
                    "a disabled agent was still served after 1 s ({attempts} calls): {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    eprintln!(
        "disabled agent refused after {:?} ({attempts} calls)",
        since.elapsed()
    );

    // DeleteAgent disables too (the admin re-enables Xavier first).
    admin
        .update_agent(pb::UpdateAgentRequest {
            request_id: rid(),
            agent: Some(rpb::Agent {
                id: x.id.clone(),
                disabled: false,
                ..Default::default()
            }),
            update_mask: mask(&["disabled"]),
        })
        .await?;
    xavier.get_me(pb::GetMeRequest {}).await?;
    let deleted = admin
        .delete_agent(pb::DeleteAgentRequest {
            request_id: rid(),
            agent_id: x.id.clone(),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert!(deleted.disabled);
    let since = Instant::now();
    loop {
        match xavier.get_me(pb::GetMeRequest {}).await {
            Err(s) if s.code() == Code::PermissionDenied => break,
            other => {
                assert!(
                    since.elapsed() < Duration::from_secs(1),
                    "a deleted agent was still served after 1 s: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let listed = operator
        .list_agents(pb::ListAgentsRequest {
            team_id: team.clone(),
            include_disabled: false,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(listed.agents.is_empty());
    Ok(())
}
on_both_backends!(agent_lifecycle_and_disabling);

/// Teams: operators create, change, staff and delete them; agents only read.
async fn team_lifecycle_and_membership(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let bruno = gw.member("Bruno", Role::Agent, 2).await?;
    let mut agent = ana.gateway.clone();
    let mut operator = gw.member("Olga", Role::Operator, 2).await?.gateway;

    let new_team = || pb::CreateTeamRequest {
        request_id: rid(),
        team: Some(rpb::Team {
            name: "Ventas".into(),
            description: "sales".into(),
            ..Default::default()
        }),
        member_agent_ids: vec![ana.id.clone()],
    };
    refused(
        "agent creates a team",
        agent.create_team(new_team()).await,
        Code::PermissionDenied,
    );
    assert!(
        agent
            .list_teams(pb::ListTeamsRequest::default())
            .await?
            .into_inner()
            .teams
            .is_empty()
    );
    let team = operator
        .create_team(new_team())
        .await?
        .into_inner()
        .team
        .expect("team");
    assert_eq!(team.organization_id, gw.world.org);
    assert_eq!(team.member_count, 1);
    let got = agent
        .get_team(pb::GetTeamRequest {
            team_id: team.id.clone(),
        })
        .await?
        .into_inner()
        .team
        .expect("team");
    assert_eq!(got.name, "Ventas");
    let listed = agent
        .list_teams(pb::ListTeamsRequest {
            page: Some(PageRequest {
                page_size: 5,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(listed.teams.len(), 1);
    assert_eq!(listed.page.and_then(|p| p.total_size), Some(1));

    let describe = |text: &str| pb::UpdateTeamRequest {
        request_id: rid(),
        team: Some(rpb::Team {
            id: team.id.clone(),
            description: text.into(),
            ..Default::default()
        }),
        update_mask: mask(&["description"]),
    };
    refused(
        "agent changes a team",
        agent.update_team(describe("hacked")).await,
        Code::PermissionDenied,
    );
    let updated = operator
        .update_team(describe("ventas AR"))
        .await?
        .into_inner()
        .team
        .expect("team");
    assert_eq!(updated.description, "ventas AR");

    let member = |agent_id: &str| pb::AddTeamMemberRequest {
        request_id: rid(),
        team_id: team.id.clone(),
        agent_id: agent_id.into(),
    };
    refused(
        "agent adds a member",
        agent.add_team_member(member(&bruno.id)).await,
        Code::PermissionDenied,
    );
    let membership = operator
        .add_team_member(member(&bruno.id))
        .await?
        .into_inner()
        .membership
        .expect("membership");
    assert_eq!(
        (membership.team_id.as_str(), membership.agent_id.as_str()),
        (team.id.as_str(), bruno.id.as_str())
    );
    let members = agent
        .list_team_members(pb::ListTeamMembersRequest {
            team_id: team.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut ids: Vec<_> = members
        .memberships
        .iter()
        .map(|m| m.agent_id.clone())
        .collect();
    ids.sort();
    let mut expected = vec![ana.id.clone(), bruno.id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    let of_bruno = agent
        .list_team_members(pb::ListTeamMembersRequest {
            agent_id: bruno.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .memberships;
    assert_eq!(of_bruno.len(), 1);
    assert_eq!(of_bruno[0].team_id, team.id);

    let remove = || pb::RemoveTeamMemberRequest {
        request_id: rid(),
        team_id: team.id.clone(),
        agent_id: bruno.id.clone(),
    };
    refused(
        "agent removes a member",
        agent.remove_team_member(remove()).await,
        Code::PermissionDenied,
    );
    operator.remove_team_member(remove()).await?;
    let members = agent
        .list_team_members(pb::ListTeamMembersRequest {
            team_id: team.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .memberships;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].agent_id, ana.id);

    refused(
        "agent deletes a team",
        agent
            .delete_team(pb::DeleteTeamRequest {
                request_id: rid(),
                team_id: team.id.clone(),
            })
            .await,
        Code::PermissionDenied,
    );
    operator
        .delete_team(pb::DeleteTeamRequest {
            request_id: rid(),
            team_id: team.id.clone(),
        })
        .await?;
    refused(
        "a deleted team",
        agent
            .get_team(pb::GetTeamRequest {
                team_id: team.id.clone(),
            })
            .await,
        Code::NotFound,
    );
    Ok(())
}
on_both_backends!(team_lifecycle_and_membership);

/// Channel accounts are the admin's; their routing the operators'. Removing an account drops
/// its routing links, so its default team can be deleted afterwards.
async fn channel_account_and_its_routing(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let mut admin = gw.admin.gateway.clone();
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let mut agent = ana.gateway.clone();
    let mut operator = gw.member("Olga", Role::Operator, 2).await?.gateway;
    let team = gw
        .world
        .team("Soporte", rpb::TeamStrategy::LeastOpen, &[&ana.id], |_| {})
        .await?;

    let draft = new_account("Ventas AR");
    for (who, client) in [("agent", &mut agent), ("operator", &mut operator)] {
        refused(
            &format!("{who} registers a number"),
            client
                .create_channel_account(pb::CreateChannelAccountRequest {
                    request_id: rid(),
                    channel_account: Some(draft.clone()),
                })
                .await,
            Code::PermissionDenied,
        );
    }
    let before = agent
        .list_channel_accounts(pb::ListChannelAccountsRequest::default())
        .await?
        .into_inner()
        .channel_accounts;
    assert_eq!(before.len(), 1, "only the world's number");
    let account = admin
        .create_channel_account(pb::CreateChannelAccountRequest {
            request_id: rid(),
            channel_account: Some(draft.clone()),
        })
        .await?
        .into_inner()
        .channel_account
        .expect("account");
    assert_eq!(account.organization_id, gw.world.org);
    assert_eq!(account.phone_number_id, draft.phone_number_id);
    let got = agent
        .get_channel_account(pb::GetChannelAccountRequest {
            channel_account_id: account.id.clone(),
        })
        .await?
        .into_inner()
        .channel_account
        .expect("account");
    assert_eq!(got.display_name, "Ventas AR");
    let listed = agent
        .list_channel_accounts(pb::ListChannelAccountsRequest {
            page: Some(PageRequest {
                page_size: 10,
                ..Default::default()
            }),
            include_disabled: true,
        })
        .await?
        .into_inner();
    assert_eq!(listed.channel_accounts.len(), 2);
    assert_eq!(listed.page.and_then(|p| p.total_size), Some(2));

    let rename = |name: &str| pb::UpdateChannelAccountRequest {
        request_id: rid(),
        channel_account: Some(ch::ChannelAccount {
            id: account.id.clone(),
            display_name: name.into(),
            ..Default::default()
        }),
        update_mask: mask(&["display_name"]),
    };
    refused(
        "operator renames a number",
        operator.update_channel_account(rename("hacked")).await,
        Code::PermissionDenied,
    );
    let renamed = admin
        .update_channel_account(rename("Ventas Argentina"))
        .await?
        .into_inner()
        .channel_account
        .expect("account");
    assert_eq!(renamed.display_name, "Ventas Argentina");

    // Routing: never configured answers empty; operators replace it; agents may not.
    let empty = agent
        .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            channel_account_id: account.id.clone(),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert!(empty.linked_team_ids.is_empty() && empty.linked_agent_ids.is_empty());
    assert!(matches!(
        empty.default_target.and_then(|t| t.kind),
        None | Some(rpb::target::Kind::None(_))
    ));
    refused(
        "routing of an unknown number",
        agent
            .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
                channel_account_id: switchboard_runtime::ids::ChannelAccountId::generate()
                    .to_string(),
            })
            .await,
        Code::NotFound,
    );
    let routing = rpb::ChannelAccountRouting {
        channel_account_id: account.id.clone(),
        linked_team_ids: vec![team.clone()],
        linked_agent_ids: vec![ana.id.clone()],
        default_target: Some(team_target(&team)),
        update_time: None,
    };
    refused(
        "agent links a number",
        agent
            .update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
                request_id: rid(),
                routing: Some(routing.clone()),
            })
            .await,
        Code::PermissionDenied,
    );
    let saved = operator
        .update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
            request_id: rid(),
            routing: Some(routing.clone()),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert_eq!(saved.linked_team_ids, vec![team.clone()]);
    let read = agent
        .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            channel_account_id: account.id.clone(),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert_eq!(read.linked_agent_ids, vec![ana.id.clone()]);
    assert_eq!(read.default_target, Some(team_target(&team)));
    let me = agent.get_me(pb::GetMeRequest {}).await?.into_inner();
    assert!(me.channel_account_ids.contains(&account.id));
    let teams = agent
        .list_teams(pb::ListTeamsRequest {
            channel_account_id: account.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .teams;
    assert_eq!(teams.len(), 1);

    // The team is the number's default: in use.
    refused(
        "deleting the number's default team",
        operator
            .delete_team(pb::DeleteTeamRequest {
                request_id: rid(),
                team_id: team.clone(),
            })
            .await,
        Code::FailedPrecondition,
    );
    for (who, client) in [("agent", &mut agent), ("operator", &mut operator)] {
        refused(
            &format!("{who} removes a number"),
            client
                .delete_channel_account(pb::DeleteChannelAccountRequest {
                    request_id: rid(),
                    channel_account_id: account.id.clone(),
                })
                .await,
            Code::PermissionDenied,
        );
    }
    let still = admin
        .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            channel_account_id: account.id.clone(),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert_eq!(
        still.linked_team_ids,
        vec![team.clone()],
        "refusals change nothing"
    );
    let removal = pb::DeleteChannelAccountRequest {
        request_id: rid(),
        channel_account_id: account.id.clone(),
    };
    admin.delete_channel_account(removal.clone()).await?;
    // A retried removal is safe: the same answer.
    admin.delete_channel_account(removal).await?;
    refused(
        "a removed number",
        agent
            .get_channel_account(pb::GetChannelAccountRequest {
                channel_account_id: account.id.clone(),
            })
            .await,
        Code::NotFound,
    );
    // Its links go with it (routing consumes channel.account.deleted): the agent loses the
    // number, and the team is no longer in use.
    let deadline = Instant::now() + Duration::from_secs(10);
    while agent
        .get_me(pb::GetMeRequest {})
        .await?
        .into_inner()
        .channel_account_ids
        .contains(&account.id)
    {
        assert!(Instant::now() < deadline, "links dropped within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    operator
        .delete_team(pb::DeleteTeamRequest {
            request_id: rid(),
            team_id: team.clone(),
        })
        .await?;

    // A number with an active conversation stays, and so do its links.
    let busy = gw
        .world
        .team("Ventas", rpb::TeamStrategy::Manual, &[&ana.id], |_| {})
        .await?;
    gw.world
        .link(&[&busy], &[&ana.id], Some(team_target(&busy)))
        .await?;
    gw.world.start().await?;
    refused(
        "removing a number with an active conversation",
        admin
            .delete_channel_account(pb::DeleteChannelAccountRequest {
                request_id: rid(),
                channel_account_id: gw.world.account.clone(),
            })
            .await,
        Code::FailedPrecondition,
    );
    let kept = agent
        .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            channel_account_id: gw.world.account.clone(),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert_eq!(
        (
            kept.linked_team_ids,
            kept.linked_agent_ids,
            kept.default_target
        ),
        (
            vec![busy.clone()],
            vec![ana.id.clone()],
            Some(team_target(&busy))
        ),
        "a refused removal keeps the links"
    );
    Ok(())
}
on_both_backends!(channel_account_and_its_routing);

fn template(params: &[&str]) -> ch::TemplateContent {
    ch::TemplateContent {
        name: TEMPLATE.into(),
        language_code: "es_AR".into(),
        components: vec![ch::TemplateComponent {
            kind: ch::TemplateComponentKind::Body as i32,
            parameters: params
                .iter()
                .map(|p| ch::TemplateParameter {
                    value: Some(template_parameter::Value::Text((*p).into())),
                })
                .collect(),
            ..Default::default()
        }],
        rendered_body: String::new(),
    }
}

/// Campaigns: operators create, change, send (through the Graph API simulator), list the sent
/// messages and archive them; agents read them only.
async fn campaign_lifecycle_and_sends(backend: Backend) -> anyhow::Result<()> {
    let mut w =
        ChannelWorld::with_targets(backend, StatusPlan::default(), |_| {}, &[Service::Gateway])
            .await?;
    let org = w.world.org.clone();
    let (_, op_subject) = provision(&mut w.world, &org, "Olga", Role::Operator).await?;
    let (_, agent_subject) = provision(&mut w.world, &org, "Ana", Role::Agent).await?;
    let mut operator = sign_in(&w.world, &org, &op_subject).await?;
    let mut agent = sign_in(&w.world, &org, &agent_subject).await?;

    let draft = pb::CreateCampaignRequest {
        request_id: rid(),
        campaign: Some(rpb::Campaign {
            name: "Renovación".into(),
            channel_account_id: w.account.clone(),
            continue_with_human: true,
            human_target: Some(team_target(&w.team)),
            ..Default::default()
        }),
    };
    refused(
        "agent creates a campaign",
        agent.create_campaign(draft.clone()).await,
        Code::PermissionDenied,
    );
    let campaign = operator
        .create_campaign(draft)
        .await?
        .into_inner()
        .campaign
        .expect("campaign");
    assert_eq!(campaign.organization_id, org);
    let got = agent
        .get_campaign(pb::GetCampaignRequest {
            campaign_id: campaign.id.clone(),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign");
    assert_eq!(got.human_target, Some(team_target(&w.team)));
    let listed = agent
        .list_campaigns(pb::ListCampaignsRequest {
            channel_account_id: w.account.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(listed.campaigns.len(), 1);
    assert_eq!(listed.page.and_then(|p| p.total_size), Some(1));
    let rename = |name: &str| pb::UpdateCampaignRequest {
        request_id: rid(),
        campaign: Some(rpb::Campaign {
            id: campaign.id.clone(),
            name: name.into(),
            ..Default::default()
        }),
        update_mask: mask(&["name"]),
    };
    refused(
        "agent renames a campaign",
        agent.update_campaign(rename("hacked")).await,
        Code::PermissionDenied,
    );
    let renamed = operator
        .update_campaign(rename("Renovación 2027"))
        .await?
        .into_inner()
        .campaign
        .expect("campaign");
    assert_eq!(renamed.name, "Renovación 2027");

    w.sync_templates().await?;
    let send = pb::SendCampaignRequest {
        request_id: rid(),
        campaign_id: campaign.id.clone(),
        template: Some(template(&["cliente", "renovación"])),
        recipients: vec![
            ch::CampaignRecipient {
                recipient: Some(campaign_recipient::Recipient::PhoneNumber(
                    "+5491155550401".into(),
                )),
                components: vec![],
            },
            ch::CampaignRecipient {
                recipient: Some(campaign_recipient::Recipient::PhoneNumber("12345".into())),
                components: vec![],
            },
        ],
    };
    refused(
        "agent sends a campaign",
        agent.send_campaign(send.clone()).await,
        Code::PermissionDenied,
    );
    let sent = operator.send_campaign(send).await?.into_inner();
    assert_eq!((sent.accepted_count, sent.rejected_count), (1, 1));
    assert_eq!(sent.results.len(), 2);
    refused(
        "agent lists campaign messages",
        agent
            .list_campaign_messages(pb::ListCampaignMessagesRequest {
                campaign_id: campaign.id.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = operator
            .list_campaign_messages(pb::ListCampaignMessagesRequest {
                campaign_id: campaign.id.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        assert_eq!(list.page.and_then(|p| p.total_size), Some(1));
        assert_eq!(list.messages[0].id, sent.results[0].message_id);
        if list.messages[0].status != ch::MessageStatus::Pending as i32 {
            break;
        }
        assert!(Instant::now() < deadline, "campaign never dispatched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(w.sim.sent().len(), 1);

    refused(
        "agent archives a campaign",
        agent
            .delete_campaign(pb::DeleteCampaignRequest {
                request_id: rid(),
                campaign_id: campaign.id.clone(),
            })
            .await,
        Code::PermissionDenied,
    );
    let archived = operator
        .delete_campaign(pb::DeleteCampaignRequest {
            request_id: rid(),
            campaign_id: campaign.id.clone(),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign");
    assert!(archived.archived);
    let listed = agent
        .list_campaigns(pb::ListCampaignsRequest::default())
        .await?
        .into_inner()
        .campaigns;
    assert!(listed.is_empty(), "archived campaigns are left out");
    w.stop().await
}
on_both_backends!(campaign_lifecycle_and_sends);

/// The transfer report: operators and admins, not agents.
async fn transfer_report(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let mut agent = gw.member("Ana", Role::Agent, 2).await?.gateway;
    let mut operator = gw.member("Olga", Role::Operator, 2).await?.gateway;
    let holder = gw.world.agent("Bea", 3).await?;
    let first = gw
        .world
        .team("Primera", rpb::TeamStrategy::LeastOpen, &[&holder], |_| {})
        .await?;
    let second = gw
        .world
        .team("Segunda", rpb::TeamStrategy::Manual, &[], |_| {})
        .await?;
    gw.world
        .link(&[&first, &second], &[], Some(team_target(&first)))
        .await?;
    let conversation = gw.world.start().await?;
    gw.world
        .until(&conversation.id, "assigned to Bea", |c| {
            c.assignee_agent_id == holder
        })
        .await?;
    gw.world
        .routing
        .transfer_conversation(rpb::TransferConversationRequest {
            request_id: rid(),
            organization_id: gw.world.org.clone(),
            actor_agent_id: holder.clone(),
            conversation_id: conversation.id.clone(),
            target: Some(team_target(&second)),
            reason: "ventas".into(),
            priority: None,
        })
        .await?;
    let range = around_now(&gw.world);
    refused(
        "agent reads the transfer report",
        agent
            .get_transfer_report(pb::GetTransferReportRequest {
                time_range: Some(range),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
    );
    let report = operator
        .get_transfer_report(pb::GetTransferReportRequest {
            time_range: Some(range),
            team_id: second.clone(),
            page: Some(PageRequest {
                page_size: 10,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(report.rows.len(), 1);
    assert_eq!(
        report.rows[0].conversation.as_ref().map(|c| c.id.as_str()),
        Some(conversation.id.as_str())
    );
    assert_eq!(report.rows[0].transfers.len(), 1);
    assert_eq!(report.rows[0].transfers[0].reason, "ventas");
    refused(
        "a report without a range",
        operator
            .get_transfer_report(pb::GetTransferReportRequest::default())
            .await,
        Code::InvalidArgument,
    );
    Ok(())
}
on_both_backends!(transfer_report);

/// Another organization's admin naming this organization's ids finds nothing and changes
/// nothing; a token of this organization used with another organization's header is refused.
async fn another_organization_sees_and_changes_nothing(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let org_a = gw.world.org.clone();
    let mut admin_a = gw.admin.gateway.clone();
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let team = gw
        .world
        .team("Soporte", rpb::TeamStrategy::LeastOpen, &[&ana.id], |_| {})
        .await?;
    let account = gw.world.account.clone();
    gw.world
        .link(&[&team], &[&ana.id], Some(team_target(&team)))
        .await?;
    let campaign = admin_a
        .create_campaign(pb::CreateCampaignRequest {
            request_id: rid(),
            campaign: Some(rpb::Campaign {
                name: "Ofertas".into(),
                channel_account_id: account.clone(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign")
        .id;

    // Organization B and its admin.
    let org_b = gw
        .world
        .routing
        .create_organization(rpb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Other".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let (_, subject_b) = provision(&mut gw.world, &org_b, "Bea", Role::Admin).await?;
    let mut b = gw
        .client(Credentials {
            token: Some(gw.token_for(&subject_b, Duration::from_secs(600))),
            organization: Some(org_b.clone()),
        })
        .await?;

    // Id-taking RPCs: NOT_FOUND (INVALID_ARGUMENT where the id is a reference in a new
    // resource: "no such team in the organization").
    let hidden = [Code::NotFound];
    let mut outcomes: Vec<(&str, Result<(), tonic::Status>, &[Code])> = Vec::new();
    macro_rules! hidden {
        ($name:expr, $call:expr) => {
            outcomes.push(($name, $call.await.map(|_| ()), &hidden))
        };
        ($name:expr, $call:expr, $codes:expr) => {
            outcomes.push(($name, $call.await.map(|_| ()), $codes))
        };
    }
    let refs: &[Code] = &[Code::NotFound, Code::InvalidArgument];
    hidden!(
        "GetAgent",
        b.get_agent(pb::GetAgentRequest {
            agent_id: ana.id.clone()
        })
    );
    hidden!(
        "UpdateAgent",
        b.update_agent(pb::UpdateAgentRequest {
            request_id: rid(),
            agent: Some(rpb::Agent {
                id: ana.id.clone(),
                display_name: "Hacked".into(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
        })
    );
    hidden!(
        "DeleteAgent",
        b.delete_agent(pb::DeleteAgentRequest {
            request_id: rid(),
            agent_id: ana.id.clone()
        })
    );
    hidden!(
        "CreateAgent (team_ids)",
        b.create_agent(pb::CreateAgentRequest {
            request_id: rid(),
            agent: Some(rpb::Agent {
                display_name: "Spy".into(),
                email: format!("spy-{}@other.test", rid()),
                role: Role::Agent as i32,
                ..Default::default()
            }),
            team_ids: vec![team.clone()],
        }),
        refs
    );
    hidden!(
        "GetTeam",
        b.get_team(pb::GetTeamRequest {
            team_id: team.clone()
        })
    );
    hidden!(
        "UpdateTeam",
        b.update_team(pb::UpdateTeamRequest {
            request_id: rid(),
            team: Some(rpb::Team {
                id: team.clone(),
                description: "hacked".into(),
                ..Default::default()
            }),
            update_mask: mask(&["description"]),
        })
    );
    hidden!(
        "DeleteTeam",
        b.delete_team(pb::DeleteTeamRequest {
            request_id: rid(),
            team_id: team.clone()
        })
    );
    hidden!(
        "CreateTeam (member_agent_ids)",
        b.create_team(pb::CreateTeamRequest {
            request_id: rid(),
            team: Some(rpb::Team {
                name: "Spies".into(),
                ..Default::default()
            }),
            member_agent_ids: vec![ana.id.clone()],
        }),
        refs
    );
    hidden!(
        "AddTeamMember",
        b.add_team_member(pb::AddTeamMemberRequest {
            request_id: rid(),
            team_id: team.clone(),
            agent_id: ana.id.clone()
        })
    );
    hidden!(
        "RemoveTeamMember",
        b.remove_team_member(pb::RemoveTeamMemberRequest {
            request_id: rid(),
            team_id: team.clone(),
            agent_id: ana.id.clone()
        })
    );
    hidden!(
        "GetChannelAccount",
        b.get_channel_account(pb::GetChannelAccountRequest {
            channel_account_id: account.clone()
        })
    );
    hidden!(
        "UpdateChannelAccount",
        b.update_channel_account(pb::UpdateChannelAccountRequest {
            request_id: rid(),
            channel_account: Some(ch::ChannelAccount {
                id: account.clone(),
                disabled: true,
                ..Default::default()
            }),
            update_mask: mask(&["disabled"]),
        })
    );
    hidden!(
        "DeleteChannelAccount",
        b.delete_channel_account(pb::DeleteChannelAccountRequest {
            request_id: rid(),
            channel_account_id: account.clone()
        })
    );
    hidden!(
        "GetChannelAccountRouting",
        b.get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            channel_account_id: account.clone()
        })
    );
    hidden!(
        "UpdateChannelAccountRouting",
        b.update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
            request_id: rid(),
            routing: Some(rpb::ChannelAccountRouting {
                channel_account_id: account.clone(),
                ..Default::default()
            }),
        })
    );
    hidden!(
        "CreateCampaign (channel_account_id)",
        b.create_campaign(pb::CreateCampaignRequest {
            request_id: rid(),
            campaign: Some(rpb::Campaign {
                name: "Spy".into(),
                channel_account_id: account.clone(),
                ..Default::default()
            }),
        }),
        refs
    );
    hidden!(
        "GetCampaign",
        b.get_campaign(pb::GetCampaignRequest {
            campaign_id: campaign.clone()
        })
    );
    hidden!(
        "UpdateCampaign",
        b.update_campaign(pb::UpdateCampaignRequest {
            request_id: rid(),
            campaign: Some(rpb::Campaign {
                id: campaign.clone(),
                name: "hacked".into(),
                ..Default::default()
            }),
            update_mask: mask(&["name"]),
        })
    );
    hidden!(
        "DeleteCampaign",
        b.delete_campaign(pb::DeleteCampaignRequest {
            request_id: rid(),
            campaign_id: campaign.clone()
        })
    );
    hidden!(
        "SendCampaign",
        b.send_campaign(pb::SendCampaignRequest {
            request_id: rid(),
            campaign_id: campaign.clone(),
            template: Some(template(&["a", "b"])),
            recipients: vec![ch::CampaignRecipient {
                recipient: Some(campaign_recipient::Recipient::PhoneNumber(
                    "+5491155550499".into()
                )),
                components: vec![],
            }],
        })
    );
    // B's own team, A's agent.
    let b_team = b
        .create_team(pb::CreateTeamRequest {
            request_id: rid(),
            team: Some(rpb::Team {
                name: "B team".into(),
                ..Default::default()
            }),
            member_agent_ids: vec![],
        })
        .await?
        .into_inner()
        .team
        .expect("team")
        .id;
    hidden!(
        "AddTeamMember (B's team, A's agent)",
        b.add_team_member(pb::AddTeamMemberRequest {
            request_id: rid(),
            team_id: b_team.clone(),
            agent_id: ana.id.clone()
        })
    );
    let mut leaks = Vec::new();
    for (name, outcome, codes) in outcomes {
        match outcome {
            Err(s) if codes.contains(&s.code()) => {}
            other => leaks.push(format!("{name}: {other:?}")),
        }
    }

    // Filters naming this organization's ids: empty answers.
    let agents = b
        .list_agents(pb::ListAgentsRequest {
            team_id: team.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().agents.len());
    let members = b
        .list_team_members(pb::ListTeamMembersRequest {
            team_id: team.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().memberships.len());
    let teams_of_ana = b
        .list_team_members(pb::ListTeamMembersRequest {
            agent_id: ana.id.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().memberships.len());
    let presences = b
        .list_agent_presences(pb::ListAgentPresencesRequest {
            team_id: team.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().presences.len());
    let teams = b
        .list_teams(pb::ListTeamsRequest {
            channel_account_id: account.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().teams.len());
    let campaigns = b
        .list_campaigns(pb::ListCampaignsRequest {
            channel_account_id: account.clone(),
            include_archived: true,
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().campaigns.len());
    let messages = b
        .list_campaign_messages(pb::ListCampaignMessagesRequest {
            campaign_id: campaign.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().messages.len());
    let report = b
        .get_transfer_report(pb::GetTransferReportRequest {
            time_range: Some(around_now(&gw.world)),
            team_id: team.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().rows.len());
    let report_of_ana = b
        .get_transfer_report(pb::GetTransferReportRequest {
            time_range: Some(around_now(&gw.world)),
            agent_id: ana.id.clone(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().rows.len());
    for (name, outcome) in [
        ("ListAgents(team_id)", agents),
        ("ListTeamMembers(team_id)", members),
        ("ListTeamMembers(agent_id)", teams_of_ana),
        ("ListAgentPresences(team_id)", presences),
        ("ListTeams(channel_account_id)", teams),
        ("ListCampaigns(channel_account_id)", campaigns),
        ("ListCampaignMessages(campaign_id)", messages),
        ("GetTransferReport(team_id)", report),
        ("GetTransferReport(agent_id)", report_of_ana),
    ] {
        match outcome {
            Ok(0) => {}
            Err(s) if s.code() == Code::NotFound => {}
            other => leaks.push(format!("{name}: {other:?}")),
        }
    }
    // UpdateOrganization with this organization's id changes B's organization, never A's.
    let changed = b
        .update_organization(pb::UpdateOrganizationRequest {
            request_id: rid(),
            organization: Some(rpb::Organization {
                id: org_a.clone(),
                name: "Hijacked".into(),
                ..Default::default()
            }),
            update_mask: mask(&["name"]),
        })
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(changed.id, org_b);
    // B's close policy is B's.
    b.update_close_policy(pb::UpdateClosePolicyRequest {
        request_id: rid(),
        policy: Some(tpb::ClosePolicy {
            require_ticket: true,
            ..Default::default()
        }),
    })
    .await?;
    assert!(
        leaks.is_empty(),
        "another organization reached ours: {leaks:#?}"
    );

    // Nothing of A changed.
    let a_org = admin_a
        .get_organization(pb::GetOrganizationRequest {})
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(a_org.name, "Acme");
    let a_policy = admin_a
        .get_close_policy(pb::GetClosePolicyRequest {})
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(!a_policy.require_ticket);
    let a_agent = admin_a
        .get_agent(pb::GetAgentRequest {
            agent_id: ana.id.clone(),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(
        (a_agent.display_name.as_str(), a_agent.disabled),
        ("Ana", false)
    );
    let a_team = admin_a
        .get_team(pb::GetTeamRequest {
            team_id: team.clone(),
        })
        .await?
        .into_inner()
        .team
        .expect("team");
    assert_eq!((a_team.description.as_str(), a_team.member_count), ("", 1));
    let a_account = admin_a
        .get_channel_account(pb::GetChannelAccountRequest {
            channel_account_id: account.clone(),
        })
        .await?
        .into_inner()
        .channel_account
        .expect("account");
    assert!(!a_account.disabled);
    let a_routing = admin_a
        .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            channel_account_id: account.clone(),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert_eq!(a_routing.linked_team_ids, vec![team.clone()]);
    assert_eq!(a_routing.linked_agent_ids, vec![ana.id.clone()]);
    let a_campaign = admin_a
        .get_campaign(pb::GetCampaignRequest {
            campaign_id: campaign.clone(),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign");
    assert_eq!(
        (a_campaign.name.as_str(), a_campaign.archived),
        ("Ofertas", false)
    );

    // A's token with B's header: not a member there.
    let mut crossed = gw
        .client(Credentials {
            token: Some(gw.token_for(&gw.admin.subject, Duration::from_secs(600))),
            organization: Some(org_b.clone()),
        })
        .await?;
    refused(
        "A's admin in organization B",
        crossed
            .get_organization(pb::GetOrganizationRequest {})
            .await,
        Code::PermissionDenied,
    );
    refused(
        "A's admin changes B's agents",
        crossed.list_agents(pb::ListAgentsRequest::default()).await,
        Code::PermissionDenied,
    );
    Ok(())
}
on_both_backends!(another_organization_sees_and_changes_nothing);
