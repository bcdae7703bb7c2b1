//! Sending RPCs: text, media, reactions and templates, marking read, and media uploads.
//! Each request is checked whole (every bad field at once) and turned into one `Outbound`
//! before the application sends it.

use switchboard_proto::channel::v1::{self as pb, send_template_message_request::Recipient};
use switchboard_runtime::ids::{
    ChannelAccountId, ContactId, ConversationId, MessageId, OrganizationId,
};

use super::convert::{
    Check, media_kind_from_pb, message_to_pb, template_to_send, timestamp_ms, valid,
};
use crate::{
    app::{Channel, Outbound, SendTarget, Sent},
    domain::content::{Content, Media},
    error::ChannelError,
};

/// Longest text body WhatsApp sends.
const MAX_TEXT_CHARS: usize = 4096;
/// Longest media caption WhatsApp sends.
const MAX_CAPTION_CHARS: usize = 1024;
/// Longest document file name kept.
const MAX_FILENAME_CHARS: usize = 255;
/// Longest reaction (one emoji, possibly a ZWJ sequence with modifiers).
const MAX_EMOJI_CHARS: usize = 16;

/// The message of a send as the API shows it.
fn sent_message(sent: &Sent) -> Option<pb::Message> {
    Some(message_to_pb(&sent.message))
}

/// Checks a media link: `https://` with a host; `http://` only for 127.0.0.1 or localhost
/// (the local WhatsApp simulator).
fn media_link(check: &mut Check, field: &str, link: &str) {
    let Ok(url) = reqwest::Url::parse(link) else {
        check.bad(field, "must be an absolute https:// URL");
        return;
    };
    let host = url.host_str().unwrap_or_default();
    let ok = match url.scheme() {
        "https" => !host.is_empty(),
        "http" => matches!(host, "127.0.0.1" | "localhost"),
        _ => false,
    };
    if !ok {
        check.bad(
            field,
            "must be a public https:// URL (http:// only for 127.0.0.1 or localhost)",
        );
    }
}

/// The fields every send carries: request id, organization and actor.
struct Common {
    org: Option<OrganizationId>,
    actor: Option<String>,
}

fn common(check: &mut Check, request_id: &str, org: &str, actor: &str) -> Common {
    check.request_id(request_id);
    Common {
        org: check.org(org),
        actor: check.actor(actor).map(String::from),
    }
}

fn outbound(
    request_id: String,
    common: Common,
    target: Option<SendTarget>,
    content: Option<Content>,
    reply_to: Option<MessageId>,
) -> Result<Outbound, ChannelError> {
    Ok(Outbound {
        request_id,
        org: valid(common.org)?,
        actor: common.actor,
        target: valid(target)?,
        content: valid(content)?,
        reply_to,
    })
}

/// The checked send of a SendTextMessage request.
pub(super) fn text_outbound(req: &pb::SendTextMessageRequest) -> Result<Outbound, ChannelError> {
    let mut check = Check::default();
    let common = common(
        &mut check,
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
    );
    let conversation = check.id::<ConversationId>("conversation_id", &req.conversation_id);
    let reply_to = check.opt_id::<MessageId>("reply_to_message_id", &req.reply_to_message_id);
    let content = match &req.text {
        None => {
            check.bad("text", "is required");
            None
        }
        Some(t) => {
            check.required("text.body", &t.body, MAX_TEXT_CHARS);
            Some(Content::Text {
                body: t.body.clone(),
                preview_url: t.preview_url,
            })
        }
    };
    check.done()?;
    outbound(
        req.request_id.clone(),
        common,
        conversation.map(SendTarget::Conversation),
        content,
        reply_to,
    )
}

/// Sends a text in a conversation.
pub async fn send_text_message(
    app: &Channel,
    req: pb::SendTextMessageRequest,
) -> Result<pb::SendTextMessageResponse, ChannelError> {
    let sent = app.send(text_outbound(&req)?).await?;
    Ok(pb::SendTextMessageResponse {
        message: sent_message(&sent),
    })
}

/// The checked media of a send: a kind, exactly one of media_id and link, a caption only
/// where WhatsApp shows one, a file name only on documents.
fn media_to_send(check: &mut Check, m: &pb::MediaContent) -> Option<Media> {
    let kind = media_kind_from_pb(check, "media.kind", m.kind);
    match (m.media_id.is_empty(), m.link.is_empty()) {
        (true, true) => check.bad("media", "must set media_id (from UploadMedia) or link"),
        (false, false) => check.bad("media", "must set only one of media_id and link"),
        (true, false) => media_link(check, "media.link", &m.link),
        (false, true) => {}
    }
    check.at_most("media.caption", &m.caption, MAX_CAPTION_CHARS);
    check.at_most("media.filename", &m.filename, MAX_FILENAME_CHARS);
    let kind = kind?;
    if !m.caption.is_empty() && !kind.takes_caption() {
        check.bad(
            "media.caption",
            format!("{} messages take no caption", kind.as_str()),
        );
    }
    if !m.filename.is_empty() && kind != crate::domain::content::MediaKind::Document {
        check.bad("media.filename", "only documents take a file name");
    }
    // What WhatsApp reports about a file (hash, size, voice, animated) is not taken from
    // the caller.
    Some(Media {
        kind,
        media_id: m.media_id.clone(),
        link: m.link.clone(),
        mime_type: m.mime_type.clone(),
        sha256: String::new(),
        caption: m.caption.clone(),
        filename: m.filename.clone(),
        voice: false,
        animated: false,
        size_bytes: 0,
    })
}

/// Sends an image, audio, video, document or sticker in a conversation.
pub async fn send_media_message(
    app: &Channel,
    req: pb::SendMediaMessageRequest,
) -> Result<pb::SendMediaMessageResponse, ChannelError> {
    let mut check = Check::default();
    let common = common(
        &mut check,
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
    );
    let conversation = check.id::<ConversationId>("conversation_id", &req.conversation_id);
    let reply_to = check.opt_id::<MessageId>("reply_to_message_id", &req.reply_to_message_id);
    let content = match &req.media {
        None => {
            check.bad("media", "is required");
            None
        }
        Some(m) => media_to_send(&mut check, m).map(Content::Media),
    };
    check.done()?;
    let out = outbound(
        req.request_id,
        common,
        conversation.map(SendTarget::Conversation),
        content,
        reply_to,
    )?;
    let sent = app.send(out).await?;
    Ok(pb::SendMediaMessageResponse {
        message: sent_message(&sent),
    })
}

/// Reacts to a message in its conversation (an empty emoji removes the reaction).
pub async fn send_reaction(
    app: &Channel,
    req: pb::SendReactionRequest,
) -> Result<pb::SendReactionResponse, ChannelError> {
    let mut check = Check::default();
    let common = common(
        &mut check,
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
    );
    let message_id = check.id::<MessageId>("message_id", &req.message_id);
    check.at_most("emoji", &req.emoji, MAX_EMOJI_CHARS);
    check.done()?;
    let sent = app
        .react(
            req.request_id,
            valid(common.org)?,
            common.actor,
            valid(message_id)?,
            req.emoji,
        )
        .await?;
    Ok(pb::SendReactionResponse {
        message: sent_message(&sent),
    })
}

/// Sends an approved template to a conversation or to a contact on a number.
pub async fn send_template_message(
    app: &Channel,
    req: pb::SendTemplateMessageRequest,
) -> Result<pb::SendTemplateMessageResponse, ChannelError> {
    let mut check = Check::default();
    let common = common(
        &mut check,
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
    );
    let target = match &req.recipient {
        Some(Recipient::ConversationId(id)) => check
            .id::<ConversationId>("conversation_id", id)
            .map(SendTarget::Conversation),
        Some(Recipient::Contact(c)) => {
            let account =
                check.id::<ChannelAccountId>("contact.channel_account_id", &c.channel_account_id);
            let contact = check.id::<ContactId>("contact.contact_id", &c.contact_id);
            account
                .zip(contact)
                .map(|(account, contact)| SendTarget::Contact { account, contact })
        }
        None => {
            check.bad(
                "recipient",
                "must give conversation_id or contact (channel_account_id and contact_id)",
            );
            None
        }
    };
    let template = template_to_send(&mut check, "template", req.template.as_ref());
    check.done()?;
    let out = outbound(
        req.request_id,
        common,
        target,
        template.map(Content::Template),
        None,
    )?;
    let sent = app.send(out).await?;
    Ok(pb::SendTemplateMessageResponse {
        message: sent_message(&sent),
        conversation_id: sent
            .conversation_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        conversation_started: sent.conversation_started,
    })
}

/// Marks an inbound message and the conversation's earlier ones read.
pub async fn mark_message_read(
    app: &Channel,
    req: pb::MarkMessageReadRequest,
) -> Result<pb::MarkMessageReadResponse, ChannelError> {
    let mut check = Check::default();
    let common = common(
        &mut check,
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
    );
    let id = check.id::<MessageId>("message_id", &req.message_id);
    check.done()?;
    let marked = app
        .mark_read(&valid(common.org)?, common.actor.as_deref(), &valid(id)?)
        .await?;
    Ok(pb::MarkMessageReadResponse {
        marked_count: i32::try_from(marked).unwrap_or(i32::MAX),
    })
}

/// Uploads a file to WhatsApp for a later send by media id.
pub async fn upload_media(
    app: &Channel,
    req: pb::UploadMediaRequest,
) -> Result<pb::UploadMediaResponse, ChannelError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let org = check.org(&req.organization_id);
    let account = check.id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    if let Err(violations) = Channel::check_upload(&req.mime_type, &req.filename, req.data.len()) {
        check.0.extend(violations);
    }
    check.done()?;
    let uploaded = app
        .upload_media(
            &valid(org)?,
            &req.request_id,
            &valid(account)?,
            &req.mime_type,
            &req.filename,
            req.data,
        )
        .await?;
    Ok(pb::UploadMediaResponse {
        media_id: uploaded.media_id,
        expire_time: Some(timestamp_ms(uploaded.expire_ms)),
    })
}

#[cfg(test)]
mod tests {
    use switchboard_runtime::ids::AgentId;

    use super::*;

    fn media_request(media: pb::MediaContent) -> Vec<String> {
        let mut check = Check::default();
        media_to_send(&mut check, &media);
        check.0.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn media_sends_need_one_source_a_safe_link_and_fitting_extras() {
        let image = pb::MediaKind::Image as i32;
        let audio = pb::MediaKind::Audio as i32;
        let ok = pb::MediaContent {
            kind: image,
            link: "https://cdn.example.com/a.jpg".into(),
            caption: "mirá".into(),
            ..Default::default()
        };
        assert!(media_request(ok.clone()).is_empty());
        let simulator = pb::MediaContent {
            link: "http://127.0.0.1:9090/a.jpg".into(),
            ..ok.clone()
        };
        assert!(media_request(simulator).is_empty());
        let plain_http = pb::MediaContent {
            link: "http://cdn.example.com/a.jpg".into(),
            ..ok.clone()
        };
        assert_eq!(media_request(plain_http), ["media.link"]);
        let both = pb::MediaContent {
            media_id: "123".into(),
            ..ok.clone()
        };
        assert_eq!(media_request(both), ["media"]);
        let audio_with_caption_and_name = pb::MediaContent {
            kind: audio,
            filename: "nota.ogg".into(),
            ..ok.clone()
        };
        assert_eq!(
            media_request(audio_with_caption_and_name),
            ["media.caption", "media.filename"]
        );
        let no_kind = pb::MediaContent { kind: 0, ..ok };
        assert_eq!(media_request(no_kind), ["media.kind"]);
    }

    #[test]
    fn a_template_send_needs_a_name_and_language_and_ignores_the_rendered_body() {
        let mut check = Check::default();
        let template = template_to_send(
            &mut check,
            "template",
            Some(&pb::TemplateContent {
                name: "hello".into(),
                language_code: String::new(),
                components: vec![],
                rendered_body: "ignored".into(),
            }),
        );
        assert_eq!(
            check.0.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
            ["template.language_code"]
        );
        assert_eq!(template.map(|t| t.rendered_body), Some(String::new()));
        let mut check = Check::default();
        assert!(template_to_send(&mut check, "template", None).is_none());
        assert_eq!(check.0[0].field, "template");
    }

    #[test]
    fn a_send_names_a_missing_request_id_and_a_malformed_actor() {
        let req = pb::SendTextMessageRequest {
            request_id: String::new(),
            organization_id: OrganizationId::generate().to_string(),
            actor_agent_id: "agt_".into(),
            conversation_id: ConversationId::generate().to_string(),
            text: Some(pb::TextContent {
                body: "hola".into(),
                preview_url: false,
            }),
            reply_to_message_id: String::new(),
        };
        let Err(ChannelError::InvalidArgument(v)) = text_outbound(&req) else {
            panic!("expected INVALID_ARGUMENT");
        };
        let mut fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["actor_agent_id", "request_id"]);
        let valid = pb::SendTextMessageRequest {
            request_id: "r-1".into(),
            actor_agent_id: AgentId::generate().to_string(),
            ..req
        };
        let out = text_outbound(&valid).expect("valid");
        assert!(matches!(out.target, SendTarget::Conversation(_)));
        assert_eq!(out.actor.as_deref(), Some(valid.actor_agent_id.as_str()));
    }
}
