//! Read models: inbox lists, counts, history and explanations, with the visibility rules
//! (agents see what they hold or held and what they could pick; operators and admins see all).

use switchboard_runtime::{
    ids::{AgentId, ConversationId, OrganizationId},
    paging::{Dir, Filter, Page, Paged},
};

use super::Routing;
use crate::{
    domain::{
        conversation::{Caller, Conversation, State, Transfer, Transition},
        decision::Decision,
    },
    error::RoutingError,
    store::conversations::{ConversationFilter, Order},
};

/// Counts behind an agent's inbox tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxCounts {
    pub waiting: u64,
    pub assigned: u64,
    pub open: u64,
    pub expired: u64,
}

/// One row of the transfer report.
pub type TransferRow = (Conversation, Vec<Transfer>);

impl Routing {
    /// The caller, when one is named (internal callers name none).
    pub async fn optional_caller(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
    ) -> Result<Option<Caller>, RoutingError> {
        match actor {
            Some(a) => Ok(Some(self.caller(org, a).await?)),
            None => Ok(None),
        }
    }

    /// Whose list: `agent` or the caller's; someone else's needs a supervisor.
    async fn whose(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        agent: Option<&AgentId>,
    ) -> Result<Option<AgentId>, RoutingError> {
        let caller = self.optional_caller(org, actor).await?;
        match (caller, agent) {
            (Some(c), Some(a)) if &c.agent_id != a && !c.role.supervises() => Err(
                RoutingError::denied("only operators and admins read another agent's lists"),
            ),
            (_, Some(a)) => Ok(Some(a.clone())),
            (Some(c), None) => Ok(Some(c.agent_id)),
            (None, None) => Ok(None),
        }
    }

    /// Operators and admins (or internal callers) only.
    pub(crate) async fn require_supervisor(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
    ) -> Result<Option<Caller>, RoutingError> {
        let caller = self.optional_caller(org, actor).await?;
        if let Some(c) = &caller
            && !c.role.supervises()
        {
            return Err(RoutingError::denied("operators and admins only"));
        }
        Ok(caller)
    }

    /// One conversation, if the caller may see it (NOT_FOUND otherwise).
    pub async fn get_conversation(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        actor: Option<&AgentId>,
    ) -> Result<Conversation, RoutingError> {
        let caller = self.optional_caller(org, actor).await?;
        let conv = self.store.conversation(org, id).await?;
        if !self.can_see(caller.as_ref(), &conv) {
            return Err(RoutingError::not_found("conversation", id));
        }
        Ok(conv)
    }

    /// Supervision list with filters.
    pub async fn list_conversations(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        filter: ConversationFilter,
        page: Page,
    ) -> Result<(Paged<Conversation>, u64), RoutingError> {
        self.require_supervisor(org, actor).await?;
        self.store
            .list_conversations(org, &filter, Order::NewestFirst, page)
            .await
    }

    /// One of an agent's state lists (assigned, open, expired).
    pub async fn agent_list(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        agent: Option<&AgentId>,
        state: State,
        page: Page,
    ) -> Result<(Paged<Conversation>, u64), RoutingError> {
        let whose = self.whose(org, actor, agent).await?;
        let (order, unfinalized) = match state {
            State::Assigned => (Order::OldestOfferFirst, false),
            State::Open => (Order::LatestCustomerMessageFirst, false),
            _ => (Order::LatestEndFirst, true),
        };
        if whose.is_none() && state != State::Expired {
            return Err(RoutingError::field(
                "agent_id",
                "is required for internal callers",
            ));
        }
        let filter = ConversationFilter {
            states: vec![state],
            assignee: whose,
            unfinalized,
            ..Default::default()
        };
        self.store
            .list_conversations(org, &filter, order, page)
            .await
    }

    /// What the agent could pick (or every queue for supervisors without an agent).
    pub async fn waiting(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        agent: Option<&AgentId>,
        team: Option<switchboard_runtime::ids::TeamId>,
        account: Option<String>,
        page: Page,
    ) -> Result<(Paged<Conversation>, u64), RoutingError> {
        let caller = self.optional_caller(org, actor).await?;
        let whose = match (&caller, agent) {
            (Some(c), None) if c.role.supervises() => None,
            _ => self.whose(org, actor, agent).await?,
        };
        let mut filter = ConversationFilter {
            states: vec![State::Queued],
            team,
            channel_account: account,
            ..Default::default()
        };
        if let Some(agent) = whose {
            let teams = self.store.agent_team_ids(org, &agent).await?;
            let accounts = self
                .store
                .agent_channel_account_ids(org, &agent)
                .await?
                .iter()
                .map(ToString::to_string)
                .collect();
            filter.pickable_by = Some((agent, teams, accounts));
        }
        self.store
            .list_conversations(org, &filter, Order::PriorityThenAge, page)
            .await
    }

    /// The counts behind an agent's inbox tabs.
    pub async fn inbox_counts(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        agent: Option<&AgentId>,
    ) -> Result<InboxCounts, RoutingError> {
        let Some(agent) = self.whose(org, actor, agent).await? else {
            return Err(RoutingError::field(
                "agent_id",
                "is required for internal callers",
            ));
        };
        let one = Page::first(1, Filter::internal("routing.inbox_counts"));
        let waiting = self
            .waiting(org, None, Some(&agent), None, None, one.clone())
            .await?
            .1;
        let assigned = self
            .agent_list(org, None, Some(&agent), State::Assigned, one.clone())
            .await?
            .1;
        let open = self
            .agent_list(org, None, Some(&agent), State::Open, one.clone())
            .await?
            .1;
        let expired = self
            .agent_list(org, None, Some(&agent), State::Expired, one.clone())
            .await?
            .1;
        Ok(InboxCounts {
            waiting,
            assigned,
            open,
            expired,
        })
    }

    /// A contact's conversations, newest first.
    pub async fn contact_conversations(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        contact: switchboard_runtime::ids::ContactId,
        account: Option<String>,
        page: Page,
    ) -> Result<(Paged<Conversation>, u64), RoutingError> {
        let caller = self.optional_caller(org, actor).await?;
        let filter = ConversationFilter {
            contact: Some(contact),
            channel_account: account,
            ..Default::default()
        };
        if let Some(c) = &caller
            && !c.role.supervises()
        {
            // An agent sees a contact's history when it can see one of its conversations.
            let all = self
                .store
                .list_conversations(
                    org,
                    &filter,
                    Order::NewestFirst,
                    Page::first(500, Filter::internal("routing.contact_visibility")),
                )
                .await?
                .0
                .items;
            if !all.iter().any(|conv| conv.visible_to(c)) {
                return Err(RoutingError::denied(
                    "the agent has no conversation with this contact",
                ));
            }
        }
        self.store
            .list_conversations(org, &filter, Order::NewestFirst, page)
            .await
    }

    /// A conversation's transitions, oldest first.
    pub async fn transitions(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        actor: Option<&AgentId>,
        page: Page,
    ) -> Result<(Paged<Transition>, u64), RoutingError> {
        self.get_conversation(org, id, actor).await?;
        self.store.transitions(org, id, page).await
    }

    /// A conversation's transfers, oldest first.
    pub async fn conversation_transfers(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        actor: Option<&AgentId>,
    ) -> Result<Vec<Transfer>, RoutingError> {
        self.get_conversation(org, id, actor).await?;
        self.store
            .transfers(org, Some(&[id.to_string()]), None)
            .await
    }

    /// Conversations with transfers in a range, newest last transfer first.
    pub async fn transfer_report(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        range_ms: (i64, i64),
        team: Option<&str>,
        agent: Option<&str>,
        page: Page,
    ) -> Result<(Paged<TransferRow>, u64), RoutingError> {
        self.require_supervisor(org, actor).await?;
        let transfers = self.store.transfers(org, None, Some(range_ms)).await?;
        let mut by_conv: Vec<(String, Vec<Transfer>)> = Vec::new();
        for t in transfers {
            let touches_team = team.is_none_or(|team| {
                t.from_team.as_ref().is_some_and(|f| f.as_str() == team)
                    || t.target.id() == Some(team)
            });
            let touches_agent = agent.is_none_or(|agent| {
                t.from_agent.as_ref().is_some_and(|f| f.as_str() == agent)
                    || t.target.id() == Some(agent)
                    || t.actor.id == agent
            });
            if !(touches_team && touches_agent) {
                continue;
            }
            let key = t.conversation_id.to_string();
            match by_conv.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(t),
                None => by_conv.push((key, vec![t])),
            }
        }
        let total = by_conv.len() as u64;
        // Newest last transfer first, conversation id as the tie-break.
        let paged = page.slice(by_conv, &[Dir::Desc, Dir::Asc], |(k, list)| {
            vec![
                list.last().map_or(0, |t| t.created_ms).into(),
                k.as_str().into(),
            ]
        });
        let next_page_token = paged.next_page_token;
        let slice = paged.items;
        let ids: Vec<String> = slice.iter().map(|(k, _)| k.clone()).collect();
        let convs = self.store.conversations_by_id(org, &ids).await?;
        let rows = slice
            .into_iter()
            .filter_map(|(k, list)| {
                convs
                    .iter()
                    .find(|c| c.id.as_str() == k)
                    .map(|c| (c.clone(), list))
            })
            .collect();
        Ok((
            Paged {
                items: rows,
                next_page_token,
            },
            total,
        ))
    }

    /// Decisions about a conversation or work item (newest first), or one decision.
    pub async fn explain(
        &self,
        org: &OrganizationId,
        actor: Option<&AgentId>,
        subject: Option<&str>,
        decision: Option<&str>,
    ) -> Result<Vec<Decision>, RoutingError> {
        let caller = self.optional_caller(org, actor).await?;
        let decisions = self.store.decisions(org, subject, decision).await?;
        let Some(first) = decisions.first() else {
            return match subject.or(decision) {
                Some(id) if decision.is_some() => Err(RoutingError::not_found("decision", id)),
                Some(id) if id.starts_with(ConversationId::PREFIX) => {
                    // A conversation never routed yet has no decision; unknown ones are NOT_FOUND.
                    let conv = ConversationId::parse(id)
                        .map_err(|e| RoutingError::field("conversation_id", &e.to_string()))?;
                    self.get_conversation(org, &conv, actor).await?;
                    Ok(vec![])
                }
                Some(id) => Err(RoutingError::not_found("subject", id)),
                None => Ok(vec![]),
            };
        };
        if let Some(c) = &caller
            && !c.role.supervises()
        {
            let subject = first.subject_id.clone();
            let conv = ConversationId::parse(&subject)
                .map_err(|_| RoutingError::not_found("decision", &subject))?;
            let conv = self.store.conversation(org, &conv).await?;
            if conv.assignee.as_ref() != Some(&c.agent_id) {
                return Err(RoutingError::denied(
                    "agents see the routing of conversations they hold; operators and admins see all",
                ));
            }
        }
        Ok(decisions)
    }
}
