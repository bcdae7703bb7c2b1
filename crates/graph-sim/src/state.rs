//! What the simulator remembers: accounts and templates (fixed), sends, media, inbound
//! messages, conversations, queued faults and the webhooks it posted.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard, RwLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use sha2::{Digest, Sha256};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{Delivery, Fault, SentRecord, SimAccount, SimConfig, SimTemplate, StatusPlan, ids};

/// A conversation (Meta's 24-hour billing window) between a number and a customer.
#[derive(Debug, Clone)]
pub(crate) struct Conversation {
    pub id: String,
    pub expires_at: u64,
    pub origin: String,
}

/// What the simulator keeps about a send besides its public record.
#[derive(Debug, Clone)]
pub(crate) struct SendMeta {
    pub phone_number_id: String,
    pub recipient: String,
    pub conversation: Conversation,
}

/// An uploaded (or customer-sent) media.
#[derive(Debug, Clone)]
pub(crate) struct StoredMedia {
    pub phone_number_id: String,
    pub waba_id: String,
    pub mime_type: String,
    pub sha256: String,
    pub data: Arc<Vec<u8>>,
}

#[derive(Default)]
pub(crate) struct State {
    pub sent: Vec<SentRecord>,
    pub send_meta: HashMap<String, SendMeta>,
    pub requests: usize,
    pub faults: VecDeque<Fault>,
    pub media: HashMap<String, StoredMedia>,
    /// Inbound wamid → the number it was sent to.
    pub inbound: HashMap<String, String>,
    /// (phone_number_id, wa_id) → when the customer last wrote (unix seconds).
    pub last_inbound: HashMap<(String, String), u64>,
    pub conversations: HashMap<(String, String), Conversation>,
    pub marked_read: Vec<String>,
    pub deliveries: Vec<Delivery>,
}

pub(crate) struct Shared {
    pub app_secret: String,
    pub accounts: Vec<SimAccount>,
    pub templates: Vec<SimTemplate>,
    pub plan: StatusPlan,
    pub callback_delay: Duration,
    pub enforce_service_window: bool,
    pub base_url: String,
    webhook_url: RwLock<Option<String>>,
    state: Mutex<State>,
    pub http: reqwest::Client,
    pub cancel: CancellationToken,
    pub tasks: TaskTracker,
}

impl Shared {
    pub fn new(config: SimConfig, base_url: String) -> anyhow::Result<Self> {
        let mut templates = config.templates;
        for (i, template) in templates.iter_mut().enumerate() {
            if template.id.is_empty() {
                template.id = format!("{}", 7_100_000_000_000_000u64 + i as u64);
            }
        }
        let http = reqwest::Client::builder()
            .user_agent("facebookexternalua")
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            app_secret: config.app_secret,
            accounts: config.accounts,
            templates,
            plan: config.status_callbacks,
            callback_delay: config.callback_delay,
            enforce_service_window: config.enforce_service_window,
            base_url,
            webhook_url: RwLock::new(config.webhook_url),
            state: Mutex::new(State::default()),
            http,
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        })
    }

    /// The mutable state; a panic elsewhere while holding it does not make it unusable.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn webhook_url(&self) -> Option<String> {
        self.webhook_url
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn set_webhook_url(&self, url: Option<String>) {
        *self
            .webhook_url
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = url;
    }

    pub fn account(&self, phone_number_id: &str) -> Option<&SimAccount> {
        self.accounts
            .iter()
            .find(|a| a.phone_number_id == phone_number_id)
    }

    pub fn token_known(&self, token: &str) -> bool {
        !token.is_empty() && self.accounts.iter().any(|a| a.token == token)
    }

    /// Whether `token` may act for the WhatsApp Business Account `waba_id`.
    pub fn token_reaches_waba(&self, token: &str, waba_id: &str) -> bool {
        self.accounts
            .iter()
            .any(|a| a.waba_id == waba_id && a.token == token)
    }

    pub fn store_media(
        &self,
        phone_number_id: &str,
        mime_type: &str,
        _filename: &str,
        data: Arc<Vec<u8>>,
    ) -> String {
        let id = ids::media_id();
        let waba_id = self
            .account(phone_number_id)
            .map(|a| a.waba_id.clone())
            .unwrap_or_default();
        let media = StoredMedia {
            phone_number_id: phone_number_id.to_owned(),
            waba_id,
            mime_type: mime_type.to_owned(),
            sha256: hex::encode(Sha256::digest(data.as_slice())),
            data,
        };
        self.state().media.insert(id.clone(), media);
        id
    }

    /// The open conversation with a customer, or a new one of `origin`.
    pub fn conversation(
        &self,
        phone_number_id: &str,
        recipient: &str,
        origin: &str,
    ) -> Conversation {
        let now = now_secs();
        let key = (phone_number_id.to_owned(), recipient.to_owned());
        let mut state = self.state();
        match state.conversations.get(&key) {
            Some(open) if open.expires_at > now => open.clone(),
            _ => {
                let conversation = Conversation {
                    id: ids::conversation_id(),
                    expires_at: now + 24 * 60 * 60,
                    origin: origin.to_owned(),
                };
                state.conversations.insert(key, conversation.clone());
                conversation
            }
        }
    }

    /// Whether the customer wrote to this number in the last 24 hours.
    pub fn window_open(&self, phone_number_id: &str, wa_id: &str) -> bool {
        let key = (phone_number_id.to_owned(), wa_id.to_owned());
        self.state()
            .last_inbound
            .get(&key)
            .is_some_and(|at| now_secs() < at + 24 * 60 * 60)
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
