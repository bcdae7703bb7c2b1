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

use sea_orm::{DatabaseConnection, DbErr};
use switchboard_runtime::{
    errors::is_unique_violation,
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
