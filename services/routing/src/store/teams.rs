//! Teams and memberships: create with members, save, delete while unused, add and remove
//! members, list. Writes leave an outbox event in the same transaction.
//!
//! Lists are sorted in Rust (names compare the same on SQLite and PostgreSQL whatever the
//! database collation); an organization's agents and teams are few.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect, TransactionTrait, sea_query::OnConflict,
};
use switchboard_proto::routing::v1::{TeamChange, TeamChanged};
use switchboard_runtime::tenancy::{of_org, secure_find};
use switchboard_runtime::{
    ids::{AgentId, ChannelAccountId, OrganizationId, TeamId},
    paging::{Keyset, Page, Paged},
};

use super::{
    Store,
    directory::{parse_id, parse_ids, team_from_row},
    entities as e,
    events::event,
    idempotency, page_by_name,
};
use crate::{
    domain::config::{Target, Team},
    error::RoutingError,
};

/// An agent's membership in a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub team_id: TeamId,
    pub agent_id: AgentId,
    pub created_ms: i64,
}

/// Which side of the membership table to list.
#[derive(Debug, Clone)]
pub enum MembersOf {
    Team(TeamId),
    Agent(AgentId),
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

pub(super) fn membership_row(
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
pub(super) async fn insert_memberships<C: ConnectionTrait>(
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
        let txn = match self
            .insert_created(
                org,
                METHOD,
                request_id,
                team_row(org, team),
                &format!("a team named {:?} already exists", team.name),
            )
            .await?
        {
            Ok(txn) => txn,
            Err(id) => return self.team(org, &parse_id("team id", &id)?).await,
        };
        let rows = members
            .iter()
            .map(|a| membership_row(org, &team.id, a, team.created_ms))
            .collect();
        insert_memberships(&txn, rows).await?;
        let txn = match self
            .remember_create(
                txn,
                org,
                METHOD,
                request_id,
                team.id.as_str(),
                team.created_ms,
            )
            .await?
        {
            Ok(txn) => txn,
            Err(id) => return self.team(org, &parse_id("team id", &id)?).await,
        };
        event(
            &txn,
            org,
            team.id.as_str(),
            &TeamChanged {
                change: TeamChange::Created as i32,
                agent_id: String::new(),
            },
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
        let txn = self
            .overwrite(
                txn,
                org,
                e::teams::Column::Id,
                team.id.as_str(),
                row,
                "team",
                format!("a team named {:?} already exists", team.name),
            )
            .await?;
        event(
            &txn,
            org,
            team.id.as_str(),
            &TeamChanged {
                change: TeamChange::Updated as i32,
                agent_id: String::new(),
            },
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
        let exists = secure_find::<e::teams::Entity, _>(org, team.as_str())
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
            team.as_str(),
            &TeamChanged {
                change: TeamChange::Deleted as i32,
                agent_id: String::new(),
            },
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
        let mut query = of_org::<e::teams::Entity>(org);
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
        let members = of_org::<e::team_members::Entity>(org).all(&self.db).await?;
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
                team.as_str(),
                &TeamChanged {
                    change: TeamChange::MemberAdded as i32,
                    agent_id: agent.to_string(),
                },
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
                team.as_str(),
                &TeamChanged {
                    change: TeamChange::MemberRemoved as i32,
                    agent_id: agent.to_string(),
                },
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
        let mut query = of_org::<e::team_members::Entity>(org);
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
}

/// Why a team cannot be deleted, if it cannot.
async fn team_use(
    txn: &DatabaseTransaction,
    org: &OrganizationId,
    team: &TeamId,
) -> Result<Option<&'static str>, RoutingError> {
    let defaults = of_org::<e::channel_accounts::Entity>(org)
        .filter(
            e::channel_accounts::Column::DefaultTargetKind.eq(Target::Team(team.clone()).kind()),
        )
        .filter(e::channel_accounts::Column::DefaultTargetId.eq(team.as_str()))
        .count(txn)
        .await?;
    if defaults > 0 {
        return Ok(Some("it is a channel account's default target"));
    }
    let campaigns = of_org::<e::campaigns::Entity>(org)
        .filter(e::campaigns::Column::Archived.eq(false))
        .filter(e::campaigns::Column::HumanTargetKind.eq("team"))
        .filter(e::campaigns::Column::HumanTargetId.eq(team.as_str()))
        .count(txn)
        .await?;
    if campaigns > 0 {
        return Ok(Some("it is a campaign's human target"));
    }
    let queued = of_org::<e::conversations::Entity>(org)
        .filter(e::conversations::Column::State.eq("queued"))
        .filter(e::conversations::Column::TeamId.eq(team.as_str()))
        .count(txn)
        .await?;
    if queued > 0 {
        return Ok(Some("conversations are queued for it"));
    }
    Ok(None)
}
