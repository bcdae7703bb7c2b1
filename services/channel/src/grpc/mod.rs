//! The gRPC adapter: converts proto messages to application calls and errors to statuses.

use switchboard_proto::channel::v1::channel_service_server::ChannelService;

use crate::app::Channel;

/// `switchboard.channel.v1.ChannelService`.
pub struct ChannelGrpc {
    #[allow(dead_code)]
    app: Channel,
}

impl ChannelGrpc {
    pub fn new(app: Channel) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl ChannelService for ChannelGrpc {}
