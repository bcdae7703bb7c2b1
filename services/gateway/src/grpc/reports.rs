//! Reports, the leaderboard and their CSV, forwarded to reporting with the caller as actor
//! (reporting checks the caller is an operator or admin).

use switchboard_proto::{gateway::v1 as pb, reporting::v1 as rpb};
use tonic::Status;

use super::{Ctx, Scope};

fn report_request(scope: &Scope, r: pb::GetReportRequest) -> rpb::GetReportRequest {
    rpb::GetReportRequest {
        organization_id: scope.org(),
        actor_agent_id: scope.me(),
        time_range: r.time_range,
        time_zone: r.time_zone,
        granularity: r.granularity,
        filter: r.filter,
        breakdown: r.breakdown,
    }
}

fn leaderboard_request(scope: &Scope, r: pb::GetLeaderboardRequest) -> rpb::GetLeaderboardRequest {
    rpb::GetLeaderboardRequest {
        organization_id: scope.org(),
        actor_agent_id: scope.me(),
        time_range: r.time_range,
        filter: r.filter,
    }
}

pub async fn get_report(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetReportRequest,
) -> Result<pb::GetReportResponse, Status> {
    let r = ctx
        .upstream
        .reporting()
        .get_report(scope.req(report_request(scope, request)))
        .await?
        .into_inner();
    Ok(pb::GetReportResponse {
        rows: r.rows,
        totals: r.totals,
        time_zone: r.time_zone,
    })
}

pub async fn get_leaderboard(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetLeaderboardRequest,
) -> Result<pb::GetLeaderboardResponse, Status> {
    let r = ctx
        .upstream
        .reporting()
        .get_leaderboard(scope.req(leaderboard_request(scope, request)))
        .await?
        .into_inner();
    Ok(pb::GetLeaderboardResponse { rows: r.rows })
}

pub async fn export_report(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ExportReportRequest,
) -> Result<pb::ExportReportResponse, Status> {
    use pb::export_report_request::Report as In;
    use rpb::export_report_request::Report as Out;
    let report = request.report.map(|r| match r {
        In::ReportRequest(r) => Out::ReportRequest(report_request(scope, r)),
        In::LeaderboardRequest(r) => Out::LeaderboardRequest(leaderboard_request(scope, r)),
    });
    let r = ctx
        .upstream
        .reporting()
        .export_report(scope.req(rpb::ExportReportRequest { report }))
        .await?
        .into_inner();
    Ok(pb::ExportReportResponse {
        content_type: r.content_type,
        file_name: r.file_name,
        content: r.content,
    })
}
