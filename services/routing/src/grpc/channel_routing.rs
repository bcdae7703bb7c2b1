//! Channel account routing RPCs: get and replace a channel account's linked teams, agents and
//! default target.

use switchboard_proto::routing::v1 as pb;
use switchboard_runtime::ids::{AgentId, ChannelAccountId, TeamId};

use super::convert::{Check, RoutingChecks, target_to_pb, timestamp_ms};
use crate::{app::Routing, domain::config::ChannelAccountRouting, error::RoutingError};

fn routing_to_pb(
    account: &ChannelAccountId,
    r: ChannelAccountRouting,
) -> pb::ChannelAccountRouting {
    pb::ChannelAccountRouting {
        channel_account_id: account.to_string(),
        linked_team_ids: r.linked_team_ids.iter().map(ToString::to_string).collect(),
        linked_agent_ids: r.linked_agent_ids.iter().map(ToString::to_string).collect(),
        default_target: Some(target_to_pb(&r.default_target)),
        update_time: r.updated_ms.map(timestamp_ms),
    }
}

pub async fn get_channel_account_routing(
    app: &Routing,
    req: pb::GetChannelAccountRoutingRequest,
) -> Result<pb::GetChannelAccountRoutingResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let account: Option<ChannelAccountId> = check.id("channel_account_id", &req.channel_account_id);
    check.done()?;
    let account = account.expect("validated");
    let routing = app
        .store()
        .channel_account_routing(&id.expect("validated"), &account)
        .await?;
    Ok(pb::GetChannelAccountRoutingResponse {
        routing: Some(routing_to_pb(&account, routing)),
    })
}

pub async fn update_channel_account_routing(
    app: &Routing,
    req: pb::UpdateChannelAccountRoutingRequest,
) -> Result<pb::UpdateChannelAccountRoutingResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    if req.routing.is_none() {
        check.bad("routing", "is required");
    }
    let r = req.routing.unwrap_or_default();
    let account: Option<ChannelAccountId> =
        check.id("routing.channel_account_id", &r.channel_account_id);
    let teams = check.ids::<TeamId>("routing.linked_team_ids", &r.linked_team_ids);
    let agents = check.ids::<AgentId>("routing.linked_agent_ids", &r.linked_agent_ids);
    let target = check.target("routing.default_target", r.default_target.as_ref(), true);
    check.done()?;
    let account = account.expect("validated");
    let routing = ChannelAccountRouting {
        channel_account_id: Some(account.clone()),
        linked_team_ids: teams,
        linked_agent_ids: agents,
        default_target: target,
        updated_ms: None,
    };
    let saved = app
        .update_channel_account_routing(&id.expect("validated"), actor.as_ref(), &account, routing)
        .await?;
    Ok(pb::UpdateChannelAccountRoutingResponse {
        routing: Some(routing_to_pb(&account, saved)),
    })
}
