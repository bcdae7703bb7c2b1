//! Template RPCs: list the synced templates of a number's WABA, sync them now.

use switchboard_proto::channel::v1 as pb;
use switchboard_runtime::ids::ChannelAccountId;
use switchboard_runtime::page_filter;

use super::convert::{Check, template_status_from_pb, template_to_pb, valid};
use crate::{app::Channel, error::ChannelError, store::templates::TemplateFilter};

/// Longest name query.
const MAX_NAME_QUERY_CHARS: usize = 512;
/// Longest language code.
const MAX_LANGUAGE_CODE_CHARS: usize = 16;

/// Lists a number's templates by name then language, with the total.
pub async fn list_templates(
    app: &Channel,
    req: pb::ListTemplatesRequest,
) -> Result<pb::ListTemplatesResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let account = check.id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    let statuses = req
        .statuses
        .iter()
        .enumerate()
        .filter_map(|(i, s)| template_status_from_pb(&mut check, &format!("statuses[{i}]"), *s))
        .map(str::to_string)
        .collect();
    check.at_most("name_query", &req.name_query, MAX_NAME_QUERY_CHARS);
    check.at_most("language_code", &req.language_code, MAX_LANGUAGE_CODE_CHARS);
    check.done()?;
    let filter = TemplateFilter {
        statuses,
        name_query: req.name_query.trim().to_string(),
        language_code: req.language_code.trim().to_string(),
    };
    let (templates, total) = app
        .templates(&valid(org)?, &valid(account)?, &filter, &page)
        .await?;
    Ok(pb::ListTemplatesResponse {
        templates: templates.items.iter().map(template_to_pb).collect(),
        page: Some(templates.response(Some(total))),
    })
}

/// Re-reads a number's templates from the Graph API.
pub async fn sync_templates(
    app: &Channel,
    req: pb::SyncTemplatesRequest,
) -> Result<pb::SyncTemplatesResponse, ChannelError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let org = check.org(&req.organization_id);
    let account = check.id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    check.done()?;
    // The request carries no actor_agent_id, so "operator or admin" cannot be checked here:
    // it runs as the system, and the caller (the gateway) must enforce the role.
    let count = app
        .sync_templates(&valid(org)?, None, &valid(account)?)
        .await?;
    Ok(pb::SyncTemplatesResponse {
        template_count: i32::try_from(count).unwrap_or(i32::MAX),
    })
}
