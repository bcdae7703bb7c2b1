//! Conversions between proto messages and the channel's domain types, and the request checks
//! every RPC group shares (typed ids, request ids, pages, texts).

use std::collections::BTreeMap;

use switchboard_proto::{
    channel::v1 as pb,
    common::v1 as common,
    prost_types::{Duration, Timestamp},
};

use crate::{
    app::{RecipientResult, WindowView},
    domain::{
        content::{
            ButtonReply, ComponentKind, Content, InteractiveKind, InteractiveReply, Location,
            Media, MediaKind, ProviderError, Reaction, SharedContact, SharedEmail, SharedPhone,
            TemplateComponent, TemplateMessage, TemplateParameter, Unsupported,
        },
        model::{ChannelAccount, Contact, Direction, Message, Sender},
        status::Status,
    },
    error::ChannelError,
    store::templates::StoredTemplate,
};

/// Longest template name WhatsApp accepts.
const MAX_TEMPLATE_NAME_CHARS: usize = 512;
/// Longest template language code ("es_AR", "en_US", "pt_BR").
const MAX_LANGUAGE_CODE_CHARS: usize = 16;

// ============================== Request checks ==============================

pub use switchboard_runtime::validate::Check;

/// The channel's own fields, over the runtime's one validator.
pub trait ChannelChecks {
    /// Checks a required string of ASCII digits (Meta's numeric ids).
    fn digits(&mut self, field: &str, value: &str);
}

impl ChannelChecks for Check {
    fn digits(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.bad(field, "is required");
        } else if value.len() > 64 || !value.bytes().all(|b| b.is_ascii_digit()) {
            self.bad(field, "must be Meta's numeric id (1 to 64 digits)");
        }
    }
}

impl From<switchboard_runtime::validate::Invalid> for ChannelError {
    fn from(invalid: switchboard_runtime::validate::Invalid) -> Self {
        ChannelError::InvalidArgument(invalid.0)
    }
}

/// A value a passed [`Check`] guarantees. Every check that yields None also records a
/// violation, so after `done()` this never fails; if it does, the request is refused rather
/// than the process panicking.
pub fn valid<T>(value: Option<T>) -> Result<T, ChannelError> {
    value.ok_or_else(|| ChannelError::field("request", "is incomplete"))
}

// ============================== Time and pages ==============================

/// A `Timestamp` of milliseconds since the epoch.
pub fn timestamp_ms(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// A `Timestamp` when the time is known.
pub fn opt_timestamp(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(timestamp_ms)
}

/// Milliseconds since the epoch of a `Timestamp`.
pub fn ms_of(t: &Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// A `Duration` of milliseconds.
pub fn duration_ms(ms: i64) -> Duration {
    Duration {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn id_or_empty(id: Option<&impl ToString>) -> String {
    id.map(ToString::to_string).unwrap_or_default()
}

// ============================== Accounts and contacts ==============================

/// A channel account as the API shows it.
pub fn account_to_pb(a: &ChannelAccount) -> pb::ChannelAccount {
    pb::ChannelAccount {
        id: a.id.to_string(),
        organization_id: a.organization_id.to_string(),
        display_name: a.display_name.clone(),
        phone_number_id: a.phone_number_id.clone(),
        display_phone_number: a.display_phone_number.clone(),
        waba_id: a.waba_id.clone(),
        access_token_secret_ref: a.access_token_secret_ref.clone(),
        disabled: a.disabled,
        last_webhook_time: opt_timestamp(a.last_webhook_ms),
        create_time: Some(timestamp_ms(a.created_ms)),
        update_time: Some(timestamp_ms(a.updated_ms)),
    }
}

/// A contact as the API shows it.
pub fn contact_to_pb(c: &Contact) -> pb::Contact {
    pb::Contact {
        id: c.id.to_string(),
        organization_id: c.organization_id.to_string(),
        wa_id: c.wa_id.clone().unwrap_or_default(),
        phone_number: c.phone_number.clone(),
        profile_name: c.profile_name.clone(),
        display_name: c.display_name.clone(),
        attributes: c
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        last_inbound_time: opt_timestamp(c.last_inbound_ms),
        create_time: Some(timestamp_ms(c.created_ms)),
        update_time: Some(timestamp_ms(c.updated_ms)),
        tags: c.tags.clone(),
    }
}

// ============================== Messages ==============================

/// The proto of a delivery status.
pub fn status_to_pb(s: Status) -> pb::MessageStatus {
    match s {
        Status::Pending => pb::MessageStatus::Pending,
        Status::Sent => pb::MessageStatus::Sent,
        Status::Delivered => pb::MessageStatus::Delivered,
        Status::Read => pb::MessageStatus::Read,
        Status::Failed => pb::MessageStatus::Failed,
        Status::Received => pb::MessageStatus::Received,
    }
}

/// The delivery status of a proto value; unspecified or unknown is a violation on `field`.
pub fn status_from_pb(check: &mut Check, field: &str, value: i32) -> Option<Status> {
    match pb::MessageStatus::try_from(value) {
        Ok(pb::MessageStatus::Pending) => Some(Status::Pending),
        Ok(pb::MessageStatus::Sent) => Some(Status::Sent),
        Ok(pb::MessageStatus::Delivered) => Some(Status::Delivered),
        Ok(pb::MessageStatus::Read) => Some(Status::Read),
        Ok(pb::MessageStatus::Failed) => Some(Status::Failed),
        Ok(pb::MessageStatus::Received) => Some(Status::Received),
        Ok(pb::MessageStatus::Unspecified) | Err(_) => {
            check.bad(field, "must be a message status");
            None
        }
    }
}

/// The proto of a direction.
pub fn direction_to_pb(d: Direction) -> pb::MessageDirection {
    match d {
        Direction::Inbound => pb::MessageDirection::Inbound,
        Direction::Outbound => pb::MessageDirection::Outbound,
    }
}

/// Who wrote a message: the contact (ct_ id), an agent (agt_ id) or the system ("channel").
pub fn sender_to_pb(s: &Sender) -> common::Actor {
    let (kind, id) = match s {
        Sender::Contact(c) => (common::ActorKind::Contact, c.to_string()),
        Sender::Agent(a) => (common::ActorKind::Agent, a.clone()),
        Sender::System => (common::ActorKind::System, "channel".to_string()),
    };
    common::Actor {
        kind: kind as i32,
        id,
        display_name: String::new(),
    }
}

/// A WhatsApp error as the API shows it.
pub fn error_to_pb(e: &ProviderError) -> pb::MessageError {
    pb::MessageError {
        // WhatsApp's codes fit in 32 bits; an odd one is shown as 0 rather than wrapped.
        code: i32::try_from(e.code).unwrap_or_default(),
        title: e.title.clone(),
        message: e.message.clone(),
        details: e.details.clone(),
    }
}

/// A message as the API shows it.
pub fn message_to_pb(m: &Message) -> pb::Message {
    pb::Message {
        id: m.id.to_string(),
        organization_id: m.organization_id.to_string(),
        channel_account_id: m.channel_account_id.to_string(),
        contact_id: m.contact_id.to_string(),
        conversation_id: id_or_empty(m.conversation_id.as_ref()),
        direction: direction_to_pb(m.direction) as i32,
        wamid: m.wamid.clone().unwrap_or_default(),
        sender: Some(sender_to_pb(&m.sender)),
        content: Some(content_to_pb(&m.content)),
        status: status_to_pb(m.status) as i32,
        errors: m.errors.iter().map(error_to_pb).collect(),
        reply_to_message_id: id_or_empty(m.reply_to_message_id.as_ref()),
        reply_to_wamid: m.reply_to_wamid.clone().unwrap_or_default(),
        campaign_id: id_or_empty(m.campaign_id.as_ref()),
        provider_time: opt_timestamp(m.provider_ms),
        create_time: Some(timestamp_ms(m.created_ms)),
        status_time: Some(timestamp_ms(m.status_ms)),
        deliver_time: opt_timestamp(m.deliver_ms),
        read_time: opt_timestamp(m.read_ms),
    }
}

/// Messages as the API shows them.
pub fn messages_to_pb(messages: &[Message]) -> Vec<pb::Message> {
    messages.iter().map(message_to_pb).collect()
}

// ============================== Content ==============================

/// The proto of a media kind.
pub fn media_kind_to_pb(k: MediaKind) -> pb::MediaKind {
    match k {
        MediaKind::Image => pb::MediaKind::Image,
        MediaKind::Audio => pb::MediaKind::Audio,
        MediaKind::Video => pb::MediaKind::Video,
        MediaKind::Document => pb::MediaKind::Document,
        MediaKind::Sticker => pb::MediaKind::Sticker,
    }
}

/// The media kind of a proto value; unspecified or unknown is a violation on `field`.
pub fn media_kind_from_pb(check: &mut Check, field: &str, value: i32) -> Option<MediaKind> {
    match pb::MediaKind::try_from(value) {
        Ok(pb::MediaKind::Image) => Some(MediaKind::Image),
        Ok(pb::MediaKind::Audio) => Some(MediaKind::Audio),
        Ok(pb::MediaKind::Video) => Some(MediaKind::Video),
        Ok(pb::MediaKind::Document) => Some(MediaKind::Document),
        Ok(pb::MediaKind::Sticker) => Some(MediaKind::Sticker),
        Ok(pb::MediaKind::Unspecified) => {
            check.bad(
                field,
                "is required: image, audio, video, document or sticker",
            );
            None
        }
        Err(_) => {
            check.bad(field, "must be image, audio, video, document or sticker");
            None
        }
    }
}

/// Media as the API shows it.
pub fn media_to_pb(m: &Media) -> pb::MediaContent {
    pb::MediaContent {
        kind: media_kind_to_pb(m.kind) as i32,
        media_id: m.media_id.clone(),
        link: m.link.clone(),
        mime_type: m.mime_type.clone(),
        sha256: m.sha256.clone(),
        caption: m.caption.clone(),
        filename: m.filename.clone(),
        voice: m.voice,
        animated: m.animated,
        size_bytes: m.size_bytes,
    }
}

/// Media of a proto, every field kept (`field` names it for a missing kind).
pub fn media_from_pb(check: &mut Check, field: &str, m: &pb::MediaContent) -> Option<Media> {
    let kind = media_kind_from_pb(check, &format!("{field}.kind"), m.kind)?;
    Some(Media {
        kind,
        media_id: m.media_id.clone(),
        link: m.link.clone(),
        mime_type: m.mime_type.clone(),
        sha256: m.sha256.clone(),
        caption: m.caption.clone(),
        filename: m.filename.clone(),
        voice: m.voice,
        animated: m.animated,
        size_bytes: m.size_bytes,
    })
}

fn component_kind_to_pb(k: ComponentKind) -> pb::TemplateComponentKind {
    match k {
        ComponentKind::Header => pb::TemplateComponentKind::Header,
        ComponentKind::Body => pb::TemplateComponentKind::Body,
        ComponentKind::Button => pb::TemplateComponentKind::Button,
    }
}

/// A template component as the API shows it.
pub fn component_to_pb(c: &TemplateComponent) -> pb::TemplateComponent {
    use pb::template_parameter::Value;
    pb::TemplateComponent {
        kind: component_kind_to_pb(c.kind) as i32,
        button_sub_type: c.button_sub_type.clone(),
        button_index: c.button_index,
        parameters: c
            .parameters
            .iter()
            .map(|p| pb::TemplateParameter {
                value: Some(match p {
                    TemplateParameter::Text(t) => Value::Text(t.clone()),
                    TemplateParameter::Media(m) => Value::Media(media_to_pb(m)),
                    TemplateParameter::Payload(p) => Value::Payload(p.clone()),
                }),
            })
            .collect(),
    }
}

/// Template components of a proto; each bad one is a violation under `field[i]`.
pub fn components_from_pb(
    check: &mut Check,
    field: &str,
    components: &[pb::TemplateComponent],
) -> Vec<TemplateComponent> {
    use pb::template_parameter::Value;
    let mut out = Vec::with_capacity(components.len());
    for (i, c) in components.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let kind = match pb::TemplateComponentKind::try_from(c.kind) {
            Ok(pb::TemplateComponentKind::Header) => Some(ComponentKind::Header),
            Ok(pb::TemplateComponentKind::Body) => Some(ComponentKind::Body),
            Ok(pb::TemplateComponentKind::Button) => Some(ComponentKind::Button),
            Ok(pb::TemplateComponentKind::Unspecified) | Err(_) => {
                check.bad(&format!("{at}.kind"), "must be header, body or button");
                None
            }
        };
        if kind == Some(ComponentKind::Button)
            && !matches!(c.button_sub_type.as_str(), "quick_reply" | "url")
        {
            check.bad(
                &format!("{at}.button_sub_type"),
                "must be \"quick_reply\" or \"url\" on a button component",
            );
        }
        let mut parameters = Vec::with_capacity(c.parameters.len());
        for (j, p) in c.parameters.iter().enumerate() {
            let pat = format!("{at}.parameters[{j}]");
            match &p.value {
                Some(Value::Text(t)) => parameters.push(TemplateParameter::Text(t.clone())),
                Some(Value::Payload(p)) => parameters.push(TemplateParameter::Payload(p.clone())),
                Some(Value::Media(m)) => {
                    if let Some(m) = media_from_pb(check, &format!("{pat}.media"), m) {
                        parameters.push(TemplateParameter::Media(m));
                    }
                }
                None => check.bad(&pat, "must set text, media or payload"),
            }
        }
        if let Some(kind) = kind {
            out.push(TemplateComponent {
                kind,
                button_sub_type: c.button_sub_type.clone(),
                button_index: c.button_index,
                parameters,
            });
        }
    }
    out
}

/// A template message as the API shows it.
pub fn template_message_to_pb(t: &TemplateMessage) -> pb::TemplateContent {
    pb::TemplateContent {
        name: t.name.clone(),
        language_code: t.language_code.clone(),
        components: t.components.iter().map(component_to_pb).collect(),
        rendered_body: t.rendered_body.clone(),
    }
}

/// A template message of a proto, every field kept.
pub fn template_message_from_pb(
    check: &mut Check,
    field: &str,
    t: &pb::TemplateContent,
) -> TemplateMessage {
    TemplateMessage {
        name: t.name.clone(),
        language_code: t.language_code.clone(),
        components: components_from_pb(check, &format!("{field}.components"), &t.components),
        rendered_body: t.rendered_body.clone(),
    }
}

/// The template of a send: required, with a name and language; `rendered_body` is ignored
/// (the service fills it from the synced template).
pub fn template_to_send(
    check: &mut Check,
    field: &str,
    t: Option<&pb::TemplateContent>,
) -> Option<TemplateMessage> {
    let Some(t) = t else {
        check.bad(field, "is required");
        return None;
    };
    check.required(&format!("{field}.name"), &t.name, MAX_TEMPLATE_NAME_CHARS);
    check.required(
        &format!("{field}.language_code"),
        &t.language_code,
        MAX_LANGUAGE_CODE_CHARS,
    );
    let mut template = template_message_from_pb(check, field, t);
    template.rendered_body.clear();
    Some(template)
}

/// Message content as the API shows it.
pub fn content_to_pb(c: &Content) -> pb::MessageContent {
    use pb::message_content::Content as C;
    let content = match c {
        Content::Text { body, preview_url } => C::Text(pb::TextContent {
            body: body.clone(),
            preview_url: *preview_url,
        }),
        Content::Media(m) => C::Media(media_to_pb(m)),
        Content::Location(l) => C::Location(pb::LocationContent {
            latitude: l.latitude,
            longitude: l.longitude,
            name: l.name.clone(),
            address: l.address.clone(),
            url: l.url.clone(),
        }),
        Content::Contacts { contacts } => C::Contacts(pb::ContactsContent {
            contacts: contacts
                .iter()
                .map(|c| pb::SharedContact {
                    formatted_name: c.formatted_name.clone(),
                    phones: c
                        .phones
                        .iter()
                        .map(|p| pb::SharedPhone {
                            phone: p.phone.clone(),
                            wa_id: p.wa_id.clone(),
                            label: p.label.clone(),
                        })
                        .collect(),
                    emails: c
                        .emails
                        .iter()
                        .map(|e| pb::SharedEmail {
                            address: e.address.clone(),
                            label: e.label.clone(),
                        })
                        .collect(),
                    company: c.company.clone(),
                })
                .collect(),
        }),
        Content::Interactive(r) => C::InteractiveReply(pb::InteractiveReplyContent {
            kind: match r.kind {
                InteractiveKind::Button => pb::InteractiveReplyKind::Button,
                InteractiveKind::List => pb::InteractiveReplyKind::List,
            } as i32,
            reply_id: r.reply_id.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
        }),
        Content::Button(b) => C::ButtonReply(pb::ButtonReplyContent {
            text: b.text.clone(),
            payload: b.payload.clone(),
        }),
        Content::Reaction(r) => C::Reaction(pb::ReactionContent {
            message_id: r.message_id.clone(),
            wamid: r.wamid.clone(),
            emoji: r.emoji.clone(),
        }),
        Content::Template(t) => C::Template(template_message_to_pb(t)),
        Content::Unsupported(u) => C::Unsupported(pb::UnsupportedContent {
            whatsapp_type: u.whatsapp_type.clone(),
            raw_json: u.raw_json.clone(),
        }),
    };
    pb::MessageContent {
        content: Some(content),
    }
}

/// Message content of a proto, every field kept; an empty oneof or a bad enum is a violation
/// under `field`.
pub fn content_from_pb(check: &mut Check, field: &str, c: &pb::MessageContent) -> Option<Content> {
    use pb::message_content::Content as C;
    Some(match c.content.as_ref() {
        None => {
            check.bad(field, "must set exactly one kind of content");
            return None;
        }
        Some(C::Text(t)) => Content::Text {
            body: t.body.clone(),
            preview_url: t.preview_url,
        },
        Some(C::Media(m)) => Content::Media(media_from_pb(check, &format!("{field}.media"), m)?),
        Some(C::Location(l)) => Content::Location(Location {
            latitude: l.latitude,
            longitude: l.longitude,
            name: l.name.clone(),
            address: l.address.clone(),
            url: l.url.clone(),
        }),
        Some(C::Contacts(cs)) => Content::Contacts {
            contacts: cs
                .contacts
                .iter()
                .map(|c| SharedContact {
                    formatted_name: c.formatted_name.clone(),
                    phones: c
                        .phones
                        .iter()
                        .map(|p| SharedPhone {
                            phone: p.phone.clone(),
                            wa_id: p.wa_id.clone(),
                            label: p.label.clone(),
                        })
                        .collect(),
                    emails: c
                        .emails
                        .iter()
                        .map(|e| SharedEmail {
                            address: e.address.clone(),
                            label: e.label.clone(),
                        })
                        .collect(),
                    company: c.company.clone(),
                })
                .collect(),
        },
        Some(C::InteractiveReply(r)) => {
            let kind = match pb::InteractiveReplyKind::try_from(r.kind) {
                Ok(pb::InteractiveReplyKind::Button) => InteractiveKind::Button,
                Ok(pb::InteractiveReplyKind::List) => InteractiveKind::List,
                Ok(pb::InteractiveReplyKind::Unspecified) | Err(_) => {
                    check.bad(
                        &format!("{field}.interactive_reply.kind"),
                        "must be button or list",
                    );
                    return None;
                }
            };
            Content::Interactive(InteractiveReply {
                kind,
                reply_id: r.reply_id.clone(),
                title: r.title.clone(),
                description: r.description.clone(),
            })
        }
        Some(C::ButtonReply(b)) => Content::Button(ButtonReply {
            text: b.text.clone(),
            payload: b.payload.clone(),
        }),
        Some(C::Reaction(r)) => Content::Reaction(Reaction {
            wamid: r.wamid.clone(),
            message_id: r.message_id.clone(),
            emoji: r.emoji.clone(),
        }),
        Some(C::Template(t)) => Content::Template(template_message_from_pb(
            check,
            &format!("{field}.template"),
            t,
        )),
        Some(C::Unsupported(u)) => Content::Unsupported(Unsupported {
            whatsapp_type: u.whatsapp_type.clone(),
            raw_json: u.raw_json.clone(),
        }),
    })
}

// ============================== Window ==============================

/// The 24-hour window as `GetConversationWindow` answers it.
pub fn window_to_pb(v: &WindowView) -> pb::GetConversationWindowResponse {
    pb::GetConversationWindowResponse {
        open: v.window.is_open(v.now_ms),
        last_customer_message_time: opt_timestamp(v.window.last_customer_message_ms),
        close_time: opt_timestamp(v.window.close_ms()),
        time_left: Some(duration_ms(v.window.time_left_ms(v.now_ms))),
    }
}

// ============================== Campaigns ==============================

/// The proto of the app's outcome names ("accepted", "duplicate", "rejected").
pub fn outcome_to_pb(outcome: &str) -> pb::RecipientOutcome {
    match outcome {
        "accepted" => pb::RecipientOutcome::Accepted,
        "duplicate" => pb::RecipientOutcome::Duplicate,
        "rejected" => pb::RecipientOutcome::Rejected,
        _ => pb::RecipientOutcome::Unspecified,
    }
}

/// The app's outcome name of a proto value (empty when unspecified).
pub fn outcome_from_pb(outcome: pb::RecipientOutcome) -> &'static str {
    match outcome {
        pb::RecipientOutcome::Accepted => "accepted",
        pb::RecipientOutcome::Duplicate => "duplicate",
        pb::RecipientOutcome::Rejected => "rejected",
        pb::RecipientOutcome::Unspecified => "",
    }
}

/// One recipient's result as the API shows it.
pub fn recipient_result_to_pb(r: &RecipientResult) -> pb::RecipientResult {
    pb::RecipientResult {
        index: r.index,
        contact_id: r.contact_id.clone(),
        outcome: outcome_to_pb(&r.outcome) as i32,
        message_id: r.message_id.clone(),
        error: r.error.clone(),
    }
}

/// One recipient's result of a proto.
pub fn recipient_result_from_pb(r: &pb::RecipientResult) -> RecipientResult {
    RecipientResult {
        index: r.index,
        contact_id: r.contact_id.clone(),
        outcome: outcome_from_pb(
            pb::RecipientOutcome::try_from(r.outcome).unwrap_or(pb::RecipientOutcome::Unspecified),
        )
        .to_string(),
        message_id: r.message_id.clone(),
        error: r.error.clone(),
    }
}

// ============================== Templates ==============================

/// The proto of Meta's category name ("MARKETING", "UTILITY", "AUTHENTICATION").
pub fn template_category_to_pb(category: &str) -> pb::TemplateCategory {
    match category.to_ascii_uppercase().as_str() {
        "MARKETING" => pb::TemplateCategory::Marketing,
        "UTILITY" => pb::TemplateCategory::Utility,
        "AUTHENTICATION" => pb::TemplateCategory::Authentication,
        _ => pb::TemplateCategory::Unspecified,
    }
}

/// The proto of Meta's review status name ("APPROVED", "PENDING", ...).
pub fn template_status_to_pb(status: &str) -> pb::TemplateStatus {
    match status.to_ascii_uppercase().as_str() {
        "APPROVED" => pb::TemplateStatus::Approved,
        "PENDING" => pb::TemplateStatus::Pending,
        "REJECTED" => pb::TemplateStatus::Rejected,
        "PAUSED" => pb::TemplateStatus::Paused,
        "DISABLED" => pb::TemplateStatus::Disabled,
        _ => pb::TemplateStatus::Unspecified,
    }
}

/// Meta's review status name of a proto value, as stored; unspecified or unknown is a
/// violation on `field`.
pub fn template_status_from_pb(check: &mut Check, field: &str, value: i32) -> Option<&'static str> {
    match pb::TemplateStatus::try_from(value) {
        Ok(pb::TemplateStatus::Approved) => Some("APPROVED"),
        Ok(pb::TemplateStatus::Pending) => Some("PENDING"),
        Ok(pb::TemplateStatus::Rejected) => Some("REJECTED"),
        Ok(pb::TemplateStatus::Paused) => Some("PAUSED"),
        Ok(pb::TemplateStatus::Disabled) => Some("DISABLED"),
        Ok(pb::TemplateStatus::Unspecified) | Err(_) => {
            check.bad(field, "must be a template status");
            None
        }
    }
}

/// A synced template as the API shows it.
pub fn template_to_pb(t: &StoredTemplate) -> pb::Template {
    pb::Template {
        name: t.name.clone(),
        language_code: t.language_code.clone(),
        whatsapp_template_id: t.whatsapp_template_id.clone(),
        category: template_category_to_pb(&t.category) as i32,
        status: template_status_to_pb(&t.status) as i32,
        header_format: t.header_format.clone(),
        header_text: t.header_text.clone(),
        body_text: t.body_text.clone(),
        footer_text: t.footer_text.clone(),
        buttons: t
            .buttons
            .iter()
            .map(|(kind, text, value)| pb::TemplateButton {
                button_kind: kind.clone(),
                text: text.clone(),
                value: value.clone(),
            })
            .collect(),
        body_parameter_count: t.body_parameter_count,
        sync_time: Some(timestamp_ms(t.sync_ms)),
    }
}

/// Attributes of a proto map, in a stable order.
pub fn attributes_from_pb(
    attributes: &std::collections::HashMap<String, String>,
) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::sending::text_outbound;
    use switchboard_runtime::ids::OrganizationId;

    fn media(kind: MediaKind) -> Media {
        Media {
            kind,
            media_id: "1234567890".into(),
            link: "https://example.com/a.pdf".into(),
            mime_type: "application/pdf".into(),
            sha256: "abc123".into(),
            caption: "la factura".into(),
            filename: "factura.pdf".into(),
            voice: true,
            animated: true,
            size_bytes: 4096,
        }
    }

    fn every_variant() -> Vec<Content> {
        vec![
            Content::Text {
                body: "Hola, ¿en qué te ayudo? 🙂".into(),
                preview_url: true,
            },
            Content::Media(media(MediaKind::Image)),
            Content::Media(media(MediaKind::Audio)),
            Content::Media(media(MediaKind::Video)),
            Content::Media(media(MediaKind::Document)),
            Content::Media(media(MediaKind::Sticker)),
            Content::Location(Location {
                latitude: -34.6037,
                longitude: -58.3816,
                name: "Obelisco".into(),
                address: "Av. 9 de Julio s/n".into(),
                url: "https://maps.example/obelisco".into(),
            }),
            Content::Contacts {
                contacts: vec![SharedContact {
                    formatted_name: "Ana Pérez".into(),
                    phones: vec![SharedPhone {
                        phone: "+54 9 11 5555-0001".into(),
                        wa_id: "5491155550001".into(),
                        label: "CELL".into(),
                    }],
                    emails: vec![SharedEmail {
                        address: "ana@example.com".into(),
                        label: "WORK".into(),
                    }],
                    company: "Acme".into(),
                }],
            },
            Content::Interactive(InteractiveReply {
                kind: InteractiveKind::Button,
                reply_id: "yes".into(),
                title: "Sí".into(),
                description: String::new(),
            }),
            Content::Interactive(InteractiveReply {
                kind: InteractiveKind::List,
                reply_id: "row-2".into(),
                title: "Envíos".into(),
                description: "Estado de mi pedido".into(),
            }),
            Content::Button(ButtonReply {
                text: "Quiero saber más".into(),
                payload: "MORE_INFO".into(),
            }),
            Content::Reaction(Reaction {
                wamid: "wamid.HBgL".into(),
                message_id: "msg_0192abc".into(),
                emoji: "👍".into(),
            }),
            Content::Template(TemplateMessage {
                name: "order_update".into(),
                language_code: "es_AR".into(),
                components: vec![
                    TemplateComponent {
                        kind: ComponentKind::Header,
                        button_sub_type: String::new(),
                        button_index: 0,
                        parameters: vec![TemplateParameter::Media(media(MediaKind::Document))],
                    },
                    TemplateComponent {
                        kind: ComponentKind::Body,
                        button_sub_type: String::new(),
                        button_index: 0,
                        parameters: vec![
                            TemplateParameter::Text("Ana".into()),
                            TemplateParameter::Text("A-7".into()),
                        ],
                    },
                    TemplateComponent {
                        kind: ComponentKind::Button,
                        button_sub_type: "quick_reply".into(),
                        button_index: 1,
                        parameters: vec![TemplateParameter::Payload("STOP".into())],
                    },
                ],
                rendered_body: "Hola Ana, tu pedido A-7 salió.".into(),
            }),
            Content::Unsupported(Unsupported {
                whatsapp_type: "order".into(),
                raw_json: r#"{"type":"order"}"#.into(),
            }),
        ]
    }

    #[test]
    fn every_content_variant_survives_a_round_trip_through_the_proto() {
        let variants = every_variant();
        let kinds: std::collections::BTreeSet<&str> = variants
            .iter()
            .map(|c| match c {
                Content::Text { .. } => "text",
                Content::Media(_) => "media",
                Content::Location(_) => "location",
                Content::Contacts { .. } => "contacts",
                Content::Interactive(_) => "interactive",
                Content::Button(_) => "button",
                Content::Reaction(_) => "reaction",
                Content::Template(_) => "template",
                Content::Unsupported(_) => "unsupported",
            })
            .collect();
        assert_eq!(kinds.len(), 9, "the test covers every Content variant");
        for content in variants {
            let mut check = Check::default();
            let back = content_from_pb(&mut check, "content", &content_to_pb(&content));
            assert!(check.is_clean(), "{:?} for {content:?}", check.0);
            assert_eq!(back.as_ref(), Some(&content));
        }
    }

    #[test]
    fn content_without_a_kind_or_with_an_unspecified_enum_is_a_violation() {
        let mut check = Check::default();
        assert!(content_from_pb(&mut check, "content", &pb::MessageContent::default()).is_none());
        let unspecified = pb::MessageContent {
            content: Some(pb::message_content::Content::Media(
                pb::MediaContent::default(),
            )),
        };
        assert!(content_from_pb(&mut check, "content", &unspecified).is_none());
        let fields: Vec<&str> = check.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["content", "content.media.kind"]);
    }

    #[test]
    fn a_text_send_with_an_empty_body_and_a_bad_conversation_id_names_both_fields() {
        let req = pb::SendTextMessageRequest {
            request_id: "req-1".into(),
            organization_id: OrganizationId::generate().to_string(),
            actor_agent_id: String::new(),
            conversation_id: "ticket_123".into(),
            text: Some(pb::TextContent {
                body: String::new(),
                preview_url: false,
            }),
            reply_to_message_id: String::new(),
        };
        let Err(ChannelError::InvalidArgument(violations)) = text_outbound(&req) else {
            panic!("expected INVALID_ARGUMENT");
        };
        let mut fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["conversation_id", "text.body"]);
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        let mut check = Check::default();
        // 4,096 two-byte characters are 8,192 bytes and still a valid body.
        check.required("text.body", &"ñ".repeat(4096), 4096);
        assert!(check.is_clean());
        check.required("text.body", &"ñ".repeat(4097), 4096);
        assert_eq!(check.0.len(), 1);
    }

    #[test]
    fn recipient_outcomes_map_both_ways() {
        for outcome in ["accepted", "duplicate", "rejected"] {
            let r = RecipientResult {
                index: 3,
                contact_id: "ct_1".into(),
                outcome: outcome.into(),
                message_id: "msg_1".into(),
                error: String::new(),
            };
            let p = recipient_result_to_pb(&r);
            assert_ne!(p.outcome, pb::RecipientOutcome::Unspecified as i32);
            assert_eq!(recipient_result_from_pb(&p), r);
        }
    }

    #[test]
    fn template_names_map_to_enums_and_back() {
        for (name, status) in [
            ("APPROVED", pb::TemplateStatus::Approved),
            ("PENDING", pb::TemplateStatus::Pending),
            ("REJECTED", pb::TemplateStatus::Rejected),
            ("PAUSED", pb::TemplateStatus::Paused),
            ("DISABLED", pb::TemplateStatus::Disabled),
        ] {
            assert_eq!(template_status_to_pb(name), status);
            let mut check = Check::default();
            assert_eq!(
                template_status_from_pb(&mut check, "statuses[0]", status as i32),
                Some(name)
            );
        }
        assert_eq!(
            template_category_to_pb("MARKETING"),
            pb::TemplateCategory::Marketing
        );
        assert_eq!(
            template_category_to_pb("UTILITY"),
            pb::TemplateCategory::Utility
        );
        assert_eq!(
            template_category_to_pb("AUTHENTICATION"),
            pb::TemplateCategory::Authentication
        );
        assert_eq!(
            template_category_to_pb("SOMETHING_NEW"),
            pb::TemplateCategory::Unspecified
        );
    }

    #[test]
    fn the_window_shows_time_left_and_zero_once_closed() {
        use crate::domain::window::{WINDOW_MS, Window};
        let window = Window {
            last_customer_message_ms: Some(1_000),
        };
        let open = window_to_pb(&WindowView {
            window,
            now_ms: 1_000 + WINDOW_MS - 1_500,
        });
        assert!(open.open);
        assert_eq!(open.close_time, Some(timestamp_ms(1_000 + WINDOW_MS)));
        assert_eq!(
            open.time_left,
            Some(Duration {
                seconds: 1,
                nanos: 500_000_000
            })
        );
        let closed = window_to_pb(&WindowView {
            window,
            now_ms: 1_000 + 2 * WINDOW_MS,
        });
        assert!(!closed.open);
        assert_eq!(closed.time_left, Some(Duration::default()));
        let never = window_to_pb(&WindowView {
            window: Window::default(),
            now_ms: 5,
        });
        assert!(
            !never.open && never.close_time.is_none() && never.last_customer_message_time.is_none()
        );
    }

    #[test]
    fn timestamps_round_trip_including_before_the_epoch() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1, -1_001] {
            assert_eq!(ms_of(&timestamp_ms(ms)), ms);
        }
    }
}
