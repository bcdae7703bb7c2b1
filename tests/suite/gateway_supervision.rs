//! Supervision through the gateway: live figures for operators and admins only, scoped to the
//! caller's organization, and a watch that pushes when the figures change and stays quiet
//! while they do not.

use std::time::Duration;

use switchboard_proto::{
    common::v1::Role,
    gateway::v1 as gpb,
    prost_types,
    reporting::v1::{self as rep, reporting_service_client::ReportingServiceClient},
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};
use switchboard_runtime::Service;
use switchboard_testkit::Backend;
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    gateway_support::GatewayWorld,
    on_both_backends,
    routing_support::{rid, team_target},
};

fn second(d: u64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: d as i64,
        nanos: 0,
    })
}

async fn live_figures_watch_pushes_on_a_change_and_nothing_while_nothing_changes(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let mut operator = gw.member("Olga", Role::Operator, 0).await?;
    // A team nobody serves: a new conversation waits there.
    let team = gw
        .world
        .team("Nocturno", pb::TeamStrategy::LeastOpen, &[], |_| {})
        .await?;
    gw.world
        .link(&[&team], &[], Some(team_target(&team)))
        .await?;
    // The world's own setup (agents' presence profiles) settles first: two reads a second
    // apart agree, so what the watch shows below is the conversation's doing.
    let mut previous = None;
    let settle_by = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut now = operator
            .gateway
            .get_live_figures(gpb::GetLiveFiguresRequest::default())
            .await?
            .into_inner();
        now.as_of = None;
        if previous.as_ref() == Some(&now) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < settle_by,
            "the figures never settled"
        );
        previous = Some(now);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut stream = operator
        .gateway
        .watch_live_figures(gpb::WatchLiveFiguresRequest {
            filter: None,
            min_interval: second(1),
        })
        .await?
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await??
        .expect("a first message at once");
    let waiting_before = first.organization.as_ref().map_or(0, |o| o.waiting);

    let conversation = gw.world.start().await?;
    let pushed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let m = stream.message().await?.expect("the stream goes on");
            if m.organization.as_ref().map_or(0, |o| o.waiting) == waiting_before + 1 {
                return Ok::<_, tonic::Status>(m);
            }
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("no push after a conversation arrived"))??;
    let queue = pushed
        .teams
        .iter()
        .find(|t| t.id == team)
        .expect("the team's figures");
    assert_eq!(queue.waiting, 1);
    assert_eq!(queue.longest_waiting_conversation_id, conversation.id);
    assert!(queue.longest_waiting_since.is_some());

    // Nothing changes: nothing comes (three intervals).
    let quiet = tokio::time::timeout(Duration::from_secs(3), stream.message()).await;
    assert!(
        quiet.is_err(),
        "a message came while nothing changed: {quiet:?}"
    );

    // GetLiveFigures answers the same figures.
    let now = operator
        .gateway
        .get_live_figures(gpb::GetLiveFiguresRequest {
            filter: Some(rep::LiveFiguresFilter {
                team_ids: vec![team.clone()],
                channel_account_ids: vec![],
            }),
        })
        .await?
        .into_inner();
    assert_eq!(now.teams.len(), 1, "the filter keeps the one team");
    assert_eq!(&now.teams[0], queue);

    // Shutdown ends the watch with OK (the client reconnects elsewhere).
    let GatewayWorld { world, .. } = gw;
    let stopping = tokio::spawn(async move {
        let world = world;
        world.suite.stop().await
    });
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                other => break other,
            }
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("the watch outlived the shutdown"))?;
    assert!(
        matches!(ended, Ok(None)),
        "the watch ended with {ended:?}, not OK"
    );
    stopping.await??;
    Ok(())
}

on_both_backends!(live_figures_watch_pushes_on_a_change_and_nothing_while_nothing_changes);

async fn live_figures_are_for_operators_and_admins_of_their_organization_only(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let mut agent = gw.member("Pablo", Role::Agent, 2).await?;
    let denied = agent
        .gateway
        .get_live_figures(gpb::GetLiveFiguresRequest::default())
        .await
        .expect_err("an agent reads no live figures");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = agent
        .gateway
        .watch_live_figures(gpb::WatchLiveFiguresRequest::default())
        .await
        .expect_err("an agent watches no live figures");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // A malformed id names its field.
    let bad = gw
        .admin
        .gateway
        .get_live_figures(gpb::GetLiveFiguresRequest {
            filter: Some(rep::LiveFiguresFilter {
                team_ids: vec!["nope".into()],
                channel_account_ids: vec![],
            }),
        })
        .await
        .expect_err("a malformed team id");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let fields: Vec<String> = bad
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, vec!["filter.team_ids[0]".to_string()]);
    let bad = gw
        .admin
        .gateway
        .watch_live_figures(gpb::WatchLiveFiguresRequest {
            filter: None,
            min_interval: second(7200),
        })
        .await
        .expect_err("an interval over an hour");
    assert_eq!(bad.code(), Code::InvalidArgument);

    // Another organization, with a team where a conversation waits.
    let mut routing = RoutingServiceClient::new(gw.world.suite.channel(Service::Routing).await?);
    let other = routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Globex".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let other_admin = routing
        .create_agent(pb::CreateAgentRequest {
            request_id: rid(),
            organization_id: other.clone(),
            agent: Some(pb::Agent {
                display_name: "Otro".into(),
                email: format!("otro-{}@globex.test", rid()),
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
    let other_team = routing
        .create_team(pb::CreateTeamRequest {
            request_id: rid(),
            organization_id: other.clone(),
            actor_agent_id: other_admin.clone(),
            team: Some(pb::Team {
                name: "Ajeno".into(),
                strategy: pb::TeamStrategy::LeastOpen as i32,
                ..Default::default()
            }),
            member_agent_ids: vec![other_admin.clone()],
        })
        .await?
        .into_inner()
        .team
        .expect("team")
        .id;
    let mut reporting =
        ReportingServiceClient::new(gw.world.suite.channel(Service::Reporting).await?);
    // Wait until the other organization's team is known to the projection (its admin's
    // profile lists it), so the next answer is not empty merely because of lag.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let theirs = reporting
            .get_live_figures(rep::GetLiveFiguresRequest {
                organization_id: other.clone(),
                actor_agent_id: other_admin.clone(),
                filter: None,
            })
            .await?
            .into_inner();
        if theirs.teams.iter().any(|t| t.id == other_team) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the other organization's team never showed in its own figures"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mine = gw
        .admin
        .gateway
        .get_live_figures(gpb::GetLiveFiguresRequest {
            filter: Some(rep::LiveFiguresFilter {
                team_ids: vec![other_team.clone()],
                channel_account_ids: vec![],
            }),
        })
        .await?
        .into_inner();
    assert!(
        mine.teams.is_empty() && mine.agents.is_empty(),
        "another organization's team leaked: {mine:?}"
    );
    assert!(mine.agents.iter().all(|a| a.agent_id != other_admin));
    // The other organization's admin is nobody in mine.
    let foreign = reporting
        .get_live_figures(rep::GetLiveFiguresRequest {
            organization_id: gw.world.org.clone(),
            actor_agent_id: other_admin.clone(),
            filter: None,
        })
        .await
        .expect_err("another organization's admin");
    assert_eq!(foreign.code(), Code::PermissionDenied);
    Ok(())
}

on_both_backends!(live_figures_are_for_operators_and_admins_of_their_organization_only);
