//! The first real RPCs: organizations. Creation is idempotent by request id, bad input is
//! refused with field violations and changes nothing, unknown ids are NOT_FOUND.

use sea_orm::{ConnectionTrait, Statement};
use switchboard_proto::routing::v1::{
    CreateOrganizationRequest, GetOrganizationRequest, routing_service_client::RoutingServiceClient,
};
use switchboard_runtime::{Service, db};
use switchboard_testkit::{Backend, TestEnv};
use tonic_types::StatusExt;

use crate::on_both_backends;

async fn count_organizations(env: &TestEnv) -> anyhow::Result<i64> {
    let conn = db::connect(&env.settings.database, Service::Routing).await?;
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM organizations",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    let n: i64 = row.try_get("", "n")?;
    conn.close().await?;
    Ok(n)
}

async fn organizations_are_created_once_and_validated(backend: Backend) -> anyhow::Result<()> {
    let env = TestEnv::new(backend).await?;
    let suite = env.start(&[Service::Routing]).await?;
    let mut client = RoutingServiceClient::new(suite.channel(Service::Routing).await?);

    let create = |request_id: &str, name: &str, capacity: i32| CreateOrganizationRequest {
        request_id: request_id.into(),
        name: name.into(),
        default_agent_capacity: capacity,
        ..Default::default()
    };
    let first = client
        .create_organization(create("req-1", "Acme", 0))
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert!(first.id.starts_with("org_"), "{}", first.id);
    assert_eq!(first.default_agent_capacity, 3, "0 means the default");

    // A retried create (same request id) returns the same organization, creates nothing new.
    let again = client
        .create_organization(create("req-1", "Acme", 0))
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(again.id, first.id);
    assert_eq!(count_organizations(&env).await?, 1);

    // Bad input: every bad field named, nothing stored. A missing key is refused first, by
    // the idempotency layer every mutating RPC goes through.
    let fields_of = |err: tonic::Status| -> Vec<String> {
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        let bad = err.get_details_bad_request().expect("field violations");
        bad.field_violations.into_iter().map(|v| v.field).collect()
    };
    let err = client
        .create_organization(create("", "Acme", 5))
        .await
        .expect_err("no key");
    assert_eq!(fields_of(err), ["request_id"]);
    let err = client
        .create_organization(create("bad-1", " ", 500))
        .await
        .expect_err("invalid");
    assert_eq!(fields_of(err), ["name", "default_agent_capacity"]);
    assert_eq!(count_organizations(&env).await?, 1);

    let got = client
        .get_organization(GetOrganizationRequest {
            organization_id: first.id.clone(),
        })
        .await?
        .into_inner()
        .organization
        .expect("organization");
    assert_eq!(got.name, "Acme");

    let missing = client
        .get_organization(GetOrganizationRequest {
            organization_id: "org_0000".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(missing.code(), tonic::Code::NotFound);

    let malformed = client
        .get_organization(GetOrganizationRequest {
            organization_id: "agt_123".into(),
        })
        .await
        .expect_err("wrong prefix");
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);
    let bad = malformed
        .get_details_bad_request()
        .expect("field violations");
    assert_eq!(bad.field_violations[0].field, "organization_id");

    suite.stop().await
}
on_both_backends!(organizations_are_created_once_and_validated);
