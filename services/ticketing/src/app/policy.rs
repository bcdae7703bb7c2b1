//! The close policy: read by anyone, replaced by admins, checked by routing before a close.

use switchboard_runtime::{
    errors::FieldViolation,
    ids::{ChannelAccountId, ConversationId, OrganizationId, TeamId},
};

use super::{Caller, Ticketing};
use crate::{
    domain::{Link, Role, policy::ClosePolicy},
    error::TicketingError,
};

/// What CheckClosePolicy answers.
#[derive(Debug, Clone)]
pub struct CloseCheck {
    pub allowed: bool,
    pub ticket_required: bool,
    pub link: Option<Link>,
}

impl Ticketing {
    pub async fn get_policy(&self, org: &OrganizationId) -> Result<ClosePolicy, TicketingError> {
        Ok(self.store.policy(&self.store.db, org).await?)
    }

    /// Replaces the policy; admin only.
    pub async fn update_policy(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        mut policy: ClosePolicy,
    ) -> Result<ClosePolicy, TicketingError> {
        if caller.role != Some(Role::Admin) {
            return Err(TicketingError::denied(
                "only an admin may change the close policy",
            ));
        }
        // Numbers live in the channel service, teams in routing: an id of another organization
        // (or none at all) names nothing the policy could apply to.
        let mut bad = Vec::new();
        for (i, account) in policy.channel_account_ids.iter().enumerate() {
            if !self.messages.account_exists(org, account).await? {
                bad.push(FieldViolation::new(
                    format!("policy.channel_account_ids[{i}]"),
                    "no such channel account in the organization",
                ));
            }
        }
        for (i, team) in policy.team_ids.iter().enumerate() {
            if !self.directory.team_exists(org, team).await? {
                bad.push(FieldViolation::new(
                    format!("policy.team_ids[{i}]"),
                    "no such team in the organization",
                ));
            }
        }
        if !bad.is_empty() {
            return Err(TicketingError::InvalidArgument(bad));
        }
        policy.update_ms = self.clock.now_ms();
        let tx = self.store.begin().await?;
        self.store.put_policy(&tx, org, &policy).await?;
        self.store.commit(tx).await?;
        Ok(policy)
    }

    /// Whether `conversation` may close: the policy requires a ticket for it and it has one,
    /// or the policy does not require one. A proposal does not count.
    pub async fn check_close(
        &self,
        org: &OrganizationId,
        conversation: &ConversationId,
        account: Option<&ChannelAccountId>,
        team: Option<&TeamId>,
    ) -> Result<CloseCheck, TicketingError> {
        let policy = self.store.policy(&self.store.db, org).await?;
        let link = self
            .store
            .link(&self.store.db, org, conversation.as_str())
            .await?;
        let required = policy.requires_ticket(account, team);
        let allowed = !required || link.is_some();
        let outcome = match (required, allowed) {
            (false, _) => "not_required",
            (true, true) => "linked",
            (true, false) => "refused",
        };
        self.metrics
            .close_checks
            .with_label_values(&[outcome])
            .inc();
        Ok(CloseCheck {
            allowed,
            ticket_required: required,
            link,
        })
    }
}
