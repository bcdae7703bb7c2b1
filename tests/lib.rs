//! Suite-level integration tests live in `suite/`.
