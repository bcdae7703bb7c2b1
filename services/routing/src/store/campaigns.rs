//! Campaigns: create, save and list. Writes leave an outbox event in the same transaction.

use sea_orm::{ActiveValue::Set, ColumnTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use switchboard_proto::routing::v1::{CampaignChange, CampaignChanged};
use switchboard_runtime::tenancy::of_org;
use switchboard_runtime::{
    ids::{ChannelAccountId, OrganizationId},
    paging::{Keyset, Page, Paged},
};

use super::{
    Store,
    directory::{campaign_from_row, parse_id},
    entities as e,
    events::event,
};
use crate::{domain::config::Campaign, error::RoutingError};

fn campaign_row(org: &OrganizationId, c: &Campaign) -> e::campaigns::ActiveModel {
    e::campaigns::ActiveModel {
        id: Set(c.id.to_string()),
        organization_id: Set(org.to_string()),
        name: Set(c.name.clone()),
        channel_account_id: Set(c.channel_account_id.to_string()),
        continue_with_human: Set(c.continue_with_human),
        human_target_kind: Set(c.human_target.kind().into()),
        human_target_id: Set(c.human_target.id().map(str::to_string)),
        reply_window_secs: Set(c.reply_window_secs),
        form_fields: Set(serde_json::to_string(&c.form_fields).unwrap_or_else(|_| "[]".into())),
        archived: Set(c.archived),
        created_ms: Set(c.created_ms),
        updated_ms: Set(c.updated_ms),
    }
}

impl Store {
    /// Creates a campaign; a retry with the same `request_id` answers the first one.
    pub async fn create_campaign(
        &self,
        org: &OrganizationId,
        request_id: &str,
        campaign: &Campaign,
    ) -> Result<Campaign, RoutingError> {
        const METHOD: &str = "CreateCampaign";
        let txn = match self
            .insert_created(
                org,
                METHOD,
                request_id,
                campaign_row(org, campaign),
                &format!("a campaign named {:?} already exists", campaign.name),
            )
            .await?
        {
            Ok(txn) => txn,
            Err(id) => return self.campaign(org, &parse_id("campaign id", &id)?).await,
        };
        let txn = match self
            .remember_create(
                txn,
                org,
                METHOD,
                request_id,
                campaign.id.as_str(),
                campaign.created_ms,
            )
            .await?
        {
            Ok(txn) => txn,
            Err(id) => return self.campaign(org, &parse_id("campaign id", &id)?).await,
        };
        event(
            &txn,
            org,
            campaign.id.as_str(),
            &CampaignChanged {
                change: CampaignChange::Created as i32,
            },
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.campaign(org, &campaign.id).await
    }

    /// Writes a campaign (archiving included).
    pub async fn save_campaign(
        &self,
        org: &OrganizationId,
        campaign: &Campaign,
        change: &str,
    ) -> Result<Campaign, RoutingError> {
        let txn = self.db.begin().await?;
        let mut row = campaign_row(org, campaign);
        row.id = sea_orm::ActiveValue::NotSet;
        row.organization_id = sea_orm::ActiveValue::NotSet;
        row.created_ms = sea_orm::ActiveValue::NotSet;
        let txn = self
            .overwrite(
                txn,
                org,
                e::campaigns::Column::Id,
                campaign.id.as_str(),
                row,
                "campaign",
                format!("a campaign named {:?} already exists", campaign.name),
            )
            .await?;
        event(
            &txn,
            org,
            campaign.id.as_str(),
            &CampaignChanged {
                change: if change == "archived" {
                    CampaignChange::Archived
                } else {
                    CampaignChange::Updated
                } as i32,
            },
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.campaign(org, &campaign.id).await
    }

    /// Campaigns, newest first.
    pub async fn list_campaigns(
        &self,
        org: &OrganizationId,
        account: Option<&ChannelAccountId>,
        include_archived: bool,
        page: &Page,
    ) -> Result<(Paged<Campaign>, u64), RoutingError> {
        let mut query = of_org::<e::campaigns::Entity>(org);
        if let Some(account) = account {
            query = query.filter(e::campaigns::Column::ChannelAccountId.eq(account.as_str()));
        }
        if !include_archived {
            query = query.filter(e::campaigns::Column::Archived.eq(false));
        }
        let total = query.clone().count(&self.db).await?;
        let keyset = Keyset::new(self.db.get_database_backend())
            .desc(e::campaigns::Column::CreatedMs)
            .desc_text(e::campaigns::Column::Id);
        let rows = keyset.apply(query, page).all(&self.db).await?;
        let list = page
            .finish(rows, |r| vec![r.created_ms.into(), r.id.as_str().into()])
            .try_map(campaign_from_row)?;
        Ok((list, total))
    }
}
