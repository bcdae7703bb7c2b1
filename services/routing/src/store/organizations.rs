//! The `organizations` table: create (with its `routing.organization.created` event), read, and
//! save the name, default capacity and settings.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, TransactionTrait};
use switchboard_runtime::{
    errors::is_unique_violation,
    ids::OrganizationId,
    outbox::{self, NewEvent},
};

use super::Store;
use crate::{
    domain::organization::{NewOrganization, Organization},
    error::RoutingError,
};

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organizations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub default_agent_capacity: i32,
        #[sea_orm(unique)]
        pub create_request_id: String,
        pub created_at: DateTimeUtc,
        /// JSON of the domain's `OrganizationSettings`.
        pub settings: String,
        pub updated_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

impl Store {
    /// Creates an organization and its `routing.organization.created` event in one transaction.
    /// A retry with the same `request_id` returns the organization the first call created.
    pub async fn create_organization(
        &self,
        request_id: &str,
        new: NewOrganization,
    ) -> Result<Organization, RoutingError> {
        if let Some(existing) = self.organization_by_request(request_id).await? {
            return Ok(existing);
        }
        let id = OrganizationId::generate();
        let row = entity::ActiveModel {
            id: Set(id.to_string()),
            name: Set(new.name.clone()),
            default_agent_capacity: Set(new.default_agent_capacity),
            create_request_id: Set(request_id.to_string()),
            created_at: Set(Utc::now()),
            settings: Set(serde_json::to_string(&new.settings).map_err(|e| {
                RoutingError::Storage(sea_orm::DbErr::Custom(format!("settings: {e}")))
            })?),
            updated_ms: Set(Utc::now().timestamp_millis()),
        };
        let txn = self.db.begin().await?;
        if let Err(err) = entity::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
        {
            drop(txn);
            if is_unique_violation(&err)
                && let Some(existing) = self.organization_by_request(request_id).await?
            {
                // A concurrent retry won the race: same answer.
                return Ok(existing);
            }
            return Err(err.into());
        }
        outbox::enqueue(
            &txn,
            NewEvent::typed(
                id.to_string(),
                id.to_string(),
                &switchboard_proto::routing::v1::OrganizationCreated {
                    name: new.name.clone(),
                },
            ),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.organization(&id).await
    }

    /// Writes an organization's name, default capacity and settings.
    pub async fn save_organization(
        &self,
        org: &Organization,
    ) -> Result<Organization, RoutingError> {
        let settings = serde_json::to_string(&org.settings)
            .map_err(|e| RoutingError::Storage(DbErr::Custom(e.to_string())))?;
        let result = entity::Entity::update_many()
            .col_expr(entity::Column::Name, org.name.clone().into())
            .col_expr(
                entity::Column::DefaultAgentCapacity,
                org.default_agent_capacity.into(),
            )
            .col_expr(entity::Column::Settings, settings.into())
            .col_expr(entity::Column::UpdatedMs, org.updated_ms.into())
            .filter(entity::Column::Id.eq(org.id.as_str()))
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(RoutingError::not_found("organization", &org.id));
        }
        self.organization(&org.id).await
    }

    /// The organization `id`.
    pub async fn organization(&self, id: &OrganizationId) -> Result<Organization, RoutingError> {
        entity::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await?
            .map(to_domain)
            .transpose()?
            .ok_or_else(|| RoutingError::NotFound {
                what: "organization",
                id: id.to_string(),
            })
    }

    async fn organization_by_request(
        &self,
        request_id: &str,
    ) -> Result<Option<Organization>, RoutingError> {
        entity::Entity::find()
            .filter(entity::Column::CreateRequestId.eq(request_id))
            .one(&self.db)
            .await?
            .map(to_domain)
            .transpose()
    }
}

fn to_domain(row: entity::Model) -> Result<Organization, RoutingError> {
    let id = OrganizationId::parse(&row.id).map_err(|e| {
        RoutingError::Storage(sea_orm::DbErr::Custom(format!("bad stored id: {e}")))
    })?;
    Ok(Organization {
        id,
        name: row.name,
        default_agent_capacity: row.default_agent_capacity,
        settings: serde_json::from_str(&row.settings).unwrap_or_default(),
        created_at: row.created_at,
        updated_ms: row.updated_ms,
    })
}
