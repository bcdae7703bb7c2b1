//! Meta's webhook for WhatsApp: the `X-Hub-Signature-256` check and a parser of the POST body
//! into messages, delivery statuses and customer profiles. Pure code: no I/O, no HTTP types.
//!
//! The parser is lenient on purpose. Meta retries a webhook it considers failed for up to 7
//! days, so refusing a body over one odd field would only bring it back again and again; what
//! it cannot read it keeps (an unknown message type becomes [`Content::Unsupported`] with the
//! original JSON) or counts (a message without `id` or `from`, a status it does not know). Only
//! a body that is not a WhatsApp notification at all is an error.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::content::{
    ButtonReply, Content, InteractiveKind, InteractiveReply, Location, Media, MediaKind,
    ProviderError, Reaction, SharedContact, SharedEmail, SharedPhone, Unsupported,
};
use super::status::Status;

/// The largest body Meta sends (3 MB); the HTTP layer refuses bigger ones before parsing.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// The `object` of every WhatsApp Business notification.
const WHATSAPP_OBJECT: &str = "whatsapp_business_account";

/// The change `field` that carries messages and statuses.
const MESSAGES_FIELD: &str = "messages";

/// The header value's prefix.
const SIGNATURE_PREFIX: &str = "sha256=";

/// The latest timestamp taken as real (9999-12-31T23:59:59Z). Anything later, or negative, reads
/// as 0, so callers can turn seconds into milliseconds without overflowing.
const MAX_TIMESTAMP_SECS: i64 = 253_402_300_799;

/// How much of an unexpected `object` or `field` value is kept for logs.
const EXCERPT_CHARS: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    /// The header is not `sha256=` followed by 64 hex digits.
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    /// The signature does not match the body (or no app secret is configured).
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

/// Verifies `X-Hub-Signature-256` ("sha256=<hex>") over the raw body, in constant time
/// (`Mac::verify_slice`). An empty app secret verifies nothing: anyone could sign with it.
pub fn verify_signature(
    app_secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .trim()
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    if app_secret.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    let mut mac = HmacSha256::new_from_slice(app_secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// "sha256=<lowercase hex>" of body (for tests, the simulator in dev).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = HmacSha256::new_from_slice(app_secret) else {
        // Not reachable: HMAC takes keys of any length.
        return String::new();
    };
    mac.update(body);
    format!(
        "{SIGNATURE_PREFIX}{}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Why a webhook body was refused.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, not a JSON object, or `entry` is not an array.
    #[error("webhook body is not a WhatsApp notification: {0}")]
    Json(String),
    /// `object` is not "whatsapp_business_account" (the value found).
    #[error("webhook is for object {0}, not whatsapp_business_account")]
    NotWhatsApp(String),
}

/// A parsed webhook body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Notification {
    /// The `messages` changes, in the order of the body.
    pub changes: Vec<Change>,
    /// fields other than "messages" (e.g. "message_template_status_update"), kept by name for logs
    pub ignored_fields: Vec<String>,
}

/// One `messages` change: what happened on one business phone number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    /// The WhatsApp Business Account (`entry.id`).
    pub waba_id: String,
    /// The business number's id (`metadata.phone_number_id`).
    pub phone_number_id: String,
    /// The business number as displayed (`metadata.display_phone_number`).
    pub display_phone_number: String,
    /// The customers' profiles (`value.contacts`).
    pub profiles: Vec<Profile>,
    /// Customer messages.
    pub messages: Vec<InboundMessage>,
    /// Delivery statuses of messages the business sent.
    pub statuses: Vec<StatusUpdate>,
    /// value.errors[] (webhook-level errors)
    pub errors: Vec<ProviderError>,
    /// Messages left out because they have no `id` or no `from` (nothing to store them under).
    pub skipped_messages: usize,
    /// Statuses left out: no `id`, or a `status` other than sent, delivered, read or failed.
    pub skipped_statuses: usize,
}

/// A customer's WhatsApp profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The customer's WhatsApp id.
    pub wa_id: String,
    /// The profile name ("" when not shared).
    pub name: String,
}

/// A message from a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// WhatsApp's message id ("wamid.…"), the natural key.
    pub wamid: String,
    /// The sender's WhatsApp id.
    pub from: String,
    /// unix seconds (Meta sends a string)
    pub timestamp_secs: i64,
    /// What the message carries.
    pub content: Content,
    /// The message this one answers, when it is a reply.
    pub context: Option<Context>,
    /// message-level errors (e.g. type "unsupported")
    pub errors: Vec<ProviderError>,
}

/// The message a reply answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Who sent the answered message (the business number for replies to it).
    pub from: String,
    /// The answered message's wamid.
    pub wamid: String,
}

/// A delivery status of a message the business sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// The wamid of the message the status is about.
    pub wamid: String,
    /// Sent, Delivered, Read or Failed.
    pub status: Status,
    /// Unix seconds; 0 when missing or unreadable.
    pub timestamp_secs: i64,
    /// The customer's WhatsApp id.
    pub recipient_id: String,
    /// `conversation.id` ("" when absent).
    pub conversation_id: String,
    /// `conversation.origin.type` ("" when absent).
    pub origin: String,
    /// `pricing.category` ("" when absent).
    pub pricing_category: String,
    /// Why the message failed.
    pub errors: Vec<ProviderError>,
}

/// Parses a webhook POST body.
pub fn parse(body: &[u8]) -> Result<Notification, ParseError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let Value::Object(root) = root else {
        return Err(ParseError::Json("the body is not a JSON object".into()));
    };
    if let Some(object) = root.get("object")
        && object.as_str() != Some(WHATSAPP_OBJECT)
    {
        return Err(ParseError::NotWhatsApp(excerpt(&object.to_string())));
    }
    let mut notification = Notification::default();
    let entries = match root.get("entry") {
        None => return Ok(notification),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(ParseError::Json("`entry` is not an array".into())),
    };
    for entry in entries.iter().filter_map(Value::as_object) {
        let waba_id = text(entry, "id");
        for change in list(entry, "changes").iter().filter_map(Value::as_object) {
            match change.get("field") {
                // A change without a field is read as messages rather than lost.
                None | Some(Value::Null) => {}
                Some(Value::String(field)) if field == MESSAGES_FIELD => {}
                Some(Value::String(field)) => {
                    notification.ignored_fields.push(excerpt(field));
                    continue;
                }
                Some(other) => {
                    notification
                        .ignored_fields
                        .push(excerpt(&other.to_string()));
                    continue;
                }
            }
            if let Some(value) = object(change, "value") {
                notification.changes.push(parse_change(&waba_id, value));
            }
        }
    }
    Ok(notification)
}

/// One `messages` change's `value`.
fn parse_change(waba_id: &str, value: &Map<String, Value>) -> Change {
    let mut change = Change {
        waba_id: waba_id.to_owned(),
        ..Change::default()
    };
    if let Some(metadata) = object(value, "metadata") {
        change.phone_number_id = text(metadata, "phone_number_id");
        change.display_phone_number = text(metadata, "display_phone_number");
    }
    change.profiles = list(value, "contacts")
        .iter()
        .filter_map(Value::as_object)
        .filter_map(profile)
        .collect();
    for message in list(value, "messages") {
        match message.as_object().and_then(inbound_message) {
            Some(message) => change.messages.push(message),
            None => change.skipped_messages += 1,
        }
    }
    for status in list(value, "statuses") {
        match status.as_object().and_then(status_update) {
            Some(status) => change.statuses.push(status),
            None => change.skipped_statuses += 1,
        }
    }
    change.errors = provider_errors(value);
    change
}

fn profile(contact: &Map<String, Value>) -> Option<Profile> {
    Some(Profile {
        wa_id: non_empty(text(contact, "wa_id"))?,
        name: object(contact, "profile").map_or_else(String::new, |p| text(p, "name")),
    })
}

/// A message, unless it has no id or sender to be stored under.
fn inbound_message(message: &Map<String, Value>) -> Option<InboundMessage> {
    Some(InboundMessage {
        wamid: non_empty(text(message, "id"))?,
        from: non_empty(text(message, "from"))?,
        timestamp_secs: timestamp(message.get("timestamp")),
        content: content(message),
        context: object(message, "context").and_then(|context| {
            // Forwarded messages carry a context without an id: they answer nothing.
            Some(Context {
                from: text(context, "from"),
                wamid: non_empty(text(context, "id"))?,
            })
        }),
        errors: provider_errors(message),
    })
}

/// The message's content; a type not modelled, or a body that cannot be read, is kept as
/// Unsupported with the whole message object.
fn content(message: &Map<String, Value>) -> Content {
    let whatsapp_type = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    known_content(whatsapp_type, message).unwrap_or_else(|| {
        Content::Unsupported(Unsupported {
            whatsapp_type: whatsapp_type.to_owned(),
            raw_json: serde_json::to_string(message).unwrap_or_default(),
        })
    })
}

fn known_content(whatsapp_type: &str, message: &Map<String, Value>) -> Option<Content> {
    if whatsapp_type == "contacts" {
        return shared_contacts(list(message, "contacts"));
    }
    let body = object(message, whatsapp_type)?;
    match whatsapp_type {
        "text" => Some(Content::Text {
            body: scalar(body.get("body"))?,
            preview_url: false,
        }),
        "image" => media(MediaKind::Image, body),
        "audio" => media(MediaKind::Audio, body),
        "video" => media(MediaKind::Video, body),
        "document" => media(MediaKind::Document, body),
        "sticker" => media(MediaKind::Sticker, body),
        "location" => location(body),
        "interactive" => interactive(body),
        "button" => button(body),
        "reaction" => reaction(body),
        _ => None,
    }
}

fn media(kind: MediaKind, body: &Map<String, Value>) -> Option<Content> {
    Some(Content::Media(Media {
        kind,
        media_id: non_empty(text(body, "id"))?,
        link: String::new(),
        mime_type: text(body, "mime_type"),
        sha256: text(body, "sha256"),
        caption: text(body, "caption"),
        filename: text(body, "filename"),
        voice: kind == MediaKind::Audio && flag(body, "voice"),
        animated: kind == MediaKind::Sticker && flag(body, "animated"),
        size_bytes: 0,
    }))
}

fn location(body: &Map<String, Value>) -> Option<Content> {
    let latitude = number(body.get("latitude")).filter(|l| (-90.0..=90.0).contains(l))?;
    let longitude = number(body.get("longitude")).filter(|l| (-180.0..=180.0).contains(l))?;
    Some(Content::Location(Location {
        latitude,
        longitude,
        name: text(body, "name"),
        address: text(body, "address"),
        url: text(body, "url"),
    }))
}

/// Contact cards; none readable means the message is not understood.
fn shared_contacts(cards: &[Value]) -> Option<Content> {
    let contacts: Vec<SharedContact> = cards
        .iter()
        .filter_map(Value::as_object)
        .map(shared_contact)
        .collect();
    (!contacts.is_empty()).then_some(Content::Contacts { contacts })
}

fn shared_contact(card: &Map<String, Value>) -> SharedContact {
    let formatted_name = object(card, "name").map_or_else(String::new, |name| {
        non_empty(text(name, "formatted_name")).unwrap_or_else(|| {
            ["first_name", "middle_name", "last_name"]
                .iter()
                .map(|part| text(name, part))
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
    });
    let phones = list(card, "phones")
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|phone| {
            let wa_id = text(phone, "wa_id");
            Some(SharedPhone {
                phone: non_empty(text(phone, "phone")).or_else(|| non_empty(wa_id.clone()))?,
                wa_id,
                label: text(phone, "type"),
            })
        })
        .collect();
    let emails = list(card, "emails")
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|email| {
            Some(SharedEmail {
                address: non_empty(text(email, "email"))?,
                label: text(email, "type"),
            })
        })
        .collect();
    SharedContact {
        formatted_name,
        phones,
        emails,
        company: object(card, "org").map_or_else(String::new, |org| text(org, "company")),
    }
}

/// A button_reply or list_reply; other interactive replies (flows, …) are not modelled.
fn interactive(body: &Map<String, Value>) -> Option<Content> {
    let (kind, reply) = match body.get("type").and_then(Value::as_str) {
        Some("button_reply") => (InteractiveKind::Button, object(body, "button_reply")?),
        Some("list_reply") => (InteractiveKind::List, object(body, "list_reply")?),
        Some(_) => return None,
        None => match object(body, "button_reply") {
            Some(reply) => (InteractiveKind::Button, reply),
            None => (InteractiveKind::List, object(body, "list_reply")?),
        },
    };
    Some(Content::Interactive(InteractiveReply {
        kind,
        reply_id: non_empty(text(reply, "id"))?,
        title: text(reply, "title"),
        description: text(reply, "description"),
    }))
}

/// A template quick-reply tap; Meta sets the payload to the label when the template has none.
fn button(body: &Map<String, Value>) -> Option<Content> {
    let payload = text(body, "payload");
    let text = non_empty(text(body, "text")).or_else(|| non_empty(payload.clone()))?;
    Some(Content::Button(ButtonReply { text, payload }))
}

/// A reaction; no emoji means the customer removed it.
fn reaction(body: &Map<String, Value>) -> Option<Content> {
    Some(Content::Reaction(Reaction {
        wamid: non_empty(text(body, "message_id"))?,
        message_id: String::new(),
        emoji: text(body, "emoji"),
    }))
}

/// A status, unless it has no wamid or is not one of sent, delivered, read and failed.
fn status_update(status: &Map<String, Value>) -> Option<StatusUpdate> {
    let wamid = non_empty(text(status, "id"))?;
    let value = status
        .get("status")
        .and_then(Value::as_str)
        .and_then(Status::parse)
        .filter(|s| {
            matches!(
                s,
                Status::Sent | Status::Delivered | Status::Read | Status::Failed
            )
        })?;
    let conversation = object(status, "conversation");
    Some(StatusUpdate {
        wamid,
        status: value,
        timestamp_secs: timestamp(status.get("timestamp")),
        recipient_id: text(status, "recipient_id"),
        conversation_id: conversation.map_or_else(String::new, |c| text(c, "id")),
        origin: conversation
            .and_then(|c| object(c, "origin"))
            .map_or_else(String::new, |o| text(o, "type")),
        pricing_category: object(status, "pricing")
            .map_or_else(String::new, |p| text(p, "category")),
        errors: provider_errors(status),
    })
}

/// `errors[]` of a message, a status or a change value.
fn provider_errors(parent: &Map<String, Value>) -> Vec<ProviderError> {
    list(parent, "errors")
        .iter()
        .filter_map(Value::as_object)
        .map(|error| ProviderError {
            code: integer(error.get("code")).unwrap_or(0),
            title: text(error, "title"),
            message: text(error, "message"),
            details: object(error, "error_data")
                .map_or_else(String::new, |data| text(data, "details")),
        })
        .collect()
}

/// Unix seconds from a string or a number; 0 when missing, unreadable or out of range.
fn timestamp(value: Option<&Value>) -> i64 {
    integer(value)
        .filter(|secs| (0..=MAX_TIMESTAMP_SECS).contains(secs))
        .unwrap_or(0)
}

/// An integer from a number or a numeric string (fractions are cut off).
fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(whole))
        }
        _ => None,
    }
}

/// A float's integer part, when it fits in an i64.
fn whole(f: f64) -> Option<i64> {
    // i64::MAX as f64 rounds up to 2^63, hence the strict bound.
    (f.is_finite() && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f.trunc() as i64)
}

/// A finite float from a number or a numeric string.
fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// A string, or a number written out (ids and phone numbers sometimes arrive unquoted).
fn scalar(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `map[key]` as text, "" when missing or not a string or number.
fn text(map: &Map<String, Value>, key: &str) -> String {
    scalar(map.get(key)).unwrap_or_default()
}

/// `map[key]` as a bool, false unless it is `true`.
fn flag(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `map[key]` when it is an object.
fn object<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    map.get(key).and_then(Value::as_object)
}

/// `map[key]`'s items when it is an array, none otherwise.
fn list<'a>(map: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    map.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// At most [`EXCERPT_CHARS`] characters of `s`, for names that end up in logs and errors.
fn excerpt(s: &str) -> String {
    match s.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/whatsapp/", $name, ".json"))
        };
    }

    const WABA_ID: &str = "102290129340398";
    const PHONE_NUMBER_ID: &str = "106540352242922";
    const DISPLAY_PHONE_NUMBER: &str = "15550783881";
    const CUSTOMER: &str = "5491155550001";
    /// The appointment reminder the business sent (replied to, reacted to, reported on).
    const REMINDER: &str = "wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABEYEkEzRUVDNkRBOEMyRDYzNzIzOQA=";
    /// The interactive menu the business sent.
    const MENU: &str = "wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABEYEjdGMjlCQ0QxNTcxNUM1NERCRAA=";

    /// The only change of a fixture, checked against the business number every fixture uses.
    fn only_change(body: &str) -> Change {
        let notification = parse(body.as_bytes()).expect("fixture parses");
        assert!(notification.ignored_fields.is_empty());
        assert_eq!(notification.changes.len(), 1);
        let change = notification.changes.into_iter().next().expect("one change");
        assert_eq!(change.waba_id, WABA_ID);
        assert_eq!(change.phone_number_id, PHONE_NUMBER_ID);
        assert_eq!(change.display_phone_number, DISPLAY_PHONE_NUMBER);
        assert_eq!((change.skipped_messages, change.skipped_statuses), (0, 0));
        assert!(change.errors.is_empty());
        change
    }

    /// The only message of a fixture, from the customer every fixture uses.
    fn only_message(body: &str) -> InboundMessage {
        let change = only_change(body);
        assert!(change.statuses.is_empty());
        assert_eq!(change.messages.len(), 1);
        let message = change.messages.into_iter().next().expect("one message");
        assert_eq!(message.from, CUSTOMER);
        assert!(message.wamid.starts_with("wamid."));
        assert!(message.timestamp_secs > 1_700_000_000);
        message
    }

    fn only_status(body: &str) -> StatusUpdate {
        let change = only_change(body);
        assert!(change.messages.is_empty() && change.profiles.is_empty());
        assert_eq!(change.statuses.len(), 1);
        let status = change.statuses.into_iter().next().expect("one status");
        assert!(status.wamid.starts_with("wamid."));
        assert_eq!(status.recipient_id, CUSTOMER);
        status
    }

    fn media(body: &str) -> Media {
        match only_message(body).content {
            Content::Media(media) => media,
            other => panic!("expected media, got {other:?}"),
        }
    }

    fn unsupported(content: &Content) -> (&str, Value) {
        match content {
            Content::Unsupported(u) => (
                u.whatsapp_type.as_str(),
                serde_json::from_str(&u.raw_json).expect("raw_json is JSON"),
            ),
            other => panic!("expected unsupported, got {other:?}"),
        }
    }

    /// A messages webhook around one message object.
    fn with_message(message: Value) -> Vec<u8> {
        serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
                "messages": [message],
            }}]}],
        })
        .to_string()
        .into_bytes()
    }

    fn content_of(message: Value) -> Content {
        let notification = parse(&with_message(message)).expect("parses");
        notification.changes[0].messages[0].content.clone()
    }

    #[test]
    fn text_maps_to_text_with_the_customer_profile() {
        let change = only_change(fixture!("text"));
        assert_eq!(
            change.profiles,
            vec![Profile {
                wa_id: CUSTOMER.into(),
                name: "Lucía Fernández".into()
            }]
        );
        let message = &change.messages[0];
        assert_eq!(
            message.wamid,
            "wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABIYFDNBMzcyRUEwOENBQjMzRTcxQzAyAA=="
        );
        assert_eq!(message.timestamp_secs, 1_795_255_260);
        assert_eq!(
            message.content,
            Content::Text {
                body: "Hola, ¿tienen turnos para mañana a la tarde?".into(),
                preview_url: false
            }
        );
        assert_eq!(message.context, None);
        assert!(message.errors.is_empty());
    }

    #[test]
    fn a_reply_carries_the_context_of_the_message_it_answers() {
        let message = only_message(fixture!("text_reply_with_context"));
        assert_eq!(
            message.context,
            Some(Context {
                from: DISPLAY_PHONE_NUMBER.into(),
                wamid: REMINDER.into()
            })
        );
        assert_eq!(
            message.content,
            Content::Text {
                body: "Sí, a las 15 hs me queda bien".into(),
                preview_url: false
            }
        );
    }

    #[test]
    fn image_maps_to_media_with_caption() {
        assert_eq!(
            media(fixture!("image")),
            Media {
                kind: MediaKind::Image,
                media_id: "1003383421387256".into(),
                link: String::new(),
                mime_type: "image/jpeg".into(),
                sha256: "YQXWzHavQAMl6U1YjOURvlv9u3O0N9xR7KQ5F9ekPj0=".into(),
                caption: "Así quedó la pared después del arreglo".into(),
                filename: String::new(),
                voice: false,
                animated: false,
                size_bytes: 0,
            }
        );
    }

    #[test]
    fn a_voice_note_is_audio_with_voice_set() {
        let audio = media(fixture!("audio_voice"));
        assert_eq!(audio.kind, MediaKind::Audio);
        assert_eq!(audio.media_id, "1209366740562413");
        assert_eq!(audio.mime_type, "audio/ogg; codecs=opus");
        assert_eq!(audio.sha256, "btiRnOIEkKXjrYYwpPq2lHUper0H23ORjdXzb8+usRs=");
        assert!(audio.voice && !audio.animated);
        assert!(audio.caption.is_empty());
    }

    #[test]
    fn video_maps_to_media_with_caption() {
        let video = media(fixture!("video"));
        assert_eq!(video.kind, MediaKind::Video);
        assert_eq!(video.media_id, "2235178133503687");
        assert_eq!(video.mime_type, "video/mp4");
        assert_eq!(video.sha256, "DKsclhdAT68rJOIh4YnKWUWBPhTT92Y0WwnKE7vij/w=");
        assert_eq!(video.caption, "El ruido que hace el equipo");
        assert!(!video.voice);
    }

    #[test]
    fn document_keeps_its_filename_and_caption() {
        let document = media(fixture!("document"));
        assert_eq!(document.kind, MediaKind::Document);
        assert_eq!(document.media_id, "1542836679838754");
        assert_eq!(document.mime_type, "application/pdf");
        assert_eq!(
            document.sha256,
            "Q8wj+lK4e0zB0CtbEUFUFR1q3dsXyf3cBrAn+pniQAg="
        );
        assert_eq!(document.filename, "presupuesto-noviembre.pdf");
        assert_eq!(document.caption, "Presupuesto de noviembre");
    }

    #[test]
    fn an_animated_sticker_is_media_with_animated_set() {
        let sticker = media(fixture!("sticker"));
        assert_eq!(sticker.kind, MediaKind::Sticker);
        assert_eq!(sticker.media_id, "874510648117390");
        assert_eq!(sticker.mime_type, "image/webp");
        assert_eq!(
            sticker.sha256,
            "V8SxOkxzNecvFmngUG6ZII3x2gUMEl2meLI+u1W/TGE="
        );
        assert!(sticker.animated && !sticker.voice);
    }

    #[test]
    fn location_keeps_coordinates_name_and_address() {
        assert_eq!(
            only_message(fixture!("location")).content,
            Content::Location(Location {
                latitude: -34.6037345,
                longitude: -58.3815704,
                name: "Obelisco de Buenos Aires".into(),
                address: "Av. 9 de Julio s/n, C1043 CABA, Argentina".into(),
                url: String::new(),
            })
        );
    }

    #[test]
    fn contacts_map_names_phones_emails_and_company() {
        let Content::Contacts { contacts } = only_message(fixture!("contacts")).content else {
            panic!("expected contacts");
        };
        assert_eq!(
            contacts,
            vec![
                SharedContact {
                    formatted_name: "Martín Gómez".into(),
                    phones: vec![
                        SharedPhone {
                            phone: "+54 9 11 5555-0002".into(),
                            wa_id: "5491155550002".into(),
                            label: "CELL".into()
                        },
                        SharedPhone {
                            phone: "+54 11 4555-0003".into(),
                            wa_id: String::new(),
                            label: "WORK".into()
                        },
                    ],
                    emails: vec![SharedEmail {
                        address: "martin.gomez@example.com".into(),
                        label: "WORK".into()
                    }],
                    company: "Ferretería Gómez".into(),
                },
                SharedContact {
                    formatted_name: "Sofía".into(),
                    phones: vec![SharedPhone {
                        phone: "+54 9 11 5555-0004".into(),
                        wa_id: "5491155550004".into(),
                        label: "MOBILE".into()
                    }],
                    emails: vec![],
                    company: String::new(),
                },
            ]
        );
    }

    #[test]
    fn interactive_button_reply_maps_to_a_button_answer() {
        let message = only_message(fixture!("interactive_button_reply"));
        assert_eq!(
            message.content,
            Content::Interactive(InteractiveReply {
                kind: InteractiveKind::Button,
                reply_id: "confirm-appointment".into(),
                title: "Confirmar".into(),
                description: String::new(),
            })
        );
        assert_eq!(message.context.map(|c| c.wamid), Some(MENU.into()));
    }

    #[test]
    fn interactive_list_reply_maps_to_a_list_answer() {
        assert_eq!(
            only_message(fixture!("interactive_list_reply")).content,
            Content::Interactive(InteractiveReply {
                kind: InteractiveKind::List,
                reply_id: "branch-palermo".into(),
                title: "Sucursal Palermo".into(),
                description: "Av. Santa Fe 3253, CABA".into(),
            })
        );
    }

    #[test]
    fn a_template_quick_reply_maps_to_button_with_its_payload() {
        let message = only_message(fixture!("button"));
        assert_eq!(
            message.content,
            Content::Button(ButtonReply {
                text: "Hablar con un asesor".into(),
                payload: "TALK_TO_AGENT".into(),
            })
        );
        assert_eq!(message.context.map(|c| c.wamid), Some(REMINDER.into()));
    }

    #[test]
    fn a_reaction_names_the_wamid_it_reacts_to_and_no_emoji_means_removed() {
        assert_eq!(
            only_message(fixture!("reaction")).content,
            Content::Reaction(Reaction {
                wamid: REMINDER.into(),
                message_id: String::new(),
                emoji: "👍".into(),
            })
        );
        let removed = content_of(serde_json::json!({
            "from": CUSTOMER, "id": "wamid.removed", "timestamp": "1795255990",
            "type": "reaction", "reaction": {"message_id": REMINDER},
        }));
        assert_eq!(
            removed,
            Content::Reaction(Reaction {
                wamid: REMINDER.into(),
                message_id: String::new(),
                emoji: String::new(),
            })
        );
    }

    #[test]
    fn an_order_is_kept_as_unsupported_with_the_whole_message() {
        let message = only_message(fixture!("order"));
        let (whatsapp_type, raw) = unsupported(&message.content);
        assert_eq!(whatsapp_type, "order");
        let original: Value = serde_json::from_str(fixture!("order")).expect("fixture is JSON");
        assert_eq!(
            raw,
            original["entry"][0]["changes"][0]["value"]["messages"][0]
        );
        assert_eq!(
            raw["order"]["product_items"][0]["product_retailer_id"],
            "di9ozbzfi4"
        );
    }

    #[test]
    fn an_unsupported_message_keeps_its_errors() {
        let message = only_message(fixture!("unsupported"));
        let (whatsapp_type, raw) = unsupported(&message.content);
        assert_eq!(whatsapp_type, "unsupported");
        assert_eq!(raw["unsupported"]["type"], "poll_update");
        assert_eq!(
            message.errors,
            vec![ProviderError {
                code: 131051,
                title: "Message type unknown".into(),
                message: "Message type unknown".into(),
                details: "Message type is currently not supported.".into(),
            }]
        );
    }

    #[test]
    fn a_system_message_is_unsupported_and_has_no_profile() {
        let change = only_change(fixture!("system"));
        assert!(change.profiles.is_empty());
        let (whatsapp_type, raw) = unsupported(&change.messages[0].content);
        assert_eq!(whatsapp_type, "system");
        assert_eq!(raw["system"]["type"], "user_changed_number");
    }

    #[test]
    fn status_sent_carries_conversation_and_pricing() {
        assert_eq!(
            only_status(fixture!("status_sent")),
            StatusUpdate {
                wamid: REMINDER.into(),
                status: Status::Sent,
                timestamp_secs: 1_795_255_205,
                recipient_id: CUSTOMER.into(),
                conversation_id: "8f6c1d2e4b3a59607182930a4b5c6d7e".into(),
                origin: "utility".into(),
                pricing_category: "utility".into(),
                errors: vec![],
            }
        );
    }

    #[test]
    fn status_delivered_and_read_follow_the_same_wamid() {
        let delivered = only_status(fixture!("status_delivered"));
        assert_eq!(
            (delivered.wamid.as_str(), delivered.status),
            (REMINDER, Status::Delivered)
        );
        assert_eq!(delivered.timestamp_secs, 1_795_255_207);
        assert_eq!(
            delivered.conversation_id,
            "8f6c1d2e4b3a59607182930a4b5c6d7e"
        );
        let read = only_status(fixture!("status_read"));
        assert_eq!((read.wamid.as_str(), read.status), (REMINDER, Status::Read));
        assert_eq!(read.timestamp_secs, 1_795_255_230);
        assert_eq!(
            (
                read.conversation_id.as_str(),
                read.origin.as_str(),
                read.pricing_category.as_str()
            ),
            ("", "", "")
        );
    }

    #[test]
    fn status_failed_carries_the_error_details() {
        let failed = only_status(fixture!("status_failed"));
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(
            failed.errors,
            vec![ProviderError {
                code: 131047,
                title: "Re-engagement message".into(),
                message: "Re-engagement message".into(),
                details: "Message failed to send because more than 24 hours have passed since \
                          the customer last replied to this number."
                    .into(),
            }]
        );
    }

    #[test]
    fn several_entries_and_changes_are_all_read_and_other_fields_named() {
        let notification = parse(fixture!("multi_entry").as_bytes()).expect("parses");
        assert_eq!(
            notification.ignored_fields,
            vec![
                "message_template_status_update",
                "phone_number_quality_update"
            ]
        );
        let [inbound, outbound] = notification.changes.as_slice() else {
            panic!(
                "expected two messages changes, got {:?}",
                notification.changes
            );
        };
        assert_eq!(inbound.profiles.len(), 2);
        assert_eq!(inbound.profiles[1].name, "Diego Ruiz");
        let kinds: Vec<_> = inbound
            .messages
            .iter()
            .map(|m| m.content.kind_name())
            .collect();
        assert_eq!(kinds, ["text", "image"]);
        assert_eq!(inbound.messages[1].from, "5491155550004");
        assert!(outbound.messages.is_empty());
        let statuses: Vec<_> = outbound.statuses.iter().map(|s| s.status).collect();
        assert_eq!(statuses, [Status::Delivered, Status::Read]);
        assert_eq!(outbound.statuses[0].pricing_category, "service");
        for change in &notification.changes {
            assert_eq!(
                (change.waba_id.as_str(), change.phone_number_id.as_str()),
                (WABA_ID, PHONE_NUMBER_ID)
            );
        }
    }

    #[test]
    fn only_a_body_that_is_not_a_whatsapp_notification_is_an_error() {
        for body in [
            &b"not json"[..],
            b"",
            b"[]",
            b"42",
            b"\"whatsapp\"",
            b"{\"entry\": {}}",
        ] {
            assert!(
                matches!(parse(body), Err(ParseError::Json(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(matches!(
            parse(br#"{"object": "page", "entry": []}"#),
            Err(ParseError::NotWhatsApp(o)) if o == "\"page\""
        ));
        assert!(matches!(
            parse(br#"{"object": null}"#),
            Err(ParseError::NotWhatsApp(_))
        ));
        assert_eq!(
            parse(br#"{"object": "whatsapp_business_account"}"#).expect("no entry"),
            Notification::default()
        );
        assert_eq!(parse(b"{}").expect("empty"), Notification::default());
    }

    #[test]
    fn odd_shapes_inside_the_body_are_skipped_not_refused() {
        let body = br#"{"object": "whatsapp_business_account", "entry": [
            7, {"id": "1", "changes": "no"}, {"id": "2", "changes": [null, {"field": "messages", "value": []},
            {"field": 3, "value": {}}, {"value": {"messages": [{"from": "1", "id": "wamid.x", "type": "text",
            "text": {"body": "no field"}}]}}]}]}"#;
        let notification = parse(body).expect("lenient");
        assert_eq!(notification.ignored_fields, vec!["3"]);
        assert_eq!(notification.changes.len(), 1);
        assert_eq!(notification.changes[0].waba_id, "2");
        assert_eq!(notification.changes[0].messages[0].wamid, "wamid.x");
    }

    #[test]
    fn deep_nesting_is_refused_by_the_json_parser_not_by_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse(deep.as_bytes()), Err(ParseError::Json(_))));
        // Just under serde_json's limit of 128 levels, an unknown message is still kept whole.
        let nested = format!("{}1{}", "[".repeat(110), "]".repeat(110));
        let body = format!(
            r#"{{"entry": [{{"changes": [{{"value": {{"messages": [{{"id": "wamid.deep",
            "from": "{CUSTOMER}", "type": "nested", "nested": {nested}}}]}}}}]}}]}}"#
        );
        let notification = parse(body.as_bytes()).expect("within the limit");
        let (whatsapp_type, raw) = unsupported(&notification.changes[0].messages[0].content);
        assert_eq!(whatsapp_type, "nested");
        assert_eq!(
            raw["nested"],
            serde_json::from_str::<Value>(&nested).expect("JSON")
        );
    }

    #[test]
    fn unexpected_names_are_cut_short_for_logs() {
        let long = "é".repeat(1000);
        let body = serde_json::json!({"entry": [{"changes": [{"field": long}]}]});
        let notification = parse(body.to_string().as_bytes()).expect("parses");
        assert_eq!(
            notification.ignored_fields[0].chars().count(),
            EXCERPT_CHARS + 1
        );
        let body = serde_json::json!({"object": [long]});
        let Err(ParseError::NotWhatsApp(object)) = parse(body.to_string().as_bytes()) else {
            panic!("expected NotWhatsApp");
        };
        assert!(object.starts_with("[\"éé") && object.ends_with('…'));
    }

    #[test]
    fn a_message_without_id_or_sender_is_skipped_and_counted() {
        let body = serde_json::json!({"entry": [{"changes": [{"field": "messages", "value": {
            "messages": [
                {"from": CUSTOMER, "type": "text", "text": {"body": "no id"}},
                {"id": "wamid.nofrom", "type": "text", "text": {"body": "no sender"}},
                {"id": "", "from": CUSTOMER, "type": "text", "text": {"body": "empty id"}},
                "not an object",
                {"id": "wamid.kept", "from": CUSTOMER, "type": "mystery"},
            ],
            "statuses": [
                {"id": "wamid.a", "status": "deleted"},
                {"id": "wamid.b", "status": "warning"},
                {"id": "wamid.c", "status": "pending"},
                {"status": "read"},
                {"id": "wamid.d", "status": "read", "timestamp": 1795255230},
            ],
        }}]}]});
        let notification = parse(body.to_string().as_bytes()).expect("parses");
        let change = &notification.changes[0];
        assert_eq!(change.skipped_messages, 4);
        assert_eq!(change.messages.len(), 1);
        assert_eq!(unsupported(&change.messages[0].content).0, "mystery");
        assert_eq!(change.skipped_statuses, 4);
        assert_eq!(change.statuses.len(), 1);
        assert_eq!(change.statuses[0].timestamp_secs, 1_795_255_230);
    }

    #[test]
    fn timestamps_read_from_strings_or_numbers_and_otherwise_zero() {
        let cases = [
            (serde_json::json!("1795255260"), 1_795_255_260),
            (serde_json::json!(1795255260), 1_795_255_260),
            (serde_json::json!(" 1795255260 "), 1_795_255_260),
            (serde_json::json!(1795255260.7), 1_795_255_260),
            (serde_json::json!("yesterday"), 0),
            (serde_json::json!(-5), 0),
            (serde_json::json!(i64::MAX), 0),
            (serde_json::json!(u64::MAX), 0),
            (serde_json::json!(1e300), 0),
            (serde_json::json!(null), 0),
            (serde_json::json!({}), 0),
        ];
        for (timestamp, expected) in cases {
            let body = with_message(serde_json::json!({
                "from": CUSTOMER, "id": "wamid.t", "timestamp": timestamp.clone(),
                "type": "text", "text": {"body": "hola"},
            }));
            let message = &parse(&body).expect("parses").changes[0].messages[0];
            assert_eq!(message.timestamp_secs, expected, "{timestamp}");
        }
    }

    #[test]
    fn a_known_type_with_an_unreadable_body_is_kept_as_unsupported() {
        let broken = [
            serde_json::json!({"type": "text"}),
            serde_json::json!({"type": "text", "text": {"body": null}}),
            serde_json::json!({"type": "text", "text": "hola"}),
            serde_json::json!({"type": "image", "image": {"mime_type": "image/jpeg"}}),
            serde_json::json!({"type": "location", "location": {"latitude": "here", "longitude": 1}}),
            serde_json::json!({"type": "location", "location": {"latitude": 91, "longitude": 1}}),
            serde_json::json!({"type": "contacts", "contacts": []}),
            serde_json::json!({"type": "interactive", "interactive": {"type": "nfm_reply",
                "nfm_reply": {"response_json": "{}", "name": "flow"}}}),
            serde_json::json!({"type": "interactive", "interactive": {"type": "button_reply",
                "button_reply": {"title": "no id"}}}),
            serde_json::json!({"type": "button", "button": {}}),
            serde_json::json!({"type": "reaction", "reaction": {"emoji": "👍"}}),
            serde_json::json!({"type": 5}),
            serde_json::json!({}),
        ];
        for mut message in broken {
            message["id"] = "wamid.broken".into();
            message["from"] = CUSTOMER.into();
            let content = content_of(message.clone());
            let (whatsapp_type, raw) = unsupported(&content);
            assert_eq!(whatsapp_type, message["type"].as_str().unwrap_or(""));
            assert_eq!(raw, message);
        }
    }

    #[test]
    fn near_misses_are_read_leniently() {
        // Numbers where Meta sends strings, a location as strings, a forwarded message's context.
        let message = serde_json::json!({
            "from": 5491155550001_i64, "id": "wamid.n", "timestamp": "1795255260",
            "type": "location", "location": {"latitude": "-34.6", "longitude": "-58.38"},
            "context": {"forwarded": true},
        });
        let notification = parse(&with_message(message)).expect("parses");
        let message = &notification.changes[0].messages[0];
        assert_eq!(message.from, CUSTOMER);
        assert_eq!(message.context, None);
        assert!(matches!(
            message.content,
            Content::Location(Location { latitude, longitude, .. }) if latitude == -34.6 && longitude == -58.38
        ));
        // A button without text shows its payload; an interactive reply without a type is read
        // by the reply it carries.
        assert_eq!(
            content_of(serde_json::json!({"from": "1", "id": "w", "type": "button",
                "button": {"payload": "Sí"}})),
            Content::Button(ButtonReply {
                text: "Sí".into(),
                payload: "Sí".into()
            })
        );
        assert!(matches!(
            content_of(
                serde_json::json!({"from": "1", "id": "w", "type": "interactive",
                "interactive": {"list_reply": {"id": "row-1"}}})
            ),
            Content::Interactive(InteractiveReply {
                kind: InteractiveKind::List,
                ..
            })
        ));
    }

    #[test]
    fn webhook_level_errors_are_kept() {
        let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID,
            "changes": [{"field": "messages", "value": {"errors": [{"code": "131000",
            "title": "Something went wrong", "message": "Something went wrong",
            "error_data": {"details": "Unknown error"}}, {"title": "no code"}, 3]}}]}]});
        let notification = parse(body.to_string().as_bytes()).expect("parses");
        assert_eq!(
            notification.changes[0].errors,
            vec![
                ProviderError {
                    code: 131000,
                    title: "Something went wrong".into(),
                    message: "Something went wrong".into(),
                    details: "Unknown error".into(),
                },
                ProviderError {
                    code: 0,
                    title: "no code".into(),
                    message: String::new(),
                    details: String::new(),
                },
            ]
        );
    }

    #[test]
    fn every_fixture_parses() {
        let all = [
            fixture!("text"),
            fixture!("text_reply_with_context"),
            fixture!("image"),
            fixture!("audio_voice"),
            fixture!("video"),
            fixture!("document"),
            fixture!("sticker"),
            fixture!("location"),
            fixture!("contacts"),
            fixture!("interactive_button_reply"),
            fixture!("interactive_list_reply"),
            fixture!("button"),
            fixture!("reaction"),
            fixture!("order"),
            fixture!("unsupported"),
            fixture!("system"),
            fixture!("status_sent"),
            fixture!("status_delivered"),
            fixture!("status_read"),
            fixture!("status_failed"),
            fixture!("multi_entry"),
        ];
        for body in all {
            assert!(body.len() < MAX_BODY_BYTES);
            let notification = parse(body.as_bytes()).expect("fixture parses");
            assert!(!notification.changes.is_empty());
        }
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_body_signed_with_the_app_secret_verifies() {
        let body = fixture!("text").as_bytes();
        let header = sign(SECRET, body);
        assert!(header.starts_with("sha256="));
        assert_eq!(header.len(), "sha256=".len() + 64);
        assert_eq!(header, header.to_lowercase());
        assert_eq!(verify_signature(SECRET, body, Some(&header)), Ok(()));
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_eq!(verify_signature(SECRET, body, Some(&upper)), Ok(()));
    }

    #[test]
    fn a_known_hmac_sha256_vector_signs_as_expected() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_missing_or_malformed_signature_is_refused() {
        let body = fixture!("text").as_bytes();
        let digest = &sign(SECRET, body)["sha256=".len()..];
        assert_eq!(
            verify_signature(SECRET, body, None),
            Err(SignatureError::Missing)
        );
        for header in [
            String::new(),
            digest.to_owned(),
            format!("sha1={digest}"),
            format!("sha1={}", &digest[..40]),
            "sha256=".to_owned(),
            format!("sha256={}", &digest[..62]),
            format!("sha256={digest}00"),
            format!("sha256={}zz", &digest[..62]),
            "sha256=not-hex-at-all".to_owned(),
        ] {
            assert_eq!(
                verify_signature(SECRET, body, Some(&header)),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn a_signature_that_does_not_match_is_refused() {
        let body = fixture!("text").as_bytes();
        let header = sign(SECRET, body);
        assert_eq!(
            verify_signature(b"another secret", body, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, body, Some(&sign(SECRET, b"another body"))),
            Err(SignatureError::Mismatch)
        );
        // Anyone can sign with an empty secret: an unconfigured app verifies nothing.
        assert_eq!(
            verify_signature(b"", body, Some(&sign(b"", body))),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_body_changed_by_one_byte_no_longer_verifies() {
        let body = fixture!("text").as_bytes();
        let header = sign(SECRET, body);
        for i in [0, body.len() / 2, body.len() - 1] {
            let mut changed = body.to_vec();
            changed[i] ^= 0x01;
            assert_eq!(
                verify_signature(SECRET, &changed, Some(&header)),
                Err(SignatureError::Mismatch)
            );
        }
        let mut longer = body.to_vec();
        longer.push(b' ');
        assert_eq!(
            verify_signature(SECRET, &longer, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }
}
