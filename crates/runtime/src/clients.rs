//! How a service reaches the others: one lazily connected channel per service, with the
//! caller's trace context injected into every call's metadata.

use std::{collections::BTreeMap, sync::Arc};

use tonic::{
    metadata::{MetadataKey, MetadataMap, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

use crate::Service;

/// Where each service answers (`http://host:port`, or a comma-separated list of replicas'
/// URLs: `http://routing-1:50053,http://routing-2:50053`).
#[derive(Debug, Clone, Default)]
pub struct Endpoints(Arc<BTreeMap<Service, String>>);

impl Endpoints {
    pub fn new(map: BTreeMap<Service, String>) -> Self {
        Self(Arc::new(map))
    }

    /// The URL of `service`, if known.
    pub fn url(&self, service: Service) -> Option<&str> {
        self.0.get(&service).map(String::as_str)
    }

    /// A lazily connected channel to `service` (connects on first call, reconnects on failure).
    ///
    /// With several URLs the channel balances calls over the replicas (power of two choices
    /// by pending requests, `Channel::balance_list`). A replica that is down stays in the
    /// list and fails its calls fast with UNAVAILABLE: retrying such a call (which then
    /// likely lands on another replica) is the caller's job.
    pub fn channel(&self, service: Service) -> anyhow::Result<TracedChannel> {
        let url = self
            .url(service)
            .ok_or_else(|| anyhow::anyhow!("no endpoint configured for the {service} service"))?;
        let mut endpoints = split_urls(url)
            .map(|url| {
                Ok(Endpoint::from_shared(url.to_string())?
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .tcp_nodelay(true))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let channel = match endpoints.len() {
            0 => anyhow::bail!("no endpoint configured for the {service} service"),
            1 => endpoints.remove(0).connect_lazy(),
            _ => Channel::balance_list(endpoints.into_iter()),
        };
        Ok(InterceptedService::new(channel, TraceContextInterceptor))
    }
}

/// The URLs of a comma-separated endpoint list (blanks around commas and empty items ignored).
pub fn split_urls(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|url| !url.is_empty())
}

/// Calls `call` again (up to `attempts` times in all, 50 ms apart, growing) while it answers
/// UNAVAILABLE: with an endpoint list, another attempt likely lands on another replica (a
/// replica that is restarting refuses connections). Only for idempotent calls.
pub async fn retry_unavailable<T, F, Fut>(attempts: u32, mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(status) if status.code() == tonic::Code::Unavailable && attempt < attempts => {
                tokio::time::sleep(std::time::Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            answer => return answer,
        }
    }
}

/// A channel whose calls carry the current span's W3C trace context.
pub type TracedChannel = InterceptedService<Channel, TraceContextInterceptor>;

/// Injects `traceparent`/`tracestate` of the current span into outgoing metadata.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContextInterceptor;

impl Interceptor for TraceContextInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        inject(req.metadata_mut());
        Ok(req)
    }
}

fn inject(metadata: &mut MetadataMap) {
    let mut headers = http::HeaderMap::new();
    crate::telemetry::inject_current(&mut headers);
    for (name, value) in headers.iter() {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(name.as_str().as_bytes()),
            value.to_str().map(MetadataValue::try_from),
        ) && let Ok(value) = value
        {
            metadata.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_lists_are_split_on_commas() {
        let urls: Vec<_> = split_urls(" http://a:1 ,http://b:2,, ").collect();
        assert_eq!(urls, ["http://a:1", "http://b:2"]);
        assert_eq!(split_urls("http://a:1").count(), 1);
        assert_eq!(split_urls("").count(), 0);
    }

    #[tokio::test]
    async fn a_list_builds_a_balanced_channel() {
        let endpoints = Endpoints::new(BTreeMap::from([
            (
                Service::Routing,
                "http://127.0.0.1:1,http://127.0.0.1:2".to_string(),
            ),
            (Service::Channel, "http://127.0.0.1:3".to_string()),
            (Service::Presence, " , ".to_string()),
        ]));
        assert!(endpoints.channel(Service::Routing).is_ok());
        assert!(endpoints.channel(Service::Channel).is_ok());
        let mut calls = 0;
        let answer: Result<(), tonic::Status> = retry_unavailable(3, || {
            calls += 1;
            async { Err(tonic::Status::unavailable("down")) }
        })
        .await;
        assert_eq!(
            (answer.unwrap_err().code(), calls),
            (tonic::Code::Unavailable, 3)
        );
        let mut calls = 0;
        let answer: Result<(), tonic::Status> = retry_unavailable(3, || {
            calls += 1;
            async { Err(tonic::Status::not_found("no")) }
        })
        .await;
        assert_eq!(
            (answer.unwrap_err().code(), calls),
            (tonic::Code::NotFound, 1)
        );
        assert!(endpoints.channel(Service::Presence).is_err());
        assert!(endpoints.channel(Service::Ticketing).is_err());
        assert!(
            Endpoints::new(BTreeMap::from([(
                Service::Routing,
                "http://a:1,not a url\n".to_string()
            )]))
            .channel(Service::Routing)
            .is_err()
        );
    }
}
