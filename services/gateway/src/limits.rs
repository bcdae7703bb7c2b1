//! What one client may ask of an internet-facing API: calls per token (a GCRA token bucket,
//! `governor`), live streams per agent, page sizes. A refusal is RESOURCE_EXHAUSTED with a
//! `google.rpc.RetryInfo` saying when to try again. Request sizes are capped by the server
//! itself (`max_decoding_message_size`, also RESOURCE_EXHAUSTED).

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use sha2::{Digest, Sha256};
use switchboard_proto::common::v1::PageRequest;
use switchboard_runtime::config::GatewayLimitSettings;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The gateway's limits.
pub struct Limits {
    calls: DefaultKeyedRateLimiter<[u8; 16]>,
    streams: Arc<Mutex<HashMap<String, usize>>>,
    max_streams: usize,
    max_page_size: i32,
}

impl Limits {
    pub fn new(settings: &GatewayLimitSettings) -> Self {
        let per_second = NonZeroU32::new(settings.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(settings.burst).unwrap_or(NonZeroU32::MIN);
        Self {
            calls: DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            streams: Arc::default(),
            max_streams: settings.max_streams_per_agent,
            max_page_size: settings.max_page_size,
        }
    }

    /// Takes one call from the token's bucket (keyed by a hash: tokens are never kept).
    pub fn take(&self, token: &str) -> Result<(), Status> {
        let digest = Sha256::digest(token.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        match self.calls.check_key(&key) {
            Ok(()) => {
                if self.calls.len() > 100_000 {
                    self.calls.retain_recent();
                }
                Ok(())
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
                Err(exhausted(
                    "too many calls with this token; slow down",
                    wait.max(Duration::from_millis(1)),
                ))
            }
        }
    }

    /// A live stream slot of `agent_id`, given back when the permit drops.
    pub fn stream_permit(&self, agent_id: &str) -> Result<StreamPermit, Status> {
        let mut streams = self.streams.lock().expect("stream counts");
        let open = streams.entry(agent_id.to_string()).or_insert(0);
        if *open >= self.max_streams {
            return Err(exhausted(
                &format!(
                    "{} live inbox streams are already open for this agent (the limit); close one",
                    self.max_streams
                ),
                Duration::from_secs(5),
            ));
        }
        *open += 1;
        Ok(StreamPermit {
            streams: self.streams.clone(),
            agent_id: agent_id.to_string(),
        })
    }

    /// `page` with its size brought within the limit (AIP-158: a larger size is coerced, not
    /// refused); an unset page asks for the services' default.
    pub fn page(&self, page: Option<PageRequest>) -> Option<PageRequest> {
        page.map(|mut p| {
            p.page_size = p.page_size.min(self.max_page_size);
            p
        })
    }
}

/// An open live stream, counted until dropped.
pub struct StreamPermit {
    streams: Arc<Mutex<HashMap<String, usize>>>,
    agent_id: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().expect("stream counts");
        if let Some(open) = streams.get_mut(&self.agent_id) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.agent_id);
            }
        }
    }
}

/// RESOURCE_EXHAUSTED with a RetryInfo delay.
fn exhausted(message: &str, retry_after: Duration) -> Status {
    Status::with_error_details(
        Code::ResourceExhausted,
        message,
        ErrorDetails::with_retry_info(Some(retry_after)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> GatewayLimitSettings {
        GatewayLimitSettings {
            max_request_bytes: 4096,
            max_page_size: 50,
            max_streams_per_agent: 2,
            requests_per_second: 1,
            burst: 3,
            http2_keepalive_secs: 30,
            idle_timeout_secs: 300,
            first_request_timeout_secs: 10,
        }
    }

    #[test]
    fn a_token_gets_its_burst_then_resource_exhausted_with_retry_info() {
        let limits = Limits::new(&settings());
        for _ in 0..3 {
            limits.take("token-a").expect("within the burst");
        }
        let refused = limits.take("token-a").expect_err("over the burst");
        assert_eq!(refused.code(), Code::ResourceExhausted);
        let retry = refused.get_details_retry_info().expect("retry info");
        assert!(retry.retry_delay.expect("delay") > Duration::ZERO);
        // Another token has its own bucket.
        limits.take("token-b").expect("another token");
    }

    #[test]
    fn streams_per_agent_are_counted_until_dropped() {
        let limits = Limits::new(&settings());
        let a = limits.stream_permit("agt_1").expect("first");
        let _b = limits.stream_permit("agt_1").expect("second");
        assert_eq!(
            limits.stream_permit("agt_1").err().map(|s| s.code()),
            Some(Code::ResourceExhausted)
        );
        limits.stream_permit("agt_2").expect("another agent");
        drop(a);
        limits.stream_permit("agt_1").expect("a slot came back");
    }

    #[test]
    fn page_sizes_are_coerced_to_the_limit() {
        let limits = Limits::new(&settings());
        let page = limits.page(Some(PageRequest {
            page_size: 500,
            ..Default::default()
        }));
        assert_eq!(page.expect("page").page_size, 50);
        assert_eq!(limits.page(None), None);
    }
}
