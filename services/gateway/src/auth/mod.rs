//! Who is calling: the bearer JWT of every request, verified against the issuer's JWKS
//! (production) or the HS256 development secret, with `iss`, `aud`, `exp` and `nbf` checked.
//! A refusal says why (never echoing the token) and is UNAUTHENTICATED.

mod jwks;

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use switchboard_runtime::config::GatewayAuthSettings;

pub use jwks::Jwks;

/// The claims the gateway reads. Others are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
}

/// Why a token was refused: the message the caller reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing `authorization: Bearer <token>` metadata")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("token expired")]
    Expired,
    #[error("token not valid yet (nbf in the future)")]
    NotYetValid,
    #[error("token issuer is not the configured issuer")]
    WrongIssuer,
    #[error("token audience does not include the configured audience")]
    WrongAudience,
    #[error("token algorithm {0} is not accepted")]
    Algorithm(String),
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token key id (kid) {0:?} is not in the issuer's key set")]
    UnknownKey(String),
    #[error("the issuer's key set cannot be fetched: {0}")]
    KeysUnavailable(String),
}

impl AuthError {
    /// Whether the refusal is the server's fault (keys unreachable): UNAVAILABLE, not
    /// UNAUTHENTICATED.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::KeysUnavailable(_))
    }

    /// The `reason` label of `switchboard_gateway_refusals_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Missing => "token_missing",
            Self::Malformed(_) => "token_malformed",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::WrongIssuer => "token_issuer",
            Self::WrongAudience => "token_audience",
            Self::Algorithm(_) => "token_algorithm",
            Self::BadSignature => "token_signature",
            Self::UnknownKey(_) => "token_unknown_key",
            Self::KeysUnavailable(_) => "keys_unavailable",
        }
    }
}

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    hs256: Option<DecodingKey>,
    jwks: Option<Jwks>,
    issuer: String,
    audience: String,
    leeway: u64,
}

/// The asymmetric algorithms accepted from a JWKS.
const ASYMMETRIC: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

impl Authenticator {
    /// Fails when no way of verifying tokens is configured (the gateway then does not start;
    /// the other services do not need these settings).
    pub fn new(settings: &GatewayAuthSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !(settings.jwks_url.is_empty()
                && settings.hs256_secret.is_empty()
                && settings.issuer.is_empty()),
            "gateway.auth: set jwks_url or issuer (OIDC discovery) for production, or \
             hs256_secret for development"
        );
        let hs256 = (!settings.hs256_secret.is_empty())
            .then(|| DecodingKey::from_secret(settings.hs256_secret.as_bytes()))
            .transpose()?;
        let jwks = if !settings.jwks_url.is_empty() {
            Some(Jwks::from_url(
                settings.jwks_url.clone(),
                Duration::from_secs(settings.jwks_refetch_interval_secs),
            ))
        } else if hs256.is_none() && !settings.issuer.is_empty() {
            Some(Jwks::from_issuer(
                settings.issuer.clone(),
                Duration::from_secs(settings.jwks_refetch_interval_secs),
            ))
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(Inner {
                hs256,
                jwks,
                issuer: settings.issuer.clone(),
                audience: settings.audience.clone(),
                leeway: settings.leeway_secs,
            }),
        })
    }

    /// The token's subject when it verifies; why not otherwise.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let inner = &self.inner;
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithmName | ErrorKind::Json(_) if token_names_alg_none(token) => {
                AuthError::Algorithm("none".into())
            }
            _ => AuthError::Malformed(describe(&e)),
        })?;
        let key = match header.alg {
            Algorithm::HS256 => match &inner.hs256 {
                Some(key) => key.clone(),
                None => return Err(AuthError::Algorithm("HS256".into())),
            },
            alg if ASYMMETRIC.contains(&alg) => match &inner.jwks {
                Some(jwks) => jwks.key(header.kid.as_deref(), alg).await?,
                None => return Err(AuthError::Algorithm(format!("{alg:?}"))),
            },
            alg => return Err(AuthError::Algorithm(format!("{alg:?}"))),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = inner.leeway;
        validation.validate_nbf = true;
        validation.set_audience(&[&inner.audience]);
        let mut required = vec!["exp", "sub", "aud"];
        if !inner.issuer.is_empty() {
            validation.set_issuer(&[&inner.issuer]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
            ErrorKind::InvalidAudience => AuthError::WrongAudience,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm => AuthError::Algorithm(format!("{:?}", header.alg)),
            _ => AuthError::Malformed(describe(&e)),
        })?;
        if data.claims.sub.trim().is_empty() {
            return Err(AuthError::Malformed("empty `sub` claim".into()));
        }
        Ok(data.claims)
    }
}

/// A readable reason for a decoding failure, without the token.
fn describe(e: &jsonwebtoken::errors::Error) -> String {
    match e.kind() {
        ErrorKind::InvalidToken => "not a JWT (expected three base64url parts)".into(),
        ErrorKind::Base64(_) => "a part is not base64url".into(),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => "header or claims are not JSON".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("missing required claim `{c}`"),
        ErrorKind::InvalidClaimFormat(c) => format!("claim `{c}` has the wrong type"),
        other => format!("{other:?}"),
    }
}

/// Whether the token's header says `"alg": "none"` (jsonwebtoken cannot even parse it).
fn token_names_alg_none(token: &str) -> bool {
    use base64::Engine;
    let Some(head) = token.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v.get("alg").and_then(|a| a.as_str()).map(str::to_lowercase))
        .is_some_and(|alg| alg == "none")
}

/// A development token for `subject`, signed with the HS256 secret, valid `ttl` from now, with
/// the configured issuer and audience (what `switchboard token` prints).
pub fn dev_token(
    settings: &GatewayAuthSettings,
    subject: &str,
    ttl: Duration,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        !settings.hs256_secret.is_empty(),
        "gateway.auth.hs256_secret is empty: development tokens are off"
    );
    anyhow::ensure!(!subject.trim().is_empty(), "the subject must not be empty");
    anyhow::ensure!(
        !ttl.is_zero(),
        "the token must be valid for at least a second"
    );
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: subject.to_string(),
        exp: now + ttl.as_secs(),
        nbf: Some(now),
        iat: Some(now),
        iss: (!settings.issuer.is_empty()).then(|| settings.issuer.clone()),
        aud: Some(serde_json::Value::String(settings.audience.clone())),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(settings.hs256_secret.as_bytes())?,
    )?)
}

/// The bearer token of `authorization` metadata.
pub fn bearer(metadata: &tonic::metadata::MetadataMap) -> Result<&str, AuthError> {
    let value = metadata
        .get("authorization")
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed("authorization is not ASCII".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AuthError::Malformed("expected `Bearer <token>`".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed("expected `Bearer <token>`".into()));
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> GatewayAuthSettings {
        GatewayAuthSettings {
            issuer: "https://id.example".into(),
            audience: "switchboard".into(),
            jwks_url: String::new(),
            hs256_secret: "a-development-secret-of-32-bytes!".into(),
            leeway_secs: 5,
            jwks_refetch_interval_secs: 10,
            subject_cache_ttl_secs: 60,
        }
    }

    #[tokio::test]
    async fn a_development_token_verifies_and_carries_its_subject() {
        let s = settings();
        let token = dev_token(&s, "auth0|ana", Duration::from_secs(60)).expect("token");
        let claims = Authenticator::new(&s)
            .expect("auth")
            .verify(&token)
            .await
            .expect("valid");
        assert_eq!(claims.sub, "auth0|ana");
    }

    #[test]
    fn a_token_without_a_subject_or_lifetime_is_not_signed() {
        let s = settings();
        assert!(dev_token(&s, " ", Duration::from_secs(60)).is_err());
        assert!(dev_token(&s, "ana", Duration::ZERO).is_err());
        let mut off = s.clone();
        off.hs256_secret = String::new();
        assert!(dev_token(&off, "ana", Duration::from_secs(60)).is_err());
    }

    #[tokio::test]
    async fn another_secret_issuer_or_audience_is_refused() {
        let s = settings();
        let auth = Authenticator::new(&s).expect("auth");
        let mut other = s.clone();
        other.hs256_secret = "another-development-secret-32-bytes".into();
        let token = dev_token(&other, "ana", Duration::from_secs(60)).expect("token");
        assert_eq!(auth.verify(&token).await, Err(AuthError::BadSignature));
        let mut other = s.clone();
        other.issuer = "https://evil.example".into();
        let token = dev_token(&other, "ana", Duration::from_secs(60)).expect("token");
        assert_eq!(auth.verify(&token).await, Err(AuthError::WrongIssuer));
        let mut other = s.clone();
        other.audience = "billing".into();
        let token = dev_token(&other, "ana", Duration::from_secs(60)).expect("token");
        assert_eq!(auth.verify(&token).await, Err(AuthError::WrongAudience));
    }

    #[tokio::test]
    async fn alg_none_and_garbage_are_refused_with_a_reason() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let auth = Authenticator::new(&settings()).expect("auth");
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(r#"{"sub":"ana","exp":9999999999,"aud":"switchboard","iss":"https://id.example"}"#)
        );
        assert_eq!(
            auth.verify(&none).await,
            Err(AuthError::Algorithm("none".into()))
        );
        assert!(matches!(
            auth.verify("not-a-token").await,
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn bearer_metadata_is_required_and_parsed() {
        let mut md = tonic::metadata::MetadataMap::new();
        assert_eq!(bearer(&md), Err(AuthError::Missing));
        md.insert("authorization", "Basic abc".parse().expect("ascii"));
        assert!(matches!(bearer(&md), Err(AuthError::Malformed(_))));
        md.insert(
            "authorization",
            "Bearer abc.def.ghi".parse().expect("ascii"),
        );
        assert_eq!(bearer(&md), Ok("abc.def.ghi"));
    }
}
