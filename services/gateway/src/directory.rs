//! Names an inbox row shows (team, assignee, campaign and its form), per organization, read
//! from routing a whole list at a time and kept a short while: a page of 200 rows costs at most
//! one list call per kind, never one call per row. A name changed in routing shows within the
//! TTL; an id not yet known refreshes its kind at once.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use switchboard_proto::routing::v1::{self as rpb, Campaign};
use tokio::sync::Mutex;
use tonic::Status;

use crate::{
    context::Scope,
    upstream::{Upstream, every_page},
};

/// How long a kind's list is trusted.
const TTL: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Lists {
    teams: Option<(Instant, HashMap<String, String>)>,
    agents: Option<(Instant, HashMap<String, String>)>,
    campaigns: Option<(Instant, HashMap<String, Campaign>)>,
}

/// Per-organization name lists.
#[derive(Clone)]
pub struct Directory {
    upstream: Upstream,
    orgs: Arc<Mutex<HashMap<String, Arc<Mutex<Lists>>>>>,
}

/// The names of some ids, resolved together.
#[derive(Default)]
pub struct Names {
    pub teams: HashMap<String, String>,
    pub agents: HashMap<String, String>,
    pub campaigns: HashMap<String, Campaign>,
}

fn fresh<T>(entry: &Option<(Instant, T)>) -> Option<&T> {
    entry
        .as_ref()
        .filter(|(at, _)| at.elapsed() < TTL)
        .map(|(_, v)| v)
}

/// Whether some of `ids` are not in `known` (or `known` is stale).
fn missing<T>(known: Option<&HashMap<String, T>>, ids: &[&str]) -> bool {
    !ids.is_empty() && known.is_none_or(|k| ids.iter().any(|id| !k.contains_key(*id)))
}

impl Directory {
    pub fn new(upstream: Upstream) -> Self {
        Self {
            upstream,
            orgs: Arc::default(),
        }
    }

    /// Names of `teams`, `agents` and `campaigns` (ids of the caller's organization).
    pub async fn names(
        &self,
        scope: &Scope,
        teams: &[&str],
        agents: &[&str],
        campaigns: &[&str],
    ) -> Result<Names, Status> {
        let lists = {
            let mut orgs = self.orgs.lock().await;
            orgs.entry(scope.org()).or_default().clone()
        };
        let mut lists = lists.lock().await;
        if missing(fresh(&lists.teams), teams) {
            lists.teams = Some((Instant::now(), self.teams(scope).await?));
        }
        if missing(fresh(&lists.agents), agents) {
            lists.agents = Some((Instant::now(), self.agents(scope).await?));
        }
        if missing(fresh(&lists.campaigns), campaigns) {
            lists.campaigns = Some((Instant::now(), self.campaigns(scope).await?));
        }
        let pick =
            |map: Option<&HashMap<String, String>>, ids: &[&str]| -> HashMap<String, String> {
                ids.iter()
                    .filter_map(|id| {
                        map.and_then(|m| m.get(*id))
                            .map(|v| ((*id).to_string(), v.clone()))
                    })
                    .collect()
            };
        Ok(Names {
            teams: pick(lists.teams.as_ref().map(|(_, m)| m), teams),
            agents: pick(lists.agents.as_ref().map(|(_, m)| m), agents),
            campaigns: campaigns
                .iter()
                .filter_map(|id| {
                    lists
                        .campaigns
                        .as_ref()
                        .and_then(|(_, m)| m.get(*id))
                        .map(|c| ((*id).to_string(), c.clone()))
                })
                .collect(),
        })
    }

    async fn teams(&self, scope: &Scope) -> Result<HashMap<String, String>, Status> {
        let teams = every_page(|page| async move {
            let r = self
                .upstream
                .routing()
                .list_teams(scope.req(rpb::ListTeamsRequest {
                    organization_id: scope.org(),
                    page: Some(page),
                    channel_account_id: String::new(),
                }))
                .await?
                .into_inner();
            Ok((r.teams, r.page))
        })
        .await?;
        Ok(teams.into_iter().map(|t| (t.id, t.name)).collect())
    }

    async fn agents(&self, scope: &Scope) -> Result<HashMap<String, String>, Status> {
        let agents = every_page(|page| async move {
            let r = self
                .upstream
                .routing()
                .list_agents(scope.req(rpb::ListAgentsRequest {
                    organization_id: scope.org(),
                    page: Some(page),
                    include_disabled: true,
                    ..Default::default()
                }))
                .await?
                .into_inner();
            Ok((r.agents, r.page))
        })
        .await?;
        Ok(agents.into_iter().map(|a| (a.id, a.display_name)).collect())
    }

    async fn campaigns(&self, scope: &Scope) -> Result<HashMap<String, Campaign>, Status> {
        let campaigns = every_page(|page| async move {
            let r = self
                .upstream
                .routing()
                .list_campaigns(scope.req(rpb::ListCampaignsRequest {
                    organization_id: scope.org(),
                    page: Some(page),
                    channel_account_id: String::new(),
                    include_archived: true,
                }))
                .await?
                .into_inner();
            Ok((r.campaigns, r.page))
        })
        .await?;
        Ok(campaigns.into_iter().map(|c| (c.id.clone(), c)).collect())
    }
}
