//! Messages: history, the 24-hour window, sends, media and templates, forwarded to the channel
//! service with the caller as actor (the channel service checks who may write where).

use switchboard_proto::{channel::v1 as cpb, gateway::v1 as pb, routing::v1 as rpb};
use tonic::Status;

use super::{Ctx, Scope};

/// The conversation as I may see it (routing's visibility rule: NOT_FOUND otherwise).
async fn visible_conversation(
    ctx: &Ctx,
    scope: &Scope,
    conversation_id: &str,
) -> Result<(), Status> {
    ctx.upstream
        .routing()
        .get_conversation(scope.req(rpb::GetConversationRequest {
            organization_id: scope.org(),
            conversation_id: conversation_id.to_string(),
            actor_agent_id: scope.me(),
        }))
        .await?;
    Ok(())
}

/// The channel service lists any conversation's messages (it takes no actor); "anyone who can
/// see the conversation" is checked against routing at the same time.
pub async fn list_conversation_messages(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListConversationMessagesRequest,
) -> Result<pb::ListConversationMessagesResponse, Status> {
    let list = async {
        ctx.upstream
            .channel()
            .list_conversation_messages(scope.req(cpb::ListConversationMessagesRequest {
                organization_id: scope.org(),
                page: ctx.limits.page(request.page.clone()),
                conversation_id: request.conversation_id.clone(),
                order: request.order,
            }))
            .await
            .map(tonic::Response::into_inner)
    };
    let ((), answer) = tokio::try_join!(
        visible_conversation(ctx, scope, &request.conversation_id),
        list
    )?;
    Ok(pb::ListConversationMessagesResponse {
        messages: answer.messages,
        page: answer.page,
    })
}

pub async fn list_contact_messages(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListContactMessagesRequest,
) -> Result<pb::ListContactMessagesResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .list_contact_messages(scope.req(cpb::ListContactMessagesRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            contact_id: request.contact_id,
            channel_account_id: request.channel_account_id,
            order: request.order,
        }))
        .await?
        .into_inner();
    Ok(pb::ListContactMessagesResponse {
        messages: answer.messages,
        page: answer.page,
    })
}

pub async fn get_conversation_window(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetConversationWindowRequest,
) -> Result<pb::GetConversationWindowResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .get_conversation_window(scope.req(cpb::GetConversationWindowRequest {
            organization_id: scope.org(),
            subject: Some(
                cpb::get_conversation_window_request::Subject::ConversationId(
                    request.conversation_id,
                ),
            ),
        }))
        .await?
        .into_inner();
    Ok(pb::GetConversationWindowResponse {
        open: answer.open,
        last_customer_message_time: answer.last_customer_message_time,
        close_time: answer.close_time,
        time_left: answer.time_left,
    })
}

pub async fn send_text_message(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::SendTextMessageRequest,
) -> Result<pb::SendTextMessageResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .send_text_message(scope.req(cpb::SendTextMessageRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
            text: Some(cpb::TextContent {
                body: request.body,
                preview_url: request.preview_url,
            }),
            reply_to_message_id: request.reply_to_message_id,
        }))
        .await?
        .into_inner();
    Ok(pb::SendTextMessageResponse {
        message: answer.message,
    })
}

pub async fn send_media_message(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::SendMediaMessageRequest,
) -> Result<pb::SendMediaMessageResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .send_media_message(scope.req(cpb::SendMediaMessageRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            conversation_id: request.conversation_id,
            media: request.media,
            reply_to_message_id: request.reply_to_message_id,
        }))
        .await?
        .into_inner();
    Ok(pb::SendMediaMessageResponse {
        message: answer.message,
    })
}

pub async fn send_reaction(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::SendReactionRequest,
) -> Result<pb::SendReactionResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .send_reaction(scope.req(cpb::SendReactionRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            message_id: request.message_id,
            emoji: request.emoji,
        }))
        .await?
        .into_inner();
    Ok(pb::SendReactionResponse {
        message: answer.message,
    })
}

pub async fn send_template_message(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::SendTemplateMessageRequest,
) -> Result<pb::SendTemplateMessageResponse, Status> {
    use cpb::send_template_message_request::Recipient as Out;
    use pb::send_template_message_request::Recipient as In;
    let recipient = request.recipient.map(|r| match r {
        In::ConversationId(id) => Out::ConversationId(id),
        In::Contact(contact) => Out::Contact(contact),
    });
    let answer = ctx
        .upstream
        .channel()
        .send_template_message(scope.req(cpb::SendTemplateMessageRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            recipient,
            template: request.template,
        }))
        .await?
        .into_inner();
    Ok(pb::SendTemplateMessageResponse {
        message: answer.message,
        conversation_id: answer.conversation_id,
        conversation_started: answer.conversation_started,
    })
}

pub async fn mark_message_read(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::MarkMessageReadRequest,
) -> Result<pb::MarkMessageReadResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .mark_message_read(scope.req(cpb::MarkMessageReadRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            actor_agent_id: scope.me(),
            message_id: request.message_id,
        }))
        .await?
        .into_inner();
    Ok(pb::MarkMessageReadResponse {
        marked_count: answer.marked_count,
    })
}

pub async fn upload_media(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::UploadMediaRequest,
) -> Result<pb::UploadMediaResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .upload_media(scope.req(cpb::UploadMediaRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            channel_account_id: request.channel_account_id,
            mime_type: request.mime_type,
            filename: request.filename,
            data: request.data,
        }))
        .await?
        .into_inner();
    Ok(pb::UploadMediaResponse {
        media_id: answer.media_id,
        expire_time: answer.expire_time,
    })
}

/// Forwarded as is: the channel service answers UNIMPLEMENTED for now, and so does this.
pub async fn get_media_download_url(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::GetMediaDownloadUrlRequest,
) -> Result<pb::GetMediaDownloadUrlResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .get_media_download_url(scope.req(cpb::GetMediaDownloadUrlRequest {
            organization_id: scope.org(),
            message_id: request.message_id,
        }))
        .await?
        .into_inner();
    Ok(pb::GetMediaDownloadUrlResponse {
        url: answer.url,
        expire_time: answer.expire_time,
        mime_type: answer.mime_type,
    })
}

pub async fn list_templates(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::ListTemplatesRequest,
) -> Result<pb::ListTemplatesResponse, Status> {
    let answer = ctx
        .upstream
        .channel()
        .list_templates(scope.req(cpb::ListTemplatesRequest {
            organization_id: scope.org(),
            page: ctx.limits.page(request.page),
            channel_account_id: request.channel_account_id,
            statuses: request.statuses,
            name_query: request.name_query,
            language_code: request.language_code,
        }))
        .await?
        .into_inner();
    Ok(pb::ListTemplatesResponse {
        templates: answer.templates,
        page: answer.page,
    })
}

/// Operator or admin: the channel service's SyncTemplates takes no actor (it runs as the
/// system), so the role is checked here.
pub async fn sync_templates(
    ctx: &Ctx,
    scope: &Scope,
    request: pb::SyncTemplatesRequest,
) -> Result<pb::SyncTemplatesResponse, Status> {
    scope.caller.require_supervisor("SyncTemplates")?;
    let answer = ctx
        .upstream
        .channel()
        .sync_templates(scope.req(cpb::SyncTemplatesRequest {
            request_id: request.request_id,
            organization_id: scope.org(),
            channel_account_id: request.channel_account_id,
        }))
        .await?
        .into_inner();
    Ok(pb::SyncTemplatesResponse {
        template_count: answer.template_count,
    })
}
