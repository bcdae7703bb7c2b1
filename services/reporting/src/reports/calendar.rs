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

#[cfg(test)]
mod tests {
    use switchboard_hours::{DayHours, Interval, ScheduleSpec, Weekday};

    use super::*;

    #[test]
    fn a_span_counts_only_its_open_hours() {
        let nine_to_five = Interval {
            start_minute: 9 * 60,
            end_minute: 17 * 60,
        };
        let schedule = Schedule::new(&ScheduleSpec {
            time_zone: "Europe/Madrid".into(),
            days: [Weekday::Mon, Weekday::Tue]
                .into_iter()
                .map(|weekday| DayHours {
                    weekday,
                    intervals: vec![nine_to_five],
                })
                .collect(),
            holidays: vec![],
        })
        .expect("schedule");
        let at = |s: &str| {
            s.parse::<chrono::DateTime<chrono::Utc>>()
                .expect("instant")
                .timestamp_millis()
        };
        // Monday 16:00 → Tuesday 10:00 Madrid (CET, UTC+1): one hour Monday, one Tuesday.
        assert_eq!(
            business_ms(
                &schedule,
                at("2026-11-02T15:00:00Z"),
                at("2026-11-03T09:00:00Z")
            ),
            2 * 3_600_000
        );
        assert_eq!(
            business_ms(
                &schedule,
                at("2026-11-03T09:00:00Z"),
                at("2026-11-02T15:00:00Z")
            ),
            0
        );
    }
}
