//! Signed WhatsApp webhooks, built and posted exactly as Meta does (raw body, HMAC-SHA256 of it
//! under the app secret in `X-Hub-Signature-256`).

use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::stats::{Errors, Latency, Timeline};

/// One customer message to deliver.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub wa_id: String,
    pub name: String,
    pub wamid: String,
    pub unix_secs: i64,
    pub text: String,
}

/// Posts webhooks for one WhatsApp number.
#[derive(Clone)]
pub struct Poster {
    http: reqwest::Client,
    url: String,
    secret: String,
    waba_id: String,
}

/// How a POST ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Acked,
    Status(u16),
    Transport(String),
}

impl Outcome {
    pub fn error_kind(&self) -> Option<String> {
        match self {
            Outcome::Acked => None,
            Outcome::Status(s) => Some(format!("webhook_http_{s}")),
            Outcome::Transport(kind) => Some(format!("webhook_{kind}")),
        }
    }
}

pub fn unique_wamid() -> String {
    format!("wamid.LG{}", uuid::Uuid::now_v7().simple())
}

/// What became of one body delivered until acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// POSTs made (1 when the first was acknowledged).
    pub attempts: u64,
    pub acked: bool,
}

/// Where deliveries are recorded.
pub struct AckLog<'a> {
    pub latency: &'a Latency,
    pub timeline: &'a Timeline,
    pub errors: &'a Errors,
}

/// Deliveries of one body, the first included, before giving up.
pub const MAX_ATTEMPTS: u64 = 5;

impl Poster {
    pub fn new(url: &str, secret: &str, waba_id: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            url: url.into(),
            secret: secret.into(),
            waba_id: waba_id.into(),
        })
    }

    /// The raw body of one notification carrying `messages` (one contact) to `phone_number_id`.
    pub fn body(&self, phone_number_id: &str, messages: &[Inbound]) -> Vec<u8> {
        let contacts: Vec<_> = messages
            .iter()
            .map(|m| json!({ "profile": { "name": m.name }, "wa_id": m.wa_id }))
            .take(1)
            .collect();
        let msgs: Vec<_> = messages
            .iter()
            .map(|m| {
                json!({
                    "from": m.wa_id, "id": m.wamid, "timestamp": m.unix_secs.to_string(),
                    "type": "text", "text": { "body": m.text }
                })
            })
            .collect();
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": self.waba_id,
                "changes": [{
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "15550001234",
                            "phone_number_id": phone_number_id,
                        },
                        "contacts": contacts,
                        "messages": msgs,
                    }
                }]
            }]
        });
        serde_json::to_vec(&body).expect("json")
    }

    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(self.secret.as_bytes()).expect("any key");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// POSTs `body` until it is acknowledged, as Meta delivers a refused webhook again (with a
    /// growing pause), at most [`MAX_ATTEMPTS`] times; records each acknowledgement's latency
    /// and each refusal's kind in `log`.
    pub async fn deliver(&self, body: &[u8], log: AckLog<'_>) -> Delivered {
        for attempt in 0..MAX_ATTEMPTS {
            let sent = Instant::now();
            let outcome = self.post(body.to_vec()).await;
            match outcome.error_kind() {
                None => {
                    let took = sent.elapsed();
                    log.latency.record(took);
                    log.timeline.ack(sent, took);
                    return Delivered {
                        attempts: attempt + 1,
                        acked: true,
                    };
                }
                Some(kind) => {
                    log.errors.add(kind);
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
            }
        }
        log.errors.add("webhook_given_up");
        Delivered {
            attempts: MAX_ATTEMPTS,
            acked: false,
        }
    }

    /// POSTs `body` signed; 200 is an acknowledgement.
    pub async fn post(&self, body: Vec<u8>) -> Outcome {
        let signature = self.sign(&body);
        let sent = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(res) if res.status().as_u16() == 200 => {
                // Read the (empty) body so the connection returns to the pool.
                let _ = res.bytes().await;
                Outcome::Acked
            }
            Ok(res) => Outcome::Status(res.status().as_u16()),
            Err(e) if e.is_timeout() => Outcome::Transport("timeout".into()),
            Err(e) if e.is_connect() => Outcome::Transport("connect".into()),
            Err(_) => Outcome::Transport("transport".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_meta_shaped_and_signed_over_the_raw_bytes() {
        let p = Poster::new("http://127.0.0.1:1/webhooks/whatsapp", "s3cret", "1029").unwrap();
        let m = Inbound {
            wa_id: "5491100000001".into(),
            name: "Ana".into(),
            wamid: unique_wamid(),
            unix_secs: 1_700_000_000,
            text: "hola".into(),
        };
        let body = p.body("106540352242922", &[m.clone(), m.clone()]);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let value = &v["entry"][0]["changes"][0]["value"];
        assert_eq!(value["metadata"]["phone_number_id"], "106540352242922");
        assert_eq!(value["messages"].as_array().unwrap().len(), 2);
        assert_eq!(value["contacts"].as_array().unwrap().len(), 1);
        assert_eq!(value["messages"][0]["timestamp"], "1700000000");
        // HMAC-SHA256("s3cret", body) computed by the same primitive must match; one byte
        // changed must not.
        let sig = p.sign(&body);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        let mut changed = body.clone();
        changed[10] ^= 1;
        assert_ne!(p.sign(&changed), sig);
    }
}
