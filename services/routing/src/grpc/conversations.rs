//! Conversation RPCs: intake, reads, actions, history, explanations and hooks.

use switchboard_proto::{common::v1 as common, routing::v1 as pb};
use switchboard_runtime::ids::{
    AgentId, CampaignId, ChannelAccountId, ContactId, ConversationId, TeamId,
};
use switchboard_runtime::{
    page_filter,
    paging::{Dir, Filter},
};

use super::convert::{
    Check, RoutingChecks, actor_to_pb, ms_of, opt_timestamp, target_to_pb, timestamp_ms,
};
use crate::{
    app::{Routing, conversations::NewConversation},
    domain::{
        config::Strategy,
        conversation::{Cause, Conversation, State, Transfer, Transition},
        decision::{Decision, Outcome, Rule, Trigger, Verdict},
    },
    error::RoutingError,
    store::conversations::ConversationFilter,
};

pub fn state_to_pb(s: State) -> pb::ConversationState {
    match s {
        State::Queued => pb::ConversationState::Queued,
        State::Assigned => pb::ConversationState::Assigned,
        State::Open => pb::ConversationState::Open,
        State::Closed => pb::ConversationState::Closed,
        State::Expired => pb::ConversationState::Expired,
    }
}

fn state_from_pb(check: &mut Check, field: &str, v: i32) -> Option<State> {
    match pb::ConversationState::try_from(v) {
        Ok(pb::ConversationState::Queued) => Some(State::Queued),
        Ok(pb::ConversationState::Assigned) => Some(State::Assigned),
        Ok(pb::ConversationState::Open) => Some(State::Open),
        Ok(pb::ConversationState::Closed) => Some(State::Closed),
        Ok(pb::ConversationState::Expired) => Some(State::Expired),
        _ => {
            check.bad(field, "must be a conversation state");
            None
        }
    }
}

fn ticket_to_pb(t: &crate::domain::conversation::TicketRef) -> pb::TicketRef {
    pb::TicketRef {
        ticket_id: t.ticket_id.clone(),
        number: t.number,
        proposal_id: t.proposal_id.clone().unwrap_or_default(),
    }
}

pub fn conversation_to_pb(org: &str, c: &Conversation) -> pb::Conversation {
    pb::Conversation {
        id: c.id.to_string(),
        organization_id: org.to_string(),
        channel_account_id: c.channel_account_id.to_string(),
        contact_id: c.contact_id.to_string(),
        state: state_to_pb(c.state) as i32,
        campaign_id: c
            .campaign_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        team_id: c
            .team_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        assignee_agent_id: c
            .assignee
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        priority: c.priority,
        participant_agent_ids: c.participants.iter().map(ToString::to_string).collect(),
        form_values: c.form_values.clone().into_iter().collect(),
        transfer_count: c.transfer_count,
        create_time: Some(timestamp_ms(c.created_ms)),
        queue_time: if c.state == State::Queued {
            opt_timestamp(c.queue_ms)
        } else {
            None
        },
        assign_time: opt_timestamp(c.assign_ms),
        offer_expire_time: if c.state == State::Assigned {
            opt_timestamp(c.offer_expire_ms)
        } else {
            None
        },
        open_time: opt_timestamp(c.open_ms),
        first_response_time: opt_timestamp(c.first_response_ms),
        last_customer_message_time: Some(timestamp_ms(c.last_customer_ms)),
        expire_time: Some(timestamp_ms(c.expire_ms)),
        end_time: opt_timestamp(c.end_ms),
        closed_by: c.closed_by.as_ref().map(actor_to_pb),
        close_note: c.close_note.clone(),
        finalize_time: opt_timestamp(c.finalize_ms),
        last_decision_id: c
            .last_decision_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        update_time: Some(timestamp_ms(c.updated_ms)),
        ticket: c.tickets.linked.as_ref().map(ticket_to_pb),
        proposed_ticket: c.tickets.proposed.as_ref().map(ticket_to_pb),
    }
}

pub(crate) fn cause_to_pb(c: Cause) -> pb::TransitionCause {
    use pb::TransitionCause as T;
    match c {
        Cause::Routed => T::Routed,
        Cause::Picked => T::Picked,
        Cause::Opened => T::Opened,
        Cause::Transferred => T::Transferred,
        Cause::OfferTimeout => T::OfferTimeout,
        Cause::AgentOffline => T::AgentOffline,
        Cause::AgentDisabled => T::AgentDisabled,
        Cause::SlotFreed => T::SlotFreed,
        Cause::Closed => T::Closed,
        Cause::Expired => T::Expired,
        Cause::Finalized => T::Finalized,
        Cause::OwnerWaitExpired => T::OwnerWaitExpired,
    }
}

fn transition_to_pb(t: &Transition) -> pb::Transition {
    pb::Transition {
        sequence: t.sequence,
        conversation_id: t.conversation_id.to_string(),
        from_state: t.from_state.map_or(0, |s| state_to_pb(s) as i32),
        to_state: state_to_pb(t.to_state) as i32,
        from_agent_id: t
            .from_agent
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        to_agent_id: t
            .to_agent
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        to_team_id: t
            .to_team
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        actor: Some(actor_to_pb(&t.actor)),
        cause: cause_to_pb(t.cause) as i32,
        detail: t.detail.clone(),
        decision_id: t
            .decision_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        create_time: Some(timestamp_ms(t.created_ms)),
    }
}

fn transfer_to_pb(t: &Transfer) -> pb::Transfer {
    pb::Transfer {
        id: t.id.to_string(),
        conversation_id: t.conversation_id.to_string(),
        actor: Some(actor_to_pb(&t.actor)),
        from_agent_id: t
            .from_agent
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        from_team_id: t
            .from_team
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        target: Some(target_to_pb(&t.target)),
        reason: t.reason.clone(),
        from_state: state_to_pb(t.from_state) as i32,
        create_time: Some(timestamp_ms(t.created_ms)),
    }
}

pub fn strategy_to_pb(s: Strategy) -> pb::TeamStrategy {
    match s {
        Strategy::Manual => pb::TeamStrategy::Manual,
        Strategy::RoundRobin => pb::TeamStrategy::RoundRobin,
        Strategy::LeastOpen => pb::TeamStrategy::LeastOpen,
        Strategy::DedicatedAgent => pb::TeamStrategy::DedicatedAgent,
    }
}

fn decision_to_pb(d: &Decision) -> pb::RoutingDecision {
    let rule = |r: &str| match Rule::parse(r) {
        Some(Rule::Campaign) => pb::RoutingRule::Campaign,
        Some(Rule::ContactOwner) => pb::RoutingRule::ContactOwner,
        Some(Rule::ChannelDefault) => pb::RoutingRule::ChannelDefault,
        Some(Rule::WaitingList) => pb::RoutingRule::OrganizationWaitingList,
        Some(Rule::ExplicitTarget) => pb::RoutingRule::ExplicitTarget,
        Some(Rule::Requeue) => pb::RoutingRule::Requeue,
        None => pb::RoutingRule::Unspecified,
    };
    let verdict = |v: &str| match Verdict::parse(v) {
        Some(Verdict::Eligible) => pb::CandidateVerdict::Eligible,
        Some(Verdict::NotAvailable) => pb::CandidateVerdict::NotAvailable,
        Some(Verdict::AtCapacity) => pb::CandidateVerdict::AtCapacity,
        Some(Verdict::NotLinked) => pb::CandidateVerdict::NotLinked,
        Some(Verdict::Excluded) => pb::CandidateVerdict::Excluded,
        Some(Verdict::Outranked) => pb::CandidateVerdict::Outranked,
        Some(Verdict::ReservationLost) => pb::CandidateVerdict::ReservationLost,
        None => pb::CandidateVerdict::Unspecified,
    };
    let status = |s: &str| match s {
        "available" => common::AgentStatus::Available,
        "away" => common::AgentStatus::Away,
        _ => common::AgentStatus::Offline,
    };
    let subject = &d.subject_id;
    pb::RoutingDecision {
        id: d.id.to_string(),
        conversation_id: if subject.starts_with(ConversationId::PREFIX) {
            subject.clone()
        } else {
            String::new()
        },
        work_item_id: if subject.starts_with(ConversationId::PREFIX) {
            String::new()
        } else {
            subject.clone()
        },
        trigger: match d.trigger {
            Trigger::New => pb::DecisionTrigger::New,
            Trigger::Transfer => pb::DecisionTrigger::Transfer,
            Trigger::OfferTimeout => pb::DecisionTrigger::OfferTimeout,
            Trigger::AgentOffline => pb::DecisionTrigger::AgentOffline,
            Trigger::SlotFreed => pb::DecisionTrigger::SlotFreed,
            Trigger::Sweep => pb::DecisionTrigger::Sweep,
            Trigger::OwnerWaitExpired => pb::DecisionTrigger::OwnerWaitExpired,
        } as i32,
        evaluations: d
            .detail
            .evaluations
            .iter()
            .map(|e| pb::RuleEvaluation {
                rule: rule(&e.rule) as i32,
                matched: e.matched,
                detail: e.detail.clone(),
            })
            .collect(),
        matched_rule: rule(d.rule.as_str()) as i32,
        target: Some(target_to_pb(&d.target)),
        strategy: d.strategy.map_or(0, |s| strategy_to_pb(s) as i32),
        candidates: d
            .detail
            .candidates
            .iter()
            .map(|c| pb::Candidate {
                agent_id: c.agent_id.clone(),
                status: status(&c.status) as i32,
                load: c.load,
                capacity: c.capacity,
                last_assignment_time: opt_timestamp(c.last_assignment_ms),
                verdict: verdict(&c.verdict) as i32,
                display_name: c.name.clone(),
            })
            .collect(),
        excluded_agent_ids: d.detail.excluded.clone(),
        outcome: match d.outcome {
            Outcome::Assigned => pb::DecisionOutcome::Assigned,
            Outcome::Queued => pb::DecisionOutcome::Queued,
            Outcome::WaitingForOwner => pb::DecisionOutcome::WaitingForOwner,
        } as i32,
        chosen_agent_id: d
            .chosen_agent
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        reservation_id: d.reservation_id.clone().unwrap_or_default(),
        explanation: d.explanation.clone(),
        create_time: Some(timestamp_ms(d.created_ms)),
    }
}

fn list(org: &str, convs: &[Conversation]) -> Vec<pb::Conversation> {
    convs.iter().map(|c| conversation_to_pb(org, c)).collect()
}

// ---- Intake ----

pub async fn start_conversation(
    app: &Routing,
    req: pb::StartConversationRequest,
) -> Result<pb::StartConversationResponse, RoutingError> {
    let mut check = Check::default();
    check.request_id(&req.request_id);
    let o = check.org(&req.organization_id);
    let account = check.id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    let contact = check.id::<ContactId>("contact_id", &req.contact_id);
    let campaign = check.opt_id::<CampaignId>("campaign_id", &req.campaign_id);
    let assign_to = check.opt_id::<AgentId>("assign_to_agent_id", &req.assign_to_agent_id);
    check.done()?;
    let o = o.expect("validated");
    let (conv, created) = app
        .start_conversation(
            &o,
            NewConversation {
                channel_account_id: account.expect("validated"),
                contact_id: contact.expect("validated"),
                campaign_id: campaign,
                first_message_ms: req.first_message_time.as_ref().map(ms_of),
                assign_to,
            },
        )
        .await?;
    Ok(pb::StartConversationResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
        created,
    })
}

pub async fn record_customer_message(
    app: &Routing,
    req: pb::RecordCustomerMessageRequest,
) -> Result<pb::RecordCustomerMessageResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let id = check.id::<ConversationId>("conversation_id", &req.conversation_id);
    if req.message_id.is_empty() {
        check.bad("message_id", "is required");
    }
    check.done()?;
    let o = o.expect("validated");
    let conv = app
        .record_customer_message(
            &o,
            &id.expect("validated"),
            req.message_time.as_ref().map(ms_of),
        )
        .await?;
    Ok(pb::RecordCustomerMessageResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
    })
}

pub async fn record_agent_reply(
    app: &Routing,
    req: pb::RecordAgentReplyRequest,
) -> Result<pb::RecordAgentReplyResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let id = check.id::<ConversationId>("conversation_id", &req.conversation_id);
    let agent = check.id::<AgentId>("agent_id", &req.agent_id);
    if req.message_id.is_empty() {
        check.bad("message_id", "is required");
    }
    check.done()?;
    let o = o.expect("validated");
    let (conv, became_owner) = app
        .record_agent_reply(
            &o,
            &id.expect("validated"),
            &agent.expect("validated"),
            req.message_time.as_ref().map(ms_of),
        )
        .await?;
    Ok(pb::RecordAgentReplyResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
        became_owner,
    })
}

// ---- Reads ----

pub async fn get_conversation(
    app: &Routing,
    req: pb::GetConversationRequest,
) -> Result<pb::GetConversationResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let id = check.id::<ConversationId>("conversation_id", &req.conversation_id);
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    check.done()?;
    let o = o.expect("validated");
    let conv = app
        .get_conversation(&o, &id.expect("validated"), actor.as_ref())
        .await?;
    Ok(pb::GetConversationResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
    })
}

pub async fn list_conversations(
    app: &Routing,
    req: pb::ListConversationsRequest,
) -> Result<pb::ListConversationsResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let states: Vec<State> = req
        .states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| state_from_pb(&mut check, &format!("states[{i}]"), *s))
        .collect();
    let filter = ConversationFilter {
        states,
        assignee: check.opt_id::<AgentId>("assignee_agent_id", &req.assignee_agent_id),
        team: check.opt_id::<TeamId>("team_id", &req.team_id),
        channel_account: check
            .opt_id::<ChannelAccountId>("channel_account_id", &req.channel_account_id)
            .map(|a| a.to_string()),
        contact: check.opt_id::<ContactId>("contact_id", &req.contact_id),
        campaign: check
            .opt_id::<CampaignId>("campaign_id", &req.campaign_id)
            .map(|c| c.to_string()),
        created_from_ms: req
            .create_time_range
            .as_ref()
            .and_then(|r| r.start_time.as_ref())
            .map(ms_of),
        created_to_ms: req
            .create_time_range
            .as_ref()
            .and_then(|r| r.end_time.as_ref())
            .map(ms_of),
        ..Default::default()
    };
    check.done()?;
    let o = o.expect("validated");
    let (convs, total) = app
        .list_conversations(&o, actor.as_ref(), filter, page)
        .await?;
    Ok(pb::ListConversationsResponse {
        conversations: list(o.as_str(), &convs.items),
        page: Some(convs.response(Some(total))),
    })
}

async fn agent_list(
    app: &Routing,
    organization_id: &str,
    page: Option<&common::PageRequest>,
    filter: Filter,
    actor: &str,
    agent: &str,
    state: State,
) -> Result<(Vec<pb::Conversation>, common::PageResponse), RoutingError> {
    let mut check = Check::default();
    let o = check.org(organization_id);
    let page = check.page(page, filter);
    let actor = check.opt_id::<AgentId>("actor_agent_id", actor);
    let agent = check.opt_id::<AgentId>("agent_id", agent);
    check.done()?;
    let o = o.expect("validated");
    let (convs, total) = app
        .agent_list(&o, actor.as_ref(), agent.as_ref(), state, page)
        .await?;
    Ok((list(o.as_str(), &convs.items), convs.response(Some(total))))
}

pub async fn list_assigned_conversations(
    app: &Routing,
    req: pb::ListAssignedConversationsRequest,
) -> Result<pb::ListAssignedConversationsResponse, RoutingError> {
    let (conversations, page) = agent_list(
        app,
        &req.organization_id,
        req.page.as_ref(),
        page_filter!(req),
        &req.actor_agent_id,
        &req.agent_id,
        State::Assigned,
    )
    .await?;
    Ok(pb::ListAssignedConversationsResponse {
        conversations,
        page: Some(page),
    })
}

pub async fn list_open_conversations(
    app: &Routing,
    req: pb::ListOpenConversationsRequest,
) -> Result<pb::ListOpenConversationsResponse, RoutingError> {
    let (conversations, page) = agent_list(
        app,
        &req.organization_id,
        req.page.as_ref(),
        page_filter!(req),
        &req.actor_agent_id,
        &req.agent_id,
        State::Open,
    )
    .await?;
    Ok(pb::ListOpenConversationsResponse {
        conversations,
        page: Some(page),
    })
}

pub async fn list_expired_conversations(
    app: &Routing,
    req: pb::ListExpiredConversationsRequest,
) -> Result<pb::ListExpiredConversationsResponse, RoutingError> {
    let (conversations, page) = agent_list(
        app,
        &req.organization_id,
        req.page.as_ref(),
        page_filter!(req),
        &req.actor_agent_id,
        &req.agent_id,
        State::Expired,
    )
    .await?;
    Ok(pb::ListExpiredConversationsResponse {
        conversations,
        page: Some(page),
    })
}

pub async fn list_waiting_conversations(
    app: &Routing,
    req: pb::ListWaitingConversationsRequest,
) -> Result<pb::ListWaitingConversationsResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let agent = check.opt_id::<AgentId>("agent_id", &req.agent_id);
    let team = check.opt_id::<TeamId>("team_id", &req.team_id);
    let account = check.opt_id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    check.done()?;
    let o = o.expect("validated");
    let (convs, total) = app
        .waiting(
            &o,
            actor.as_ref(),
            agent.as_ref(),
            team,
            account.map(|a| a.to_string()),
            page,
        )
        .await?;
    Ok(pb::ListWaitingConversationsResponse {
        conversations: list(o.as_str(), &convs.items),
        page: Some(convs.response(Some(total))),
    })
}

pub async fn get_inbox_counts(
    app: &Routing,
    req: pb::GetInboxCountsRequest,
) -> Result<pb::GetInboxCountsResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let agent = check.opt_id::<AgentId>("agent_id", &req.agent_id);
    check.done()?;
    let c = app
        .inbox_counts(&o.expect("validated"), actor.as_ref(), agent.as_ref())
        .await?;
    Ok(pb::GetInboxCountsResponse {
        counts: Some(pb::InboxCounts {
            waiting: c.waiting as i32,
            assigned: c.assigned as i32,
            open: c.open as i32,
            expired: c.expired as i32,
        }),
    })
}

pub async fn list_contact_conversations(
    app: &Routing,
    req: pb::ListContactConversationsRequest,
) -> Result<pb::ListContactConversationsResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let contact = check.id::<ContactId>("contact_id", &req.contact_id);
    let account = check.opt_id::<ChannelAccountId>("channel_account_id", &req.channel_account_id);
    check.done()?;
    let o = o.expect("validated");
    let (convs, total) = app
        .contact_conversations(
            &o,
            actor.as_ref(),
            contact.expect("validated"),
            account.map(|a| a.to_string()),
            page,
        )
        .await?;
    Ok(pb::ListContactConversationsResponse {
        conversations: list(o.as_str(), &convs.items),
        page: Some(convs.response(Some(total))),
    })
}

// ---- Actions ----

/// Parses the fields every action on one conversation carries.
fn action(
    request_id: &str,
    organization_id: &str,
    actor: &str,
    conversation_id: &str,
) -> Result<
    (
        switchboard_runtime::ids::OrganizationId,
        AgentId,
        ConversationId,
    ),
    RoutingError,
> {
    let mut check = Check::default();
    check.request_id(request_id);
    let o = check.org(organization_id);
    let actor = check.id::<AgentId>("actor_agent_id", actor);
    let id = check.id::<ConversationId>("conversation_id", conversation_id);
    check.done()?;
    Ok((
        o.expect("validated"),
        actor.expect("validated"),
        id.expect("validated"),
    ))
}

pub async fn pick_conversation(
    app: &Routing,
    req: pb::PickConversationRequest,
) -> Result<pb::PickConversationResponse, RoutingError> {
    let (o, actor, id) = action(
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
        &req.conversation_id,
    )?;
    let conv = app.pick(&o, &id, &actor).await?;
    Ok(pb::PickConversationResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
    })
}

pub async fn open_conversation(
    app: &Routing,
    req: pb::OpenConversationRequest,
) -> Result<pb::OpenConversationResponse, RoutingError> {
    let (o, actor, id) = action(
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
        &req.conversation_id,
    )?;
    let conv = app.open(&o, &id, &actor).await?;
    Ok(pb::OpenConversationResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
    })
}

pub async fn close_conversation(
    app: &Routing,
    req: pb::CloseConversationRequest,
) -> Result<pb::CloseConversationResponse, RoutingError> {
    if req.close_note.chars().count() > 2000 {
        return Err(RoutingError::field(
            "close_note",
            "must be at most 2,000 characters",
        ));
    }
    let (o, actor, id) = action(
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
        &req.conversation_id,
    )?;
    let conv = app.close(&o, &id, &actor, &req.close_note).await?;
    Ok(pb::CloseConversationResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
        ticket_id: String::new(),
    })
}

pub async fn finalize_conversation(
    app: &Routing,
    req: pb::FinalizeConversationRequest,
) -> Result<pb::FinalizeConversationResponse, RoutingError> {
    let (o, actor, id) = action(
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
        &req.conversation_id,
    )?;
    let conv = app.finalize(&o, &id, &actor).await?;
    Ok(pb::FinalizeConversationResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
    })
}

pub async fn transfer_conversation(
    app: &Routing,
    req: pb::TransferConversationRequest,
) -> Result<pb::TransferConversationResponse, RoutingError> {
    let mut check = Check::default();
    let target = check.target("target", req.target.as_ref(), false);
    if req.reason.chars().count() > 1000 {
        check.bad("reason", "must be at most 1,000 characters");
    }
    if let Some(p) = req.priority
        && !(-100..=100).contains(&p)
    {
        check.bad("priority", "must be between -100 and 100");
    }
    let parsed = action(
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
        &req.conversation_id,
    );
    if let Err(RoutingError::InvalidArgument(more)) = &parsed {
        check.0.extend(more.iter().cloned());
    }
    check.done()?;
    let (o, actor, id) = parsed?;
    let (conv, transfer) = app
        .transfer(&o, &id, &actor, target, &req.reason, req.priority)
        .await?;
    Ok(pb::TransferConversationResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
        transfer: Some(transfer_to_pb(&transfer)),
    })
}

pub async fn update_conversation_form(
    app: &Routing,
    req: pb::UpdateConversationFormRequest,
) -> Result<pb::UpdateConversationFormResponse, RoutingError> {
    let (o, actor, id) = action(
        &req.request_id,
        &req.organization_id,
        &req.actor_agent_id,
        &req.conversation_id,
    )?;
    let values = req.values.into_iter().collect();
    let (conv, missing) = app.update_form(&o, &id, &actor, &values).await?;
    Ok(pb::UpdateConversationFormResponse {
        conversation: Some(conversation_to_pb(o.as_str(), &conv)),
        missing_required_keys: missing,
    })
}

// ---- History, reports, explanations ----

pub async fn list_conversation_transfers(
    app: &Routing,
    req: pb::ListConversationTransfersRequest,
) -> Result<pb::ListConversationTransfersResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let id = check.id::<ConversationId>("conversation_id", &req.conversation_id);
    check.done()?;
    let all = app
        .conversation_transfers(
            &o.expect("validated"),
            &id.expect("validated"),
            actor.as_ref(),
        )
        .await?;
    let total = all.len() as u64;
    // Oldest first, id as the tie-break.
    let transfers = page.slice(all, &[Dir::Asc, Dir::Asc], |t| {
        vec![t.created_ms.into(), t.id.as_str().into()]
    });
    Ok(pb::ListConversationTransfersResponse {
        page: Some(transfers.response(Some(total))),
        transfers: transfers.items.iter().map(transfer_to_pb).collect(),
    })
}

pub async fn get_transfer_report(
    app: &Routing,
    req: pb::GetTransferReportRequest,
) -> Result<pb::GetTransferReportResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let team = check.opt_id::<TeamId>("team_id", &req.team_id);
    let agent = check.opt_id::<AgentId>("agent_id", &req.agent_id);
    let range = req
        .time_range
        .as_ref()
        .and_then(|r| Some((ms_of(r.start_time.as_ref()?), ms_of(r.end_time.as_ref()?))));
    match range {
        None => check.bad("time_range", "both start_time and end_time are required"),
        Some((from, to)) if to <= from => {
            check.bad("time_range", "end_time must be after start_time")
        }
        Some((from, to)) if to - from > 93 * 86_400_000 => {
            check.bad("time_range", "must be at most 93 days")
        }
        Some(_) => {}
    }
    check.done()?;
    let o = o.expect("validated");
    let (rows, total) = app
        .transfer_report(
            &o,
            actor.as_ref(),
            range.expect("validated"),
            team.as_ref().map(|t| t.as_str()),
            agent.as_ref().map(|a| a.as_str()),
            page,
        )
        .await?;
    Ok(pb::GetTransferReportResponse {
        page: Some(rows.response(Some(total))),
        rows: rows
            .items
            .iter()
            .map(|(c, ts)| pb::TransferReportRow {
                conversation: Some(conversation_to_pb(o.as_str(), c)),
                transfers: ts.iter().map(transfer_to_pb).collect(),
            })
            .collect(),
    })
}

pub async fn list_conversation_transitions(
    app: &Routing,
    req: pb::ListConversationTransitionsRequest,
) -> Result<pb::ListConversationTransitionsResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let page = check.page(req.page.as_ref(), page_filter!(req));
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let id = check.id::<ConversationId>("conversation_id", &req.conversation_id);
    check.done()?;
    let (ts, total) = app
        .transitions(
            &o.expect("validated"),
            &id.expect("validated"),
            actor.as_ref(),
            page,
        )
        .await?;
    Ok(pb::ListConversationTransitionsResponse {
        transitions: ts.items.iter().map(transition_to_pb).collect(),
        page: Some(ts.response(Some(total))),
    })
}

pub async fn explain_routing(
    app: &Routing,
    req: pb::ExplainRoutingRequest,
) -> Result<pb::ExplainRoutingResponse, RoutingError> {
    use pb::explain_routing_request::Subject;
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let actor = check.opt_id::<AgentId>("actor_agent_id", &req.actor_agent_id);
    let (subject, decision) = match &req.subject {
        Some(Subject::ConversationId(id)) => (
            check
                .id::<ConversationId>("conversation_id", id)
                .map(|c| c.to_string()),
            None,
        ),
        Some(Subject::WorkItemId(id)) => (
            check
                .id::<switchboard_runtime::ids::WorkItemId>("work_item_id", id)
                .map(|c| c.to_string()),
            None,
        ),
        Some(Subject::DecisionId(id)) => (
            None,
            check
                .id::<switchboard_runtime::ids::RoutingDecisionId>("decision_id", id)
                .map(|c| c.to_string()),
        ),
        None => {
            check.bad("subject", "name a conversation, a work item or a decision");
            (None, None)
        }
    };
    check.done()?;
    let decisions = app
        .explain(
            &o.expect("validated"),
            actor.as_ref(),
            subject.as_deref(),
            decision.as_deref(),
        )
        .await?;
    Ok(pb::ExplainRoutingResponse {
        decisions: decisions.iter().map(decision_to_pb).collect(),
    })
}

// ---- Hooks ----

pub async fn notify_slot_freed(
    app: &Routing,
    req: pb::NotifySlotFreedRequest,
) -> Result<pb::NotifySlotFreedResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let agent = check.id::<AgentId>("agent_id", &req.agent_id);
    check.done()?;
    let offered = app
        .fill_slots(
            &o.expect("validated"),
            &agent.expect("validated"),
            Trigger::SlotFreed,
        )
        .await?;
    Ok(pb::NotifySlotFreedResponse {
        offered_ids: offered.iter().map(ToString::to_string).collect(),
    })
}

pub async fn notify_agent_offline(
    app: &Routing,
    req: pb::NotifyAgentOfflineRequest,
) -> Result<pb::NotifyAgentOfflineResponse, RoutingError> {
    let mut check = Check::default();
    let o = check.org(&req.organization_id);
    let agent = check.id::<AgentId>("agent_id", &req.agent_id);
    check.done()?;
    let requeued = app
        .agent_offline(&o.expect("validated"), &agent.expect("validated"), false)
        .await?;
    Ok(pb::NotifyAgentOfflineResponse {
        requeued_ids: requeued.iter().map(ToString::to_string).collect(),
    })
}
