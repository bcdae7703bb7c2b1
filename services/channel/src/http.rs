//! The channel's HTTP server: Meta's webhooks (`/webhooks/whatsapp`) and probes for load
//! balancers that do not speak gRPC health.

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Query, State},
    http::{HeaderMap, StatusCode},
    routing::get,
};
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    app::{Channel, ingest::Verification},
    domain::webhook::MAX_BODY_BYTES,
    error::ChannelError,
};

/// The webhook's path.
pub const WEBHOOK_PATH: &str = "/webhooks/whatsapp";

#[derive(Clone)]
struct HttpState {
    app: Channel,
    db: DatabaseConnection,
}

/// Serves HTTP on `listener` until `shutdown`, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Channel,
    db: DatabaseConnection,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    axum::serve(listener, router(app, db))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

/// The HTTP routes.
pub fn router(app: Channel, db: DatabaseConnection) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route(WEBHOOK_PATH, get(verify).post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(HttpState { app, db })
}

/// 200 when the database answers, 503 otherwise.
async fn ready(State(state): State<HttpState>) -> (StatusCode, &'static str) {
    if switchboard_runtime::db::ping(&state.db).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database does not answer")
    }
}

/// Prometheus text exposition of the process's registry (the same as on `server.metrics_port`;
/// kept here for scrapers configured before that port existed).
async fn metrics(
    State(state): State<HttpState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            switchboard_runtime::metrics::CONTENT_TYPE,
        )],
        state.app.metrics().render(),
    )
}

#[derive(Debug, Deserialize)]
struct VerifyQuery {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's subscription handshake: the challenge back when the token matches, 403 otherwise.
async fn verify(
    State(state): State<HttpState>,
    Query(query): Query<VerifyQuery>,
) -> (StatusCode, String) {
    let query = Verification {
        mode: query.mode,
        verify_token: query.verify_token,
        challenge: query.challenge,
    };
    match state.app.verify_subscription(&query) {
        Some(challenge) => (StatusCode::OK, challenge),
        None => (StatusCode::FORBIDDEN, "verification failed".into()),
    }
}

/// A notification: 200 once stored; 401 bad signature; 400 not a notification; 503 when it
/// could not be stored (Meta delivers it again).
#[tracing::instrument(name = "channel.webhook", skip_all, fields(bytes = body.len()))]
async fn receive(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let started = std::time::Instant::now();
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let (status, text) = answer(state.app.receive_webhook(&body, signature).await);
    let metrics = state.app.metrics();
    let label = status.as_str();
    metrics.webhook_requests.with_label_values(&[label]).inc();
    metrics
        .webhook_seconds
        .with_label_values(&[label])
        .observe(started.elapsed().as_secs_f64());
    (status, text)
}

/// The HTTP answer of a webhook outcome.
fn answer<T>(result: Result<T, ChannelError>) -> (StatusCode, String) {
    match result {
        Ok(_) => (StatusCode::OK, "EVENT_RECEIVED".into()),
        Err(err) => {
            let status = status_of(&err);
            if status.is_server_error() {
                tracing::warn!(error = %err, "webhook not stored; Meta will deliver it again");
            } else {
                tracing::info!(error = %err, %status, "webhook refused");
            }
            let message = match &err {
                ChannelError::InvalidArgument(v) => v
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.description))
                    .collect::<Vec<_>>()
                    .join("; "),
                e if status.is_server_error() => format!("not stored, retry later: {e}"),
                e => e.to_string(),
            };
            (status, message)
        }
    }
}

/// The webhook's HTTP answer for an error.
fn status_of(err: &ChannelError) -> StatusCode {
    match err {
        ChannelError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ChannelError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        // Anything that kept the body from being stored: Meta retries on non-200.
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}
