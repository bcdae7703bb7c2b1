//! Routing's storage: sea-orm entities and queries, one module per resource (organizations,
//! agents, teams, channel_routing, campaigns, owners, conversations, work_items); `events` holds
//! the configuration event topics. Every query of tenant data takes the organization first;
//! the sweeper's reads across organizations are the only exception and live in `sweeps`.

pub mod agents;
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

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use switchboard_runtime::{
    errors::is_unique_violation,
    ids::OrganizationId,
    outbox::RelayWaker,
    paging::{Dir, KeyPart, Page, Paged},
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

    /// A create's insert was refused: the id a concurrent call with the same key made (it
    /// won: answer with its row), or ALREADY_EXISTS `what` when a unique key is taken.
    async fn refused_create(
        &self,
        err: DbErr,
        org: &OrganizationId,
        method: &str,
        request_id: &str,
        what: String,
    ) -> Result<String, RoutingError> {
        match idempotency::recall(&self.db, org, method, request_id).await? {
            Some(id) => Ok(id),
            None => Err(taken(err, what)),
        }
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
