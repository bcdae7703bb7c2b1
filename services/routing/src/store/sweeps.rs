//! The sweeper's reads across organizations: the only queries of tenant tables that are not
//! scoped by one organization, kept here so every other query can be read for its
//! `organization_id` filter. Each returns the organization with every row, and the sweeper
//! acts on each row through the organization-scoped paths.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use switchboard_runtime::ids::{AgentId, OrganizationId, ReservationId, TeamId};

use super::{
    Store, conversations::conversation_from_row, directory::parse_id, entities as e,
    work_items::work_item_from_row,
};
use crate::{
    domain::{
        conversation::{Conversation, State},
        work_item::{WorkItem, WorkState},
    },
    error::RoutingError,
};

impl Store {
    /// Conversations in `state` whose `column` time is due (≤ now), across organizations, for
    /// the sweeper.
    pub async fn due(
        &self,
        state: &[State],
        column: e::conversations::Column,
        now_ms: i64,
        limit: u64,
    ) -> Result<Vec<(OrganizationId, Conversation)>, RoutingError> {
        let rows = e::conversations::Entity::find()
            .filter(e::conversations::Column::State.is_in(state.iter().map(|s| s.as_str())))
            .filter(column.lte(now_ms))
            .order_by_asc(column)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                let org = parse_id("organization id", &r.organization_id)?;
                Ok((org, conversation_from_row(r)?))
            })
            .collect()
    }

    /// Queued conversations never routed (their creator died before routing them), older than
    /// `before_ms`, for the sweeper.
    pub async fn unrouted(
        &self,
        before_ms: i64,
        limit: u64,
    ) -> Result<Vec<(OrganizationId, Conversation)>, RoutingError> {
        use e::conversations::Column as C;
        let rows = e::conversations::Entity::find()
            .filter(C::State.eq(State::Queued.as_str()))
            .filter(C::LastDecisionId.is_null())
            .filter(C::CreatedMs.lte(before_ms))
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                let org = parse_id("organization id", &r.organization_id)?;
                Ok((org, conversation_from_row(r)?))
            })
            .collect()
    }

    /// The teams (with their organization) that have conversations waiting in their queue,
    /// for the sweeper's liveness pass.
    pub async fn teams_with_waiting(
        &self,
        limit: u64,
    ) -> Result<Vec<(OrganizationId, TeamId)>, RoutingError> {
        use e::conversations::Column as C;
        use sea_orm::QuerySelect;
        let rows: Vec<(String, Option<String>)> = e::conversations::Entity::find()
            .select_only()
            .column(C::OrganizationId)
            .column(C::TeamId)
            .filter(C::State.eq(State::Queued.as_str()))
            .filter(C::TeamId.is_not_null())
            .filter(C::WaitingAgentId.is_null())
            .distinct()
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .filter_map(|(org, team)| team.map(|t| (org, t)))
            .map(|(org, team)| {
                Ok((
                    parse_id("organization id", &org)?,
                    parse_id("team id", &team)?,
                ))
            })
            .collect()
    }

    /// Slots freed here whose release presence has not confirmed, oldest first.
    pub async fn pending_releases(
        &self,
        limit: u64,
    ) -> Result<Vec<(OrganizationId, ReservationId, AgentId)>, RoutingError> {
        let rows = e::pending_releases::Entity::find()
            .order_by_asc(e::pending_releases::Column::CreatedMs)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    parse_id("organization id", &r.organization_id)?,
                    parse_id("reservation id", &r.reservation_id)?,
                    parse_id("agent id", &r.agent_id)?,
                ))
            })
            .collect()
    }

    /// Assigned work items whose offer ran out, across organizations.
    pub async fn due_work_offers(
        &self,
        now_ms: i64,
        limit: u64,
    ) -> Result<Vec<(OrganizationId, WorkItem)>, RoutingError> {
        let rows = e::work_items::Entity::find()
            .filter(e::work_items::Column::State.eq(WorkState::Assigned.as_str()))
            .filter(e::work_items::Column::OfferExpireMs.lte(now_ms))
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    parse_id("organization id", &r.organization_id)?,
                    work_item_from_row(r)?,
                ))
            })
            .collect()
    }
}
