//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.

pub mod live;
pub mod reports;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use switchboard_proto::reporting::v1::{self as pb, reporting_service_server::ReportingService};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// `switchboard.reporting.v1.ReportingService`.
pub struct ReportingGrpc {
    #[allow(dead_code)]
    db: DatabaseConnection,
    /// The live figures and the token that ends their watch streams on shutdown.
    live: Option<(crate::live::Live, CancellationToken)>,
    reports: Option<Arc<crate::reports::Reports>>,
}

impl ReportingGrpc {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            live: None,
            reports: None,
        }
    }

    /// Serves the live figures from `live`; watch streams end (OK) when `closing` is cancelled.
    pub fn with_live(mut self, live: crate::live::Live, closing: CancellationToken) -> Self {
        self.live = Some((live, closing));
        self
    }

    /// Answers the reports RPCs with `reports`.
    pub fn with_reports(mut self, reports: crate::reports::Reports) -> Self {
        self.reports = Some(Arc::new(reports));
        self
    }

    fn live(&self) -> Result<&(crate::live::Live, CancellationToken), Status> {
        self.live
            .as_ref()
            .ok_or_else(|| Status::unimplemented("live figures are not served here"))
    }

    fn reports(&self) -> Result<&crate::reports::Reports, Status> {
        self.reports
            .as_deref()
            .ok_or_else(|| Status::unimplemented("reports are not served here"))
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingGrpc {
    // ---- Live figures ----

    async fn get_live_figures(
        &self,
        request: Request<pb::GetLiveFiguresRequest>,
    ) -> Result<Response<pb::GetLiveFiguresResponse>, Status> {
        let (live, _) = self.live()?;
        live::get_live_figures(live, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn watch_live_figures(
        &self,
        request: Request<pb::WatchLiveFiguresRequest>,
    ) -> Result<Response<live::LiveFiguresStream>, Status> {
        let (live, closing) = self.live()?;
        live::watch_live_figures(live, closing, request.into_inner())
            .await
            .map(Response::new)
    }

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
