//! Generated gRPC contracts of Switchboard (`switchboard.<service>.v1`), re-exporting the
//! tonic/prost versions they were generated with, and the descriptor set for reflection.

pub use prost;
pub use prost_types;
pub use tonic;

/// Encoded `FileDescriptorSet` of every Switchboard proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/switchboard_descriptor.bin"));

#[allow(clippy::all, missing_docs)]
pub mod common {
    pub mod v1 {
        tonic::include_proto!("switchboard.common.v1");
    }
}
#[allow(clippy::all, missing_docs)]
pub mod gateway {
    pub mod v1 {
        tonic::include_proto!("switchboard.gateway.v1");
    }
}
#[allow(clippy::all, missing_docs)]
pub mod channel {
    pub mod v1 {
        tonic::include_proto!("switchboard.channel.v1");
    }
}
#[allow(clippy::all, missing_docs)]
pub mod routing {
    pub mod v1 {
        tonic::include_proto!("switchboard.routing.v1");
    }
}
#[allow(clippy::all, missing_docs)]
pub mod presence {
    pub mod v1 {
        tonic::include_proto!("switchboard.presence.v1");
    }
}
#[allow(clippy::all, missing_docs)]
pub mod ticketing {
    pub mod v1 {
        tonic::include_proto!("switchboard.ticketing.v1");
    }
}

/// Fully qualified names of the five services' primary gRPC services, for health checks.
pub const SERVICE_NAMES: [&str; 5] = [
    "switchboard.gateway.v1.GatewayService",
    "switchboard.channel.v1.ChannelService",
    "switchboard.routing.v1.RoutingService",
    "switchboard.presence.v1.PresenceService",
    "switchboard.ticketing.v1.TicketingService",
];
