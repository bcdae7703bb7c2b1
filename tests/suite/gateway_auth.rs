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
    // My heartbeat keeps me online with the status my console shows; GetMe reflects it.
    let beat = ana
        .gateway
        .clone()
        .heartbeat(pb::HeartbeatRequest {
            request_id: String::new(),
            status: switchboard_proto::common::v1::AgentStatus::Available as i32,
            status_reason: String::new(),
        })
        .await?
        .into_inner();
    assert!(beat.heartbeat_interval.is_some_and(|d| d.seconds > 0));
    assert_eq!(
        beat.presence.as_ref().map(|p| p.agent_id.as_str()),
        Some(ana.id.as_str())
    );
    let me = ana
        .gateway
        .clone()
        .get_me(pb::GetMeRequest {})
        .await?
        .into_inner();
    assert_eq!(
        me.presence.map(|p| p.status()),
        Some(switchboard_proto::common::v1::AgentStatus::Available)
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
    // Each refusal is counted by reason for an SRE's dashboard.
    let scrape = gw.world.suite.infra().expect("running").metrics.render();
    for reason in ["token_missing", "token_malformed", "organization_header"] {
        assert_eq!(
            switchboard_runtime::metrics::sum_samples(
                &scrape,
                "switchboard_gateway_refusals_total",
                &[("reason", reason)]
            ),
            Some(1.0),
            "{reason}"
        );
    }
    Ok(())
}
on_both_backends!(missing_credentials_are_refused);

// ---------------------------------------------------------------------------------------------
// Production tokens: an identity provider's JWKS served by a test HTTP server.

mod jwks {
    use std::{
        sync::{
            Arc, Mutex,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use axum::{Json, Router, extract::State, routing::get};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};
    use switchboard_proto::{common::v1::Role, gateway::v1 as pb, routing::v1 as rpb};
    use switchboard_testkit::Backend;
    use tonic::Code;

    use crate::{
        gateway_support::{Credentials, GatewayWorld},
        on_both_backends,
        routing_support::rid,
    };

    const ISSUER: &str = "https://id.acme.test";
    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/jwt");

    /// The identity provider: serves the public keys of `kids`, counting fetches.
    #[derive(Clone)]
    struct Idp {
        kids: Arc<Mutex<Vec<&'static str>>>,
        fetches: Arc<AtomicUsize>,
        base: String,
    }

    async fn jwks(State(idp): State<Idp>) -> Json<Value> {
        idp.fetches.fetch_add(1, Ordering::SeqCst);
        let all: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{FIXTURES}/public-jwks.json")).expect("fixture"),
        )
        .expect("json");
        let keys: Vec<Value> = idp
            .kids
            .lock()
            .expect("kids")
            .iter()
            .map(|k| all[*k].clone())
            .collect();
        Json(json!({ "keys": keys }))
    }

    async fn discovery(State(idp): State<Idp>) -> Json<Value> {
        Json(json!({ "issuer": idp.base, "jwks_uri": format!("{}/jwks.json", idp.base) }))
    }

    impl Idp {
        async fn start(kids: &[&'static str]) -> anyhow::Result<Self> {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let idp = Idp {
                kids: Arc::new(Mutex::new(kids.to_vec())),
                fetches: Arc::default(),
                base: format!("http://{}", listener.local_addr()?),
            };
            let app = Router::new()
                .route("/jwks.json", get(jwks))
                .route("/.well-known/openid-configuration", get(discovery))
                .with_state(idp.clone());
            tokio::spawn(async move { axum::serve(listener, app).await });
            Ok(idp)
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// A token for `sub` signed by fixture key `kid` with `alg`, claims adjusted by `tune`.
    fn sign(kid: &str, alg: Algorithm, sub: &str, tune: impl FnOnce(&mut Value)) -> String {
        let pem = std::fs::read(format!("{FIXTURES}/{}.pem", kid.replace("-9", "-1")))
            .expect("fixture key");
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
            other => panic!("no fixture for {other:?}"),
        }
        .expect("key");
        let mut claims = json!({
            "sub": sub, "iss": ISSUER, "aud": "switchboard",
            "iat": now(), "nbf": now() - 1, "exp": now() + 600,
        });
        tune(&mut claims);
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, &claims, &key).expect("signed")
    }

    fn b64(v: &Value) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// A token with `alg: none` and no signature.
    fn unsigned(sub: &str) -> String {
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&json!({"sub": sub, "iss": ISSUER, "aud": "switchboard", "exp": now() + 600}))
        )
    }

    /// An HS256 token keyed with the RSA key's public JWK (the algorithm-confusion attack).
    fn hmac_with_public_key(sub: &str) -> String {
        let public =
            std::fs::read_to_string(format!("{FIXTURES}/public-jwks.json")).expect("fixture");
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-1".into());
        jsonwebtoken::encode(
            &header,
            &json!({"sub": sub, "iss": ISSUER, "aud": "switchboard", "exp": now() + 600}),
            &EncodingKey::from_secret(public.as_bytes()).expect("key"),
        )
        .expect("signed")
    }

    /// `token` with one character of its claims changed.
    fn tampered(token: &str) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let claims = &mut parts[1];
        let last = claims.pop().expect("claims");
        claims.push(if last == 'A' { 'B' } else { 'A' });
        parts.join(".")
    }

    async fn agent(
        gw: &mut GatewayWorld,
        org: &str,
        subject: &str,
        role: Role,
    ) -> anyhow::Result<String> {
        Ok(gw
            .world
            .routing
            .create_agent(rpb::CreateAgentRequest {
                request_id: rid(),
                organization_id: org.into(),
                agent: Some(rpb::Agent {
                    display_name: subject.into(),
                    email: format!("{}@acme.test", rid()),
                    role: role as i32,
                    capacity: 1,
                    auth_subject: subject.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await?
            .into_inner()
            .agent
            .expect("agent")
            .id)
    }

    async fn call(
        gw: &GatewayWorld,
        token: Option<String>,
        org: &str,
    ) -> Result<pb::GetMeResponse, tonic::Status> {
        let mut client = gw
            .client(Credentials {
                token,
                organization: Some(org.to_string()),
            })
            .await
            .map_err(|e| tonic::Status::internal(e.to_string()))?;
        client
            .get_me(pb::GetMeRequest {})
            .await
            .map(|r| r.into_inner())
    }

    /// The auth matrix against a JWKS: RS256, ES256 and EdDSA tokens of a bound agent are
    /// accepted; every broken token is UNAUTHENTICATED saying why (never echoing the token); an
    /// unknown key id makes one refetch, then refusals without fetching again; a key rotation is
    /// picked up without a restart; org A's agent with org B's header, an unbound subject and a
    /// disabled agent are PERMISSION_DENIED.
    async fn tokens_are_verified_against_the_issuers_jwks(backend: Backend) -> anyhow::Result<()> {
        let idp = Idp::start(&["rsa-1", "ec-1", "ed-1"]).await?;
        let jwks_url = format!("{}/jwks.json", idp.base);
        let mut gw = GatewayWorld::with_settings(backend, move |s| {
            s.gateway.auth.issuer = ISSUER.into();
            s.gateway.auth.jwks_url = jwks_url;
            s.gateway.auth.hs256_secret = String::new();
            s.gateway.auth.leeway_secs = 5;
            s.gateway.auth.jwks_refetch_interval_secs = 1;
        })
        .await?;
        let org = gw.world.org.clone();
        agent(&mut gw, &org, "idp|ana", Role::Agent).await?;

        for (kid, alg) in [
            ("rsa-1", Algorithm::RS256),
            ("ec-1", Algorithm::ES256),
            ("ed-1", Algorithm::EdDSA),
        ] {
            let me = call(&gw, Some(sign(kid, alg, "idp|ana", |_| {})), &org).await?;
            assert_eq!(
                me.agent.map(|a| a.auth_subject),
                Some("idp|ana".to_string()),
                "{kid}"
            );
        }
        let valid = sign("rsa-1", Algorithm::RS256, "idp|ana", |_| {});
        let cases: Vec<(&str, Option<String>, &str)> = vec![
            ("no token", None, "missing"),
            ("malformed", Some("abc.def".into()), "malformed"),
            (
                "expired",
                Some(sign("rsa-1", Algorithm::RS256, "idp|ana", |c| {
                    c["exp"] = json!(now() - 600);
                })),
                "expired",
            ),
            (
                "not yet valid",
                Some(sign("rsa-1", Algorithm::RS256, "idp|ana", |c| {
                    c["nbf"] = json!(now() + 600);
                })),
                "not valid yet",
            ),
            (
                "wrong issuer",
                Some(sign("rsa-1", Algorithm::RS256, "idp|ana", |c| {
                    c["iss"] = json!("https://evil.test");
                })),
                "issuer",
            ),
            (
                "wrong audience",
                Some(sign("rsa-1", Algorithm::RS256, "idp|ana", |c| {
                    c["aud"] = json!("billing");
                })),
                "audience",
            ),
            ("alg none", Some(unsigned("idp|ana")), "none"),
            (
                "HS256 against a JWKS key",
                Some(hmac_with_public_key("idp|ana")),
                "HS256",
            ),
            ("tampered", Some(tampered(&valid)), "signature"),
        ];
        for (case, token, why) in cases {
            let status = call(&gw, token.clone(), &org).await.expect_err(case);
            assert_eq!(status.code(), Code::Unauthenticated, "{case}: {status:?}");
            assert!(
                status
                    .message()
                    .to_lowercase()
                    .contains(&why.to_lowercase()),
                "{case}: {:?} should say {why}",
                status.message()
            );
            if let Some(token) = token {
                assert!(!status.message().contains(&token), "{case}: token echoed");
            }
        }

        // An unknown key id: one refetch (the last fetch is older than the 1 s refetch
        // interval), refused; at once again: refused without fetching.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let before = idp.fetches();
        let unknown = sign("rsa-9", Algorithm::RS256, "idp|ana", |_| {});
        let status = call(&gw, Some(unknown.clone()), &org)
            .await
            .expect_err("unknown kid");
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(idp.fetches(), before + 1, "one refetch for an unknown kid");
        call(&gw, Some(unknown), &org)
            .await
            .expect_err("still unknown");
        assert_eq!(idp.fetches(), before + 1, "refetches are rate-limited");

        // The provider rotates to a new key: picked up without a restart; the old one is gone.
        *idp.kids.lock().expect("kids") = vec!["rsa-2"];
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let me = call(
            &gw,
            Some(sign("rsa-2", Algorithm::RS256, "idp|ana", |_| {})),
            &org,
        )
        .await?;
        assert!(me.agent.is_some());
        let status = call(&gw, Some(valid.clone()), &org)
            .await
            .expect_err("rotated out");
        assert_eq!(status.code(), Code::Unauthenticated);
        let fresh = |sub: &str| Some(sign("rsa-2", Algorithm::RS256, sub, |_| {}));

        // Tenancy: another organization's header, an unbound subject, a disabled agent.
        let org_b = gw
            .world
            .routing
            .create_organization(rpb::CreateOrganizationRequest {
                request_id: rid(),
                name: "Globex".into(),
                default_agent_capacity: 1,
                ..Default::default()
            })
            .await?
            .into_inner()
            .organization
            .expect("org")
            .id;
        agent(&mut gw, &org_b, "idp|bruno", Role::Admin).await?;
        let status = call(&gw, fresh("idp|ana"), &org_b)
            .await
            .expect_err("not a member of B");
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = call(&gw, fresh("idp|bruno"), &org)
            .await
            .expect_err("not a member of A");
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = call(&gw, fresh("idp|nadie"), &org)
            .await
            .expect_err("unbound");
        assert_eq!(status.code(), Code::PermissionDenied);

        let carla = agent(&mut gw, &org, "idp|carla", Role::Agent).await?;
        call(&gw, fresh("idp|carla"), &org).await?;
        gw.world
            .routing
            .update_agent(rpb::UpdateAgentRequest {
                request_id: rid(),
                organization_id: org.clone(),
                actor_agent_id: gw.world.admin.clone(),
                agent: Some(rpb::Agent {
                    id: carla,
                    disabled: true,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["disabled".into()],
                }),
            })
            .await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            match call(&gw, fresh("idp|carla"), &org).await {
                Err(s) if s.code() == Code::PermissionDenied => break,
                other => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "a disabled agent still served after 1 s: {other:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        Ok(())
    }
    on_both_backends!(tokens_are_verified_against_the_issuers_jwks);

    /// With only an issuer configured, the keys are found by OIDC discovery.
    async fn keys_are_found_by_oidc_discovery(backend: Backend) -> anyhow::Result<()> {
        let idp = Idp::start(&["ec-1"]).await?;
        let issuer = idp.base.clone();
        let mut gw = GatewayWorld::with_settings(backend, move |s| {
            s.gateway.auth.issuer = issuer;
            s.gateway.auth.jwks_url = String::new();
            s.gateway.auth.hs256_secret = String::new();
        })
        .await?;
        let org = gw.world.org.clone();
        agent(&mut gw, &org, "idp|dora", Role::Agent).await?;
        let base = idp.base.clone();
        let token = sign("ec-1", Algorithm::ES256, "idp|dora", |c| {
            c["iss"] = json!(base);
        });
        let me = call(&gw, Some(token), &org).await?;
        assert_eq!(
            me.agent.map(|a| a.auth_subject),
            Some("idp|dora".to_string())
        );
        assert_eq!(idp.fetches(), 1);
        Ok(())
    }
    on_both_backends!(keys_are_found_by_oidc_discovery);
}
