//! The limits an internet-facing API needs, through the gateway: a token's call rate, the size
//! of a request, the size of a page. Each refusal is RESOURCE_EXHAUSTED (with RetryInfo for the
//! rate) and changes nothing.

use std::time::Duration;

use switchboard_proto::{
    common::v1::{PageRequest, Role},
    gateway::v1 as pb,
};
use switchboard_testkit::Backend;
use tonic::Code;
use tonic_types::StatusExt;

use crate::{gateway_support::GatewayWorld, on_both_backends, routing_support::rid};

async fn a_token_over_its_rate_or_size_is_resource_exhausted(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::with_settings(backend, |s| {
        s.gateway.limits.requests_per_second = 1;
        s.gateway.limits.burst = 3;
        s.gateway.limits.max_request_bytes = 4096;
        s.gateway.limits.max_page_size = 2;
    })
    .await?;
    let ana = gw.member("Ana", Role::Admin, 2).await?;
    let mut a = ana.gateway.clone();
    // The burst, then a refusal saying when to come back.
    let mut refused = None;
    for _ in 0..5 {
        if let Err(status) = a.get_me(pb::GetMeRequest {}).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("the fourth call within a second is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let retry = refused.get_details_retry_info().expect("RetryInfo");
    let delay = retry.retry_delay.expect("a delay");
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(1),
        "{delay:?}"
    );
    // Another token (the admin's) has its own bucket.
    gw.admin.gateway.clone().get_me(pb::GetMeRequest {}).await?;

    // After the delay the token is served again; a request over 4 KiB is refused undecoded.
    tokio::time::sleep(delay + Duration::from_millis(50)).await;
    let big = gw
        .admin
        .gateway
        .clone()
        .create_contact(pb::CreateContactRequest {
            request_id: rid(),
            phone_number: "+5491100000099".into(),
            display_name: "x".repeat(8192),
            ..Default::default()
        })
        .await
        .expect_err("too large");
    assert_eq!(big.code(), Code::ResourceExhausted, "{big:?}");
    let contacts = gw
        .admin
        .gateway
        .clone()
        .list_contacts(pb::ListContactsRequest::default())
        .await?
        .into_inner();
    assert!(contacts.contacts.is_empty(), "nothing was created");

    // A page larger than the limit is coerced to it, not refused.
    for name in ["A", "B", "C"] {
        gw.member(name, Role::Agent, 1).await?;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let page = gw
        .admin
        .gateway
        .clone()
        .list_agents(pb::ListAgentsRequest {
            page: Some(PageRequest {
                page_size: 100,
                page_token: String::new(),
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(page.agents.len(), 2, "coerced to max_page_size");
    assert!(page.page.is_some_and(|p| !p.next_page_token.is_empty()));
    Ok(())
}
on_both_backends!(a_token_over_its_rate_or_size_is_resource_exhausted);

/// Connections: one that never starts a call is closed after the first-request timeout; one
/// whose call ended is closed after the idle timeout; one carrying a live stream stays open.
async fn silent_and_idle_connections_are_closed_but_streams_stay(
    backend: Backend,
) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut gw = GatewayWorld::with_settings(backend, |s| {
        s.gateway.limits.idle_timeout_secs = 1;
        s.gateway.limits.first_request_timeout_secs = 1;
    })
    .await?;
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let addr = gw.world.suite.grpc[&switchboard_runtime::Service::Gateway];
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()));
    // Read until the server closes; an error when it is still open after `within`.
    async fn closed_within(
        sock: &mut tokio::net::TcpStream,
        within: Duration,
    ) -> anyhow::Result<()> {
        let mut buf = vec![0u8; 4096];
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
                Err(_) => anyhow::bail!("the connection is still open after {within:?}"),
                Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
                Ok(Ok(_)) => continue,
            }
        }
    }

    // Connects and says nothing.
    let started = tokio::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(addr).await?;
    closed_within(&mut silent, Duration::from_secs(5)).await?;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );

    // One gRPC-Web call over HTTP/1.1 keep-alive, then silence.
    let token = gw.token_for(&ana.subject, Duration::from_secs(60));
    let mut idle = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST /switchboard.gateway.v1.GatewayService/GetMe HTTP/1.1\r\nHost: gateway\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         Authorization: Bearer {token}\r\nX-Switchboard-Organization: {}\r\n\
         Content-Length: 5\r\n\r\n",
        gw.world.org
    );
    idle.write_all(request.as_bytes()).await?;
    idle.write_all(&[0, 0, 0, 0, 0]).await?;
    let mut head = vec![0u8; 64];
    let n = idle.read(&mut head).await?;
    assert!(
        String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..n])
    );
    closed_within(&mut idle, Duration::from_secs(5)).await?;

    // A live stream outlives the idle timeout (keepalive events every second here).
    let mut stream = ana
        .gateway
        .clone()
        .stream_inbox_events(pb::StreamInboxEventsRequest::default())
        .await?
        .into_inner();
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut events = 0;
    while tokio::time::Instant::now() < until {
        let got = tokio::time::timeout(Duration::from_secs(3), stream.message()).await??;
        assert!(got.is_some(), "the stream ended");
        events += 1;
    }
    assert!(events >= 2, "keepalives kept coming: {events}");
    Ok(())
}
on_both_backends!(silent_and_idle_connections_are_closed_but_streams_stay);
