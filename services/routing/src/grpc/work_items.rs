//! Work item RPCs (internal services).

use switchboard_proto::routing::v1 as pb;
use switchboard_runtime::ids::{AgentId, ChannelAccountId, WorkItemId};
use switchboard_runtime::page_filter;

use super::convert::{
    Check, RoutingChecks, actor_to_pb, opt_timestamp, target_to_pb, timestamp_ms,
};
use crate::{
    app::{Routing, work_items::NewWorkItem},
    domain::work_item::{WorkItem, WorkState},
    error::RoutingError,
    store::work_items::WorkItemFilter,
};

pub(crate) fn state_to_pb(s: WorkState) -> pb::WorkItemState {
    match s {
        WorkState::Queued => pb::WorkItemState::Queued,
        WorkState::Assigned => pb::WorkItemState::Assigned,
        WorkState::Accepted => pb::WorkItemState::Accepted,
        WorkState::Completed => pb::WorkItemState::Completed,
        WorkState::Canceled => pb::WorkItemState::Canceled,
    }
}

fn to_pb(org: &str, i: &WorkItem) -> pb::WorkItem {
    pb::WorkItem {
        id: i.id.to_string(),
        organization_id: org.to_string(),
        kind: i.kind.clone(),
        external_ref: i.external_ref.clone(),
        target: Some(target_to_pb(&i.target)),
        priority: i.priority,
        attributes: i.attributes.clone().into_iter().collect(),
        state: state_to_pb(i.state) as i32,
        assignee_agent_id: i
            .assignee
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        created_by: Some(actor_to_pb(&i.created_by)),
        outcome: i.outcome.clone(),
        last_decision_id: i
            .last_decision_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        create_time: Some(timestamp_ms(i.created_ms)),
        assign_time: opt_timestamp(i.assign_ms),
        offer_expire_time: if i.state == WorkState::Assigned {
            opt_timestamp(i.offer_expire_ms)
        } else {
            None
        },
        accept_time: opt_timestamp(i.accept_ms),
        end_time: opt_timestamp(i.end_ms),
    }
}

pub async fn route_work_item(
    app: &Routing,
    req: pb::RouteWorkItemRequest,
) -> Result<pb::RouteWorkItemResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let o = check.org(&req.organization_id);
    let kind = req.kind.trim();
    if kind.is_empty() || kind.chars().count() > 64 {
        check.bad("kind", "must be 1 to 64 characters");
    }
    if req.external_ref.chars().count() > 256 {
        check.bad("external_ref", "must be at most 256 characters");
    }
    let target = check.target("target", req.target.as_ref(), false);
    if let Some(p) = req.priority
        && !(-100..=100).contains(&p)
    {
        check.bad("priority", "must be between -100 and 100");
    }
    if req.attributes.len() > 64 {
        check.bad("attributes", "at most 64 entries");
    }
    for (k, v) in &req.attributes {
        if k.is_empty() || k.chars().count() > 64 || v.chars().count() > 1024 {
            check.bad(
                &format!("attributes[{k}]"),
                "keys 1 to 64 characters, values at most 1,024",
            );
        }
    }
    let account = check.opt_id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    check.done()?;
    let o = o.expect("validated");
    let item = app
        .route_work_item(
            &o,
            NewWorkItem {
                request_id: req.request_id,
                kind: kind.to_string(),
                external_ref: req.external_ref,
                target,
                priority: req.priority,
                attributes: req.attributes.into_iter().collect(),
                channel_account_id: account,
                caller: req.caller,
            },
        )
        .await?;
    Ok(pb::RouteWorkItemResponse {
        work_item: Some(to_pb(o.as_str(), &item)),
    })
}

pub async fn get_work_item(
    app: &Routing,
    req: pb::GetWorkItemRequest,
) -> Result<pb::GetWorkItemResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let id = check.id::<WorkItemId>("work_item_id", &req.work_item_id);
    check.done()?;
    let o = o.expect("validated");
    let item = app.store().work_item(&o, &id.expect("validated")).await?;
    Ok(pb::GetWorkItemResponse {
        work_item: Some(to_pb(o.as_str(), &item)),
    })
}

pub async fn list_work_items(
    app: &Routing,
    req: pb::ListWorkItemsRequest,
) -> Result<pb::ListWorkItemsResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let mut states = Vec::new();
    for (i, s) in req.states.iter().enumerate() {
        match pb::WorkItemState::try_from(*s) {
            Ok(pb::WorkItemState::Queued) => states.push(WorkState::Queued),
            Ok(pb::WorkItemState::Assigned) => states.push(WorkState::Assigned),
            Ok(pb::WorkItemState::Accepted) => states.push(WorkState::Accepted),
            Ok(pb::WorkItemState::Completed) => states.push(WorkState::Completed),
            Ok(pb::WorkItemState::Canceled) => states.push(WorkState::Canceled),
            _ => check.bad(&format!("states[{i}]"), "must be a work item state"),
        }
    }
    let filter = WorkItemFilter {
        states,
        assignee: check.opt_id::<AgentId>("assignee_agent_id", &req.assignee_agent_id),
        kind: (!req.kind.is_empty()).then_some(req.kind),
        external_ref: (!req.external_ref.is_empty()).then_some(req.external_ref),
    };
    check.done()?;
    let o = o.expect("validated");
    let (items, total) = app.list_work_items(&o, &filter, page).await?;
    Ok(pb::ListWorkItemsResponse {
        page: Some(items.response(Some(total))),
        work_items: items.items.iter().map(|i| to_pb(o.as_str(), i)).collect(),
    })
}

pub async fn accept_work_item(
    app: &Routing,
    req: pb::AcceptWorkItemRequest,
) -> Result<pb::AcceptWorkItemResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let o = check.org(&req.organization_id);
    let actor = check.id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let id = check.id::<WorkItemId>("work_item_id", &req.work_item_id);
    check.done()?;
    let o = o.expect("validated");
    let item = app
        .accept_work_item(&o, &id.expect("validated"), &actor.expect("validated"))
        .await?;
    Ok(pb::AcceptWorkItemResponse {
        work_item: Some(to_pb(o.as_str(), &item)),
    })
}

pub async fn complete_work_item(
    app: &Routing,
    req: pb::CompleteWorkItemRequest,
) -> Result<pb::CompleteWorkItemResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let o = check.org(&req.organization_id);
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let id = check.id::<WorkItemId>("work_item_id", &req.work_item_id);
    if req.outcome.chars().count() > 1000 {
        check.bad("outcome", "must be at most 1,000 characters");
    }
    check.done()?;
    let o = o.expect("validated");
    let item = app
        .end_work_item(
            &o,
            &id.expect("validated"),
            actor.as_ref(),
            true,
            &req.outcome,
        )
        .await?;
    Ok(pb::CompleteWorkItemResponse {
        work_item: Some(to_pb(o.as_str(), &item)),
    })
}

pub async fn cancel_work_item(
    app: &Routing,
    req: pb::CancelWorkItemRequest,
) -> Result<pb::CancelWorkItemResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let o = check.org(&req.organization_id);
    let id = check.id::<WorkItemId>("work_item_id", &req.work_item_id);
    if req.reason.chars().count() > 1000 {
        check.bad("reason", "must be at most 1,000 characters");
    }
    check.done()?;
    let o = o.expect("validated");
    let item = app
        .end_work_item(&o, &id.expect("validated"), None, false, &req.reason)
        .await?;
    Ok(pb::CancelWorkItemResponse {
        work_item: Some(to_pb(o.as_str(), &item)),
    })
}
