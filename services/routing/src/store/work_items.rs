//! Work items, changed like conversations: one versioned write per change, with its decision,
//! the slot to release and an event, in one transaction.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use switchboard_runtime::tenancy::{of_org, secure_find};
use switchboard_runtime::{
    ids::{AgentId, OrganizationId, ReservationId, TeamId, WorkItemId},
    outbox::{self, NewEvent},
    paging::{Keyset, Page, Paged},
};

use super::{
    Store,
    directory::{corrupt, parse_id},
    entities::work_items as w,
};
use crate::{
    domain::{
        config::Target,
        decision::Decision,
        work_item::{WorkItem, WorkState},
    },
    error::RoutingError,
};

pub(super) fn work_item_from_row(r: w::Model) -> Result<WorkItem, RoutingError> {
    let ids = |what: &str, v: &str| -> Result<Vec<AgentId>, RoutingError> {
        let raw: Vec<String> = serde_json::from_str(v).map_err(|_| corrupt(what, v))?;
        raw.iter().map(|s| parse_id(what, s)).collect()
    };
    Ok(WorkItem {
        id: parse_id("work item id", &r.id)?,
        kind: r.kind,
        external_ref: r.external_ref,
        target: Target::from_parts(&r.target_kind, Some(&r.target_id)),
        channel_account_id: r
            .channel_account_id
            .as_deref()
            .map(|s| parse_id("channel account id", s))
            .transpose()?,
        priority: r.priority,
        attributes: serde_json::from_str(&r.attributes)
            .map_err(|_| corrupt("attributes", &r.attributes))?,
        state: WorkState::parse(&r.state).ok_or_else(|| corrupt("work state", &r.state))?,
        assignee: r
            .assignee_agent_id
            .as_deref()
            .map(|s| parse_id("agent id", s))
            .transpose()?,
        reservation_id: r
            .reservation_id
            .as_deref()
            .map(|s| parse_id("reservation id", s))
            .transpose()?,
        created_by: serde_json::from_str(&r.created_by)
            .map_err(|_| corrupt("actor", &r.created_by))?,
        outcome: r.outcome,
        last_decision_id: r
            .last_decision_id
            .as_deref()
            .map(|s| parse_id("decision id", s))
            .transpose()?,
        excluded_agents: ids("excluded agents", &r.excluded_agents)?,
        created_ms: r.created_ms,
        queue_ms: r.queue_ms,
        assign_ms: r.assign_ms,
        offer_expire_ms: r.offer_expire_ms,
        accept_ms: r.accept_ms,
        end_ms: r.end_ms,
        updated_ms: r.updated_ms,
        version: r.version,
    })
}

fn to_row(org: &OrganizationId, i: &WorkItem) -> w::ActiveModel {
    w::ActiveModel {
        id: Set(i.id.to_string()),
        organization_id: Set(org.to_string()),
        kind: Set(i.kind.clone()),
        external_ref: Set(i.external_ref.clone()),
        target_kind: Set(i.target.kind().into()),
        target_id: Set(i.target.id().unwrap_or_default().into()),
        channel_account_id: Set(i.channel_account_id.as_ref().map(ToString::to_string)),
        priority: Set(i.priority),
        attributes: Set(serde_json::to_string(&i.attributes).unwrap_or_else(|_| "{}".into())),
        state: Set(i.state.as_str().into()),
        assignee_agent_id: Set(i.assignee.as_ref().map(ToString::to_string)),
        reservation_id: Set(i.reservation_id.as_ref().map(ToString::to_string)),
        created_by: Set(serde_json::to_string(&i.created_by).unwrap_or_default()),
        outcome: Set(i.outcome.clone()),
        last_decision_id: Set(i.last_decision_id.as_ref().map(ToString::to_string)),
        excluded_agents: Set(serde_json::to_string(
            &i.excluded_agents
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into())),
        created_ms: Set(i.created_ms),
        queue_ms: Set(i.queue_ms),
        assign_ms: Set(i.assign_ms),
        offer_expire_ms: Set(i.offer_expire_ms),
        accept_ms: Set(i.accept_ms),
        end_ms: Set(i.end_ms),
        updated_ms: Set(i.updated_ms),
        version: Set(i.version),
    }
}

/// Filters of ListWorkItems.
#[derive(Debug, Clone, Default)]
pub struct WorkItemFilter {
    pub states: Vec<WorkState>,
    pub assignee: Option<AgentId>,
    pub kind: Option<String>,
    pub external_ref: Option<String>,
}

impl Store {
    /// Writes a work item (insert when `expected_version` is `None`, else only if unchanged),
    /// with its decision, a slot to release and its event. False when it changed meanwhile.
    pub async fn apply_work_item(
        &self,
        org: &OrganizationId,
        item: &WorkItem,
        expected_version: Option<i64>,
        decision: Option<&Decision>,
        release: Option<(&ReservationId, &AgentId)>,
        request: Option<&str>,
    ) -> Result<bool, RoutingError> {
        let txn = self.db.begin().await?;
        match expected_version {
            None => {
                w::Entity::insert(to_row(org, item))
                    .exec_without_returning(&txn)
                    .await?;
                if let Some(request_id) = request
                    && !super::idempotency::remember(
                        &txn,
                        org,
                        "RouteWorkItem",
                        request_id,
                        item.id.as_str(),
                        item.created_ms,
                    )
                    .await?
                {
                    return Ok(false);
                }
            }
            Some(version) => {
                let mut row = to_row(org, item);
                row.id = sea_orm::ActiveValue::Unchanged(item.id.to_string());
                let r = w::Entity::update_many()
                    .set(row)
                    .filter(w::Column::Id.eq(item.id.as_str()))
                    .filter(w::Column::OrganizationId.eq(org.as_str()))
                    .filter(w::Column::Version.eq(version))
                    .exec(&txn)
                    .await?;
                if r.rows_affected != 1 {
                    return Ok(false);
                }
            }
        }
        if let Some(d) = decision {
            self.record_decision_in(&txn, org, d).await?;
        }
        if let Some((reservation, agent)) = release {
            self.release_later_in(&txn, org, reservation, agent, item.updated_ms)
                .await?;
        }
        outbox::enqueue(
            &txn,
            NewEvent::typed(
                org.to_string(),
                item.id.to_string(),
                &switchboard_proto::routing::v1::WorkItemChanged {
                    work_item_id: item.id.to_string(),
                    kind: item.kind.clone(),
                    external_ref: item.external_ref.clone(),
                    state: crate::grpc::work_items::state_to_pb(item.state) as i32,
                    assignee_agent_id: item
                        .assignee
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                },
            ),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(true)
    }

    /// One work item.
    pub async fn work_item(
        &self,
        org: &OrganizationId,
        id: &WorkItemId,
    ) -> Result<WorkItem, RoutingError> {
        let row = secure_find::<w::Entity, _>(org, id.as_str())
            .one(&self.db)
            .await?
            .ok_or_else(|| RoutingError::not_found("work item", id))?;
        work_item_from_row(row)
    }

    /// Work items, newest first.
    pub async fn list_work_items(
        &self,
        org: &OrganizationId,
        f: &WorkItemFilter,
        page: Page,
    ) -> Result<(Paged<WorkItem>, u64), RoutingError> {
        let mut q = of_org::<w::Entity>(org);
        if !f.states.is_empty() {
            q = q.filter(w::Column::State.is_in(f.states.iter().map(|s| s.as_str())));
        }
        if let Some(a) = &f.assignee {
            q = q.filter(w::Column::AssigneeAgentId.eq(a.as_str()));
        }
        if let Some(k) = &f.kind {
            q = q.filter(w::Column::Kind.eq(k.as_str()));
        }
        if let Some(r) = &f.external_ref {
            q = q.filter(w::Column::ExternalRef.eq(r.as_str()));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = Keyset::new(self.db.get_database_backend())
            .desc(w::Column::CreatedMs)
            .desc_text(w::Column::Id)
            .apply(q, &page)
            .all(&self.db)
            .await?;
        let list = page
            .finish(rows, |r| vec![r.created_ms.into(), r.id.as_str().into()])
            .try_map(work_item_from_row)?;
        Ok((list, total))
    }

    /// Queued work items an agent could take: targeted at it, or at one of `teams`.
    pub async fn offerable_work_items(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        teams: &[TeamId],
        limit: u64,
    ) -> Result<Vec<WorkItem>, RoutingError> {
        let mut target = Condition::any().add(
            Condition::all()
                .add(w::Column::TargetKind.eq("agent"))
                .add(w::Column::TargetId.eq(agent.as_str())),
        );
        if !teams.is_empty() {
            target = target.add(
                Condition::all()
                    .add(w::Column::TargetKind.eq("team"))
                    .add(w::Column::TargetId.is_in(teams.iter().map(|t| t.as_str()))),
            );
        }
        let rows = of_org::<w::Entity>(org)
            .filter(w::Column::State.eq(WorkState::Queued.as_str()))
            .filter(target)
            .order_by_desc(w::Column::Priority)
            .order_by_asc(w::Column::QueueMs)
            .order_by_asc(w::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(work_item_from_row).collect()
    }

    /// Held work items of the organization: (agent, reservation, work item id), for rebuilds.
    pub async fn work_holdings(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<(AgentId, ReservationId, String)>, RoutingError> {
        let rows = of_org::<w::Entity>(org)
            .filter(
                w::Column::State
                    .is_in([WorkState::Assigned.as_str(), WorkState::Accepted.as_str()]),
            )
            .all(&self.db)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            if let (Some(a), Some(rsv)) = (r.assignee_agent_id, r.reservation_id) {
                out.push((
                    parse_id("agent id", &a)?,
                    parse_id("reservation id", &rsv)?,
                    r.id,
                ));
            }
        }
        Ok(out)
    }
}
