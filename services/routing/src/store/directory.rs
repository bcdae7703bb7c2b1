//! Read-side lookups of the configuration the engine routes by (agents, teams, memberships,
//! channel account routing, campaigns, owners), and the row → domain conversions the
//! configuration writes share. Every query takes the organization first.

use std::collections::BTreeSet;

use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder};
use switchboard_runtime::ids::{
    AgentId, CampaignId, ChannelAccountId, ContactId, OrganizationId, TeamId,
};
use switchboard_runtime::tenancy::{of_org, secure_find};

use super::{Store, entities as e};
use crate::{
    domain::{
        config::{
            Agent, Campaign, ChannelAccountRouting, ContactOwner, OfflinePolicy, OwnerSource, Role,
            Strategy, Target, Team,
        },
        conversation::Actor,
    },
    error::RoutingError,
};

/// A stored value that does not parse: a bug or a hand-edited row.
pub(crate) fn corrupt(what: &str, value: &str) -> RoutingError {
    RoutingError::Storage(sea_orm::DbErr::Custom(format!(
        "bad stored {what}: {value:?}"
    )))
}

pub(crate) fn parse_id<T: std::str::FromStr>(what: &str, value: &str) -> Result<T, RoutingError> {
    value.parse().map_err(|_| corrupt(what, value))
}

pub(crate) fn parse_ids<T: std::str::FromStr>(
    what: &str,
    values: &[String],
) -> Result<Vec<T>, RoutingError> {
    values.iter().map(|v| parse_id(what, v)).collect()
}

pub(crate) fn agent_from_row(
    row: e::agents::Model,
    team_ids: Vec<TeamId>,
) -> Result<Agent, RoutingError> {
    Ok(Agent {
        id: parse_id("agent id", &row.id)?,
        display_name: row.display_name,
        email: row.email,
        role: Role::parse(&row.role).ok_or_else(|| corrupt("role", &row.role))?,
        capacity: row.capacity,
        auth_subject: row.auth_subject,
        disabled: row.disabled,
        team_ids,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
    })
}

pub(crate) fn team_from_row(row: e::teams::Model, member_count: i32) -> Result<Team, RoutingError> {
    Ok(Team {
        id: parse_id("team id", &row.id)?,
        name: row.name,
        description: row.description,
        strategy: Strategy::parse(&row.strategy)
            .ok_or_else(|| corrupt("strategy", &row.strategy))?,
        auto_distribution: row.auto_distribution,
        offer_timeout_secs: row.offer_timeout_secs,
        offline_policy: OfflinePolicy::parse(&row.offline_policy)
            .ok_or_else(|| corrupt("offline policy", &row.offline_policy))?,
        priority_rules: serde_json::from_str(&row.priority_rules)
            .map_err(|_| corrupt("priority rules", &row.priority_rules))?,
        dedicated_agent_id: row
            .dedicated_agent_id
            .as_deref()
            .map(|id| parse_id("agent id", id))
            .transpose()?,
        member_count,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
    })
}

pub(crate) fn campaign_from_row(row: e::campaigns::Model) -> Result<Campaign, RoutingError> {
    Ok(Campaign {
        id: parse_id("campaign id", &row.id)?,
        name: row.name,
        channel_account_id: parse_id("channel account id", &row.channel_account_id)?,
        continue_with_human: row.continue_with_human,
        human_target: Target::from_parts(&row.human_target_kind, row.human_target_id.as_deref()),
        reply_window_secs: row.reply_window_secs,
        form_fields: serde_json::from_str(&row.form_fields)
            .map_err(|_| corrupt("form fields", &row.form_fields))?,
        archived: row.archived,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
    })
}

pub(crate) fn owner_from_row(row: e::contact_owners::Model) -> Result<ContactOwner, RoutingError> {
    Ok(ContactOwner {
        contact_id: parse_id("contact id", &row.contact_id)?,
        agent_id: parse_id("agent id", &row.agent_id)?,
        source: OwnerSource::parse(&row.source)
            .ok_or_else(|| corrupt("owner source", &row.source))?,
        added_by: serde_json::from_str::<Actor>(&row.added_by)
            .map_err(|_| corrupt("actor", &row.added_by))?,
        created_ms: row.created_ms,
    })
}

impl Store {
    /// One agent (disabled ones included), with its teams.
    pub async fn agent(&self, org: &OrganizationId, id: &AgentId) -> Result<Agent, RoutingError> {
        self.agent_in(&self.db, org, id).await
    }

    pub(crate) async fn agent_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        id: &AgentId,
    ) -> Result<Agent, RoutingError> {
        let row = secure_find::<e::agents::Entity, _>(org, id.as_str())
            .one(conn)
            .await?
            .ok_or_else(|| RoutingError::not_found("agent", id))?;
        let teams = self.agent_team_ids_in(conn, org, id).await?;
        agent_from_row(row, teams)
    }

    /// Display names of some agents, in one query (ids of no agent of the organization are
    /// left out), for explanations people read.
    pub async fn agent_names(
        &self,
        org: &OrganizationId,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, String>, RoutingError> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let rows = of_org::<e::agents::Entity>(org)
            .filter(e::agents::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| (r.id, r.display_name)).collect())
    }

    /// The teams an agent belongs to.
    pub async fn agent_team_ids(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Vec<TeamId>, RoutingError> {
        self.agent_team_ids_in(&self.db, org, agent).await
    }

    async fn agent_team_ids_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Vec<TeamId>, RoutingError> {
        let rows = of_org::<e::team_members::Entity>(org)
            .filter(e::team_members::Column::AgentId.eq(agent.as_str()))
            .order_by_asc(e::team_members::Column::TeamId)
            .all(conn)
            .await?;
        rows.iter()
            .map(|r| parse_id("team id", &r.team_id))
            .collect()
    }

    /// The members of a team.
    pub async fn team_member_ids(
        &self,
        org: &OrganizationId,
        team: &TeamId,
    ) -> Result<Vec<AgentId>, RoutingError> {
        let rows = of_org::<e::team_members::Entity>(org)
            .filter(e::team_members::Column::TeamId.eq(team.as_str()))
            .order_by_asc(e::team_members::Column::AgentId)
            .all(&self.db)
            .await?;
        rows.iter()
            .map(|r| parse_id("agent id", &r.agent_id))
            .collect()
    }

    /// One team.
    pub async fn team(&self, org: &OrganizationId, id: &TeamId) -> Result<Team, RoutingError> {
        let row = secure_find::<e::teams::Entity, _>(org, id.as_str())
            .one(&self.db)
            .await?
            .ok_or_else(|| RoutingError::not_found("team", id))?;
        let members = self.team_member_ids(org, id).await?.len() as i32;
        team_from_row(row, members)
    }

    /// Some teams, in one query (member counts left at 0: callers route, they do not display).
    pub async fn teams_by_id(
        &self,
        org: &OrganizationId,
        ids: &[TeamId],
    ) -> Result<Vec<Team>, RoutingError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = of_org::<e::teams::Entity>(org)
            .filter(e::teams::Column::Id.is_in(ids.iter().map(|t| t.as_str())))
            .all(&self.db)
            .await?;
        rows.into_iter().map(|r| team_from_row(r, 0)).collect()
    }

    /// Every team of the organization, by name.
    pub async fn all_teams(&self, org: &OrganizationId) -> Result<Vec<Team>, RoutingError> {
        let rows = of_org::<e::teams::Entity>(org)
            .order_by_asc(e::teams::Column::Name)
            .all(&self.db)
            .await?;
        rows.into_iter().map(|r| team_from_row(r, 0)).collect()
    }

    /// A channel account's routing; an account never configured has no links and no default.
    pub async fn channel_account_routing(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<ChannelAccountRouting, RoutingError> {
        let row = of_org::<e::channel_accounts::Entity>(org)
            .filter(e::channel_accounts::Column::ChannelAccountId.eq(account.as_str()))
            .one(&self.db)
            .await?;
        let links = of_org::<e::channel_account_links::Entity>(org)
            .filter(e::channel_account_links::Column::ChannelAccountId.eq(account.as_str()))
            .order_by_asc(e::channel_account_links::Column::TargetId)
            .all(&self.db)
            .await?;
        let mut routing = ChannelAccountRouting {
            channel_account_id: Some(account.clone()),
            ..Default::default()
        };
        for link in links {
            match link.target_kind.as_str() {
                "team" => routing
                    .linked_team_ids
                    .push(parse_id("team id", &link.target_id)?),
                "agent" => routing
                    .linked_agent_ids
                    .push(parse_id("agent id", &link.target_id)?),
                other => return Err(corrupt("link kind", other)),
            }
        }
        if let Some(row) = row {
            routing.default_target =
                Target::from_parts(&row.default_target_kind, row.default_target_id.as_deref());
            routing.updated_ms = Some(row.updated_ms);
        }
        Ok(routing)
    }

    /// The channel accounts an agent serves: linked directly or through one of its teams.
    pub async fn agent_channel_account_ids(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Vec<ChannelAccountId>, RoutingError> {
        let teams = self.agent_team_ids(org, agent).await?;
        let mut targets: Vec<String> = teams.iter().map(ToString::to_string).collect();
        targets.push(agent.to_string());
        let rows = of_org::<e::channel_account_links::Entity>(org)
            .filter(e::channel_account_links::Column::TargetId.is_in(targets))
            .all(&self.db)
            .await?;
        let set: BTreeSet<String> = rows.into_iter().map(|r| r.channel_account_id).collect();
        set.iter()
            .map(|id| parse_id("channel account id", id))
            .collect()
    }

    /// One campaign (archived ones included).
    pub async fn campaign(
        &self,
        org: &OrganizationId,
        id: &CampaignId,
    ) -> Result<Campaign, RoutingError> {
        let row = secure_find::<e::campaigns::Entity, _>(org, id.as_str())
            .one(&self.db)
            .await?
            .ok_or_else(|| RoutingError::not_found("campaign", id))?;
        campaign_from_row(row)
    }

    /// A contact's owners, oldest first (routing order).
    pub async fn contact_owners(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> Result<Vec<ContactOwner>, RoutingError> {
        let rows = of_org::<e::contact_owners::Entity>(org)
            .filter(e::contact_owners::Column::ContactId.eq(contact.as_str()))
            .order_by_asc(e::contact_owners::Column::CreatedMs)
            .order_by_asc(e::contact_owners::Column::AgentId)
            .all(&self.db)
            .await?;
        rows.into_iter().map(owner_from_row).collect()
    }
}
