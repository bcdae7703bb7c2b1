//! Channel account routing: the agents serving an account and replacing its linked teams,
//! agents and default target (with an outbox event).

use std::collections::BTreeSet;

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use switchboard_proto::routing::v1::ChannelAccountChanged;
use switchboard_runtime::ids::{AgentId, ChannelAccountId, OrganizationId, TeamId};
use switchboard_runtime::tenancy::of_org;

use super::{Store, directory::parse_id, entities as e, events::event};
use crate::{domain::config::ChannelAccountRouting, error::RoutingError};

impl Store {
    /// Agents serving a channel account: linked directly or members of a linked team.
    pub async fn account_agent_ids(
        &self,
        org: &OrganizationId,
        account: &ChannelAccountId,
    ) -> Result<BTreeSet<AgentId>, RoutingError> {
        let routing = self.channel_account_routing(org, account).await?;
        let mut agents: BTreeSet<AgentId> = routing.linked_agent_ids.into_iter().collect();
        if !routing.linked_team_ids.is_empty() {
            let rows = of_org::<e::team_members::Entity>(org)
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
            account.as_str(),
            &ChannelAccountChanged {
                default_target: Some(crate::grpc::convert::target_to_pb(&routing.default_target)),
            },
        )
        .await?;
        txn.commit().await?;
        self.relay.wake();
        self.channel_account_routing(org, account).await
    }
}
