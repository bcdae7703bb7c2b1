//! The WhatsApp Cloud API client (Meta's Graph API): sends, mark-as-read, media and templates.
//!
//! Every call retries what may pass later (HTTP 429, the rate-limit codes, 5xx, timeouts,
//! connection errors) with exponential backoff and full jitter, and gives up at once on what
//! WhatsApp refused for good (any other 4xx). The caller sees three outcomes besides success:
//! [`GraphError::Rejected`] (do not try again), [`GraphError::Unavailable`] (try again later,
//! e.g. from the outbox) and [`GraphError::Protocol`] (the answer made no sense).
//!
//! Sends have no idempotency key at WhatsApp: a send that timed out may still have been
//! delivered, so a retry after a timeout can reach the customer twice. That is the price of not
//! losing messages; the 10-second timeout keeps it rare.

#![warn(missing_docs)]

use std::time::Duration;

use rand::Rng;
use reqwest::{StatusCode, Url, header::HeaderMap, multipart};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tracing::Instrument;

use crate::domain::content::{
    ComponentKind, Content, Location, Media, MediaKind, ProviderError, SharedContact,
    TemplateComponent, TemplateMessage, TemplateParameter,
};

/// Meta's Graph API host.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";

/// Error codes that mean "too fast, slow down" whatever the HTTP status: 4 (application request
/// limit), 80007 (WABA rate limit), 130429 (throughput), 131056 (pair rate limit, same user).
const RATE_LIMIT_CODES: [i64; 4] = [4, 80_007, 130_429, 131_056];

/// Error code 2: "temporary due to downtime or due to being overloaded".
const SERVICE_UNAVAILABLE_CODE: i64 = 2;

/// A guard against a `paging.next` chain that never ends.
const MAX_TEMPLATE_PAGES: usize = 1_000;

/// How a call retries: `max_attempts` tries in all, waiting a random time between zero and
/// `initial_backoff · 2^(n-1)` (capped at `max_backoff`) after the n-th failure ("full jitter"),
/// or what a `Retry-After` header asks for (also capped at `max_backoff`).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries in all, the first included (0 counts as 1).
    pub max_attempts: u32,
    /// The backoff ceiling after the first failure.
    pub initial_backoff: Duration,
    /// The largest wait between two tries.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff ceilings of 200 ms, 400 ms, 800 ms (at most 2 s).
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failed_attempt`-th failure (1-based).
    fn delay(&self, failed_attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_backoff);
        }
        let exponent = failed_attempt.saturating_sub(1).min(31);
        let ceiling = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.max_backoff);
        let ceiling_us = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::rng().random_range(0..=ceiling_us))
    }
}

/// Why a Graph API call failed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// WhatsApp refused the request for good (4xx other than rate limits): do not retry.
    #[error("whatsapp refused the request (http {status}, code {}): {}", error.code, error.message)]
    Rejected {
        /// The HTTP status WhatsApp answered.
        status: u16,
        /// WhatsApp's error (code, title, message, details).
        error: ProviderError,
    },
    /// Still failing after the retries (429, 130429/131056/80007 rate limits, 5xx, timeouts,
    /// connection errors).
    #[error("whatsapp unavailable after {attempts} attempts: {last}")]
    Unavailable {
        /// How many requests were made.
        attempts: u32,
        /// What went wrong the last time.
        last: String,
        /// WhatsApp's error of the last attempt, when it answered with one.
        error: Option<ProviderError>,
    },
    /// The answer could not be read.
    #[error("unreadable answer from whatsapp: {0}")]
    Protocol(String),
    /// The content cannot go out through the Cloud API (e.g. a received interactive reply, a
    /// media without an id or a link); nothing was sent.
    #[error("cannot be sent through whatsapp: {0}")]
    Unsendable(&'static str),
}

impl GraphError {
    /// WhatsApp's own error, when it gave one.
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            GraphError::Rejected { error, .. } => Some(error),
            GraphError::Unavailable { error, .. } => error.as_ref(),
            GraphError::Protocol(_) | GraphError::Unsendable(_) => None,
        }
    }

    /// Whether trying the same request later may succeed (only [`GraphError::Unavailable`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, GraphError::Unavailable { .. })
    }
}

/// Where an uploaded or received media can be downloaded from (the URL lives a few minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// The download URL; fetch it with [`GraphClient::download`] (it needs the token).
    pub url: String,
    /// MIME type, e.g. `image/jpeg`.
    pub mime_type: String,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub file_size: i64,
}

/// A button of a message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteButton {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, `COPY_CODE`…
    pub kind: String,
    /// The label.
    pub text: String,
    /// The URL of a URL button or the number of a PHONE_NUMBER button; empty otherwise.
    pub value: String,
}

/// A message template as WhatsApp lists it for a WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTemplate {
    /// WhatsApp's template id.
    pub id: String,
    /// The template name (unique per language).
    pub name: String,
    /// Language code, e.g. `en_US`.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`…
    pub status: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT`, `LOCATION`; empty without a header.
    pub header_format: String,
    /// The header text (TEXT headers).
    pub header_text: String,
    /// The body, with `{{n}}` placeholders.
    pub body_text: String,
    /// The footer.
    pub footer_text: String,
    /// The buttons, in order (their index is the position here).
    pub buttons: Vec<RemoteButton>,
    /// How many distinct `{{…}}` placeholders the body has: the body parameters a send needs.
    pub body_parameter_count: i32,
}

/// The Graph API client. Cheap to clone (one connection pool).
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base_url: String,
    api_version: String,
    retry: RetryPolicy,
    timeout: Duration,
    transfer_timeout: Duration,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// One failed attempt that may pass later.
struct Transient {
    reason: String,
    error: Option<ProviderError>,
    retry_after: Option<Duration>,
}

impl GraphClient {
    /// A client for `base_url` (e.g. [`DEFAULT_BASE_URL`]) and `api_version` (e.g. `v21.0`);
    /// each request times out after 10 s (media uploads and downloads after 60 s).
    pub fn new(base_url: &str, api_version: &str, retry: RetryPolicy) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("switchboard-channel/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .build()
            // Building fails only when the TLS backend cannot start; a default client then
            // reports the same problem on the first request instead of panicking here.
            .unwrap_or_default();
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_version: api_version.trim_matches('/').to_owned(),
            retry,
            timeout: Duration::from_secs(10),
            transfer_timeout: Duration::from_secs(60),
        }
    }

    /// The same client with another per-request timeout for API calls.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same client with another per-request timeout for media uploads and downloads.
    pub fn with_transfer_timeout(mut self, timeout: Duration) -> Self {
        self.transfer_timeout = timeout;
        self
    }

    /// POST /{ver}/{phone_number_id}/messages; returns the wamid. reply_to: context.message_id.
    pub async fn send(
        &self,
        token: &str,
        phone_number_id: &str,
        to: &str,
        content: &Content,
        reply_to_wamid: Option<&str>,
    ) -> Result<String, GraphError> {
        let span = tracing::info_span!(
            "graph.send",
            phone_number_id,
            kind = content.kind_name(),
            attempts = tracing::field::Empty,
        );
        async {
            let body = message_body(to, content, reply_to_wamid)?;
            let url = self.endpoint(&[phone_number_id, "messages"])?;
            let answer = self
                .execute(token, self.timeout, || {
                    Ok(self.http.post(url.clone()).json(&body))
                })
                .await?;
            let answer: SendAnswer = parse(&answer)?;
            answer
                .messages
                .into_iter()
                .next()
                .map(|m| m.id)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| GraphError::Protocol("the send answer carries no message id".into()))
        }
        .instrument(span)
        .await
    }

    /// Marks a received message (and the ones before it) as read: blue ticks for the customer.
    pub async fn mark_read(
        &self,
        token: &str,
        phone_number_id: &str,
        wamid: &str,
    ) -> Result<(), GraphError> {
        let span = tracing::info_span!(
            "graph.mark_read",
            phone_number_id,
            attempts = tracing::field::Empty,
        );
        async {
            let url = self.endpoint(&[phone_number_id, "messages"])?;
            let body = json!({
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": wamid,
            });
            let answer = self
                .execute(token, self.timeout, || {
                    Ok(self.http.post(url.clone()).json(&body))
                })
                .await?;
            let answer: SuccessAnswer = parse(&answer)?;
            if answer.success {
                Ok(())
            } else {
                Err(GraphError::Protocol(
                    "mark-as-read answered success: false".into(),
                ))
            }
        }
        .instrument(span)
        .await
    }

    /// Uploads media for later sends (POST /{ver}/{phone_number_id}/media); returns its id.
    pub async fn upload_media(
        &self,
        token: &str,
        phone_number_id: &str,
        mime_type: &str,
        filename: &str,
        data: Vec<u8>,
    ) -> Result<String, GraphError> {
        let span = tracing::info_span!(
            "graph.upload_media",
            phone_number_id,
            mime_type,
            size = data.len(),
            attempts = tracing::field::Empty,
        );
        async {
            let url = self.endpoint(&[phone_number_id, "media"])?;
            let form = || -> Result<reqwest::RequestBuilder, GraphError> {
                let file = multipart::Part::bytes(data.clone())
                    .file_name(filename.to_owned())
                    .mime_str(mime_type)
                    .map_err(|_| {
                        GraphError::Unsendable("the media type is not a valid MIME type")
                    })?;
                let form = multipart::Form::new()
                    .text("messaging_product", "whatsapp")
                    .text("type", mime_type.to_owned())
                    .part("file", file);
                Ok(self.http.post(url.clone()).multipart(form))
            };
            let answer = self.execute(token, self.transfer_timeout, form).await?;
            let answer: IdAnswer = parse(&answer)?;
            if answer.id.is_empty() {
                return Err(GraphError::Protocol(
                    "the upload answer carries no media id".into(),
                ));
            }
            Ok(answer.id)
        }
        .instrument(span)
        .await
    }

    /// Where a media (uploaded or received) can be downloaded: GET /{ver}/{media_id}.
    pub async fn media_info(&self, token: &str, media_id: &str) -> Result<MediaInfo, GraphError> {
        let span = tracing::info_span!(
            "graph.media_info",
            media_id,
            attempts = tracing::field::Empty,
        );
        async {
            let url = self.endpoint(&[media_id])?;
            let answer = self
                .execute(token, self.timeout, || Ok(self.http.get(url.clone())))
                .await?;
            let answer: MediaAnswer = parse(&answer)?;
            if answer.url.is_empty() {
                return Err(GraphError::Protocol(
                    "the media answer carries no url".into(),
                ));
            }
            Ok(MediaInfo {
                url: answer.url,
                mime_type: answer.mime_type,
                sha256: answer.sha256,
                file_size: answer.file_size.0,
            })
        }
        .instrument(span)
        .await
    }

    /// Downloads the bytes at a [`MediaInfo::url`] (the URL needs the same bearer token).
    pub async fn download(&self, token: &str, url: &str) -> Result<Vec<u8>, GraphError> {
        // The URL is not recorded: it is a short-lived credential of its own.
        let span = tracing::info_span!("graph.download", attempts = tracing::field::Empty);
        async {
            let url = Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or(GraphError::Unsendable(
                    "the media url is not an http(s) url",
                ))?;
            self.execute(token, self.transfer_timeout, || {
                Ok(self.http.get(url.clone()))
            })
            .await
        }
        .instrument(span)
        .await
    }

    /// Every message template of a WhatsApp Business Account, following `paging.next`.
    pub async fn templates(
        &self,
        token: &str,
        waba_id: &str,
    ) -> Result<Vec<RemoteTemplate>, GraphError> {
        let span = tracing::info_span!(
            "graph.templates",
            waba_id,
            pages = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        async {
            let mut url = self.endpoint(&[waba_id, "message_templates"])?;
            url.query_pairs_mut()
                .append_pair("fields", "id,name,language,status,category,components")
                .append_pair("limit", "100");
            let mut templates = Vec::new();
            for page in 1..=MAX_TEMPLATE_PAGES {
                let answer = self
                    .execute(token, self.timeout, || Ok(self.http.get(url.clone())))
                    .await?;
                let answer: TemplatesAnswer = parse(&answer)?;
                templates.extend(answer.data.into_iter().map(RemoteTemplate::from));
                tracing::Span::current().record("pages", page);
                let next = answer.paging.and_then(|p| p.next).filter(|n| !n.is_empty());
                match next {
                    None => return Ok(templates),
                    Some(next) => {
                        url = Url::parse(&next)
                            .map_err(|_| GraphError::Protocol("paging.next is not a url".into()))?;
                    }
                }
            }
            Err(GraphError::Protocol(format!(
                "more than {MAX_TEMPLATE_PAGES} pages of templates"
            )))
        }
        .instrument(span)
        .await
    }

    /// `{base}/{version}/{segments…}`, each segment percent-encoded (ids never change the path).
    fn endpoint(&self, segments: &[&str]) -> Result<Url, GraphError> {
        if segments.iter().any(|s| s.is_empty()) {
            return Err(GraphError::Unsendable("an id in the request path is empty"));
        }
        let mut url = Url::parse(&self.base_url)
            .map_err(|_| GraphError::Protocol("the graph base url is not a url".into()))?;
        url.path_segments_mut()
            .map_err(|_| GraphError::Protocol("the graph base url cannot have a path".into()))?
            .pop_if_empty()
            .push(&self.api_version)
            .extend(segments);
        Ok(url)
    }

    /// Runs one request with the retry policy; the body of the first 2xx answer.
    async fn execute<F>(
        &self,
        token: &str,
        timeout: Duration,
        build: F,
    ) -> Result<Vec<u8>, GraphError>
    where
        F: Fn() -> Result<reqwest::RequestBuilder, GraphError>,
    {
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            tracing::Span::current().record("attempts", attempt);
            let request = build()?.bearer_auth(token).timeout(timeout);
            let failure = match request.send().await {
                Err(err) if err.is_builder() => {
                    return Err(GraphError::Protocol(describe(err)));
                }
                Err(err) => Transient {
                    reason: describe(err),
                    error: None,
                    retry_after: None,
                },
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    match response.bytes().await {
                        Err(err) => Transient {
                            reason: format!("reading the answer: {}", describe(err)),
                            error: None,
                            retry_after,
                        },
                        Ok(body) if status.is_success() => return Ok(Vec::from(body)),
                        Ok(body) => {
                            let error = provider_error(&body);
                            if !is_transient(status, error.as_ref()) {
                                let error = error.unwrap_or_else(|| bare_error(status, &body));
                                tracing::debug!(
                                    status = status.as_u16(),
                                    code = error.code,
                                    "graph request refused"
                                );
                                return Err(GraphError::Rejected {
                                    status: status.as_u16(),
                                    error,
                                });
                            }
                            let reason = match &error {
                                Some(e) => format!(
                                    "http {}, code {}: {}",
                                    status.as_u16(),
                                    e.code,
                                    e.message
                                ),
                                None => format!("http {}", status.as_u16()),
                            };
                            Transient {
                                reason,
                                error,
                                retry_after,
                            }
                        }
                    }
                }
            };
            if attempt >= max_attempts {
                tracing::warn!(attempts = attempt, reason = %failure.reason, "graph request gave up");
                return Err(GraphError::Unavailable {
                    attempts: attempt,
                    last: failure.reason,
                    error: failure.error,
                });
            }
            let wait = self.retry.delay(attempt, failure.retry_after);
            tracing::debug!(
                attempt,
                reason = %failure.reason,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "graph request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// Whether a non-2xx answer may pass later: 429, 5xx, and the rate-limit codes under any status.
fn is_transient(status: StatusCode, error: Option<&ProviderError>) -> bool {
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        return true;
    }
    error.is_some_and(|e| RATE_LIMIT_CODES.contains(&e.code) || e.code == SERVICE_UNAVAILABLE_CODE)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Graph and is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A transport error in words, without its URL (download and paging URLs carry credentials).
fn describe(err: reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let err = err.without_url();
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The Graph error object: `{"error":{"message","type","code","error_subcode","error_data":
/// {"messaging_product","details"},"fbtrace_id"}}`.
#[derive(Deserialize)]
struct GraphErrorEnvelope {
    error: GraphErrorObject,
}

#[derive(Deserialize)]
struct GraphErrorObject {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error_user_title: String,
    #[serde(default)]
    error_data: Option<Value>,
}

/// WhatsApp's error from an answer body, when it is a Graph error.
fn provider_error(body: &[u8]) -> Option<ProviderError> {
    let envelope: GraphErrorEnvelope = serde_json::from_slice(body).ok()?;
    let e = envelope.error;
    let details = match &e.error_data {
        Some(Value::Object(data)) => data
            .get("details")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        Some(Value::String(text)) => text.clone(),
        _ => String::new(),
    };
    // The code's title travels inside the message ("(#131047) Re-engagement message").
    let title = if e.error_user_title.is_empty() {
        strip_code_prefix(&e.message).to_owned()
    } else {
        e.error_user_title
    };
    Some(ProviderError {
        code: e.code,
        title,
        message: e.message,
        details,
    })
}

fn strip_code_prefix(message: &str) -> &str {
    match message.strip_prefix("(#") {
        Some(rest) => rest.split_once(") ").map_or(message, |(_, title)| title),
        None => message,
    }
}

/// An error for a refusal that carried no Graph error (a proxy page, an empty body).
fn bare_error(status: StatusCode, body: &[u8]) -> ProviderError {
    let text = String::from_utf8_lossy(body);
    ProviderError {
        code: 0,
        title: status.canonical_reason().unwrap_or("error").to_owned(),
        message: format!("http {}", status.as_u16()),
        details: text.chars().take(300).collect(),
    }
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, GraphError> {
    serde_json::from_slice(body).map_err(|e| GraphError::Protocol(e.to_string()))
}

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    #[serde(default)]
    id: String,
}

#[derive(Deserialize)]
struct SuccessAnswer {
    #[serde(default)]
    success: bool,
}

#[derive(Deserialize)]
struct IdAnswer {
    #[serde(default)]
    id: String,
}

#[derive(Deserialize)]
struct MediaAnswer {
    #[serde(default)]
    url: String,
    #[serde(default)]
    mime_type: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    file_size: Lenient,
}

/// An integer that Graph sometimes writes as a string (`"file_size": "303833"`).
#[derive(Default)]
struct Lenient(i64);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_i64()
                .map(Lenient)
                .ok_or_else(|| serde::de::Error::custom("file_size is not an integer")),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Lenient)
                .map_err(|_| serde::de::Error::custom("file_size is not an integer")),
            Value::Null => Ok(Lenient(0)),
            _ => Err(serde::de::Error::custom("file_size is not an integer")),
        }
    }
}

#[derive(Deserialize)]
struct TemplatesAnswer {
    #[serde(default)]
    data: Vec<TemplateJson>,
    #[serde(default)]
    paging: Option<PagingJson>,
}

#[derive(Deserialize)]
struct PagingJson {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct TemplateJson {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    components: Vec<TemplateComponentJson>,
}

#[derive(Deserialize)]
struct TemplateComponentJson {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    buttons: Vec<TemplateButtonJson>,
}

#[derive(Deserialize)]
struct TemplateButtonJson {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    phone_number: String,
}

impl From<TemplateJson> for RemoteTemplate {
    fn from(t: TemplateJson) -> Self {
        let mut template = RemoteTemplate {
            id: t.id,
            name: t.name,
            language: t.language,
            status: t.status,
            category: t.category,
            header_format: String::new(),
            header_text: String::new(),
            body_text: String::new(),
            footer_text: String::new(),
            buttons: Vec::new(),
            body_parameter_count: 0,
        };
        for c in t.components {
            match c.kind.to_ascii_uppercase().as_str() {
                "HEADER" => {
                    template.header_format = c.format.to_ascii_uppercase();
                    template.header_text = c.text;
                }
                "BODY" => template.body_text = c.text,
                "FOOTER" => template.footer_text = c.text,
                "BUTTONS" => {
                    template.buttons = c
                        .buttons
                        .into_iter()
                        .map(|b| RemoteButton {
                            kind: b.kind,
                            text: b.text,
                            value: if b.url.is_empty() {
                                b.phone_number
                            } else {
                                b.url
                            },
                        })
                        .collect();
                }
                _ => {}
            }
        }
        template.body_parameter_count =
            i32::try_from(placeholder_count(&template.body_text)).unwrap_or(i32::MAX);
        template
    }
}

/// Distinct `{{…}}` placeholders in a template text (`{{1}}` twice counts once).
fn placeholder_count(text: &str) -> usize {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
        rest = &after[end + 2..];
    }
    names.len()
}

/// The send request body for `content`, as the Cloud API expects it.
fn message_body(to: &str, content: &Content, reply_to: Option<&str>) -> Result<Value, GraphError> {
    let (kind, payload) = match content {
        Content::Text { body, preview_url } => {
            ("text", json!({ "preview_url": preview_url, "body": body }))
        }
        Content::Media(media) => (media.kind.as_str(), media_object(media, true)?),
        Content::Location(location) => ("location", location_object(location)),
        Content::Contacts { contacts } => {
            if contacts.is_empty() {
                return Err(GraphError::Unsendable(
                    "a contacts message without contacts",
                ));
            }
            let cards = contacts
                .iter()
                .map(contact_card)
                .collect::<Result<Vec<_>, _>>()?;
            ("contacts", Value::Array(cards))
        }
        Content::Reaction(reaction) => {
            if reaction.wamid.is_empty() {
                return Err(GraphError::Unsendable(
                    "a reaction without the wamid it reacts to",
                ));
            }
            (
                "reaction",
                json!({ "message_id": reaction.wamid, "emoji": reaction.emoji }),
            )
        }
        Content::Template(template) => ("template", template_object(template)?),
        Content::Interactive(_) => {
            return Err(GraphError::Unsendable(
                "an interactive reply is received, not sent",
            ));
        }
        Content::Button(_) => {
            return Err(GraphError::Unsendable(
                "a template button reply is received, not sent",
            ));
        }
        Content::Unsupported(_) => {
            return Err(GraphError::Unsendable(
                "an unsupported message cannot be sent",
            ));
        }
    };
    let mut body = Map::new();
    body.insert("messaging_product".into(), "whatsapp".into());
    body.insert("recipient_type".into(), "individual".into());
    body.insert("to".into(), to.into());
    if let Some(wamid) = reply_to.filter(|w| !w.is_empty()) {
        body.insert("context".into(), json!({ "message_id": wamid }));
    }
    body.insert("type".into(), kind.into());
    body.insert(kind.into(), payload);
    Ok(Value::Object(body))
}

/// `{"id"|"link", "caption"?, "filename"?}`: the id wins when both are known; captions only
/// where WhatsApp takes them (image, video, document) and never on template headers.
fn media_object(media: &Media, with_caption: bool) -> Result<Value, GraphError> {
    let mut object = Map::new();
    if !media.media_id.is_empty() {
        object.insert("id".into(), media.media_id.clone().into());
    } else if !media.link.is_empty() {
        object.insert("link".into(), media.link.clone().into());
    } else {
        return Err(GraphError::Unsendable("a media without an id or a link"));
    }
    if with_caption && media.kind.takes_caption() && !media.caption.is_empty() {
        object.insert("caption".into(), media.caption.clone().into());
    }
    if media.kind == MediaKind::Document && !media.filename.is_empty() {
        object.insert("filename".into(), media.filename.clone().into());
    }
    Ok(Value::Object(object))
}

fn location_object(location: &Location) -> Value {
    let mut object = Map::new();
    object.insert("latitude".into(), location.latitude.into());
    object.insert("longitude".into(), location.longitude.into());
    if !location.name.is_empty() {
        object.insert("name".into(), location.name.clone().into());
    }
    if !location.address.is_empty() {
        object.insert("address".into(), location.address.clone().into());
    }
    Value::Object(object)
}

/// A contact card. WhatsApp wants `formatted_name` plus at least one name part, so the
/// formatted name is split into a first name and the rest.
fn contact_card(contact: &SharedContact) -> Result<Value, GraphError> {
    let formatted = contact.formatted_name.trim();
    if formatted.is_empty() {
        return Err(GraphError::Unsendable("a contact card without a name"));
    }
    let mut name = Map::new();
    name.insert("formatted_name".into(), formatted.into());
    match formatted.split_once(char::is_whitespace) {
        Some((first, last)) => {
            name.insert("first_name".into(), first.into());
            name.insert("last_name".into(), last.trim().into());
        }
        None => {
            name.insert("first_name".into(), formatted.into());
        }
    }
    let mut card = Map::new();
    card.insert("name".into(), Value::Object(name));
    if !contact.phones.is_empty() {
        let phones = contact
            .phones
            .iter()
            .map(|p| {
                let mut phone = Map::new();
                phone.insert("phone".into(), p.phone.clone().into());
                if !p.label.is_empty() {
                    phone.insert("type".into(), p.label.clone().into());
                }
                if !p.wa_id.is_empty() {
                    phone.insert("wa_id".into(), p.wa_id.clone().into());
                }
                Value::Object(phone)
            })
            .collect();
        card.insert("phones".into(), Value::Array(phones));
    }
    if !contact.emails.is_empty() {
        let emails = contact
            .emails
            .iter()
            .map(|e| {
                let mut email = Map::new();
                email.insert("email".into(), e.address.clone().into());
                if !e.label.is_empty() {
                    email.insert("type".into(), e.label.clone().into());
                }
                Value::Object(email)
            })
            .collect();
        card.insert("emails".into(), Value::Array(emails));
    }
    if !contact.company.is_empty() {
        card.insert("org".into(), json!({ "company": contact.company }));
    }
    Ok(Value::Object(card))
}

/// `{"name", "language": {"code"}, "components": [...]}`; components without parameters are
/// left out (a static header or a quick reply without payload needs none).
fn template_object(template: &TemplateMessage) -> Result<Value, GraphError> {
    if template.name.is_empty() || template.language_code.is_empty() {
        return Err(GraphError::Unsendable(
            "a template without a name or a language",
        ));
    }
    let components = template
        .components
        .iter()
        .filter(|c| !c.parameters.is_empty())
        .map(template_component)
        .collect::<Result<Vec<_>, _>>()?;
    let mut object = Map::new();
    object.insert("name".into(), template.name.clone().into());
    object.insert("language".into(), json!({ "code": template.language_code }));
    if !components.is_empty() {
        object.insert("components".into(), Value::Array(components));
    }
    Ok(Value::Object(object))
}

fn template_component(component: &TemplateComponent) -> Result<Value, GraphError> {
    let parameters = component
        .parameters
        .iter()
        .map(template_parameter)
        .collect::<Result<Vec<_>, _>>()?;
    let mut object = Map::new();
    match component.kind {
        ComponentKind::Header => {
            object.insert("type".into(), "header".into());
        }
        ComponentKind::Body => {
            object.insert("type".into(), "body".into());
        }
        ComponentKind::Button => {
            if component.button_sub_type.is_empty() {
                return Err(GraphError::Unsendable(
                    "a template button without a sub_type",
                ));
            }
            object.insert("type".into(), "button".into());
            object.insert("sub_type".into(), component.button_sub_type.clone().into());
            object.insert("index".into(), component.button_index.to_string().into());
        }
    }
    object.insert("parameters".into(), Value::Array(parameters));
    Ok(Value::Object(object))
}

fn template_parameter(parameter: &TemplateParameter) -> Result<Value, GraphError> {
    Ok(match parameter {
        TemplateParameter::Text(text) => json!({ "type": "text", "text": text }),
        TemplateParameter::Payload(payload) => json!({ "type": "payload", "payload": payload }),
        TemplateParameter::Media(media) => {
            if !matches!(
                media.kind,
                MediaKind::Image | MediaKind::Video | MediaKind::Document
            ) {
                return Err(GraphError::Unsendable(
                    "template media parameters are images, videos or documents",
                ));
            }
            let kind = media.kind.as_str();
            json!({ "type": kind, kind: media_object(media, false)? })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::content::{InteractiveKind, InteractiveReply, Reaction};

    fn media(kind: MediaKind) -> Media {
        Media {
            kind,
            media_id: String::new(),
            link: String::new(),
            mime_type: String::new(),
            sha256: String::new(),
            caption: String::new(),
            filename: String::new(),
            voice: false,
            animated: false,
            size_bytes: 0,
        }
    }

    #[test]
    fn full_jitter_stays_under_the_exponential_ceiling_and_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
        };
        for _ in 0..200 {
            assert!(policy.delay(1, None) <= Duration::from_millis(100));
            assert!(policy.delay(2, None) <= Duration::from_millis(200));
            assert!(policy.delay(9, None) <= Duration::from_millis(300));
            assert!(policy.delay(40, None) <= Duration::from_millis(300));
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(30))),
            Duration::from_millis(300)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_millis(50))),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn rate_limits_and_outages_are_transient_other_refusals_are_not() {
        let code = |code| ProviderError {
            code,
            title: String::new(),
            message: String::new(),
            details: String::new(),
        };
        assert!(is_transient(StatusCode::TOO_MANY_REQUESTS, None));
        assert!(is_transient(StatusCode::BAD_GATEWAY, None));
        assert!(is_transient(StatusCode::BAD_REQUEST, Some(&code(130_429))));
        assert!(is_transient(StatusCode::BAD_REQUEST, Some(&code(131_056))));
        assert!(is_transient(StatusCode::BAD_REQUEST, Some(&code(80_007))));
        assert!(!is_transient(StatusCode::BAD_REQUEST, Some(&code(132_000))));
        assert!(!is_transient(StatusCode::UNAUTHORIZED, Some(&code(190))));
        assert!(!is_transient(StatusCode::NOT_FOUND, None));
    }

    #[test]
    fn graph_errors_are_read_with_their_title_and_details() {
        let body = br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"More than 24 hours have passed"},"fbtrace_id":"Ab1"}}"#;
        let error = provider_error(body).expect("a graph error");
        assert_eq!(error.code, 131_047);
        assert_eq!(error.title, "Re-engagement message");
        assert_eq!(error.message, "(#131047) Re-engagement message");
        assert_eq!(error.details, "More than 24 hours have passed");
        assert!(provider_error(b"<html>bad gateway</html>").is_none());
    }

    #[test]
    fn file_size_is_read_as_a_number_or_a_string() {
        let a: MediaAnswer = serde_json::from_str(r#"{"url":"u","file_size":12}"#).unwrap();
        let b: MediaAnswer = serde_json::from_str(r#"{"url":"u","file_size":"303833"}"#).unwrap();
        assert_eq!((a.file_size.0, b.file_size.0), (12, 303_833));
    }

    #[test]
    fn placeholders_are_counted_once_each() {
        assert_eq!(placeholder_count("Hi {{1}}, order {{2}} for {{1}}"), 2);
        assert_eq!(placeholder_count("No parameters"), 0);
        assert_eq!(placeholder_count("Named {{first_name}} {{ order }}"), 2);
        assert_eq!(placeholder_count("Broken {{1"), 0);
    }

    #[test]
    fn captions_go_only_where_whatsapp_takes_them_and_filenames_only_on_documents() {
        let mut audio = media(MediaKind::Audio);
        audio.media_id = "77".into();
        audio.caption = "dropped".into();
        audio.filename = "dropped.ogg".into();
        assert_eq!(media_object(&audio, true).unwrap(), json!({ "id": "77" }));

        let mut document = media(MediaKind::Document);
        document.link = "https://example.com/a.pdf".into();
        document.caption = "Invoice".into();
        document.filename = "a.pdf".into();
        assert_eq!(
            media_object(&document, true).unwrap(),
            json!({ "link": "https://example.com/a.pdf", "caption": "Invoice", "filename": "a.pdf" })
        );
        assert!(matches!(
            media_object(&media(MediaKind::Image), true),
            Err(GraphError::Unsendable(_))
        ));
    }

    #[test]
    fn received_only_kinds_cannot_be_sent() {
        let interactive = Content::Interactive(InteractiveReply {
            kind: InteractiveKind::Button,
            reply_id: "b1".into(),
            title: "Yes".into(),
            description: String::new(),
        });
        assert!(matches!(
            message_body("1", &interactive, None),
            Err(GraphError::Unsendable(_))
        ));
        let reaction = Content::Reaction(Reaction {
            wamid: String::new(),
            message_id: String::new(),
            emoji: "👍".into(),
        });
        assert!(matches!(
            message_body("1", &reaction, None),
            Err(GraphError::Unsendable(_))
        ));
    }

    #[test]
    fn ids_are_escaped_into_one_path_segment() {
        let client = GraphClient::new("http://127.0.0.1:9/", "v21.0", RetryPolicy::default());
        let url = client.endpoint(&["12/../34", "messages"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/v21.0/12%2F..%2F34/messages"
        );
        assert!(client.endpoint(&["", "messages"]).is_err());
    }
}
