//! The channel's HTTP server: Meta's webhooks arrive here; probes for load balancers that do not
//! speak gRPC health.

use axum::{Router, extract::State, http::StatusCode, routing::get};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves HTTP on `listener` until `shutdown`, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    db: DatabaseConnection,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = router(db);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

/// The HTTP routes.
pub fn router(db: DatabaseConnection) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(db)
}

/// 200 when the database answers, 503 otherwise.
async fn ready(State(db): State<DatabaseConnection>) -> (StatusCode, &'static str) {
    if switchboard_runtime::db::ping(&db).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database does not answer")
    }
}
