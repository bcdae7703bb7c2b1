//! messages RPCs.

use switchboard_proto::gateway::v1 as pb;
use tonic::Status;

use super::{Ctx, Scope};

pub async fn list_conversation_messages(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListConversationMessagesRequest,
) -> Result<pb::ListConversationMessagesResponse, Status> {
    Err(Status::unimplemented("ListConversationMessages"))
}

pub async fn list_contact_messages(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListContactMessagesRequest,
) -> Result<pb::ListContactMessagesResponse, Status> {
    Err(Status::unimplemented("ListContactMessages"))
}

pub async fn get_conversation_window(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetConversationWindowRequest,
) -> Result<pb::GetConversationWindowResponse, Status> {
    Err(Status::unimplemented("GetConversationWindow"))
}

pub async fn send_text_message(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::SendTextMessageRequest,
) -> Result<pb::SendTextMessageResponse, Status> {
    Err(Status::unimplemented("SendTextMessage"))
}

pub async fn send_media_message(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::SendMediaMessageRequest,
) -> Result<pb::SendMediaMessageResponse, Status> {
    Err(Status::unimplemented("SendMediaMessage"))
}

pub async fn send_reaction(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::SendReactionRequest,
) -> Result<pb::SendReactionResponse, Status> {
    Err(Status::unimplemented("SendReaction"))
}

pub async fn send_template_message(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::SendTemplateMessageRequest,
) -> Result<pb::SendTemplateMessageResponse, Status> {
    Err(Status::unimplemented("SendTemplateMessage"))
}

pub async fn mark_message_read(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::MarkMessageReadRequest,
) -> Result<pb::MarkMessageReadResponse, Status> {
    Err(Status::unimplemented("MarkMessageRead"))
}

pub async fn upload_media(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::UploadMediaRequest,
) -> Result<pb::UploadMediaResponse, Status> {
    Err(Status::unimplemented("UploadMedia"))
}

pub async fn get_media_download_url(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::GetMediaDownloadUrlRequest,
) -> Result<pb::GetMediaDownloadUrlResponse, Status> {
    Err(Status::unimplemented("GetMediaDownloadUrl"))
}

pub async fn list_templates(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::ListTemplatesRequest,
) -> Result<pb::ListTemplatesResponse, Status> {
    Err(Status::unimplemented("ListTemplates"))
}

pub async fn sync_templates(
    _ctx: &Ctx,
    _scope: &Scope,
    _request: pb::SyncTemplatesRequest,
) -> Result<pb::SyncTemplatesResponse, Status> {
    Err(Status::unimplemented("SyncTemplates"))
}
