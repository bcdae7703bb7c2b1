//! Webhook endpoints and deliveries: registering, changing, rotating and deleting endpoints
//! (admins), listing them and their deliveries (operators and admins), and attempting a
//! delivery (the dispatcher's schedule, or a replay now).

use std::time::Instant;

use switchboard_runtime::{
    ids::{OrganizationId, WebhookEndpointId},
    paging::{Page, Paged},
};

use super::Integrations;
use crate::{
    domain::{
        Topics,
        webhook::{self, Attempt, Delivery, DeliveryStatus, Endpoint, Trigger},
    },
    error::IntegrationsError,
};

/// What an admin gives for a new endpoint (validated).
#[derive(Debug, Clone)]
pub struct EndpointSpec {
    pub url: String,
    pub topics: Topics,
    pub description: String,
    pub enabled: bool,
}

/// The fields an update changes.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub topics: Option<Topics>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// The first characters of a refusing answer's body kept in the attempt log.
const MAX_ERROR_CHARS: usize = 500;

impl Integrations {
    /// Whether `http://` loopback URLs are accepted here.
    pub fn allow_loopback(&self) -> bool {
        self.settings.webhooks.allow_loopback
    }

    pub async fn create_endpoint(
        &self,
        org: &OrganizationId,
        spec: EndpointSpec,
    ) -> Result<(Endpoint, String), IntegrationsError> {
        let now = self.clock.now_ms();
        let endpoint = Endpoint {
            id: WebhookEndpointId::generate().to_string(),
            organization_id: org.to_string(),
            url: spec.url,
            topics: spec.topics,
            description: spec.description,
            enabled: spec.enabled,
            create_ms: now,
            update_ms: now,
        };
        let secret = webhook::new_secret();
        self.store
            .insert_endpoint(&self.store.db, &endpoint, &secret)
            .await?;
        Ok((endpoint, secret))
    }

    pub async fn endpoint(
        &self,
        org: &OrganizationId,
        id: &WebhookEndpointId,
    ) -> Result<Endpoint, IntegrationsError> {
        self.store
            .endpoint(&self.store.db, org, id.as_str())
            .await?
            .map(|(e, _)| e)
            .ok_or_else(|| IntegrationsError::not_found("webhook endpoint", id))
    }

    pub async fn list_endpoints(
        &self,
        org: &OrganizationId,
        page: &Page,
    ) -> Result<Paged<Endpoint>, IntegrationsError> {
        Ok(self.store.list_endpoints(org, page).await?)
    }

    pub async fn update_endpoint(
        &self,
        org: &OrganizationId,
        id: &WebhookEndpointId,
        change: EndpointChange,
    ) -> Result<Endpoint, IntegrationsError> {
        let tx = self.store.begin().await?;
        let (mut endpoint, _) = self
            .store
            .endpoint(&tx, org, id.as_str())
            .await?
            .ok_or_else(|| IntegrationsError::not_found("webhook endpoint", id))?;
        if let Some(url) = change.url {
            endpoint.url = url;
        }
        if let Some(topics) = change.topics {
            endpoint.topics = topics;
        }
        if let Some(description) = change.description {
            endpoint.description = description;
        }
        if let Some(enabled) = change.enabled {
            endpoint.enabled = enabled;
        }
        endpoint.update_ms = self.clock.now_ms();
        self.store.update_endpoint(&tx, &endpoint).await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    pub async fn delete_endpoint(
        &self,
        org: &OrganizationId,
        id: &WebhookEndpointId,
    ) -> Result<(), IntegrationsError> {
        if self.store.delete_endpoint(org, id.as_str()).await? {
            Ok(())
        } else {
            Err(IntegrationsError::not_found("webhook endpoint", id))
        }
    }

    /// A new secret for the endpoint; the old one stops signing at once.
    pub async fn rotate_secret(
        &self,
        org: &OrganizationId,
        id: &WebhookEndpointId,
    ) -> Result<String, IntegrationsError> {
        let secret = webhook::new_secret();
        if self
            .store
            .set_secret(
                &self.store.db,
                org,
                id.as_str(),
                &secret,
                self.clock.now_ms(),
            )
            .await?
        {
            Ok(secret)
        } else {
            Err(IntegrationsError::not_found("webhook endpoint", id))
        }
    }

    pub async fn list_deliveries(
        &self,
        org: &OrganizationId,
        endpoint: Option<&WebhookEndpointId>,
        status: Option<DeliveryStatus>,
        page: &Page,
    ) -> Result<Paged<Delivery>, IntegrationsError> {
        Ok(self
            .store
            .list_deliveries(org, endpoint.map(WebhookEndpointId::as_str), status, page)
            .await?)
    }

    /// Attempts the delivery now, whatever its status, with the same webhook-id: a 2xx makes
    /// it DELIVERED; a failure leaves a PENDING delivery on its schedule and a finished one as
    /// it was. Answers the delivery with this attempt in its log.
    pub async fn replay(
        &self,
        org: &OrganizationId,
        delivery_id: &str,
    ) -> Result<Delivery, IntegrationsError> {
        let delivery = self
            .store
            .delivery(org, delivery_id)
            .await?
            .ok_or_else(|| IntegrationsError::not_found("webhook delivery", delivery_id))?;
        let (endpoint, secret) = self
            .store
            .endpoint(&self.store.db, org, &delivery.endpoint_id)
            .await?
            .ok_or_else(|| IntegrationsError::not_found("webhook delivery", delivery_id))?;
        let attempt = self
            .post(&endpoint, &secret, &delivery, Trigger::Replay)
            .await;
        let status = if attempt.succeeded() {
            DeliveryStatus::Delivered
        } else {
            delivery.status
        };
        let next = if status == DeliveryStatus::Pending {
            delivery.next_attempt_ms
        } else {
            None
        };
        self.store
            .record_attempt(
                &delivery,
                &attempt,
                status,
                delivery.attempt_count + 1,
                next,
            )
            .await?;
        self.store
            .delivery(org, delivery_id)
            .await?
            .ok_or_else(|| IntegrationsError::not_found("webhook delivery", delivery_id))
    }

    /// One POST of `delivery` to `endpoint`, signed with `secret` (Standard Webhooks headers:
    /// webhook-id is the event id, the same on every attempt and replay).
    pub(crate) async fn post(
        &self,
        endpoint: &Endpoint,
        secret: &str,
        delivery: &Delivery,
        trigger: Trigger,
    ) -> Attempt {
        let attempt_ms = self.clock.now_ms();
        let started = Instant::now();
        // Ok(status) on 2xx; Err((status or 0, why)) otherwise.
        let outcome: Result<u16, (u16, String)> = async {
            let body = self
                .body
                .render(&delivery.topic, delivery.occurred_ms, &delivery.payload)
                .map_err(|e| (0, format!("body: {e}")))?;
            let key = webhook::secret_key(secret)
                .ok_or((0, "the endpoint's secret is unreadable".to_string()))?;
            let timestamp = attempt_ms / 1000;
            let signature = webhook::signature(&key, &delivery.event_id, timestamp, &body);
            let answer = self
                .http
                .post(&endpoint.url)
                .header("content-type", "application/json")
                .header("webhook-id", &delivery.event_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        (0, "timed out".to_string())
                    } else {
                        (0, format!("unreachable: {e}"))
                    }
                })?;
            let status = answer.status().as_u16();
            if answer.status().is_success() {
                return Ok(status);
            }
            let text = answer.text().await.unwrap_or_default();
            Err((
                status,
                format!(
                    "HTTP {status}: {}",
                    text.chars().take(MAX_ERROR_CHARS).collect::<String>()
                ),
            ))
        }
        .await;
        let duration = started.elapsed();
        self.metrics.attempt_seconds.observe(duration.as_secs_f64());
        let (status_code, error, outcome) = match outcome {
            Ok(code) => (i32::from(code), String::new(), "delivered"),
            Err((0, e)) => (0, e, "unreachable"),
            Err((code, e)) => (i32::from(code), e, "rejected"),
        };
        self.metrics.attempts.with_label_values(&[outcome]).inc();
        Attempt {
            attempt_ms,
            status_code,
            error,
            duration_ms: duration.as_millis() as i64,
            trigger,
        }
    }
}
