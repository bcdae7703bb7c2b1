//! Channel's storage: sea-orm entities and queries. Every query of tenant data takes the
//! organization first (the webhook path finds the organization from the phone number id).

pub mod accounts;
pub mod contacts;
pub mod entities;
pub mod idempotency;
pub mod ingest;
pub mod messages;
pub mod templates;

use sea_orm::DatabaseConnection;
use switchboard_runtime::outbox::RelayWaker;

use crate::error::ChannelError;

/// Channel's database and the relay to wake after commits that wrote events.
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

/// A stored value that does not parse: a bug or a hand-edited row.
pub(crate) fn corrupt(what: &str, value: &str) -> ChannelError {
    ChannelError::Corrupt(format!("bad stored {what}: {value:?}"))
}

pub(crate) fn parse_id<T: std::str::FromStr>(what: &str, value: &str) -> Result<T, ChannelError> {
    value.parse().map_err(|_| corrupt(what, value))
}
