//! Idempotency keys of creates and commands: a retried call (same organization, method and
//! request id) answers with what the first call made instead of doing it again. Each service
//! creates the `idempotency_keys` table in its own migrations:
//! `(organization_id, method, request_id) → result_id, created_ms`.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, sea_query::OnConflict};

use crate::ids::OrganizationId;

/// The `idempotency_keys` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub method: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        pub result_id: String,
        pub created_ms: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What the first call with this key recorded, if any.
pub async fn recall<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    method: &str,
    request_id: &str,
) -> Result<Option<String>, DbErr> {
    Ok(
        entity::Entity::find_by_id((org.to_string(), method.to_string(), request_id.to_string()))
            .one(conn)
            .await?
            .map(|row| row.result_id),
    )
}

/// Records the key (in the caller's transaction, when there is one). Returns false when a
/// concurrent call with the same key recorded it first (roll back and answer with [`recall`]).
pub async fn remember<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    method: &str,
    request_id: &str,
    result_id: &str,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let inserted = entity::Entity::insert(entity::ActiveModel {
        organization_id: Set(org.to_string()),
        method: Set(method.to_string()),
        request_id: Set(request_id.to_string()),
        result_id: Set(result_id.to_string()),
        created_ms: Set(now_ms),
    })
    .on_conflict(
        OnConflict::columns([
            entity::Column::OrganizationId,
            entity::Column::Method,
            entity::Column::RequestId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(inserted == 1)
}
