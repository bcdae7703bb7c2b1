//! Outgoing webhooks after the Standard Webhooks specification (as svix sends them): endpoint
//! URLs, `whsec_` secrets, the `webhook-signature` of a body, and the retry schedule.

use std::{net::IpAddr, time::Duration};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore as _;
use sha2::Sha256;

use super::Topics;

/// Longest endpoint URL.
pub const MAX_URL_CHARS: usize = 2000;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Random bytes of a new secret.
pub const SECRET_BYTES: usize = 32;
/// Prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// Why an attempt was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Scheduled,
    Replay,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Replay => "replay",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "replay" {
            Self::Replay
        } else {
            Self::Scheduled
        }
    }
}

/// An organization's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub organization_id: String,
    pub url: String,
    pub topics: Topics,
    pub description: String,
    pub enabled: bool,
    pub create_ms: i64,
    pub update_ms: i64,
}

/// One feed event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub organization_id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub topic: String,
    /// The event's proto message, protobuf encoded (kept with the delivery so retries and
    /// replays do not depend on the feed's retention).
    pub payload: Vec<u8>,
    pub occurred_ms: i64,
    pub status: DeliveryStatus,
    pub attempt_count: i32,
    pub next_attempt_ms: Option<i64>,
    pub create_ms: i64,
    pub attempts: Vec<Attempt>,
}

/// One POST of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub attempt_ms: i64,
    /// 0 when no HTTP answer came.
    pub status_code: i32,
    pub error: String,
    pub duration_ms: i64,
    pub trigger: Trigger,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// What the URL check refuses, in words for the `url` field violation.
pub fn check_url(url: &str, allow_loopback: bool) -> Result<(), String> {
    if url.is_empty() {
        return Err("required".into());
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("at most {MAX_URL_CHARS} characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| "must name a host".to_string())?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials; authenticate with the signature".into());
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_loopback && is_loopback(host) => Ok(()),
        "http" if allow_loopback => Err("http:// is allowed for loopback hosts only".into()),
        "http" => Err("must be https://".into()),
        other => Err(format!("scheme {other}: must be https://")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A new secret: `whsec_` and the standard base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The HMAC key of a secret: the bytes its base64 part encodes.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX)?)
        .ok()
        .filter(|k| !k.is_empty())
}

/// The `webhook-signature` header value: `v1,<base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))>`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Delays between attempts: the first is the delay of attempt 1, the n-th the wait after
/// attempt n-1 failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl RetrySchedule {
    pub fn from_millis(ms: &[u64]) -> Self {
        Self(ms.iter().map(|m| Duration::from_millis(*m)).collect())
    }

    /// After `attempts` failed attempts: the wait before the next one, or `None` when the
    /// schedule is spent (the delivery fails).
    pub fn after_failures(&self, attempts: usize) -> Option<Duration> {
        self.0.get(attempts).copied()
    }

    /// The delay of the first attempt.
    pub fn first(&self) -> Duration {
        self.0.first().copied().unwrap_or_default()
    }
}

/// A short random token for ids of things no one types (unused bits of entropy are fine).
pub fn random_token() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_or_loopback_http_when_allowed() {
        assert!(check_url("https://hooks.example.com/in", false).is_ok());
        assert!(check_url("http://hooks.example.com/in", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/in", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/in", true).is_ok());
        assert!(check_url("http://localhost/in", true).is_ok());
        assert!(check_url("http://[::1]:80/in", true).is_ok());
        assert!(check_url("http://10.0.0.1/in", true).is_err());
        assert!(check_url("ftp://example.com/x", true).is_err());
        assert!(check_url("not a url", true).is_err());
        assert!(check_url("https://user:pw@example.com/", true).is_err());
        assert!(check_url("", true).is_err());
    }

    #[test]
    fn secrets_carry_32_random_bytes_and_sign_like_the_specification() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(secret_key(&s).expect("key").len(), 32);
        assert_ne!(s, new_secret());
        assert!(secret_key("whsec_").is_none());
        assert!(secret_key("nope").is_none());
        // The Standard Webhooks reference example.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("key");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn the_schedule_fails_after_its_last_delay() {
        let s = RetrySchedule::from_millis(&[0, 5000, 300_000]);
        assert_eq!(s.first(), Duration::ZERO);
        assert_eq!(s.after_failures(1), Some(Duration::from_secs(5)));
        assert_eq!(s.after_failures(2), Some(Duration::from_secs(300)));
        assert_eq!(s.after_failures(3), None);
    }
}
