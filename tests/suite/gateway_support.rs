//! A world for gateway tests: every service in one process, one organization with a
//! number, and agents bound to identity-provider subjects who call the gateway with real
//! development tokens (HS256, the configured issuer and audience).

use std::time::Duration;

use switchboard_proto::{
    common::v1::Role, gateway::v1::gateway_service_client::GatewayServiceClient, routing::v1 as rpb,
};
use switchboard_runtime::Service;
use switchboard_testkit::{Backend, TestEnv};
use tonic::{
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

use crate::routing_support::{World, channel_account, rid};

/// A gateway client that sends a bearer token and an organization with every call.
pub type Gateway = GatewayServiceClient<InterceptedService<Channel, Credentials>>;

/// `authorization` and `x-switchboard-organization` metadata (either may be left out).
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub token: Option<String>,
    pub organization: Option<String>,
}

impl Interceptor for Credentials {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.token {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| tonic::Status::internal("token is not ASCII"))?;
            req.metadata_mut().insert("authorization", value);
        }
        if let Some(org) = &self.organization {
            let value = MetadataValue::try_from(org.as_str())
                .map_err(|_| tonic::Status::internal("organization is not ASCII"))?;
            req.metadata_mut()
                .insert("x-switchboard-organization", value);
        }
        Ok(req)
    }
}

/// An agent that can sign in: its id, its subject, its client.
pub struct Member {
    pub id: String,
    pub subject: String,
    pub gateway: Gateway,
}

pub struct GatewayWorld {
    /// Routing, presence and the organization, as routing tests have them.
    pub world: World,
    /// The admin, signed in.
    pub admin: Member,
}

impl GatewayWorld {
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        Self::with_settings(backend, |_| {}).await
    }

    pub async fn with_settings(
        backend: Backend,
        tune: impl FnOnce(&mut switchboard_runtime::Settings),
    ) -> anyhow::Result<Self> {
        let mut env = TestEnv::new(backend).await?;
        env.settings.routing.sweep_interval_ms = 100;
        env.settings.gateway.inbox.keepalive_secs = 1;
        tune(&mut env.settings);
        let mut world = World::launch(
            env,
            &[
                Service::Presence,
                Service::Routing,
                Service::Channel,
                Service::Ticketing,
                Service::Reporting,
                Service::Integrations,
                Service::Gateway,
            ],
        )
        .await?;
        world.account = channel_account(&world.suite, &world.org, &world.admin).await?;
        let mut this = Self {
            admin: Member {
                id: String::new(),
                subject: String::new(),
                gateway: GatewayServiceClient::with_interceptor(
                    world.suite.channel(Service::Gateway).await?,
                    Credentials::default(),
                ),
            },
            world,
        };
        this.admin = this.member("Gabriela", Role::Admin, 3).await?;
        Ok(this)
    }

    /// The gateway settings' development token for `subject`, valid `ttl`.
    pub fn token_for(&self, subject: &str, ttl: Duration) -> String {
        token_for(&self.world, subject, ttl)
    }

    /// A gateway client with these credentials.
    pub async fn client(&self, credentials: Credentials) -> anyhow::Result<Gateway> {
        Ok(GatewayServiceClient::with_interceptor(
            self.world.suite.channel(Service::Gateway).await?,
            credentials,
        ))
    }

    /// A client signed in as `subject` in this organization.
    pub async fn signed_in(&self, subject: &str) -> anyhow::Result<Gateway> {
        self.client(Credentials {
            token: Some(self.token_for(subject, Duration::from_secs(3600))),
            organization: Some(self.world.org.clone()),
        })
        .await
    }

    /// A new agent of the organization (created through routing) bound to a fresh subject, and
    /// its signed-in client.
    pub async fn member(
        &mut self,
        name: &str,
        role: Role,
        capacity: i32,
    ) -> anyhow::Result<Member> {
        sign_up(&mut self.world, name, role, capacity).await
    }
}

/// The development token of `world`'s gateway for `subject`, valid `ttl`.
pub fn token_for(world: &World, subject: &str, ttl: Duration) -> String {
    let settings = &world.suite.infra().expect("running").settings;
    switchboard_gateway::dev_token(&settings.gateway.auth, subject, ttl).expect("dev token")
}

/// A new agent of `world`'s organization (created through routing) bound to a fresh subject,
/// and its client signed in to `world`'s gateway.
pub async fn sign_up(
    world: &mut World,
    name: &str,
    role: Role,
    capacity: i32,
) -> anyhow::Result<Member> {
    let subject = format!("idp|{}-{}", name.to_lowercase(), rid());
    let agent = world
        .routing
        .create_agent(rpb::CreateAgentRequest {
            request_id: rid(),
            organization_id: world.org.clone(),
            agent: Some(rpb::Agent {
                display_name: name.into(),
                email: format!("{}-{}@acme.test", name.to_lowercase(), rid()),
                role: role as i32,
                capacity,
                auth_subject: subject.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    let gateway = GatewayServiceClient::with_interceptor(
        world.suite.channel(Service::Gateway).await?,
        Credentials {
            // None when development tokens are off (tests of JWKS tokens sign their own).
            token: switchboard_gateway::dev_token(
                &world.suite.infra().expect("running").settings.gateway.auth,
                &subject,
                Duration::from_secs(3600),
            )
            .ok(),
            organization: Some(world.org.clone()),
        },
    );
    Ok(Member {
        id: agent.id,
        subject,
        gateway,
    })
}
