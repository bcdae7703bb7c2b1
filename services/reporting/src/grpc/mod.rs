//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.

pub mod reports;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use switchboard_proto::reporting::v1::{self as pb, reporting_service_server::ReportingService};
use tonic::{Request, Response, Status};

/// `switchboard.reporting.v1.ReportingService`.
pub struct ReportingGrpc {
    #[allow(dead_code)]
    db: DatabaseConnection,
    reports: Option<Arc<crate::reports::Reports>>,
}

impl ReportingGrpc {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, reports: None }
    }

    /// Answers the reports RPCs with `reports`.
    pub fn with_reports(mut self, reports: crate::reports::Reports) -> Self {
        self.reports = Some(Arc::new(reports));
        self
    }

    fn reports(&self) -> Result<&crate::reports::Reports, Status> {
        self.reports
            .as_deref()
            .ok_or_else(|| Status::unavailable("reports are not running"))
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingGrpc {
    // ---- Reports ----

    async fn get_report(
        &self,
        request: Request<pb::GetReportRequest>,
    ) -> Result<Response<pb::GetReportResponse>, Status> {
        reports::get_report(self.reports()?, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_leaderboard(
        &self,
        request: Request<pb::GetLeaderboardRequest>,
    ) -> Result<Response<pb::GetLeaderboardResponse>, Status> {
        reports::get_leaderboard(self.reports()?, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn export_report(
        &self,
        request: Request<pb::ExportReportRequest>,
    ) -> Result<Response<pb::ExportReportResponse>, Status> {
        reports::export_report(self.reports()?, request.into_inner())
            .await
            .map(Response::new)
    }
}
