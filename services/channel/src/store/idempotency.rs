//! Idempotency keys of creates: a retried call (same organization, method and request id)
//! answers with what the first call made.

use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, sea_query::OnConflict};
use switchboard_runtime::ids::OrganizationId;

use super::entities::idempotency_keys as keys;
use crate::error::ChannelError;

/// The id the first call with this key produced, if any.
pub async fn recall<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    method: &str,
    request_id: &str,
) -> Result<Option<String>, ChannelError> {
    Ok(
        keys::Entity::find_by_id((org.to_string(), method.to_string(), request_id.to_string()))
            .one(conn)
            .await?
            .map(|row| row.result_id),
    )
}

/// Records the key in the caller's transaction; false when a concurrent call recorded it first.
pub async fn remember<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    method: &str,
    request_id: &str,
    result_id: &str,
    now_ms: i64,
) -> Result<bool, ChannelError> {
    let inserted = keys::Entity::insert(keys::ActiveModel {
        organization_id: Set(org.to_string()),
        method: Set(method.to_string()),
        request_id: Set(request_id.to_string()),
        result_id: Set(result_id.to_string()),
        created_ms: Set(now_ms),
    })
    .on_conflict(
        OnConflict::columns([
            keys::Column::OrganizationId,
            keys::Column::Method,
            keys::Column::RequestId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(inserted == 1)
}
