//! GetReport, GetLeaderboard and ExportReport: validate, authorize, ask [`Reports`], convert.

use switchboard_proto::{prost_types, reporting::v1 as pb};
use switchboard_runtime::{
    errors,
    ids::{AgentId, CampaignId, ChannelAccountId, OrganizationId, TeamId},
    validate::Check,
};
use tonic::Status;

use crate::reports::{
    Reports,
    buckets::Granularity,
    csv,
    report::{
        Breakdown, DurationFigure, Figures, Filter, LeaderboardRow, MAX_RANGE_DAYS, Report,
        ReportQuery, Row, Stats,
    },
};

/// Most entries a filter list may have.
const MAX_FILTER_ITEMS: usize = 100;

fn ms(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

/// Checks a range: both bounds, start before end, at most [`MAX_RANGE_DAYS`].
fn range(check: &mut Check, r: Option<&switchboard_proto::common::v1::TimeRange>) -> (i64, i64) {
    let Some(r) = r else {
        check.bad("time_range", "is required (start_time and end_time)");
        return (0, 0);
    };
    let start = r.start_time.as_ref().map(ms);
    let end = r.end_time.as_ref().map(ms);
    if start.is_none() {
        check.bad("time_range.start_time", "is required");
    }
    if end.is_none() {
        check.bad("time_range.end_time", "is required");
    }
    let (Some(start), Some(end)) = (start, end) else {
        return (0, 0);
    };
    if end <= start {
        check.bad("time_range.end_time", "must be after start_time");
    } else if end - start > MAX_RANGE_DAYS * 86_400_000 {
        check.bad(
            "time_range",
            format!("must span at most {MAX_RANGE_DAYS} days"),
        );
    }
    (start, end)
}

fn filter(check: &mut Check, f: Option<&pb::ReportFilter>) -> Filter {
    let f = f.cloned().unwrap_or_default();
    for (field, n) in [
        ("filter.team_ids", f.team_ids.len()),
        ("filter.agent_ids", f.agent_ids.len()),
        ("filter.channel_account_ids", f.channel_account_ids.len()),
        ("filter.campaign_ids", f.campaign_ids.len()),
        ("filter.tags", f.tags.len()),
    ] {
        if n > MAX_FILTER_ITEMS {
            check.bad(
                field,
                format!("must have at most {MAX_FILTER_ITEMS} entries"),
            );
        }
    }
    let teams: Vec<TeamId> = check.ids("filter.team_ids", &f.team_ids);
    let agents: Vec<AgentId> = check.ids("filter.agent_ids", &f.agent_ids);
    let numbers: Vec<ChannelAccountId> =
        check.ids("filter.channel_account_ids", &f.channel_account_ids);
    let campaigns: Vec<CampaignId> = check.ids("filter.campaign_ids", &f.campaign_ids);
    for (i, tag) in f.tags.iter().enumerate() {
        if tag.trim().is_empty() {
            check.bad(&format!("filter.tags[{i}]"), "must not be blank");
        }
    }
    Filter {
        team_ids: teams.iter().map(ToString::to_string).collect(),
        agent_ids: agents.iter().map(ToString::to_string).collect(),
        channel_account_ids: numbers.iter().map(ToString::to_string).collect(),
        campaign_ids: campaigns.iter().map(ToString::to_string).collect(),
        tags: f.tags.iter().map(|t| t.trim().to_string()).collect(),
    }
}

/// A validated GetReport: organization, actor, question.
pub fn report_query(
    r: &pb::GetReportRequest,
) -> Result<(OrganizationId, AgentId, ReportQuery), Status> {
    let mut check = Check::new();
    let org = check.org(&r.organization_id);
    let actor: Option<AgentId> = check.id("actor_agent_id", &r.actor_agent_id);
    let (start_ms, end_ms) = range(&mut check, r.time_range.as_ref());
    let time_zone = match r.time_zone.trim() {
        "" => None,
        name => match name.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                check.bad(
                    "time_zone",
                    "must be an IANA time zone name, e.g. Europe/Madrid",
                );
                None
            }
        },
    };
    let granularity = match pb::Granularity::try_from(r.granularity) {
        Ok(pb::Granularity::Hour) => Granularity::Hour,
        Ok(pb::Granularity::Day) => Granularity::Day,
        Ok(pb::Granularity::Week) => Granularity::Week,
        _ => {
            check.bad("granularity", "must be HOUR, DAY or WEEK");
            Granularity::Day
        }
    };
    let breakdown = match pb::Breakdown::try_from(r.breakdown) {
        Ok(pb::Breakdown::Unspecified) => Breakdown::None,
        Ok(pb::Breakdown::Team) => Breakdown::Team,
        Ok(pb::Breakdown::Agent) => Breakdown::Agent,
        Ok(pb::Breakdown::ChannelAccount) => Breakdown::ChannelAccount,
        Ok(pb::Breakdown::Campaign) => Breakdown::Campaign,
        Ok(pb::Breakdown::Tag) => Breakdown::Tag,
        Err(_) => {
            check.bad("breakdown", "is not a known breakdown");
            Breakdown::None
        }
    };
    let filter = filter(&mut check, r.filter.as_ref());
    if granularity == Granularity::Hour && end_ms - start_ms > 31 * 86_400_000 {
        check.bad(
            "granularity",
            "HOUR covers at most 31 days; use DAY or WEEK for longer ranges",
        );
    }
    check.done()?;
    let (Some(org), Some(actor)) = (org, actor) else {
        return Err(Status::internal("validated request without ids"));
    };
    Ok((
        org,
        actor,
        ReportQuery {
            start_ms,
            end_ms,
            time_zone,
            granularity,
            filter,
            breakdown,
        },
    ))
}

/// A validated GetLeaderboard: organization, actor, range, filter.
pub fn leaderboard_query(
    r: &pb::GetLeaderboardRequest,
) -> Result<(OrganizationId, AgentId, i64, i64, Filter), Status> {
    let mut check = Check::new();
    let org = check.org(&r.organization_id);
    let actor: Option<AgentId> = check.id("actor_agent_id", &r.actor_agent_id);
    let (start, end) = range(&mut check, r.time_range.as_ref());
    let filter = filter(&mut check, r.filter.as_ref());
    check.done()?;
    let (Some(org), Some(actor)) = (org, actor) else {
        return Err(Status::internal("validated request without ids"));
    };
    Ok((org, actor, start, end, filter))
}

fn duration(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn stats_pb(s: Stats) -> pb::DurationStats {
    pb::DurationStats {
        count: s.count,
        median: Some(duration(s.median_ms)),
        p90: Some(duration(s.p90_ms)),
        mean: Some(duration(s.mean_ms)),
    }
}

fn duration_figure(d: DurationFigure) -> Option<pb::DurationFigure> {
    Some(pb::DurationFigure {
        all_hours: Some(stats_pb(d.all_hours)),
        business_hours: d.business_hours.map(stats_pb),
    })
}

pub fn figures_pb(f: &Figures) -> pb::ReportFigures {
    pb::ReportFigures {
        conversations_started: f.conversations_started,
        conversations_assigned: f.conversations_assigned,
        conversations_closed: f.conversations_closed,
        conversations_expired: f.conversations_expired,
        conversations_transferred: f.conversations_transferred,
        offers_timed_out: f.offers_timed_out,
        first_response_time: duration_figure(f.first_response_time),
        reply_time: duration_figure(f.reply_time),
        resolution_time: duration_figure(f.resolution_time),
        queue_wait: duration_figure(f.queue_wait),
    }
}

fn row_pb(r: &Row) -> pb::ReportRow {
    pb::ReportRow {
        bucket_start: r.bucket.as_ref().map(|b| prost_types::Timestamp {
            seconds: b.start_ms.div_euclid(1000),
            nanos: (b.start_ms.rem_euclid(1000) * 1_000_000) as i32,
        }),
        bucket_label: r
            .bucket
            .as_ref()
            .map_or_else(|| "total".to_string(), |b| b.label.clone()),
        key: r.key.clone(),
        figures: Some(figures_pb(&r.figures)),
    }
}

pub fn report_pb(r: &Report) -> pb::GetReportResponse {
    pb::GetReportResponse {
        rows: r.rows.iter().map(row_pb).collect(),
        totals: r.totals.iter().map(row_pb).collect(),
        time_zone: r.time_zone.clone(),
    }
}

pub fn leaderboard_pb(rows: &[LeaderboardRow]) -> pb::GetLeaderboardResponse {
    pb::GetLeaderboardResponse {
        rows: rows
            .iter()
            .map(|r| pb::LeaderboardRow {
                agent_id: r.agent_id.clone(),
                rank: r.rank,
                figures: Some(figures_pb(&r.figures)),
            })
            .collect(),
    }
}

pub async fn get_report(
    reports: &Reports,
    r: pb::GetReportRequest,
) -> Result<pb::GetReportResponse, Status> {
    let (org, actor, q) = report_query(&r)?;
    reports.authorize(org.as_str(), actor.as_str()).await?;
    Ok(report_pb(&reports.report(org.as_str(), &q).await?))
}

pub async fn get_leaderboard(
    reports: &Reports,
    r: pb::GetLeaderboardRequest,
) -> Result<pb::GetLeaderboardResponse, Status> {
    let (org, actor, start, end, filter) = leaderboard_query(&r)?;
    reports.authorize(org.as_str(), actor.as_str()).await?;
    Ok(leaderboard_pb(
        &reports
            .leaderboard(org.as_str(), start, end, &filter)
            .await?,
    ))
}

fn file_name(what: &str, start_ms: i64, end_ms: i64) -> String {
    let day = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    format!("{what}-{}-{}.csv", day(start_ms), day(end_ms))
}

pub async fn export_report(
    reports: &Reports,
    r: pb::ExportReportRequest,
) -> Result<pb::ExportReportResponse, Status> {
    let (name, content) = match r.report {
        Some(pb::export_report_request::Report::ReportRequest(r)) => {
            let (org, actor, q) = report_query(&r)?;
            reports.authorize(org.as_str(), actor.as_str()).await?;
            let report = reports.report(org.as_str(), &q).await?;
            (
                file_name("report", q.start_ms, q.end_ms),
                csv::report(&report),
            )
        }
        Some(pb::export_report_request::Report::LeaderboardRequest(r)) => {
            let (org, actor, start, end, filter) = leaderboard_query(&r)?;
            reports.authorize(org.as_str(), actor.as_str()).await?;
            let rows = reports
                .leaderboard(org.as_str(), start, end, &filter)
                .await?;
            (
                file_name("leaderboard", start, end),
                csv::leaderboard(&rows),
            )
        }
        None => {
            return Err(errors::invalid_argument(&[errors::FieldViolation::new(
                "report",
                "is required (report_request or leaderboard_request)",
            )]));
        }
    };
    Ok(pb::ExportReportResponse {
        content_type: "text/csv; charset=utf-8".into(),
        file_name: name,
        content: content.into_bytes(),
    })
}
