//! RFC 4180 CSV of exactly the figures a report or the leaderboard answered: a header line,
//! CRLF line ends, fields quoted when they hold a comma, a quote or a line break. Durations are
//! seconds with millisecond decimals ("12.500"); business-hours columns are empty when no
//! business hours are configured.

use chrono::DateTime;

use super::report::{DurationFigure, Figures, LeaderboardRow, Report, Stats};

const COUNTS: [&str; 6] = [
    "conversations_started",
    "conversations_assigned",
    "conversations_closed",
    "conversations_expired",
    "conversations_transferred",
    "offers_timed_out",
];

const DURATIONS: [&str; 4] = [
    "first_response_time",
    "reply_time",
    "resolution_time",
    "queue_wait",
];

/// The figure columns, after the row's identifying columns.
pub fn figure_columns() -> Vec<String> {
    let mut out: Vec<String> = COUNTS.iter().map(|c| (*c).to_string()).collect();
    for d in DURATIONS {
        for scope in ["", "_bh"] {
            for part in ["count", "median_s", "p90_s", "mean_s"] {
                out.push(format!("{d}{scope}_{part}"));
            }
        }
    }
    out
}

/// Milliseconds as seconds with three decimals.
pub fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    format!("{sign}{}.{:03}", ms / 1000, ms % 1000)
}

fn stats_fields(s: Option<Stats>, out: &mut Vec<String>) {
    match s {
        Some(s) => out.extend([
            s.count.to_string(),
            seconds(s.median_ms),
            seconds(s.p90_ms),
            seconds(s.mean_ms),
        ]),
        None => out.extend(std::iter::repeat_n(String::new(), 4)),
    }
}

fn figure_fields(f: &Figures, out: &mut Vec<String>) {
    out.extend(
        [
            f.conversations_started,
            f.conversations_assigned,
            f.conversations_closed,
            f.conversations_expired,
            f.conversations_transferred,
            f.offers_timed_out,
        ]
        .map(|n| n.to_string()),
    );
    let durations: [DurationFigure; 4] = [
        f.first_response_time,
        f.reply_time,
        f.resolution_time,
        f.queue_wait,
    ];
    for d in durations {
        stats_fields(Some(d.all_hours), out);
        stats_fields(d.business_hours, out);
    }
}

fn field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn line(fields: &[String], out: &mut String) {
    let escaped: Vec<String> = fields.iter().map(|f| field(f)).collect();
    out.push_str(&escaped.join(","));
    out.push_str("\r\n");
}

/// A report: one line per bucket and series (`bucket_start` in UTC, RFC 3339; the label in
/// the report's zone), then one per series' total (`bucket_label` "total", no start).
pub fn report(r: &Report) -> String {
    let mut out = String::new();
    let mut header = vec![
        "bucket_start".to_string(),
        "bucket_label".into(),
        "key".into(),
    ];
    header.extend(figure_columns());
    line(&header, &mut out);
    for row in r.rows.iter().chain(&r.totals) {
        let mut fields = match &row.bucket {
            Some(b) => vec![
                DateTime::from_timestamp_millis(b.start_ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
                b.label.clone(),
            ],
            None => vec![String::new(), "total".into()],
        };
        fields.push(row.key.clone());
        figure_fields(&row.figures, &mut fields);
        line(&fields, &mut out);
    }
    out
}

/// The leaderboard: one line per agent, by rank.
pub fn leaderboard(rows: &[LeaderboardRow]) -> String {
    let mut out = String::new();
    let mut header = vec!["rank".to_string(), "agent_id".into()];
    header.extend(figure_columns());
    line(&header, &mut out);
    for r in rows {
        let mut fields = vec![r.rank.to_string(), r.agent_id.clone()];
        figure_fields(&r.figures, &mut fields);
        line(&fields, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed_and_seconds_keep_milliseconds() {
        assert_eq!(field("vip"), "vip");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(seconds(12_500), "12.500");
        assert_eq!(seconds(7), "0.007");
        assert_eq!(figure_columns().len(), 6 + 4 * 8);
    }
}
