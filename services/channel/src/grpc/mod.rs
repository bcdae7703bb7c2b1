//! The gRPC adapter: converts proto messages to application calls and application errors to
//! statuses. The trait impl only delegates; each RPC group lives in its own module, which
//! checks the whole request (every bad field at once) before calling the application.

mod accounts;
mod campaigns;
mod contacts;
pub mod convert;
mod history;
mod sending;
mod templates;

use switchboard_proto::channel::v1::{self as pb, channel_service_server::ChannelService};
use tonic::{Request, Response, Status};

use switchboard_runtime::{idempotency::calls::Calls, replay};

use crate::app::Channel;

/// `switchboard.channel.v1.ChannelService` over the channel's application layer.
pub struct ChannelGrpc {
    app: Channel,
    calls: Calls,
}

impl ChannelGrpc {
    /// The service answering with `app`, each mutating RPC once per request id (`calls`).
    pub fn new(app: Channel, calls: Calls) -> Self {
        Self { app, calls }
    }
}

/// Runs an RPC body and maps its application error to a status.
macro_rules! rpc {
    ($self:ident, $module:ident :: $method:ident, $request:ident) => {
        $module::$method(&$self.app, $request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    };
}

#[tonic::async_trait]
impl ChannelService for ChannelGrpc {
    // ---- Channel accounts (accounts.rs) ----

    async fn create_channel_account(
        &self,
        request: Request<pb::CreateChannelAccountRequest>,
    ) -> Result<Response<pb::CreateChannelAccountResponse>, Status> {
        replay!(
            self,
            accounts::create_channel_account,
            request,
            "CreateChannelAccount"
        )
    }

    async fn get_channel_account(
        &self,
        request: Request<pb::GetChannelAccountRequest>,
    ) -> Result<Response<pb::GetChannelAccountResponse>, Status> {
        rpc!(self, accounts::get_channel_account, request)
    }

    async fn list_channel_accounts(
        &self,
        request: Request<pb::ListChannelAccountsRequest>,
    ) -> Result<Response<pb::ListChannelAccountsResponse>, Status> {
        rpc!(self, accounts::list_channel_accounts, request)
    }

    async fn update_channel_account(
        &self,
        request: Request<pb::UpdateChannelAccountRequest>,
    ) -> Result<Response<pb::UpdateChannelAccountResponse>, Status> {
        replay!(
            self,
            accounts::update_channel_account,
            request,
            "UpdateChannelAccount"
        )
    }

    async fn delete_channel_account(
        &self,
        request: Request<pb::DeleteChannelAccountRequest>,
    ) -> Result<Response<pb::DeleteChannelAccountResponse>, Status> {
        replay!(
            self,
            accounts::delete_channel_account,
            request,
            "DeleteChannelAccount"
        )
    }

    // ---- Contacts (contacts.rs) ----

    async fn create_contact(
        &self,
        request: Request<pb::CreateContactRequest>,
    ) -> Result<Response<pb::CreateContactResponse>, Status> {
        replay!(self, contacts::create_contact, request, "CreateContact")
    }

    async fn get_contact(
        &self,
        request: Request<pb::GetContactRequest>,
    ) -> Result<Response<pb::GetContactResponse>, Status> {
        rpc!(self, contacts::get_contact, request)
    }

    async fn list_contacts(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        rpc!(self, contacts::list_contacts, request)
    }

    async fn update_contact(
        &self,
        request: Request<pb::UpdateContactRequest>,
    ) -> Result<Response<pb::UpdateContactResponse>, Status> {
        replay!(self, contacts::update_contact, request, "UpdateContact")
    }

    async fn add_contact_tags(
        &self,
        request: Request<pb::AddContactTagsRequest>,
    ) -> Result<Response<pb::AddContactTagsResponse>, Status> {
        replay!(self, contacts::add_contact_tags, request, "AddContactTags")
    }

    async fn remove_contact_tags(
        &self,
        request: Request<pb::RemoveContactTagsRequest>,
    ) -> Result<Response<pb::RemoveContactTagsResponse>, Status> {
        replay!(
            self,
            contacts::remove_contact_tags,
            request,
            "RemoveContactTags"
        )
    }

    // ---- Sending (sending.rs) ----

    async fn send_text_message(
        &self,
        request: Request<pb::SendTextMessageRequest>,
    ) -> Result<Response<pb::SendTextMessageResponse>, Status> {
        replay!(self, sending::send_text_message, request, "SendTextMessage")
    }

    async fn send_media_message(
        &self,
        request: Request<pb::SendMediaMessageRequest>,
    ) -> Result<Response<pb::SendMediaMessageResponse>, Status> {
        replay!(
            self,
            sending::send_media_message,
            request,
            "SendMediaMessage"
        )
    }

    async fn send_reaction(
        &self,
        request: Request<pb::SendReactionRequest>,
    ) -> Result<Response<pb::SendReactionResponse>, Status> {
        replay!(self, sending::send_reaction, request, "SendReaction")
    }

    async fn send_template_message(
        &self,
        request: Request<pb::SendTemplateMessageRequest>,
    ) -> Result<Response<pb::SendTemplateMessageResponse>, Status> {
        replay!(
            self,
            sending::send_template_message,
            request,
            "SendTemplateMessage"
        )
    }

    async fn mark_message_read(
        &self,
        request: Request<pb::MarkMessageReadRequest>,
    ) -> Result<Response<pb::MarkMessageReadResponse>, Status> {
        replay!(self, sending::mark_message_read, request, "MarkMessageRead")
    }

    async fn upload_media(
        &self,
        request: Request<pb::UploadMediaRequest>,
    ) -> Result<Response<pb::UploadMediaResponse>, Status> {
        replay!(self, sending::upload_media, request, "UploadMedia")
    }

    async fn get_media_download_url(
        &self,
        _request: Request<pb::GetMediaDownloadUrlRequest>,
    ) -> Result<Response<pb::GetMediaDownloadUrlResponse>, Status> {
        Err(Status::unimplemented(
            "GetMediaDownloadUrl is not available yet: it needs the HTTP route that serves media \
             downloads, which the channel service does not have",
        ))
    }

    // ---- Campaign sends (campaigns.rs) ----

    async fn send_campaign(
        &self,
        request: Request<pb::SendCampaignRequest>,
    ) -> Result<Response<pb::SendCampaignResponse>, Status> {
        replay!(self, campaigns::send_campaign, request, "SendCampaign")
    }

    async fn list_campaign_messages(
        &self,
        request: Request<pb::ListCampaignMessagesRequest>,
    ) -> Result<Response<pb::ListCampaignMessagesResponse>, Status> {
        rpc!(self, campaigns::list_campaign_messages, request)
    }

    // ---- History and window (history.rs) ----

    async fn get_message(
        &self,
        request: Request<pb::GetMessageRequest>,
    ) -> Result<Response<pb::GetMessageResponse>, Status> {
        rpc!(self, history::get_message, request)
    }

    async fn list_conversation_messages(
        &self,
        request: Request<pb::ListConversationMessagesRequest>,
    ) -> Result<Response<pb::ListConversationMessagesResponse>, Status> {
        rpc!(self, history::list_conversation_messages, request)
    }

    async fn list_contact_messages(
        &self,
        request: Request<pb::ListContactMessagesRequest>,
    ) -> Result<Response<pb::ListContactMessagesResponse>, Status> {
        rpc!(self, history::list_contact_messages, request)
    }

    async fn get_conversation_window(
        &self,
        request: Request<pb::GetConversationWindowRequest>,
    ) -> Result<Response<pb::GetConversationWindowResponse>, Status> {
        rpc!(self, history::get_conversation_window, request)
    }

    async fn get_inbox_details(
        &self,
        request: Request<pb::GetInboxDetailsRequest>,
    ) -> Result<Response<pb::GetInboxDetailsResponse>, Status> {
        rpc!(self, history::get_inbox_details, request)
    }

    // ---- Templates (templates.rs) ----

    async fn list_templates(
        &self,
        request: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        rpc!(self, templates::list_templates, request)
    }

    async fn sync_templates(
        &self,
        request: Request<pb::SyncTemplatesRequest>,
    ) -> Result<Response<pb::SyncTemplatesResponse>, Status> {
        replay!(self, templates::sync_templates, request, "SyncTemplates")
    }
}
