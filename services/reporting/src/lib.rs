//! The reporting service: live figures (what supervisors and wallboards see now) and reports
//! over time ranges (counts, response and resolution times, a leaderboard, CSV). It owns no
//! conversation: it consumes routing's, channel's and presence's events and keeps its own
//! projections, idempotent by event id, so no answer scans another service's tables. This crate
//! is the library behind `switchboard serve --target reporting`.
//!
//! - [`live`]: live figures, counters kept as events are consumed.
//! - [`reports`]: reporting facts and the reports built from them.

pub mod grpc;
pub mod live;
pub mod migration;
pub mod reports;

use std::sync::Arc;

use switchboard_proto::reporting::v1::reporting_service_server::ReportingServiceServer;
use switchboard_runtime::{
    Infra, Service,
    dead_letters::DeadLetterPolicy,
    host::{self, Listeners},
    ids::EventId,
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Reporting;

/// The consumer groups reporting reads; declared on the bus before any service starts so no
/// event is published before its group exists.
pub const CONSUMER_GROUPS: &[switchboard_runtime::bus::ConsumerGroup] =
    &[live::consumer::LIVE_EVENTS, reports::consumer::FACT_EVENTS];

/// Runs the reporting service on `listeners` until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    host::keep_vacuumed(&infra, &db, SERVICE, migration::HOT_TABLES, &shutdown);
    let dead_letters =
        || DeadLetterPolicy::new(db.clone(), infra.settings.outbox.dead_letter_after_attempts);

    let live = live::Live::new(
        live::LiveStore::new(db.clone()),
        Arc::new(live::RoutingDirectory::new(infra.endpoints.clone())),
        live::LiveMetrics::new(&infra.metrics),
        infra.clock.clone(),
    );
    let live_consumer = tokio::spawn(live.clone().run_consumer(
        infra.bus.clone(),
        infra.metrics.clone(),
        format!("reporting-live-{}", EventId::generate()),
        dead_letters(),
        shutdown.clone(),
    ));
    tokio::spawn(
        live.clone()
            .keep_pruning(std::time::Duration::from_secs(600), shutdown.clone()),
    );

    let reports = reports::Reports::new(
        reports::store::Store::new(db.clone()),
        Arc::new(reports::directory::GrpcDirectory::new(
            infra.endpoints.clone(),
        )),
        Arc::new(reports::calendar::RoutingCalendar::new(
            infra.endpoints.clone(),
        )),
    );
    let report_consumers = tokio::spawn(reports.clone().run_consumers(
        infra.bus.clone(),
        infra.metrics.clone(),
        format!("reporting-{}", EventId::generate()),
        dead_letters(),
        shutdown.clone(),
    ));

    let routes = tonic::service::Routes::new(ReportingServiceServer::new(
        grpc::ReportingGrpc::new(db.clone())
            .with_live(live, shutdown.clone())
            .with_reports(reports),
    ));
    let result = host::serve(
        &infra,
        SERVICE,
        listeners.grpc,
        routes,
        Some(db),
        None,
        shutdown,
    )
    .await;
    let _ = live_consumer.await;
    let _ = report_consumers.await;
    result
}
