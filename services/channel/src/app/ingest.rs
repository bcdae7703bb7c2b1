//! The webhook: Meta's GET verification handshake and POST notifications. The signature is
//! checked on the raw bytes before anything is parsed; a body is acknowledged only after its
//! messages and statuses are committed.

use crate::{
    domain::webhook::{self, SignatureError},
    error::ChannelError,
    store::ingest::IngestOutcome,
};

use super::Channel;

/// The verification handshake's query.
#[derive(Debug, Default, Clone)]
pub struct Verification {
    pub mode: Option<String>,
    pub verify_token: Option<String>,
    pub challenge: Option<String>,
}

impl Channel {
    /// The challenge to echo when the handshake names our token; None otherwise (403).
    pub fn verify_subscription(&self, query: &Verification) -> Option<String> {
        let token = &self.webhook.verify_token;
        let matches = !token.is_empty()
            && query.mode.as_deref() == Some("subscribe")
            && query
                .verify_token
                .as_deref()
                .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
        if matches {
            query.challenge.clone()
        } else {
            None
        }
    }

    /// Checks, parses and stores one POST body. Unauthenticated: bad or missing signature;
    /// InvalidArgument: not a WhatsApp notification; Storage: not stored (answer 503).
    pub async fn receive_webhook(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<IngestOutcome, ChannelError> {
        if self.webhook.app_secret.is_empty() {
            return Err(ChannelError::Unauthenticated(
                "channel.whatsapp.app_secret is not configured: webhooks cannot be verified".into(),
            ));
        }
        webhook::verify_signature(self.webhook.app_secret.as_bytes(), body, signature).map_err(
            |e| {
                ChannelError::Unauthenticated(match e {
                    SignatureError::Missing => "X-Hub-Signature-256 is missing".into(),
                    SignatureError::Malformed => "X-Hub-Signature-256 is not sha256=<hex>".into(),
                    SignatureError::Mismatch => {
                        "X-Hub-Signature-256 does not match the body".into()
                    }
                })
            },
        )?;
        let notification =
            webhook::parse(body).map_err(|e| ChannelError::field("body", &e.to_string()))?;
        if !notification.ignored_fields.is_empty() {
            tracing::debug!(fields = ?notification.ignored_fields, "webhook fields not handled");
        }
        let accounts = self.store.accounts_of(&notification.changes).await?;
        let now = self.clock.now_ms();
        let changes: Vec<_> = accounts
            .iter()
            .cloned()
            .zip(notification.changes.iter())
            .collect();
        let outcome = self.store.ingest(&changes, body, now).await?;
        // The account row was just read: write the time only when it is stale (every webhook
        // updating one hot row would serialize them on its lock).
        for account in accounts
            .iter()
            .flatten()
            .filter(|a| a.last_webhook_ms.is_none_or(|t| t < now - 10_000))
        {
            if let Err(err) = self.store.touch_account(&account.id, now).await {
                tracing::debug!(error = %err, "recording the last webhook time failed");
            }
        }
        if outcome.unmatched > 0 {
            tracing::warn!(
                unmatched = outcome.unmatched,
                "webhook for a phone number no organization registered; kept in unmatched_webhooks"
            );
        }
        let m = &self.metrics;
        m.inbound_messages
            .with_label_values(&["stored"])
            .inc_by(outcome.stored as u64);
        m.inbound_messages
            .with_label_values(&["duplicate"])
            .inc_by(outcome.duplicates as u64);
        m.status_reports
            .with_label_values(&["advanced"])
            .inc_by(outcome.statuses_advanced as u64);
        m.status_reports
            .with_label_values(&["stale"])
            .inc_by(outcome.statuses_stale as u64);
        m.status_reports
            .with_label_values(&["early"])
            .inc_by(outcome.statuses_early as u64);
        tracing::info!(
            stored = outcome.stored,
            duplicates = outcome.duplicates,
            statuses = outcome.statuses_advanced,
            stale = outcome.statuses_stale,
            early = outcome.statuses_early,
            "webhook stored"
        );
        Ok(outcome)
    }
}

/// Compares in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
