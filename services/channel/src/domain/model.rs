//! The channel's records: WhatsApp numbers, contacts and messages, as the domain sees them.

use std::collections::BTreeMap;

use switchboard_runtime::ids::{
    CampaignId, ChannelAccountId, ContactId, ConversationId, MessageId, OrganizationId,
};

use super::{
    content::{Content, ProviderError},
    status::Status,
};

/// One WhatsApp business number of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAccount {
    pub id: ChannelAccountId,
    pub organization_id: OrganizationId,
    pub display_name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub waba_id: String,
    pub access_token_secret_ref: String,
    pub disabled: bool,
    pub last_webhook_ms: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A customer reachable on WhatsApp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub organization_id: OrganizationId,
    pub wa_id: Option<String>,
    pub phone_number: String,
    pub profile_name: String,
    pub display_name: String,
    pub attributes: BTreeMap<String, String>,
    pub last_inbound_ms: Option<i64>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Its tags as first written, sorted ignoring case (see `domain::tags`).
    pub tags: Vec<String>,
}

/// At most this many attributes per contact.
pub const MAX_CONTACT_ATTRIBUTES: usize = 64;

/// Normalizes an E.164 number ("+5491155550001"; spaces, dashes, dots and parentheses are
/// dropped). None when it is not one: a "+", then 8 to 15 digits not starting with 0.
pub fn normalize_phone(value: &str) -> Option<String> {
    let trimmed: String = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = trimmed.strip_prefix('+')?;
    let valid = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    valid.then(|| format!("+{digits}"))
}

/// The E.164 number of a WhatsApp id (the number without "+"), when it is one.
pub fn phone_of_wa_id(wa_id: &str) -> Option<String> {
    normalize_phone(&format!("+{wa_id}"))
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub fn parse(value: &str) -> Self {
        if value == "inbound" {
            Direction::Inbound
        } else {
            Direction::Outbound
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    Contact(ContactId),
    Agent(String),
    System,
}

/// One WhatsApp message, inbound or outbound.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub organization_id: OrganizationId,
    pub channel_account_id: ChannelAccountId,
    pub contact_id: ContactId,
    pub conversation_id: Option<ConversationId>,
    pub direction: Direction,
    pub wamid: Option<String>,
    pub sender: Sender,
    pub content: Content,
    pub status: Status,
    pub errors: Vec<ProviderError>,
    pub reply_to_wamid: Option<String>,
    pub reply_to_message_id: Option<MessageId>,
    pub campaign_id: Option<CampaignId>,
    pub provider_ms: Option<i64>,
    pub created_ms: i64,
    pub status_ms: i64,
    pub deliver_ms: Option<i64>,
    pub read_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize_to_e164_or_are_refused() {
        assert_eq!(
            normalize_phone("+54 9 11 5555-0001").as_deref(),
            Some("+5491155550001")
        );
        assert_eq!(normalize_phone("5491155550001"), None);
        assert_eq!(normalize_phone("+0123456789"), None);
        assert_eq!(normalize_phone("+12345"), None);
        assert_eq!(normalize_phone("+1234567890123456"), None);
        assert_eq!(normalize_phone("+54911abc0001"), None);
        assert_eq!(
            phone_of_wa_id("5491155550001").as_deref(),
            Some("+5491155550001")
        );
    }
}
