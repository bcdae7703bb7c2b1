//! Business hours and automatic messages, end to end: a customer writes through a signed
//! webhook (delivered several times, as Meta may), routing decides, and the automatic message
//! (out of hours, no agent available, all at capacity, assigned) reaches the Graph API
//! simulator exactly once per trigger, also with two routing replicas on the cluster backend,
//! and shows in the conversation's history with a system sender. The configuration RPCs
//! through the gateway are in `gateway_hours.rs` (named so the gateway coverage check reads
//! them).

use std::time::Duration;

use switchboard_proto::{
    channel::v1 as ch,
    common::v1::{ActorKind, AgentStatus},
    routing::v1 as pb,
};
use switchboard_runtime::Service;
use switchboard_testkit::Backend;
use tokio_util::sync::CancellationToken;

use crate::{
    channel_support::{ChannelWorld, text_message, wamid},
    on_both_backends,
    routing_support::{rid, team_target},
    ticketing_support::event,
};

#[path = "gateway_hours.rs"]
mod gateway_hours;

/// Every day of the week.
pub const WEEK: [pb::Weekday; 7] = [
    pb::Weekday::Monday,
    pb::Weekday::Tuesday,
    pb::Weekday::Wednesday,
    pb::Weekday::Thursday,
    pb::Weekday::Friday,
    pb::Weekday::Saturday,
    pb::Weekday::Sunday,
];

/// A schedule in `zone` open `start`–`end` (minutes) every day.
pub fn every_day(zone: &str, start: i32, end: i32) -> pb::BusinessHours {
    pb::BusinessHours {
        time_zone: zone.into(),
        days: WEEK
            .iter()
            .map(|d| pb::DayHours {
                weekday: *d as i32,
                intervals: vec![pb::TimeInterval {
                    start_minute: start,
                    end_minute: end,
                }],
            })
            .collect(),
        ..Default::default()
    }
}

/// A fixed-offset zone (`Etc/GMT±N`) where `now` is around noon, so a test never straddles a
/// local midnight by accident.
pub fn noon_zone(now: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    // Etc/GMT+N is N hours behind UTC.
    let behind = now.hour() as i32 - 12;
    match behind {
        0 => "Etc/GMT".into(),
        n if n > 0 => format!("Etc/GMT+{n}"),
        n => format!("Etc/GMT{n}"),
    }
}

/// A channel world whose number's automatic messages are all on, plus (on the cluster
/// backend, when asked) a second routing replica sharing its database and Redis.
struct Auto {
    w: ChannelWorld,
    replica: Option<(switchboard::Running, CancellationToken)>,
}

const OUT_OF_HOURS: &str = "Estamos fuera de horario, {{contact_name}}. Te respondemos mañana.";
const NO_AGENT: &str = "No hay agentes disponibles: sos el número {{queue_position}} (espera estimada: {{estimated_wait}}).";
const AT_CAPACITY: &str =
    "Todos nuestros agentes están ocupados: sos el número {{queue_position}}.";
const ASSIGNED: &str = "{{agent_name}} te atenderá.";

impl Auto {
    async fn new(backend: Backend, replicas: bool) -> anyhow::Result<Self> {
        let w = ChannelWorld::new(backend).await?;
        let replica = if replicas && backend == Backend::Cluster {
            let infra = w.world.suite.infra().expect("running");
            let mut settings = (*infra.settings).clone();
            let grpc = &w.world.suite.grpc;
            settings.endpoints.presence = format!("http://{}", grpc[&Service::Presence]);
            settings.endpoints.channel = format!("http://{}", grpc[&Service::Channel]);
            settings.endpoints.ticketing = format!("http://{}", grpc[&Service::Ticketing]);
            let token = CancellationToken::new();
            let running = switchboard::start(settings, &[Service::Routing], token.clone()).await?;
            Some((running, token))
        } else {
            None
        };
        Ok(Self { w, replica })
    }

    fn org(&self) -> String {
        self.w.world.org.clone()
    }

    async fn set_hours(&mut self, hours: Option<pb::BusinessHours>) -> anyhow::Result<()> {
        let org = self.org();
        let admin = self.w.world.admin.clone();
        self.w
            .world
            .routing
            .update_business_hours(pb::UpdateBusinessHoursRequest {
                request_id: rid(),
                organization_id: org,
                actor_agent_id: admin,
                channel_account_id: String::new(),
                business_hours: hours,
            })
            .await?;
        Ok(())
    }

    async fn set_messages(
        &mut self,
        tune: impl FnOnce(&mut pb::AutomaticMessages),
    ) -> anyhow::Result<()> {
        let on = |text: &str| {
            Some(pb::AutomaticMessage {
                enabled: true,
                text: text.into(),
            })
        };
        let mut messages = pb::AutomaticMessages {
            channel_account_id: self.w.account.clone(),
            out_of_hours: Some(pb::OutOfHoursMessage {
                enabled: true,
                text: OUT_OF_HOURS.into(),
                frequency: pb::OutOfHoursFrequency::OncePerConversation as i32,
            }),
            no_agent_available: on(NO_AGENT),
            all_at_capacity: on(AT_CAPACITY),
            assigned: on(ASSIGNED),
            skip_campaign_replies: true,
            update_time: None,
        };
        tune(&mut messages);
        let org = self.org();
        let admin = self.w.world.admin.clone();
        self.w
            .world
            .routing
            .update_automatic_messages(pb::UpdateAutomaticMessagesRequest {
                request_id: rid(),
                organization_id: org,
                actor_agent_id: admin,
                automatic_messages: Some(messages),
            })
            .await?;
        Ok(())
    }

    /// The customer `wa_id` writes once, and Meta delivers the same webhook `times` times.
    /// Returns the conversation the message landed in.
    async fn customer_writes(
        &self,
        wa_id: &str,
        name: &str,
        times: usize,
    ) -> anyhow::Result<String> {
        let now = self.w.world.clock().now_ms() / 1000;
        let id = wamid();
        let body = text_message(wa_id, name, &id, now, "hola, ¿hay alguien?");
        for _ in 0..times {
            anyhow::ensure!(self.w.post(&body).await? == 200, "the webhook refused");
        }
        self.conversation_of(wa_id, &id).await
    }

    /// The conversation the customer's message `wamid` landed in, once routed.
    async fn conversation_of(&self, wa_id: &str, wamid: &str) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(contact) = self.w.contact(wa_id).await? {
                let messages = self.w.messages_of(&contact.id).await?;
                if let Some(m) = messages
                    .iter()
                    .find(|m| m.wamid == wamid && !m.conversation_id.is_empty())
                {
                    return Ok(m.conversation_id.clone());
                }
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "message {wamid} of {wa_id} never reached a conversation"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The texts the simulator was asked to send to `wa_id` that equal `text`.
    fn sent_to(&self, wa_id: &str, text: &str) -> usize {
        self.w
            .sim
            .sent()
            .iter()
            .filter(|s| s.to.trim_start_matches('+') == wa_id && s.body["type"] == "text")
            .filter(|s| s.body["text"]["body"] == text)
            .count()
    }

    /// Waits until `text` was sent to `wa_id` once, then a moment more, and checks it stayed
    /// once.
    async fn exactly_once(&self, wa_id: &str, text: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.sent_to(wa_id, text) == 0 {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{text:?} never sent to {wa_id}; sent: {:?}",
                self.texts_to(wa_id)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let n = self.sent_to(wa_id, text);
        anyhow::ensure!(n == 1, "{text:?} sent {n} times to {wa_id}");
        Ok(())
    }

    fn texts_to(&self, wa_id: &str) -> Vec<String> {
        self.w
            .sim
            .sent()
            .iter()
            .filter(|s| s.to.trim_start_matches('+') == wa_id && s.body["type"] == "text")
            .map(|s| {
                s.body["text"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    /// The conversation's messages sent by the system, as channel's history shows them.
    async fn system_messages(&self, conversation: &str) -> anyhow::Result<Vec<String>> {
        let messages = self
            .w
            .channel
            .clone()
            .list_conversation_messages(ch::ListConversationMessagesRequest {
                organization_id: self.org(),
                conversation_id: conversation.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .messages;
        Ok(messages
            .into_iter()
            .filter(|m| {
                m.sender
                    .as_ref()
                    .is_some_and(|s| s.kind == ActorKind::System as i32)
            })
            .filter_map(|m| match m.content.and_then(|c| c.content) {
                Some(ch::message_content::Content::Text(t)) => Some(t.body),
                _ => None,
            })
            .collect())
    }

    async fn set_capacity(&mut self, agent: &str, capacity: i32) -> anyhow::Result<()> {
        let org = self.org();
        let admin = self.w.world.admin.clone();
        self.w
            .world
            .routing
            .update_agent(pb::UpdateAgentRequest {
                request_id: rid(),
                organization_id: org,
                actor_agent_id: admin,
                agent: Some(pb::Agent {
                    id: agent.into(),
                    capacity,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["capacity".into()],
                }),
            })
            .await?;
        Ok(())
    }

    async fn stop(self) -> anyhow::Result<()> {
        if let Some((running, token)) = self.replica {
            token.cancel();
            tokio::time::timeout(Duration::from_secs(10), running.wait())
                .await
                .map_err(|_| anyhow::anyhow!("the replica did not stop"))??;
        }
        self.w.stop().await
    }
}

/// The routing app on the service's own storage, as a restarted consumer would run it.
async fn restarted_consumer(a: &Auto) -> anyhow::Result<switchboard_routing::app::Routing> {
    use std::sync::Arc;
    use switchboard_routing::app::{
        PresenceClient, Routing, RoutingMetrics, channel::ChannelClient, tickets::TicketingClient,
    };
    let infra = a.w.world.suite.infra().expect("running");
    let db = switchboard_runtime::db::connect(&infra.settings.database, Service::Routing).await?;
    Ok(Routing::new(
        switchboard_routing::store::Store::new(
            db,
            switchboard_runtime::outbox::RelayWaker::default(),
        ),
        PresenceClient::new(infra.endpoints.clone()),
        Arc::new(ChannelClient::new(infra.endpoints.clone())),
        Arc::new(TicketingClient::new(infra.endpoints.clone())),
        infra.clock.clone(),
        infra.settings.routing.conversation_ttl_secs as i64 * 1000,
        RoutingMetrics::new(&switchboard_runtime::metrics::Metrics::new()),
    ))
}

/// Closed now, in UTC: open two hours from now for an hour, every day.
fn closed_now(w: &Auto) -> pb::BusinessHours {
    use chrono::Timelike;
    let now = w.w.world.clock().now();
    let minute = (now.hour() * 60 + now.minute()) as i32;
    every_day("UTC", (minute + 120) % 1440, (minute + 180) % 1440)
}

async fn each_automatic_message_goes_once_per_trigger_whatever_the_redeliveries(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut a = Auto::new(backend, true).await?;
    let agent = a.w.agent.clone();
    a.set_messages(|_| {}).await?;

    // Out of hours: the out-of-hours message, then (Lucía is free) the assigned one.
    a.set_hours(Some(closed_now(&a))).await?;
    let ana = "5491155551001";
    let conv = a.customer_writes(ana, "Ana", 5).await?;
    a.exactly_once(ana, &OUT_OF_HOURS.replace("{{contact_name}}", "Ana"))
        .await?;
    a.exactly_once(ana, "Lucía te atenderá.").await?;
    let history = a.system_messages(&conv).await?;
    assert!(
        history
            .iter()
            .any(|t| t.starts_with("Estamos fuera de horario, Ana")),
        "the out-of-hours message is in the history with a system sender: {history:?}"
    );
    assert!(
        history.contains(&"Lucía te atenderá.".to_string()),
        "{history:?}"
    );

    // The creation event again, five times on the bus and five times at once to a restarted
    // consumer that never saw it acknowledged: nothing more goes out.
    let created = pb::ConversationChanged {
        conversation_id: conv.clone(),
        state: pb::ConversationState::Assigned as i32,
        cause: pb::TransitionCause::Routed as i32,
        assignee_agent_id: agent.clone(),
        channel_account_id: a.w.account.clone(),
        version: 1,
        ..Default::default()
    };
    let replayed = event(&a.org(), &conv, &created);
    let bus = a.w.world.suite.infra().expect("running").bus.clone();
    for _ in 0..5 {
        bus.publish(&replayed).await?;
    }
    let restarted = restarted_consumer(&a).await?;
    let handled =
        futures::future::join_all((0..5).map(|_| restarted.on_conversation_changed(&replayed)))
            .await;
    for h in handled {
        h.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        a.sent_to(ana, &OUT_OF_HOURS.replace("{{contact_name}}", "Ana")),
        1,
        "a redelivered trigger sends nothing more"
    );
    assert_eq!(a.sent_to(ana, "Lucía te atenderá."), 1);

    // Open from now on: nobody available, then everyone at capacity, then a slot frees.
    a.set_hours(Some(every_day("UTC", 0, 1440))).await?;
    a.w.world.set_status(&agent, AgentStatus::Away).await?;
    let bruno = "5491155551002";
    let waiting = a.customer_writes(bruno, "Bruno", 5).await?;
    a.exactly_once(
        bruno,
        "No hay agentes disponibles: sos el número 1 (espera estimada: —).",
    )
    .await?;
    assert_eq!(
        a.sent_to(bruno, &OUT_OF_HOURS.replace("{{contact_name}}", "Bruno")),
        0,
        "inside business hours there is no out-of-hours message"
    );

    // Lucía holds Ana's conversation; with capacity 1 she is full when she comes back.
    a.set_capacity(&agent, 1).await?;
    a.w.world.set_status(&agent, AgentStatus::Available).await?;
    let carla = "5491155551003";
    let full = a.customer_writes(carla, "Carla", 5).await?;
    a.exactly_once(
        carla,
        "Todos nuestros agentes están ocupados: sos el número 2.",
    )
    .await?;

    // Room for all: both waiting conversations are offered to Lucía, each announced once.
    a.set_capacity(&agent, 3).await?;
    a.exactly_once(bruno, "Lucía te atenderá.").await?;
    a.exactly_once(carla, "Lucía te atenderá.").await?;
    for conv in [&waiting, &full] {
        let c = a.w.world.get(conv).await?;
        assert_eq!(c.assignee_agent_id, agent);
    }

    // Bruno and Carla waited (seconds, not minutes): the estimate has a history now.
    a.w.world.set_status(&agent, AgentStatus::Away).await?;
    let diego = "5491155551004";
    a.customer_writes(diego, "Diego", 2).await?;
    a.exactly_once(
        diego,
        "No hay agentes disponibles: sos el número 1 (espera estimada: 1 min).",
    )
    .await?;

    // Each trigger counted once, whatever the redeliveries.
    let metrics = reqwest::get(format!("http://{}/metrics", a.w.world.suite.metrics))
        .await?
        .text()
        .await?;
    let sent = |kind: &str| {
        switchboard_runtime::metrics::sum_samples(
            &metrics,
            "switchboard_routing_automatic_messages_total",
            &[("kind", kind), ("outcome", "sent")],
        )
        .unwrap_or(0.0)
    };
    // With two replicas each process counts what it sent: the total is checked on embedded.
    if a.replica.is_none() {
        assert_eq!(sent("out_of_hours"), 1.0, "{metrics}");
        assert_eq!(sent("no_agent_available"), 2.0);
        assert_eq!(sent("all_at_capacity"), 1.0);
        assert_eq!(sent("assigned"), 3.0);
    }
    a.stop().await
}
on_both_backends!(each_automatic_message_goes_once_per_trigger_whatever_the_redeliveries);

async fn none_inside_hours_and_none_for_a_campaign_reply(backend: Backend) -> anyhow::Result<()> {
    let mut a = Auto::new(backend, false).await?;
    a.set_messages(|m| {
        m.assigned = None;
    })
    .await?;
    // Open all day: no out-of-hours message.
    a.set_hours(Some(every_day("UTC", 0, 1440))).await?;
    let ana = "5491155552001";
    a.customer_writes(ana, "Ana", 2).await?;
    // The consumer judges a new conversation against the schedule it reads when it handles the
    // creation: let it handle Ana's before the schedule changes (on a loaded machine it trails
    // the routing by more than the next few calls take).
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Closed, but the customer answers a campaign: skipped.
    a.set_hours(Some(closed_now(&a))).await?;
    let campaign =
        a.w.world
            .routing
            .create_campaign(pb::CreateCampaignRequest {
                request_id: rid(),
                organization_id: a.org(),
                actor_agent_id: a.w.world.admin.clone(),
                campaign: Some(pb::Campaign {
                    name: "Renovación".into(),
                    channel_account_id: a.w.account.clone(),
                    continue_with_human: true,
                    human_target: Some(team_target(&a.w.team)),
                    reply_window: Some(prost_types::Duration {
                        seconds: 72 * 3600,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .campaign
            .expect("campaign")
            .id;
    a.w.sync_templates().await?;
    let bruno = "5491155552002";
    let sent =
        a.w.channel
            .clone()
            .send_campaign(ch::SendCampaignRequest {
                request_id: rid(),
                organization_id: a.org(),
                actor_agent_id: a.w.world.admin.clone(),
                campaign_id: campaign.clone(),
                template: Some(ch::TemplateContent {
                    name: crate::channel_support::TEMPLATE.into(),
                    language_code: "es_AR".into(),
                    components: vec![ch::TemplateComponent {
                        kind: ch::TemplateComponentKind::Body as i32,
                        parameters: ["Bruno", "123"]
                            .iter()
                            .map(|p| ch::TemplateParameter {
                                value: Some(ch::template_parameter::Value::Text((*p).into())),
                            })
                            .collect(),
                        ..Default::default()
                    }],
                    rendered_body: String::new(),
                }),
                recipients: vec![ch::CampaignRecipient {
                    recipient: Some(ch::campaign_recipient::Recipient::PhoneNumber(format!(
                        "+{bruno}"
                    ))),
                    components: vec![],
                }],
            })
            .await?
            .into_inner();
    let message_id = sent.results[0].message_id.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let campaign_wamid = loop {
        let m = a.w.message(&message_id).await?;
        if !m.wamid.is_empty() {
            break m.wamid;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "campaign never sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (reply_wamid, status) =
        a.w.sim
            .customer_writes(
                crate::channel_support::PHONE_NUMBER_ID,
                bruno,
                "Bruno",
                serde_json::json!({
                    "type": "text", "text": { "body": "me interesa" },
                    "context": { "from": "15550783881", "id": campaign_wamid }
                }),
            )
            .await?;
    assert_eq!(status, 200);
    let reply = a.conversation_of(bruno, &reply_wamid).await?;
    let conv = a.w.world.get(&reply).await?;
    assert_eq!(conv.campaign_id, campaign, "a campaign reply");

    // A control conversation out of hours does get the message, so the silence above is the
    // rule and not a slow consumer.
    let carla = "5491155552003";
    a.customer_writes(carla, "Carla", 1).await?;
    a.exactly_once(carla, &OUT_OF_HOURS.replace("{{contact_name}}", "Carla"))
        .await?;
    assert!(
        a.texts_to(ana).is_empty(),
        "inside business hours: nothing sent to Ana: {:?}",
        a.texts_to(ana)
    );
    assert!(
        a.texts_to(bruno).is_empty(),
        "a campaign reply gets no automatic message: {:?}",
        a.texts_to(bruno)
    );
    a.stop().await
}
on_both_backends!(none_inside_hours_and_none_for_a_campaign_reply);

async fn out_of_hours_once_per_day_per_contact(backend: Backend) -> anyhow::Result<()> {
    let mut a = Auto::new(backend, false).await?;
    a.set_messages(|m| {
        m.assigned = None;
        if let Some(o) = m.out_of_hours.as_mut() {
            o.frequency = pb::OutOfHoursFrequency::OncePerDayPerContact as i32;
        }
    })
    .await?;
    // Never open, in a zone where it is about noon now.
    let zone = noon_zone(a.w.world.clock().now());
    a.set_hours(Some(pb::BusinessHours {
        time_zone: zone,
        ..Default::default()
    }))
    .await?;
    let agent = a.w.agent.clone();
    let ana = "5491155553001";
    let text = OUT_OF_HOURS.replace("{{contact_name}}", "Ana");
    let first = a.customer_writes(ana, "Ana", 1).await?;
    a.exactly_once(ana, &text).await?;
    a.w.world.open(&agent, &first).await?;
    a.w.world.close(&agent, &first).await?;

    // The same local day, a new conversation: no second message.
    let second = a.customer_writes(ana, "Ana", 1).await?;
    assert_ne!(first, second, "a new conversation");
    // Wait for its assignment (routing handled it), then a moment for the consumer.
    a.w.world
        .until(&second, "assigned", |c| !c.assignee_agent_id.is_empty())
        .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(a.sent_to(ana, &text), 1, "once per day per contact");
    a.w.world.open(&agent, &second).await?;
    a.w.world.close(&agent, &second).await?;

    // The next day: again.
    a.w.world.clock().advance(Duration::from_secs(24 * 3600));
    let third = a.customer_writes(ana, "Ana", 1).await?;
    assert_ne!(third, second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while a.sent_to(ana, &text) < 2 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no out-of-hours message the next day: {:?}",
            a.texts_to(ana)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(a.system_messages(&third).await?, vec![text.clone()]);
    assert!(a.system_messages(&second).await?.is_empty());
    a.stop().await
}
on_both_backends!(out_of_hours_once_per_day_per_contact);
