//! Team and membership RPCs: create, get, list, update, delete, add, remove and list members.
//! Parses and validates every field (all violations at once).

use switchboard_proto::{prost_types::Duration, routing::v1 as pb};
use switchboard_runtime::{
    ids::{AgentId, ChannelAccountId, OrganizationId, TeamId},
    page_filter,
};

use super::{
    convert::{Check, timestamp_ms},
    fields::{DAY_SECS, duration},
};
use crate::{
    app::{
        Routing,
        teams::{NewTeam, TeamChanges},
    },
    domain::config::{OfflinePolicy, PriorityRule, Strategy, Team},
    error::RoutingError,
    store::teams::{MembersOf, Membership},
};

/// Shortest non-zero offer timeout.
const MIN_OFFER_TIMEOUT_SECS: i64 = 10;

fn strategy_to_pb(s: Strategy) -> pb::TeamStrategy {
    match s {
        Strategy::Manual => pb::TeamStrategy::Manual,
        Strategy::RoundRobin => pb::TeamStrategy::RoundRobin,
        Strategy::LeastOpen => pb::TeamStrategy::LeastOpen,
        Strategy::DedicatedAgent => pb::TeamStrategy::DedicatedAgent,
    }
}

fn team_to_pb(org: &OrganizationId, t: Team) -> pb::Team {
    pb::Team {
        id: t.id.to_string(),
        organization_id: org.to_string(),
        name: t.name,
        description: t.description,
        strategy: strategy_to_pb(t.strategy) as i32,
        auto_distribution: Some(t.auto_distribution),
        offer_timeout: duration(t.offer_timeout_secs),
        offline_policy: match t.offline_policy {
            OfflinePolicy::Requeue => pb::OfflinePolicy::Requeue,
            OfflinePolicy::KeepUntilTimeout => pb::OfflinePolicy::KeepUntilTimeout,
        } as i32,
        priority_rules: t
            .priority_rules
            .into_iter()
            .map(|r| pb::PriorityRule {
                attribute: r.attribute,
                value: r.value,
                priority: r.priority,
            })
            .collect(),
        dedicated_agent_id: t
            .dedicated_agent_id
            .map(|a| a.to_string())
            .unwrap_or_default(),
        member_count: t.member_count,
        create_time: Some(timestamp_ms(t.created_ms)),
        update_time: Some(timestamp_ms(t.updated_ms)),
    }
}

fn membership_to_pb(m: Membership) -> pb::TeamMembership {
    pb::TeamMembership {
        team_id: m.team_id.to_string(),
        agent_id: m.agent_id.to_string(),
        create_time: Some(timestamp_ms(m.created_ms)),
    }
}

fn strategy_from_pb(check: &mut Check, field: &str, value: i32) -> Strategy {
    match pb::TeamStrategy::try_from(value) {
        Ok(pb::TeamStrategy::Manual) => Strategy::Manual,
        Ok(pb::TeamStrategy::RoundRobin) => Strategy::RoundRobin,
        Ok(pb::TeamStrategy::LeastOpen | pb::TeamStrategy::Unspecified) => Strategy::LeastOpen,
        Ok(pb::TeamStrategy::DedicatedAgent) => Strategy::DedicatedAgent,
        Err(_) => {
            check.bad(field, "unknown strategy");
            Strategy::LeastOpen
        }
    }
}

fn offline_policy_from_pb(check: &mut Check, field: &str, value: i32) -> OfflinePolicy {
    match pb::OfflinePolicy::try_from(value) {
        Ok(pb::OfflinePolicy::KeepUntilTimeout) => OfflinePolicy::KeepUntilTimeout,
        Ok(_) => OfflinePolicy::Requeue,
        Err(_) => {
            check.bad(field, "unknown offline policy");
            OfflinePolicy::Requeue
        }
    }
}

fn offer_timeout(check: &mut Check, field: &str, value: Option<&Duration>) -> i64 {
    let secs = value
        .and_then(|d| check.whole_seconds(field, d))
        .unwrap_or(0);
    if secs != 0 && !(MIN_OFFER_TIMEOUT_SECS..=DAY_SECS).contains(&secs) {
        check.bad(
            field,
            "must be 0 (never) or between 10 seconds and 24 hours",
        );
    }
    secs
}

fn priority_rules(check: &mut Check, field: &str, rules: &[pb::PriorityRule]) -> Vec<PriorityRule> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if r.attribute.trim().is_empty() {
                check.bad(&format!("{field}[{i}].attribute"), "must not be empty");
            }
            if !(-100..=100).contains(&r.priority) {
                check.bad(
                    &format!("{field}[{i}].priority"),
                    "must be between -100 and 100",
                );
            }
            PriorityRule {
                attribute: r.attribute.trim().to_string(),
                value: r.value.clone(),
                priority: r.priority,
            }
        })
        .collect()
}

pub async fn create_team(
    app: &Routing,
    req: pb::CreateTeamRequest,
) -> Result<pb::CreateTeamResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let t = req.team.unwrap_or_default();
    let name = check.text("team.name", &t.name, 200);
    let description = check.opt_text("team.description", &t.description, 2000);
    let strategy = strategy_from_pb(&mut check, "team.strategy", t.strategy);
    let offer_timeout_secs =
        offer_timeout(&mut check, "team.offer_timeout", t.offer_timeout.as_ref());
    let offline_policy =
        offline_policy_from_pb(&mut check, "team.offline_policy", t.offline_policy);
    let rules = priority_rules(&mut check, "team.priority_rules", &t.priority_rules);
    let dedicated: Option<AgentId> = check.opt_id("team.dedicated_agent_id", &t.dedicated_agent_id);
    match (strategy, t.dedicated_agent_id.is_empty()) {
        (Strategy::DedicatedAgent, true) => check.bad(
            "team.dedicated_agent_id",
            "is required with TEAM_STRATEGY_DEDICATED_AGENT",
        ),
        (s, false) if s != Strategy::DedicatedAgent => check.bad(
            "team.dedicated_agent_id",
            "only with TEAM_STRATEGY_DEDICATED_AGENT",
        ),
        _ => {}
    }
    let members = check.ids::<AgentId>("member_agent_ids", &req.member_agent_ids);
    check.done()?;
    let id = id.expect("validated");
    let new = NewTeam {
        name,
        description,
        strategy,
        auto_distribution: t.auto_distribution.unwrap_or(true),
        offer_timeout_secs,
        offline_policy,
        priority_rules: rules,
        dedicated_agent_id: dedicated,
        member_agent_ids: members,
    };
    let team = app
        .create_team(&id, actor.as_ref(), &req.request_id, new)
        .await?;
    Ok(pb::CreateTeamResponse {
        team: Some(team_to_pb(&id, team)),
    })
}

pub async fn get_team(
    app: &Routing,
    req: pb::GetTeamRequest,
) -> Result<pb::GetTeamResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let team: Option<TeamId> = check.id("team_id", &req.team_id);
    check.done()?;
    let id = id.expect("validated");
    let team = app.store().team(&id, &team.expect("validated")).await?;
    Ok(pb::GetTeamResponse {
        team: Some(team_to_pb(&id, team)),
    })
}

pub async fn list_teams(
    app: &Routing,
    req: pb::ListTeamsRequest,
) -> Result<pb::ListTeamsResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let account: Option<ChannelAccountId> =
        check.opt_id("channel_account_id", &req.channel_account_id);
    check.done()?;
    let id = id.expect("validated");
    let (teams, total) = app.store().list_teams(&id, account.as_ref(), &page).await?;
    Ok(pb::ListTeamsResponse {
        page: Some(teams.response(Some(total))),
        teams: teams
            .items
            .into_iter()
            .map(|t| team_to_pb(&id, t))
            .collect(),
    })
}

const TEAM_FIELDS: &[&str] = &[
    "name",
    "description",
    "strategy",
    "auto_distribution",
    "offer_timeout",
    "offline_policy",
    "priority_rules",
    "dedicated_agent_id",
];

pub async fn update_team(
    app: &Routing,
    req: pb::UpdateTeamRequest,
) -> Result<pb::UpdateTeamResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let paths = check.mask(req.update_mask.as_ref(), TEAM_FIELDS);
    let t = req.team.unwrap_or_default();
    let team: Option<TeamId> = check.id("team.id", &t.id);
    let mut changes = TeamChanges::default();
    if paths.contains("name") {
        changes.name = Some(check.text("team.name", &t.name, 200));
    }
    if paths.contains("description") {
        changes.description = Some(check.opt_text("team.description", &t.description, 2000));
    }
    if paths.contains("strategy") {
        changes.strategy = Some(strategy_from_pb(&mut check, "team.strategy", t.strategy));
    }
    if paths.contains("auto_distribution") {
        changes.auto_distribution = Some(t.auto_distribution.unwrap_or(true));
    }
    if paths.contains("offer_timeout") {
        changes.offer_timeout_secs = Some(offer_timeout(
            &mut check,
            "team.offer_timeout",
            t.offer_timeout.as_ref(),
        ));
    }
    if paths.contains("offline_policy") {
        changes.offline_policy = Some(offline_policy_from_pb(
            &mut check,
            "team.offline_policy",
            t.offline_policy,
        ));
    }
    if paths.contains("priority_rules") {
        changes.priority_rules = Some(priority_rules(
            &mut check,
            "team.priority_rules",
            &t.priority_rules,
        ));
    }
    if paths.contains("dedicated_agent_id") {
        changes.dedicated_agent_id =
            Some(check.opt_id("team.dedicated_agent_id", &t.dedicated_agent_id));
    }
    check.done()?;
    let id = id.expect("validated");
    let updated = app
        .update_team(&id, actor.as_ref(), &team.expect("validated"), changes)
        .await?;
    Ok(pb::UpdateTeamResponse {
        team: Some(team_to_pb(&id, updated)),
    })
}

pub async fn delete_team(
    app: &Routing,
    req: pb::DeleteTeamRequest,
) -> Result<pb::DeleteTeamResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let team: Option<TeamId> = check.id("team_id", &req.team_id);
    if req.request_id.len() > 128 {
        check.bad("request_id", "must be at most 128 characters");
    }
    check.done()?;
    app.delete_team(
        &id.expect("validated"),
        actor.as_ref(),
        req.request_id.trim(),
        &team.expect("validated"),
    )
    .await?;
    Ok(pb::DeleteTeamResponse {})
}

pub async fn add_team_member(
    app: &Routing,
    req: pb::AddTeamMemberRequest,
) -> Result<pb::AddTeamMemberResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let team: Option<TeamId> = check.id("team_id", &req.team_id);
    let agent: Option<AgentId> = check.id("agent_id", &req.agent_id);
    check.done()?;
    let membership = app
        .add_team_member(
            &id.expect("validated"),
            actor.as_ref(),
            &team.expect("validated"),
            &agent.expect("validated"),
        )
        .await?;
    Ok(pb::AddTeamMemberResponse {
        membership: Some(membership_to_pb(membership)),
    })
}

pub async fn remove_team_member(
    app: &Routing,
    req: pb::RemoveTeamMemberRequest,
) -> Result<pb::RemoveTeamMemberResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let actor = check.actor(&req.actor_agent_id);
    let team: Option<TeamId> = check.id("team_id", &req.team_id);
    let agent: Option<AgentId> = check.id("agent_id", &req.agent_id);
    check.done()?;
    app.remove_team_member(
        &id.expect("validated"),
        actor.as_ref(),
        &team.expect("validated"),
        &agent.expect("validated"),
    )
    .await?;
    Ok(pb::RemoveTeamMemberResponse {})
}

pub async fn list_team_members(
    app: &Routing,
    req: pb::ListTeamMembersRequest,
) -> Result<pb::ListTeamMembersResponse, RoutingError> {
    let mut check = Check::default();
    let id = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let of = match (req.team_id.is_empty(), req.agent_id.is_empty()) {
        (false, true) => check.id("team_id", &req.team_id).map(MembersOf::Team),
        (true, false) => check.id("agent_id", &req.agent_id).map(MembersOf::Agent),
        _ => {
            check.bad("team_id", "exactly one of team_id and agent_id is required");
            None
        }
    };
    check.done()?;
    let (list, total) = app
        .store()
        .memberships(&id.expect("validated"), &of.expect("validated"), &page)
        .await?;
    Ok(pb::ListTeamMembersResponse {
        page: Some(list.response(Some(total))),
        memberships: list.items.into_iter().map(membership_to_pb).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_timeout_is_zero_or_ten_seconds_to_a_day() {
        let mut check = Check::default();
        assert_eq!(offer_timeout(&mut check, "t", None), 0);
        assert_eq!(
            offer_timeout(
                &mut check,
                "t",
                Some(&Duration {
                    seconds: 30,
                    nanos: 0
                })
            ),
            30
        );
        assert!(check.0.is_empty());
        offer_timeout(
            &mut check,
            "t",
            Some(&Duration {
                seconds: 5,
                nanos: 0,
            }),
        );
        offer_timeout(
            &mut check,
            "t",
            Some(&Duration {
                seconds: DAY_SECS + 1,
                nanos: 0,
            }),
        );
        assert_eq!(check.0.len(), 2);
    }
}
