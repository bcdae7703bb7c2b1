//! Campaign RPCs: create, get, list, update and delete (archive), with the form fields.
//! Parses and validates every field (all violations at once).

use std::collections::BTreeSet;

use switchboard_proto::{prost_types::Duration, routing::v1 as pb};
use switchboard_runtime::{
    ids::{CampaignId, ChannelAccountId, OrganizationId},
    page_filter,
};

use super::{
    convert::{Check, RoutingChecks, target_to_pb, timestamp_ms},
    fields::{DAY_SECS, duration},
};
use crate::{
    app::{
        Routing,
        campaigns::{CampaignChanges, NewCampaign},
    },
    domain::config::{Campaign, FormField, FormFieldKind},
    error::RoutingError,
};

/// Campaign reply window when unset: 72 hours.
const DEFAULT_REPLY_WINDOW_SECS: i64 = 72 * 3600;
/// Longest campaign reply window: 30 days.
const MAX_REPLY_WINDOW_SECS: i64 = 30 * DAY_SECS;

fn form_kind_to_pb(k: FormFieldKind) -> pb::FormFieldKind {
    match k {
        FormFieldKind::Text => pb::FormFieldKind::Text,
        FormFieldKind::Number => pb::FormFieldKind::Number,
        FormFieldKind::Date => pb::FormFieldKind::Date,
        FormFieldKind::Boolean => pb::FormFieldKind::Boolean,
        FormFieldKind::Select => pb::FormFieldKind::Select,
    }
}

fn campaign_to_pb(org: &OrganizationId, c: Campaign) -> pb::Campaign {
    pb::Campaign {
        id: c.id.to_string(),
        organization_id: org.to_string(),
        name: c.name,
        channel_account_id: c.channel_account_id.to_string(),
        continue_with_human: c.continue_with_human,
        human_target: Some(target_to_pb(&c.human_target)),
        reply_window: duration(c.reply_window_secs),
        form_fields: c
            .form_fields
            .into_iter()
            .map(|f| pb::FormField {
                key: f.key,
                label: f.label,
                kind: form_kind_to_pb(f.kind) as i32,
                required: f.required,
                options: f.options,
                help_text: f.help_text,
            })
            .collect(),
        archived: c.archived,
        create_time: Some(timestamp_ms(c.created_ms)),
        update_time: Some(timestamp_ms(c.updated_ms)),
    }
}

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn form_fields(check: &mut Check, field: &str, fields: &[pb::FormField]) -> Vec<FormField> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        let key = f.key.trim();
        if !is_key(key) || key.len() > 64 {
            check.bad(
                &at("key"),
                "must be 1 to 64 lowercase letters, digits and underscores",
            );
        } else if !seen.insert(key.to_string()) {
            check.bad(&at("key"), format!("duplicate key {key:?}"));
        }
        let label = check.text(&at("label"), &f.label, 200);
        let kind = match pb::FormFieldKind::try_from(f.kind) {
            Ok(pb::FormFieldKind::Text) => Some(FormFieldKind::Text),
            Ok(pb::FormFieldKind::Number) => Some(FormFieldKind::Number),
            Ok(pb::FormFieldKind::Date) => Some(FormFieldKind::Date),
            Ok(pb::FormFieldKind::Boolean) => Some(FormFieldKind::Boolean),
            Ok(pb::FormFieldKind::Select) => Some(FormFieldKind::Select),
            Ok(pb::FormFieldKind::Unspecified) => {
                check.bad(&at("kind"), "is required");
                None
            }
            Err(_) => {
                check.bad(&at("kind"), "unknown kind");
                None
            }
        };
        let options: Vec<String> = f
            .options
            .iter()
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if kind == Some(FormFieldKind::Select) && options.is_empty() {
            check.bad(&at("options"), "a select field needs at least one option");
        }
        if let Some(kind) = kind {
            out.push(FormField {
                key: key.to_string(),
                label,
                kind,
                required: f.required,
                options: if kind == FormFieldKind::Select {
                    options
                } else {
                    Vec::new()
                },
                help_text: f.help_text.trim().to_string(),
            });
        }
    }
    out
}

fn reply_window(check: &mut Check, field: &str, value: Option<&Duration>) -> i64 {
    let secs = value
        .and_then(|d| check.whole_seconds(field, d))
        .unwrap_or(0);
    if secs == 0 {
        return DEFAULT_REPLY_WINDOW_SECS;
    }
    if secs > MAX_REPLY_WINDOW_SECS {
        check.bad(field, "must be at most 30 days");
    }
    secs
}

pub async fn create_campaign(
    app: &Routing,
    req: pb::CreateCampaignRequest,
) -> Result<pb::CreateCampaignResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let c = req.campaign.unwrap_or_default();
    let name = check.text("campaign.name", &c.name, 200);
    let account: Option<ChannelAccountId> =
        check.id("campaign.channel_account_id", &c.channel_account_id);
    let target = check.target("campaign.human_target", c.human_target.as_ref(), true);
    let window = reply_window(&mut check, "campaign.reply_window", c.reply_window.as_ref());
    let fields = form_fields(&mut check, "campaign.form_fields", &c.form_fields);
    check.done()?;
    let id = id.expect("validated");
    let new = NewCampaign {
        name,
        channel_account_id: account.expect("validated"),
        continue_with_human: c.continue_with_human,
        human_target: target,
        reply_window_secs: window,
        form_fields: fields,
    };
    let campaign = app
        .create_campaign(&id, actor.as_ref(), &req.request_id, new)
        .await?;
    Ok(pb::CreateCampaignResponse {
        campaign: Some(campaign_to_pb(&id, campaign)),
    })
}

pub async fn get_campaign(
    app: &Routing,
    req: pb::GetCampaignRequest,
) -> Result<pb::GetCampaignResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let campaign: Option<CampaignId> = check.id("campaign_id", &req.campaign_id);
    check.done()?;
    let id = id.expect("validated");
    let campaign = app
        .store()
        .campaign(&id, &campaign.expect("validated"))
        .await?;
    Ok(pb::GetCampaignResponse {
        campaign: Some(campaign_to_pb(&id, campaign)),
    })
}

pub async fn list_campaigns(
    app: &Routing,
    req: pb::ListCampaignsRequest,
) -> Result<pb::ListCampaignsResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let account: Option<ChannelAccountId> =
        check.opt_id("channel_account_id", &req.channel_account_id);
    check.done()?;
    let id = id.expect("validated");
    let (list, total) = app
        .store()
        .list_campaigns(&id, account.as_ref(), req.include_archived, &page)
        .await?;
    Ok(pb::ListCampaignsResponse {
        page: Some(list.response(Some(total))),
        campaigns: list
            .items
            .into_iter()
            .map(|c| campaign_to_pb(&id, c))
            .collect(),
    })
}

const CAMPAIGN_FIELDS: &[&str] = &[
    "name",
    "channel_account_id",
    "continue_with_human",
    "human_target",
    "reply_window",
    "form_fields",
];

pub async fn update_campaign(
    app: &Routing,
    req: pb::UpdateCampaignRequest,
) -> Result<pb::UpdateCampaignResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let paths = check.mask(req.update_mask.as_ref(), CAMPAIGN_FIELDS);
    let c = req.campaign.unwrap_or_default();
    let campaign: Option<CampaignId> = check.id("campaign.id", &c.id);
    let mut changes = CampaignChanges::default();
    if paths.contains("name") {
        changes.name = Some(check.text("campaign.name", &c.name, 200));
    }
    if paths.contains("channel_account_id") {
        changes.channel_account_id = check.id("campaign.channel_account_id", &c.channel_account_id);
    }
    if paths.contains("continue_with_human") {
        changes.continue_with_human = Some(c.continue_with_human);
    }
    if paths.contains("human_target") {
        changes.human_target =
            Some(check.target("campaign.human_target", c.human_target.as_ref(), true));
    }
    if paths.contains("reply_window") {
        changes.reply_window_secs = Some(reply_window(
            &mut check,
            "campaign.reply_window",
            c.reply_window.as_ref(),
        ));
    }
    if paths.contains("form_fields") {
        changes.form_fields = Some(form_fields(
            &mut check,
            "campaign.form_fields",
            &c.form_fields,
        ));
    }
    check.done()?;
    let id = id.expect("validated");
    let updated = app
        .update_campaign(&id, actor.as_ref(), &campaign.expect("validated"), changes)
        .await?;
    Ok(pb::UpdateCampaignResponse {
        campaign: Some(campaign_to_pb(&id, updated)),
    })
}

pub async fn delete_campaign(
    app: &Routing,
    req: pb::DeleteCampaignRequest,
) -> Result<pb::DeleteCampaignResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let campaign: Option<CampaignId> = check.id("campaign_id", &req.campaign_id);
    check.done()?;
    let id = id.expect("validated");
    let archived = app
        .archive_campaign(&id, actor.as_ref(), &campaign.expect("validated"))
        .await?;
    Ok(pb::DeleteCampaignResponse {
        campaign: Some(campaign_to_pb(&id, archived)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_field_keys_are_lowercase_snake() {
        assert!(is_key("order_id_2"));
        assert!(!is_key("Order"));
        assert!(!is_key("order-id"));
        assert!(!is_key(""));
    }

    #[test]
    fn duplicate_form_keys_and_optionless_selects_are_refused() {
        let field = |key: &str, kind: pb::FormFieldKind| pb::FormField {
            key: key.into(),
            label: "L".into(),
            kind: kind as i32,
            ..Default::default()
        };
        let mut check = Check::default();
        form_fields(
            &mut check,
            "f",
            &[
                field("a", pb::FormFieldKind::Text),
                field("a", pb::FormFieldKind::Text),
                field("b", pb::FormFieldKind::Select),
            ],
        );
        let fields: Vec<_> = check.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["f[1].key", "f[2].options"]);
    }
}
