//! The load generator behind `make bench`.
pub mod baseline;
pub mod chart;
