//! The gRPC adapter: converts proto messages to domain calls and domain errors to statuses.

use sea_orm::DatabaseConnection;
use switchboard_proto::reporting::v1::reporting_service_server::ReportingService;

/// `switchboard.reporting.v1.ReportingService`.
pub struct ReportingGrpc {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl ReportingGrpc {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingGrpc {}
