//! How a service reaches the others: one lazily connected channel per service, with the
//! caller's trace context injected into every call's metadata.

use std::{collections::BTreeMap, sync::Arc};

use tonic::{
    metadata::{MetadataKey, MetadataMap, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

use crate::Service;

/// Where each service answers (`http://host:port`).
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
    pub fn channel(&self, service: Service) -> anyhow::Result<TracedChannel> {
        let url = self
            .url(service)
            .ok_or_else(|| anyhow::anyhow!("no endpoint configured for the {service} service"))?;
        let channel = Endpoint::from_shared(url.to_string())?
            .connect_timeout(std::time::Duration::from_secs(5))
            .tcp_nodelay(true)
            .connect_lazy();
        Ok(InterceptedService::new(channel, TraceContextInterceptor))
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
