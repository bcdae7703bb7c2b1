//! The topics of the configuration events routing writes to its outbox, and the helper that
//! enqueues one in the caller's transaction.

use sea_orm::ConnectionTrait;
use switchboard_runtime::{
    ids::OrganizationId,
    outbox::{self, NewEvent},
};

use crate::error::RoutingError;

/// Topic of the event written when an agent is created, changed or disabled.
pub const AGENT_CHANGED: &str = "routing.agent.changed";
/// Topic of the event written when a team or its members change, or it is deleted.
pub const TEAM_CHANGED: &str = "routing.team.changed";
/// Topic of the event written when a channel account's routing is replaced.
pub const CHANNEL_ACCOUNT_CHANGED: &str = "routing.channel_account.changed";
/// Topic of the event written when a campaign is created, changed or archived.
pub const CAMPAIGN_CHANGED: &str = "routing.campaign.changed";

pub(super) async fn event<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    topic: &str,
    aggregate: &str,
    payload: serde_json::Value,
) -> Result<(), RoutingError> {
    outbox::enqueue(
        conn,
        NewEvent {
            organization_id: org.to_string(),
            topic: topic.into(),
            aggregate_id: aggregate.into(),
            payload,
        },
    )
    .await?;
    Ok(())
}
