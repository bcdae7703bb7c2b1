//! What the gateway passes to the internal services, observed by a stand-in routing service:
//! the caller as actor and its organization (never what a client claims), the client's request
//! id, its deadline and its trace context; and what comes back (code, reason, metadata) reaches
//! the client unchanged.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use switchboard_proto::{
    common::v1::Role,
    gateway::v1 as pb,
    routing::v1::{
        self as rpb,
        routing_service_server::{RoutingService, RoutingServiceServer},
    },
};
use switchboard_runtime::{
    Service,
    errors::{Reason, reasoned_with},
    ids::{AgentId, OrganizationId},
};
use switchboard_testkit::{Backend, TestEnv};
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

use crate::gateway_support::{Credentials, Gateway};

/// One call routing received.
#[derive(Debug, Clone)]
struct Seen {
    method: &'static str,
    organization_id: String,
    actor_agent_id: String,
    request_id: String,
    grpc_timeout: Option<String>,
    traceparent: Option<String>,
}

#[derive(Clone, Default)]
struct FakeRouting {
    agent_id: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeRouting {
    fn record<T>(&self, method: &'static str, req: &Request<T>, org: &str, actor: &str, rid: &str) {
        let header = |name: &str| {
            req.metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        self.seen.lock().expect("seen").push(Seen {
            method,
            organization_id: org.into(),
            actor_agent_id: actor.into(),
            request_id: rid.into(),
            grpc_timeout: header("grpc-timeout"),
            traceparent: header("traceparent"),
        });
    }
}

#[tonic::async_trait]
impl RoutingService for FakeRouting {
    async fn lookup_agent(
        &self,
        request: Request<rpb::LookupAgentRequest>,
    ) -> Result<Response<rpb::LookupAgentResponse>, Status> {
        let r = request.get_ref();
        Ok(Response::new(rpb::LookupAgentResponse {
            agent: Some(rpb::Agent {
                id: self.agent_id.clone(),
                organization_id: r.organization_id.clone(),
                auth_subject: r.auth_subject.clone(),
                role: Role::Agent as i32,
                display_name: "Ana".into(),
                ..Default::default()
            }),
        }))
    }

    async fn get_inbox_counts(
        &self,
        request: Request<rpb::GetInboxCountsRequest>,
    ) -> Result<Response<rpb::GetInboxCountsResponse>, Status> {
        let r = request.get_ref().clone();
        self.record(
            "GetInboxCounts",
            &request,
            &r.organization_id,
            &r.actor_agent_id,
            "",
        );
        Ok(Response::new(rpb::GetInboxCountsResponse {
            counts: Some(rpb::InboxCounts {
                waiting: 7,
                ..Default::default()
            }),
        }))
    }

    async fn pick_conversation(
        &self,
        request: Request<rpb::PickConversationRequest>,
    ) -> Result<Response<rpb::PickConversationResponse>, Status> {
        let r = request.get_ref().clone();
        self.record(
            "PickConversation",
            &request,
            &r.organization_id,
            &r.actor_agent_id,
            &r.request_id,
        );
        Err(reasoned_with(
            Reason::AgentAtCapacity,
            "agent is at capacity (3 of 3)",
            HashMap::from([("capacity".to_string(), "3".to_string())]),
        ))
    }
}

/// A gateway alone, its routing endpoint the stand-in.
async fn forwarding_carries_caller_request_id_deadline_and_trace(
    backend: Backend,
) -> anyhow::Result<()> {
    let fake = FakeRouting {
        agent_id: AgentId::generate().to_string(),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(RoutingServiceServer::new(fake.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut env = TestEnv::new(backend).await?;
    env.settings.endpoints.routing = format!("http://{addr}");
    let suite = env.start(&[Service::Gateway]).await?;
    let org = OrganizationId::generate().to_string();
    let token = switchboard_gateway::dev_token(
        &env.settings.gateway.auth,
        "idp|ana",
        Duration::from_secs(60),
    )?;
    let mut gateway: Gateway = switchboard_proto::gateway::v1::gateway_service_client::GatewayServiceClient::with_interceptor(
        suite.channel(Service::Gateway).await?,
        Credentials {
            token: Some(token),
            organization: Some(org.clone()),
        },
    );

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = Request::new(pb::GetInboxCountsRequest {});
    request.set_timeout(Duration::from_secs(5));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01").parse()?,
    );
    let counts = gateway.get_inbox_counts(request).await?.into_inner();
    assert_eq!(counts.counts.map(|c| c.waiting), Some(7));

    let mut request = Request::new(pb::PickConversationRequest {
        request_id: "client-key-1".into(),
        conversation_id: "conv_01a22b02c0937326be7b0ee483a56cd8".into(),
    });
    request.set_timeout(Duration::from_millis(1500));
    let refused = gateway
        .pick_conversation(request)
        .await
        .expect_err("routing refused");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let info = refused.get_details_error_info().expect("error info");
    assert_eq!(info.reason, "ERROR_REASON_AGENT_AT_CAPACITY");
    assert_eq!(info.metadata.get("capacity").map(String::as_str), Some("3"));
    assert_eq!(refused.message(), "agent is at capacity (3 of 3)");

    let seen = fake.seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for call in &seen {
        assert_eq!(call.organization_id, org, "{call:?}");
        assert_eq!(
            call.actor_agent_id, fake.agent_id,
            "the caller is the actor: {call:?}"
        );
        let timeout = call.grpc_timeout.as_deref().expect("deadline passed on");
        let micros = parse_grpc_timeout(timeout).expect("a grpc-timeout");
        let limit = if call.method == "GetInboxCounts" {
            5.0
        } else {
            1.5
        };
        assert!(micros > 0.0 && micros <= limit, "{call:?}");
    }
    assert!(
        seen[0]
            .traceparent
            .as_deref()
            .is_some_and(|tp| tp.contains(trace_id)),
        "the client's trace continues into routing: {:?}",
        seen[0]
    );
    assert_eq!(seen[1].request_id, "client-key-1");
    suite.stop().await?;
    server.abort();
    Ok(())
}
crate::on_both_backends!(forwarding_carries_caller_request_id_deadline_and_trace);

/// `grpc-timeout` in seconds.
fn parse_grpc_timeout(raw: &str) -> Option<f64> {
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: f64 = digits.parse().ok()?;
    Some(match unit {
        "H" => n * 3600.0,
        "M" => n * 60.0,
        "S" => n,
        "m" => n / 1e3,
        "u" => n / 1e6,
        "n" => n / 1e9,
        _ => return None,
    })
}
