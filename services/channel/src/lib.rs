//! The channel service: WhatsApp numbers, contacts, messages, the webhook endpoint (HTTP) and
//! outbound sends through the Graph API. This crate is the library behind
//! `switchboard serve --target channel`.

pub mod app;
pub mod domain;
pub mod error;
pub mod graph;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod migration;
pub mod store;

use std::time::Duration;

use switchboard_proto::channel::v1::channel_service_server::ChannelServiceServer;
use switchboard_runtime::{
    Infra, Service,
    host::{self, Listeners, OutboxWorker},
};
use tokio_util::sync::CancellationToken;

/// This service.
pub const SERVICE: Service = Service::Channel;

/// The consumer groups channel reads; declared on the bus before any service starts so no
/// event is published before its group exists.
pub const CONSUMER_GROUPS: &[switchboard_runtime::bus::ConsumerGroup] =
    &[app::conversations::CONVERSATION_EVENTS];

/// Runs the channel service (gRPC, the webhook HTTP server, the conversation consumer and the
/// campaign dispatcher) until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let http_listener = listeners
        .http
        .ok_or_else(|| anyhow::anyhow!("the channel service needs an HTTP listener"))?;
    let settings = &infra.settings.channel.whatsapp;
    if settings.app_secret.is_empty() {
        tracing::warn!(
            "channel.whatsapp.app_secret is empty: every webhook POST will be refused with 401"
        );
    }
    let db = host::open_storage::<migration::Migrator>(&infra, SERVICE).await?;
    host::keep_vacuumed(&infra, &db, SERVICE, migration::HOT_TABLES, &shutdown);
    let outbox = OutboxWorker::start(&infra, SERVICE, db.clone());
    let app = app::Channel::new(
        store::Store::new(db.clone(), outbox.waker()),
        graph::GraphClient::new(
            &settings.graph_base_url,
            &settings.api_version,
            graph::RetryPolicy::default(),
        ),
        app::RoutingClient::new(infra.endpoints.clone()),
        infra.clock.clone(),
        app::Secrets::new(&settings.secrets_dir),
        app::WebhookSecrets {
            app_secret: settings.app_secret.clone(),
            verify_token: settings.verify_token.clone(),
        },
        metrics::Metrics::new(&infra.metrics),
    );
    let consumer = tokio::spawn(app.clone().run_conversation_consumer(
        infra.bus.clone(),
        infra.metrics.clone(),
        format!("channel-{}", switchboard_runtime::ids::EventId::generate()),
        infra.settings.channel.conversation_consumers,
        switchboard_runtime::dead_letters::DeadLetterPolicy::new(
            db.clone(),
            infra.settings.outbox.dead_letter_after_attempts,
        ),
        shutdown.clone(),
    ));
    let dispatcher = tokio::spawn(app.clone().run_dispatcher(
        Duration::from_millis(settings.dispatch_interval_ms),
        shutdown.clone(),
    ));
    let http = tokio::spawn(http::serve(
        http_listener,
        app.clone(),
        db.clone(),
        shutdown.clone(),
    ));
    let routes = tonic::service::Routes::new(ChannelServiceServer::new(grpc::ChannelGrpc::new(
        app,
        host::idempotent_calls(&infra, &db, &shutdown),
    )));
    let grpc = host::serve(
        &infra,
        SERVICE,
        listeners.grpc,
        routes,
        Some(db),
        Some(outbox),
        shutdown,
    )
    .await;
    let _ = consumer.await;
    let _ = dispatcher.await;
    let http = http.await.map_err(anyhow::Error::from).and_then(|r| r);
    grpc.and(http)
}
