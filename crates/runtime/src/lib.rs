//! The runtime kit every Switchboard service shares: configuration, telemetry, gRPC serving
//! (health, reflection, trace context, request metrics, graceful drain), storage, typed ids, error
//! helpers, the transactional outbox, the event bus and the process's Prometheus registry.

pub mod bus;
pub mod clients;
pub mod clock;
pub mod config;
pub mod conn;
pub mod db;
pub mod dead_letters;
pub mod errors;
pub mod grpc;
pub mod host;
pub mod idempotency;
pub mod ids;
pub mod metrics;
pub mod outbox;
pub mod paging;
pub mod roles;
pub mod shutdown;
pub mod telemetry;
pub mod tenancy;
pub mod validate;

use std::{fmt, str::FromStr, sync::Arc};

pub use crate::config::Settings;

/// The services of the suite; each is a `serve --target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Gateway,
    Channel,
    Routing,
    Presence,
    Ticketing,
    Reporting,
    Integrations,
}

impl Service {
    /// Every service, in start order (dependencies first).
    pub const ALL: [Service; 7] = [
        Service::Presence,
        Service::Ticketing,
        Service::Routing,
        Service::Channel,
        Service::Reporting,
        Service::Integrations,
        Service::Gateway,
    ];

    /// Lowercase name: target name, schema name, SQLite file name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Gateway => "gateway",
            Service::Channel => "channel",
            Service::Routing => "routing",
            Service::Presence => "presence",
            Service::Ticketing => "ticketing",
            Service::Reporting => "reporting",
            Service::Integrations => "integrations",
        }
    }

    /// Fully qualified name of the service's gRPC service (its health-check name).
    pub fn grpc_name(self) -> &'static str {
        match self {
            Service::Gateway => "switchboard.gateway.v1.GatewayService",
            Service::Channel => "switchboard.channel.v1.ChannelService",
            Service::Routing => "switchboard.routing.v1.RoutingService",
            Service::Presence => "switchboard.presence.v1.PresenceService",
            Service::Ticketing => "switchboard.ticketing.v1.TicketingService",
            Service::Reporting => "switchboard.reporting.v1.ReportingService",
            Service::Integrations => "switchboard.integrations.v1.IntegrationsService",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Service {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|svc| svc.name() == s)
            .ok_or_else(|| {
                format!("unknown target `{s}` (expected all, gateway, channel, routing, presence, ticketing, reporting or integrations)")
            })
    }
}

/// Parses a `--target` value: `all` or a comma list of service names, deduplicated, in start order.
pub fn parse_targets(value: &str) -> Result<Vec<Service>, String> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "all" {
            out.extend(Service::ALL);
        } else {
            out.push(part.parse()?);
        }
    }
    if out.is_empty() {
        return Err("no target given".into());
    }
    out.sort_by_key(|s| Service::ALL.iter().position(|x| x == s));
    out.dedup();
    Ok(out)
}

/// What the process shares with every service it runs: settings, the event bus, Redis, where
/// the other services answer, and the metric registry served on `server.metrics_port`.
#[derive(Clone)]
pub struct Infra {
    pub settings: Arc<Settings>,
    pub bus: Arc<dyn bus::EventBus>,
    pub redis: Option<redis::aio::ConnectionManager>,
    pub endpoints: clients::Endpoints,
    /// The clock services read (tests move it forward).
    pub clock: clock::Clock,
    /// This process's metrics (a fresh registry per `Infra`, never a global one).
    pub metrics: metrics::Metrics,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_all_and_lists_in_start_order() {
        assert_eq!(parse_targets("all").expect("ok").len(), Service::ALL.len());
        assert_eq!(
            parse_targets("gateway, routing,routing").expect("ok"),
            vec![Service::Routing, Service::Gateway]
        );
        assert!(parse_targets("routing,billing").is_err());
        assert!(parse_targets("").is_err());
    }

    #[test]
    fn grpc_names_match_the_generated_protos() {
        for svc in Service::ALL {
            assert!(switchboard_proto::SERVICE_NAMES.contains(&svc.grpc_name()));
        }
    }
}
