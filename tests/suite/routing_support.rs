//! A small world for routing tests: one organization with an admin, agents, teams, a WhatsApp
//! number, all created through the real RPCs, and helpers to start and inspect conversations.

use std::time::Duration;

use switchboard_proto::{
    common::v1::{AgentStatus, Role},
    presence::v1::{SetStatusRequest, presence_service_client::PresenceServiceClient},
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
};
use switchboard_runtime::{
    Service,
    ids::{ChannelAccountId, ContactId, EventId},
};
use switchboard_testkit::{Backend, Suite, TestEnv};
use tonic::transport::Channel;

pub type Routing = RoutingServiceClient<Channel>;

pub fn rid() -> String {
    EventId::generate().to_string()
}

pub struct World {
    pub suite: Suite,
    /// Kept for its Drop: the database and Redis keys go once the services stopped.
    _env: TestEnv,
    pub routing: Routing,
    pub presence: PresenceServiceClient<Channel>,
    pub org: String,
    pub admin: String,
    pub account: String,
}

/// A new contact of `org` (a random phone number), created through the channel service of
/// `suite`: routing checks the contacts it is told about (owners) with the channel service.
pub async fn contact(suite: &Suite, org: &str, admin: &str) -> anyhow::Result<String> {
    use switchboard_proto::channel::v1::{
        self as ch, channel_service_client::ChannelServiceClient,
    };
    let phone = format!("+569{:08}", uuid::Uuid::now_v7().as_u128() % 100_000_000);
    Ok(
        ChannelServiceClient::new(suite.channel(Service::Channel).await?)
            .create_contact(ch::CreateContactRequest {
                request_id: rid(),
                organization_id: org.into(),
                actor_agent_id: admin.into(),
                phone_number: phone,
                ..Default::default()
            })
            .await?
            .into_inner()
            .contact
            .expect("contact")
            .id,
    )
}

/// A new channel account of `org`, created through the channel service of `suite` (a number
/// nobody writes to: its phone number id is random).
pub async fn channel_account(suite: &Suite, org: &str, admin: &str) -> anyhow::Result<String> {
    use switchboard_proto::channel::v1::{
        self as ch, channel_service_client::ChannelServiceClient,
    };
    let phone_number_id = format!(
        "9{:014}",
        uuid::Uuid::now_v7().as_u128() % 100_000_000_000_000
    );
    Ok(
        ChannelServiceClient::new(suite.channel(Service::Channel).await?)
            .create_channel_account(ch::CreateChannelAccountRequest {
                request_id: rid(),
                organization_id: org.into(),
                actor_agent_id: admin.into(),
                channel_account: Some(ch::ChannelAccount {
                    display_name: "Soporte".into(),
                    phone_number_id,
                    display_phone_number: "+1 555-010-0000".into(),
                    waba_id: "102290129340398".into(),
                    access_token_secret_ref: "wa-token-test".into(),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .channel_account
            .expect("channel account")
            .id,
    )
}

pub fn team_target(id: &str) -> pb::Target {
    pb::Target {
        kind: Some(pb::target::Kind::TeamId(id.into())),
    }
}

pub fn agent_target(id: &str) -> pb::Target {
    pb::Target {
        kind: Some(pb::target::Kind::AgentId(id.into())),
    }
}

impl World {
    /// Presence, routing and channel on `backend`, with a fast sweeper, one organization, its
    /// admin and a WhatsApp number (a real channel account: routing checks it exists).
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        Self::with_settings(backend, |_| {}).await
    }

    pub async fn with_settings(
        backend: Backend,
        tune: impl FnOnce(&mut switchboard_runtime::Settings),
    ) -> anyhow::Result<Self> {
        let mut env = TestEnv::new(backend).await?;
        env.settings.routing.sweep_interval_ms = 100;
        tune(&mut env.settings);
        let mut world = Self::launch(
            env,
            &[
                Service::Presence,
                Service::Routing,
                Service::Channel,
                Service::Ticketing,
            ],
        )
        .await?;
        world.account = channel_account(&world.suite, &world.org, &world.admin).await?;
        Ok(world)
    }

    /// Starts `targets` (presence and routing among them) on `env`, with one organization and
    /// its admin.
    pub async fn launch(env: TestEnv, targets: &[Service]) -> anyhow::Result<Self> {
        let suite = env.start(targets).await?;
        let mut routing = RoutingServiceClient::new(suite.channel(Service::Routing).await?);
        let presence = PresenceServiceClient::new(suite.channel(Service::Presence).await?);
        let org = routing
            .create_organization(pb::CreateOrganizationRequest {
                request_id: rid(),
                name: "Acme".into(),
                default_agent_capacity: 3,
                ..Default::default()
            })
            .await?
            .into_inner()
            .organization
            .expect("organization")
            .id;
        let mut world = Self {
            suite,
            _env: env,
            routing,
            presence,
            org,
            admin: String::new(),
            account: ChannelAccountId::generate().to_string(),
        };
        world.admin = world.agent_with_role("Admin", Role::Admin, 0).await?;
        Ok(world)
    }

    pub fn clock(&self) -> switchboard_runtime::clock::Clock {
        self.suite.infra().expect("running").clock.clone()
    }

    pub async fn agent_with_role(
        &mut self,
        name: &str,
        role: Role,
        capacity: i32,
    ) -> anyhow::Result<String> {
        let agent = self
            .routing
            .create_agent(pb::CreateAgentRequest {
                request_id: rid(),
                organization_id: self.org.clone(),
                agent: Some(pb::Agent {
                    display_name: name.into(),
                    email: format!("{}-{}@acme.test", name.to_lowercase(), rid()),
                    role: role as i32,
                    capacity,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await?
            .into_inner()
            .agent
            .expect("agent");
        Ok(agent.id)
    }

    /// An agent (role agent) with `capacity`, available in presence.
    pub async fn agent(&mut self, name: &str, capacity: i32) -> anyhow::Result<String> {
        let id = self.agent_with_role(name, Role::Agent, capacity).await?;
        self.set_status(&id, AgentStatus::Available).await?;
        Ok(id)
    }

    pub async fn set_status(&mut self, agent: &str, status: AgentStatus) -> anyhow::Result<()> {
        self.presence
            .set_status(SetStatusRequest {
                request_id: uuid::Uuid::now_v7().simple().to_string(),
                organization_id: self.org.clone(),
                agent_id: agent.into(),
                status: status as i32,
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    pub async fn team(
        &mut self,
        name: &str,
        strategy: pb::TeamStrategy,
        members: &[&str],
        tune: impl FnOnce(&mut pb::Team),
    ) -> anyhow::Result<String> {
        let mut team = pb::Team {
            name: name.into(),
            strategy: strategy as i32,
            ..Default::default()
        };
        tune(&mut team);
        let team = self
            .routing
            .create_team(pb::CreateTeamRequest {
                request_id: rid(),
                organization_id: self.org.clone(),
                actor_agent_id: self.admin.clone(),
                team: Some(team),
                member_agent_ids: members.iter().map(|m| m.to_string()).collect(),
            })
            .await?
            .into_inner()
            .team
            .expect("team");
        Ok(team.id)
    }

    /// Links teams and agents to the number, with a default target.
    pub async fn link(
        &mut self,
        teams: &[&str],
        agents: &[&str],
        default: Option<pb::Target>,
    ) -> anyhow::Result<()> {
        self.routing
            .update_channel_account_routing(pb::UpdateChannelAccountRoutingRequest {
                request_id: rid(),
                organization_id: self.org.clone(),
                actor_agent_id: self.admin.clone(),
                routing: Some(pb::ChannelAccountRouting {
                    channel_account_id: self.account.clone(),
                    linked_team_ids: teams.iter().map(|t| t.to_string()).collect(),
                    linked_agent_ids: agents.iter().map(|a| a.to_string()).collect(),
                    default_target: default,
                    update_time: None,
                }),
            })
            .await?;
        Ok(())
    }

    pub async fn start_for(
        &mut self,
        contact: &str,
        campaign: Option<&str>,
    ) -> anyhow::Result<pb::Conversation> {
        let response = self
            .routing
            .start_conversation(pb::StartConversationRequest {
                request_id: rid(),
                organization_id: self.org.clone(),
                channel_account_id: self.account.clone(),
                contact_id: contact.into(),
                campaign_id: campaign.unwrap_or_default().into(),
                first_message_id: format!("msg_{}", rid()),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(response.conversation.expect("conversation"))
    }

    /// A new contact writes in.
    pub async fn start(&mut self) -> anyhow::Result<pb::Conversation> {
        self.start_for(&ContactId::generate().to_string(), None)
            .await
    }

    pub async fn get(&mut self, id: &str) -> anyhow::Result<pb::Conversation> {
        Ok(self
            .routing
            .get_conversation(pb::GetConversationRequest {
                organization_id: self.org.clone(),
                conversation_id: id.into(),
                actor_agent_id: String::new(),
            })
            .await?
            .into_inner()
            .conversation
            .expect("conversation"))
    }

    pub async fn explain(&mut self, id: &str) -> anyhow::Result<Vec<pb::RoutingDecision>> {
        Ok(self
            .routing
            .explain_routing(pb::ExplainRoutingRequest {
                organization_id: self.org.clone(),
                actor_agent_id: self.admin.clone(),
                subject: Some(pb::explain_routing_request::Subject::ConversationId(
                    id.into(),
                )),
            })
            .await?
            .into_inner()
            .decisions)
    }

    pub async fn open(&mut self, agent: &str, id: &str) -> Result<pb::Conversation, tonic::Status> {
        Ok(self
            .routing
            .open_conversation(pb::OpenConversationRequest {
                request_id: rid(),
                organization_id: self.org.clone(),
                actor_agent_id: agent.into(),
                conversation_id: id.into(),
            })
            .await?
            .into_inner()
            .conversation
            .expect("conversation"))
    }

    pub async fn close(
        &mut self,
        agent: &str,
        id: &str,
    ) -> Result<pb::Conversation, tonic::Status> {
        Ok(self
            .routing
            .close_conversation(pb::CloseConversationRequest {
                request_id: rid(),
                organization_id: self.org.clone(),
                actor_agent_id: agent.into(),
                conversation_id: id.into(),
                close_note: "done".into(),
            })
            .await?
            .into_inner()
            .conversation
            .expect("conversation"))
    }

    /// Polls `id` until `done` holds (background work: sweeper, events), or fails after 10 s.
    pub async fn until(
        &mut self,
        id: &str,
        what: &str,
        done: impl Fn(&pb::Conversation) -> bool,
    ) -> anyhow::Result<pb::Conversation> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let c = self.get(id).await?;
            if done(&c) {
                return Ok(c);
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("conversation {id} never reached: {what}; last seen {c:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub fn state(c: &pb::Conversation) -> pb::ConversationState {
    pb::ConversationState::try_from(c.state).unwrap_or_default()
}

pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}
