//! The process's Prometheus endpoint (`server.metrics_port`): one scrape shows every service of
//! the process — a routed conversation appears as a routing decision, an assignment, state
//! changes, a presence reservation, the gRPC calls behind them, the outbox relay and the bus
//! consumer — and the endpoint stops with the services.

use std::time::Duration;

use switchboard_proto::routing::v1::{self as pb, ConversationState as S, TeamStrategy};
use switchboard_runtime::{Service, ids::ConversationId, metrics::sum_samples};
use switchboard_testkit::{Backend, Suite, TestEnv};

use crate::{
    on_both_backends,
    routing_support::{World, state, team_target},
};

/// One scrape of the suite's metrics endpoint; checks the Prometheus content type.
async fn scrape(suite: &Suite) -> anyhow::Result<String> {
    let response = reqwest::get(format!("http://{}/metrics", suite.metrics)).await?;
    anyhow::ensure!(
        response.status() == 200,
        "metrics answered {}",
        response.status()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(
        content_type == "text/plain; version=0.0.4",
        "content type {content_type}"
    );
    Ok(response.text().await?)
}

/// How much the samples of `name` matching `labels` grew between two scrapes.
fn grew(before: &str, after: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sum_samples(after, name, labels).unwrap_or(0.0)
        - sum_samples(before, name, labels).unwrap_or(0.0)
}

async fn a_routed_conversation_shows_on_the_process_metrics_endpoint(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let agent = w.agent("Ana", 3).await?;
    let team = w
        .team("Support", TeamStrategy::LeastOpen, &[&agent], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;

    let before = scrape(&w.suite).await?;
    let conv = w.start().await?;
    assert_eq!(state(&conv), S::Assigned);
    assert_eq!(conv.assignee_agent_id, agent);
    // A refused call is counted under its status code.
    let missing = w
        .routing
        .get_conversation(pb::GetConversationRequest {
            organization_id: w.org.clone(),
            conversation_id: ConversationId::generate().to_string(),
            actor_agent_id: String::new(),
        })
        .await
        .expect_err("no such conversation");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let after = scrape(&w.suite).await?;
    let grew = |name: &str, labels: &[(&str, &str)]| grew(&before, &after, name, labels);

    // The routing decision the load generator reads: one assigned decision, timed.
    assert_eq!(
        grew(
            "switchboard_routing_decision_seconds_count",
            &[("outcome", "assigned")]
        ),
        1.0,
        "{after}"
    );
    assert!(
        sum_samples(
            &after,
            "switchboard_routing_decision_seconds_sum",
            &[("outcome", "assigned")]
        )
        .unwrap_or(0.0)
            > 0.0,
        "a decision takes time: {after}"
    );
    assert_eq!(
        grew("switchboard_routing_assignments_total", &[]),
        1.0,
        "{after}"
    );
    // Created already routed: one transition, straight to assigned.
    for (to, n) in [("queued", 0.0), ("assigned", 1.0)] {
        assert_eq!(
            grew("switchboard_routing_transitions_total", &[("to", to)]),
            n,
            "transition to {to}: {after}"
        );
    }
    assert_eq!(
        grew("switchboard_routing_queue_wait_seconds_count", &[]),
        1.0,
        "{after}"
    );
    // Presence reserved the slot, and the endpoint shows it although presence is another
    // service: one endpoint per process.
    assert!(
        grew("switchboard_presence_reserve_seconds_count", &[]) >= 1.0,
        "{after}"
    );
    assert!(
        grew(
            "switchboard_presence_reservations_total",
            &[("outcome", "reserved")]
        ) >= 1.0,
        "{after}"
    );
    // The gRPC calls, by service, method and status code.
    let routing = "switchboard.routing.v1.RoutingService";
    assert_eq!(
        grew(
            "switchboard_grpc_server_handled_total",
            &[
                ("service", routing),
                ("method", "StartConversation"),
                ("code", "OK")
            ]
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        grew(
            "switchboard_grpc_server_handled_total",
            &[("method", "GetConversation"), ("code", "NOT_FOUND")]
        ),
        1.0,
        "{after}"
    );
    assert!(
        grew(
            "switchboard_grpc_server_handled_total",
            &[
                ("service", "switchboard.presence.v1.PresenceService"),
                ("method", "Reserve"),
                ("code", "OK")
            ]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        grew(
            "switchboard_grpc_server_handling_seconds_count",
            &[("service", routing), ("method", "StartConversation")]
        ) >= 1.0,
        "{after}"
    );
    // Probes are not RPCs of ours.
    assert!(!after.contains("grpc.health"), "{after}");

    // Events: routing's and presence's relays publish, routing's consumer handles presence's
    // events (the agent became available). They run in the background: wait for them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = scrape(&w.suite).await?;
        let n = |name: &str, labels: &[(&str, &str)]| sum_samples(&now, name, labels);
        let seen = n(
            "switchboard_outbox_relayed_total",
            &[("service", "routing")],
        )
        .is_some_and(|v| v >= 1.0)
            && n(
                "switchboard_outbox_relay_lag_seconds_count",
                &[("service", "presence")],
            )
            .is_some_and(|v| v >= 1.0)
            && n(
                "switchboard_bus_consumed_total",
                &[("group", "routing.presence"), ("outcome", "ok")],
            )
            .is_some_and(|v| v >= 1.0)
            && n(
                "switchboard_bus_handle_seconds_count",
                &[("group", "routing.presence")],
            )
            .is_some_and(|v| v >= 1.0);
        if seen {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("outbox and bus metrics never showed the events:\n{now}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
on_both_backends!(a_routed_conversation_shows_on_the_process_metrics_endpoint);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_stops_with_the_services() -> anyhow::Result<()> {
    let env = TestEnv::new(Backend::Embedded).await?;
    let suite = env.start(&[Service::Gateway]).await?;
    let addr = suite.metrics;
    // Whatever the targets, the endpoint is there.
    scrape(&suite).await?;
    suite.stop().await?;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "{addr} still accepts connections after shutdown"
    );
    Ok(())
}
