//! The internal services the gateway forwards to, and how a forwarded call is built: the
//! caller's remaining deadline, the trace context (by the channels' interceptor) and nothing a
//! client sent about who it is.

use std::time::Duration;

use switchboard_proto::{
    channel::v1::channel_service_client::ChannelServiceClient,
    integrations::v1::integrations_service_client::IntegrationsServiceClient,
    presence::v1::presence_service_client::PresenceServiceClient,
    reporting::v1::reporting_service_client::ReportingServiceClient,
    routing::v1::routing_service_client::RoutingServiceClient,
    ticketing::v1::ticketing_service_client::TicketingServiceClient,
};
use switchboard_runtime::{
    Service,
    clients::{Endpoints, TracedChannel},
};

/// Clients of the internal services the gateway forwards to (cheap to clone).
#[derive(Clone)]
pub struct Upstream {
    routing: RoutingServiceClient<TracedChannel>,
    channel: ChannelServiceClient<TracedChannel>,
    presence: PresenceServiceClient<TracedChannel>,
    ticketing: TicketingServiceClient<TracedChannel>,
    reporting: ReportingServiceClient<TracedChannel>,
    integrations: IntegrationsServiceClient<TracedChannel>,
}

/// Largest message the gateway accepts back from an internal service.
const MAX_DECODING: usize = 16 * 1024 * 1024;

impl Upstream {
    pub fn new(endpoints: &Endpoints) -> anyhow::Result<Self> {
        Ok(Self {
            routing: RoutingServiceClient::new(endpoints.channel(Service::Routing)?)
                .max_decoding_message_size(MAX_DECODING),
            channel: ChannelServiceClient::new(endpoints.channel(Service::Channel)?)
                .max_decoding_message_size(MAX_DECODING),
            presence: PresenceServiceClient::new(endpoints.channel(Service::Presence)?)
                .max_decoding_message_size(MAX_DECODING),
            ticketing: TicketingServiceClient::new(endpoints.channel(Service::Ticketing)?)
                .max_decoding_message_size(MAX_DECODING),
            reporting: ReportingServiceClient::new(endpoints.channel(Service::Reporting)?)
                .max_decoding_message_size(MAX_DECODING),
            integrations: IntegrationsServiceClient::new(endpoints.channel(Service::Integrations)?)
                .max_decoding_message_size(MAX_DECODING),
        })
    }

    pub fn routing(&self) -> RoutingServiceClient<TracedChannel> {
        self.routing.clone()
    }

    pub fn channel(&self) -> ChannelServiceClient<TracedChannel> {
        self.channel.clone()
    }

    pub fn presence(&self) -> PresenceServiceClient<TracedChannel> {
        self.presence.clone()
    }

    pub fn ticketing(&self) -> TicketingServiceClient<TracedChannel> {
        self.ticketing.clone()
    }

    pub fn reporting(&self) -> ReportingServiceClient<TracedChannel> {
        self.reporting.clone()
    }

    pub fn integrations(&self) -> IntegrationsServiceClient<TracedChannel> {
        self.integrations.clone()
    }
}

/// Every item of a paged internal list: `fetch` is called with each page request (200 items)
/// and answers that page's items and its page metadata, until no next page token is left.
pub async fn every_page<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, tonic::Status>
where
    F: FnMut(switchboard_proto::common::v1::PageRequest) -> Fut,
    Fut: Future<
        Output = Result<
            (Vec<T>, Option<switchboard_proto::common::v1::PageResponse>),
            tonic::Status,
        >,
    >,
{
    let mut items = Vec::new();
    let mut page_token = String::new();
    loop {
        let (page, meta) = fetch(switchboard_proto::common::v1::PageRequest {
            page_size: 200,
            page_token: page_token.clone(),
        })
        .await?;
        items.extend(page);
        page_token = meta.map(|m| m.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            return Ok(items);
        }
    }
}

/// The deadline a client set (`grpc-timeout`), to pass on to every internal call it causes.
pub fn deadline(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let raw = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_is_read_in_every_unit() {
        let mut md = tonic::metadata::MetadataMap::new();
        assert_eq!(deadline(&md), None);
        for (raw, want) in [
            ("2S", Duration::from_secs(2)),
            ("150m", Duration::from_millis(150)),
            ("1M", Duration::from_secs(60)),
            ("500000u", Duration::from_millis(500)),
        ] {
            md.insert("grpc-timeout", raw.parse().expect("ascii"));
            assert_eq!(deadline(&md), Some(want), "{raw}");
        }
        md.insert("grpc-timeout", "12X".parse().expect("ascii"));
        assert_eq!(deadline(&md), None);
    }
}
