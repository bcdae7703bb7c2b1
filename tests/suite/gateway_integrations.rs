//! Integrations through the gateway: operators and admins stream the event feed, admins
//! manage webhook endpoints and replay deliveries, agents are refused, bad input names its
//! field.

use switchboard_proto::{
    common::v1::Role, gateway::v1 as pb, integrations::v1 as ipb, routing::v1 as rpb,
};
use switchboard_runtime::errors;
use switchboard_testkit::Backend;

use crate::{
    gateway_support::GatewayWorld,
    integrations_support::{Receiver, verify_signature},
    on_both_backends,
    routing_support::{rid, team_target},
};

const WORK_ITEMS: &str = "routing.work_item.changed";

fn endpoint(url: &str) -> ipb::WebhookEndpoint {
    ipb::WebhookEndpoint {
        url: url.into(),
        topics: vec![WORK_ITEMS.into()],
        description: "ERP".into(),
        enabled: true,
        ..Default::default()
    }
}

async fn the_feed_and_webhooks_through_the_gateway(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::with_settings(backend, |s| {
        s.integrations.webhooks.allow_loopback = true;
        s.integrations.webhooks.dispatch_interval_ms = 50;
    })
    .await?;
    let receiver = Receiver::start(vec![]).await?;
    let mut operator = gw.member("Olga", Role::Operator, 1).await?;
    let mut agent = gw.member("Ana", Role::Agent, 1).await?;
    let mut admin = gw.admin.gateway.clone();

    // Agents neither read the feed nor manage endpoints; operators do not manage them.
    let denied = agent
        .gateway
        .stream_feed_events(pb::StreamFeedEventsRequest::default())
        .await
        .expect_err("agents do not read the feed");
    anyhow::ensure!(denied.code() == tonic::Code::PermissionDenied, "{denied:?}");
    let create = pb::CreateWebhookEndpointRequest {
        request_id: rid(),
        endpoint: Some(endpoint(&receiver.url)),
    };
    for client in [&mut agent.gateway, &mut operator.gateway] {
        let denied = client
            .create_webhook_endpoint(create.clone())
            .await
            .expect_err("only admins manage endpoints");
        anyhow::ensure!(denied.code() == tonic::Code::PermissionDenied, "{denied:?}");
    }
    let bad = admin
        .create_webhook_endpoint(pb::CreateWebhookEndpointRequest {
            request_id: rid(),
            endpoint: Some(endpoint("http://example.com/hooks")),
        })
        .await
        .expect_err("http to a public host");
    let bad = errors::from_status(&bad);
    anyhow::ensure!(
        bad.code == tonic::Code::InvalidArgument
            && bad
                .field_violations
                .iter()
                .any(|v| v.field == "endpoint.url"),
        "{bad:?}"
    );

    let created = admin.create_webhook_endpoint(create).await?.into_inner();
    let ep = created.endpoint.expect("endpoint");

    // The operator streams the feed from now; a work item is routed.
    let mut feed = operator
        .gateway
        .stream_feed_events(pb::StreamFeedEventsRequest {
            topics: vec![WORK_ITEMS.into()],
            ..Default::default()
        })
        .await?
        .into_inner();
    let op_id = operator.id.clone();
    let team = gw
        .world
        .team(
            "Back office",
            rpb::TeamStrategy::LeastOpen,
            &[&op_id],
            |_| {},
        )
        .await?;
    let item = gw
        .world
        .routing
        .route_work_item(rpb::RouteWorkItemRequest {
            request_id: rid(),
            organization_id: gw.world.org.clone(),
            kind: "callback".into(),
            external_ref: "erp-7".into(),
            target: Some(team_target(&team)),
            ..Default::default()
        })
        .await?
        .into_inner()
        .work_item
        .expect("work item")
        .id;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let event = loop {
        let next = tokio::time::timeout_at(deadline, feed.message())
            .await
            .map_err(|_| anyhow::anyhow!("no work item event on the feed"))??
            .and_then(|m| m.event)
            .ok_or_else(|| anyhow::anyhow!("the feed ended"))?;
        if next.aggregate_id == item {
            break next;
        }
    };
    anyhow::ensure!(
        matches!(&event.payload, Some(ipb::feed_event::Payload::WorkItemChanged(w)) if w.external_ref == "erp-7"),
        "{event:?}"
    );
    drop(feed);

    // The endpoint got it, signed.
    let got = receiver.until(1, 20).await?;
    verify_signature(&created.secret, &got[0])?;
    let webhook_id = got[0].header("webhook-id");

    let listed = admin
        .list_webhook_endpoints(pb::ListWebhookEndpointsRequest::default())
        .await?
        .into_inner();
    anyhow::ensure!(listed.endpoints == [ep.clone()], "{listed:?}");
    let fetched = operator
        .gateway
        .get_webhook_endpoint(pb::GetWebhookEndpointRequest {
            endpoint_id: ep.id.clone(),
        })
        .await?
        .into_inner()
        .endpoint
        .expect("endpoint");
    anyhow::ensure!(fetched == ep, "{fetched:?}");

    let deliveries = operator
        .gateway
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            endpoint_id: ep.id.clone(),
            status: ipb::DeliveryStatus::Delivered as i32,
            page: None,
        })
        .await?
        .into_inner()
        .deliveries;
    let delivery = deliveries
        .iter()
        .find(|d| d.event_id == webhook_id)
        .ok_or_else(|| anyhow::anyhow!("no delivery of {webhook_id} in {deliveries:?}"))?;
    let replayed = admin
        .replay_webhook_delivery(pb::ReplayWebhookDeliveryRequest {
            request_id: rid(),
            delivery_id: delivery.id.clone(),
        })
        .await?
        .into_inner()
        .delivery
        .expect("delivery");
    anyhow::ensure!(
        replayed.attempts.last().map(|a| a.trigger) == Some(ipb::AttemptTrigger::Replay as i32),
        "{replayed:?}"
    );
    let after_replay = receiver.until(got.len() + 1, 10).await?;
    anyhow::ensure!(
        after_replay.last().map(|r| r.header("webhook-id")) == Some(webhook_id.clone()),
        "the replay keeps the webhook-id"
    );

    let rotated = admin
        .rotate_webhook_endpoint_secret(pb::RotateWebhookEndpointSecretRequest {
            request_id: rid(),
            endpoint_id: ep.id.clone(),
        })
        .await?
        .into_inner()
        .secret;
    anyhow::ensure!(rotated != created.secret, "a new secret");

    let updated = admin
        .update_webhook_endpoint(pb::UpdateWebhookEndpointRequest {
            request_id: rid(),
            endpoint: Some(ipb::WebhookEndpoint {
                id: ep.id.clone(),
                description: "ERP (paused)".into(),
                enabled: false,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into(), "enabled".into()],
            }),
        })
        .await?
        .into_inner()
        .endpoint
        .expect("endpoint");
    anyhow::ensure!(
        !updated.enabled && updated.description == "ERP (paused)" && updated.url == ep.url,
        "{updated:?}"
    );

    admin
        .delete_webhook_endpoint(pb::DeleteWebhookEndpointRequest {
            request_id: rid(),
            endpoint_id: ep.id.clone(),
        })
        .await?;
    let gone = admin
        .get_webhook_endpoint(pb::GetWebhookEndpointRequest {
            endpoint_id: ep.id.clone(),
        })
        .await
        .expect_err("deleted");
    anyhow::ensure!(gone.code() == tonic::Code::NotFound, "{gone:?}");

    // A feed read from the oldest event through the gateway holds the work item too.
    let mut all = admin
        .stream_feed_events(pb::StreamFeedEventsRequest {
            from_oldest: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, all.message())
            .await
            .map_err(|_| anyhow::anyhow!("no work item event from the oldest"))??
            .and_then(|m| m.event)
            .ok_or_else(|| anyhow::anyhow!("the feed ended"))?;
        if next.aggregate_id == item {
            break;
        }
    }
    gw.world.suite.stop().await
}
on_both_backends!(the_feed_and_webhooks_through_the_gateway);
