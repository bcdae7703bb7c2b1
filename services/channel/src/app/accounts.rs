//! Channel accounts (admin) and contacts' lookups.

use switchboard_runtime::{
    ids::{ChannelAccountId, OrganizationId},
    paging::{Page, Paged},
};

use super::Channel;
use crate::{
    domain::model::ChannelAccount,
    error::{ChannelError, Reason},
    store::accounts::AccountChanges,
};

/// A number to register.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub display_name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub waba_id: String,
    pub access_token_secret_ref: String,
    pub disabled: bool,
}

impl Channel {
    /// Registers a number. Admin only; idempotent by request id.
    pub async fn create_account(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        request_id: &str,
        new: NewAccount,
    ) -> Result<ChannelAccount, ChannelError> {
        self.require_admin(org, actor).await?;
        let now = self.clock.now_ms();
        let account = ChannelAccount {
            id: ChannelAccountId::generate(),
            organization_id: org.clone(),
            display_name: new.display_name,
            phone_number_id: new.phone_number_id,
            display_phone_number: new.display_phone_number,
            waba_id: new.waba_id,
            access_token_secret_ref: new.access_token_secret_ref,
            disabled: new.disabled,
            last_webhook_ms: None,
            created_ms: now,
            updated_ms: now,
        };
        self.store.create_account(request_id, &account).await
    }

    pub async fn account(
        &self,
        org: &OrganizationId,
        id: &ChannelAccountId,
    ) -> Result<ChannelAccount, ChannelError> {
        self.store.account(org, id).await
    }

    pub async fn accounts(
        &self,
        org: &OrganizationId,
        include_disabled: bool,
        page: &Page,
    ) -> Result<(Paged<ChannelAccount>, u64), ChannelError> {
        self.store.accounts(org, include_disabled, page).await
    }

    /// Changes a number's name, token reference or disabled flag. Admin only.
    pub async fn update_account(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        id: &ChannelAccountId,
        changes: AccountChanges,
    ) -> Result<ChannelAccount, ChannelError> {
        self.require_admin(org, actor).await?;
        self.store
            .update_account(org, id, changes, self.clock.now_ms())
            .await
    }

    /// Removes a number unless it has active conversations. Admin only.
    pub async fn delete_account(
        &self,
        org: &OrganizationId,
        actor: Option<&str>,
        id: &ChannelAccountId,
    ) -> Result<(), ChannelError> {
        self.require_admin(org, actor).await?;
        self.store.account(org, id).await?;
        if self.routing.has_active_conversations(org, id).await? {
            return Err(ChannelError::precondition(
                Reason::InUse,
                format!("channel account {id} has active conversations; close them first"),
            ));
        }
        self.store
            .delete_account(org, id, self.clock.now_ms())
            .await
    }
}
