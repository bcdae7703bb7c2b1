//! Configuration writes and lists: organization updates, agents, teams and memberships, channel
//! account routing, campaigns and contact owners. Every write that others react to leaves an
//! outbox event in the same transaction. Every query takes the organization first.
//!
//! Lists of agents and teams are sorted in Rust (names compare the same on SQLite and
//! PostgreSQL whatever the database collation); an organization's agents and teams are few.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, sea_query::OnConflict,
};
use switchboard_runtime::{
    errors::is_unique_violation,
    ids::{AgentId, ChannelAccountId, ContactId, OrganizationId, TeamId},
    outbox::{self, NewEvent},
    paging::{Dir, KeyPart, Keyset, Page, Paged},
};

use super::{
    Store,
    directory::{
        agent_from_row, campaign_from_row, owner_from_row, parse_id, parse_ids, team_from_row,
    },
    entities as e, idempotency,
    organization::entity as orgs,
};
use crate::{
    domain::{
        config::{Agent, Campaign, ChannelAccountRouting, ContactOwner, Role, Target, Team},
        organization::Organization,
    },
    error::RoutingError,
};

/// Topic of the event written when an agent is created, changed or disabled.
pub const AGENT_CHANGED: &str = "routing.agent.changed";
/// Topic of the event written when a team or its members change, or it is deleted.
pub const TEAM_CHANGED: &str = "routing.team.changed";
/// Topic of the event written when a channel account's routing is replaced.
pub const CHANNEL_ACCOUNT_CHANGED: &str = "routing.channel_account.changed";
/// Topic of the event written when a campaign is created, changed or archived.
pub const CAMPAIGN_CHANGED: &str = "routing.campaign.changed";

/// An agent's membership in a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub team_id: TeamId,
    pub agent_id: AgentId,
    pub created_ms: i64,
}

/// Filters of [`Store::list_agents`].
#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    pub team: Option<TeamId>,
    pub roles: Vec<Role>,
    pub include_disabled: bool,
    /// Case-insensitive substring of display name or email; empty for all.
    pub query: String,
}

/// Which side of the membership table to list.
#[derive(Debug, Clone)]
pub enum MembersOf {
    Team(TeamId),
    Agent(AgentId),
}

async fn event<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    topic: &str,
    aggregate: &str,
    payload: serde_json::Value,
) -> Result<(), RoutingError> {
    outbox::enqueue(
        conn,
        NewEvent {
            organization_id: org.to_string(),
            topic: topic.into(),
            aggregate_id: aggregate.into(),
            payload,
        },
    )
    .await?;
    Ok(())
}

/// A unique violation means the name (email, subject) is taken; anything else is storage.
fn taken(err: DbErr, what: impl Into<String>) -> RoutingError {
    if is_unique_violation(&err) {
        RoutingError::AlreadyExists(what.into())
    } else {
        err.into()
    }
}

/// One page of a list sorted in memory by (lowercase name, id), with the total.
fn page_by_name<T>(
    all: Vec<T>,
    page: &Page,
    name: impl Fn(&T) -> KeyPart,
    id: impl Fn(&T) -> KeyPart,
) -> (Paged<T>, u64) {
    let total = all.len() as u64;
    let paged = page.slice(all, &[Dir::Asc, Dir::Asc], |t| vec![name(t), id(t)]);
    (paged, total)
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

fn team_row(org: &OrganizationId, t: &Team) -> e::teams::ActiveModel {
    e::teams::ActiveModel {
        id: Set(t.id.to_string()),
        organization_id: Set(org.to_string()),
        name: Set(t.name.clone()),
        description: Set(t.description.clone()),
        strategy: Set(t.strategy.as_str().into()),
        auto_distribution: Set(t.auto_distribution),
        offer_timeout_secs: Set(t.offer_timeout_secs),
        offline_policy: Set(t.offline_policy.as_str().into()),
        priority_rules: Set(
            serde_json::to_string(&t.priority_rules).unwrap_or_else(|_| "[]".into())
        ),
        dedicated_agent_id: Set(t.dedicated_agent_id.as_ref().map(ToString::to_string)),
        created_ms: Set(t.created_ms),
        updated_ms: Set(t.updated_ms),
    }
}

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

fn membership_row(
    org: &OrganizationId,
    team: &TeamId,
    agent: &AgentId,
    now_ms: i64,
) -> e::team_members::ActiveModel {
    e::team_members::ActiveModel {
        organization_id: Set(org.to_string()),
        team_id: Set(team.to_string()),
        agent_id: Set(agent.to_string()),
        created_ms: Set(now_ms),
    }
}

fn membership_from_row(row: e::team_members::Model) -> Result<Membership, RoutingError> {
    Ok(Membership {
        team_id: parse_id("team id", &row.team_id)?,
        agent_id: parse_id("agent id", &row.agent_id)?,
        created_ms: row.created_ms,
    })
}

/// Inserts memberships, ignoring those that already exist.
async fn insert_memberships<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<e::team_members::ActiveModel>,
) -> Result<(), RoutingError> {
    if rows.is_empty() {
        return Ok(());
    }
    e::team_members::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                e::team_members::Column::OrganizationId,
                e::team_members::Column::TeamId,
                e::team_members::Column::AgentId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

impl Store {
    // ---- Organizations ----

    /// Writes an organization's name, default capacity and settings.
    pub async fn save_organization(
        &self,
        org: &Organization,
    ) -> Result<Organization, RoutingError> {
        let settings = serde_json::to_string(&org.settings)
            .map_err(|e| RoutingError::Storage(DbErr::Custom(e.to_string())))?;
        let result = orgs::Entity::update_many()
            .col_expr(orgs::Column::Name, org.name.clone().into())
            .col_expr(
                orgs::Column::DefaultAgentCapacity,
                org.default_agent_capacity.into(),
            )
            .col_expr(orgs::Column::Settings, settings.into())
            .col_expr(orgs::Column::UpdatedMs, org.updated_ms.into())
            .filter(orgs::Column::Id.eq(org.id.as_str()))
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(RoutingError::not_found("organization", &org.id));
        }
        self.organization(&org.id).await
    }

    // ---- Agents ----

    /// Creates an agent with its memberships; a retry with the same `request_id` answers the
    /// agent the first call created.
    pub async fn create_agent(
        &self,
        org: &OrganizationId,
        request_id: &str,
        agent: &Agent,
    ) -> Result<Agent, RoutingError> {
        const METHOD: &str = "CreateAgent";
        let txn = self.db.begin().await?;
        if let Some(id) = idempotency::recall(&txn, org, METHOD, request_id).await? {
            txn.rollback().await?;
            return self.agent(org, &parse_id("agent id", &id)?).await;
        }
        if let Err(err) = e::agents::Entity::insert(agent_row(org, agent))
            .exec_without_returning(&txn)
            .await
        {
            txn.rollback().await?;
            if let Some(id) = idempotency::recall(&self.db, org, METHOD, request_id).await? {
                return self.agent(org, &parse_id("agent id", &id)?).await;
            }
            return Err(taken(
                err,
                "an agent with this email or auth_subject already exists",
            ));
        }
        let rows = agent
            .team_ids
            .iter()
            .map(|t| membership_row(org, t, &agent.id, agent.created_ms))
            .collect();
        insert_memberships(&txn, rows).await?;
        if !idempotency::remember(
            &txn,
            org,
            METHOD,
            request_id,
            agent.id.as_str(),
            agent.created_ms,
        )
        .await?
        {
            txn.rollback().await?;
            let id = idempotency::recall(&self.db, org, METHOD, request_id)
                .await?
                .ok_or_else(|| {
                    RoutingError::Storage(DbErr::Custom("idempotency key lost".into()))
                })?;
            return self.agent(org, &parse_id("agent id", &id)?).await;
        }
        event(
            &txn,
            org,
            AGENT_CHANGED,
            agent.id.as_str(),
            serde_json::json!({ "change": "created", "role": agent.role.as_str() }),
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
            AGENT_CHANGED,
            agent.id.as_str(),
            serde_json::json!({ "change": change, "role": agent.role.as_str(), "disabled": agent.disabled }),
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
        let row = e::agents::Entity::find()
            .filter(e::agents::Column::OrganizationId.eq(org.as_str()))
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
        let mut query =
            e::agents::Entity::find().filter(e::agents::Column::OrganizationId.eq(org.as_str()));
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
        let rows = e::team_members::Entity::find()
            .filter(e::team_members::Column::OrganizationId.eq(org.as_str()))
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
        let rows = e::agents::Entity::find()
            .filter(e::agents::Column::OrganizationId.eq(org.as_str()))
            .filter(e::agents::Column::Disabled.eq(false))
            .order_by_asc(e::agents::Column::Id)
            .all(&self.db)
            .await?;
        let teams = self.memberships_by_agent(org).await?;
        let links = e::channel_account_links::Entity::find()
            .filter(e::channel_account_links::Column::OrganizationId.eq(org.as_str()))
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

    /// Which of `ids` are teams of the organization.
    pub async fn existing_team_ids(
        &self,
        org: &OrganizationId,
        ids: &[TeamId],
    ) -> Result<BTreeSet<TeamId>, RoutingError> {
        if ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        let rows = e::teams::Entity::find()
            .select_only()
            .column(e::teams::Column::Id)
            .filter(e::teams::Column::OrganizationId.eq(org.as_str()))
            .filter(e::teams::Column::Id.is_in(ids.iter().map(TeamId::as_str)))
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        Ok(parse_ids::<TeamId>("team id", &rows)?.into_iter().collect())
    }

    // ---- Teams and memberships ----

    /// Creates a team with its first members; a retry with the same `request_id` answers the
    /// team the first call created.
    pub async fn create_team(
        &self,
        org: &OrganizationId,
        request_id: &str,
        team: &Team,
        members: &[AgentId],
    ) -> Result<Team, RoutingError> {
        const METHOD: &str = "CreateTeam";
        let txn = self.db.begin().await?;
        if let Some(id) = idempotency::recall(&txn, org, METHOD, request_id).await? {
            txn.rollback().await?;
            return self.team(org, &parse_id("team id", &id)?).await;
        }
        if let Err(err) = e::teams::Entity::insert(team_row(org, team))
            .exec_without_returning(&txn)
            .await
        {
            txn.rollback().await?;
            if let Some(id) = idempotency::recall(&self.db, org, METHOD, request_id).await? {
                return self.team(org, &parse_id("team id", &id)?).await;
            }
            return Err(taken(
                err,
                format!("a team named {:?} already exists", team.name),
            ));
        }
        let rows = members
            .iter()
            .map(|a| membership_row(org, &team.id, a, team.created_ms))
            .collect();
        insert_memberships(&txn, rows).await?;
        if !idempotency::remember(
            &txn,
            org,
            METHOD,
            request_id,
            team.id.as_str(),
            team.created_ms,
        )
        .await?
        {
            txn.rollback().await?;
            let id = idempotency::recall(&self.db, org, METHOD, request_id)
                .await?
                .ok_or_else(|| {
                    RoutingError::Storage(DbErr::Custom("idempotency key lost".into()))
                })?;
            return self.team(org, &parse_id("team id", &id)?).await;
        }
        event(
            &txn,
            org,
            TEAM_CHANGED,
            team.id.as_str(),
            serde_json::json!({ "change": "created" }),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.team(org, &team.id).await
    }

    /// Writes a team's settings (not its memberships).
    pub async fn save_team(&self, org: &OrganizationId, team: &Team) -> Result<Team, RoutingError> {
        let txn = self.db.begin().await?;
        let mut row = team_row(org, team);
        row.id = sea_orm::ActiveValue::NotSet;
        row.organization_id = sea_orm::ActiveValue::NotSet;
        row.created_ms = sea_orm::ActiveValue::NotSet;
        let result = e::teams::Entity::update_many()
            .set(row)
            .filter(e::teams::Column::Id.eq(team.id.as_str()))
            .filter(e::teams::Column::OrganizationId.eq(org.as_str()))
            .exec(&txn)
            .await;
        let result = match result {
            Ok(r) => r,
            Err(err) => {
                txn.rollback().await?;
                return Err(taken(
                    err,
                    format!("a team named {:?} already exists", team.name),
                ));
            }
        };
        if result.rows_affected == 0 {
            txn.rollback().await?;
            return Err(RoutingError::not_found("team", &team.id));
        }
        event(
            &txn,
            org,
            TEAM_CHANGED,
            team.id.as_str(),
            serde_json::json!({ "change": "updated" }),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.team(org, &team.id).await
    }

    /// Deletes a team with its memberships and channel account links. Refused while it is a
    /// channel account default, an active campaign's target, or conversations are queued for
    /// it. A retry with the same (non-empty) `request_id` succeeds again.
    pub async fn delete_team(
        &self,
        org: &OrganizationId,
        request_id: &str,
        team: &TeamId,
        now_ms: i64,
    ) -> Result<(), RoutingError> {
        const METHOD: &str = "DeleteTeam";
        let txn = self.db.begin().await?;
        if !request_id.is_empty()
            && idempotency::recall(&txn, org, METHOD, request_id)
                .await?
                .is_some()
        {
            txn.rollback().await?;
            return Ok(());
        }
        let exists = e::teams::Entity::find_by_id(team.as_str())
            .filter(e::teams::Column::OrganizationId.eq(org.as_str()))
            .one(&txn)
            .await?
            .is_some();
        if !exists {
            txn.rollback().await?;
            return Err(RoutingError::not_found("team", team));
        }
        if let Some(why) = team_use(&txn, org, team).await? {
            txn.rollback().await?;
            return Err(RoutingError::precondition(
                crate::error::Reason::InUse,
                format!("team {team} is in use: {why}"),
            ));
        }
        e::team_members::Entity::delete_many()
            .filter(e::team_members::Column::OrganizationId.eq(org.as_str()))
            .filter(e::team_members::Column::TeamId.eq(team.as_str()))
            .exec(&txn)
            .await?;
        e::channel_account_links::Entity::delete_many()
            .filter(e::channel_account_links::Column::OrganizationId.eq(org.as_str()))
            .filter(e::channel_account_links::Column::TargetKind.eq("team"))
            .filter(e::channel_account_links::Column::TargetId.eq(team.as_str()))
            .exec(&txn)
            .await?;
        e::teams::Entity::delete_many()
            .filter(e::teams::Column::OrganizationId.eq(org.as_str()))
            .filter(e::teams::Column::Id.eq(team.as_str()))
            .exec(&txn)
            .await?;
        if !request_id.is_empty() {
            idempotency::remember(&txn, org, METHOD, request_id, team.as_str(), now_ms).await?;
        }
        event(
            &txn,
            org,
            TEAM_CHANGED,
            team.as_str(),
            serde_json::json!({ "change": "deleted" }),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        Ok(())
    }

    /// Teams by name (case-insensitive), optionally only those linked to a channel account.
    pub async fn list_teams(
        &self,
        org: &OrganizationId,
        account: Option<&ChannelAccountId>,
        page: &Page,
    ) -> Result<(Paged<Team>, u64), RoutingError> {
        let mut query =
            e::teams::Entity::find().filter(e::teams::Column::OrganizationId.eq(org.as_str()));
        if let Some(account) = account {
            let linked: Vec<String> = e::channel_account_links::Entity::find()
                .select_only()
                .column(e::channel_account_links::Column::TargetId)
                .filter(e::channel_account_links::Column::OrganizationId.eq(org.as_str()))
                .filter(e::channel_account_links::Column::ChannelAccountId.eq(account.as_str()))
                .filter(e::channel_account_links::Column::TargetKind.eq("team"))
                .into_tuple::<String>()
                .all(&self.db)
                .await?;
            query = query.filter(e::teams::Column::Id.is_in(linked));
        }
        let rows = query.all(&self.db).await?;
        let members = e::team_members::Entity::find()
            .filter(e::team_members::Column::OrganizationId.eq(org.as_str()))
            .all(&self.db)
            .await?;
        let mut counts: BTreeMap<String, i32> = BTreeMap::new();
        for m in members {
            *counts.entry(m.team_id).or_default() += 1;
        }
        let teams = rows
            .into_iter()
            .map(|r| {
                let n = counts.get(&r.id).copied().unwrap_or(0);
                team_from_row(r, n)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_by_name(
            teams,
            page,
            |t| t.name.to_lowercase().into(),
            |t| t.id.as_str().into(),
        ))
    }

    /// Adds a member; the existing membership when it is one already (second value false).
    pub async fn add_member(
        &self,
        org: &OrganizationId,
        team: &TeamId,
        agent: &AgentId,
        now_ms: i64,
    ) -> Result<(Membership, bool), RoutingError> {
        let txn = self.db.begin().await?;
        let inserted = e::team_members::Entity::insert(membership_row(org, team, agent, now_ms))
            .on_conflict(
                OnConflict::columns([
                    e::team_members::Column::OrganizationId,
                    e::team_members::Column::TeamId,
                    e::team_members::Column::AgentId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?
            == 1;
        if inserted {
            event(
                &txn,
                org,
                TEAM_CHANGED,
                team.as_str(),
                serde_json::json!({ "change": "member_added", "agent_id": agent.as_str() }),
            )
            .await?;
        }
        let row = e::team_members::Entity::find_by_id((
            org.to_string(),
            team.to_string(),
            agent.to_string(),
        ))
        .one(&txn)
        .await?
        .ok_or_else(|| RoutingError::Storage(DbErr::Custom("membership vanished".into())))?;
        txn.commit().await?;
        if inserted {
            self.relay.wake();
        }
        Ok((membership_from_row(row)?, inserted))
    }

    /// Removes a member; false when it was not one.
    pub async fn remove_member(
        &self,
        org: &OrganizationId,
        team: &TeamId,
        agent: &AgentId,
    ) -> Result<bool, RoutingError> {
        let txn = self.db.begin().await?;
        let removed = e::team_members::Entity::delete_many()
            .filter(e::team_members::Column::OrganizationId.eq(org.as_str()))
            .filter(e::team_members::Column::TeamId.eq(team.as_str()))
            .filter(e::team_members::Column::AgentId.eq(agent.as_str()))
            .exec(&txn)
            .await?
            .rows_affected
            > 0;
        if removed {
            event(
                &txn,
                org,
                TEAM_CHANGED,
                team.as_str(),
                serde_json::json!({ "change": "member_removed", "agent_id": agent.as_str() }),
            )
            .await?;
        }
        txn.commit().await?;
        if removed {
            self.relay.wake();
        }
        Ok(removed)
    }

    /// Memberships of a team or of an agent, oldest first, one page and the total.
    pub async fn memberships(
        &self,
        org: &OrganizationId,
        of: &MembersOf,
        page: &Page,
    ) -> Result<(Paged<Membership>, u64), RoutingError> {
        let mut query = e::team_members::Entity::find()
            .filter(e::team_members::Column::OrganizationId.eq(org.as_str()));
        query = match of {
            MembersOf::Team(t) => query.filter(e::team_members::Column::TeamId.eq(t.as_str())),
            MembersOf::Agent(a) => query.filter(e::team_members::Column::AgentId.eq(a.as_str())),
        };
        let total = query.clone().count(&self.db).await?;
        let keyset = Keyset::new(self.db.get_database_backend())
            .asc(e::team_members::Column::CreatedMs)
            .asc_text(e::team_members::Column::TeamId)
            .asc_text(e::team_members::Column::AgentId);
        let rows = keyset.apply(query, page).all(&self.db).await?;
        let list = page
            .finish(rows, |r| {
                vec![
                    r.created_ms.into(),
                    r.team_id.as_str().into(),
                    r.agent_id.as_str().into(),
                ]
            })
            .try_map(membership_from_row)?;
        Ok((list, total))
    }

    // ---- Channel account routing ----

    /// Agents serving a channel account: linked directly or members of a linked team.
    pub async fn account_agent_ids(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<BTreeSet<AgentId>, RoutingError> {
        let routing = self.channel_account_routing(org, account).await?;
        let mut agents: BTreeSet<AgentId> = routing.linked_agent_ids.into_iter().collect();
        if !routing.linked_team_ids.is_empty() {
            let rows = e::team_members::Entity::find()
                .filter(e::team_members::Column::OrganizationId.eq(org.as_str()))
                .filter(
                    e::team_members::Column::TeamId
                        .is_in(routing.linked_team_ids.iter().map(TeamId::as_str)),
                )
                .all(&self.db)
                .await?;
            for row in rows {
                agents.insert(parse_id("agent id", &row.agent_id)?);
            }
        }
        Ok(agents)
    }

    /// Replaces a channel account's links and default target in one transaction.
    pub async fn replace_channel_account_routing(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
        routing: &ChannelAccountRouting,
        now_ms: i64,
    ) -> Result<ChannelAccountRouting, RoutingError> {
        let txn = self.db.begin().await?;
        e::channel_accounts::Entity::delete_many()
            .filter(e::channel_accounts::Column::OrganizationId.eq(org.as_str()))
            .filter(e::channel_accounts::Column::ChannelAccountId.eq(account.as_str()))
            .exec(&txn)
            .await?;
        e::channel_accounts::Entity::insert(e::channel_accounts::ActiveModel {
            organization_id: Set(org.to_string()),
            channel_account_id: Set(account.to_string()),
            default_target_kind: Set(routing.default_target.kind().into()),
            default_target_id: Set(routing.default_target.id().map(str::to_string)),
            updated_ms: Set(now_ms),
        })
        .exec_without_returning(&txn)
        .await?;
        e::channel_account_links::Entity::delete_many()
            .filter(e::channel_account_links::Column::OrganizationId.eq(org.as_str()))
            .filter(e::channel_account_links::Column::ChannelAccountId.eq(account.as_str()))
            .exec(&txn)
            .await?;
        let link = |kind: &str, id: &str| e::channel_account_links::ActiveModel {
            organization_id: Set(org.to_string()),
            channel_account_id: Set(account.to_string()),
            target_kind: Set(kind.into()),
            target_id: Set(id.into()),
        };
        let teams: BTreeSet<&TeamId> = routing.linked_team_ids.iter().collect();
        let agents: BTreeSet<&AgentId> = routing.linked_agent_ids.iter().collect();
        let links: Vec<_> = teams
            .iter()
            .map(|t| link("team", t.as_str()))
            .chain(agents.iter().map(|a| link("agent", a.as_str())))
            .collect();
        if !links.is_empty() {
            e::channel_account_links::Entity::insert_many(links)
                .exec_without_returning(&txn)
                .await?;
        }
        event(
            &txn,
            org,
            CHANNEL_ACCOUNT_CHANGED,
            account.as_str(),
            serde_json::json!({
                "default_target_kind": routing.default_target.kind(),
                "default_target_id": routing.default_target.id(),
            }),
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.channel_account_routing(org, account).await
    }

    // ---- Campaigns ----

    /// Creates a campaign; a retry with the same `request_id` answers the first one.
    pub async fn create_campaign(
        &self,
        org: &OrganizationId,
        request_id: &str,
        campaign: &Campaign,
    ) -> Result<Campaign, RoutingError> {
        const METHOD: &str = "CreateCampaign";
        let txn = self.db.begin().await?;
        if let Some(id) = idempotency::recall(&txn, org, METHOD, request_id).await? {
            txn.rollback().await?;
            return self.campaign(org, &parse_id("campaign id", &id)?).await;
        }
        if let Err(err) = e::campaigns::Entity::insert(campaign_row(org, campaign))
            .exec_without_returning(&txn)
            .await
        {
            txn.rollback().await?;
            if let Some(id) = idempotency::recall(&self.db, org, METHOD, request_id).await? {
                return self.campaign(org, &parse_id("campaign id", &id)?).await;
            }
            return Err(taken(
                err,
                format!("a campaign named {:?} already exists", campaign.name),
            ));
        }
        if !idempotency::remember(
            &txn,
            org,
            METHOD,
            request_id,
            campaign.id.as_str(),
            campaign.created_ms,
        )
        .await?
        {
            txn.rollback().await?;
            let id = idempotency::recall(&self.db, org, METHOD, request_id)
                .await?
                .ok_or_else(|| {
                    RoutingError::Storage(DbErr::Custom("idempotency key lost".into()))
                })?;
            return self.campaign(org, &parse_id("campaign id", &id)?).await;
        }
        event(
            &txn,
            org,
            CAMPAIGN_CHANGED,
            campaign.id.as_str(),
            serde_json::json!({ "change": "created" }),
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
        let result = e::campaigns::Entity::update_many()
            .set(row)
            .filter(e::campaigns::Column::Id.eq(campaign.id.as_str()))
            .filter(e::campaigns::Column::OrganizationId.eq(org.as_str()))
            .exec(&txn)
            .await;
        let result = match result {
            Ok(r) => r,
            Err(err) => {
                txn.rollback().await?;
                return Err(taken(
                    err,
                    format!("a campaign named {:?} already exists", campaign.name),
                ));
            }
        };
        if result.rows_affected == 0 {
            txn.rollback().await?;
            return Err(RoutingError::not_found("campaign", &campaign.id));
        }
        event(
            &txn,
            org,
            CAMPAIGN_CHANGED,
            campaign.id.as_str(),
            serde_json::json!({ "change": change }),
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
        let mut query = e::campaigns::Entity::find()
            .filter(e::campaigns::Column::OrganizationId.eq(org.as_str()));
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

    // ---- Contact owners ----

    /// Makes an agent an owner; the existing ownership when it is one already.
    pub async fn add_contact_owner(
        &self,
        org: &OrganizationId,
        owner: &ContactOwner,
    ) -> Result<ContactOwner, RoutingError> {
        let added_by = serde_json::to_string(&owner.added_by)
            .map_err(|e| RoutingError::Storage(DbErr::Custom(e.to_string())))?;
        e::contact_owners::Entity::insert(e::contact_owners::ActiveModel {
            organization_id: Set(org.to_string()),
            contact_id: Set(owner.contact_id.to_string()),
            agent_id: Set(owner.agent_id.to_string()),
            source: Set(owner.source.as_str().into()),
            added_by: Set(added_by),
            created_ms: Set(owner.created_ms),
        })
        .on_conflict(
            OnConflict::columns([
                e::contact_owners::Column::OrganizationId,
                e::contact_owners::Column::ContactId,
                e::contact_owners::Column::AgentId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let row = e::contact_owners::Entity::find_by_id((
            org.to_string(),
            owner.contact_id.to_string(),
            owner.agent_id.to_string(),
        ))
        .one(&self.db)
        .await?
        .ok_or_else(|| RoutingError::Storage(DbErr::Custom("owner vanished".into())))?;
        owner_from_row(row)
    }

    /// Removes an owner; false when it was not one.
    pub async fn remove_contact_owner(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
    ) -> Result<bool, RoutingError> {
        Ok(e::contact_owners::Entity::delete_many()
            .filter(e::contact_owners::Column::OrganizationId.eq(org.as_str()))
            .filter(e::contact_owners::Column::ContactId.eq(contact.as_str()))
            .filter(e::contact_owners::Column::AgentId.eq(agent.as_str()))
            .exec(&self.db)
            .await?
            .rows_affected
            > 0)
    }
}

/// The number of enabled admins, as this transaction sees them.
async fn enabled_admins(
    txn: &DatabaseTransaction,
    org: &OrganizationId,
) -> Result<u64, RoutingError> {
    Ok(e::agents::Entity::find()
        .filter(e::agents::Column::OrganizationId.eq(org.as_str()))
        .filter(e::agents::Column::Role.eq(Role::Admin.as_str()))
        .filter(e::agents::Column::Disabled.eq(false))
        .count(txn)
        .await?)
}

/// Why a team cannot be deleted, if it cannot.
async fn team_use(
    txn: &DatabaseTransaction,
    org: &OrganizationId,
    team: &TeamId,
) -> Result<Option<&'static str>, RoutingError> {
    let defaults = e::channel_accounts::Entity::find()
        .filter(e::channel_accounts::Column::OrganizationId.eq(org.as_str()))
        .filter(
            e::channel_accounts::Column::DefaultTargetKind.eq(Target::Team(team.clone()).kind()),
        )
        .filter(e::channel_accounts::Column::DefaultTargetId.eq(team.as_str()))
        .count(txn)
        .await?;
    if defaults > 0 {
        return Ok(Some("it is a channel account's default target"));
    }
    let campaigns = e::campaigns::Entity::find()
        .filter(e::campaigns::Column::OrganizationId.eq(org.as_str()))
        .filter(e::campaigns::Column::Archived.eq(false))
        .filter(e::campaigns::Column::HumanTargetKind.eq("team"))
        .filter(e::campaigns::Column::HumanTargetId.eq(team.as_str()))
        .count(txn)
        .await?;
    if campaigns > 0 {
        return Ok(Some("it is a campaign's human target"));
    }
    let queued = e::conversations::Entity::find()
        .filter(e::conversations::Column::OrganizationId.eq(org.as_str()))
        .filter(e::conversations::Column::State.eq("queued"))
        .filter(e::conversations::Column::TeamId.eq(team.as_str()))
        .count(txn)
        .await?;
    if queued > 0 {
        return Ok(Some("conversations are queued for it"));
    }
    Ok(None)
}
