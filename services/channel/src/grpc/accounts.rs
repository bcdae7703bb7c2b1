//! Channel account RPCs: register, read, list, change and remove WhatsApp numbers.

use switchboard_proto::channel::v1 as pb;
use switchboard_runtime::ids::ChannelAccountId;
use switchboard_runtime::page_filter;

use super::convert::{ChannelChecks, Check, account_to_pb, valid};
use crate::{
    app::{Channel, NewAccount},
    error::ChannelError,
    store::accounts::AccountChanges,
};

/// Fields UpdateChannelAccount may change.
const UPDATABLE: &[&str] = &["display_name", "access_token_secret_ref", "disabled"];
/// Longest display name of a number.
const MAX_DISPLAY_NAME_CHARS: usize = 200;
/// Longest secret reference.
const MAX_SECRET_REF_CHARS: usize = 128;
/// Longest display phone number (Meta formats it with spaces and dashes).
const MAX_DISPLAY_PHONE_CHARS: usize = 64;

/// Checks a secret reference: 1 to 128 of `[A-Za-z0-9._-]` (it names an environment variable
/// or a file in the secrets directory, never a path).
fn secret_ref(check: &mut Check, field: &str, value: &str) {
    let ok = !value.is_empty()
        && value.chars().count() <= MAX_SECRET_REF_CHARS
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        check.bad(
            field,
            "must be 1 to 128 characters of letters, digits, '.', '_' or '-' (the name of a secret, not the token)",
        );
    }
}

/// Registers a number.
pub async fn create_channel_account(
    app: &Channel,
    req: pb::CreateChannelAccountRequest,
) -> Result<pb::CreateChannelAccountResponse, ChannelError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id).map(String::from);
    let new = match &req.channel_account {
        None => {
            check.bad("channel_account", "is required");
            None
        }
        Some(a) => {
            check.required(
                "channel_account.display_name",
                &a.display_name,
                MAX_DISPLAY_NAME_CHARS,
            );
            check.digits("channel_account.phone_number_id", &a.phone_number_id);
            check.required(
                "channel_account.display_phone_number",
                &a.display_phone_number,
                MAX_DISPLAY_PHONE_CHARS,
            );
            check.digits("channel_account.waba_id", &a.waba_id);
            secret_ref(
                &mut check,
                "channel_account.access_token_secret_ref",
                &a.access_token_secret_ref,
            );
            Some(NewAccount {
                display_name: a.display_name.trim().to_string(),
                phone_number_id: a.phone_number_id.clone(),
                display_phone_number: a.display_phone_number.trim().to_string(),
                waba_id: a.waba_id.clone(),
                access_token_secret_ref: a.access_token_secret_ref.clone(),
                disabled: a.disabled,
            })
        }
    };
    check.done()?;
    let org = valid(org)?;
    let account = app
        .create_account(&org, actor.as_deref(), &req.request_id, valid(new)?)
        .await?;
    Ok(pb::CreateChannelAccountResponse {
        channel_account: Some(account_to_pb(&account)),
    })
}

/// Returns one number.
pub async fn get_channel_account(
    app: &Channel,
    req: pb::GetChannelAccountRequest,
) -> Result<pb::GetChannelAccountResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let id = check.id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    check.done()?;
    let account = app.account(&valid(org)?, &valid(id)?).await?;
    Ok(pb::GetChannelAccountResponse {
        channel_account: Some(account_to_pb(&account)),
    })
}

/// Lists numbers by display name, with the total.
pub async fn list_channel_accounts(
    app: &Channel,
    req: pb::ListChannelAccountsRequest,
) -> Result<pb::ListChannelAccountsResponse, ChannelError> {
    let mut check = Check::default();
    let org = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    check.done()?;
    let (accounts, total) = app
        .accounts(&valid(org)?, req.include_disabled, &page)
        .await?;
    Ok(pb::ListChannelAccountsResponse {
        channel_accounts: accounts.items.iter().map(account_to_pb).collect(),
        page: Some(accounts.response(Some(total))),
    })
}

/// Changes the fields named in `update_mask`.
pub async fn update_channel_account(
    app: &Channel,
    req: pb::UpdateChannelAccountRequest,
) -> Result<pb::UpdateChannelAccountResponse, ChannelError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id).map(String::from);
    let paths = check.mask(req.update_mask.as_ref(), UPDATABLE);
    let mut changes = AccountChanges::default();
    let id = match &req.channel_account {
        None => {
            check.bad("channel_account", "is required");
            None
        }
        Some(a) => {
            let id = check.id::<ChannelAccountId>("channel_account.id", &a.id);
            for path in &paths {
                match path.as_str() {
                    "display_name" => {
                        check.required(
                            "channel_account.display_name",
                            &a.display_name,
                            MAX_DISPLAY_NAME_CHARS,
                        );
                        changes.display_name = Some(a.display_name.trim().to_string());
                    }
                    "access_token_secret_ref" => {
                        secret_ref(
                            &mut check,
                            "channel_account.access_token_secret_ref",
                            &a.access_token_secret_ref,
                        );
                        changes.access_token_secret_ref = Some(a.access_token_secret_ref.clone());
                    }
                    "disabled" => changes.disabled = Some(a.disabled),
                    // Unknown paths were reported by `mask`.
                    _ => {}
                }
            }
            id
        }
    };
    check.done()?;
    let account = app
        .update_account(&valid(org)?, actor.as_deref(), &valid(id)?, changes)
        .await?;
    Ok(pb::UpdateChannelAccountResponse {
        channel_account: Some(account_to_pb(&account)),
    })
}

/// Removes a number.
pub async fn delete_channel_account(
    app: &Channel,
    req: pb::DeleteChannelAccountRequest,
) -> Result<pb::DeleteChannelAccountResponse, ChannelError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let org = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id).map(String::from);
    let id = check.id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    check.done()?;
    app.delete_account(&valid(org)?, actor.as_deref(), &valid(id)?)
        .await?;
    Ok(pb::DeleteChannelAccountResponse {})
}
