//! What a WhatsApp message carries, independent of the webhook, the Graph API and storage.
//! Stored as JSON (serde) in the message row; converted to and from protobuf in `grpc`.

use serde::{Deserialize, Serialize};

/// Image, audio, video, document or sticker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl MediaKind {
    /// WhatsApp's `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    /// Whether WhatsApp accepts a caption on this kind.
    pub fn takes_caption(self) -> bool {
        matches!(
            self,
            MediaKind::Image | MediaKind::Video | MediaKind::Document
        )
    }
}

/// A media attachment: by WhatsApp media id (inbound, or uploaded) or by public link (outbound).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    pub kind: MediaKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub caption: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filename: String,
    #[serde(default)]
    pub voice: bool,
    #[serde(default)]
    pub animated: bool,
    #[serde(default)]
    pub size_bytes: i64,
}

/// A location pin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub url: String,
}

/// A phone of a shared contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedPhone {
    pub phone: String,
    #[serde(default)]
    pub wa_id: String,
    #[serde(default)]
    pub label: String,
}

/// An email of a shared contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedEmail {
    pub address: String,
    #[serde(default)]
    pub label: String,
}

/// One contact card shared by the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedContact {
    pub formatted_name: String,
    #[serde(default)]
    pub phones: Vec<SharedPhone>,
    #[serde(default)]
    pub emails: Vec<SharedEmail>,
    #[serde(default)]
    pub company: String,
}

/// Which interactive element the customer answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractiveKind {
    Button,
    List,
}

/// The answer to an interactive message (button_reply or list_reply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractiveReply {
    pub kind: InteractiveKind,
    pub reply_id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
}

/// A template quick-reply button tap (`type: "button"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonReply {
    pub text: String,
    #[serde(default)]
    pub payload: String,
}

/// A reaction to a message, named by its wamid (the msg_ id is resolved when stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub wamid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_id: String,
    /// Empty: the reaction was removed.
    #[serde(default)]
    pub emoji: String,
}

/// Where a template parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    Header,
    Body,
    Button,
}

/// One template parameter value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateParameter {
    Text(String),
    Media(Media),
    Payload(String),
}

/// The parameters of one template component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateComponent {
    pub kind: ComponentKind,
    /// Buttons: "quick_reply" or "url".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub button_sub_type: String,
    #[serde(default)]
    pub button_index: i32,
    #[serde(default)]
    pub parameters: Vec<TemplateParameter>,
}

/// A template message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateMessage {
    pub name: String,
    pub language_code: String,
    #[serde(default)]
    pub components: Vec<TemplateComponent>,
    /// The body with its parameters filled in, for display.
    #[serde(default)]
    pub rendered_body: String,
}

/// A message type Switchboard does not model, kept as WhatsApp sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsupported {
    pub whatsapp_type: String,
    /// The message object as received (JSON).
    pub raw_json: String,
}

/// The content of a message: exactly one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    Text {
        body: String,
        #[serde(default)]
        preview_url: bool,
    },
    Media(Media),
    Location(Location),
    Contacts {
        contacts: Vec<SharedContact>,
    },
    Interactive(InteractiveReply),
    Button(ButtonReply),
    Reaction(Reaction),
    Template(TemplateMessage),
    Unsupported(Unsupported),
}

impl Content {
    /// A short label of the kind, for metrics and logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Media(m) => m.kind.as_str(),
            Content::Location(_) => "location",
            Content::Contacts { .. } => "contacts",
            Content::Interactive(_) => "interactive",
            Content::Button(_) => "button",
            Content::Reaction(_) => "reaction",
            Content::Template(_) => "template",
            Content::Unsupported(_) => "unsupported",
        }
    }

    /// What a person wrote in it: a text's body, a media caption, the title of a chosen reply
    /// or button; empty for content without words.
    pub fn words(&self) -> &str {
        match self {
            Content::Text { body, .. } => body,
            Content::Media(m) => &m.caption,
            Content::Interactive(r) => &r.title,
            Content::Button(b) => &b.text,
            _ => "",
        }
    }

    /// Whether this is a free-form message (only inside the 24-hour window); templates are not.
    pub fn is_free_form(&self) -> bool {
        !matches!(self, Content::Template(_))
    }
}

/// An error WhatsApp reported (a failed status, a refused send).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    pub code: i64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub details: String,
}
