//! Agents: create with memberships, save (keeping an enabled admin), look up by subject, list,
//! and the enabled agents with the channel accounts they serve. Writes leave an outbox event.
//!
//! Lists are sorted in Rust (names compare the same on SQLite and PostgreSQL whatever the
//! database collation); an organization's agents and teams are few.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use switchboard_proto::routing::v1::{AgentChange, AgentChanged};
use switchboard_runtime::tenancy::of_org;
use switchboard_runtime::{
    ids::{AgentId, ChannelAccountId, OrganizationId, TeamId},
    paging::{Page, Paged},
};

use super::{
    Store,
    directory::{agent_from_row, parse_id, parse_ids},
    entities as e,
    events::event,
    page_by_name, taken,
    teams::{insert_memberships, membership_row},
};
use crate::{
    domain::config::{Agent, Role},
    error::RoutingError,
    grpc::agents::role_to_pb,
};

/// Filters of [`Store::list_agents`].
#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    pub team: Option<TeamId>,
    pub roles: Vec<Role>,
    pub include_disabled: bool,
    /// Case-insensitive substring of display name or email; empty for all.
    pub query: String,
}

fn agent_row(org: &OrganizationId, a: &Agent) -> e::agents::ActiveModel {
    e::agents::ActiveModel {
        id: Set(a.id.to_string()),
        organization_id: Set(org.to_string()),
        display_name: Set(a.display_name.clone()),
        email: Set(a.email.clone()),
        role: Set(a.role.as_str().into()),
        capacity: Set(a.capacity),
        auth_subject: Set(a.auth_subject.clone()),
        disabled: Set(a.disabled),
        created_ms: Set(a.created_ms),
        updated_ms: Set(a.updated_ms),
    }
}

impl Store {
    /// Creates an agent with its memberships; a retry with the same `request_id` answers the
    /// agent the first call created.
    pub async fn create_agent(
        &self,
        org: &OrganizationId,
        request_id: &str,
        agent: &Agent,
    ) -> Result<Agent, RoutingError> {
        const METHOD: &str = "CreateAgent";
        let txn = match self
            .insert_created(
                org,
                METHOD,
                request_id,
                agent_row(org, agent),
                "an agent with this email or auth_subject already exists",
            )
            .await?
        {
            Ok(txn) => txn,
            Err(id) => return self.agent(org, &parse_id("agent id", &id)?).await,
        };
        let rows = agent
            .team_ids
            .iter()
            .map(|t| membership_row(org, t, &agent.id, agent.created_ms))
            .collect();
        insert_memberships(&txn, rows).await?;
        let txn = match self
            .remember_create(
                txn,
                org,
                METHOD,
                request_id,
                agent.id.as_str(),
                agent.created_ms,
            )
            .await?
        {
            Ok(txn) => txn,
            Err(id) => return self.agent(org, &parse_id("agent id", &id)?).await,
        };
        event(
            &txn,
            org,
            agent.id.as_str(),
            &AgentChanged {
                change: AgentChange::Created as i32,
                role: role_to_pb(agent.role) as i32,
                disabled: agent.disabled,
            },
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.agent(org, &agent.id).await
    }

    /// Writes an agent's own fields (not its memberships). With `keep_an_admin`, the change is
    /// refused when it leaves the organization without an enabled admin (checked in the same
    /// transaction).
    pub async fn save_agent(
        &self,
        org: &OrganizationId,
        agent: &Agent,
        change: &str,
        keep_an_admin: bool,
    ) -> Result<Agent, RoutingError> {
        let txn = self.db.begin().await?;
        let result = e::agents::Entity::update_many()
            .set(e::agents::ActiveModel {
                display_name: Set(agent.display_name.clone()),
                email: Set(agent.email.clone()),
                role: Set(agent.role.as_str().into()),
                capacity: Set(agent.capacity),
                auth_subject: Set(agent.auth_subject.clone()),
                disabled: Set(agent.disabled),
                updated_ms: Set(agent.updated_ms),
                ..Default::default()
            })
            .filter(e::agents::Column::Id.eq(agent.id.as_str()))
            .filter(e::agents::Column::OrganizationId.eq(org.as_str()))
            .exec(&txn)
            .await;
        let result = match result {
            Ok(r) => r,
            Err(err) => {
                txn.rollback().await?;
                return Err(taken(
                    err,
                    "an agent with this email or auth_subject already exists",
                ));
            }
        };
        if result.rows_affected == 0 {
            txn.rollback().await?;
            return Err(RoutingError::not_found("agent", &agent.id));
        }
        if keep_an_admin && enabled_admins(&txn, org).await? == 0 {
            txn.rollback().await?;
            return Err(RoutingError::FailedPrecondition {
                reason: None,
                message: "the organization's last enabled admin cannot be demoted or disabled"
                    .into(),
            });
        }
        event(
            &txn,
            org,
            agent.id.as_str(),
            &AgentChanged {
                change: if change == "disabled" {
                    AgentChange::Disabled
                } else {
                    AgentChange::Updated
                } as i32,
                role: role_to_pb(agent.role) as i32,
                disabled: agent.disabled,
            },
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.agent(org, &agent.id).await
    }

    /// The enabled agent bound to an identity-provider subject.
    pub async fn agent_by_subject(
        &self,
        org: &OrganizationId,
        subject: &str,
    ) -> Result<Agent, RoutingError> {
        let row = of_org::<e::agents::Entity>(org)
            .filter(e::agents::Column::AuthSubject.eq(subject))
            .filter(e::agents::Column::Disabled.eq(false))
            .one(&self.db)
            .await?
            .ok_or_else(|| RoutingError::not_found("agent with auth_subject", subject))?;
        let id: AgentId = parse_id("agent id", &row.id)?;
        self.agent(org, &id).await
    }

    /// Agents matching `filter`, by display name (case-insensitive), one page and the total.
    pub async fn list_agents(
        &self,
        org: &OrganizationId,
        filter: &AgentFilter,
        page: &Page,
    ) -> Result<(Paged<Agent>, u64), RoutingError> {
        let mut query = of_org::<e::agents::Entity>(org);
        if !filter.include_disabled {
            query = query.filter(e::agents::Column::Disabled.eq(false));
        }
        if !filter.roles.is_empty() {
            query = query
                .filter(e::agents::Column::Role.is_in(filter.roles.iter().map(|r| r.as_str())));
        }
        let rows = query.all(&self.db).await?;
        let teams = self.memberships_by_agent(org).await?;
        let needle = filter.query.trim().to_lowercase();
        let mut agents = Vec::new();
        for row in rows {
            if !needle.is_empty()
                && !row.display_name.to_lowercase().contains(&needle)
                && !row.email.to_lowercase().contains(&needle)
            {
                continue;
            }
            let team_ids = teams.get(&row.id).cloned().unwrap_or_default();
            if let Some(team) = &filter.team
                && !team_ids.contains(team)
            {
                continue;
            }
            agents.push(agent_from_row(row, team_ids)?);
        }
        Ok(page_by_name(
            agents,
            page,
            |a| a.display_name.to_lowercase().into(),
            |a| a.id.as_str().into(),
        ))
    }

    /// Every membership of the organization, by agent id.
    async fn memberships_by_agent(
        &self,
        org: &OrganizationId,
    ) -> Result<BTreeMap<String, Vec<TeamId>>, RoutingError> {
        let rows = of_org::<e::team_members::Entity>(org)
            .order_by_asc(e::team_members::Column::TeamId)
            .all(&self.db)
            .await?;
        let mut map: BTreeMap<String, Vec<TeamId>> = BTreeMap::new();
        for row in rows {
            map.entry(row.agent_id)
                .or_default()
                .push(parse_id("team id", &row.team_id)?);
        }
        Ok(map)
    }

    /// Enabled agents with the channel accounts each serves (directly or through a team): what
    /// presence profiles are built from.
    pub async fn enabled_agents_with_accounts(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<(Agent, Vec<ChannelAccountId>)>, RoutingError> {
        let rows = of_org::<e::agents::Entity>(org)
            .filter(e::agents::Column::Disabled.eq(false))
            .order_by_asc(e::agents::Column::Id)
            .all(&self.db)
            .await?;
        let teams = self.memberships_by_agent(org).await?;
        let links = of_org::<e::channel_account_links::Entity>(org)
            .all(&self.db)
            .await?;
        let mut accounts_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for link in links {
            accounts_of
                .entry(link.target_id)
                .or_default()
                .insert(link.channel_account_id);
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let team_ids = teams.get(&row.id).cloned().unwrap_or_default();
            let mut accounts: BTreeSet<String> =
                accounts_of.get(&row.id).cloned().unwrap_or_default();
            for team in &team_ids {
                if let Some(more) = accounts_of.get(team.as_str()) {
                    accounts.extend(more.iter().cloned());
                }
            }
            let accounts = accounts
                .iter()
                .map(|a| parse_id("channel account id", a))
                .collect::<Result<Vec<ChannelAccountId>, _>>()?;
            out.push((agent_from_row(row, team_ids)?, accounts));
        }
        Ok(out)
    }

    /// Which of `ids` are agents of the organization (disabled ones included).
    pub async fn existing_agent_ids(
        &self,
        org: &OrganizationId,
        ids: &[AgentId],
    ) -> Result<BTreeSet<AgentId>, RoutingError> {
        if ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        let rows = e::agents::Entity::find()
            .select_only()
            .column(e::agents::Column::Id)
            .filter(e::agents::Column::OrganizationId.eq(org.as_str()))
            .filter(e::agents::Column::Id.is_in(ids.iter().map(AgentId::as_str)))
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        Ok(parse_ids::<AgentId>("agent id", &rows)?
            .into_iter()
            .collect())
    }
}

/// The number of enabled admins, as this transaction sees them.
async fn enabled_admins(
    txn: &DatabaseTransaction,
    org: &OrganizationId,
) -> Result<u64, RoutingError> {
    Ok(of_org::<e::agents::Entity>(org)
        .filter(e::agents::Column::Role.eq(Role::Admin.as_str()))
        .filter(e::agents::Column::Disabled.eq(false))
        .count(txn)
        .await?)
}
