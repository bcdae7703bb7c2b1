//! History RPCs: one message, a conversation's and a contact's messages, and the 24-hour
//! window.

use switchboard_proto::channel::v1::{self as pb, get_conversation_window_request::Subject};
use switchboard_runtime::ids::{ChannelAccountId, ContactId, ConversationId, MessageId};
use switchboard_runtime::page_filter;

use super::convert::{Check, contact_to_pb, message_to_pb, messages_to_pb, valid, window_to_pb};
use crate::{app::Channel, error::ChannelError};

/// Whether a listing goes newest first; `default_newest` when the order is unspecified.
fn newest_first(check: &mut Check, value: i32, default_newest: bool) -> bool {
    match pb::MessageOrder::try_from(value) {
        Ok(pb::MessageOrder::Unspecified) => default_newest,
        Ok(pb::MessageOrder::OldestFirst) => false,
        Ok(pb::MessageOrder::NewestFirst) => true,
        Err(_) => {
            check.bad("order", "must be OLDEST_FIRST or NEWEST_FIRST");
            default_newest
        }
    }
}

/// Returns one message.
pub async fn get_message(
    app: &Channel,
    req: pb::GetMessageRequest,
) -> Result<pb::GetMessageResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let id = check.id::<MessageId>("message_id", &req.message_id);
    check.done()?;
    let message = app.message(&valid(org)?, &valid(id)?).await?;
    Ok(pb::GetMessageResponse {
        message: Some(message_to_pb(&message)),
    })
}

/// A page of a conversation's messages, oldest first unless asked otherwise (no total).
pub async fn list_conversation_messages(
    app: &Channel,
    req: pb::ListConversationMessagesRequest,
) -> Result<pb::ListConversationMessagesResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let conversation = check.id::<ConversationId>("conversation_id", &req.conversation_id);
    let newest = newest_first(&mut check, req.order, false);
    check.done()?;
    let messages = app
        .conversation_messages(&valid(org)?, &valid(conversation)?, newest, &page)
        .await?;
    Ok(pb::ListConversationMessagesResponse {
        messages: messages_to_pb(&messages.items),
        page: Some(messages.response(None)),
    })
}

/// A page of a contact's messages across its conversations, newest first unless asked
/// otherwise (no total).
pub async fn list_contact_messages(
    app: &Channel,
    req: pb::ListContactMessagesRequest,
) -> Result<pb::ListContactMessagesResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let contact = check.id::<ContactId>("contact_id", &req.contact_id);
    let account = check.opt_id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    let newest = newest_first(&mut check, req.order, true);
    check.done()?;
    let messages = app
        .contact_messages(&valid(org)?, &valid(contact)?, account, newest, &page)
        .await?;
    Ok(pb::ListContactMessagesResponse {
        messages: messages_to_pb(&messages.items),
        page: Some(messages.response(None)),
    })
}

/// The 24-hour window of a conversation, or of a contact on a number.
pub async fn get_conversation_window(
    app: &Channel,
    req: pb::GetConversationWindowRequest,
) -> Result<pb::GetConversationWindowResponse, ChannelError> {
    enum Of {
        Conversation(ConversationId),
        Contact(ChannelAccountId, ContactId),
    }
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let of = match &req.subject {
        Some(Subject::ConversationId(id)) => check
            .id::<ConversationId>("conversation_id", id)
            .map(Of::Conversation),
        Some(Subject::Contact(c)) => {
            let account =
                check.id::<ChannelAccountId>("contact.channel_account_id", &c.channel_account_id);
            let contact = check.id::<ContactId>("contact.contact_id", &c.contact_id);
            account
                .zip(contact)
                .map(|(account, contact)| Of::Contact(account, contact))
        }
        None => {
            check.bad(
                "subject",
                "must give conversation_id or contact (channel_account_id and contact_id)",
            );
            None
        }
    };
    check.done()?;
    let org = valid(org)?;
    let view = match valid(of)? {
        Of::Conversation(id) => app.conversation_window(&org, &id).await?,
        Of::Contact(account, contact) => app.contact_window(&org, &account, &contact).await?,
    };
    Ok(window_to_pb(&view))
}

/// Contacts and conversation summaries for an inbox page, in one call.
pub async fn get_inbox_details(
    app: &Channel,
    req: pb::GetInboxDetailsRequest,
) -> Result<pb::GetInboxDetailsResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    for (field, ids) in [
        ("conversation_ids", &req.conversation_ids),
        ("contact_ids", &req.contact_ids),
    ] {
        if ids.len() > 500 {
            check.bad(field, "at most 500 ids");
        }
    }
    let conversations: Vec<String> = req
        .conversation_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            check
                .id::<ConversationId>(&format!("conversation_ids[{i}]"), id)
                .map(|id| id.to_string())
        })
        .collect();
    let contacts: Vec<String> = req
        .contact_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            check
                .id::<ContactId>(&format!("contact_ids[{i}]"), id)
                .map(|id| id.to_string())
        })
        .collect();
    check.done()?;
    let (contacts, summaries) = app
        .inbox_details(&valid(org)?, &conversations, &contacts)
        .await?;
    Ok(pb::GetInboxDetailsResponse {
        contacts: contacts.iter().map(contact_to_pb).collect(),
        conversations: summaries
            .iter()
            .map(|s| pb::ConversationSummary {
                conversation_id: s.conversation_id.clone(),
                last_message: s.last_message.as_ref().map(message_to_pb),
                unanswered_count: s.unanswered,
            })
            .collect(),
    })
}
