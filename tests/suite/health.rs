//! Every service of `--target all` reports SERVING (overall and by name) and lists what it serves
//! through reflection v1 and v1alpha; together they list all five `switchboard.*.v1` services.

use std::collections::BTreeSet;

use switchboard_runtime::Service;
use switchboard_testkit::{Backend, TestEnv};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::{v1, v1alpha};

use crate::on_both_backends;

async fn list_v1(channel: tonic::transport::Channel) -> anyhow::Result<BTreeSet<String>> {
    use v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(futures::stream::iter([req]))
        .await?
        .into_inner();
    let resp = stream
        .message()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no answer"))?;
    match resp.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => anyhow::bail!("unexpected reflection answer {other:?}"),
    }
}

async fn list_v1alpha(channel: tonic::transport::Channel) -> anyhow::Result<BTreeSet<String>> {
    use v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(futures::stream::iter([req]))
        .await?
        .into_inner();
    let resp = stream
        .message()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no answer"))?;
    match resp.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            Ok(list.service.into_iter().map(|s| s.name).collect())
        }
        other => anyhow::bail!("unexpected reflection answer {other:?}"),
    }
}

async fn all_targets_serve_health_and_reflection(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let suite = env.start(&Service::ALL).await?;
    let mut everywhere = BTreeSet::new();
    for svc in Service::ALL {
        let channel = suite.channel(svc).await?;
        let mut health = HealthClient::new(channel.clone());
        for name in ["", svc.grpc_name()] {
            let status = health
                .check(HealthCheckRequest {
                    service: name.to_string(),
                })
                .await?
                .into_inner()
                .status;
            assert_eq!(
                status,
                ServingStatus::Serving as i32,
                "{svc} health for `{name}`"
            );
        }
        let unknown = health
            .check(HealthCheckRequest {
                service: "switchboard.nope.v1.NopeService".into(),
            })
            .await
            .expect_err("unknown service name");
        assert_eq!(unknown.code(), tonic::Code::NotFound);

        let v1 = list_v1(channel.clone()).await?;
        let v1alpha = list_v1alpha(channel).await?;
        assert_eq!(v1, v1alpha, "{svc}: v1 and v1alpha list the same services");
        assert!(v1.contains(svc.grpc_name()), "{svc} lists itself: {v1:?}");
        assert!(v1.contains("grpc.health.v1.Health"), "{svc} lists health");
        everywhere.extend(v1);
    }
    for name in switchboard_proto::SERVICE_NAMES {
        assert!(everywhere.contains(name), "{name} listed by some server");
    }
    // The webhook server answers its probes.
    let webhook = suite.webhook.expect("channel runs a webhook server");
    let body = http_get(webhook, "/readyz").await?;
    assert!(body.starts_with("HTTP/1.1 200"), "readyz: {body}");
    suite.stop().await
}
on_both_backends!(all_targets_serve_health_and_reflection);

async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut out = String::new();
    stream.read_to_string(&mut out).await?;
    Ok(out)
}

/// A target set without the gateway serves only what it was asked for, and its services reach
/// each other at the ports they were bound to.
async fn a_comma_list_starts_only_those_targets(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let suite = env.start(&[Service::Routing, Service::Presence]).await?;
    assert_eq!(
        suite.grpc.keys().copied().collect::<Vec<_>>(),
        vec![Service::Routing, Service::Presence]
    );
    assert!(suite.webhook.is_none());
    let endpoints = &suite.infra().expect("running").endpoints;
    assert_eq!(
        endpoints.url(Service::Presence),
        Some(format!("http://127.0.0.1:{}", suite.grpc[&Service::Presence].port()).as_str())
    );
    suite.stop().await
}
on_both_backends!(a_comma_list_starts_only_those_targets);
