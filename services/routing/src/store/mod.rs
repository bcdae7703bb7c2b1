//! Routing's storage: sea-orm entities and queries, one module per resource (organizations,
//! agents, teams, channel_routing, campaigns, owners, conversations, work_items); `events` holds
//! the configuration event topics. Every query of tenant data takes the organization first;
//! the sweeper's reads across organizations are the only exception and live in `sweeps`.

pub mod agents;
pub mod automations;
pub mod campaigns;
pub mod channel_routing;
pub mod conversations;
pub mod directory;
pub mod entities;
pub mod events;
pub mod idempotency;
pub mod organizations;
pub mod owners;
pub mod sweeps;
pub mod teams;
pub mod work_items;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, TransactionTrait,
};
use switchboard_runtime::{
    errors::is_unique_violation,
    ids::OrganizationId,
    outbox::RelayWaker,
    paging::{Dir, KeyPart, Page, Paged},
    tenancy::Tenant,
};

use crate::error::RoutingError;

/// Routing's database and the relay to wake after commits that wrote events.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    pub(crate) relay: RelayWaker,
}

impl Store {
    pub fn new(db: DatabaseConnection, relay: RelayWaker) -> Self {
        Self { db, relay }
    }

    /// Writes `row` over the organization's row whose `id_column` is `id`, in `txn` (the row
    /// leaves its key, organization and creation time unset, so they stay). ALREADY_EXISTS
    /// `taken_what` when a unique key is taken, NOT_FOUND `what` when the organization has no
    /// such row; the transaction is rolled back on either.
    #[allow(clippy::too_many_arguments)]
    async fn overwrite<A>(
        &self,
        txn: DatabaseTransaction,
        org: &OrganizationId,
        id_column: <A::Entity as EntityTrait>::Column,
        id: &str,
        row: A,
        what: &'static str,
        taken_what: String,
    ) -> Result<DatabaseTransaction, RoutingError>
    where
        A: ActiveModelTrait + Send,
        A::Entity: Tenant,
    {
        let result = <A::Entity as EntityTrait>::update_many()
            .set(row)
            .filter(id_column.eq(id))
            .filter(<A::Entity as Tenant>::organization_column().eq(org.as_str()))
            .exec(&txn)
            .await;
        match result {
            Ok(r) if r.rows_affected > 0 => Ok(txn),
            Ok(_) => {
                txn.rollback().await?;
                Err(RoutingError::not_found(what, id))
            }
            Err(err) => {
                txn.rollback().await?;
                Err(taken(err, taken_what))
            }
        }
    }

    /// Starts a create under its idempotency key: `Err(id)` when a call with the key already
    /// made `id` (nothing written), else a transaction holding the inserted `row`, for the
    /// caller to complete and finish with [`Self::remember_create`]. An insert refused by a
    /// unique key is the id a concurrent call with the same key made (it won), or
    /// ALREADY_EXISTS `taken_what`.
    async fn insert_created<A>(
        &self,
        org: &OrganizationId,
        method: &str,
        request_id: &str,
        row: A,
        taken_what: &str,
    ) -> Result<Result<DatabaseTransaction, String>, RoutingError>
    where
        A: ActiveModelTrait + Send,
    {
        let txn = self.db.begin().await?;
        if let Some(id) = idempotency::recall(&txn, org, method, request_id).await? {
            txn.rollback().await?;
            return Ok(Err(id));
        }
        if let Err(err) = <A::Entity as EntityTrait>::insert(row)
            .exec_without_returning(&txn)
            .await
        {
            txn.rollback().await?;
            return match idempotency::recall(&self.db, org, method, request_id).await? {
                Some(id) => Ok(Err(id)),
                None => Err(taken(err, taken_what)),
            };
        }
        Ok(Ok(txn))
    }

    /// Records a create's key in its transaction (the key and the row commit together, so a
    /// retry finds either both or neither). `Err(id)` when a concurrent call with the key
    /// recorded it first: the transaction is rolled back and `id` is what that call made.
    async fn remember_create(
        &self,
        txn: DatabaseTransaction,
        org: &OrganizationId,
        method: &str,
        request_id: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<Result<DatabaseTransaction, String>, RoutingError> {
        if idempotency::remember(&txn, org, method, request_id, id, now_ms).await? {
            return Ok(Ok(txn));
        }
        txn.rollback().await?;
        idempotency::recall(&self.db, org, method, request_id)
            .await?
            .map(Err)
            .ok_or_else(|| RoutingError::Storage(DbErr::Custom("idempotency key lost".into())))
    }
}

/// A unique violation means the name (email, subject) is taken; anything else is storage.
fn taken(err: DbErr, what: impl Into<String>) -> RoutingError {
    if is_unique_violation(&err) {
        RoutingError::AlreadyExists(what.into())
    } else {
        err.into()
    }
}

/// One page of a list sorted in memory by (lowercase name, id), with the total.
fn page_by_name<T>(
    all: Vec<T>,
    page: &Page,
    name: impl Fn(&T) -> KeyPart,
    id: impl Fn(&T) -> KeyPart,
) -> (Paged<T>, u64) {
    let total = all.len() as u64;
    let paged = page.slice(all, &[Dir::Asc, Dir::Asc], |t| vec![name(t), id(t)]);
    (paged, total)
}
