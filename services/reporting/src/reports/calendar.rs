//! Business hours for reports: the one place that says which schedule an organization's
//! number keeps (`switchboard_hours::Schedule`). Facts store their value counted in business
//! hours beside the clock value, computed when the fact is written, as Chatwoot's
//! `value_in_business_hours`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use switchboard_hours::{DayHours, Interval, Schedule, ScheduleSpec, Weekday};
use switchboard_proto::routing::v1::{self as rt, routing_service_client::RoutingServiceClient};
use switchboard_runtime::{Service, clients::Endpoints, errors};

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

/// No business hours anywhere: business-hours figures stay unset (tests, tools).
pub struct NoBusinessHours;

/// How long a number's schedule is trusted without asking routing again.
pub const SCHEDULE_CACHE_TTL: Duration = Duration::from_secs(30);

/// A number's schedule, when it was read.
type ScheduleCache = HashMap<(String, String), (Option<Schedule>, Instant)>;

/// Routing's business hours (GetBusinessHours as the system: the number's override, else the
/// organization's), kept [`SCHEDULE_CACHE_TTL`] per number. A fact written within that time of
/// a change is counted against the schedule before it.
#[derive(Clone)]
pub struct RoutingCalendar {
    endpoints: Endpoints,
    cache: Arc<Mutex<ScheduleCache>>,
}

impl RoutingCalendar {
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            endpoints,
            cache: Arc::default(),
        }
    }
}

#[async_trait]
impl BusinessCalendar for RoutingCalendar {
    async fn schedule(
        &self,
        organization_id: &str,
        channel_account_id: &str,
    ) -> Result<Option<Schedule>, ReportsError> {
        let key = (organization_id.to_string(), channel_account_id.to_string());
        if let Ok(cache) = self.cache.lock()
            && let Some((schedule, at)) = cache.get(&key)
            && at.elapsed() < SCHEDULE_CACHE_TTL
        {
            return Ok(schedule.clone());
        }
        let mut client = self
            .endpoints
            .channel(Service::Routing)
            .map(RoutingServiceClient::new)
            .map_err(|e| ReportsError::Unavailable(format!("routing: {e}")))?;
        let answer = client
            .get_business_hours(rt::GetBusinessHoursRequest {
                organization_id: organization_id.to_string(),
                actor_agent_id: String::new(),
                channel_account_id: channel_account_id.to_string(),
            })
            .await;
        let effective = match answer {
            Ok(r) => r.into_inner().effective,
            // A number or organization routing does not know (removed since, or never a
            // routing id): no schedule.
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::NotFound | tonic::Code::InvalidArgument
                ) =>
            {
                None
            }
            Err(s) => {
                return Err(ReportsError::Unavailable(format!(
                    "routing: {}",
                    errors::from_status(&s)
                )));
            }
        };
        // Routing validated the schedule when it was stored; one it cannot build any more
        // (a zone the library dropped) counts as none rather than stopping the facts.
        let schedule = effective.and_then(|h| Schedule::new(&spec_from_pb(&h)).ok());
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(key, (schedule.clone(), Instant::now()));
        }
        Ok(schedule)
    }
}

/// Routing's stored schedule as the hours library takes it.
fn spec_from_pb(hours: &rt::BusinessHours) -> ScheduleSpec {
    let weekday = |w: i32| match rt::Weekday::try_from(w).unwrap_or_default() {
        rt::Weekday::Monday => Some(Weekday::Mon),
        rt::Weekday::Tuesday => Some(Weekday::Tue),
        rt::Weekday::Wednesday => Some(Weekday::Wed),
        rt::Weekday::Thursday => Some(Weekday::Thu),
        rt::Weekday::Friday => Some(Weekday::Fri),
        rt::Weekday::Saturday => Some(Weekday::Sat),
        rt::Weekday::Sunday => Some(Weekday::Sun),
        rt::Weekday::Unspecified => None,
    };
    ScheduleSpec {
        time_zone: hours.time_zone.clone(),
        days: hours
            .days
            .iter()
            .filter_map(|d| {
                Some(DayHours {
                    weekday: weekday(d.weekday)?,
                    intervals: d
                        .intervals
                        .iter()
                        .map(|iv| Interval {
                            start_minute: iv.start_minute.max(0) as u32,
                            end_minute: iv.end_minute.max(0) as u32,
                        })
                        .collect(),
                })
            })
            .collect(),
        holidays: hours
            .holidays
            .iter()
            .filter_map(|h| chrono::NaiveDate::parse_from_str(h, "%Y-%m-%d").ok())
            .collect(),
    }
}

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
        (Some(from), Some(to)) => schedule.business_duration_ms(from, to),
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
