//! The integrations service over real gRPC: the event feed (resume without gap or reordering,
//! stale and malformed cursors) fed by real WhatsApp webhooks through channel and routing, and
//! outgoing webhooks (retries until a 2xx, signatures, the delivery log, replay, tenancy, bad
//! input).

use std::{collections::HashSet, time::Duration};

use switchboard_graph_sim::StatusPlan;
use switchboard_proto::{
    common::v1::Role,
    integrations::v1::{self as pb, integrations_service_client::IntegrationsServiceClient},
    routing::v1 as rt,
};
use switchboard_runtime::{Service, errors};
use switchboard_testkit::Backend;

use crate::{
    channel_support::ChannelWorld,
    integrations_support::{IntegrationsClient, Receiver, read_until, verify_signature},
    on_both_backends,
    routing_support::rid,
    ticketing_support::wa_id,
};

async fn world(
    backend: Backend,
    tune: impl FnOnce(&mut switchboard_runtime::Settings),
) -> anyhow::Result<(ChannelWorld, IntegrationsClient)> {
    let w = ChannelWorld::with_targets(
        backend,
        StatusPlan::default(),
        |s| {
            s.integrations.webhooks.allow_loopback = true;
            s.integrations.webhooks.dispatch_interval_ms = 50;
            tune(s);
        },
        &[Service::Integrations],
    )
    .await?;
    let client =
        IntegrationsServiceClient::new(w.world.suite.channel(Service::Integrations).await?);
    Ok((w, client))
}

fn stream_request(w: &ChannelWorld, cursor: &str, from_oldest: bool) -> pb::StreamEventsRequest {
    pb::StreamEventsRequest {
        organization_id: w.world.org.clone(),
        actor_agent_id: w.world.admin.clone(),
        cursor: cursor.into(),
        topics: vec![],
        from_oldest,
    }
}

/// The conversation ids of `events`' ConversationChanged payloads.
fn conversations(events: &[pb::FeedEvent]) -> HashSet<String> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(pb::feed_event::Payload::ConversationChanged(c)) => {
                Some(c.conversation_id.clone())
            }
            _ => None,
        })
        .collect()
}

/// Whether `events` hold a conversation close of `conversation`.
fn closed(events: &[pb::FeedEvent], conversation: &str) -> bool {
    events.iter().any(|e| {
        matches!(&e.payload, Some(pb::feed_event::Payload::ConversationChanged(c))
            if c.conversation_id == conversation && c.state == rt::ConversationState::Closed as i32)
    })
}

/// A customer writes; waits for the message's conversation; returns its id.
async fn customer_conversation(w: &ChannelWorld, text: &str) -> anyhow::Result<String> {
    let wa = wa_id();
    w.customer_writes(&wa, "Cliente", text).await?;
    let contact = w.contact(&wa).await?.expect("contact").id;
    Ok(w.routed_messages(&contact, 1)
        .await?
        .remove(0)
        .conversation_id)
}

async fn a_feed_consumer_resumes_from_its_cursor(backend: Backend) -> anyhow::Result<()> {
    let (mut w, mut feed) = world(backend, |_| {}).await?;
    let agent = w.agent.clone();

    // A consumer reads from the start: two conversations arrive, one is opened and closed.
    let mut first = feed
        .stream_events(stream_request(&w, "", true))
        .await?
        .into_inner();
    let c1 = customer_conversation(&w, "Hola, ¿me ayudan?").await?;
    let c2 = customer_conversation(&w, "Buenas tardes").await?;
    w.world.open(&agent, &c1).await?;
    w.world.close(&agent, &c1).await?;
    let seen = read_until(&mut first, 20, |e| {
        let convs = conversations(e);
        convs.contains(&c2) && closed(e, &c1)
    })
    .await?;
    let cursor = seen.last().expect("events").cursor.clone();
    drop(first);

    // Disconnected: more conversations happen, and a transfer.
    let c3 = customer_conversation(&w, "Necesito una factura").await?;
    let c4 = customer_conversation(&w, "Hola otra vez").await?;
    w.world.open(&agent, &c3).await?;
    w.world.close(&agent, &c3).await?;

    // It resumes from its cursor.
    let mut resumed = feed
        .stream_events(stream_request(&w, &cursor, false))
        .await?
        .into_inner();
    let after = read_until(&mut resumed, 20, |e| {
        conversations(e).contains(&c4) && closed(e, &c3)
    })
    .await?;
    drop(resumed);

    // Against the whole feed read from the oldest event: what the consumer saw, deduplicated
    // by event id, is exactly a prefix of it, in the same order (no gap, no reordering).
    let last_id = after.last().expect("events").event_id.clone();
    let mut all_stream = feed
        .stream_events(stream_request(&w, "", true))
        .await?
        .into_inner();
    let all = read_until(&mut all_stream, 20, |e| {
        e.iter().any(|x| x.event_id == last_id)
    })
    .await?;
    let mut ids = HashSet::new();
    let consumer: Vec<&str> = seen
        .iter()
        .chain(after.iter())
        .filter(|e| ids.insert(e.event_id.clone()))
        .map(|e| e.event_id.as_str())
        .collect();
    let whole: Vec<&str> = all.iter().map(|e| e.event_id.as_str()).collect();
    anyhow::ensure!(
        consumer == whole,
        "the resumed consumer's events differ from the feed:\n consumer {consumer:?}\n feed     {whole:?}"
    );
    let topics: HashSet<&str> = all.iter().map(|e| e.topic.as_str()).collect();
    for t in ["routing.conversation.changed", "channel.message.received"] {
        anyhow::ensure!(topics.contains(t), "no {t} in {topics:?}");
    }
    anyhow::ensure!(
        all.iter()
            .all(|e| e.payload.is_some() && e.organization_id == w.world.org),
        "every event is typed and of the organization"
    );

    // A malformed cursor names the field.
    let bad = feed
        .stream_events(stream_request(&w, "not-a-cursor", false))
        .await
        .expect_err("a malformed cursor is refused");
    let bad = errors::from_status(&bad);
    anyhow::ensure!(
        bad.code == tonic::Code::InvalidArgument
            && bad.field_violations.iter().any(|v| v.field == "cursor"),
        "{bad:?}"
    );

    // An agent may not read the feed.
    let denied = feed
        .stream_events(pb::StreamEventsRequest {
            actor_agent_id: agent.clone(),
            ..stream_request(&w, "", false)
        })
        .await
        .expect_err("agents do not read the feed");
    anyhow::ensure!(denied.code() == tonic::Code::PermissionDenied, "{denied:?}");

    // Past the retention the cursor is stale: resync.
    w.world.clock().advance(Duration::from_secs(
        w.world
            .suite
            .infra()
            .expect("running")
            .settings
            .integrations
            .feed
            .retention_secs
            + 3600,
    ));
    let stale = feed
        .stream_events(stream_request(&w, &cursor, false))
        .await
        .expect_err("a cursor older than the retention is refused");
    let stale = errors::from_status(&stale);
    anyhow::ensure!(
        stale.code == tonic::Code::FailedPrecondition
            && stale.reason == Some(errors::Reason::CursorExpired),
        "{stale:?}"
    );
    w.stop().await
}
on_both_backends!(a_feed_consumer_resumes_from_its_cursor);

fn endpoint(url: &str, topics: &[&str]) -> pb::WebhookEndpoint {
    pb::WebhookEndpoint {
        url: url.into(),
        topics: topics.iter().map(|t| (*t).to_string()).collect(),
        description: "CRM".into(),
        enabled: true,
        ..Default::default()
    }
}

async fn a_failing_endpoint_gets_the_event_on_its_fourth_attempt(
    backend: Backend,
) -> anyhow::Result<()> {
    let (mut w, mut hooks) = world(backend, |s| {
        s.integrations.webhooks.retry_schedule_ms = vec![0, 150, 150, 150, 150];
    })
    .await?;
    let receiver = Receiver::start(vec![500, 503, 502]).await?;
    let org = w.world.org.clone();
    let admin = w.world.admin.clone();

    // Bad input changes nothing.
    let bad = hooks
        .create_webhook_endpoint(pb::CreateWebhookEndpointRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint: Some(endpoint("ftp://example.com/in", &["routing.agent.changed"])),
        })
        .await
        .expect_err("bad url and topic");
    let bad = errors::from_status(&bad);
    let fields: Vec<&str> = bad
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    anyhow::ensure!(
        bad.code == tonic::Code::InvalidArgument
            && fields.contains(&"endpoint.url")
            && fields.contains(&"endpoint.topics[0]"),
        "{bad:?}"
    );

    let created = hooks
        .create_webhook_endpoint(pb::CreateWebhookEndpointRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint: Some(endpoint(&receiver.url, &["channel.message.received"])),
        })
        .await?
        .into_inner();
    let secret = created.secret.clone();
    let ep = created.endpoint.expect("endpoint");
    anyhow::ensure!(secret.starts_with("whsec_"), "{secret}");
    anyhow::ensure!(ep.topics == ["channel.message.received"], "{ep:?}");

    // A customer writes: one message event for this endpoint.
    let wa = wa_id();
    w.customer_writes(&wa, "Ana", "Hola").await?;
    let contact = w.contact(&wa).await?.expect("contact").id;
    let message = w.routed_messages(&contact, 1).await?.remove(0);

    let got = receiver.until(4, 20).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got_after = receiver.requests();
    anyhow::ensure!(
        got_after.len() == 4,
        "delivered once after 3 failures: {} requests",
        got_after.len()
    );
    let ids: HashSet<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    anyhow::ensure!(ids.len() == 1, "one webhook-id for every attempt: {ids:?}");
    let event_id = ids.into_iter().next().expect("id");
    anyhow::ensure!(event_id.starts_with("evt_"), "{event_id}");
    for r in &got {
        verify_signature(&secret, r)?;
    }
    let body: serde_json::Value = serde_json::from_slice(&got[3].body)?;
    anyhow::ensure!(body["type"] == "channel.message.received", "{body}");
    anyhow::ensure!(body["data"]["messageId"] == message.id.as_str(), "{body}");
    anyhow::ensure!(body["data"]["contactId"] == contact.as_str(), "{body}");
    anyhow::ensure!(
        chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap_or_default())
            .is_ok(),
        "{body}"
    );
    // A tampered body does not verify.
    let mut tampered = got[3].clone();
    tampered.body.push(b' ');
    anyhow::ensure!(
        verify_signature(&secret, &tampered).is_err(),
        "a tampered body verified"
    );

    // The delivery log: 4 attempts, the last one 200.
    let list = hooks
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint_id: ep.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    anyhow::ensure!(list.deliveries.len() == 1, "{:?}", list.deliveries);
    let d = &list.deliveries[0];
    let codes: Vec<i32> = d.attempts.iter().map(|a| a.status_code).collect();
    anyhow::ensure!(
        d.status == pb::DeliveryStatus::Delivered as i32
            && d.attempt_count == 4
            && codes == [500, 503, 502, 200]
            && d.event_id == event_id,
        "{d:?}"
    );
    anyhow::ensure!(
        d.attempts[..3].iter().all(|a| !a.error.is_empty()) && d.attempts[3].error.is_empty(),
        "{d:?}"
    );

    // Replay: a new attempt now, the same webhook-id.
    let replayed = hooks
        .replay_webhook_delivery(pb::ReplayWebhookDeliveryRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            delivery_id: d.id.clone(),
        })
        .await?
        .into_inner()
        .delivery
        .expect("delivery");
    let all = receiver.until(5, 10).await?;
    anyhow::ensure!(
        all[4].header("webhook-id") == event_id,
        "replay keeps the id"
    );
    verify_signature(&secret, &all[4])?;
    anyhow::ensure!(
        replayed.attempts.len() == 5
            && replayed.attempts[4].trigger == pb::AttemptTrigger::Replay as i32
            && replayed.status == pb::DeliveryStatus::Delivered as i32,
        "{replayed:?}"
    );

    // Rotating the secret: the next replay is signed with the new one only.
    let rotated = hooks
        .rotate_webhook_endpoint_secret(pb::RotateWebhookEndpointSecretRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            endpoint_id: ep.id.clone(),
        })
        .await?
        .into_inner()
        .secret;
    anyhow::ensure!(rotated != secret && rotated.starts_with("whsec_"));
    hooks
        .replay_webhook_delivery(pb::ReplayWebhookDeliveryRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            delivery_id: d.id.clone(),
        })
        .await?;
    let all = receiver.until(6, 10).await?;
    verify_signature(&rotated, &all[5])?;
    anyhow::ensure!(
        verify_signature(&secret, &all[5]).is_err(),
        "the old secret still signs"
    );

    // Tenancy: another organization's admin sees none of it.
    let other_org = w
        .world
        .routing
        .create_organization(rt::CreateOrganizationRequest {
            request_id: rid(),
            name: "Otra".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let other_admin = w
        .world
        .routing
        .create_agent(rt::CreateAgentRequest {
            request_id: rid(),
            organization_id: other_org.clone(),
            agent: Some(rt::Agent {
                display_name: "Otro".into(),
                email: format!("otro-{}@otra.test", rid()),
                role: Role::Admin as i32,
                capacity: 1,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent")
        .id;
    let status = hooks
        .get_webhook_endpoint(pb::GetWebhookEndpointRequest {
            organization_id: other_org.clone(),
            actor_agent_id: other_admin.clone(),
            endpoint_id: ep.id.clone(),
        })
        .await
        .expect_err("another organization's endpoint");
    anyhow::ensure!(status.code() == tonic::Code::NotFound, "{status:?}");
    let status = hooks
        .replay_webhook_delivery(pb::ReplayWebhookDeliveryRequest {
            request_id: rid(),
            organization_id: other_org.clone(),
            actor_agent_id: other_admin.clone(),
            delivery_id: d.id.clone(),
        })
        .await
        .expect_err("another organization's delivery");
    anyhow::ensure!(status.code() == tonic::Code::NotFound, "{status:?}");
    let status = hooks
        .delete_webhook_endpoint(pb::DeleteWebhookEndpointRequest {
            request_id: rid(),
            organization_id: other_org.clone(),
            actor_agent_id: other_admin.clone(),
            endpoint_id: ep.id.clone(),
        })
        .await
        .expect_err("another organization's endpoint");
    anyhow::ensure!(status.code() == tonic::Code::NotFound, "{status:?}");
    let theirs = hooks
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            organization_id: other_org.clone(),
            actor_agent_id: other_admin.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    anyhow::ensure!(theirs.deliveries.is_empty(), "{theirs:?}");
    // Nor the admin of A acting in B (not an agent there).
    let status = hooks
        .list_webhook_endpoints(pb::ListWebhookEndpointsRequest {
            organization_id: other_org.clone(),
            actor_agent_id: admin.clone(),
            page: None,
        })
        .await
        .expect_err("not an agent of that organization");
    anyhow::ensure!(status.code() == tonic::Code::PermissionDenied, "{status:?}");

    // Operators read, only admins write.
    let operator = w.world.agent_with_role("Olga", Role::Operator, 1).await?;
    hooks
        .list_webhook_endpoints(pb::ListWebhookEndpointsRequest {
            organization_id: org.clone(),
            actor_agent_id: operator.clone(),
            page: None,
        })
        .await?;
    let status = hooks
        .delete_webhook_endpoint(pb::DeleteWebhookEndpointRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: operator.clone(),
            endpoint_id: ep.id.clone(),
        })
        .await
        .expect_err("operators do not delete endpoints");
    anyhow::ensure!(status.code() == tonic::Code::PermissionDenied, "{status:?}");

    // The same request id answers the first answer (one endpoint, one secret).
    let again = pb::CreateWebhookEndpointRequest {
        request_id: rid(),
        organization_id: org.clone(),
        actor_agent_id: admin.clone(),
        endpoint: Some(endpoint(&receiver.url, &[])),
    };
    let a = hooks
        .create_webhook_endpoint(again.clone())
        .await?
        .into_inner();
    let b = hooks
        .create_webhook_endpoint(again.clone())
        .await?
        .into_inner();
    anyhow::ensure!(a == b, "a retried create made another endpoint");
    let reused = hooks
        .create_webhook_endpoint(pb::CreateWebhookEndpointRequest {
            endpoint: Some(endpoint("https://hooks.example.com/other", &[])),
            ..again
        })
        .await
        .expect_err("the same key with another body");
    let reused = errors::from_status(&reused);
    anyhow::ensure!(
        reused.reason == Some(errors::Reason::IdempotencyKeyReused),
        "{reused:?}"
    );
    let listed = hooks
        .list_webhook_endpoints(pb::ListWebhookEndpointsRequest {
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            page: None,
        })
        .await?
        .into_inner()
        .endpoints;
    anyhow::ensure!(listed.len() == 2, "{listed:?}");

    // The metrics an SRE charts.
    let text = reqwest::get(format!("http://{}/metrics", w.world.suite.metrics))
        .await?
        .text()
        .await?;
    for name in [
        "switchboard_integrations_feed_events_total",
        "switchboard_integrations_webhook_attempts_total",
        "switchboard_integrations_webhook_delivery_seconds",
        "switchboard_integrations_webhook_pending_deliveries",
    ] {
        anyhow::ensure!(text.contains(name), "{name} missing from /metrics");
    }
    anyhow::ensure!(
        switchboard_runtime::metrics::sum_samples(
            &text,
            "switchboard_integrations_webhook_attempts_total",
            &[("outcome", "rejected")]
        ) == Some(3.0),
        "three rejected attempts"
    );
    w.stop().await
}
on_both_backends!(a_failing_endpoint_gets_the_event_on_its_fourth_attempt);

/// A directory for the ordering test: nobody calls it (appends check no role).
struct NoDirectory;

#[async_trait::async_trait]
impl switchboard_integrations::app::directory::Directory for NoDirectory {
    async fn role(
        &self,
        _org: &switchboard_runtime::ids::OrganizationId,
        _agent: &switchboard_runtime::ids::AgentId,
    ) -> Result<
        Option<switchboard_integrations::domain::Role>,
        switchboard_integrations::error::IntegrationsError,
    > {
        Ok(None)
    }
}

/// The ordering rule under contention: four appenders (each with its own connection pool, as
/// replicas have) append 200 events of one organization at once while a reader polls the
/// feed; every batch the reader sees is contiguous from where it was (it never sees N+1
/// before N committed), and in the end it saw 1..=200 exactly once.
async fn concurrent_appends_are_read_without_gaps(backend: Backend) -> anyhow::Result<()> {
    use switchboard_integrations::{app::Integrations, migration::Migrator, store::Store};
    use switchboard_proto::routing::v1::WorkItemChanged;
    let env = switchboard_testkit::TestEnv::new(backend).await?;
    let settings = env.settings.clone();
    let conn = switchboard_runtime::db::connect(&settings.database, Service::Integrations).await?;
    switchboard_runtime::db::migrate::<Migrator>(&conn).await?;
    let org = switchboard_runtime::ids::OrganizationId::generate();
    let replica = |db| {
        Integrations::new(
            Store::new(db),
            std::sync::Arc::new(NoDirectory),
            Default::default(),
            switchboard_integrations::app::IntegrationsMetrics::new(
                &switchboard_runtime::metrics::Metrics::new(),
            ),
            settings.integrations.clone(),
        )
    };
    let reader = replica(conn.clone())?;
    let mut writers = Vec::new();
    for w in 0..4 {
        let db =
            switchboard_runtime::db::connect(&settings.database, Service::Integrations).await?;
        let app = replica(db)?;
        let org = org.to_string();
        writers.push(tokio::spawn(async move {
            for i in 0..50 {
                let event = crate::ticketing_support::event(
                    &org,
                    &format!("wi_{w}x{i}"),
                    &WorkItemChanged {
                        work_item_id: format!("wi_{w}x{i}"),
                        ..Default::default()
                    },
                );
                app.append(&event).await?;
            }
            anyhow::Ok(())
        }));
    }
    let mut after = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while after < 200 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "read {after} of 200"
        );
        let batch = reader.read_after(&org, after, 500).await?;
        for e in batch {
            anyhow::ensure!(e.seq == after + 1, "saw {} after {after}: a gap", e.seq);
            after = e.seq;
        }
    }
    for w in writers {
        w.await??;
    }
    anyhow::ensure!(
        reader.read_after(&org, after, 500).await?.is_empty(),
        "more than 200"
    );
    Ok(())
}
on_both_backends!(concurrent_appends_are_read_without_gaps);
