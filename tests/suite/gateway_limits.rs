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
