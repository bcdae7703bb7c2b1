//! Reports through the gateway: operators and admins get GetReport, GetLeaderboard and
//! ExportReport (the CSV of exactly what the RPC answered); agents are refused; a bad zone
//! names its field. Facts come from routing events published on the real bus.

use std::time::Duration;

use switchboard_proto::{
    common::v1::Role,
    gateway::v1 as gw,
    reporting::v1 as pb,
    routing::v1::{ConversationState as S, TransitionCause as C},
};
use switchboard_runtime::ids::{ChannelAccountId, TeamId};
use switchboard_testkit::Backend;
use tonic_types::StatusExt;

use crate::{
    gateway_support::GatewayWorld,
    on_both_backends,
    reporting_reports::{Conv, assert_csv_matches_report, counts, ms, range, stats},
    ticketing_support::event,
};

fn request(zone: &str) -> gw::GetReportRequest {
    gw::GetReportRequest {
        time_range: range("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"),
        time_zone: zone.into(),
        granularity: pb::Granularity::Hour as i32,
        filter: None,
        breakdown: pb::Breakdown::Agent as i32,
    }
}

async fn operators_read_reports_through_the_gateway_and_agents_do_not(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut g = GatewayWorld::new(backend).await?;
    let mut operator = g.member("Olga", Role::Operator, 0).await?;
    let mut agent = g.member("Lucía", Role::Agent, 3).await?;

    // One conversation: queued 10:00, Lucía assigned 10:01, closed 10:10 (UTC).
    let org = g.world.org.clone();
    let bus = g.world.suite.infra().expect("running").bus.clone();
    let mut c = Conv::new(
        &TeamId::generate().to_string(),
        &ChannelAccountId::generate().to_string(),
        "2026-11-02T10:00:00Z",
    );
    let queued = c.changed(S::Queued, C::Routed, "2026-11-02T10:00:00Z", |e| {
        e.queued_ms = ms("2026-11-02T10:00:00Z")
    });
    let assigned = c.changed(S::Assigned, C::SlotFreed, "2026-11-02T10:01:00Z", |e| {
        e.assignee_agent_id = agent.id.clone();
        e.assigned_ms = ms("2026-11-02T10:01:00Z");
    });
    let closed = c.changed(S::Closed, C::Closed, "2026-11-02T10:10:00Z", |e| {
        e.previous_agent_id = agent.id.clone();
        e.ended_ms = ms("2026-11-02T10:10:00Z");
    });
    for e in [queued, assigned, closed] {
        bus.publish(&event(&org, &c.id, &e)).await?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let report = loop {
        let r = operator
            .gateway
            .get_report(request("Europe/Madrid"))
            .await?
            .into_inner();
        if r.totals.iter().any(|t| {
            t.figures
                .as_ref()
                .is_some_and(|f| f.conversations_closed == 1)
        }) {
            break r;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no facts: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(report.time_zone, "Europe/Madrid");
    // Nov 2 in UTC is 24 local hours from 01:00 Madrid time.
    assert_eq!(report.rows.len(), 24 * 2, "two series: no agent, and Lucía");
    let lucia = report
        .totals
        .iter()
        .find(|t| t.key == agent.id)
        .and_then(|t| t.figures)
        .expect("Lucía's series");
    assert_eq!(counts(&lucia), [0, 1, 1, 0, 0, 0]);
    assert_eq!(stats(&lucia.queue_wait), (1, 60_000, 60_000, 60_000));
    assert_eq!(
        stats(&lucia.resolution_time),
        (1, 600_000, 600_000, 600_000)
    );

    let board = operator
        .gateway
        .get_leaderboard(gw::GetLeaderboardRequest {
            time_range: range("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"),
            filter: None,
        })
        .await?
        .into_inner();
    assert_eq!(board.rows.len(), 1);
    assert_eq!(
        (board.rows[0].agent_id.as_str(), board.rows[0].rank),
        (agent.id.as_str(), 1)
    );

    let csv = g
        .admin
        .gateway
        .export_report(gw::ExportReportRequest {
            report: Some(gw::export_report_request::Report::ReportRequest(request(
                "Europe/Madrid",
            ))),
        })
        .await?
        .into_inner();
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert_csv_matches_report(
        &csv.content,
        &pb::GetReportResponse {
            rows: report.rows.clone(),
            totals: report.totals.clone(),
            time_zone: report.time_zone.clone(),
        },
    )?;

    // An agent is refused, whatever the RPC.
    let denied = agent
        .gateway
        .get_report(request(""))
        .await
        .expect_err("agent");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let denied = agent
        .gateway
        .get_leaderboard(gw::GetLeaderboardRequest {
            time_range: range("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"),
            filter: None,
        })
        .await
        .expect_err("agent");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let denied = agent
        .gateway
        .export_report(gw::ExportReportRequest {
            report: Some(gw::export_report_request::Report::ReportRequest(request(
                "",
            ))),
        })
        .await
        .expect_err("agent");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);

    // A zone that does not exist names its field.
    let bad = operator
        .gateway
        .get_report(request("Mars/Olympus_Mons"))
        .await
        .expect_err("bad zone");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    let fields: Vec<String> = bad
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["time_zone"]);
    g.world.suite.stop().await
}
on_both_backends!(operators_read_reports_through_the_gateway_and_agents_do_not);
