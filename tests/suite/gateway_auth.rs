//! Gateway authentication and tenancy: who may call, as whom, in which organization.

use std::time::Duration;

use switchboard_proto::{common::v1::Role, gateway::v1 as pb};
use switchboard_testkit::Backend;
use tonic::Code;

use crate::{
    gateway_support::{Credentials, GatewayWorld},
    on_both_backends,
};

/// A signed-in agent is "me": GetMe answers its own agent and organization, whatever it is.
async fn get_me_answers_the_caller(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let me = ana
        .gateway
        .clone()
        .get_me(pb::GetMeRequest {})
        .await?
        .into_inner();
    assert_eq!(
        me.agent.as_ref().map(|a| a.id.as_str()),
        Some(ana.id.as_str())
    );
    assert_eq!(
        me.organization.as_ref().map(|o| o.id.as_str()),
        Some(gw.world.org.as_str())
    );
    let admin = gw
        .admin
        .gateway
        .clone()
        .get_me(pb::GetMeRequest {})
        .await?
        .into_inner();
    assert_eq!(admin.agent.map(|a| a.role()), Some(Role::Admin));
    Ok(())
}
on_both_backends!(get_me_answers_the_caller);

/// No token, a token that is not a JWT, and no organization header are refused before any
/// internal call, each with its own code.
async fn missing_credentials_are_refused(backend: Backend) -> anyhow::Result<()> {
    let gw = GatewayWorld::new(backend).await?;
    let org = gw.world.org.clone();
    let token = gw.token_for(&gw.admin.subject, Duration::from_secs(60));
    for (credentials, code) in [
        (
            Credentials {
                token: None,
                organization: Some(org.clone()),
            },
            Code::Unauthenticated,
        ),
        (
            Credentials {
                token: Some("not-a-jwt".into()),
                organization: Some(org.clone()),
            },
            Code::Unauthenticated,
        ),
        (
            Credentials {
                token: Some(token.clone()),
                organization: None,
            },
            Code::InvalidArgument,
        ),
    ] {
        let status = gw
            .client(credentials.clone())
            .await?
            .get_me(pb::GetMeRequest {})
            .await
            .expect_err("refused");
        assert_eq!(status.code(), code, "{credentials:?}: {status:?}");
    }
    Ok(())
}
on_both_backends!(missing_credentials_are_refused);
