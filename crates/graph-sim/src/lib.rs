//! A stand-in for Meta's side of the WhatsApp Cloud API, for tests and local runs.
//!
//! It answers the Graph API calls a WhatsApp integration makes (sends, mark-as-read, media
//! upload / info / download, template listing) the way Meta does, validates request bodies as
//! strictly as Meta, and plays Meta's webhooks back: signed status callbacks after each accepted
//! send, inbound customer messages on demand, failures on demand. Faults (429, rate-limit codes,
//! 5xx, permanent refusals, stalls) can be queued for the next sends.
//!
//! It deliberately shares no code with `switchboard-channel`: it is an independent reading of
//! Meta's contract, so a test that passes against it checks the client against the contract,
//! not against itself. Controls are also reachable over HTTP under `/_sim/` (see README.md).

#![warn(missing_docs)]

mod api;
mod control;
mod ids;
mod multipart;
mod state;
mod validate;
mod webhook;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::state::Shared;

/// One WhatsApp business phone number and the credentials that reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAccount {
    /// The phone number id (the `{phone-number-id}` of the Graph paths).
    pub phone_number_id: String,
    /// The number as displayed, digits only (webhooks' `metadata.display_phone_number`).
    pub display_phone_number: String,
    /// The WhatsApp Business Account id that owns the number and its templates.
    pub waba_id: String,
    /// The bearer token that may act for this number.
    pub token: String,
}

impl SimAccount {
    /// An account with a made-up display number.
    pub fn new(phone_number_id: &str, waba_id: &str, token: &str) -> Self {
        let digits: String = phone_number_id
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let tail = &digits[digits.len().saturating_sub(7)..];
        Self {
            phone_number_id: phone_number_id.to_owned(),
            display_phone_number: format!("1555{tail:0>7}"),
            waba_id: waba_id.to_owned(),
            token: token.to_owned(),
        }
    }
}

/// A template header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimHeader {
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT` or `LOCATION`.
    pub format: String,
    /// The text of a TEXT header (may hold one `{{1}}`).
    #[serde(default)]
    pub text: String,
}

/// A template button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimButton {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER` or `COPY_CODE`.
    pub kind: String,
    /// The label.
    pub text: String,
    /// URL buttons: the URL, possibly ending in `{{1}}` (then a send must give the suffix).
    #[serde(default)]
    pub url: String,
    /// PHONE_NUMBER buttons: the number.
    #[serde(default)]
    pub phone_number: String,
}

/// A message template of one WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimTemplate {
    /// The owning WhatsApp Business Account.
    pub waba_id: String,
    /// Template id; made up at start when empty.
    #[serde(default)]
    pub id: String,
    /// Name (unique per language).
    pub name: String,
    /// Language code, e.g. `en_US`.
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED` or `DISABLED`; only APPROVED can be sent.
    pub status: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// Optional header.
    #[serde(default)]
    pub header: Option<SimHeader>,
    /// Body text with `{{1}}`, `{{2}}`… placeholders.
    pub body: String,
    /// Footer text (no parameters).
    #[serde(default)]
    pub footer: String,
    /// Buttons, in order.
    #[serde(default)]
    pub buttons: Vec<SimButton>,
}

impl SimTemplate {
    /// An APPROVED template with a body and nothing else.
    pub fn approved(waba_id: &str, name: &str, language: &str, category: &str, body: &str) -> Self {
        Self {
            waba_id: waba_id.to_owned(),
            id: String::new(),
            name: name.to_owned(),
            language: language.to_owned(),
            status: "APPROVED".to_owned(),
            category: category.to_owned(),
            header: None,
            body: body.to_owned(),
            footer: String::new(),
            buttons: Vec::new(),
        }
    }

    /// Meta's sample template that every new WhatsApp Business Account has.
    pub fn hello_world(waba_id: &str) -> Self {
        let mut template = Self::approved(
            waba_id,
            "hello_world",
            "en_US",
            "UTILITY",
            "Welcome and congratulations!! This message demonstrates your ability to send a \
             WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for \
             taking the time to test with us.",
        );
        template.header = Some(SimHeader {
            format: "TEXT".to_owned(),
            text: "Hello World".to_owned(),
        });
        template.footer = "WhatsApp Business Platform sample message".to_owned();
        template
    }

    /// The same template with another status.
    pub fn with_status(mut self, status: &str) -> Self {
        self.status = status.to_owned();
        self
    }

    /// The same template with a header.
    pub fn with_header(mut self, format: &str, text: &str) -> Self {
        self.header = Some(SimHeader {
            format: format.to_owned(),
            text: text.to_owned(),
        });
        self
    }

    /// The same template with a footer.
    pub fn with_footer(mut self, footer: &str) -> Self {
        self.footer = footer.to_owned();
        self
    }

    /// The same template with one more button (`value`: the URL or phone number, if any).
    pub fn with_button(mut self, kind: &str, text: &str, value: &str) -> Self {
        let mut button = SimButton {
            kind: kind.to_owned(),
            text: text.to_owned(),
            url: String::new(),
            phone_number: String::new(),
        };
        match kind {
            "URL" => button.url = value.to_owned(),
            "PHONE_NUMBER" => button.phone_number = value.to_owned(),
            _ => {}
        }
        self.buttons.push(button);
        self
    }
}

/// A delivery status the simulator reports through a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Accepted and on its way.
    Sent,
    /// On the customer's phone.
    Delivered,
    /// Read by the customer.
    Read,
}

impl CallbackStatus {
    /// The webhook's `status` value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Sent => "sent",
            CallbackStatus::Delivered => "delivered",
            CallbackStatus::Read => "read",
        }
    }
}

/// Which status callbacks follow a successful send, and how faithfully-unreliably.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPlan {
    /// The statuses, in the order they happen (default: sent, delivered, read).
    pub statuses: Vec<CallbackStatus>,
    /// Post them in a random order (Meta does not guarantee order).
    pub shuffle: bool,
    /// Post each one twice (Meta delivers at least once).
    pub deliver_twice: bool,
}

impl Default for StatusPlan {
    fn default() -> Self {
        Self {
            statuses: vec![
                CallbackStatus::Sent,
                CallbackStatus::Delivered,
                CallbackStatus::Read,
            ],
            shuffle: false,
            deliver_twice: false,
        }
    }
}

impl StatusPlan {
    /// No status callbacks at all.
    pub fn none() -> Self {
        Self {
            statuses: Vec::new(),
            shuffle: false,
            deliver_twice: false,
        }
    }
}

/// The simulator's setup.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The app secret that signs webhooks (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// Where webhooks go (the channel's `POST /webhooks/whatsapp`); none: no webhooks.
    pub webhook_url: Option<String>,
    /// The phone numbers and their tokens.
    pub accounts: Vec<SimAccount>,
    /// Message templates, per WhatsApp Business Account.
    pub templates: Vec<SimTemplate>,
    /// Status callbacks after each accepted send.
    pub status_callbacks: StatusPlan,
    /// Wait before each status callback.
    pub callback_delay: Duration,
    /// Refuse free-form messages to customers who have not written in 24 hours the way Meta
    /// does: accept the send, then post a `failed` status with error 131047.
    pub enforce_service_window: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            app_secret: "sim-app-secret".to_owned(),
            webhook_url: None,
            accounts: Vec::new(),
            templates: Vec::new(),
            status_callbacks: StatusPlan::default(),
            callback_delay: Duration::from_millis(50),
            enforce_service_window: false,
        }
    }
}

/// A failure to answer instead of the real thing (see [`SimHandle::fail_next`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429, Graph error code 4 (application request limit).
    Http429,
    /// HTTP 429 with `Retry-After: <seconds>`.
    Http429RetryAfter(u64),
    /// HTTP 400 with error code 130429 (throughput limit).
    RateLimit130429,
    /// HTTP 500, error code 131000 (something went wrong).
    Http500,
    /// HTTP 503, error code 2 (service temporarily unavailable).
    Http503,
    /// HTTP 400 with this code and message: a permanent refusal.
    Reject(i64, String),
    /// Hold the request this long, then handle it normally (the send is accepted even if the
    /// caller gave up waiting: how timeouts turn into duplicates).
    Stall(Duration),
}

/// A send the simulator accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentRecord {
    /// The sending number.
    pub phone_number_id: String,
    /// The `to` of the request, as given.
    pub to: String,
    /// The wamid answered.
    pub wamid: String,
    /// The request body, as received.
    pub body: serde_json::Value,
}

/// One webhook the simulator posted (with its retries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The message the webhook is about.
    pub wamid: String,
    /// `message` (inbound) or the status: `sent`, `delivered`, `read`, `failed`.
    pub event: String,
    /// POSTs made.
    pub attempts: u32,
    /// The last HTTP status the receiver answered; none when it could not be reached.
    pub last_status: Option<u16>,
}

/// Starts simulators.
pub struct Simulator;

impl Simulator {
    /// Starts a simulator on `127.0.0.1:<free port>`.
    pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(config, listener).await
    }

    /// Starts a simulator on `listener`.
    pub async fn start_on(config: SimConfig, listener: TcpListener) -> anyhow::Result<SimHandle> {
        let addr = listener.local_addr()?;
        let base_url = base_url(addr);
        let shared = Arc::new(Shared::new(config, base_url)?);
        let app = api::router(shared.clone()).merge(control::router(shared.clone()));
        let cancel = shared.cancel.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "graph simulator stopped");
            }
        });
        tracing::info!(url = %shared.base_url, "graph simulator listening");
        Ok(SimHandle { shared, server })
    }
}

fn base_url(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// A running simulator.
pub struct SimHandle {
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl SimHandle {
    /// `http://127.0.0.1:<port>`: the Graph base URL to give the client.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Every accepted send, in order.
    pub fn sent(&self) -> Vec<SentRecord> {
        self.shared.state().sent.clone()
    }

    /// Every `POST …/messages` received, accepted or not (mark-as-read included).
    pub fn requests(&self) -> usize {
        self.shared.state().requests
    }

    /// The wamids marked as read, in order.
    pub fn marked_read(&self) -> Vec<String> {
        self.shared.state().marked_read.clone()
    }

    /// Every webhook posted so far (statuses and inbound messages).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.state().deliveries.clone()
    }

    /// The next `n` `POST …/messages` requests fail with `fault` (after any queued before).
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut state = self.shared.state();
        state.faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Sends webhooks to `url` from now on.
    pub fn set_webhook_url(&self, url: String) {
        self.shared.set_webhook_url(Some(url));
    }

    /// Stores media as if a customer had sent it; returns its media id (for inbound messages).
    pub fn add_media(&self, phone_number_id: &str, mime_type: &str, data: Vec<u8>) -> String {
        self.shared
            .store_media(phone_number_id, mime_type, "", data.into())
    }

    /// Posts a signed, Meta-shaped inbound webhook for a customer message (`message` is the
    /// per-type part, e.g. `{"type":"text","text":{"body":"hola"}}`; `id`, `from` and
    /// `timestamp` are filled in unless given). Returns the message's wamid and the HTTP status
    /// the receiver answered. One POST, no retries, so a test sees the receiver's answer.
    pub async fn customer_writes(
        &self,
        phone_number_id: &str,
        wa_id: &str,
        profile_name: &str,
        message: serde_json::Value,
    ) -> anyhow::Result<(String, u16)> {
        webhook::customer_writes(&self.shared, phone_number_id, wa_id, profile_name, message).await
    }

    /// Posts a `failed` status webhook for a sent message (one POST; returns the receiver's
    /// HTTP status).
    pub async fn fail_status(&self, wamid: &str, code: i64, title: &str) -> anyhow::Result<u16> {
        webhook::fail_status(&self.shared, wamid, code, title).await
    }

    /// Waits until `n` webhooks have been posted (retries included in one), or `timeout`.
    pub async fn wait_for_deliveries(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let deliveries = self.deliveries();
            if deliveries.len() >= n || tokio::time::Instant::now() >= deadline {
                return deliveries;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the server and pending callbacks.
    pub async fn stop(self) {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        if let Err(err) = self.server.await {
            tracing::warn!(error = %err, "graph simulator task ended badly");
        }
    }
}
