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
#[allow(clippy::all, missing_docs)]
pub mod reporting {
    pub mod v1 {
        tonic::include_proto!("switchboard.reporting.v1");
    }
}
#[allow(clippy::all, missing_docs)]
pub mod integrations {
    pub mod v1 {
        tonic::include_proto!("switchboard.integrations.v1");
    }
}

/// Fully qualified names of the services' primary gRPC services, for health checks.
pub const SERVICE_NAMES: [&str; 7] = [
    "switchboard.gateway.v1.GatewayService",
    "switchboard.channel.v1.ChannelService",
    "switchboard.routing.v1.RoutingService",
    "switchboard.presence.v1.PresenceService",
    "switchboard.ticketing.v1.TicketingService",
    "switchboard.reporting.v1.ReportingService",
    "switchboard.integrations.v1.IntegrationsService",
];

/// Events are proto messages (`proto/switchboard/<service>/v1/events.proto`), one per topic.
/// Each message's topic is declared here, once: producers and consumers both use
/// [`TypedEvent::TOPIC`] (never a string of their own), and the runtime's outbox and consumers
/// encode and decode with it (`NewEvent::typed`, `Event::decode`).
pub mod events {
    /// A message that is the payload of one topic's events.
    pub trait TypedEvent: prost::Message + Default {
        /// Dotted topic, `<service>.<entity>.<verb>`.
        const TOPIC: &'static str;
    }

    macro_rules! topics {
        ($($ty:path => $topic:literal,)*) => {
            $(impl TypedEvent for $ty {
                const TOPIC: &'static str = $topic;
            })*
            /// Every topic, for tests and tools.
            pub const ALL_TOPICS: &[&str] = &[$($topic),*];
        };
    }

    topics! {
        crate::channel::v1::MessageReceived => "channel.message.received",
        crate::channel::v1::MessageSent => "channel.message.sent",
        crate::channel::v1::MessageStatusChanged => "channel.message.status_changed",
        crate::channel::v1::MessageAttached => "channel.message.attached",
        crate::channel::v1::ChannelAccountDeleted => "channel.account.deleted",
        crate::routing::v1::ConversationChanged => "routing.conversation.changed",
        crate::routing::v1::OrganizationCreated => "routing.organization.created",
        crate::routing::v1::AgentChanged => "routing.agent.changed",
        crate::routing::v1::TeamChanged => "routing.team.changed",
        crate::routing::v1::ChannelAccountChanged => "routing.channel_account.changed",
        crate::routing::v1::CampaignChanged => "routing.campaign.changed",
        crate::routing::v1::WorkItemChanged => "routing.work_item.changed",
        crate::presence::v1::AgentStatusChanged => "presence.agent.status_changed",
        crate::presence::v1::AgentHeartbeatExpired => "presence.agent.heartbeat_expired",
        crate::presence::v1::AgentCapacityChanged => "presence.agent.capacity_changed",
        crate::presence::v1::AgentSlotReserved => "presence.agent.slot_reserved",
        crate::presence::v1::AgentSlotFreed => "presence.agent.slot_freed",
        crate::presence::v1::AgentProfileChanged => "presence.agent.profile_changed",
        crate::presence::v1::OrganizationRebuildRequired => "presence.organization.rebuild_required",
        crate::ticketing::v1::TicketChanged => "ticketing.ticket.changed",
        crate::ticketing::v1::TicketLinkChanged => "ticketing.link.changed",
    }

    /// The topic of `T`, usable in `const` contexts (consumer group declarations).
    pub const fn topic<T: TypedEvent>() -> &'static str {
        T::TOPIC
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn every_topic_is_declared_once() {
            let mut seen = std::collections::HashSet::new();
            for t in super::ALL_TOPICS {
                assert!(seen.insert(*t), "{t} declared twice");
            }
        }
    }
}
