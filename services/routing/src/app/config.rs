//! The configuration model's rules: who may change what (roles from `actor_agent_id`; no actor
//! means internal provisioning), references that must exist, the last-admin rule, the dedicated
//! agent rule, targets that must be linked, and keeping presence's agent profiles in step after
//! every change that affects them (the database change commits first; a presence failure is
//! logged, never returned).

use std::collections::BTreeSet;

use switchboard_runtime::{
    errors::FieldViolation,
    ids::{
        AgentId, CampaignId, ChannelAccountId, ContactId, ConversationId, OrganizationId, TeamId,
    },
};

use super::{Routing, presence::AgentProfile};
use crate::{
    domain::{
        config::{
            Agent, Campaign, ChannelAccountRouting, ContactOwner, FormField, OfflinePolicy,
            OrganizationSettings, OwnerSource, PriorityRule, Role, Strategy, Target, Team,
        },
        conversation::{Actor, Caller},
        organization::Organization,
    },
    error::{Reason, RoutingError},
    store::config::Membership,
};

/// The least role an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Operator or admin.
    Supervisor,
    /// Admin.
    Admin,
}

/// Changes to an organization; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub default_agent_capacity: Option<i32>,
    pub first_responder_becomes_owner: Option<bool>,
    pub owner_routing_enabled: Option<bool>,
    pub owner_fallback_wait_secs: Option<i64>,
    pub unrouted_all_teams: Option<bool>,
}

impl OrganizationChanges {
    /// Writes the settings this change names over `s` (update, and create over the defaults).
    pub fn apply_settings(&self, s: &mut OrganizationSettings) {
        if let Some(v) = self.first_responder_becomes_owner {
            s.first_responder_becomes_owner = v;
        }
        if let Some(v) = self.owner_routing_enabled {
            s.owner_routing_enabled = v;
        }
        if let Some(v) = self.owner_fallback_wait_secs {
            s.owner_fallback_wait_secs = v;
        }
        if let Some(v) = self.unrouted_all_teams {
            s.unrouted_all_teams = v;
        }
    }
}

/// A validated agent to create.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub capacity: i32,
    pub auth_subject: Option<String>,
    pub team_ids: Vec<TeamId>,
}

/// Changes to an agent; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentChanges {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<i32>,
    pub auth_subject: Option<Option<String>>,
    pub disabled: Option<bool>,
}

impl AgentChanges {
    /// Only the display name changes (what an agent may do to itself).
    fn only_display_name(&self) -> bool {
        self.email.is_none()
            && self.role.is_none()
            && self.capacity.is_none()
            && self.auth_subject.is_none()
            && self.disabled.is_none()
    }
}

/// A validated team to create.
#[derive(Debug, Clone)]
pub struct NewTeam {
    pub name: String,
    pub description: String,
    pub strategy: Strategy,
    pub auto_distribution: bool,
    pub offer_timeout_secs: i64,
    pub offline_policy: OfflinePolicy,
    pub priority_rules: Vec<PriorityRule>,
    pub dedicated_agent_id: Option<AgentId>,
    pub member_agent_ids: Vec<AgentId>,
}

/// Changes to a team; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TeamChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub strategy: Option<Strategy>,
    pub auto_distribution: Option<bool>,
    pub offer_timeout_secs: Option<i64>,
    pub offline_policy: Option<OfflinePolicy>,
    pub priority_rules: Option<Vec<PriorityRule>>,
    pub dedicated_agent_id: Option<Option<AgentId>>,
}

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

fn invalid(field: String, description: &str) -> RoutingError {
    RoutingError::InvalidArgument(vec![FieldViolation::new(field, description)])
}

impl Routing {
    /// Checks the actor's role. No actor is internal provisioning: allowed, once the
    /// organization is known to exist.
    pub async fn authorize(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        need: Need,
    ) -> Result<Option<Caller>, RoutingError> {
        let Some(actor) = actor else {
            self.store.organization(org).await?;
            return Ok(None);
        };
        let caller = self.caller(org, actor).await?;
        let allowed = match need {
            Need::Supervisor => caller.role.supervises(),
            Need::Admin => caller.role == Role::Admin,
        };
        if !allowed {
            return Err(RoutingError::denied(match need {
                Need::Supervisor => "only an operator or an admin may do this",
                Need::Admin => "only an admin may do this",
            }));
        }
        Ok(Some(caller))
    }

    // ---- Organizations ----

    /// Changes an organization's name, default capacity or settings. Admin only.
    pub async fn update_organization(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        changes: OrganizationChanges,
    ) -> Result<Organization, RoutingError> {
        self.authorize(org, actor, Need::Admin).await?;
        let mut current = self.store.organization(org).await?;
        let capacity_changed = changes
            .default_agent_capacity
            .is_some_and(|c| c != current.default_agent_capacity);
        if let Some(name) = &changes.name {
            current.name.clone_from(name);
        }
        if let Some(c) = changes.default_agent_capacity {
            current.default_agent_capacity = c;
        }
        changes.apply_settings(&mut current.settings);
        current.updated_ms = self.clock.now_ms();
        let saved = self.store.save_organization(&current).await?;
        if capacity_changed {
            self.sync_all_agents(org).await;
        }
        Ok(saved)
    }

    // ---- Agents ----

    /// Creates an agent (idempotent by `request_id`). Admin only.
    pub async fn create_agent(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        request_id: &str,
        new: NewAgent,
    ) -> Result<Agent, RoutingError> {
        self.authorize(org, actor, Need::Admin).await?;
        self.require_teams(org, &new.team_ids, "team_ids").await?;
        let now = self.clock.now_ms();
        let mut team_ids = new.team_ids;
        team_ids.sort();
        team_ids.dedup();
        let agent = Agent {
            id: AgentId::generate(),
            display_name: new.display_name,
            email: new.email,
            role: new.role,
            capacity: new.capacity,
            auth_subject: new.auth_subject,
            disabled: false,
            team_ids,
            created_ms: now,
            updated_ms: now,
        };
        let created = self.store.create_agent(org, request_id, &agent).await?;
        self.sync_agents(org, std::slice::from_ref(&created.id))
            .await;
        Ok(created)
    }

    /// The enabled agent bound to an identity-provider subject.
    pub async fn lookup_agent(
        &self,
        org: &OrganizationId,
        subject: &str,
    ) -> Result<Agent, RoutingError> {
        self.store.agent_by_subject(org, subject).await
    }

    /// Changes an agent. Admin only; an agent may change its own display name. Demoting or
    /// disabling the last enabled admin is refused.
    pub async fn update_agent(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        id: &AgentId,
        changes: AgentChanges,
    ) -> Result<Agent, RoutingError> {
        if let Some(actor) = actor {
            let caller = self.caller(org, actor).await?;
            let own_name = &caller.agent_id == id && changes.only_display_name();
            if caller.role != Role::Admin && !own_name {
                return Err(RoutingError::denied(
                    "only an admin may change an agent (an agent may change its own display name)",
                ));
            }
        } else {
            self.store.organization(org).await?;
        }
        let mut agent = self.store.agent(org, id).await?;
        let was_enabled_admin = agent.role == Role::Admin && !agent.disabled;
        let profile_changed = changes.capacity.is_some_and(|c| c != agent.capacity)
            || changes.disabled.is_some_and(|d| d != agent.disabled);
        if let Some(v) = changes.display_name {
            agent.display_name = v;
        }
        if let Some(v) = changes.email {
            agent.email = v;
        }
        if let Some(v) = changes.role {
            agent.role = v;
        }
        if let Some(v) = changes.capacity {
            agent.capacity = v;
        }
        if let Some(v) = changes.auth_subject {
            agent.auth_subject = v;
        }
        let disabling = changes.disabled == Some(true) && !agent.disabled;
        if let Some(v) = changes.disabled {
            agent.disabled = v;
        }
        agent.updated_ms = self.clock.now_ms();
        let keep_an_admin = was_enabled_admin && (agent.role != Role::Admin || agent.disabled);
        let saved = self
            .store
            .save_agent(org, &agent, "updated", keep_an_admin)
            .await?;
        if disabling {
            self.on_agent_disabled(org, id).await?;
        }
        if profile_changed {
            self.sync_agents(org, std::slice::from_ref(id)).await;
        }
        Ok(saved)
    }

    /// Disables an agent (soft delete). Admin only; the last enabled admin cannot be disabled.
    /// Answers the agent and the conversations that went back to the queue.
    pub async fn delete_agent(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        id: &AgentId,
    ) -> Result<(Agent, Vec<ConversationId>), RoutingError> {
        self.authorize(org, actor, Need::Admin).await?;
        let mut agent = self.store.agent(org, id).await?;
        if agent.disabled {
            return Ok((agent, Vec::new()));
        }
        let keep_an_admin = agent.role == Role::Admin;
        agent.disabled = true;
        agent.updated_ms = self.clock.now_ms();
        let saved = self
            .store
            .save_agent(org, &agent, "disabled", keep_an_admin)
            .await?;
        // TODO(engine): requeue the agent's assigned conversations (the engine fills the hook).
        let requeued = self.on_agent_disabled(org, id).await?;
        self.sync_agents(org, std::slice::from_ref(id)).await;
        Ok((saved, requeued))
    }

    /// Called after an agent is disabled (committed): its ASSIGNED conversations go back to the
    /// queue and are routed again without it, answering their ids. Open ones stay until an
    /// admin transfers or closes them.
    pub async fn on_agent_disabled(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
    ) -> Result<Vec<ConversationId>, RoutingError> {
        self.agent_offline(org, agent, true).await
    }

    // ---- Teams and memberships ----

    /// Creates a team with its first members (idempotent by `request_id`). Operator or admin.
    /// A dedicated agent becomes a member.
    pub async fn create_team(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        request_id: &str,
        new: NewTeam,
    ) -> Result<Team, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        self.require_agents(org, &new.member_agent_ids, "member_agent_ids")
            .await?;
        let mut members = new.member_agent_ids;
        if let Some(dedicated) = &new.dedicated_agent_id {
            if self
                .store
                .existing_agent_ids(org, std::slice::from_ref(dedicated))
                .await?
                .is_empty()
            {
                return Err(invalid(
                    "team.dedicated_agent_id".into(),
                    "no such agent in the organization",
                ));
            }
            members.push(dedicated.clone());
        }
        members.sort();
        members.dedup();
        let now = self.clock.now_ms();
        let team = Team {
            id: TeamId::generate(),
            name: new.name,
            description: new.description,
            strategy: new.strategy,
            auto_distribution: new.auto_distribution,
            offer_timeout_secs: new.offer_timeout_secs,
            offline_policy: new.offline_policy,
            priority_rules: new.priority_rules,
            dedicated_agent_id: new.dedicated_agent_id,
            member_count: 0,
            created_ms: now,
            updated_ms: now,
        };
        let created = self
            .store
            .create_team(org, request_id, &team, &members)
            .await?;
        self.sync_agents(org, &members).await;
        Ok(created)
    }

    /// Changes a team's settings. Operator or admin. A dedicated agent must be a member and
    /// goes with the dedicated-agent strategy only (switching strategy away clears it).
    pub async fn update_team(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        id: &TeamId,
        changes: TeamChanges,
    ) -> Result<Team, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let mut team = self.store.team(org, id).await?;
        let was_distributing = team.distributes();
        if let Some(v) = changes.name {
            team.name = v;
        }
        if let Some(v) = changes.description {
            team.description = v;
        }
        if let Some(v) = changes.strategy {
            team.strategy = v;
        }
        if let Some(v) = changes.auto_distribution {
            team.auto_distribution = v;
        }
        if let Some(v) = changes.offer_timeout_secs {
            team.offer_timeout_secs = v;
        }
        if let Some(v) = changes.offline_policy {
            team.offline_policy = v;
        }
        if let Some(v) = changes.priority_rules {
            team.priority_rules = v;
        }
        let named = changes.dedicated_agent_id.is_some();
        if let Some(v) = changes.dedicated_agent_id {
            team.dedicated_agent_id = v;
        }
        if team.strategy == Strategy::DedicatedAgent {
            let Some(dedicated) = &team.dedicated_agent_id else {
                return Err(invalid(
                    "team.dedicated_agent_id".into(),
                    "is required with TEAM_STRATEGY_DEDICATED_AGENT",
                ));
            };
            let members = self.store.team_member_ids(org, id).await?;
            if !members.contains(dedicated) {
                return Err(invalid(
                    "team.dedicated_agent_id".into(),
                    "must be a member of the team",
                ));
            }
        } else if team.dedicated_agent_id.is_some() {
            if named {
                return Err(invalid(
                    "team.dedicated_agent_id".into(),
                    "only with TEAM_STRATEGY_DEDICATED_AGENT",
                ));
            }
            team.dedicated_agent_id = None;
        }
        team.updated_ms = self.clock.now_ms();
        let saved = self.store.save_team(org, &team).await?;
        if saved.distributes()
            && !was_distributing
            // What queued while it was off goes first, in queue order; the change is saved
            // either way, and the sweeper's liveness pass retries a failed drain.
            && let Err(err) = self.drain_team_queue(org, id).await
        {
            tracing::warn!(%org, team = %id, error = %err, "draining the team's queue failed; the sweeper retries");
        }
        Ok(saved)
    }

    /// Deletes a team (idempotent by a non-empty `request_id`). Operator or admin. Refused
    /// with IN_USE while something routes to it.
    pub async fn delete_team(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        request_id: &str,
        id: &TeamId,
    ) -> Result<(), RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let members = self.store.team_member_ids(org, id).await?;
        self.store
            .delete_team(org, request_id, id, self.clock.now_ms())
            .await?;
        self.sync_agents(org, &members).await;
        Ok(())
    }

    /// Adds a member (idempotent). Operator or admin.
    pub async fn add_team_member(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        team: &TeamId,
        agent: &AgentId,
    ) -> Result<Membership, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        self.store.team(org, team).await?;
        self.store.agent(org, agent).await?;
        let (membership, added) = self
            .store
            .add_member(org, team, agent, self.clock.now_ms())
            .await?;
        if added {
            self.sync_agents(org, std::slice::from_ref(agent)).await;
        }
        Ok(membership)
    }

    /// Removes a member (idempotent). Operator or admin. A team's dedicated agent stays until
    /// the team's strategy or dedicated agent changes.
    pub async fn remove_team_member(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        team: &TeamId,
        agent: &AgentId,
    ) -> Result<(), RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let found = self.store.team(org, team).await?;
        if found.strategy == Strategy::DedicatedAgent
            && found.dedicated_agent_id.as_ref() == Some(agent)
        {
            return Err(RoutingError::precondition(
                Reason::InUse,
                "the agent is the team's dedicated agent; change the team's strategy or dedicated agent first",
            ));
        }
        if self.store.remove_member(org, team, agent).await? {
            self.sync_agents(org, std::slice::from_ref(agent)).await;
        }
        Ok(())
    }

    // ---- Channel account routing ----

    /// Replaces a channel account's routing. Operator or admin. Linked teams and agents must
    /// exist; the default target must be among them.
    pub async fn update_channel_account_routing(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        account: &ChannelAccountId,
        routing: ChannelAccountRouting,
    ) -> Result<ChannelAccountRouting, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
        let mut bad = Vec::new();
        let teams = self
            .store
            .existing_team_ids(org, &routing.linked_team_ids)
            .await?;
        for (i, t) in routing.linked_team_ids.iter().enumerate() {
            if !teams.contains(t) {
                bad.push(FieldViolation::new(
                    format!("routing.linked_team_ids[{i}]"),
                    "no such team in the organization",
                ));
            }
        }
        let agents = self
            .store
            .existing_agent_ids(org, &routing.linked_agent_ids)
            .await?;
        for (i, a) in routing.linked_agent_ids.iter().enumerate() {
            if !agents.contains(a) {
                bad.push(FieldViolation::new(
                    format!("routing.linked_agent_ids[{i}]"),
                    "no such agent in the organization",
                ));
            }
        }
        let linked = match &routing.default_target {
            Target::None => true,
            Target::Team(t) => routing.linked_team_ids.contains(t),
            Target::Agent(a) => routing.linked_agent_ids.contains(a),
        };
        if !linked {
            bad.push(FieldViolation::new(
                "routing.default_target",
                "must be one of the linked teams or agents",
            ));
        }
        if !bad.is_empty() {
            return Err(RoutingError::InvalidArgument(bad));
        }
        let before = self.store.account_agent_ids(org, account).await?;
        let saved = self
            .store
            .replace_channel_account_routing(org, account, &routing, self.clock.now_ms())
            .await?;
        let after = self.store.account_agent_ids(org, account).await?;
        let affected: Vec<AgentId> = before.union(&after).cloned().collect();
        self.sync_agents(org, &affected).await;
        Ok(saved)
    }

    // ---- Campaigns ----

    /// Creates a campaign (idempotent by `request_id`). Operator or admin.
    pub async fn create_campaign(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        request_id: &str,
        new: NewCampaign,
    ) -> Result<Campaign, RoutingError> {
        self.authorize(org, actor, Need::Supervisor).await?;
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

    // ---- Contact owners ----

    /// Makes an agent an owner of a contact (idempotent). Operator or admin; an agent may add
    /// itself.
    pub async fn add_contact_owner(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        contact: &ContactId,
        agent: &AgentId,
    ) -> Result<ContactOwner, RoutingError> {
        self.authorize_self_or_supervisor(org, actor, agent).await?;
        let owner = self.store.agent(org, agent).await?;
        if owner.disabled {
            return Err(RoutingError::not_found("agent", agent));
        }
        let added_by = actor.map_or_else(Actor::system, Actor::agent);
        self.store
            .add_contact_owner(
                org,
                &ContactOwner {
                    contact_id: contact.clone(),
                    agent_id: agent.clone(),
                    source: OwnerSource::Manual,
                    added_by,
                    created_ms: self.clock.now_ms(),
                },
            )
            .await
    }

    /// Removes an owner from a contact (idempotent). Operator or admin; an agent may remove
    /// itself.
    pub async fn remove_contact_owner(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        contact: &ContactId,
        agent: &AgentId,
    ) -> Result<(), RoutingError> {
        self.authorize_self_or_supervisor(org, actor, agent).await?;
        self.store.remove_contact_owner(org, contact, agent).await?;
        Ok(())
    }

    async fn authorize_self_or_supervisor(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        agent: &AgentId,
    ) -> Result<(), RoutingError> {
        match actor {
            Some(actor) => {
                let caller = self.caller(org, actor).await?;
                if !caller.role.supervises() && &caller.agent_id != agent {
                    return Err(RoutingError::denied(
                        "only an operator or an admin may change another agent's ownerships",
                    ));
                }
                Ok(())
            }
            None => self.store.organization(org).await.map(|_| ()),
        }
    }

    // ---- References ----

    async fn require_teams(
        &self,
        org: &OrganizationId,
        ids: &[TeamId],
        field: &str,
    ) -> Result<(), RoutingError> {
        let found = self.store.existing_team_ids(org, ids).await?;
        let bad: Vec<_> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| !found.contains(*id))
            .map(|(i, _)| {
                FieldViolation::new(format!("{field}[{i}]"), "no such team in the organization")
            })
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(RoutingError::InvalidArgument(bad))
        }
    }

    async fn require_agents(
        &self,
        org: &OrganizationId,
        ids: &[AgentId],
        field: &str,
    ) -> Result<(), RoutingError> {
        let found: BTreeSet<AgentId> = self.store.existing_agent_ids(org, ids).await?;
        let bad: Vec<_> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| !found.contains(*id))
            .map(|(i, _)| {
                FieldViolation::new(format!("{field}[{i}]"), "no such agent in the organization")
            })
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(RoutingError::InvalidArgument(bad))
        }
    }

    // ---- Presence profiles ----

    /// The presence profiles of every enabled agent (capacity in force, teams, channel
    /// accounts served directly or through a team): what a presence rebuild starts from.
    pub async fn agent_profiles(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<AgentProfile>, RoutingError> {
        let default = self.store.organization(org).await?.default_agent_capacity;
        Ok(self
            .store
            .enabled_agents_with_accounts(org)
            .await?
            .into_iter()
            .map(|(agent, accounts)| AgentProfile {
                capacity: agent.effective_capacity(default),
                agent_id: agent.id,
                team_ids: agent.team_ids,
                channel_account_ids: accounts,
            })
            .collect())
    }

    /// Pushes these agents' current profiles to presence (disabled or unknown agents are
    /// removed from it). Failures are logged: the configuration change already committed and
    /// the next sync or rebuild repairs presence.
    pub async fn sync_agents(&self, org: &OrganizationId, agents: &[AgentId]) {
        if agents.is_empty() {
            return;
        }
        let default = match self.store.organization(org).await {
            Ok(o) => o.default_agent_capacity,
            Err(err) => {
                tracing::warn!(organization = %org, error = %err, "agent profile sync skipped");
                return;
            }
        };
        for agent in agents {
            if let Err(err) = self.sync_agent(org, agent, default).await {
                tracing::warn!(organization = %org, agent = %agent, error = %err,
                    "agent profile not synced to presence");
            }
        }
    }

    async fn sync_agent(
        &self,
        org: &OrganizationId,
        id: &AgentId,
        default_capacity: i32,
    ) -> Result<(), RoutingError> {
        let agent = match self.store.agent(org, id).await {
            Ok(a) => a,
            Err(RoutingError::NotFound { .. }) => return self.presence.remove_agent(org, id).await,
            Err(e) => return Err(e),
        };
        if agent.disabled {
            return self.presence.remove_agent(org, id).await;
        }
        let accounts = self.store.agent_channel_account_ids(org, id).await?;
        self.presence
            .sync_agent(
                org,
                &AgentProfile {
                    capacity: agent.effective_capacity(default_capacity),
                    agent_id: agent.id,
                    team_ids: agent.team_ids,
                    channel_account_ids: accounts,
                },
            )
            .await
    }

    /// Pushes every enabled agent's profile (after an organization-wide change).
    async fn sync_all_agents(&self, org: &OrganizationId) {
        let profiles = match self.agent_profiles(org).await {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!(organization = %org, error = %err, "agent profile sync skipped");
                return;
            }
        };
        for profile in profiles {
            if let Err(err) = self.presence.sync_agent(org, &profile).await {
                tracing::warn!(organization = %org, agent = %profile.agent_id, error = %err,
                    "agent profile not synced to presence");
            }
        }
    }
}
