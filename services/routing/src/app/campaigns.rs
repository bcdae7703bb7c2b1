//! Campaigns: create, change and archive; the human target must exist and an agent target must
//! serve the campaign's channel account.

use switchboard_runtime::ids::{AgentId, CampaignId, ChannelAccountId, OrganizationId};

use super::{
    Routing,
    access::{Need, invalid},
};
use crate::{
    domain::config::{Campaign, FormField, Target},
    error::RoutingError,
};

/// A validated campaign to create.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub channel_account_id: ChannelAccountId,
    pub continue_with_human: bool,
    pub human_target: Target,
    pub reply_window_secs: i64,
    pub form_fields: Vec<FormField>,
}

/// Changes to a campaign; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CampaignChanges {
    pub name: Option<String>,
    pub channel_account_id: Option<ChannelAccountId>,
    pub continue_with_human: Option<bool>,
    pub human_target: Option<Target>,
    pub reply_window_secs: Option<i64>,
    pub form_fields: Option<Vec<FormField>>,
}

impl Routing {
    /// Creates a campaign (idempotent by `request_id`). Operator or admin.
    pub async fn create_campaign(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        request_id: &str,
        new: NewCampaign,
    ) -> Result<Campaign, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        self.require_account(org, &new.channel_account_id).await?;
        self.check_campaign_target(org, &new.channel_account_id, &new.human_target)
            .await?;
        let now = self.clock.now_ms();
        let campaign = Campaign {
            id: CampaignId::generate(),
            name: new.name,
            channel_account_id: new.channel_account_id,
            continue_with_human: new.continue_with_human,
            human_target: new.human_target,
            reply_window_secs: new.reply_window_secs,
            form_fields: new.form_fields,
            archived: false,
            created_ms: now,
            updated_ms: now,
        };
        self.store.create_campaign(org, request_id, &campaign).await
    }

    /// Changes a campaign. Operator or admin.
    pub async fn update_campaign(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        id: &CampaignId,
        changes: CampaignChanges,
    ) -> Result<Campaign, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let mut campaign = self.store.campaign(org, id).await?;
        let recheck = changes.human_target.is_some() || changes.channel_account_id.is_some();
        if let Some(v) = changes.name {
            campaign.name = v;
        }
        if let Some(v) = changes.channel_account_id {
            if v != campaign.channel_account_id {
                self.require_account(org, &v).await?;
            }
            campaign.channel_account_id = v;
        }
        if let Some(v) = changes.continue_with_human {
            campaign.continue_with_human = v;
        }
        if let Some(v) = changes.human_target {
            campaign.human_target = v;
        }
        if let Some(v) = changes.reply_window_secs {
            campaign.reply_window_secs = v;
        }
        if let Some(v) = changes.form_fields {
            campaign.form_fields = v;
        }
        if recheck {
            self.check_campaign_target(org, &campaign.channel_account_id, &campaign.human_target)
                .await?;
        }
        campaign.updated_ms = self.clock.now_ms();
        self.store.save_campaign(org, &campaign, "updated").await
    }

    /// Archives a campaign. Operator or admin.
    pub async fn archive_campaign(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        id: &CampaignId,
    ) -> Result<Campaign, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let mut campaign = self.store.campaign(org, id).await?;
        if campaign.archived {
            return Ok(campaign);
        }
        campaign.archived = true;
        campaign.updated_ms = self.clock.now_ms();
        self.store.save_campaign(org, &campaign, "archived").await
    }

    /// The channel service owns accounts: another organization's or an unknown number is
    /// NOT_FOUND, as for any resource the caller may not see.
    pub(crate) async fn require_account(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<(), RoutingError> {
        if self.channel.exists(org, account).await? {
            Ok(())
        } else {
            Err(RoutingError::not_found("channel account", account))
        }
    }

    /// A campaign's agent target must serve the channel account; a team target must exist.
    async fn check_campaign_target(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        target: &Target,
    ) -> Result<(), RoutingError> {
        match target {
            Target::None => Ok(()),
            Target::Team(team) => {
                if self
                    .store
                    .existing_team_ids(org, std::slice::from_ref(team))
                    .await?
                    .is_empty()
                {
                    return Err(invalid(
                        "campaign.human_target.team_id".into(),
                        "no such team in the organization",
                    ));
                }
                Ok(())
            }
            Target::Agent(agent) => {
                let found = match self.store.agent(org, agent).await {
                    Ok(a) => a,
                    Err(RoutingError::NotFound { .. }) => {
                        return Err(invalid(
                            "campaign.human_target.agent_id".into(),
                            "no such agent in the organization",
                        ));
                    }
                    Err(e) => return Err(e),
                };
                if found.disabled {
                    return Err(invalid(
                        "campaign.human_target.agent_id".into(),
                        "the agent is disabled",
                    ));
                }
                let accounts = self.store.agent_channel_account_ids(org, agent).await?;
                if !accounts.contains(account) {
                    return Err(invalid(
                        "campaign.human_target.agent_id".into(),
                        "the agent is not linked to the campaign's channel account (directly or through a team)",
                    ));
                }
                Ok(())
            }
        }
    }
}
