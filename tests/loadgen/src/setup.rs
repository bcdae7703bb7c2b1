//! One organization per phase, provisioned through the public RPCs as an admin would: agents,
//! a team taking every conversation of a WhatsApp number, and the customers the business knows.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt, stream};
use switchboard_proto::{
    channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
    common::v1::{AgentStatus, Role},
    presence::v1::{SetStatusRequest, presence_service_client::PresenceServiceClient},
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};

use crate::target::{Clients, TOKEN_REF, WABA_ID};

pub fn rid() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A random 15-digit phone number id, so runs against the same suite never collide.
pub fn phone_number_id() -> String {
    format!("1{:014}", rand::random::<u64>() % 100_000_000_000_000)
}

/// What one phase runs against.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub admin: String,
    /// chacc_ id of the number.
    pub account: String,
    pub phone_number_id: String,
    pub team: String,
    pub agents: Vec<String>,
    pub capacity: i32,
    /// wa_id of each pre-created contact, and its ct_ id → index.
    pub contacts: Vec<String>,
    pub contact_index: HashMap<String, usize>,
}

pub struct OrgSpec<'a> {
    pub name: &'a str,
    pub phone_number_id: &'a str,
    pub agents: usize,
    pub capacity: i32,
    pub strategy: pb::TeamStrategy,
    /// Contacts created up front (their wa_ids are `prefix` + a 9-digit index).
    pub contacts: usize,
    pub contact_prefix: &'a str,
}

/// `prefix` followed by `i` on 9 digits: a valid wa_id (digits only, 13 with a 4-digit prefix).
pub fn wa_id(prefix: &str, i: u64) -> String {
    format!("{prefix}{i:09}")
}

pub async fn organization(clients: &Clients, spec: OrgSpec<'_>) -> anyhow::Result<Org> {
    let mut routing = RoutingServiceClient::new(clients.routing.clone());
    let mut channel = ChannelServiceClient::new(clients.channel.clone());
    let org = routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: spec.name.into(),
            default_agent_capacity: spec.capacity,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .ok_or_else(|| anyhow::anyhow!("no organization"))?
        .id;
    let admin = create_agent(&mut routing, &org, "Admin", Role::Admin, 1).await?;
    let agents: Vec<String> = stream::iter(0..spec.agents)
        .map(|i| {
            let mut routing = routing.clone();
            let mut presence = PresenceServiceClient::new(clients.presence.clone());
            let org = org.clone();
            async move {
                let id = create_agent(
                    &mut routing,
                    &org,
                    &format!("Agent {i}"),
                    Role::Agent,
                    spec.capacity,
                )
                .await?;
                presence
                    .set_status(SetStatusRequest {
                        request_id: rid(),
                        organization_id: org.clone(),
                        agent_id: id.clone(),
                        status: AgentStatus::Available as i32,
                        ..Default::default()
                    })
                    .await?;
                anyhow::Ok(id)
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let account = channel
        .create_channel_account(ch::CreateChannelAccountRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            channel_account: Some(ch::ChannelAccount {
                display_name: format!("{} WhatsApp", spec.name),
                phone_number_id: spec.phone_number_id.into(),
                display_phone_number: "+1 555-000-1234".into(),
                waba_id: WABA_ID.into(),
                access_token_secret_ref: TOKEN_REF.into(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .channel_account
        .ok_or_else(|| anyhow::anyhow!("no account"))?
        .id;
    let team = routing
        .create_team(pb::CreateTeamRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            team: Some(pb::Team {
                name: "Soporte".into(),
                strategy: spec.strategy as i32,
                ..Default::default()
            }),
            member_agent_ids: agents.clone(),
        })
        .await?
        .into_inner()
        .team
        .ok_or_else(|| anyhow::anyhow!("no team"))?
        .id;
    routing
        .update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            routing: Some(pb::ChannelAccountRouting {
                channel_account_id: account.clone(),
                linked_team_ids: vec![team.clone()],
                linked_agent_ids: vec![],
                default_target: Some(pb::Target {
                    kind: Some(pb::target::Kind::TeamId(team.clone())),
                }),
                update_time: None,
            }),
        })
        .await?;
    let contacts: Vec<String> = (0..spec.contacts as u64)
        .map(|i| wa_id(spec.contact_prefix, i))
        .collect();
    let ids: Vec<(String, usize)> = stream::iter(contacts.iter().cloned().enumerate())
        .map(|(i, wa)| {
            let mut channel = channel.clone();
            let org = org.clone();
            let admin = admin.clone();
            async move {
                let c = channel
                    .create_contact(ch::CreateContactRequest {
                        request_id: rid(),
                        organization_id: org,
                        actor_agent_id: admin,
                        phone_number: format!("+{wa}"),
                        display_name: format!("Cliente {i}"),
                        ..Default::default()
                    })
                    .await?
                    .into_inner()
                    .contact
                    .ok_or_else(|| anyhow::anyhow!("no contact"))?;
                anyhow::Ok((c.id, i))
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await?;
    Ok(Org {
        id: org,
        admin,
        account,
        phone_number_id: spec.phone_number_id.into(),
        team,
        agents,
        capacity: spec.capacity,
        contacts,
        contact_index: ids.into_iter().collect(),
    })
}

async fn create_agent(
    routing: &mut RoutingServiceClient<tonic::transport::Channel>,
    org: &str,
    name: &str,
    role: Role,
    capacity: i32,
) -> anyhow::Result<String> {
    Ok(routing
        .create_agent(pb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.into(),
            agent: Some(pb::Agent {
                display_name: name.into(),
                email: format!(
                    "{}-{}@loadgen.test",
                    name.replace(' ', "").to_lowercase(),
                    rid()
                ),
                role: role as i32,
                capacity,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .ok_or_else(|| anyhow::anyhow!("no agent"))?
        .id)
}
