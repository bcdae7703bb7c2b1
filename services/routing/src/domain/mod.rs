//! Routing's domain model: plain types and rules, no transport or storage types.

pub mod organization;
