//! The live inbox stream.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

/// The stream of StreamInboxEvents.
pub type InboxStream = tonic::codegen::BoxStream<pb::StreamInboxEventsResponse>;

pub async fn stream_inbox_events(
    _ctx: &Ctx,
    _scope: Scope,
    _request: pb::StreamInboxEventsRequest,
) -> Result<InboxStream, Status> {
    Err(Status::unimplemented("StreamInboxEvents"))
}
