//! The issuer's signing keys: fetched from its JWKS URL (or found by OIDC discovery), cached,
//! fetched again when a token names a key id the cache does not hold — at most once per
//! refetch interval, one fetch at a time — and at the latest an hour after the last fetch.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm},
};
use tokio::sync::{Mutex, RwLock};

use super::AuthError;

/// Keys older than this are fetched again on the next use.
const MAX_AGE: Duration = Duration::from_secs(3600);

/// Where the keys come from.
#[derive(Debug, Clone)]
enum Source {
    Url(String),
    /// `<issuer>/.well-known/openid-configuration` names the JWKS URL.
    Issuer(String),
}

/// A cached JWKS.
#[derive(Clone)]
pub struct Jwks {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    http: reqwest::Client,
    refetch_interval: Duration,
    keys: RwLock<Keys>,
    /// One fetch at a time; holds when the last fetch started.
    fetching: Mutex<Option<Instant>>,
    fetches: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, (Jwk, DecodingKey)>,
    fetched_at: Option<Instant>,
}

impl Jwks {
    pub fn from_url(url: String, refetch_interval: Duration) -> Self {
        Self::new(Source::Url(url), refetch_interval)
    }

    pub fn from_issuer(issuer: String, refetch_interval: Duration) -> Self {
        Self::new(Source::Issuer(issuer), refetch_interval)
    }

    fn new(source: Source, refetch_interval: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a reqwest client builds");
        Self {
            inner: Arc::new(Inner {
                source,
                http,
                refetch_interval,
                keys: RwLock::new(Keys::default()),
                fetching: Mutex::new(None),
                fetches: Default::default(),
            }),
        }
    }

    /// How many times the key set was fetched (tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.inner
            .fetches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The key a token signed with `alg` under `kid` verifies against.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, AuthError> {
        let stale = {
            let keys = self.inner.keys.read().await;
            if let Some(found) = pick(&keys, kid, alg)?
                && keys.fetched_at.is_some_and(|t| t.elapsed() < MAX_AGE)
            {
                return Ok(found);
            }
            keys.fetched_at.is_none_or(|t| t.elapsed() >= MAX_AGE)
        };
        self.refetch(stale).await?;
        let keys = self.inner.keys.read().await;
        pick(&keys, kid, alg)?.ok_or_else(|| AuthError::UnknownKey(kid.unwrap_or("").to_string()))
    }

    /// Fetches the key set unless another fetch started within the refetch interval (`force`
    /// for a set never fetched or past its age).
    async fn refetch(&self, force: bool) -> Result<(), AuthError> {
        let mut last = self.inner.fetching.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < self.inner.refetch_interval) {
            return Ok(());
        }
        *last = Some(Instant::now());
        self.inner
            .fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let set = match self.fetch().await {
            Ok(set) => set,
            Err(e) => {
                tracing::warn!(error = %e, "fetching the issuer's JWKS failed");
                // Keep serving the keys we have; only a set never fetched is unavailable.
                if self.inner.keys.read().await.fetched_at.is_some() {
                    return Ok(());
                }
                return Err(AuthError::KeysUnavailable(e));
            }
        };
        let mut by_kid = HashMap::new();
        for jwk in set.keys {
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            match DecodingKey::from_jwk(&jwk) {
                Ok(key) => {
                    by_kid.insert(kid, (jwk, key));
                }
                Err(e) => tracing::warn!(%kid, error = %e, "JWKS key skipped"),
            }
        }
        tracing::info!(keys = by_kid.len(), "issuer keys fetched");
        *self.inner.keys.write().await = Keys {
            by_kid,
            fetched_at: Some(Instant::now()),
        };
        Ok(())
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        let url = match &self.inner.source {
            Source::Url(url) => url.clone(),
            Source::Issuer(issuer) => {
                #[derive(serde::Deserialize)]
                struct Discovery {
                    jwks_uri: String,
                }
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                self.get::<Discovery>(&url).await?.jwks_uri
            }
        };
        self.get::<JwkSet>(&url).await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        response
            .json::<T>()
            .await
            .map_err(|e| format!("GET {url}: {e}"))
    }
}

/// The cached key for `kid` (or the only key, when the token names none), checked against the
/// token's algorithm: a key may only verify the algorithm it is for.
fn pick(keys: &Keys, kid: Option<&str>, alg: Algorithm) -> Result<Option<DecodingKey>, AuthError> {
    let found = match kid {
        Some(kid) => keys.by_kid.get(kid),
        None if keys.by_kid.len() == 1 => keys.by_kid.values().next(),
        None => None,
    };
    let Some((jwk, key)) = found else {
        return Ok(None);
    };
    let fits = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => alg == Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(_) => alg == Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(_) => alg == Algorithm::EdDSA,
        _ => false,
    };
    let declared = jwk.common.key_algorithm.is_none_or(|declared| {
        matches!(
            (declared, alg),
            (KeyAlgorithm::RS256, Algorithm::RS256)
                | (KeyAlgorithm::ES256, Algorithm::ES256)
                | (KeyAlgorithm::EdDSA, Algorithm::EdDSA)
        )
    });
    if !(fits && declared) {
        return Err(AuthError::Algorithm(format!("{alg:?} with this key")));
    }
    Ok(Some(key.clone()))
}
