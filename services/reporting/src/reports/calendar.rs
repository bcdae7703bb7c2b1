//! Business hours for reports: the one place that says which schedule an organization's
//! number keeps (`switchboard_hours::Schedule`). Facts store their value counted in business
//! hours beside the clock value, computed when the fact is written, as Chatwoot's
//! `value_in_business_hours`.

use async_trait::async_trait;
use switchboard_hours::Schedule;

use super::error::ReportsError;

/// Where business hours come from.
#[async_trait]
pub trait BusinessCalendar: Send + Sync {
    /// The schedule of `channel_account` (or of the organization when the number has none);
    /// `None` when no business hours are configured.
    async fn schedule(
        &self,
        organization_id: &str,
        channel_account_id: &str,
    ) -> Result<Option<Schedule>, ReportsError>;
}

/// No business hours anywhere: business-hours figures stay unset. Used until routing answers
/// business hours (GetBusinessHours); then a routing-backed calendar replaces it here only.
pub struct NoBusinessHours;

#[async_trait]
impl BusinessCalendar for NoBusinessHours {
    async fn schedule(&self, _: &str, _: &str) -> Result<Option<Schedule>, ReportsError> {
        Ok(None)
    }
}

/// The same schedule for everything (tests, single-schedule deployments).
pub struct FixedCalendar(pub Schedule);

#[async_trait]
impl BusinessCalendar for FixedCalendar {
    async fn schedule(&self, _: &str, _: &str) -> Result<Option<Schedule>, ReportsError> {
        Ok(Some(self.0.clone()))
    }
}

/// Milliseconds of `[from_ms, to_ms)` inside `schedule`'s open hours.
pub fn business_ms(schedule: &Schedule, from_ms: i64, to_ms: i64) -> i64 {
    match (
        chrono::DateTime::from_timestamp_millis(from_ms),
        chrono::DateTime::from_timestamp_millis(to_ms),
    ) {
        (Some(from), Some(to)) => schedule.business_duration(from, to) * 1000,
        _ => 0,
    }
}
