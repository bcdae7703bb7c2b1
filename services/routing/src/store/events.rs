//! The helper that enqueues one of routing's events (`proto/switchboard/routing/v1/events.proto`)
//! in the caller's transaction.

use sea_orm::ConnectionTrait;
use switchboard_runtime::{
    ids::OrganizationId,
    outbox::{self, NewEvent, TypedEvent},
};

use crate::error::RoutingError;

/// Writes `message` (its topic is its type's) about `aggregate` in `conn`'s transaction.
pub(super) async fn event<C: ConnectionTrait, T: TypedEvent>(
    conn: &C,
    org: &OrganizationId,
    aggregate: &str,
    message: &T,
) -> Result<(), RoutingError> {
    outbox::enqueue(conn, NewEvent::typed(org.to_string(), aggregate, message)).await?;
    Ok(())
}
