//! What a report asks and answers, and how aggregates become its rows.
//!
//! Percentiles are continuous (linear interpolation between the two nearest ranks, exactly
//! PostgreSQL's `percentile_cont`): over values sorted ascending `v[0..n]`, the p-th percentile
//! is at position `p·(n−1)`, `v[lo] + (v[hi] − v[lo])·(pos − lo)`. The mean is the sum over the
//! count. Both are computed in double precision over milliseconds and rounded to the nearest
//! millisecond (ties to even), on both backends.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    buckets::{Bucket, Granularity},
    facts::FactKind,
};

/// Longest range a report covers.
pub const MAX_RANGE_DAYS: i64 = 400;

/// What a report is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Breakdown {
    #[default]
    None,
    Team,
    Agent,
    ChannelAccount,
    Campaign,
    Tag,
}

/// Which facts a report counts; empty lists: no restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub team_ids: Vec<String>,
    pub agent_ids: Vec<String>,
    pub channel_account_ids: Vec<String>,
    pub campaign_ids: Vec<String>,
    /// Contact tags at the conversation's start (any of them).
    pub tags: Vec<String>,
}

/// A report's question, validated.
#[derive(Debug, Clone)]
pub struct ReportQuery {
    pub start_ms: i64,
    pub end_ms: i64,
    /// IANA zone; `None`: the organization's business-hours zone, else UTC.
    pub time_zone: Option<chrono_tz::Tz>,
    pub granularity: Granularity,
    pub filter: Filter,
    pub breakdown: Breakdown,
}

/// Median, p90 and mean of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub count: i64,
    pub median_ms: i64,
    pub p90_ms: i64,
    pub mean_ms: i64,
}

/// Rounds a double-precision millisecond figure (ties to even).
pub fn round_ms(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// PostgreSQL's `percentile_cont(p)` over ascending `sorted` (not empty).
pub fn percentile_cont(sorted: &[i64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let lo = pos.floor();
    let hi = pos.ceil();
    let first = sorted[lo as usize] as f64;
    let second = sorted[hi as usize] as f64;
    first + (second - first) * (pos - lo)
}

impl Stats {
    /// From the parts PostgreSQL computes (percentiles and mean as doubles).
    pub fn from_parts(count: i64, median: f64, p90: f64, mean: f64) -> Self {
        if count == 0 {
            return Self::default();
        }
        Self {
            count,
            median_ms: round_ms(median),
            p90_ms: round_ms(p90),
            mean_ms: round_ms(mean),
        }
    }

    /// Over `values` (sorted in place).
    pub fn of(values: &mut [i64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_unstable();
        let sum: i64 = values.iter().sum();
        Self::from_parts(
            values.len() as i64,
            percentile_cont(values, 0.5),
            percentile_cont(values, 0.9),
            sum as f64 / values.len() as f64,
        )
    }
}

/// A duration figure over the clock and inside business hours (`None`: no business hours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurationFigure {
    pub all_hours: Stats,
    pub business_hours: Option<Stats>,
}

/// The figures of one bucket of one series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub conversations_started: i64,
    pub conversations_assigned: i64,
    pub conversations_closed: i64,
    pub conversations_expired: i64,
    pub conversations_transferred: i64,
    pub offers_timed_out: i64,
    pub first_response_time: DurationFigure,
    pub reply_time: DurationFigure,
    pub resolution_time: DurationFigure,
    pub queue_wait: DurationFigure,
}

impl Figures {
    fn set(&mut self, kind: FactKind, all: Stats, business: Option<Stats>) {
        let duration = DurationFigure {
            all_hours: all,
            business_hours: business.filter(|b| b.count > 0),
        };
        match kind {
            FactKind::Started => self.conversations_started = all.count,
            FactKind::Assigned => self.conversations_assigned = all.count,
            FactKind::Closed => self.conversations_closed = all.count,
            FactKind::Expired => self.conversations_expired = all.count,
            FactKind::Transferred => self.conversations_transferred = all.count,
            FactKind::OfferTimedOut => self.offers_timed_out = all.count,
            FactKind::FirstResponse => self.first_response_time = duration,
            FactKind::ReplyTime => self.reply_time = duration,
            FactKind::Resolution => self.resolution_time = duration,
            FactKind::QueueWait => self.queue_wait = duration,
        }
    }
}

/// One aggregate the store computed: a (bucket, key, kind) cell, or with `bucket: None` the
/// whole range of a (key, kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub bucket: Option<usize>,
    pub key: String,
    pub kind: FactKind,
    pub all_hours: Stats,
    pub business_hours: Option<Stats>,
}

/// One fact as the store reads it for aggregation in Rust.
#[derive(Debug, Clone)]
pub struct FactRow {
    pub bucket: usize,
    pub key: String,
    pub kind: FactKind,
    pub value_ms: i64,
    pub value_bh_ms: Option<i64>,
}

/// Aggregates fact rows per (bucket, key, kind) and per (key, kind), as PostgreSQL's
/// `GROUPING SETS` do.
pub fn aggregate(rows: Vec<FactRow>) -> Vec<Aggregate> {
    type Values = (Vec<i64>, Vec<i64>);
    let mut cells: BTreeMap<(Option<usize>, String, FactKind), Values> = BTreeMap::new();
    for r in rows {
        for bucket in [Some(r.bucket), None] {
            let cell = cells.entry((bucket, r.key.clone(), r.kind)).or_default();
            cell.0.push(r.value_ms);
            if let Some(b) = r.value_bh_ms {
                cell.1.push(b);
            }
        }
    }
    cells
        .into_iter()
        .map(|((bucket, key, kind), (mut all, mut business))| Aggregate {
            bucket,
            key,
            kind,
            all_hours: Stats::of(&mut all),
            business_hours: (!business.is_empty()).then(|| Stats::of(&mut business)),
        })
        .collect()
}

/// One bucket of one series (no bucket: the series' total).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub bucket: Option<Bucket>,
    pub key: String,
    pub figures: Figures,
}

/// A report's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub rows: Vec<Row>,
    pub totals: Vec<Row>,
    pub time_zone: String,
}

/// Every bucket of every series (zeros where nothing happened) and each series' total. Without
/// a breakdown there is one series (key ""), even when nothing happened; with one, a series
/// per key that has facts, in key order.
pub fn assemble(
    buckets: &[Bucket],
    aggregates: &[Aggregate],
    breakdown: Breakdown,
    time_zone: &str,
) -> Report {
    let mut keys: BTreeSet<String> = aggregates.iter().map(|a| a.key.clone()).collect();
    if breakdown == Breakdown::None {
        keys = BTreeSet::from([String::new()]);
    }
    let mut cells: BTreeMap<(Option<usize>, &str), Figures> = BTreeMap::new();
    for a in aggregates {
        if !keys.contains(&a.key) {
            continue;
        }
        cells.entry((a.bucket, a.key.as_str())).or_default().set(
            a.kind,
            a.all_hours,
            a.business_hours,
        );
    }
    let figures =
        |bucket: Option<usize>, key: &str| cells.get(&(bucket, key)).copied().unwrap_or_default();
    let mut rows = Vec::with_capacity(buckets.len() * keys.len());
    for (i, b) in buckets.iter().enumerate() {
        for key in &keys {
            rows.push(Row {
                bucket: Some(b.clone()),
                key: key.clone(),
                figures: figures(Some(i), key),
            });
        }
    }
    let totals = keys
        .iter()
        .map(|key| Row {
            bucket: None,
            key: key.clone(),
            figures: figures(None, key),
        })
        .collect();
    Report {
        rows,
        totals,
        time_zone: time_zone.to_string(),
    }
}

/// One agent's line of the leaderboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderboardRow {
    pub agent_id: String,
    pub rank: i32,
    pub figures: Figures,
}

/// Agents ranked by conversations closed (most first), then median first response (fastest
/// first; agents without one after those with one), then agent id. Facts without an agent do
/// not rank.
pub fn leaderboard(totals: &[Row]) -> Vec<LeaderboardRow> {
    let mut rows: Vec<&Row> = totals.iter().filter(|r| !r.key.is_empty()).collect();
    rows.sort_by_key(|r| {
        let fr = r.figures.first_response_time.all_hours;
        (
            std::cmp::Reverse(r.figures.conversations_closed),
            fr.count == 0,
            fr.median_ms,
            r.key.clone(),
        )
    });
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| LeaderboardRow {
            agent_id: r.key.clone(),
            rank: i as i32 + 1,
            figures: r.figures,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_percentile_cont() {
        let mut v = vec![40, 10, 20, 30];
        let s = Stats::of(&mut v);
        // median at position 1.5: 20 + 10·0.5; p90 at 2.7: 30 + 10·0.7; mean 25.
        assert_eq!((s.count, s.median_ms, s.p90_ms, s.mean_ms), (4, 25, 37, 25));
        let s = Stats::of(&mut [7]);
        assert_eq!((s.median_ms, s.p90_ms, s.mean_ms), (7, 7, 7));
        // Ties to even: 2.5 → 2, 3.5 → 4.
        assert_eq!((round_ms(2.5), round_ms(3.5)), (2, 4));
    }

    #[test]
    fn empty_buckets_are_present_with_zeros_and_totals_are_over_the_range() {
        let buckets = vec![
            Bucket {
                start_ms: 0,
                label: "a".into(),
            },
            Bucket {
                start_ms: 10,
                label: "b".into(),
            },
        ];
        let rows = vec![
            FactRow {
                bucket: 1,
                key: "team_x".into(),
                kind: FactKind::QueueWait,
                value_ms: 4_000,
                value_bh_ms: None,
            },
            FactRow {
                bucket: 1,
                key: "team_x".into(),
                kind: FactKind::QueueWait,
                value_ms: 2_000,
                value_bh_ms: None,
            },
        ];
        let r = assemble(&buckets, &aggregate(rows), Breakdown::Team, "UTC");
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.rows[0].figures, Figures::default());
        assert_eq!(r.rows[1].figures.queue_wait.all_hours.median_ms, 3_000);
        assert_eq!(r.totals[0].figures.queue_wait.all_hours.count, 2);
        let none = assemble(&buckets, &[], Breakdown::None, "UTC");
        assert_eq!((none.rows.len(), none.totals.len()), (2, 1));
    }
}
