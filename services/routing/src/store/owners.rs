//! Contact owners: add (idempotent) and remove.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use switchboard_runtime::ids::{AgentId, ContactId, OrganizationId};

use super::{Store, directory::owner_from_row, entities as e};
use crate::{domain::config::ContactOwner, error::RoutingError};

impl Store {
    /// Makes an agent an owner; the existing ownership when it is one already.
    pub async fn add_contact_owner(
        &self,
        org: &OrganizationId,
        owner: &ContactOwner,
    ) -> Result<ContactOwner, RoutingError> {
        let added_by = serde_json::to_string(&owner.added_by)
            .map_err(|e| RoutingError::Storage(DbErr::Custom(e.to_string())))?;
        e::contact_owners::Entity::insert(e::contact_owners::ActiveModel {
            organization_id: Set(org.to_string()),
            contact_id: Set(owner.contact_id.to_string()),
            agent_id: Set(owner.agent_id.to_string()),
            source: Set(owner.source.as_str().into()),
            added_by: Set(added_by),
            created_ms: Set(owner.created_ms),
        })
        .on_conflict(
            OnConflict::columns([
                e::contact_owners::Column::OrganizationId,
                e::contact_owners::Column::ContactId,
                e::contact_owners::Column::AgentId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let row = e::contact_owners::Entity::find_by_id((
            org.to_string(),
            owner.contact_id.to_string(),
            owner.agent_id.to_string(),
        ))
        .one(&self.db)
        .await?
        .ok_or_else(|| RoutingError::Storage(DbErr::Custom("owner vanished".into())))?;
        owner_from_row(row)
    }

    /// Removes an owner; false when it was not one.
    pub async fn remove_contact_owner(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
    ) -> Result<bool, RoutingError> {
        Ok(e::contact_owners::Entity::delete_many()
            .filter(e::contact_owners::Column::OrganizationId.eq(org.as_str()))
            .filter(e::contact_owners::Column::ContactId.eq(contact.as_str()))
            .filter(e::contact_owners::Column::AgentId.eq(agent.as_str()))
            .exec(&self.db)
            .await?
            .rows_affected
            > 0)
    }
}
