//! A world for channel tests: presence, routing and channel running, one organization with an
//! admin and a team that takes every conversation, a WhatsApp number registered through the
//! channel API, and helpers to post webhooks exactly as Meta does (signed raw bodies).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard_graph_sim::{SimAccount, SimConfig, SimHandle, SimTemplate, Simulator, StatusPlan};
use switchboard_proto::{
    channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
    routing::v1 as pb,
};
use switchboard_runtime::Service;
use switchboard_testkit::{Backend, TestEnv};
use tonic::transport::Channel;

use crate::routing_support::{World, rid, team_target};

pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
/// Meta's example phone number id (the fixtures use it).
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const WABA_ID: &str = "102290129340398";
/// The Graph API token of the number (the simulator checks it; the service reads it from its
/// secrets directory).
pub const TOKEN: &str = "EAAtest-token";
/// An approved template with two body parameters.
pub const TEMPLATE: &str = "seguimiento";

pub struct ChannelWorld {
    pub world: World,
    /// The Graph API simulator the channel sends through (it calls the webhook back).
    pub sim: SimHandle,
    _secrets_dir: TempDir,
    pub channel: ChannelServiceClient<Channel>,
    pub http: reqwest::Client,
    pub webhook_url: String,
    /// chacc_ id of the registered number.
    pub account: String,
    /// The team every conversation of the number goes to.
    pub team: String,
    /// Its one agent (capacity 3, available).
    pub agent: String,
}

/// `sha256=<hex>` of `body` under `secret`, computed independently of the service.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Meta-shaped notification with one change for `phone_number_id`.
pub fn notification(phone_number_id: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({
        "display_phone_number": "15550783881",
        "phone_number_id": phone_number_id,
    });
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": WABA_ID, "changes": [{ "value": value, "field": "messages" }] }]
    })
}

/// A customer's text message as Meta delivers it.
pub fn text_message(wa_id: &str, name: &str, wamid: &str, unix_secs: i64, body: &str) -> Value {
    notification(
        PHONE_NUMBER_ID,
        json!({
            "contacts": [{ "profile": { "name": name }, "wa_id": wa_id }],
            "messages": [{
                "from": wa_id, "id": wamid, "timestamp": unix_secs.to_string(),
                "type": "text", "text": { "body": body }
            }]
        }),
    )
}

/// A customer's image (one picture of an album) as Meta delivers it.
pub fn image_message(wa_id: &str, wamid: &str, unix_secs: i64, media_id: &str) -> Value {
    notification(
        PHONE_NUMBER_ID,
        json!({
            "contacts": [{ "profile": { "name": "Ana" }, "wa_id": wa_id }],
            "messages": [{
                "from": wa_id, "id": wamid, "timestamp": unix_secs.to_string(), "type": "image",
                "image": { "mime_type": "image/jpeg", "sha256": "c5f1b3", "id": media_id }
            }]
        }),
    )
}

/// A status callback for an outbound message.
pub fn status_update(wamid: &str, status: &str, unix_secs: i64, recipient: &str) -> Value {
    let mut item = json!({
        "id": wamid, "status": status, "timestamp": unix_secs.to_string(),
        "recipient_id": recipient,
        "conversation": { "id": "CONVERSATION_ID", "origin": { "type": "service" } },
        "pricing": { "billable": true, "pricing_model": "CBP", "category": "service" }
    });
    if status == "failed" {
        item["errors"] = json!([{
            "code": 131047, "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": { "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number." }
        }]);
    }
    notification(PHONE_NUMBER_ID, json!({ "statuses": [item] }))
}

pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn wamid() -> String {
    format!("wamid.HBgL{}", uuid::Uuid::now_v7().simple())
}

/// A directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl ChannelWorld {
    /// Presence, routing and channel on `backend`; `tune` adjusts settings before start.
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        Self::with_settings(backend, |_| {}).await
    }

    pub async fn with_settings(
        backend: Backend,
        tune: impl FnOnce(&mut switchboard_runtime::Settings),
    ) -> anyhow::Result<Self> {
        Self::with_simulator(backend, StatusPlan::default(), tune).await
    }

    /// As [`Self::with_settings`], with the simulator's status callbacks as `plan` says.
    pub async fn with_simulator(
        backend: Backend,
        plan: StatusPlan,
        tune: impl FnOnce(&mut switchboard_runtime::Settings),
    ) -> anyhow::Result<Self> {
        Self::with_targets(backend, plan, tune, &[]).await
    }

    /// As [`Self::with_simulator`], with `extra` targets (e.g. ticketing) started too.
    pub async fn with_targets(
        backend: Backend,
        plan: StatusPlan,
        tune: impl FnOnce(&mut switchboard_runtime::Settings),
        extra: &[Service],
    ) -> anyhow::Result<Self> {
        let sim = Simulator::start(SimConfig {
            app_secret: APP_SECRET.into(),
            accounts: vec![SimAccount::new(PHONE_NUMBER_ID, WABA_ID, TOKEN)],
            templates: vec![
                SimTemplate::approved(
                    WABA_ID,
                    TEMPLATE,
                    "es_AR",
                    "UTILITY",
                    "Hola {{1}}, ¿seguimos con tu caso {{2}}?",
                ),
                SimTemplate::hello_world(WABA_ID),
            ],
            status_callbacks: plan,
            callback_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .await?;
        let secrets_dir =
            std::env::temp_dir().join(format!("sb-secrets-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&secrets_dir)?;
        std::fs::write(secrets_dir.join("wa-token-test"), TOKEN)?;
        let mut env = TestEnv::new(backend).await?;
        env.settings.routing.sweep_interval_ms = 100;
        env.settings.channel.whatsapp.app_secret = APP_SECRET.into();
        env.settings.channel.whatsapp.verify_token = VERIFY_TOKEN.into();
        env.settings.channel.whatsapp.graph_base_url = sim.base_url();
        env.settings.channel.whatsapp.secrets_dir = secrets_dir.display().to_string();
        env.settings.channel.whatsapp.dispatch_interval_ms = 50;
        tune(&mut env.settings);
        let mut targets = vec![
            Service::Presence,
            Service::Routing,
            Service::Channel,
            Service::Ticketing,
        ];
        targets.extend(
            extra
                .iter()
                .filter(|s| !targets.contains(s))
                .copied()
                .collect::<Vec<_>>(),
        );
        let world = World::launch(env, &targets).await?;
        let mut channel = ChannelServiceClient::new(world.suite.channel(Service::Channel).await?);
        let webhook = world.suite.webhook.expect("channel runs");
        let account = channel
            .create_channel_account(ch::CreateChannelAccountRequest {
                request_id: rid(),
                organization_id: world.org.clone(),
                actor_agent_id: world.admin.clone(),
                channel_account: Some(ch::ChannelAccount {
                    display_name: "Soporte AR".into(),
                    phone_number_id: PHONE_NUMBER_ID.into(),
                    display_phone_number: "+1 555-078-3881".into(),
                    waba_id: WABA_ID.into(),
                    access_token_secret_ref: "wa-token-test".into(),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .channel_account
            .expect("account")
            .id;
        sim.set_webhook_url(format!("http://{webhook}/webhooks/whatsapp"));
        let mut this = Self {
            world,
            sim,
            _secrets_dir: TempDir(secrets_dir),
            channel,
            http: reqwest::Client::new(),
            webhook_url: format!("http://{webhook}/webhooks/whatsapp"),
            account,
            team: String::new(),
            agent: String::new(),
        };
        this.world.account = this.account.clone();
        this.agent = this.world.agent("Lucía", 3).await?;
        let agent = this.agent.clone();
        this.team = this
            .world
            .team("Soporte", pb::TeamStrategy::LeastOpen, &[&agent], |_| {})
            .await?;
        let team = this.team.clone();
        this.world
            .link(&[&team], &[], Some(team_target(&team)))
            .await?;
        Ok(this)
    }

    /// Stops the services, then the simulator.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.world.suite.stop().await?;
        self.sim.stop().await;
        Ok(())
    }

    /// POSTs `body` with `signature` (None: no header); returns the status and the text.
    pub async fn post_raw(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> anyhow::Result<(u16, String)> {
        let mut req = self
            .http
            .post(&self.webhook_url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(sig) = signature {
            req = req.header("X-Hub-Signature-256", sig);
        }
        let res = req.send().await?;
        Ok((res.status().as_u16(), res.text().await?))
    }

    /// POSTs `body` signed with the app secret, as Meta does.
    pub async fn post(&self, body: &Value) -> anyhow::Result<u16> {
        let raw = serde_json::to_vec(body)?;
        Ok(self
            .post_raw(&raw, Some(&signature(APP_SECRET, &raw)))
            .await?
            .0)
    }

    /// The customer `wa_id` writes `text` through the simulator; returns the wamid.
    pub async fn customer_writes(
        &self,
        wa_id: &str,
        name: &str,
        text: &str,
    ) -> anyhow::Result<String> {
        let (wamid, status) = self
            .sim
            .customer_writes(
                PHONE_NUMBER_ID,
                wa_id,
                name,
                json!({ "type": "text", "text": { "body": text } }),
            )
            .await?;
        anyhow::ensure!(status == 200, "the webhook answered {status}");
        Ok(wamid)
    }

    /// Re-reads the number's templates from the simulator.
    pub async fn sync_templates(&self) -> anyhow::Result<i32> {
        Ok(self
            .channel
            .clone()
            .sync_templates(ch::SyncTemplatesRequest {
                request_id: rid(),
                organization_id: self.world.org.clone(),
                channel_account_id: self.account.clone(),
            })
            .await?
            .into_inner()
            .template_count)
    }

    /// One message.
    pub async fn message(&self, id: &str) -> anyhow::Result<ch::Message> {
        Ok(self
            .channel
            .clone()
            .get_message(ch::GetMessageRequest {
                organization_id: self.world.org.clone(),
                message_id: id.into(),
            })
            .await?
            .into_inner()
            .message
            .expect("message"))
    }

    /// Waits until message `id` has `status`.
    pub async fn until_status(
        &self,
        id: &str,
        status: ch::MessageStatus,
    ) -> anyhow::Result<ch::Message> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let m = self.message(id).await?;
            if m.status == status as i32 {
                return Ok(m);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "message {id} is {:?}, not {status:?}, after 10 s",
                ch::MessageStatus::try_from(m.status)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The contact with `wa_id`, if stored.
    pub async fn contact(&self, wa_id: &str) -> anyhow::Result<Option<ch::Contact>> {
        match self
            .channel
            .clone()
            .get_contact(ch::GetContactRequest {
                organization_id: self.world.org.clone(),
                lookup: Some(ch::get_contact_request::Lookup::WaId(wa_id.into())),
            })
            .await
        {
            Ok(r) => Ok(r.into_inner().contact),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(s.into()),
        }
    }

    /// Every message of a contact, oldest first.
    pub async fn messages_of(&self, contact_id: &str) -> anyhow::Result<Vec<ch::Message>> {
        Ok(self
            .channel
            .clone()
            .list_contact_messages(ch::ListContactMessagesRequest {
                organization_id: self.world.org.clone(),
                contact_id: contact_id.into(),
                order: ch::MessageOrder::OldestFirst as i32,
                page: Some(switchboard_proto::common::v1::PageRequest {
                    page_size: 500,
                    page_token: String::new(),
                }),
                ..Default::default()
            })
            .await?
            .into_inner()
            .messages)
    }

    /// Every conversation of a contact (operator view).
    pub async fn conversations_of(
        &self,
        contact_id: &str,
    ) -> anyhow::Result<Vec<pb::Conversation>> {
        Ok(self
            .world
            .routing
            .clone()
            .list_conversations(pb::ListConversationsRequest {
                organization_id: self.world.org.clone(),
                actor_agent_id: self.world.admin.clone(),
                contact_id: contact_id.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .conversations)
    }

    /// Waits until every message of the contact is attached to a conversation; returns them.
    pub async fn routed_messages(
        &self,
        contact_id: &str,
        count: usize,
    ) -> anyhow::Result<Vec<ch::Message>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let messages = self.messages_of(contact_id).await?;
            if messages.len() == count && messages.iter().all(|m| !m.conversation_id.is_empty()) {
                return Ok(messages);
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!(
                    "{} of {count} messages, {} routed, after 15 s",
                    messages.len(),
                    messages
                        .iter()
                        .filter(|m| !m.conversation_id.is_empty())
                        .count()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
