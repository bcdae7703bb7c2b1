//! Business hours: a weekly schedule in an IANA time zone, with several intervals per day,
//! overnight shifts (Fri 22:00–06:00 runs into Saturday) and holidays (local dates closed all
//! day). Answers whether the schedule is open at an instant, when it opens next, and how many
//! seconds of a span fall inside open hours.
//!
//! Pure: no transport or storage types. Everything is computed per local day: a day's
//! intervals become UTC segments through the zone (so DST days are as long as they really are),
//! and a span is walked day by day, never minute by minute.
//!
//! Local times that do not exist (the hour skipped when clocks go forward) open or close at
//! the first instant that exists after them; local times that happen twice (the hour repeated
//! when clocks go back) mean their first occurrence.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub use chrono::Weekday;

/// Minutes in a day; an interval may end at this minute (midnight at the end of the day).
pub const DAY_MINUTES: u32 = 24 * 60;

/// How many days ahead [`Schedule::next_open`] looks before giving up (a year and a week:
/// enough for any weekly schedule with holidays).
const LOOKAHEAD_DAYS: i64 = 373;

/// One opening of a day, in minutes from local midnight. `end_minute < start_minute` is an
/// overnight shift that ends on the next day; `end_minute == 1440` ends at midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start_minute: u32,
    pub end_minute: u32,
}

impl Interval {
    /// Whether it runs past midnight into the next day.
    pub fn is_overnight(&self) -> bool {
        self.end_minute < self.start_minute
    }
}

/// The intervals of one weekday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayHours {
    pub weekday: Weekday,
    pub intervals: Vec<Interval>,
}

/// A schedule as configured, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScheduleSpec {
    /// IANA time zone name ("Europe/Madrid").
    pub time_zone: String,
    /// At most one entry per weekday; a weekday without an entry is closed.
    pub days: Vec<DayHours>,
    /// Local dates closed all day.
    pub holidays: Vec<NaiveDate>,
}

/// A field of a [`ScheduleSpec`] that is not valid, named as in the spec
/// (`days[1].intervals[0].end_minute`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: String,
    pub description: String,
}

impl InvalidField {
    fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// A validated business-hours schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    tz: Tz,
    /// Intervals per weekday, Monday first, sorted.
    week: [Vec<Interval>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl Schedule {
    /// Checks `spec`: a known IANA zone, minutes within the day, no empty interval (end equal
    /// to start), no overlapping intervals on one day, each weekday once, each holiday once.
    /// Every problem is reported, each with its field.
    pub fn new(spec: &ScheduleSpec) -> Result<Self, Vec<InvalidField>> {
        let mut bad = Vec::new();
        let tz = match spec.time_zone.trim().parse::<Tz>() {
            Ok(tz) if !spec.time_zone.trim().is_empty() => Some(tz),
            _ => {
                bad.push(InvalidField::new(
                    "time_zone",
                    "must be an IANA time zone name, e.g. Europe/Madrid",
                ));
                None
            }
        };
        let mut week: [Vec<Interval>; 7] = Default::default();
        let mut seen = [false; 7];
        for (i, day) in spec.days.iter().enumerate() {
            let index = day.weekday.num_days_from_monday() as usize;
            if std::mem::replace(&mut seen[index], true) {
                bad.push(InvalidField::new(
                    format!("days[{i}].weekday"),
                    format!("{} appears more than once", day.weekday),
                ));
                continue;
            }
            let mut valid = Vec::new();
            for (j, interval) in day.intervals.iter().enumerate() {
                let field = |name: &str| format!("days[{i}].intervals[{j}].{name}");
                let mut ok = true;
                if interval.start_minute >= DAY_MINUTES {
                    bad.push(InvalidField::new(
                        field("start_minute"),
                        "must be between 0 and 1439 (minutes from midnight)",
                    ));
                    ok = false;
                }
                if interval.end_minute > DAY_MINUTES {
                    bad.push(InvalidField::new(
                        field("end_minute"),
                        "must be between 0 and 1440 (minutes from midnight; 1440 is the end of the day)",
                    ));
                    ok = false;
                }
                if ok && interval.end_minute == interval.start_minute {
                    bad.push(InvalidField::new(
                        field("end_minute"),
                        "must differ from start_minute (an end before the start is an overnight shift)",
                    ));
                    ok = false;
                }
                if ok {
                    valid.push((j, *interval));
                }
            }
            valid.sort_by_key(|(_, iv)| *iv);
            for pair in valid.windows(2) {
                let ((_, a), (j, b)) = (pair[0], pair[1]);
                // Sorted by start: b overlaps a when it starts before a ends (a same-day
                // interval), or at all when a runs to or past midnight.
                let a_end = if a.is_overnight() {
                    DAY_MINUTES
                } else {
                    a.end_minute
                };
                if b.start_minute < a_end {
                    bad.push(InvalidField::new(
                        format!("days[{i}].intervals[{j}]"),
                        "overlaps another interval of the same day",
                    ));
                }
            }
            week[index] = valid.into_iter().map(|(_, iv)| iv).collect();
        }
        let mut holidays = BTreeSet::new();
        for (i, date) in spec.holidays.iter().enumerate() {
            if !holidays.insert(*date) {
                bad.push(InvalidField::new(
                    format!("holidays[{i}]"),
                    "appears more than once",
                ));
            }
        }
        match tz {
            Some(tz) if bad.is_empty() => Ok(Self { tz, week, holidays }),
            _ => Err(bad),
        }
    }

    /// The zone the schedule is read in.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The local date of `instant` in the schedule's zone.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.tz).date_naive()
    }

    /// Whether `instant` falls inside open hours.
    pub fn is_open(&self, instant: DateTime<Utc>) -> bool {
        let today = self.local_date(instant);
        [today - Duration::days(1), today]
            .into_iter()
            .flat_map(|d| self.segments(d))
            .any(|(start, end)| start <= instant && instant < end)
    }

    /// The first instant at or after `instant` that is open: `instant` itself when open now;
    /// `None` when nothing opens within a year (no intervals, or holidays all the way).
    pub fn next_open(&self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = self.local_date(instant);
        (-1..LOOKAHEAD_DAYS).find_map(|offset| {
            self.segments(today + Duration::days(offset))
                .into_iter()
                .filter(|(_, end)| *end > instant)
                .map(|(start, _)| start.max(instant))
                .min()
        })
    }

    /// Seconds of `[from, to)` inside open hours (0 when `to <= from`), whole seconds.
    pub fn business_duration(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.business_duration_ms(from, to) / 1000
    }

    /// Milliseconds of `[from, to)` inside open hours (0 when `to <= from`). Walks the span
    /// day by day.
    pub fn business_duration_ms(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let first = self.local_date(from) - Duration::days(1);
        let last = self.local_date(to);
        let mut clipped: Vec<(DateTime<Utc>, DateTime<Utc>)> = first
            .iter_days()
            .take_while(|d| *d <= last)
            .flat_map(|d| self.segments(d))
            .map(|(s, e)| (s.max(from), e.min(to)))
            .filter(|(s, e)| s < e)
            .collect();
        clipped.sort();
        // Merge overlaps (an overnight spill and the next day's early interval may touch).
        let mut total = 0;
        let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for (s, e) in clipped {
            current = match current {
                Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
                Some((cs, ce)) => {
                    total += (ce - cs).num_milliseconds();
                    Some((s, e))
                }
                None => Some((s, e)),
            };
        }
        if let Some((cs, ce)) = current {
            total += (ce - cs).num_milliseconds();
        }
        total
    }

    /// The open segments of the shifts that start on local date `day`, in UTC: none on a
    /// holiday; an overnight shift stops at midnight when the next day is a holiday.
    fn segments(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        let next = day + Duration::days(1);
        let next_is_holiday = self.holidays.contains(&next);
        self.week[day.weekday().num_days_from_monday() as usize]
            .iter()
            .filter_map(|iv| {
                let start = self.instant(day, iv.start_minute);
                let end = if iv.is_overnight() {
                    if next_is_holiday {
                        self.instant(next, 0)
                    } else {
                        self.instant(next, iv.end_minute)
                    }
                } else {
                    self.instant(day, iv.end_minute)
                };
                (start < end).then_some((start, end))
            })
            .collect()
    }

    /// The instant local `day` at `minute` (1440: the next midnight) names: its first
    /// occurrence when clocks went back, the first instant after the gap when they went
    /// forward over it.
    fn instant(&self, day: NaiveDate, minute: u32) -> DateTime<Utc> {
        let (day, minute) = if minute >= DAY_MINUTES {
            (day + Duration::days(1), minute - DAY_MINUTES)
        } else {
            (day, minute)
        };
        let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(NaiveTime::MIN);
        let mut local = day.and_time(time);
        // Gaps are at most a few hours long; a day-long gap (Samoa, 2011) is skipped whole.
        for _ in 0..(24 * 60 + 1) {
            match self.tz.from_local_datetime(&local) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
                LocalResult::None => local += Duration::minutes(1),
            }
        }
        Utc.from_utc_datetime(&local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(start: &str, end: &str) -> Interval {
        let m = |s: &str| {
            let (h, m) = s.split_once(':').expect("HH:MM");
            h.parse::<u32>().expect("hour") * 60 + m.parse::<u32>().expect("minute")
        };
        Interval {
            start_minute: m(start),
            end_minute: m(end),
        }
    }

    fn schedule(tz: &str, days: &[(Weekday, &[(&str, &str)])], holidays: &[&str]) -> Schedule {
        Schedule::new(&ScheduleSpec {
            time_zone: tz.into(),
            days: days
                .iter()
                .map(|(weekday, intervals)| DayHours {
                    weekday: *weekday,
                    intervals: intervals.iter().map(|(s, e)| iv(s, e)).collect(),
                })
                .collect(),
            holidays: holidays.iter().map(|d| d.parse().expect("date")).collect(),
        })
        .expect("valid schedule")
    }

    fn every_day(
        intervals: &'static [(&'static str, &'static str)],
    ) -> Vec<(Weekday, &'static [(&'static str, &'static str)])> {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .into_iter()
        .map(|d| (d, intervals))
        .collect()
    }

    /// An instant given as local time in `tz` (the first occurrence if ambiguous).
    fn local(tz: &str, s: &str) -> DateTime<Utc> {
        let tz: Tz = tz.parse().expect("zone");
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
        tz.from_local_datetime(&naive)
            .earliest()
            .expect("exists")
            .with_timezone(&Utc)
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    const MADRID: &str = "Europe/Madrid";

    #[test]
    fn several_intervals_per_day_with_a_lunch_break() {
        let s = schedule(
            MADRID,
            &[(Weekday::Mon, &[("09:00", "13:00"), ("15:00", "18:00")])],
            &[],
        );
        // Monday 2026-11-30.
        assert!(!s.is_open(local(MADRID, "2026-11-30 08:59")));
        assert!(s.is_open(local(MADRID, "2026-11-30 09:00")));
        assert!(s.is_open(local(MADRID, "2026-11-30 12:59")));
        assert!(!s.is_open(local(MADRID, "2026-11-30 13:00")));
        assert!(!s.is_open(local(MADRID, "2026-11-30 14:30")));
        assert!(s.is_open(local(MADRID, "2026-11-30 15:00")));
        assert!(!s.is_open(local(MADRID, "2026-11-30 18:00")));
        assert_eq!(
            s.next_open(local(MADRID, "2026-11-30 13:30")),
            Some(local(MADRID, "2026-11-30 15:00"))
        );
        // After Monday's close the next opening is next Monday.
        assert_eq!(
            s.next_open(local(MADRID, "2026-11-30 18:00")),
            Some(local(MADRID, "2026-12-07 09:00"))
        );
        assert_eq!(
            s.business_duration(
                local(MADRID, "2026-11-30 00:00"),
                local(MADRID, "2026-12-01 00:00")
            ),
            7 * 3600
        );
        assert_eq!(
            s.business_duration(
                local(MADRID, "2026-11-30 12:00"),
                local(MADRID, "2026-11-30 16:30")
            ),
            3600 + 5400
        );
    }

    #[test]
    fn an_overnight_shift_runs_into_the_next_day() {
        let s = schedule(MADRID, &[(Weekday::Fri, &[("22:00", "06:00")])], &[]);
        // Friday 2026-12-04 22:00 to Saturday 06:00.
        assert!(!s.is_open(local(MADRID, "2026-12-04 21:59")));
        assert!(s.is_open(local(MADRID, "2026-12-04 22:00")));
        assert!(s.is_open(local(MADRID, "2026-12-05 00:00")));
        assert!(s.is_open(local(MADRID, "2026-12-05 05:59")));
        assert!(!s.is_open(local(MADRID, "2026-12-05 06:00")));
        // Saturday has no shift of its own.
        assert!(!s.is_open(local(MADRID, "2026-12-05 23:00")));
        assert_eq!(
            s.next_open(local(MADRID, "2026-12-05 07:00")),
            Some(local(MADRID, "2026-12-11 22:00"))
        );
        assert_eq!(
            s.next_open(local(MADRID, "2026-12-05 03:00")),
            Some(local(MADRID, "2026-12-05 03:00"))
        );
        assert_eq!(
            s.business_duration(
                local(MADRID, "2026-12-04 23:00"),
                local(MADRID, "2026-12-05 12:00")
            ),
            7 * 3600
        );
        // A whole week holds one 8-hour shift.
        assert_eq!(
            s.business_duration(
                local(MADRID, "2026-11-30 00:00"),
                local(MADRID, "2026-12-07 00:00")
            ),
            8 * 3600
        );
    }

    #[test]
    fn a_holiday_is_closed_all_day_even_for_an_overnight_spill() {
        // Tuesday 2026-12-08 is a holiday (Inmaculada Concepción).
        let s = schedule(
            MADRID,
            &every_day(&[("09:00", "18:00"), ("23:00", "02:00")]),
            &["2026-12-08"],
        );
        assert!(s.is_open(local(MADRID, "2026-12-07 10:00")));
        // Monday's overnight shift stops at the holiday's midnight.
        assert!(s.is_open(local(MADRID, "2026-12-07 23:30")));
        assert!(!s.is_open(local(MADRID, "2026-12-08 01:00")));
        assert!(!s.is_open(local(MADRID, "2026-12-08 10:00")));
        assert!(!s.is_open(local(MADRID, "2026-12-08 23:30")));
        // Tuesday's overnight shift never started: Wednesday opens at 09:00.
        assert!(!s.is_open(local(MADRID, "2026-12-09 01:00")));
        assert_eq!(
            s.next_open(local(MADRID, "2026-12-08 00:00")),
            Some(local(MADRID, "2026-12-09 09:00"))
        );
        assert_eq!(
            s.business_duration(
                local(MADRID, "2026-12-08 00:00"),
                local(MADRID, "2026-12-09 00:00")
            ),
            0
        );
        assert_eq!(
            s.business_duration(
                local(MADRID, "2026-12-07 00:00"),
                local(MADRID, "2026-12-08 00:00")
            ),
            // 00:00–02:00 (Sunday's spill), 09:00–18:00, 23:00–24:00.
            (2 + 9 + 1) * 3600
        );
    }

    #[test]
    fn spring_forward_day_in_madrid_is_23_hours_long() {
        // 2026-03-29: at 02:00 CET clocks jump to 03:00 CEST.
        let always = schedule(MADRID, &every_day(&[("00:00", "24:00")]), &[]);
        assert_eq!(
            always.business_duration(utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z")),
            23 * 3600
        );
        // An interval starting in the skipped hour opens when the hour after it starts.
        let s = schedule(MADRID, &[(Weekday::Sun, &[("02:30", "04:00")])], &[]);
        assert!(!s.is_open(utc("2026-03-29T00:59:00Z")));
        assert!(s.is_open(utc("2026-03-29T01:00:00Z"))); // 03:00 CEST
        assert!(!s.is_open(utc("2026-03-29T02:00:00Z"))); // 04:00 CEST
        assert_eq!(
            s.business_duration(utc("2026-03-29T00:00:00Z"), utc("2026-03-30T00:00:00Z")),
            3600
        );
        // 09:00–17:00 is 8 real hours on that day too, in CEST.
        let office = schedule(MADRID, &[(Weekday::Sun, &[("09:00", "17:00")])], &[]);
        assert!(office.is_open(utc("2026-03-29T07:00:00Z")));
        assert!(!office.is_open(utc("2026-03-29T06:59:00Z")));
        assert_eq!(
            office.next_open(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T07:00:00Z"))
        );
    }

    #[test]
    fn autumn_back_day_in_madrid_is_25_hours_long() {
        // 2026-10-25: at 03:00 CEST clocks go back to 02:00 CET.
        let always = schedule(MADRID, &every_day(&[("00:00", "24:00")]), &[]);
        assert_eq!(
            always.business_duration(utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z")),
            25 * 3600
        );
        // An overnight shift across the change lasts an hour longer.
        let night = schedule(MADRID, &[(Weekday::Sat, &[("22:00", "06:00")])], &[]);
        assert_eq!(
            night.business_duration(utc("2026-10-24T00:00:00Z"), utc("2026-10-26T00:00:00Z")),
            9 * 3600
        );
        // Both 02:30s (CEST, then CET) are inside it.
        assert!(night.is_open(utc("2026-10-25T00:30:00Z")));
        assert!(night.is_open(utc("2026-10-25T01:30:00Z")));
        assert!(night.is_open(utc("2026-10-25T04:59:00Z"))); // 05:59 CET
        assert!(!night.is_open(utc("2026-10-25T05:00:00Z"))); // 06:00 CET
    }

    #[test]
    fn new_york_changes_on_other_dates() {
        const NY: &str = "America/New_York";
        // 2026-03-08 spring forward, 2026-11-01 fall back (the first Sunday of November).
        let s = schedule(NY, &every_day(&[("09:00", "17:00")]), &[]);
        assert!(s.is_open(utc("2026-03-08T13:00:00Z"))); // 09:00 EDT
        assert!(!s.is_open(utc("2026-03-07T13:00:00Z"))); // 08:00 EST
        assert!(s.is_open(utc("2026-11-01T14:00:00Z"))); // 09:00 EST
        assert!(!s.is_open(utc("2026-11-01T13:00:00Z"))); // 08:00 EST
        let always = schedule(NY, &every_day(&[("00:00", "24:00")]), &[]);
        assert_eq!(
            always.business_duration(local(NY, "2026-11-01 00:00"), local(NY, "2026-11-02 00:00")),
            25 * 3600
        );
        // The week with the change still holds seven 8-hour days.
        assert_eq!(
            s.business_duration(local(NY, "2026-03-02 00:00"), local(NY, "2026-03-09 00:00")),
            7 * 8 * 3600
        );
    }

    #[test]
    fn santiago_changes_in_the_other_hemisphere() {
        const SCL: &str = "America/Santiago";
        // Chile goes back on 2026-04-05 (00:00 -03 → 23:00 -04 on the 4th) and forward on
        // 2026-09-06 (00:00 -04 → 01:00 -03).
        let always = schedule(SCL, &every_day(&[("00:00", "24:00")]), &[]);
        let total = always.business_duration(
            local(SCL, "2026-09-05 12:00"),
            local(SCL, "2026-09-06 12:00"),
        );
        assert_eq!(total, 23 * 3600);
        // Midnight does not exist on 2026-09-06: a shift from 00:00 opens at 01:00.
        let s = schedule(SCL, &[(Weekday::Sun, &[("00:00", "02:00")])], &[]);
        assert_eq!(
            s.business_duration(
                local(SCL, "2026-09-05 12:00"),
                local(SCL, "2026-09-06 12:00")
            ),
            3600
        );
    }

    #[test]
    fn business_duration_is_zero_for_empty_or_reversed_spans_and_walks_years() {
        let s = schedule(MADRID, &every_day(&[("09:00", "17:00")]), &[]);
        let t = utc("2026-11-30T10:00:00Z");
        assert_eq!(s.business_duration(t, t), 0);
        assert_eq!(s.business_duration(t, t - Duration::hours(1)), 0);
        // 2027 is not a leap year: 365 days of 8 hours.
        assert_eq!(
            s.business_duration(
                local(MADRID, "2027-01-01 00:00"),
                local(MADRID, "2028-01-01 00:00")
            ),
            365 * 8 * 3600
        );
    }

    #[test]
    fn a_schedule_without_intervals_never_opens() {
        let s = schedule("UTC", &[], &[]);
        assert!(!s.is_open(utc("2026-11-30T10:00:00Z")));
        assert_eq!(s.next_open(utc("2026-11-30T10:00:00Z")), None);
    }

    #[test]
    fn overlapping_shifts_across_midnight_are_counted_once() {
        let s = schedule(
            "UTC",
            &[
                (Weekday::Fri, &[("20:00", "06:00")]),
                (Weekday::Sat, &[("05:00", "08:00")]),
            ],
            &[],
        );
        assert_eq!(
            s.business_duration(utc("2026-12-04T00:00:00Z"), utc("2026-12-06T00:00:00Z")),
            12 * 3600
        );
        assert_eq!(
            s.next_open(utc("2026-12-05T06:30:00Z")),
            Some(utc("2026-12-05T06:30:00Z"))
        );
    }

    #[test]
    fn invalid_fields_are_named() {
        let err = Schedule::new(&ScheduleSpec {
            time_zone: "Mars/Olympus".into(),
            days: vec![
                DayHours {
                    weekday: Weekday::Mon,
                    intervals: vec![
                        Interval {
                            start_minute: 540,
                            end_minute: 540,
                        },
                        Interval {
                            start_minute: 1440,
                            end_minute: 60,
                        },
                        Interval {
                            start_minute: 60,
                            end_minute: 1441,
                        },
                    ],
                },
                DayHours {
                    weekday: Weekday::Tue,
                    intervals: vec![iv("09:00", "13:00"), iv("12:00", "14:00")],
                },
                DayHours {
                    weekday: Weekday::Mon,
                    intervals: vec![],
                },
            ],
            holidays: vec!["2026-12-25".parse().unwrap(), "2026-12-25".parse().unwrap()],
        })
        .expect_err("invalid");
        let fields: Vec<&str> = err.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "time_zone",
                "days[0].intervals[0].end_minute",
                "days[0].intervals[1].start_minute",
                "days[0].intervals[2].end_minute",
                "days[1].intervals[1]",
                "days[2].weekday",
                "holidays[1]",
            ]
        );
        assert!(
            Schedule::new(&ScheduleSpec {
                time_zone: String::new(),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn local_date_is_read_in_the_zone() {
        let s = schedule("America/Santiago", &[], &[]);
        // 02:00 UTC on Dec 1st is still Nov 30th in Santiago (-03).
        assert_eq!(
            s.local_date(utc("2026-12-01T02:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
    }
}
