//! TEMPORARY stand-in with the agreed API; replaced by the parser being written.
#![allow(dead_code, unused_variables)]
use super::{
    content::{Content, ProviderError},
    status::Status,
};
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing")]
    Missing,
    #[error("malformed")]
    Malformed,
    #[error("mismatch")]
    Mismatch,
}
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("json {0}")]
    Json(String),
    #[error("not whatsapp {0}")]
    NotWhatsApp(String),
}
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub changes: Vec<Change>,
    pub ignored_fields: Vec<String>,
}
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub waba_id: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub profiles: Vec<Profile>,
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    pub errors: Vec<ProviderError>,
    pub skipped_messages: usize,
    pub skipped_statuses: usize,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub wa_id: String,
    pub name: String,
}
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub wamid: String,
    pub from: String,
    pub timestamp_secs: i64,
    pub content: Content,
    pub context: Option<Context>,
    pub errors: Vec<ProviderError>,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub from: String,
    pub wamid: String,
}
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: Status,
    pub timestamp_secs: i64,
    pub recipient_id: String,
    pub conversation_id: String,
    pub origin: String,
    pub pricing_category: String,
    pub errors: Vec<ProviderError>,
}
pub fn verify_signature(
    app_secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    Err(SignatureError::Missing)
}
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    String::new()
}
pub fn parse(body: &[u8]) -> Result<Notification, ParseError> {
    Err(ParseError::Json(String::new()))
}
