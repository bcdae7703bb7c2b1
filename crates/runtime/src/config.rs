//! Configuration: embedded commented defaults → optional file → `DATABASE_URL` →
//! `SWITCHBOARD__SECTION__KEY` environment variables, validated before anything binds.

use std::path::Path;

use serde::Deserialize;

/// The embedded, commented defaults (also printed by `switchboard config defaults`).
pub const DEFAULTS: &str = include_str!("defaults.toml");

/// Why the configuration was refused; the message always names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or a value did not deserialize.
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value deserialized but is not acceptable.
    #[error("configuration: invalid value for key `{key}`: {reason}")]
    Invalid {
        /// Dotted key, e.g. `database.url`.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The HS256 secret of the embedded defaults: public (it is in the source), so it only signs
/// tokens for the embedded default on a laptop (SQLite, no Redis); validation refuses it with
/// PostgreSQL or Redis.
pub const DEVELOPMENT_HS256_SECRET: &str = "switchboard-development-secret-change-me";

/// The whole configuration of a Switchboard process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub telemetry: TelemetrySettings,
    pub server: ServerSettings,
    pub gateway: GatewaySettings,
    pub channel: ChannelSettings,
    pub routing: RoutingSettings,
    pub presence: PresenceSettings,
    pub ticketing: PortSettings,
    pub reporting: ReportingSettings,
    pub integrations: IntegrationsSettings,
    pub endpoints: EndpointSettings,
    pub outbox: OutboxSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
    pub migrate_on_start: bool,
    /// Seconds between checks of the hot tables' dead rows (PostgreSQL); 0: autovacuum only.
    pub vacuum_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: String,
    pub key_prefix: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    pub log_filter: String,
    pub service_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub shutdown_grace_secs: u64,
    /// Port of the process's Prometheus endpoint (`GET /metrics`), one per process.
    pub metrics_port: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSettings {
    pub port: u16,
}

/// The public API: its port, who it trusts, which browsers may call it, and its limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    pub port: u16,
    pub auth: GatewayAuthSettings,
    pub cors: GatewayCorsSettings,
    pub limits: GatewayLimitSettings,
    pub inbox: GatewayInboxSettings,
}

/// How the gateway verifies bearer tokens (see the defaults file for each key).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayAuthSettings {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    pub hs256_secret: String,
    pub leeway_secs: u64,
    pub jwks_refetch_interval_secs: u64,
    pub subject_cache_ttl_secs: u64,
}

/// Browser origins allowed to call the gateway through gRPC-Web.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayCorsSettings {
    pub allowed_origins: Vec<String>,
}

/// What one client may ask of the gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayLimitSettings {
    pub max_request_bytes: usize,
    pub max_page_size: i32,
    pub max_streams_per_agent: usize,
    pub requests_per_second: u32,
    pub burst: u32,
    pub http2_keepalive_secs: u64,
    pub idle_timeout_secs: u64,
    pub first_request_timeout_secs: u64,
}

/// The live inbox stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayInboxSettings {
    pub retention_secs: u64,
    pub keepalive_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    pub port: u16,
    pub webhook_port: u16,
    /// Inbound-message events handled at once per replica (each waits on routing).
    pub conversation_consumers: usize,
    pub whatsapp: WhatsAppSettings,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppSettings {
    pub app_secret: String,
    pub verify_token: String,
    pub graph_base_url: String,
    pub api_version: String,
    /// Directory of access-token files, one per `access_token_secret_ref` (a mounted Kubernetes
    /// Secret); empty: tokens come from `SWITCHBOARD_SECRET_<REF>` environment variables only.
    pub secrets_dir: String,
    /// Milliseconds between passes of the campaign send dispatcher.
    pub dispatch_interval_ms: u64,
}

impl std::fmt::Debug for WhatsAppSettings {
    // Secrets never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsAppSettings")
            .field("app_secret", &"<redacted>")
            .field("verify_token", &"<redacted>")
            .field("graph_base_url", &self.graph_base_url)
            .field("api_version", &self.api_version)
            .field("secrets_dir", &self.secrets_dir)
            .field("dispatch_interval_ms", &self.dispatch_interval_ms)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    pub port: u16,
    pub sweep_interval_ms: u64,
    pub conversation_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceSettings {
    pub port: u16,
    pub heartbeat_ttl_secs: u64,
}

/// The reporting service: live figures and reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingSettings {
    pub port: u16,
}

/// The event feed and outgoing webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationsSettings {
    pub port: u16,
    pub feed: FeedSettings,
    pub webhooks: WebhookSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSettings {
    /// Seconds an event stays in the feed (and a finished delivery in the log).
    pub retention_secs: u64,
    /// Seconds between passes of the task trimming what is older than the retention.
    pub trim_interval_secs: u64,
    /// Milliseconds between reads of a live stream when no commit of this process woke it
    /// (events appended by other replicas).
    pub poll_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Milliseconds between passes of the dispatcher when no new delivery woke it.
    pub dispatch_interval_ms: u64,
    /// Deliveries claimed per pass.
    pub batch_size: u32,
    /// Deliveries POSTed at once per replica.
    pub concurrency: usize,
    /// Milliseconds one POST may take.
    pub timeout_ms: u64,
    /// Delay before each attempt, milliseconds: the first is the delay of the first attempt,
    /// the n-th the wait after the (n-1)-th failed. After the last, the delivery fails.
    pub retry_schedule_ms: Vec<u64>,
    /// Whether `http://` URLs to loopback hosts (localhost, 127.0.0.0/8, ::1) are accepted
    /// (development); `https://` is always required otherwise.
    pub allow_loopback: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSettings {
    pub gateway: String,
    pub channel: String,
    pub routing: String,
    pub presence: String,
    pub ticketing: String,
    pub reporting: String,
    pub integrations: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    pub poll_interval_ms: u64,
    pub batch_size: u32,
    /// Deliveries of an event whose handler keeps failing before its consumer group
    /// dead-letters it (an undecodable event is dead-lettered at once).
    pub dead_letter_after_attempts: u32,
}

impl Settings {
    /// Loads defaults, then `file` (if any), then the process environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, env)
    }

    /// Like [`Settings::load`] with an explicit environment (tests use this).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: std::collections::HashMap<String, String> = env.into_iter().collect();
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        if let Some(url) = env.get("DATABASE_URL").filter(|v| !v.is_empty()) {
            // A source (not an override) so SWITCHBOARD__DATABASE__URL still wins over it.
            let map = std::collections::HashMap::from([("DATABASE__URL".to_string(), url.clone())]);
            builder = builder.add_source(
                config::Environment::default()
                    .separator("__")
                    .source(Some(map)),
            );
        }
        let switchboard_env: std::collections::HashMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("SWITCHBOARD__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("SWITCHBOARD")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(switchboard_env)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_string(),
        };
        let url = &self.database.url;
        if url.starts_with("sqlite:") {
            if !url.contains("{service}") {
                return Err(invalid(
                    "database.url",
                    "a SQLite URL must contain `{service}` so each service owns its own file",
                ));
            }
        } else if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "database.url",
                "expected a sqlite:// or postgres:// URL",
            ));
        }
        if self.channel.conversation_consumers == 0 {
            return Err(invalid(
                "channel.conversation_consumers",
                "must be at least 1",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        let redis = &self.redis.url;
        if !(redis.is_empty() || redis.starts_with("redis://") || redis.starts_with("rediss://")) {
            return Err(invalid(
                "redis.url",
                "expected redis:// or rediss://, or empty",
            ));
        }
        if self.redis.key_prefix.is_empty() || self.redis.key_prefix.contains(['{', '}', ' ']) {
            return Err(invalid(
                "redis.key_prefix",
                "must be non-empty without braces or spaces",
            ));
        }
        if self.server.host.parse::<std::net::IpAddr>().is_err() {
            return Err(invalid("server.host", "expected an IP address"));
        }
        if self.routing.sweep_interval_ms < 10 {
            return Err(invalid("routing.sweep_interval_ms", "must be at least 10"));
        }
        if self.routing.conversation_ttl_secs == 0 {
            return Err(invalid(
                "routing.conversation_ttl_secs",
                "must be at least 1",
            ));
        }
        if self.presence.heartbeat_ttl_secs == 0 {
            return Err(invalid("presence.heartbeat_ttl_secs", "must be at least 1"));
        }
        if self.outbox.poll_interval_ms == 0 {
            return Err(invalid("outbox.poll_interval_ms", "must be at least 1"));
        }
        if self.outbox.batch_size == 0 {
            return Err(invalid("outbox.batch_size", "must be at least 1"));
        }
        if self.outbox.dead_letter_after_attempts == 0 {
            return Err(invalid(
                "outbox.dead_letter_after_attempts",
                "must be at least 1",
            ));
        }
        self.validate_gateway()?;
        self.validate_integrations()?;
        for (key, value) in [
            ("endpoints.gateway", &self.endpoints.gateway),
            ("endpoints.channel", &self.endpoints.channel),
            ("endpoints.routing", &self.endpoints.routing),
            ("endpoints.presence", &self.endpoints.presence),
            ("endpoints.ticketing", &self.endpoints.ticketing),
            ("endpoints.reporting", &self.endpoints.reporting),
            ("endpoints.integrations", &self.endpoints.integrations),
        ] {
            // One URL, or a comma-separated list of replicas' URLs (balanced by the clients).
            if crate::clients::split_urls(value)
                .any(|url| !url.starts_with("http://") && !url.starts_with("https://"))
                || (!value.trim().is_empty() && crate::clients::split_urls(value).count() == 0)
            {
                return Err(ConfigError::Invalid {
                    key,
                    reason:
                        "expected http:// or https:// URL, a comma-separated list of them, or empty"
                            .into(),
                });
            }
        }
        Ok(())
    }

    fn validate_integrations(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_string(),
        };
        let feed = &self.integrations.feed;
        if feed.retention_secs == 0 {
            return Err(invalid(
                "integrations.feed.retention_secs",
                "must be at least 1",
            ));
        }
        if feed.trim_interval_secs == 0 {
            return Err(invalid(
                "integrations.feed.trim_interval_secs",
                "must be at least 1",
            ));
        }
        if feed.poll_interval_ms < 10 {
            return Err(invalid(
                "integrations.feed.poll_interval_ms",
                "must be at least 10",
            ));
        }
        let hooks = &self.integrations.webhooks;
        if hooks.dispatch_interval_ms < 10 {
            return Err(invalid(
                "integrations.webhooks.dispatch_interval_ms",
                "must be at least 10",
            ));
        }
        if hooks.batch_size == 0 || hooks.concurrency == 0 {
            return Err(invalid(
                "integrations.webhooks.batch_size",
                "batch_size and concurrency must be at least 1",
            ));
        }
        if hooks.timeout_ms < 100 {
            return Err(invalid(
                "integrations.webhooks.timeout_ms",
                "must be at least 100",
            ));
        }
        if hooks.retry_schedule_ms.is_empty() || hooks.retry_schedule_ms.len() > 50 {
            return Err(invalid(
                "integrations.webhooks.retry_schedule_ms",
                "must list between 1 and 50 delays",
            ));
        }
        Ok(())
    }

    fn validate_gateway(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_string(),
        };
        let auth = &self.gateway.auth;
        if !auth.hs256_secret.is_empty() && auth.hs256_secret.len() < 32 {
            return Err(invalid(
                "gateway.auth.hs256_secret",
                "must be at least 32 bytes",
            ));
        }
        let clustered = !self.redis.url.is_empty() || !self.database.url.starts_with("sqlite:");
        if auth.hs256_secret == DEVELOPMENT_HS256_SECRET && clustered {
            return Err(invalid(
                "gateway.auth.hs256_secret",
                "the built-in development secret is public and only serves the embedded default \
                 (SQLite, no Redis): set a secret of your own (at least 32 bytes) or leave it \
                 empty and verify tokens with jwks_url / issuer",
            ));
        }
        if auth.audience.is_empty() {
            return Err(invalid("gateway.auth.audience", "must not be empty"));
        }
        if !auth.jwks_url.is_empty()
            && !auth.jwks_url.starts_with("https://")
            && !auth.jwks_url.starts_with("http://")
        {
            return Err(invalid("gateway.auth.jwks_url", "expected an http(s) URL"));
        }
        for origin in &self.gateway.cors.allowed_origins {
            if origin != "*" && http::HeaderValue::from_str(origin).is_err() {
                return Err(invalid(
                    "gateway.cors.allowed_origins",
                    "each origin must be a header value such as https://console.example.com",
                ));
            }
        }
        let limits = &self.gateway.limits;
        if limits.max_page_size < 1 {
            return Err(invalid(
                "gateway.limits.max_page_size",
                "must be at least 1",
            ));
        }
        if limits.max_request_bytes < 1024 {
            return Err(invalid(
                "gateway.limits.max_request_bytes",
                "must be at least 1024",
            ));
        }
        if limits.max_streams_per_agent == 0 {
            return Err(invalid(
                "gateway.limits.max_streams_per_agent",
                "must be at least 1",
            ));
        }
        if limits.requests_per_second == 0 || limits.burst == 0 {
            return Err(invalid(
                "gateway.limits.requests_per_second",
                "requests_per_second and burst must be at least 1",
            ));
        }
        if limits.idle_timeout_secs == 0 || limits.first_request_timeout_secs == 0 {
            return Err(invalid(
                "gateway.limits.idle_timeout_secs",
                "idle_timeout_secs and first_request_timeout_secs must be at least 1",
            ));
        }
        if self.gateway.inbox.keepalive_secs == 0 || self.gateway.inbox.retention_secs == 0 {
            return Err(invalid(
                "gateway.inbox",
                "keepalive_secs and retention_secs must be at least 1",
            ));
        }
        Ok(())
    }

    /// The gRPC port configured for a service.
    pub fn grpc_port(&self, service: crate::Service) -> u16 {
        use crate::Service::*;
        match service {
            Gateway => self.gateway.port,
            Channel => self.channel.port,
            Routing => self.routing.port,
            Presence => self.presence.port,
            Ticketing => self.ticketing.port,
            Reporting => self.reporting.port,
            Integrations => self.integrations.port,
        }
    }

    /// The configured endpoint of another service (empty when not configured).
    pub fn endpoint(&self, service: crate::Service) -> &str {
        use crate::Service::*;
        match service {
            Gateway => &self.endpoints.gateway,
            Channel => &self.endpoints.channel,
            Routing => &self.endpoints.routing,
            Presence => &self.endpoints.presence,
            Ticketing => &self.endpoints.ticketing,
            Reporting => &self.endpoints.reporting,
            Integrations => &self.endpoints.integrations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn embedded_defaults_are_valid() {
        let s = Settings::load_from(None, env(&[])).expect("defaults load");
        assert_eq!(s.gateway.port, 50051);
        assert_eq!(s.ticketing.port, 50055);
        assert_eq!(s.integrations.port, 50057);
        assert_eq!(s.integrations.feed.retention_secs, 7 * 24 * 3600);
        assert_eq!(s.integrations.webhooks.retry_schedule_ms.len(), 8);
        assert_eq!(s.channel.webhook_port, 8080);
        assert_eq!(s.server.metrics_port, 9464);
        assert!(s.redis.url.is_empty());
    }

    #[test]
    fn env_overrides_nested_keys() {
        let s = Settings::load_from(
            None,
            env(&[
                ("SWITCHBOARD__ROUTING__PORT", "6053"),
                ("SWITCHBOARD__CHANNEL__WHATSAPP__APP_SECRET", "s3cret"),
            ]),
        )
        .expect("loads");
        assert_eq!(s.routing.port, 6053);
        assert_eq!(s.channel.whatsapp.app_secret, "s3cret");
    }

    #[test]
    fn endpoints_take_a_comma_separated_list_of_replicas() {
        let s = Settings::load_from(
            None,
            env(&[(
                "SWITCHBOARD__ENDPOINTS__ROUTING",
                "http://127.0.0.1:6053, http://127.0.0.1:6063",
            )]),
        )
        .expect("a list loads");
        assert_eq!(
            s.endpoint(crate::Service::Routing),
            "http://127.0.0.1:6053, http://127.0.0.1:6063"
        );
        for bad in ["http://127.0.0.1:6053,127.0.0.1:6063", " , "] {
            let err = Settings::load_from(None, env(&[("SWITCHBOARD__ENDPOINTS__ROUTING", bad)]))
                .expect_err("must fail");
            assert!(
                err.to_string().contains("endpoints.routing"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn bad_value_names_the_key() {
        let err = Settings::load_from(None, env(&[("SWITCHBOARD__ROUTING__PORT", "seventy")]))
            .expect_err("must fail");
        assert!(err.to_string().contains("routing.port"), "{err}");
    }

    #[test]
    fn zero_conversation_consumers_is_refused_by_name() {
        let err = Settings::load_from(
            None,
            env(&[("SWITCHBOARD__CHANNEL__CONVERSATION_CONSUMERS", "0")]),
        )
        .expect_err("refused");
        assert!(
            err.to_string().contains("channel.conversation_consumers"),
            "{err}"
        );
        let s = Settings::load_from(None, env(&[])).expect("defaults load");
        assert_eq!(s.channel.conversation_consumers, 16);
        assert_eq!(s.database.vacuum_interval_secs, 30);
    }

    #[test]
    fn unknown_key_names_the_key() {
        let err = Settings::load_from(None, env(&[("SWITCHBOARD__ROUTING__PROT", "1")]))
            .expect_err("must fail");
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn sqlite_url_needs_service_placeholder() {
        let err = Settings::load_from(
            None,
            env(&[("SWITCHBOARD__DATABASE__URL", "sqlite://one.db")]),
        )
        .expect_err("must fail");
        assert!(err.to_string().contains("database.url"), "{err}");
    }

    #[test]
    fn the_public_development_secret_serves_only_the_embedded_default() {
        let err = Settings::load_from(None, env(&[("DATABASE_URL", "postgres://a/b")]))
            .expect_err("public secret with PostgreSQL");
        assert!(
            err.to_string().contains("gateway.auth.hs256_secret"),
            "{err}"
        );
        let err = Settings::load_from(None, env(&[("SWITCHBOARD__REDIS__URL", "redis://r:6379")]))
            .expect_err("public secret with Redis");
        assert!(
            err.to_string().contains("gateway.auth.hs256_secret"),
            "{err}"
        );
        Settings::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://a/b"),
                (
                    "SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET",
                    "a-secret-of-our-own-32-bytes-long!",
                ),
            ]),
        )
        .expect("an own secret");
        Settings::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://a/b"),
                ("SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET", ""),
                (
                    "SWITCHBOARD__GATEWAY__AUTH__JWKS_URL",
                    "https://id.example/jwks.json",
                ),
            ]),
        )
        .expect("no development tokens");
        Settings::load_from(None, env(&[])).expect("the embedded default keeps it");
    }

    #[test]
    fn database_url_is_honoured_below_switchboard_env() {
        let own = (
            "SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET",
            "a-secret-of-our-own-32-bytes-long!",
        );
        let s =
            Settings::load_from(None, env(&[("DATABASE_URL", "postgres://a/b"), own])).expect("ok");
        assert_eq!(s.database.url, "postgres://a/b");
        let s = Settings::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://a/b"),
                ("SWITCHBOARD__DATABASE__URL", "postgres://c/d"),
                own,
            ]),
        )
        .expect("ok");
        assert_eq!(s.database.url, "postgres://c/d");
    }
}
