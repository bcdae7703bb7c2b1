//! Fixtures for integrations tests: an integrations client, a feed reader, and a local HTTP
//! server standing in for an organization's webhook endpoint (it answers a planned series of
//! statuses and records every request it got).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use switchboard_proto::integrations::v1::{
    self as pb, integrations_service_client::IntegrationsServiceClient,
};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub type IntegrationsClient = IntegrationsServiceClient<Channel>;

/// Reads `stream` until `done` holds of what was read (or fails after `secs`).
pub async fn read_until(
    stream: &mut tonic::Streaming<pb::FeedEvent>,
    secs: u64,
    done: impl Fn(&[pb::FeedEvent]) -> bool,
) -> anyhow::Result<Vec<pb::FeedEvent>> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, stream.message()).await {
            Ok(Ok(Some(e))) => seen.push(e),
            Ok(Ok(None)) => anyhow::bail!("the feed stream ended after {} events", seen.len()),
            Ok(Err(status)) => anyhow::bail!("the feed stream failed: {status:?}"),
            Err(_) => anyhow::bail!(
                "feed condition not met after {secs} s; read {:?}",
                seen.iter()
                    .map(|e| (&e.topic, &e.aggregate_id))
                    .collect::<Vec<_>>()
            ),
        }
    }
    Ok(seen)
}

/// One request the test endpoint received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

/// A webhook receiver on 127.0.0.1: answers `plan[i]` to its i-th request (then 200).
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    stop: CancellationToken,
}

impl Receiver {
    pub async fn start(plan: Vec<u16>) -> anyhow::Result<Self> {
        use axum::{body::Bytes, http::HeaderMap, http::StatusCode, routing::post};
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let router = axum::Router::new().route(
            "/hooks",
            post({
                let received = received.clone();
                move |headers: HeaderMap, body: Bytes| {
                    let received = received.clone();
                    let plan = plan.clone();
                    async move {
                        let mut all = received.lock().expect("lock");
                        let status = plan.get(all.len()).copied().unwrap_or(200);
                        all.push(Received {
                            headers,
                            body: body.to_vec(),
                        });
                        (
                            StatusCode::from_u16(status).expect("status"),
                            if status >= 300 { "try later" } else { "" },
                        )
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let token = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
        });
        Ok(Self {
            url: format!("http://{addr}/hooks"),
            received,
            stop,
        })
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until `n` requests arrived; returns them.
    pub async fn until(&self, n: usize, secs: u64) -> anyhow::Result<Vec<Received>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.requests();
            if got.len() >= n {
                return Ok(got);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} webhook requests after {secs} s",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Verifies a request's Standard Webhooks signature with `secret`, independently of the
/// service: `v1,` + base64(HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}")).
pub fn verify_signature(secret: &str, r: &Received) -> anyhow::Result<()> {
    let key = STANDARD.decode(
        secret
            .strip_prefix("whsec_")
            .ok_or_else(|| anyhow::anyhow!("secret without whsec_: {secret}"))?,
    )?;
    anyhow::ensure!(key.len() >= 24, "a secret of {} bytes", key.len());
    let id = r.header("webhook-id");
    let timestamp = r.header("webhook-timestamp");
    let ts: i64 = timestamp.parse()?;
    anyhow::ensure!(
        (chrono::Utc::now().timestamp() - ts).abs() < 300,
        "webhook-timestamp {ts} is not now"
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let header = r.header("webhook-signature");
    anyhow::ensure!(
        header.split(' ').any(|s| s == expected),
        "webhook-signature {header:?} is not {expected:?}"
    );
    Ok(())
}
