//! Endpoint and delivery RPCs: validation, the caller's role, the call.

use switchboard_proto::integrations::v1 as pb;
use switchboard_runtime::{
    ids::{AgentId, WebhookDeliveryId, WebhookEndpointId},
    page_filter,
    validate::Check,
};

use super::{convert, topics};
use crate::{
    app::{
        Integrations,
        webhooks::{EndpointChange, EndpointSpec},
    },
    domain::webhook::{self, MAX_DESCRIPTION_CHARS},
    error::IntegrationsError,
};

fn url(app: &Integrations, c: &mut Check, field: &str, value: &str) -> String {
    let value = value.trim();
    if let Err(why) = webhook::check_url(value, app.allow_loopback()) {
        c.bad(field, why);
    }
    value.to_string()
}

pub async fn create_webhook_endpoint(
    app: &Integrations,
    r: pb::CreateWebhookEndpointRequest,
) -> Result<pb::CreateWebhookEndpointResponse, IntegrationsError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let e = r.endpoint.unwrap_or_default();
    let spec = EndpointSpec {
        url: url(app, &mut c, "endpoint.url", &e.url),
        topics: topics(&mut c, "endpoint.topics", &e.topics),
        description: c.opt_text(
            "endpoint.description",
            &e.description,
            MAX_DESCRIPTION_CHARS,
        ),
        enabled: e.enabled,
    };
    c.done()?;
    let org = org.expect("validated");
    app.require_admin(&org, &actor.expect("validated")).await?;
    let (endpoint, secret) = app.create_endpoint(&org, spec).await?;
    Ok(pb::CreateWebhookEndpointResponse {
        endpoint: Some(convert::endpoint(&endpoint)),
        secret,
    })
}

pub async fn list_webhook_endpoints(
    app: &Integrations,
    r: pb::ListWebhookEndpointsRequest,
) -> Result<pb::ListWebhookEndpointsResponse, IntegrationsError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let page = c.page(r.page.as_ref(), page_filter!(r));
    c.done()?;
    let org = org.expect("validated");
    app.require_reader(&org, &actor.expect("validated")).await?;
    let paged = app.list_endpoints(&org, &page).await?;
    Ok(pb::ListWebhookEndpointsResponse {
        page: Some(paged.response(None)),
        endpoints: paged.items.iter().map(convert::endpoint).collect(),
    })
}

pub async fn get_webhook_endpoint(
    app: &Integrations,
    r: pb::GetWebhookEndpointRequest,
) -> Result<pb::GetWebhookEndpointResponse, IntegrationsError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let id: Option<WebhookEndpointId> = c.id("endpoint_id", &r.endpoint_id);
    c.done()?;
    let org = org.expect("validated");
    app.require_reader(&org, &actor.expect("validated")).await?;
    let endpoint = app.endpoint(&org, &id.expect("validated")).await?;
    Ok(pb::GetWebhookEndpointResponse {
        endpoint: Some(convert::endpoint(&endpoint)),
    })
}

pub async fn update_webhook_endpoint(
    app: &Integrations,
    r: pb::UpdateWebhookEndpointRequest,
) -> Result<pb::UpdateWebhookEndpointResponse, IntegrationsError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let e = r.endpoint.unwrap_or_default();
    let id: Option<WebhookEndpointId> = c.id("endpoint.id", &e.id);
    let mask = c.mask(
        r.update_mask.as_ref(),
        &["url", "topics", "description", "enabled"],
    );
    let mut change = EndpointChange::default();
    if mask.contains("url") {
        change.url = Some(url(app, &mut c, "endpoint.url", &e.url));
    }
    if mask.contains("topics") {
        change.topics = Some(topics(&mut c, "endpoint.topics", &e.topics));
    }
    if mask.contains("description") {
        change.description = Some(c.opt_text(
            "endpoint.description",
            &e.description,
            MAX_DESCRIPTION_CHARS,
        ));
    }
    if mask.contains("enabled") {
        change.enabled = Some(e.enabled);
    }
    c.done()?;
    let org = org.expect("validated");
    app.require_admin(&org, &actor.expect("validated")).await?;
    let endpoint = app
        .update_endpoint(&org, &id.expect("validated"), change)
        .await?;
    Ok(pb::UpdateWebhookEndpointResponse {
        endpoint: Some(convert::endpoint(&endpoint)),
    })
}

pub async fn delete_webhook_endpoint(
    app: &Integrations,
    r: pb::DeleteWebhookEndpointRequest,
) -> Result<pb::DeleteWebhookEndpointResponse, IntegrationsError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let id: Option<WebhookEndpointId> = c.id("endpoint_id", &r.endpoint_id);
    c.done()?;
    let org = org.expect("validated");
    app.require_admin(&org, &actor.expect("validated")).await?;
    app.delete_endpoint(&org, &id.expect("validated")).await?;
    Ok(pb::DeleteWebhookEndpointResponse {})
}

pub async fn rotate_webhook_endpoint_secret(
    app: &Integrations,
    r: pb::RotateWebhookEndpointSecretRequest,
) -> Result<pb::RotateWebhookEndpointSecretResponse, IntegrationsError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let id: Option<WebhookEndpointId> = c.id("endpoint_id", &r.endpoint_id);
    c.done()?;
    let org = org.expect("validated");
    app.require_admin(&org, &actor.expect("validated")).await?;
    let secret = app.rotate_secret(&org, &id.expect("validated")).await?;
    Ok(pb::RotateWebhookEndpointSecretResponse { secret })
}

pub async fn list_webhook_deliveries(
    app: &Integrations,
    r: pb::ListWebhookDeliveriesRequest,
) -> Result<pb::ListWebhookDeliveriesResponse, IntegrationsError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let endpoint: Option<WebhookEndpointId> = c.opt_id("endpoint_id", &r.endpoint_id);
    let status = match pb::DeliveryStatus::try_from(r.status) {
        Ok(s) => convert::status_from_proto(s),
        Err(_) => {
            c.bad("status", "not a delivery status");
            None
        }
    };
    let page = c.page(r.page.as_ref(), page_filter!(r));
    c.done()?;
    let org = org.expect("validated");
    app.require_reader(&org, &actor.expect("validated")).await?;
    let paged = app
        .list_deliveries(&org, endpoint.as_ref(), status, &page)
        .await?;
    Ok(pb::ListWebhookDeliveriesResponse {
        page: Some(paged.response(None)),
        deliveries: paged.items.iter().map(convert::delivery).collect(),
    })
}

pub async fn replay_webhook_delivery(
    app: &Integrations,
    r: pb::ReplayWebhookDeliveryRequest,
) -> Result<pb::ReplayWebhookDeliveryResponse, IntegrationsError> {
    let mut c = Check::new();
    let org = c.org(&r.organization_id);
    let actor: Option<AgentId> = c.id("actor_agent_id", &r.actor_agent_id);
    let id: Option<WebhookDeliveryId> = c.id("delivery_id", &r.delivery_id);
    c.done()?;
    let org = org.expect("validated");
    app.require_admin(&org, &actor.expect("validated")).await?;
    let delivery = app.replay(&org, id.expect("validated").as_str()).await?;
    Ok(pb::ReplayWebhookDeliveryResponse {
        delivery: Some(convert::delivery(&delivery)),
    })
}
