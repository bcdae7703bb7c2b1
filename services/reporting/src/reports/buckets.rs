//! Buckets of a report, cut in its time zone: local hours, local days (23 or 25 hours long on
//! DST days), or weeks starting on local Monday. Buckets are a sorted list of instants; a fact
//! falls in the last bucket starting at or before it, on both backends (PostgreSQL's
//! `width_bucket(instant, thresholds)` and a binary search here give the same answer).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
    Week,
}

/// One bucket: where it starts and how it is labelled in the zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub start_ms: i64,
    pub label: String,
}

/// The first instant at or after local `naive` (a local midnight skipped by a DST change
/// starts at the first instant that exists; a repeated one at its first occurrence).
fn local_start(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = naive;
    for _ in 0..48 {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        probe += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&naive)
}

fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_start(tz, date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// The buckets covering `[start, end)`: the first one starts at or before `start`.
pub fn buckets(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
    granularity: Granularity,
) -> Vec<Bucket> {
    let mut out = Vec::new();
    match granularity {
        Granularity::Hour => {
            let local = start.with_timezone(&tz);
            let mut at = start
                - Duration::seconds(i64::from(local.minute()) * 60 + i64::from(local.second()))
                - Duration::nanoseconds(i64::from(local.nanosecond()));
            while at < end {
                out.push(Bucket {
                    start_ms: at.timestamp_millis(),
                    label: at
                        .with_timezone(&tz)
                        .format("%Y-%m-%dT%H:%M%:z")
                        .to_string(),
                });
                at += Duration::hours(1);
            }
        }
        Granularity::Day | Granularity::Week => {
            let mut date = start.with_timezone(&tz).date_naive();
            let step = if granularity == Granularity::Week {
                date -= Duration::days(i64::from(date.weekday().num_days_from_monday()));
                7
            } else {
                1
            };
            loop {
                let at = day_start(tz, date);
                if at >= end {
                    break;
                }
                out.push(Bucket {
                    start_ms: at.timestamp_millis(),
                    label: if granularity == Granularity::Week {
                        date.format("%G-W%V").to_string()
                    } else {
                        date.format("%Y-%m-%d").to_string()
                    },
                });
                date += Duration::days(step);
            }
        }
    }
    out
}

/// The bucket of `instant_ms` (the last one starting at or before it); `None` before the first.
pub fn bucket_of(starts: &[i64], instant_ms: i64) -> Option<usize> {
    match starts.partition_point(|s| *s <= instant_ms) {
        0 => None,
        n => Some(n - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn dst_days_in_madrid_have_23_and_25_hourly_buckets() {
        let tz: Tz = "Europe/Madrid".parse().expect("zone");
        let spring = buckets(
            at("2026-03-28T23:00:00Z"),
            at("2026-03-29T22:00:00Z"),
            tz,
            Granularity::Hour,
        );
        assert_eq!(spring.len(), 23);
        assert_eq!(spring[2].label, "2026-03-29T03:00+02:00");
        let autumn = buckets(
            at("2026-10-24T22:00:00Z"),
            at("2026-10-25T23:00:00Z"),
            tz,
            Granularity::Hour,
        );
        assert_eq!(autumn.len(), 25);
        assert_eq!(autumn[2].label, "2026-10-25T02:00+02:00");
        assert_eq!(autumn[3].label, "2026-10-25T02:00+01:00");
        let days = buckets(
            at("2026-10-24T22:00:00Z"),
            at("2026-10-26T23:00:00Z"),
            tz,
            Granularity::Day,
        );
        assert_eq!(days.len(), 2);
        assert_eq!(days[1].start_ms - days[0].start_ms, 25 * 3_600_000);
    }

    #[test]
    fn weeks_start_on_local_monday_and_facts_find_their_bucket() {
        let tz: Tz = "America/Santiago".parse().expect("zone");
        let weeks = buckets(
            at("2026-11-04T12:00:00Z"),
            at("2026-11-20T00:00:00Z"),
            tz,
            Granularity::Week,
        );
        assert_eq!(weeks[0].label, "2026-W45");
        assert_eq!(
            weeks[0].start_ms,
            at("2026-11-02T03:00:00Z").timestamp_millis()
        );
        let starts: Vec<i64> = weeks.iter().map(|b| b.start_ms).collect();
        assert_eq!(
            bucket_of(&starts, at("2026-11-09T02:59:59Z").timestamp_millis()),
            Some(0)
        );
        assert_eq!(
            bucket_of(&starts, at("2026-11-09T03:00:00Z").timestamp_millis()),
            Some(1)
        );
    }
}
