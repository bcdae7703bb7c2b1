//! Nothing acknowledged is lost: an event committed with its change is delivered even when the
//! process died before relaying it, and a redelivered event is recognised by its id.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use switchboard_proto::{events::TypedEvent, routing::v1::OrganizationCreated};
use switchboard_routing::{
    domain::organization::NewOrganization, migration::Migrator, store::Store,
};
use switchboard_runtime::{
    Service,
    bus::{BusError, ConsumerGroup, EventBus, Subscription},
    db,
    outbox::{Event, Relay, RelayWaker, dedup},
};
use switchboard_testkit::{Backend, TestEnv};

use crate::on_both_backends;

const GROUP: ConsumerGroup = ConsumerGroup {
    name: "test.organizations",
    topics: &[OrganizationCreated::TOPIC],
};

async fn routing_db(env: &TestEnv) -> anyhow::Result<DatabaseConnection> {
    let conn = db::connect(&env.settings.database, Service::Routing).await?;
    db::migrate::<Migrator>(&conn).await?;
    Ok(conn)
}

async fn pending_outbox_rows(conn: &DatabaseConnection) -> anyhow::Result<i64> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM outbox_events",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    Ok(row.try_get("", "n")?)
}

async fn next_event(sub: &mut Box<dyn Subscription>) -> anyhow::Result<Event> {
    let delivery = sub
        .next(Duration::from_secs(10))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no event delivered within 10 s"))?;
    let event = delivery.event.clone();
    sub.ack(delivery).await?;
    Ok(event)
}

/// The process commits an organization and its event, then dies before its relay runs (no relay
/// at all here). After a restart the event reaches the consumer group.
async fn event_committed_before_a_crash_is_delivered_after_restart(
    backend: Backend,
) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let conn = routing_db(&env).await?;
    let store = Store::new(conn.clone(), RelayWaker::default());
    let org = store
        .create_organization("crash-1", NewOrganization::parse("Acme", 2).expect("valid"))
        .await?;
    assert_eq!(
        pending_outbox_rows(&conn).await?,
        1,
        "event committed, not relayed"
    );
    conn.close().await?;

    // Restart: the routing target's relay finds the committed event.
    let suite = env.start_with_groups(&[Service::Routing], &[GROUP]).await?;
    let bus = suite.infra().expect("running").bus.clone();
    let mut sub = bus
        .subscribe(GROUP.name, "consumer-1", GROUP.topics)
        .await?;
    let event = next_event(&mut sub).await?;
    assert_eq!(event.topic, OrganizationCreated::TOPIC);
    assert_eq!(event.aggregate_id, org.id.to_string());
    assert_eq!(event.organization_id, org.id.to_string());
    assert_eq!(event.decode::<OrganizationCreated>()?.name, "Acme");

    // Relayed means removed from the outbox (the relay deletes after the bus accepted it).
    let conn = routing_db(&env).await?;
    let mut left = pending_outbox_rows(&conn).await?;
    for _ in 0..50 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = pending_outbox_rows(&conn).await?;
    }
    assert_eq!(left, 0, "outbox drained");
    conn.close().await?;
    drop(sub);
    suite.stop().await
}
on_both_backends!(event_committed_before_a_crash_is_delivered_after_restart);

/// A bus that accepts the event and then fails, as a relay that dies between publishing and
/// deleting the row.
struct FailsAfterPublish(Arc<dyn EventBus>);

#[async_trait]
impl EventBus for FailsAfterPublish {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        self.0.publish(event).await?;
        Err(BusError::Closed)
    }
    async fn declare_group(&self, group: &str, topics: &[&str]) -> Result<(), BusError> {
        self.0.declare_group(group, topics).await
    }
    async fn tail(
        &self,
        topics: &[&str],
    ) -> Result<Box<dyn switchboard_runtime::bus::Tail>, BusError> {
        self.0.tail(topics).await
    }
    async fn subscribe(
        &self,
        group: &str,
        consumer: &str,
        topics: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError> {
        self.0.subscribe(group, consumer, topics).await
    }
}

/// The relay publishes, "dies" before deleting the row, and a restarted relay publishes the
/// same event again: the consumer gets it twice with one id and applies its effect once.
async fn a_redelivered_event_is_applied_once(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let conn = routing_db(&env).await?;
    let (bus, _redis) = switchboard::connect_bus(&env.settings).await?;
    bus.declare_group(GROUP.name, GROUP.topics).await?;
    let store = Store::new(conn.clone(), RelayWaker::default());
    store
        .create_organization("dup-1", NewOrganization::parse("Acme", 2).expect("valid"))
        .await?;

    // The consumer: applies each event's effect (a counter row) in the same transaction as the
    // dedup record, acking after commit.
    conn.execute_unprepared("CREATE TABLE effects (event_id VARCHAR(64) NOT NULL)")
        .await?;
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let consumer = {
        let bus = bus.clone();
        let conn = conn.clone();
        let deliveries = deliveries.clone();
        tokio::spawn(async move {
            let mut sub = bus
                .subscribe(GROUP.name, "consumer-1", GROUP.topics)
                .await?;
            for _ in 0..2 {
                let delivery = sub
                    .next(Duration::from_secs(15))
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("expected two deliveries"))?;
                let txn = conn.begin().await?;
                let first = dedup::first_delivery(&txn, GROUP.name, &delivery.event.id).await?;
                if first {
                    txn.execute_raw(Statement::from_sql_and_values(
                        txn.get_database_backend(),
                        match txn.get_database_backend() {
                            sea_orm::DbBackend::Postgres => {
                                "INSERT INTO effects (event_id) VALUES ($1)"
                            }
                            _ => "INSERT INTO effects (event_id) VALUES (?)",
                        },
                        [delivery.event.id.as_str().into()],
                    ))
                    .await?;
                }
                txn.commit().await?;
                deliveries
                    .lock()
                    .expect("lock")
                    .push((delivery.event.id.clone(), first));
                sub.ack(delivery).await?;
            }
            anyhow::Ok(())
        })
    };

    let crashing = Relay::new(
        conn.clone(),
        Arc::new(FailsAfterPublish(bus.clone())),
        10,
        Duration::from_millis(50),
    );
    assert!(
        crashing.relay_once().await.is_err(),
        "relay died after publishing"
    );
    assert_eq!(
        pending_outbox_rows(&conn).await?,
        1,
        "row kept: not known to be relayed"
    );

    let restarted = Relay::new(conn.clone(), bus.clone(), 10, Duration::from_millis(50));
    assert_eq!(restarted.relay_once().await?, 1);
    assert_eq!(pending_outbox_rows(&conn).await?, 0);

    tokio::time::timeout(Duration::from_secs(20), consumer).await???;
    let seen = deliveries.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "delivered twice");
    assert_eq!(seen[0].0, seen[1].0, "same event id both times");
    assert_eq!(
        seen.iter().map(|(_, first)| *first).collect::<Vec<_>>(),
        [true, false]
    );
    let effects = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM effects",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?
        .try_get::<i64>("", "n")?;
    assert_eq!(effects, 1, "effect applied exactly once");
    conn.close().await?;
    Ok(())
}
on_both_backends!(a_redelivered_event_is_applied_once);

/// A caller's W3C trace context crosses the gRPC hop and is stored with the event, so the
/// consumer continues the same trace.
async fn the_callers_trace_continues_into_the_event(backend: Backend) -> anyhow::Result<()> {
    use switchboard_proto::routing::v1::{
        CreateOrganizationRequest, routing_service_client::RoutingServiceClient,
    };
    let env = TestEnv::new(backend).await?;
    let suite = env.start_with_groups(&[Service::Routing], &[GROUP]).await?;
    let bus = suite.infra().expect("running").bus.clone();
    let mut sub = bus
        .subscribe(GROUP.name, "consumer-1", GROUP.topics)
        .await?;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(CreateOrganizationRequest {
        request_id: "traced-1".into(),
        name: "Traced".into(),
        ..Default::default()
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01").parse()?,
    );
    RoutingServiceClient::new(suite.channel(Service::Routing).await?)
        .create_organization(request)
        .await?;

    let event = next_event(&mut sub).await?;
    let traceparent = event.traceparent.expect("event carries a traceparent");
    assert_eq!(
        traceparent.split('-').nth(1),
        Some(trace_id),
        "same trace: {traceparent}"
    );
    assert_ne!(
        traceparent.split('-').nth(2),
        Some("00f067aa0ba902b7"),
        "the server's own span is the parent, not the caller's"
    );
    drop(sub);
    suite.stop().await
}
on_both_backends!(the_callers_trace_continues_into_the_event);

/// A service calling another through `Endpoints` (the interceptor every inter-service client
/// uses) carries its current span's trace: the callee's event belongs to the caller's trace.
async fn a_service_client_carries_the_current_trace(backend: Backend) -> anyhow::Result<()> {
    use opentelemetry::trace::TraceContextExt;
    use switchboard_proto::routing::v1::{
        CreateOrganizationRequest, routing_service_client::RoutingServiceClient,
    };
    use tracing::Instrument;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let env = TestEnv::new(backend).await?;
    let suite = env.start_with_groups(&[Service::Routing], &[GROUP]).await?;
    let infra = suite.infra().expect("running");
    let mut sub = infra
        .bus
        .subscribe(GROUP.name, "consumer-1", GROUP.topics)
        .await?;
    let channel = infra.endpoints.channel(Service::Routing)?;

    let span = tracing::info_span!("caller");
    let trace_id = span.context().span().span_context().trace_id();
    assert_ne!(
        trace_id,
        opentelemetry::trace::TraceId::INVALID,
        "caller span is traced"
    );
    async move {
        RoutingServiceClient::new(channel)
            .create_organization(CreateOrganizationRequest {
                request_id: "inter-service-1".into(),
                name: "Traced".into(),
                ..Default::default()
            })
            .await
    }
    .instrument(span)
    .await?;

    let event = next_event(&mut sub).await?;
    let traceparent = event.traceparent.expect("event carries a traceparent");
    assert_eq!(
        traceparent.split('-').nth(1),
        Some(trace_id.to_string().as_str()),
        "{traceparent}"
    );
    drop(sub);
    suite.stop().await
}
on_both_backends!(a_service_client_carries_the_current_trace);

/// On PostgreSQL, routing's queue tables carry the storage parameters that keep dead rows from
/// piling up (fillfactor for HOT updates, aggressive autovacuum); SQLite ignores them, and its
/// migrations still apply.
async fn hot_tables_are_tuned_for_churn(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let conn = routing_db(&env).await?;
    if backend == Backend::Embedded {
        // Migrated without error (the tuning is PostgreSQL-only) and usable.
        anyhow::ensure!(pending_outbox_rows(&conn).await? == 0);
        return Ok(());
    }
    let options = |table: &'static str| {
        let conn = conn.clone();
        async move {
            let row = conn
                .query_one_raw(Statement::from_string(
                    conn.get_database_backend(),
                    format!(
                        "SELECT array_to_string(reloptions, ',') AS o FROM pg_class \
                         WHERE oid = to_regclass('{table}')"
                    ),
                ))
                .await?
                .ok_or_else(|| anyhow::anyhow!("no {table}"))?;
            anyhow::Ok(row.try_get::<Option<String>>("", "o")?.unwrap_or_default())
        }
    };
    let conversations = options("conversations").await?;
    anyhow::ensure!(
        conversations.contains("fillfactor=70")
            && conversations.contains("autovacuum_vacuum_scale_factor=0.02"),
        "conversations: {conversations}"
    );
    let outbox = options("outbox_events").await?;
    anyhow::ensure!(
        outbox.contains("autovacuum_vacuum_cost_delay=0"),
        "outbox_events: {outbox}"
    );
    Ok(())
}
on_both_backends!(hot_tables_are_tuned_for_churn);

/// A hot table whose dead rows passed the threshold gets vacuumed by the service itself (the
/// suite's PostgreSQL runs with autovacuum off, as this machine's does), and the upkeep stops
/// with the shutdown token; on SQLite it has nothing to do and returns at once.
async fn dead_rows_in_hot_tables_are_vacuumed(backend: Backend) -> anyhow::Result<()> {
    use switchboard_runtime::metrics::{Metrics, sum_samples};
    let env = TestEnv::new(backend).await?;
    let conn = routing_db(&env).await?;
    let metrics = Metrics::new();
    let token = tokio_util::sync::CancellationToken::new();
    let upkeep = tokio::spawn(db::keep_vacuumed(
        conn.clone(),
        &["outbox_events"],
        Duration::from_millis(200),
        metrics.clone(),
        Service::Routing,
        token.clone(),
    ));
    if backend == Backend::Embedded {
        tokio::time::timeout(Duration::from_secs(2), upkeep).await??;
        return Ok(());
    }
    let exec = |sql: &'static str| {
        let conn = conn.clone();
        async move { conn.execute_unprepared(sql).await }
    };
    // 3,000 dead rows: over 1,000 + 5% of the live ones (none left).
    exec(
        "INSERT INTO outbox_events (event_id, organization_id, topic, aggregate_id, payload, occurred_at) \
         SELECT 'evt_dead_' || g, 'org', 'test.topic', 'a', '{}', now() FROM generate_series(1, 3000) g",
    )
    .await?;
    exec("DELETE FROM outbox_events").await?;
    let vacuums = || {
        sum_samples(
            &metrics.render(),
            "switchboard_db_vacuums_total",
            &[("service", "routing"), ("table", "outbox_events")],
        )
        .unwrap_or(0.0)
    };
    // PostgreSQL publishes a backend's table statistics within seconds of its transaction.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while vacuums() < 1.0 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "3,000 dead rows in outbox_events were never vacuumed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    token.cancel();
    tokio::time::timeout(Duration::from_secs(5), upkeep).await??;
    Ok(())
}
on_both_backends!(dead_rows_in_hot_tables_are_vacuumed);
