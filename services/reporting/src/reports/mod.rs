//! Reporting facts, written as events are consumed (idempotent by event id), and the reports
//! built from them.
