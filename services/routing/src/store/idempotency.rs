//! Idempotency keys (shared with the other services; the table is in this service's schema).

pub use switchboard_runtime::idempotency::{recall, remember};
