//! Work items for internal services go through the same engine: a team's strategy picks the
//! agent, capacity is shared with conversations, a completed item frees its slot for the next
//! one, retries with the same request id return the same item, and bad input changes nothing.

use switchboard_proto::routing::v1::{self as pb, TeamStrategy, WorkItemState as W};
use switchboard_testkit::Backend;

use crate::{
    on_both_backends,
    routing_support::{World, agent_target, rid, team_target},
};

fn route(
    w: &World,
    request_id: &str,
    target: pb::Target,
    priority: Option<i32>,
) -> pb::RouteWorkItemRequest {
    pb::RouteWorkItemRequest {
        request_id: request_id.into(),
        organization_id: w.org.clone(),
        kind: "callback".into(),
        external_ref: format!("crm-{request_id}"),
        target: Some(target),
        priority,
        attributes: [("phone".to_string(), "+34600000000".to_string())].into(),
        caller: "crm".into(),
        ..Default::default()
    }
}

async fn work_items_share_the_engine_and_free_slots_on_completion(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let a = w.agent("Ana", 1).await?;
    let team = w
        .team("Callbacks", TeamStrategy::LeastOpen, &[&a], |_| {})
        .await?;
    let first_id = rid();
    let first = w
        .routing
        .route_work_item(route(&w, &first_id, team_target(&team), None))
        .await?
        .into_inner()
        .work_item
        .expect("work item");
    // Assigned at once as a rule; on a loaded machine the reservation can miss and the
    // sweeper's pass over waiting items assigns it moments later (both are the design).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut first = first;
    while first.state != W::Assigned as i32 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        first = w
            .routing
            .get_work_item(pb::GetWorkItemRequest {
                organization_id: w.org.clone(),
                work_item_id: first.id.clone(),
            })
            .await?
            .into_inner()
            .work_item
            .expect("work item");
    }
    assert_eq!(first.state, W::Assigned as i32);
    assert_eq!(first.assignee_agent_id, a);
    assert_eq!(
        first.attributes["phone"], "+34600000000",
        "attributes kept verbatim"
    );
    let again = w
        .routing
        .route_work_item(route(&w, &first_id, team_target(&team), None))
        .await?
        .into_inner()
        .work_item
        .expect("work item");
    assert_eq!(
        again.id, first.id,
        "a retried request returns the same item"
    );

    // Capacity 1 is taken: the next items wait, the higher priority one first.
    let low = w
        .routing
        .route_work_item(route(&w, &rid(), team_target(&team), Some(1)))
        .await?
        .into_inner()
        .work_item
        .expect("work item");
    let high = w
        .routing
        .route_work_item(route(&w, &rid(), team_target(&team), Some(50)))
        .await?
        .into_inner()
        .work_item
        .expect("work item");
    assert_eq!(low.state, W::Queued as i32);
    assert_eq!(high.state, W::Queued as i32);

    let accepted = w
        .routing
        .accept_work_item(pb::AcceptWorkItemRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: a.clone(),
            work_item_id: first.id.clone(),
        })
        .await?
        .into_inner()
        .work_item
        .expect("work item");
    assert_eq!(accepted.state, W::Accepted as i32);
    w.routing
        .complete_work_item(pb::CompleteWorkItemRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: a.clone(),
            work_item_id: first.id.clone(),
            outcome: "called back".into(),
        })
        .await?;
    let get = |id: &str| pb::GetWorkItemRequest {
        organization_id: w.org.clone(),
        work_item_id: id.into(),
    };
    // The close path refills at once; when its release or reservation meets a busy presence,
    // presence's slot_freed event (or the sweeper) does it moments later.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let high_now = loop {
        let item = w
            .routing
            .get_work_item(get(&high.id))
            .await?
            .into_inner()
            .work_item
            .expect("item");
        if item.state == W::Assigned as i32 || tokio::time::Instant::now() > deadline {
            break item;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        high_now.state,
        W::Assigned as i32,
        "the freed slot took the highest priority item"
    );
    assert_eq!(high_now.assignee_agent_id, a);
    let low_now = w
        .routing
        .get_work_item(get(&low.id))
        .await?
        .into_inner()
        .work_item
        .expect("item");
    assert_eq!(low_now.state, W::Queued as i32);

    let canceled = w
        .routing
        .cancel_work_item(pb::CancelWorkItemRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            work_item_id: low.id.clone(),
            reason: "customer called in".into(),
        })
        .await?
        .into_inner()
        .work_item
        .expect("item");
    assert_eq!(canceled.state, W::Canceled as i32);

    // Bad input: nothing created.
    let before = w
        .routing
        .list_work_items(pb::ListWorkItemsRequest {
            organization_id: w.org.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .page
        .expect("page")
        .total_size;
    let mut bad = route(&w, &rid(), agent_target(&a), Some(500));
    bad.kind = String::new();
    let err = w.routing.route_work_item(bad).await.expect_err("invalid");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let after = w
        .routing
        .list_work_items(pb::ListWorkItemsRequest {
            organization_id: w.org.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .page
        .expect("page")
        .total_size;
    assert_eq!(before, after);
    let decisions = w
        .routing
        .explain_routing(pb::ExplainRoutingRequest {
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            subject: Some(pb::explain_routing_request::Subject::WorkItemId(
                high.id.clone(),
            )),
        })
        .await?
        .into_inner()
        .decisions;
    assert_eq!(
        decisions.len(),
        2,
        "queued first, then assigned when the slot freed"
    );
    assert_eq!(decisions[0].chosen_agent_id, a);
    Ok(())
}
on_both_backends!(work_items_share_the_engine_and_free_slots_on_completion);
