//! `serve --demo`: a demo organization a newcomer can sign in to at once — an admin, two
//! agents, a team and a WhatsApp number (the one `make sim` simulates) — created once through
//! the services' own RPCs and remembered in a state file, so later runs reuse it.

use std::{path::Path, time::Duration};

use serde::{Deserialize, Serialize};
use switchboard_proto::{
    channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
    common::v1::Role,
    routing::v1::{self as rt, routing_service_client::RoutingServiceClient},
};
use switchboard_runtime::{Service, Settings};

use crate::Running;

/// What the demo consists of (kept in the state file).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Demo {
    pub organization_id: String,
    pub admin_subject: String,
    pub agent_subjects: Vec<String>,
    pub team_id: String,
    pub channel_account_id: String,
}

/// The phone number id `make sim` simulates.
const PHONE_NUMBER_ID: &str = "106540352242922";
const WABA_ID: &str = "102290129340398";

fn rid() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// The demo organization of `state` if it still exists, else a new one (written to `state`).
pub async fn seed(running: &Running, state: &Path) -> anyhow::Result<Demo> {
    let routing_addr = running
        .grpc
        .get(&Service::Routing)
        .ok_or_else(|| anyhow::anyhow!("--demo needs routing in this process"))?;
    let channel_addr = running
        .grpc
        .get(&Service::Channel)
        .ok_or_else(|| anyhow::anyhow!("--demo needs channel in this process"))?;
    let mut routing = RoutingServiceClient::connect(format!("http://{routing_addr}")).await?;
    let mut channel = ChannelServiceClient::connect(format!("http://{channel_addr}")).await?;
    if let Ok(text) = std::fs::read_to_string(state)
        && let Ok(demo) = serde_json::from_str::<Demo>(&text)
        && routing
            .get_organization(rt::GetOrganizationRequest {
                organization_id: demo.organization_id.clone(),
            })
            .await
            .is_ok()
    {
        return Ok(demo);
    }
    let org = routing
        .create_organization(rt::CreateOrganizationRequest {
            request_id: rid(),
            name: "Demo".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .ok_or_else(|| anyhow::anyhow!("no organization"))?
        .id;
    let mut agent = async |name: &str, subject: &str, role: Role| -> anyhow::Result<String> {
        Ok(routing
            .create_agent(rt::CreateAgentRequest {
                request_id: rid(),
                organization_id: org.clone(),
                agent: Some(rt::Agent {
                    display_name: name.into(),
                    email: format!("{}@demo.switchboard.test", name.to_lowercase()),
                    role: role as i32,
                    capacity: 3,
                    auth_subject: subject.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await?
            .into_inner()
            .agent
            .ok_or_else(|| anyhow::anyhow!("no agent"))?
            .id)
    };
    let admin = agent("Admin", "demo|admin", Role::Admin).await?;
    let ana = agent("Ana", "demo|ana", Role::Agent).await?;
    let beto = agent("Beto", "demo|beto", Role::Agent).await?;
    let team = routing
        .create_team(rt::CreateTeamRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team: Some(rt::Team {
                name: "Soporte".into(),
                strategy: rt::TeamStrategy::LeastOpen as i32,
                ..Default::default()
            }),
            member_agent_ids: vec![ana, beto],
        })
        .await?
        .into_inner()
        .team
        .ok_or_else(|| anyhow::anyhow!("no team"))?
        .id;
    let account = channel
        .create_channel_account(ch::CreateChannelAccountRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            channel_account: Some(ch::ChannelAccount {
                display_name: "Demo".into(),
                phone_number_id: PHONE_NUMBER_ID.into(),
                display_phone_number: "+1 555-010-0042".into(),
                waba_id: WABA_ID.into(),
                access_token_secret_ref: "dev-token".into(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .channel_account
        .ok_or_else(|| anyhow::anyhow!("no channel account"))?
        .id;
    routing
        .update_channel_account_routing(rt::UpdateChannelAccountRoutingRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin,
            routing: Some(rt::ChannelAccountRouting {
                channel_account_id: account.clone(),
                linked_team_ids: vec![team.clone()],
                default_target: Some(rt::Target {
                    kind: Some(rt::target::Kind::TeamId(team.clone())),
                }),
                ..Default::default()
            }),
        })
        .await?;
    let demo = Demo {
        organization_id: org,
        admin_subject: "demo|admin".into(),
        agent_subjects: vec!["demo|ana".into(), "demo|beto".into()],
        team_id: team,
        channel_account_id: account,
    };
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(state, serde_json::to_string_pretty(&demo)?)?;
    Ok(demo)
}

/// What `make run` prints after seeding: who to sign in as and how to call the gateway.
pub fn instructions(demo: &Demo, settings: &Settings, running: &Running) -> Vec<String> {
    let gateway = running
        .grpc
        .get(&Service::Gateway)
        .map(|a| format!("127.0.0.1:{}", a.port()))
        .unwrap_or_else(|| "127.0.0.1:50051".into());
    let token = switchboard_gateway::dev_token(
        &settings.gateway.auth,
        &demo.agent_subjects[0],
        Duration::from_secs(12 * 3600),
    )
    .unwrap_or_else(|e| format!("(no development token: {e})"));
    let org = &demo.organization_id;
    vec![
        format!(
            "demo      organization {org}: admin {}, agents {} (team Soporte, number {PHONE_NUMBER_ID})",
            demo.admin_subject,
            demo.agent_subjects.join(", ")
        ),
        format!("sign in   as demo|ana (12 h): TOKEN={token}"),
        "          other subjects: switchboard token --subject demo|admin".into(),
        "try it    (grpcurl through reflection, then Python with grpcio only):".into(),
        format!(
            "  grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -H 'x-switchboard-organization: {org}' {gateway} switchboard.gateway.v1.GatewayService/GetMe"
        ),
        format!(
            "  python3 scripts/gateway_example.py --addr {gateway} --org {org} --token \"$TOKEN\" GetMe"
        ),
        format!(
            "  python3 scripts/gateway_example.py --addr {gateway} --org {org} --token \"$TOKEN\" ListAssignedConversations"
        ),
    ]
}
