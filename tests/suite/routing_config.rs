//! Routing configuration over real gRPC: agents, roles, teams and memberships, channel account
//! routing, campaigns, contact owners, and the agent profiles routing keeps in presence. Every
//! test names the behaviour it guards; every one runs on both backends.

use std::time::Duration;

use switchboard_proto::{
    common::v1::Role,
    presence::v1::{GetAgentPresenceRequest, presence_service_client::PresenceServiceClient},
    prost_types::{self, FieldMask},
    routing::v1::{
        self as pb, Agent, ChannelAccountRouting, CreateAgentRequest, CreateCampaignRequest,
        CreateOrganizationRequest, CreateTeamRequest, FormField, FormFieldKind, Target, Team,
        TeamStrategy, routing_service_client::RoutingServiceClient, target::Kind,
    },
};
use switchboard_runtime::{
    Service,
    ids::{ChannelAccountId, ContactId},
};
use switchboard_testkit::{Backend, TestEnv};
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

use switchboard_proto::channel::v1::{
    DeleteChannelAccountRequest, channel_service_client::ChannelServiceClient,
};

use crate::{on_both_backends, routing_support::channel_account};

type Routing = RoutingServiceClient<Channel>;

/// An organization with a first admin created by provisioning (no actor).
struct Org {
    id: String,
    admin: String,
}

async fn organization(client: &mut Routing) -> anyhow::Result<Org> {
    let org = client
        .create_organization(CreateOrganizationRequest {
            request_id: uuid_like(),
            name: "Acme".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization");
    let admin = create_agent(
        client,
        &org.id,
        "",
        "Ada Admin",
        "ada@acme.test",
        Role::Admin,
    )
    .await?;
    Ok(Org {
        id: org.id,
        admin: admin.id,
    })
}

fn uuid_like() -> String {
    ContactId::generate().to_string()
}

fn agent_request(
    org: &str,
    actor: &str,
    name: &str,
    email: &str,
    role: Role,
) -> CreateAgentRequest {
    CreateAgentRequest {
        request_id: uuid_like(),
        organization_id: org.into(),
        actor_agent_id: actor.into(),
        agent: Some(Agent {
            display_name: name.into(),
            email: email.into(),
            role: role as i32,
            ..Default::default()
        }),
        team_ids: vec![],
    }
}

async fn create_agent(
    client: &mut Routing,
    org: &str,
    actor: &str,
    name: &str,
    email: &str,
    role: Role,
) -> anyhow::Result<Agent> {
    Ok(client
        .create_agent(agent_request(org, actor, name, email, role))
        .await?
        .into_inner()
        .agent
        .expect("agent"))
}

fn team_request(org: &str, actor: &str, name: &str, members: &[&str]) -> CreateTeamRequest {
    CreateTeamRequest {
        request_id: uuid_like(),
        organization_id: org.into(),
        actor_agent_id: actor.into(),
        team: Some(Team {
            name: name.into(),
            ..Default::default()
        }),
        member_agent_ids: members.iter().map(|m| m.to_string()).collect(),
    }
}

async fn create_team(
    client: &mut Routing,
    org: &str,
    actor: &str,
    name: &str,
    members: &[&str],
) -> anyhow::Result<Team> {
    Ok(client
        .create_team(team_request(org, actor, name, members))
        .await?
        .into_inner()
        .team
        .expect("team"))
}

fn team_target(id: &str) -> Option<Target> {
    Some(Target {
        kind: Some(Kind::TeamId(id.into())),
    })
}

fn agent_target(id: &str) -> Option<Target> {
    Some(Target {
        kind: Some(Kind::AgentId(id.into())),
    })
}

async fn set_routing(
    client: &mut Routing,
    org: &Org,
    account: &str,
    teams: &[&str],
    agents: &[&str],
    default_target: Option<Target>,
) -> Result<ChannelAccountRouting, tonic::Status> {
    client
        .update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            routing: Some(ChannelAccountRouting {
                channel_account_id: account.into(),
                linked_team_ids: teams.iter().map(|t| t.to_string()).collect(),
                linked_agent_ids: agents.iter().map(|a| a.to_string()).collect(),
                default_target,
                update_time: None,
            }),
        })
        .await
        .map(|r| r.into_inner().routing.expect("routing"))
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

async fn agent_total(client: &mut Routing, org: &str) -> anyhow::Result<i32> {
    Ok(client
        .list_agents(pb::ListAgentsRequest {
            organization_id: org.into(),
            include_disabled: true,
            ..Default::default()
        })
        .await?
        .into_inner()
        .page
        .and_then(|p| p.total_size)
        .unwrap_or(-1))
}

async fn clients(
    backend: Backend,
) -> anyhow::Result<(TestEnv, switchboard_testkit::Suite, Routing)> {
    let env = TestEnv::new(backend).await?;
    let suite = env
        .start(&[
            Service::Presence,
            Service::Routing,
            Service::Channel,
            Service::Ticketing,
        ])
        .await?;
    let client = RoutingServiceClient::new(suite.channel(Service::Routing).await?);
    Ok((env, suite, client))
}

/// CreateAgent is idempotent by request id, refuses a taken email with ALREADY_EXISTS, names
/// every bad field and stores nothing on bad input; a disabled agent is not found by LookupAgent.
async fn agents_are_created_once_unique_and_validated(backend: Backend) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let org = organization(&mut client).await?;

    let mut request = agent_request(&org.id, &org.admin, "Bob", "Bob@Acme.test", Role::Agent);
    request.agent.as_mut().expect("agent").auth_subject = "sub-bob".into();
    let first = client
        .create_agent(request.clone())
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert!(first.id.starts_with("agt_"));
    assert_eq!(first.email, "bob@acme.test", "emails are stored lowercase");
    assert_eq!(
        first.effective_capacity, 3,
        "0 means the organization default"
    );
    let again = client
        .create_agent(request)
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(
        again.id, first.id,
        "a retried create answers the same agent"
    );
    assert_eq!(agent_total(&mut client, &org.id).await?, 2);

    let dup = client
        .create_agent(agent_request(
            &org.id,
            &org.admin,
            "Other Bob",
            "bob@acme.test",
            Role::Agent,
        ))
        .await
        .expect_err("email taken");
    assert_eq!(dup.code(), Code::AlreadyExists);

    let mut bad = agent_request(&org.id, &org.admin, " ", "no-at-sign", Role::Unspecified);
    bad.agent.as_mut().expect("agent").capacity = 101;
    bad.team_ids = vec!["team_nope".into()];
    let err = client.create_agent(bad).await.expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "agent.display_name",
            "agent.email",
            "agent.role",
            "agent.capacity"
        ]
    );
    let mut unknown_team = agent_request(&org.id, &org.admin, "Cy", "cy@acme.test", Role::Agent);
    unknown_team.team_ids = vec!["team_0000".into()];
    let err = client
        .create_agent(unknown_team)
        .await
        .expect_err("no such team");
    assert_eq!(fields(&err), ["team_ids[0]"]);
    assert_eq!(
        agent_total(&mut client, &org.id).await?,
        2,
        "nothing stored"
    );

    let found = client
        .lookup_agent(pb::LookupAgentRequest {
            organization_id: org.id.clone(),
            auth_subject: "sub-bob".into(),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(found.id, first.id);
    let deleted = client
        .delete_agent(pb::DeleteAgentRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            agent_id: first.id.clone(),
        })
        .await?
        .into_inner();
    assert!(deleted.agent.expect("agent").disabled);
    let gone = client
        .lookup_agent(pb::LookupAgentRequest {
            organization_id: org.id.clone(),
            auth_subject: "sub-bob".into(),
        })
        .await
        .expect_err("disabled");
    assert_eq!(gone.code(), Code::NotFound);
    let listed = client
        .list_agents(pb::ListAgentsRequest {
            organization_id: org.id.clone(),
            query: "ADA".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        listed.agents.len(),
        1,
        "query is a case-insensitive substring"
    );
    assert_eq!(listed.agents[0].id, org.admin);

    suite.stop().await
}
on_both_backends!(agents_are_created_once_unique_and_validated);

/// Roles come from actor_agent_id: an agent cannot create a team, an operator can; an agent
/// may rename itself but not change its capacity; the last enabled admin can be neither
/// demoted nor disabled.
async fn roles_are_enforced_from_the_actor(backend: Backend) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let org = organization(&mut client).await?;
    let agent = create_agent(
        &mut client,
        &org.id,
        &org.admin,
        "Al",
        "al@acme.test",
        Role::Agent,
    )
    .await?;
    let operator = create_agent(
        &mut client,
        &org.id,
        &org.admin,
        "Op",
        "op@acme.test",
        Role::Operator,
    )
    .await?;

    let denied = client
        .create_team(team_request(&org.id, &agent.id, "Sales", &[]))
        .await
        .expect_err("agents do not configure teams");
    assert_eq!(denied.code(), Code::PermissionDenied);
    create_team(&mut client, &org.id, &operator.id, "Sales", &[]).await?;

    let denied = client
        .create_agent(agent_request(
            &org.id,
            &operator.id,
            "X",
            "x@acme.test",
            Role::Agent,
        ))
        .await
        .expect_err("only admins create agents");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let update = |actor: &str, target: &str, agent: Agent, paths: &[&str]| pb::UpdateAgentRequest {
        request_id: uuid_like(),
        organization_id: org.id.clone(),
        actor_agent_id: actor.into(),
        agent: Some(Agent {
            id: target.into(),
            ..agent
        }),
        update_mask: mask(paths),
    };
    let renamed = client
        .update_agent(update(
            &agent.id,
            &agent.id,
            Agent {
                display_name: "Alfred".into(),
                ..Default::default()
            },
            &["display_name"],
        ))
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(renamed.display_name, "Alfred");
    let denied = client
        .update_agent(update(
            &agent.id,
            &agent.id,
            Agent {
                capacity: 9,
                ..Default::default()
            },
            &["capacity"],
        ))
        .await
        .expect_err("an agent does not raise its own capacity");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let demote = client
        .update_agent(update(
            &org.admin,
            &org.admin,
            Agent {
                role: Role::Operator as i32,
                ..Default::default()
            },
            &["role"],
        ))
        .await
        .expect_err("last admin");
    assert_eq!(demote.code(), Code::FailedPrecondition);
    let disable = client
        .delete_agent(pb::DeleteAgentRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            agent_id: org.admin.clone(),
        })
        .await
        .expect_err("last admin");
    assert_eq!(disable.code(), Code::FailedPrecondition);

    // With a second admin the first may step down.
    create_agent(
        &mut client,
        &org.id,
        &org.admin,
        "Bea",
        "bea@acme.test",
        Role::Admin,
    )
    .await?;
    let demoted = client
        .update_agent(update(
            &org.admin,
            &org.admin,
            Agent {
                role: Role::Operator as i32,
                ..Default::default()
            },
            &["role"],
        ))
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(demoted.role, Role::Operator as i32);

    suite.stop().await
}
on_both_backends!(roles_are_enforced_from_the_actor);

/// A team created with only a name gets the documented defaults; out-of-range settings are
/// refused with the field named; names are unique; a dedicated agent becomes a member.
async fn teams_get_defaults_and_bad_settings_are_named(backend: Backend) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let org = organization(&mut client).await?;

    let team = create_team(&mut client, &org.id, &org.admin, "Support", &[]).await?;
    assert_eq!(team.strategy, TeamStrategy::LeastOpen as i32);
    assert_eq!(team.auto_distribution, Some(true));
    assert_eq!(team.offline_policy, pb::OfflinePolicy::Requeue as i32);
    assert_eq!(team.offer_timeout, None, "zero means never");
    assert_eq!(team.member_count, 0);

    let mut bad = team_request(&org.id, &org.admin, "Fast", &[]);
    let t = bad.team.as_mut().expect("team");
    t.offer_timeout = Some(prost_types::Duration {
        seconds: 5,
        nanos: 0,
    });
    t.priority_rules = vec![pb::PriorityRule {
        attribute: String::new(),
        value: "x".into(),
        priority: 500,
    }];
    let err = client.create_team(bad).await.expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&err),
        [
            "team.offer_timeout",
            "team.priority_rules[0].attribute",
            "team.priority_rules[0].priority"
        ]
    );

    let dup = client
        .create_team(team_request(&org.id, &org.admin, "Support", &[]))
        .await
        .expect_err("name taken");
    assert_eq!(dup.code(), Code::AlreadyExists);

    let mut dedicated = team_request(&org.id, &org.admin, "VIP", &[]);
    dedicated.team.as_mut().expect("team").strategy = TeamStrategy::DedicatedAgent as i32;
    let err = client
        .create_team(dedicated.clone())
        .await
        .expect_err("needs the agent");
    assert_eq!(fields(&err), ["team.dedicated_agent_id"]);
    dedicated.team.as_mut().expect("team").dedicated_agent_id = org.admin.clone();
    let vip = client
        .create_team(dedicated)
        .await?
        .into_inner()
        .team
        .expect("team");
    assert_eq!(
        vip.member_count, 1,
        "the dedicated agent is added as a member"
    );

    let updated = client
        .update_team(pb::UpdateTeamRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            team: Some(Team {
                id: team.id.clone(),
                offer_timeout: Some(prost_types::Duration {
                    seconds: 60,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            update_mask: mask(&["offer_timeout"]),
        })
        .await?
        .into_inner()
        .team
        .expect("team");
    assert_eq!(updated.offer_timeout.map(|d| d.seconds), Some(60));
    assert_eq!(updated.name, "Support", "fields outside the mask stay");

    suite.stop().await
}
on_both_backends!(teams_get_defaults_and_bad_settings_are_named);

/// Adding a member twice succeeds with the same membership; ListTeamMembers lists a team's
/// members or an agent's teams (exactly one of the two); removing twice succeeds.
async fn memberships_are_idempotent_and_listed_both_ways(backend: Backend) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let org = organization(&mut client).await?;
    let agent = create_agent(
        &mut client,
        &org.id,
        &org.admin,
        "Al",
        "al@acme.test",
        Role::Agent,
    )
    .await?;
    let a = create_team(&mut client, &org.id, &org.admin, "A", &[]).await?;
    let b = create_team(&mut client, &org.id, &org.admin, "B", &[&agent.id]).await?;

    let add = |team: &str| pb::AddTeamMemberRequest {
        request_id: uuid_like(),
        organization_id: org.id.clone(),
        actor_agent_id: org.admin.clone(),
        team_id: team.into(),
        agent_id: agent.id.clone(),
    };
    let first = client
        .add_team_member(add(&a.id))
        .await?
        .into_inner()
        .membership
        .expect("m");
    let again = client
        .add_team_member(add(&a.id))
        .await?
        .into_inner()
        .membership
        .expect("m");
    assert_eq!(first, again, "adding again answers the existing membership");

    let of_team = client
        .list_team_members(pb::ListTeamMembersRequest {
            organization_id: org.id.clone(),
            team_id: a.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(of_team.memberships.len(), 1);
    assert_eq!(of_team.page.and_then(|p| p.total_size), Some(1));
    let of_agent = client
        .list_team_members(pb::ListTeamMembersRequest {
            organization_id: org.id.clone(),
            agent_id: agent.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut teams: Vec<_> = of_agent
        .memberships
        .iter()
        .map(|m| m.team_id.clone())
        .collect();
    teams.sort();
    let mut expected = vec![a.id.clone(), b.id.clone()];
    expected.sort();
    assert_eq!(teams, expected);
    let both = client
        .list_team_members(pb::ListTeamMembersRequest {
            organization_id: org.id.clone(),
            team_id: a.id.clone(),
            agent_id: agent.id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("exactly one");
    assert_eq!(both.code(), Code::InvalidArgument);

    let remove = || pb::RemoveTeamMemberRequest {
        request_id: uuid_like(),
        organization_id: org.id.clone(),
        actor_agent_id: org.admin.clone(),
        team_id: a.id.clone(),
        agent_id: agent.id.clone(),
    };
    client.remove_team_member(remove()).await?;
    client.remove_team_member(remove()).await?;
    let got = client
        .get_agent(pb::GetAgentRequest {
            organization_id: org.id.clone(),
            agent_id: agent.id.clone(),
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    assert_eq!(got.team_ids, std::slice::from_ref(&b.id));

    suite.stop().await
}
on_both_backends!(memberships_are_idempotent_and_listed_both_ways);

/// UpdateChannelAccountRouting replaces links and default target together; a default target
/// not among the links, or unknown ids, are INVALID_ARGUMENT and change nothing.
async fn channel_account_routing_is_replaced_and_default_must_be_linked(
    backend: Backend,
) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let org = organization(&mut client).await?;
    let account = channel_account(&suite, &org.id, &org.admin).await?;
    let sales = create_team(&mut client, &org.id, &org.admin, "Sales", &[]).await?;
    let support = create_team(&mut client, &org.id, &org.admin, "Support", &[]).await?;

    // Bug 11: an unknown number (as another organization's, see contracts_tenancy) is
    // NOT_FOUND and configures nothing.
    let unknown = client
        .update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            routing: Some(pb::ChannelAccountRouting {
                channel_account_id: ChannelAccountId::generate().to_string(),
                linked_team_ids: vec![sales.id.clone()],
                ..Default::default()
            }),
        })
        .await
        .expect_err("unknown number");
    assert_eq!(unknown.code(), tonic::Code::NotFound, "{unknown:?}");

    let empty = client
        .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            organization_id: org.id.clone(),
            channel_account_id: account.clone(),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert!(empty.linked_team_ids.is_empty() && empty.update_time.is_none());
    assert_eq!(
        empty.default_target.and_then(|t| t.kind),
        Some(Kind::None(()))
    );

    let set = set_routing(
        &mut client,
        &org,
        &account,
        &[&sales.id, &support.id],
        &[&org.admin],
        team_target(&sales.id),
    )
    .await?;
    assert_eq!(set.linked_team_ids.len(), 2);
    assert_eq!(set.linked_agent_ids, std::slice::from_ref(&org.admin));
    assert_eq!(set.default_target, team_target(&sales.id));

    let linked = client
        .list_teams(pb::ListTeamsRequest {
            organization_id: org.id.clone(),
            channel_account_id: account.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let names: Vec<_> = linked.teams.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Sales", "Support"], "linked teams, by name");

    let replaced = set_routing(
        &mut client,
        &org,
        &account,
        &[&support.id],
        &[],
        team_target(&support.id),
    )
    .await?;
    assert_eq!(
        replaced.linked_team_ids,
        std::slice::from_ref(&support.id),
        "links are replaced, not merged"
    );
    assert!(replaced.linked_agent_ids.is_empty());

    let err = set_routing(
        &mut client,
        &org,
        &account,
        &[&support.id],
        &[],
        team_target(&sales.id),
    )
    .await
    .expect_err("default not linked");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["routing.default_target"]);
    let err = set_routing(&mut client, &org, &account, &["team_0000"], &[], None)
        .await
        .expect_err("unknown team");
    assert_eq!(fields(&err), ["routing.linked_team_ids[0]"]);

    let after = client
        .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            organization_id: org.id.clone(),
            channel_account_id: account.clone(),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert_eq!(
        after.default_target,
        team_target(&support.id),
        "refused changes change nothing"
    );

    // Removed in the channel service by any caller (here an internal one, not the gateway),
    // the number loses its links and default target: routing consumes
    // channel.account.deleted, so the team is no longer in use.
    ChannelServiceClient::new(suite.channel(Service::Channel).await?)
        .delete_channel_account(DeleteChannelAccountRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            channel_account_id: account.clone(),
        })
        .await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = client
            .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
                organization_id: org.id.clone(),
                channel_account_id: account.clone(),
            })
            .await?
            .into_inner()
            .routing
            .expect("routing");
        if now.linked_team_ids.is_empty()
            && now
                .default_target
                .as_ref()
                .is_none_or(|t| matches!(t.kind, None | Some(pb::target::Kind::None(_))))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "links dropped within 10 s: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client
        .delete_team(pb::DeleteTeamRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            team_id: support.id.clone(),
        })
        .await?;

    suite.stop().await
}
on_both_backends!(channel_account_routing_is_replaced_and_default_must_be_linked);

/// Campaign forms refuse duplicate keys and option-less selects; an agent target must be
/// linked to the campaign's channel account (a team link counts); unset reply window is 72h;
/// DeleteCampaign archives and lists leave archived campaigns out unless asked.
async fn campaigns_validate_forms_and_targets(backend: Backend) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let org = organization(&mut client).await?;
    let account = channel_account(&suite, &org.id, &org.admin).await?;
    let agent = create_agent(
        &mut client,
        &org.id,
        &org.admin,
        "Al",
        "al@acme.test",
        Role::Agent,
    )
    .await?;

    let field = |key: &str, kind: FormFieldKind| FormField {
        key: key.into(),
        label: "Label".into(),
        kind: kind as i32,
        ..Default::default()
    };
    let campaign =
        |name: &str, target: Option<Target>, form: Vec<FormField>| CreateCampaignRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            campaign: Some(pb::Campaign {
                name: name.into(),
                channel_account_id: account.clone(),
                continue_with_human: true,
                human_target: target,
                form_fields: form,
                ..Default::default()
            }),
        };

    let err = client
        .create_campaign(campaign(
            "Promo",
            None,
            vec![
                field("order_id", FormFieldKind::Text),
                field("order_id", FormFieldKind::Number),
                field("Bad-Key", FormFieldKind::Text),
                field("size", FormFieldKind::Select),
            ],
        ))
        .await
        .expect_err("bad form");
    assert_eq!(
        fields(&err),
        [
            "campaign.form_fields[1].key",
            "campaign.form_fields[2].key",
            "campaign.form_fields[3].options"
        ]
    );

    // A number of another organization is not one this organization may name: NOT_FOUND
    // from routing itself (it asks the channel service), on create and on a move.
    let other = organization(&mut client).await?;
    let foreign = channel_account(&suite, &other.id, &other.admin).await?;
    let mut spy = campaign("Spy", None, vec![]);
    if let Some(c) = spy.campaign.as_mut() {
        c.channel_account_id = foreign.clone();
    }
    let err = client
        .create_campaign(spy)
        .await
        .expect_err("foreign number");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let plain = client
        .create_campaign(campaign("Plain", None, vec![]))
        .await?
        .into_inner()
        .campaign
        .expect("campaign");
    let err = client
        .update_campaign(pb::UpdateCampaignRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            campaign: Some(pb::Campaign {
                id: plain.id.clone(),
                channel_account_id: foreign.clone(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["channel_account_id".into()],
            }),
        })
        .await
        .expect_err("moved to a foreign number");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    client
        .delete_campaign(pb::DeleteCampaignRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            campaign_id: plain.id.clone(),
        })
        .await?;

    let err = client
        .create_campaign(campaign("Promo", agent_target(&agent.id), vec![]))
        .await
        .expect_err("agent not linked");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["campaign.human_target.agent_id"]);

    let team = create_team(&mut client, &org.id, &org.admin, "Sales", &[&agent.id]).await?;
    set_routing(&mut client, &org, &account, &[&team.id], &[], None).await?;
    let first = client
        .create_campaign(campaign(
            "Promo",
            agent_target(&agent.id),
            vec![field("order_id", FormFieldKind::Text)],
        ))
        .await?
        .into_inner()
        .campaign
        .expect("campaign");
    assert_eq!(first.reply_window.map(|d| d.seconds), Some(72 * 3600));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = client
        .create_campaign(campaign("Summer", team_target(&team.id), vec![]))
        .await?
        .into_inner()
        .campaign
        .expect("campaign");

    let list = |include_archived: bool| pb::ListCampaignsRequest {
        organization_id: org.id.clone(),
        include_archived,
        ..Default::default()
    };
    let names: Vec<_> = client
        .list_campaigns(list(false))
        .await?
        .into_inner()
        .campaigns
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["Summer", "Promo"], "newest first");

    let archived = client
        .delete_campaign(pb::DeleteCampaignRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            campaign_id: second.id.clone(),
        })
        .await?
        .into_inner()
        .campaign
        .expect("campaign");
    assert!(archived.archived);
    assert_eq!(
        client
            .list_campaigns(list(false))
            .await?
            .into_inner()
            .campaigns
            .len(),
        1
    );
    assert_eq!(
        client
            .list_campaigns(list(true))
            .await?
            .into_inner()
            .campaigns
            .len(),
        3,
        "Summer and Plain archived, Promo active"
    );
    assert_eq!(first.human_target, agent_target(&agent.id));

    suite.stop().await
}
on_both_backends!(campaigns_validate_forms_and_targets);

/// Contact owners are listed oldest first (routing order); adding again is idempotent; an
/// agent may add itself but not someone else.
async fn contact_owners_are_listed_oldest_first(backend: Backend) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let org = organization(&mut client).await?;
    let contact = crate::routing_support::contact(&suite, &org.id, &org.admin).await?;
    let al = create_agent(
        &mut client,
        &org.id,
        &org.admin,
        "Al",
        "al@acme.test",
        Role::Agent,
    )
    .await?;
    let bo = create_agent(
        &mut client,
        &org.id,
        &org.admin,
        "Bo",
        "bo@acme.test",
        Role::Agent,
    )
    .await?;

    let add = |actor: &str, agent: &str| pb::AddContactOwnerRequest {
        request_id: uuid_like(),
        organization_id: org.id.clone(),
        actor_agent_id: actor.into(),
        contact_id: contact.clone(),
        agent_id: agent.into(),
    };
    for (actor, agent) in [
        (&bo.id, &bo.id),
        (&org.admin, &al.id),
        (&org.admin, &org.admin),
    ] {
        client.add_contact_owner(add(actor, agent)).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let again = client
        .add_contact_owner(add(&org.admin, &bo.id))
        .await?
        .into_inner()
        .owner
        .expect("owner");
    assert_eq!(
        again.added_by.map(|a| a.id),
        Some(bo.id.clone()),
        "the existing ownership"
    );
    assert_eq!(again.source, pb::OwnerSource::Manual as i32);

    let denied = client
        .add_contact_owner(add(&al.id, &bo.id))
        .await
        .expect_err("agents add only themselves");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Contacts live in the channel service: an unknown one, or another organization's, is
    // NOT_FOUND and owns nothing.
    let other = organization(&mut client).await?;
    let foreign = crate::routing_support::contact(&suite, &other.id, &other.admin).await?;
    for unknown in [ContactId::generate().to_string(), foreign] {
        let err = client
            .add_contact_owner(pb::AddContactOwnerRequest {
                contact_id: unknown.clone(),
                ..add(&org.admin, &al.id)
            })
            .await
            .expect_err("not a contact of the organization");
        assert_eq!(err.code(), Code::NotFound, "{unknown}: {err:?}");
        let owners = client
            .list_contact_owners(pb::ListContactOwnersRequest {
                organization_id: org.id.clone(),
                contact_id: unknown,
                page: None,
            })
            .await?
            .into_inner()
            .owners;
        assert!(owners.is_empty(), "nothing owned: {owners:?}");
    }

    let owners: Vec<_> = client
        .list_contact_owners(pb::ListContactOwnersRequest {
            organization_id: org.id.clone(),
            contact_id: contact.clone(),
            page: None,
        })
        .await?
        .into_inner()
        .owners
        .into_iter()
        .map(|o| o.agent_id)
        .collect();
    assert_eq!(owners, [bo.id.clone(), al.id.clone(), org.admin.clone()]);

    suite.stop().await
}
on_both_backends!(contact_owners_are_listed_oldest_first);

/// Configuration changes reach presence: linking a team to a channel account gives its members
/// that account; capacity changes are pushed at once; disabled agents leave presence.
async fn presence_profiles_follow_configuration(backend: Backend) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let mut presence = PresenceServiceClient::new(suite.channel(Service::Presence).await?);
    let org = organization(&mut client).await?;
    let account = channel_account(&suite, &org.id, &org.admin).await?;
    let agent = create_agent(
        &mut client,
        &org.id,
        &org.admin,
        "Al",
        "al@acme.test",
        Role::Agent,
    )
    .await?;
    let team = create_team(&mut client, &org.id, &org.admin, "Sales", &[&agent.id]).await?;
    set_routing(
        &mut client,
        &org,
        &account,
        &[&team.id],
        &[],
        team_target(&team.id),
    )
    .await?;

    let get = || GetAgentPresenceRequest {
        organization_id: org.id.clone(),
        agent_id: agent.id.clone(),
    };
    let seen = presence
        .get_agent_presence(get())
        .await?
        .into_inner()
        .presence
        .expect("presence");
    assert_eq!(seen.capacity, 3, "the organization default");
    assert_eq!(seen.team_ids, std::slice::from_ref(&team.id));
    assert_eq!(seen.channel_account_ids, std::slice::from_ref(&account));

    client
        .update_agent(pb::UpdateAgentRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            agent: Some(Agent {
                id: agent.id.clone(),
                capacity: 7,
                ..Default::default()
            }),
            update_mask: mask(&["capacity"]),
        })
        .await?;
    let seen = presence
        .get_agent_presence(get())
        .await?
        .into_inner()
        .presence
        .expect("presence");
    assert_eq!(seen.capacity, 7);

    set_routing(&mut client, &org, &account, &[], &[], None).await?;
    let seen = presence
        .get_agent_presence(get())
        .await?
        .into_inner()
        .presence
        .expect("presence");
    assert!(
        seen.channel_account_ids.is_empty(),
        "unlinking reaches presence too"
    );

    client
        .delete_agent(pb::DeleteAgentRequest {
            request_id: uuid_like(),
            organization_id: org.id.clone(),
            actor_agent_id: org.admin.clone(),
            agent_id: agent.id.clone(),
        })
        .await?;
    assert!(
        presence.get_agent_presence(get()).await.is_err(),
        "a disabled agent is removed from presence"
    );

    suite.stop().await
}
on_both_backends!(presence_profiles_follow_configuration);

/// A team that is a channel account's default target cannot be deleted (FAILED_PRECONDITION,
/// ERROR_REASON_IN_USE); once it is not, it is deleted with its links, and a retry with the
/// same request id succeeds again.
async fn team_in_use_cannot_be_deleted(backend: Backend) -> anyhow::Result<()> {
    let (_env, suite, mut client) = clients(backend).await?;
    let org = organization(&mut client).await?;
    let account = channel_account(&suite, &org.id, &org.admin).await?;
    let team = create_team(&mut client, &org.id, &org.admin, "Sales", &[]).await?;
    set_routing(
        &mut client,
        &org,
        &account,
        &[&team.id],
        &[],
        team_target(&team.id),
    )
    .await?;

    let delete = |request_id: &str| pb::DeleteTeamRequest {
        request_id: request_id.into(),
        organization_id: org.id.clone(),
        actor_agent_id: org.admin.clone(),
        team_id: team.id.clone(),
    };
    let err = client
        .delete_team(delete("del-1"))
        .await
        .expect_err("in use");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.get_details_error_info().map(|i| (i.reason, i.domain)),
        Some(("ERROR_REASON_IN_USE".to_string(), "switchboard".to_string())),
        "one error domain whichever service refuses"
    );

    set_routing(&mut client, &org, &account, &[&team.id], &[], None).await?;
    client.delete_team(delete("del-1")).await?;
    client.delete_team(delete("del-1")).await?;
    let gone = client
        .delete_team(delete("del-2"))
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
    let routing = client
        .get_channel_account_routing(pb::GetChannelAccountRoutingRequest {
            organization_id: org.id.clone(),
            channel_account_id: account.clone(),
        })
        .await?
        .into_inner()
        .routing
        .expect("routing");
    assert!(routing.linked_team_ids.is_empty(), "its links went with it");

    suite.stop().await
}
on_both_backends!(team_in_use_cannot_be_deleted);
