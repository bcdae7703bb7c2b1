//! Campaign RPCs: send a template to up to 1,000 recipients, list what was sent.
//!
//! A bad recipient is not a bad request: it gets a REJECTED result and the others are sent.
//! Recipients the application can be handed (a parseable contact id or any phone number) go
//! to it, which rejects unknown contacts and non-E.164 numbers itself; the few it cannot be
//! handed (no contact or phone at all, a malformed contact id, malformed parameters) are
//! rejected here, in place, with the same result shape.

use switchboard_proto::channel::v1::{self as pb, campaign_recipient::Recipient as PbRecipient};
use switchboard_runtime::ids::{CampaignId, ContactId};
use switchboard_runtime::page_filter;

use super::convert::{
    Check, components_from_pb, messages_to_pb, recipient_result_to_pb, status_from_pb,
    template_to_send, valid,
};
use crate::{
    app::{CampaignRecipient, CampaignSend, Channel, MAX_RECIPIENTS, Recipient, RecipientResult},
    error::ChannelError,
};

/// A recipient as the application takes it, or why it cannot be.
fn recipient(r: &pb::CampaignRecipient) -> Result<CampaignRecipient, String> {
    let mut check = Check::default();
    let recipient = match &r.recipient {
        Some(PbRecipient::ContactId(id)) => check
            .id::<ContactId>("contact_id", id)
            .map(Recipient::Contact),
        // The application normalizes the number and rejects it when it is not E.164.
        Some(PbRecipient::PhoneNumber(phone)) => Some(Recipient::Phone(phone.clone())),
        None => {
            check.bad("recipient", "must give contact_id or phone_number");
            None
        }
    };
    let components = components_from_pb(&mut check, "components", &r.components);
    match recipient {
        Some(recipient) if check.is_clean() => Ok(CampaignRecipient {
            recipient,
            components,
        }),
        _ => Err(check
            .0
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// Sends a campaign's template to its recipients.
pub async fn send_campaign(
    app: &Channel,
    req: pb::SendCampaignRequest,
) -> Result<pb::SendCampaignResponse, ChannelError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id).map(String::from);
    let campaign = check.id::<CampaignId>("campaign_id", &req.campaign_id);
    let template = template_to_send(&mut check, "template", req.template.as_ref());
    if req.recipients.is_empty() || req.recipients.len() > MAX_RECIPIENTS {
        check.bad(
            "recipients",
            format!(
                "has {} entries; give 1 to {MAX_RECIPIENTS} (split bigger lists)",
                req.recipients.len()
            ),
        );
    }
    check.done()?;

    // Positions in the request of the recipients handed to the application, in order.
    let mut handed = Vec::with_capacity(req.recipients.len());
    let mut recipients = Vec::with_capacity(req.recipients.len());
    let mut results: Vec<Option<RecipientResult>> = vec![None; req.recipients.len()];
    for (index, r) in req.recipients.iter().enumerate() {
        match recipient(r) {
            Ok(r) => {
                handed.push(index);
                recipients.push(r);
            }
            Err(error) => {
                results[index] = Some(RecipientResult {
                    index: i32::try_from(index).unwrap_or(i32::MAX),
                    contact_id: String::new(),
                    outcome: "rejected".into(),
                    message_id: String::new(),
                    error,
                });
            }
        }
    }
    let queued = app
        .send_campaign(CampaignSend {
            request_id: req.request_id,
            org: valid(org)?,
            actor,
            campaign: valid(campaign)?,
            template: valid(template)?,
            recipients,
        })
        .await?;
    for mut result in queued {
        let Some(&index) = usize::try_from(result.index)
            .ok()
            .and_then(|i| handed.get(i))
        else {
            return Err(ChannelError::Corrupt(format!(
                "campaign result for recipient {} of {}",
                result.index,
                handed.len()
            )));
        };
        result.index = i32::try_from(index).unwrap_or(i32::MAX);
        results[index] = Some(result);
    }
    let results: Vec<pb::RecipientResult> = results
        .iter()
        .flatten()
        .map(recipient_result_to_pb)
        .collect();
    let count = |outcome: pb::RecipientOutcome| {
        let n = results
            .iter()
            .filter(|r| r.outcome == outcome as i32)
            .count();
        i32::try_from(n).unwrap_or(i32::MAX)
    };
    Ok(pb::SendCampaignResponse {
        accepted_count: count(pb::RecipientOutcome::Accepted),
        rejected_count: count(pb::RecipientOutcome::Rejected),
        results,
    })
}

/// Lists a campaign's messages, newest first, with the total.
pub async fn list_campaign_messages(
    app: &Channel,
    req: pb::ListCampaignMessagesRequest,
) -> Result<pb::ListCampaignMessagesResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let campaign = check.id::<CampaignId>("campaign_id", &req.campaign_id);
    let statuses: Vec<_> = req
        .statuses
        .iter()
        .enumerate()
        .filter_map(|(i, s)| status_from_pb(&mut check, &format!("statuses[{i}]"), *s))
        .collect();
    check.done()?;
    // The request carries no actor_agent_id, so "operator or admin" cannot be checked here:
    // it runs as the system, and the caller (the gateway) must enforce the role.
    let (messages, total) = app
        .campaign_messages(&valid(org)?, None, &valid(campaign)?, statuses, &page)
        .await?;
    Ok(pb::ListCampaignMessagesResponse {
        messages: messages_to_pb(&messages.items),
        page: Some(messages.response(Some(total))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_the_application_cannot_take_are_rejected_with_a_reason() {
        let by_phone = pb::CampaignRecipient {
            recipient: Some(PbRecipient::PhoneNumber("not a phone".into())),
            components: vec![],
        };
        // The application rejects a bad number itself, per recipient.
        assert!(recipient(&by_phone).is_ok());
        let nobody = pb::CampaignRecipient::default();
        assert!(
            recipient(&nobody)
                .expect_err("rejected")
                .starts_with("recipient:")
        );
        let bad_id = pb::CampaignRecipient {
            recipient: Some(PbRecipient::ContactId("conv_1".into())),
            components: vec![],
        };
        assert!(
            recipient(&bad_id)
                .expect_err("rejected")
                .starts_with("contact_id:")
        );
        let bad_component = pb::CampaignRecipient {
            recipient: Some(PbRecipient::ContactId(ContactId::generate().to_string())),
            components: vec![pb::TemplateComponent::default()],
        };
        assert!(
            recipient(&bad_component)
                .expect_err("rejected")
                .starts_with("components[0].kind:")
        );
    }
}
