//! Routing's storage: sea-orm entities and queries. Every query of tenant data takes the
//! organization first.

pub mod config;
pub mod conversations;
pub mod directory;
pub mod entities;
pub mod idempotency;
pub mod organization;
pub mod work_items;

use sea_orm::DatabaseConnection;
use switchboard_runtime::outbox::RelayWaker;

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
