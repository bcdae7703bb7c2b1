//! Agent profiles kept durably in presence's own database, so the live store can be refilled
//! after it is lost (Redis flushed or failed over, or the embedded process restarted).

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, sea_query::OnConflict,
};
use switchboard_runtime::ids::{AgentId, OrganizationId};

use crate::domain::Profile;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agent_profiles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub agent_id: String,
        pub capacity: i32,
        /// Comma-separated team ids.
        pub team_ids: String,
        /// Comma-separated channel account ids.
        pub channel_account_ids: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn join<T: std::fmt::Display>(ids: &[T]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn split<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Saves (creates or replaces) a profile, stamped `updated_at`.
pub async fn save(
    db: &DatabaseConnection,
    org: &OrganizationId,
    profile: &Profile,
    updated_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let row = entity::ActiveModel {
        organization_id: Set(org.to_string()),
        agent_id: Set(profile.agent_id.to_string()),
        capacity: Set(profile.capacity as i32),
        team_ids: Set(join(&profile.team_ids)),
        channel_account_ids: Set(join(&profile.channel_account_ids)),
        updated_at: Set(updated_at),
    };
    entity::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([entity::Column::OrganizationId, entity::Column::AgentId])
                .update_columns([
                    entity::Column::Capacity,
                    entity::Column::TeamIds,
                    entity::Column::ChannelAccountIds,
                    entity::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Updates only the capacity of a saved profile.
pub async fn save_capacity(
    db: &DatabaseConnection,
    org: &OrganizationId,
    agent: &AgentId,
    capacity: u32,
) -> Result<(), DbErr> {
    entity::Entity::update_many()
        .col_expr(
            entity::Column::Capacity,
            sea_orm::sea_query::Expr::value(capacity as i32),
        )
        .filter(entity::Column::OrganizationId.eq(org.as_str()))
        .filter(entity::Column::AgentId.eq(agent.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes a profile.
pub async fn delete(
    db: &DatabaseConnection,
    org: &OrganizationId,
    agent: &AgentId,
) -> Result<(), DbErr> {
    entity::Entity::delete_many()
        .filter(entity::Column::OrganizationId.eq(org.as_str()))
        .filter(entity::Column::AgentId.eq(agent.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Whether the organization has any saved profile (it existed before the store was lost).
pub async fn any(db: &DatabaseConnection, org: &OrganizationId) -> Result<bool, DbErr> {
    Ok(entity::Entity::find()
        .filter(entity::Column::OrganizationId.eq(org.as_str()))
        .count(db)
        .await?
        > 0)
}

/// Every saved profile of the organization.
pub async fn all(db: &DatabaseConnection, org: &OrganizationId) -> Result<Vec<Profile>, DbErr> {
    let rows = entity::Entity::find()
        .filter(entity::Column::OrganizationId.eq(org.as_str()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Profile {
                agent_id: AgentId::parse(&r.agent_id).ok()?,
                capacity: r.capacity.max(0) as u32,
                team_ids: split(&r.team_ids),
                channel_account_ids: split(&r.channel_account_ids),
            })
        })
        .collect())
}
