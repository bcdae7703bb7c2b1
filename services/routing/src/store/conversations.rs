//! Conversations and what each change of one leaves behind (transitions, a decision, a
//! transfer, a slot to release, an event), written in one transaction guarded by the row's
//! version: of two replicas changing the same conversation, exactly one wins.

use std::collections::BTreeMap;

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::OnConflict,
};
use switchboard_runtime::tenancy::{of_org, secure_find};
use switchboard_runtime::{
    errors::is_unique_violation,
    ids::{AgentId, ContactId, ConversationId, OrganizationId, ReservationId, TeamId},
    outbox::{self, NewEvent},
    paging::{KeyPart, Keyset, Page, Paged},
};

use super::{
    Store,
    directory::{corrupt, parse_id},
    entities as e,
};
use crate::{
    domain::{
        config::{ContactOwner, Target},
        conversation::{Cause, Conversation, State, TicketRef, Tickets, Transfer, Transition},
        decision::Decision,
    },
    error::RoutingError,
};

pub use crate::domain::conversation::NewTransition;

/// A change of one conversation and its records.
#[derive(Debug, Clone)]
pub struct Change {
    /// The version the change was computed from; `None` inserts a new conversation.
    pub expected_version: Option<i64>,
    pub conversation: Conversation,
    pub transitions: Vec<NewTransition>,
    pub decision: Option<Decision>,
    pub transfer: Option<Transfer>,
    /// A slot to give back to presence once committed.
    pub release: Option<(ReservationId, AgentId)>,
    /// A contact owner to add (first responder).
    pub owner: Option<ContactOwner>,
}

/// Why a change was not applied.
#[derive(Debug)]
pub enum Conflict {
    /// Someone changed the conversation since it was read.
    Stale,
    /// Inserting: the contact already has an active conversation on that account.
    ActiveExists,
}

fn opt_id<T: std::str::FromStr>(what: &str, v: Option<String>) -> Result<Option<T>, RoutingError> {
    v.as_deref().map(|s| parse_id(what, s)).transpose()
}

fn json_ids<T: std::str::FromStr>(what: &str, v: &str) -> Result<Vec<T>, RoutingError> {
    let raw: Vec<String> = serde_json::from_str(v).map_err(|_| corrupt(what, v))?;
    raw.iter().map(|s| parse_id(what, s)).collect()
}

fn ids_json<T: ToString>(ids: &[T]) -> String {
    serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub(crate) fn conversation_from_row(
    r: e::conversations::Model,
) -> Result<Conversation, RoutingError> {
    Ok(Conversation {
        id: parse_id("conversation id", &r.id)?,
        channel_account_id: parse_id("channel account id", &r.channel_account_id)?,
        contact_id: parse_id("contact id", &r.contact_id)?,
        state: State::parse(&r.state).ok_or_else(|| corrupt("state", &r.state))?,
        campaign_id: opt_id("campaign id", r.campaign_id)?,
        team_id: opt_id("team id", r.team_id)?,
        assignee: opt_id("agent id", r.assignee_agent_id)?,
        waiting_agent: opt_id("agent id", r.waiting_agent_id)?,
        reservation_id: opt_id("reservation id", r.reservation_id)?,
        priority: r.priority,
        participants: json_ids("participants", &r.participants)?,
        form_values: serde_json::from_str::<BTreeMap<String, String>>(&r.form_values)
            .map_err(|_| corrupt("form values", &r.form_values))?,
        transfer_count: r.transfer_count,
        excluded_agents: json_ids("excluded agents", &r.excluded_agents)?,
        owner_wait_until_ms: r.owner_wait_until_ms,
        created_ms: r.created_ms,
        queue_ms: r.queue_ms,
        assign_ms: r.assign_ms,
        offer_expire_ms: r.offer_expire_ms,
        open_ms: r.open_ms,
        first_response_ms: r.first_response_ms,
        last_customer_ms: r.last_customer_ms,
        expire_ms: r.expire_ms,
        end_ms: r.end_ms,
        closed_by: r
            .closed_by
            .as_deref()
            .map(|s| serde_json::from_str(s).map_err(|_| corrupt("actor", s)))
            .transpose()?,
        close_note: r.close_note,
        finalize_ms: r.finalize_ms,
        last_decision_id: opt_id("decision id", r.last_decision_id)?,
        updated_ms: r.updated_ms,
        version: r.version,
        tickets: Tickets {
            linked: r
                .ticket_id
                .zip(r.ticket_number)
                .map(|(ticket_id, number)| TicketRef {
                    ticket_id,
                    number,
                    proposal_id: None,
                }),
            proposed: r.proposed_ticket_id.zip(r.proposed_ticket_number).map(
                |(ticket_id, number)| TicketRef {
                    ticket_id,
                    number,
                    proposal_id: r.proposal_id,
                },
            ),
        },
    })
}

/// The unique key of a contact's active conversation on an account.
fn active_key(org: &OrganizationId, c: &Conversation) -> Option<String> {
    c.state
        .is_active()
        .then(|| format!("{org}/{}/{}", c.channel_account_id, c.contact_id))
}

fn to_row(org: &OrganizationId, c: &Conversation) -> e::conversations::ActiveModel {
    e::conversations::ActiveModel {
        id: Set(c.id.to_string()),
        organization_id: Set(org.to_string()),
        channel_account_id: Set(c.channel_account_id.to_string()),
        contact_id: Set(c.contact_id.to_string()),
        state: Set(c.state.as_str().into()),
        active_key: Set(active_key(org, c)),
        campaign_id: Set(c.campaign_id.as_ref().map(ToString::to_string)),
        team_id: Set(c.team_id.as_ref().map(ToString::to_string)),
        assignee_agent_id: Set(c.assignee.as_ref().map(ToString::to_string)),
        waiting_agent_id: Set(c.waiting_agent.as_ref().map(ToString::to_string)),
        reservation_id: Set(c.reservation_id.as_ref().map(ToString::to_string)),
        priority: Set(c.priority),
        participants: Set(ids_json(&c.participants)),
        form_values: Set(serde_json::to_string(&c.form_values).unwrap_or_else(|_| "{}".into())),
        transfer_count: Set(c.transfer_count),
        excluded_agents: Set(ids_json(&c.excluded_agents)),
        owner_wait_until_ms: Set(c.owner_wait_until_ms),
        created_ms: Set(c.created_ms),
        queue_ms: Set(c.queue_ms),
        assign_ms: Set(c.assign_ms),
        offer_expire_ms: Set(c.offer_expire_ms),
        open_ms: Set(c.open_ms),
        first_response_ms: Set(c.first_response_ms),
        last_customer_ms: Set(c.last_customer_ms),
        expire_ms: Set(c.expire_ms),
        end_ms: Set(c.end_ms),
        closed_by: Set(c
            .closed_by
            .as_ref()
            .and_then(|a| serde_json::to_string(a).ok())),
        close_note: Set(c.close_note.clone()),
        finalize_ms: Set(c.finalize_ms),
        last_decision_id: Set(c.last_decision_id.as_ref().map(ToString::to_string)),
        updated_ms: Set(c.updated_ms),
        version: Set(c.version),
        // Ticketing's columns: never written by routing's own changes (a change computed
        // from an older read must not bring back an older ticket).
        ticket_id: NotSet,
        ticket_number: NotSet,
        proposal_id: NotSet,
        proposed_ticket_id: NotSet,
        proposed_ticket_number: NotSet,
        tickets_version: NotSet,
    }
}

pub(crate) fn transition_from_row(
    r: e::conversation_transitions::Model,
) -> Result<Transition, RoutingError> {
    Ok(Transition {
        sequence: r.sequence,
        conversation_id: parse_id("conversation id", &r.conversation_id)?,
        from_state: r.from_state.as_deref().and_then(State::parse),
        to_state: State::parse(&r.to_state).ok_or_else(|| corrupt("state", &r.to_state))?,
        from_agent: opt_id("agent id", r.from_agent_id)?,
        to_agent: opt_id("agent id", r.to_agent_id)?,
        to_team: opt_id("team id", r.to_team_id)?,
        actor: serde_json::from_str(&r.actor).map_err(|_| corrupt("actor", &r.actor))?,
        cause: Cause::parse(&r.cause).ok_or_else(|| corrupt("cause", &r.cause))?,
        detail: r.detail,
        decision_id: opt_id("decision id", r.decision_id)?,
        created_ms: r.created_ms,
    })
}

pub(crate) fn transfer_from_row(r: e::transfers::Model) -> Result<Transfer, RoutingError> {
    Ok(Transfer {
        id: parse_id("transfer id", &r.id)?,
        conversation_id: parse_id("conversation id", &r.conversation_id)?,
        actor: serde_json::from_str(&r.actor).map_err(|_| corrupt("actor", &r.actor))?,
        from_agent: opt_id("agent id", r.from_agent_id)?,
        from_team: opt_id("team id", r.from_team_id)?,
        target: Target::from_parts(&r.target_kind, Some(&r.target_id)),
        reason: r.reason,
        from_state: State::parse(&r.from_state).ok_or_else(|| corrupt("state", &r.from_state))?,
        created_ms: r.created_ms,
    })
}

/// Filters of conversation lists.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub states: Vec<State>,
    pub assignee: Option<AgentId>,
    pub team: Option<TeamId>,
    pub channel_account: Option<String>,
    pub contact: Option<ContactId>,
    pub campaign: Option<String>,
    pub created_from_ms: Option<i64>,
    pub created_to_ms: Option<i64>,
    pub unfinalized: bool,
    /// Only what this agent could pick: waiting for it by name, queued in its teams, or in the
    /// organization waiting list of its numbers (agent, teams, channel accounts).
    pub pickable_by: Option<(AgentId, Vec<TeamId>, Vec<String>)>,
}

/// How a list is ordered.
#[derive(Debug, Clone, Copy)]
pub enum Order {
    NewestFirst,
    OldestOfferFirst,
    LatestCustomerMessageFirst,
    LatestEndFirst,
    PriorityThenAge,
}

impl Order {
    /// The SQL order of a conversation list, id last as the tie-break; nullable times sort
    /// their NULLs last on every backend.
    fn keyset(self, backend: sea_orm::DbBackend) -> Keyset {
        use e::conversations::Column as C;
        let k = Keyset::new(backend);
        match self {
            Order::NewestFirst => k.desc(C::CreatedMs).desc_text(C::Id),
            Order::OldestOfferFirst => k.asc_nullable(C::AssignMs).asc_text(C::Id),
            Order::LatestCustomerMessageFirst => k.desc(C::LastCustomerMs).desc_text(C::Id),
            Order::LatestEndFirst => k.desc_nullable(C::EndMs).desc_text(C::Id),
            Order::PriorityThenAge => k.desc(C::Priority).asc_nullable(C::QueueMs).asc_text(C::Id),
        }
    }

    /// A row's sort key under this order (the parts of [`Order::keyset`]).
    fn key(self, r: &e::conversations::Model) -> Vec<KeyPart> {
        let id = KeyPart::from(r.id.as_str());
        match self {
            Order::NewestFirst => vec![r.created_ms.into(), id],
            Order::OldestOfferFirst => vec![r.assign_ms.into(), id],
            Order::LatestCustomerMessageFirst => vec![r.last_customer_ms.into(), id],
            Order::LatestEndFirst => vec![r.end_ms.into(), id],
            Order::PriorityThenAge => vec![r.priority.into(), r.queue_ms.into(), id],
        }
    }
}

impl Store {
    /// Records a conversation's tickets as ticketing announced them at `version`, unless a
    /// newer version was recorded (a redelivered or overtaken event changes nothing). Only
    /// the ticket columns are written: routing's own state is untouched. Returns whether it
    /// was applied (false also for a conversation routing does not know).
    pub async fn apply_tickets(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        version: i64,
        tickets: &Tickets,
    ) -> Result<bool, RoutingError> {
        use sea_orm::sea_query::Expr;
        let linked = tickets.linked.as_ref();
        let proposed = tickets.proposed.as_ref();
        let updated = e::conversations::Entity::update_many()
            .col_expr(
                e::conversations::Column::TicketId,
                Expr::value(linked.map(|t| t.ticket_id.clone())),
            )
            .col_expr(
                e::conversations::Column::TicketNumber,
                Expr::value(linked.map(|t| t.number)),
            )
            .col_expr(
                e::conversations::Column::ProposalId,
                Expr::value(proposed.and_then(|t| t.proposal_id.clone())),
            )
            .col_expr(
                e::conversations::Column::ProposedTicketId,
                Expr::value(proposed.map(|t| t.ticket_id.clone())),
            )
            .col_expr(
                e::conversations::Column::ProposedTicketNumber,
                Expr::value(proposed.map(|t| t.number)),
            )
            .col_expr(
                e::conversations::Column::TicketsVersion,
                Expr::value(version),
            )
            .filter(e::conversations::Column::OrganizationId.eq(org.as_str()))
            .filter(e::conversations::Column::Id.eq(id.as_str()))
            .filter(e::conversations::Column::TicketsVersion.lt(version))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// One conversation.
    pub async fn conversation(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
    ) -> Result<Conversation, RoutingError> {
        let row = secure_find::<e::conversations::Entity, _>(org, id.as_str())
            .one(&self.db)
            .await?
            .ok_or_else(|| RoutingError::not_found("conversation", id))?;
        conversation_from_row(row)
    }

    /// The contact's active conversation on an account, if any.
    pub async fn active_conversation(
        &self,
        org: &OrganizationId,
        account: &str,
        contact: &ContactId,
    ) -> Result<Option<Conversation>, RoutingError> {
        e::conversations::Entity::find()
            .filter(e::conversations::Column::ActiveKey.eq(format!("{org}/{account}/{contact}")))
            .one(&self.db)
            .await?
            .map(conversation_from_row)
            .transpose()
    }

    /// Applies a change if the conversation still has the expected version.
    pub async fn apply(
        &self,
        org: &OrganizationId,
        change: &Change,
    ) -> Result<Result<(), Conflict>, RoutingError> {
        let txn = self.db.begin().await?;
        match self.apply_in(&txn, org, change).await {
            Ok(Ok(())) => {
                txn.commit().await?;
                self.relay.wake();
                Ok(Ok(()))
            }
            Ok(Err(conflict)) => Ok(Err(conflict)),
            Err(err) => Err(err),
        }
    }

    async fn apply_in(
        &self,
        txn: &DatabaseTransaction,
        org: &OrganizationId,
        change: &Change,
    ) -> Result<Result<(), Conflict>, RoutingError> {
        let c = &change.conversation;
        match change.expected_version {
            None => {
                if let Err(err) = e::conversations::Entity::insert(to_row(org, c))
                    .exec_without_returning(txn)
                    .await
                {
                    if is_unique_violation(&err) {
                        return Ok(Err(Conflict::ActiveExists));
                    }
                    return Err(err.into());
                }
            }
            Some(version) => {
                let mut row = to_row(org, c);
                row.id = sea_orm::ActiveValue::Unchanged(c.id.to_string());
                let updated = e::conversations::Entity::update_many()
                    .set(row)
                    .filter(e::conversations::Column::Id.eq(c.id.as_str()))
                    .filter(e::conversations::Column::OrganizationId.eq(org.as_str()))
                    .filter(e::conversations::Column::Version.eq(version))
                    .exec(txn)
                    .await;
                match updated {
                    Ok(r) if r.rows_affected == 1 => {}
                    Ok(_) => return Ok(Err(Conflict::Stale)),
                    Err(err) if is_unique_violation(&err) => {
                        return Ok(Err(Conflict::ActiveExists));
                    }
                    Err(err) => return Err(err.into()),
                }
            }
        }
        if let Some(d) = &change.decision {
            insert_decision(txn, org, d).await?;
        }
        if !change.transitions.is_empty() {
            let last = e::conversation_transitions::Entity::find()
                .filter(e::conversation_transitions::Column::ConversationId.eq(c.id.as_str()))
                .order_by_desc(e::conversation_transitions::Column::Sequence)
                .one(txn)
                .await?
                .map_or(0, |r| r.sequence);
            let rows = change.transitions.iter().enumerate().map(|(i, t)| {
                e::conversation_transitions::ActiveModel {
                    organization_id: Set(org.to_string()),
                    conversation_id: Set(c.id.to_string()),
                    sequence: Set(last + 1 + i as i64),
                    from_state: Set(t.from_state.map(|s| s.as_str().to_string())),
                    to_state: Set(t.to_state.as_str().into()),
                    from_agent_id: Set(t.from_agent.as_ref().map(ToString::to_string)),
                    to_agent_id: Set(t.to_agent.as_ref().map(ToString::to_string)),
                    to_team_id: Set(t.to_team.as_ref().map(ToString::to_string)),
                    actor: Set(serde_json::to_string(&t.actor).unwrap_or_default()),
                    cause: Set(t.cause.as_str().into()),
                    detail: Set(t.detail.clone()),
                    decision_id: Set(t.decision_id.clone()),
                    created_ms: Set(c.updated_ms),
                }
            });
            e::conversation_transitions::Entity::insert_many(rows)
                .exec_without_returning(txn)
                .await?;
        }
        if let Some(t) = &change.transfer {
            e::transfers::Entity::insert(e::transfers::ActiveModel {
                id: Set(t.id.to_string()),
                organization_id: Set(org.to_string()),
                conversation_id: Set(t.conversation_id.to_string()),
                actor: Set(serde_json::to_string(&t.actor).unwrap_or_default()),
                from_agent_id: Set(t.from_agent.as_ref().map(ToString::to_string)),
                from_team_id: Set(t.from_team.as_ref().map(ToString::to_string)),
                target_kind: Set(t.target.kind().into()),
                target_id: Set(t.target.id().unwrap_or_default().into()),
                reason: Set(t.reason.clone()),
                from_state: Set(t.from_state.as_str().into()),
                created_ms: Set(t.created_ms),
            })
            .exec_without_returning(txn)
            .await?;
        }
        if let Some((reservation, agent)) = &change.release {
            insert_pending_release(txn, org, reservation, agent, c.updated_ms).await?;
        }
        if let Some(owner) = &change.owner {
            e::contact_owners::Entity::insert(e::contact_owners::ActiveModel {
                organization_id: Set(org.to_string()),
                contact_id: Set(owner.contact_id.to_string()),
                agent_id: Set(owner.agent_id.to_string()),
                source: Set(owner.source.as_str().into()),
                added_by: Set(serde_json::to_string(&owner.added_by).unwrap_or_default()),
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
            .exec_without_returning(txn)
            .await?;
        }
        let last = change.transitions.last();
        outbox::enqueue(
            txn,
            NewEvent::typed(
                org.to_string(),
                c.id.to_string(),
                &switchboard_proto::routing::v1::ConversationChanged {
                    conversation_id: c.id.to_string(),
                    state: crate::grpc::conversations::state_to_pb(c.state) as i32,
                    cause: last.map_or(0, |t| {
                        crate::grpc::conversations::cause_to_pb(t.cause) as i32
                    }),
                    assignee_agent_id: c
                        .assignee
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    previous_agent_id: last
                        .and_then(|t| t.from_agent.as_ref())
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    team_id: c
                        .team_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    channel_account_id: c.channel_account_id.to_string(),
                    contact_id: c.contact_id.to_string(),
                    version: c.version,
                    priority: c.priority,
                    campaign_id: c
                        .campaign_id
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    created_ms: c.created_ms,
                    queued_ms: if c.state == State::Queued {
                        c.queue_ms.unwrap_or(c.updated_ms)
                    } else {
                        0
                    },
                    changed_ms: c.updated_ms,
                    transfer_count: c.transfer_count,
                    previous_state: last
                        .and_then(|t| t.from_state)
                        .map_or(0, |s| crate::grpc::conversations::state_to_pb(s) as i32),
                    first_response_ms: c.first_response_ms.unwrap_or(0),
                    assigned_ms: c.assign_ms.unwrap_or(0),
                    opened_ms: c.open_ms.unwrap_or(0),
                    ended_ms: c.end_ms.unwrap_or(0),
                },
            ),
        )
        .await?;
        Ok(Ok(()))
    }

    /// Conversations matching `filter`, one page, with the total.
    pub async fn list_conversations(
        &self,
        org: &OrganizationId,
        filter: &ConversationFilter,
        order: Order,
        page: Page,
    ) -> Result<(Paged<Conversation>, u64), RoutingError> {
        use e::conversations::Column as C;
        let mut q = e::conversations::Entity::find().filter(C::OrganizationId.eq(org.as_str()));
        if !filter.states.is_empty() {
            q = q.filter(C::State.is_in(filter.states.iter().map(|s| s.as_str())));
        }
        if let Some(a) = &filter.assignee {
            q = q.filter(C::AssigneeAgentId.eq(a.as_str()));
        }
        if let Some(t) = &filter.team {
            q = q.filter(C::TeamId.eq(t.as_str()));
        }
        if let Some(a) = &filter.channel_account {
            q = q.filter(C::ChannelAccountId.eq(a.as_str()));
        }
        if let Some(c) = &filter.contact {
            q = q.filter(C::ContactId.eq(c.as_str()));
        }
        if let Some(c) = &filter.campaign {
            q = q.filter(C::CampaignId.eq(c.as_str()));
        }
        if let Some(from) = filter.created_from_ms {
            q = q.filter(C::CreatedMs.gte(from));
        }
        if let Some(to) = filter.created_to_ms {
            q = q.filter(C::CreatedMs.lt(to));
        }
        if filter.unfinalized {
            q = q.filter(C::FinalizeMs.is_null());
        }
        if let Some((agent, teams, accounts)) = &filter.pickable_by {
            q = q.filter(
                Condition::any()
                    .add(C::WaitingAgentId.eq(agent.as_str()))
                    .add(
                        Condition::all().add(C::WaitingAgentId.is_null()).add(
                            Condition::any()
                                .add(C::TeamId.is_in(teams.iter().map(|t| t.as_str())))
                                .add(Condition::all().add(C::TeamId.is_null()).add(
                                    C::ChannelAccountId.is_in(accounts.iter().map(String::as_str)),
                                )),
                        ),
                    ),
            );
        }
        let total = q.clone().count(&self.db).await?;
        let keyset = order.keyset(self.db.get_database_backend());
        let rows = keyset.apply(q, &page).all(&self.db).await?;
        let list = page
            .finish(rows, |r| order.key(r))
            .try_map(conversation_from_row)?;
        Ok((list, total))
    }

    /// Queued conversations an agent could be offered, best first: those waiting for it by
    /// name, and those in `teams` or (with `waiting_list`) the organization waiting list, on
    /// `accounts`.
    pub async fn offerable(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        teams: &[TeamId],
        accounts: &[String],
        waiting_list: bool,
        limit: u64,
    ) -> Result<Vec<Conversation>, RoutingError> {
        use e::conversations::Column as C;
        let mut pooled = Condition::any();
        if !teams.is_empty() {
            pooled = pooled.add(C::TeamId.is_in(teams.iter().map(|t| t.as_str())));
        }
        if waiting_list {
            pooled = pooled.add(C::TeamId.is_null());
        }
        let mut cond = Condition::any().add(C::WaitingAgentId.eq(agent.as_str()));
        if !pooled.is_empty() && !accounts.is_empty() {
            cond = cond.add(
                Condition::all()
                    .add(C::WaitingAgentId.is_null())
                    .add(C::ChannelAccountId.is_in(accounts.iter().map(String::as_str)))
                    .add(pooled),
            );
        }
        let rows = e::conversations::Entity::find()
            .filter(C::OrganizationId.eq(org.as_str()))
            .filter(C::State.eq(State::Queued.as_str()))
            .filter(cond)
            .order_by_desc(C::Priority)
            .order_by_asc(C::QueueMs)
            .order_by_asc(C::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(conversation_from_row).collect()
    }

    /// A team's queue in offer order (priority, then age), without the conversations that
    /// wait for one agent, for draining it when the team starts distributing.
    pub async fn team_queue(
        &self,
        org: &OrganizationId,
        team: &TeamId,
        limit: u64,
    ) -> Result<Vec<Conversation>, RoutingError> {
        use e::conversations::Column as C;
        let rows = e::conversations::Entity::find()
            .filter(C::OrganizationId.eq(org.as_str()))
            .filter(C::State.eq(State::Queued.as_str()))
            .filter(C::TeamId.eq(team.as_str()))
            .filter(C::WaitingAgentId.is_null())
            .order_by_desc(C::Priority)
            .order_by_asc(C::QueueMs)
            .order_by_asc(C::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(conversation_from_row).collect()
    }

    /// An agent's held conversations (assigned and open) in an organization.
    pub async fn held_by(
        &self,
        org: &OrganizationId,
        agent: &AgentId,
        states: &[State],
    ) -> Result<Vec<Conversation>, RoutingError> {
        use e::conversations::Column as C;
        let rows = e::conversations::Entity::find()
            .filter(C::OrganizationId.eq(org.as_str()))
            .filter(C::AssigneeAgentId.eq(agent.as_str()))
            .filter(C::State.is_in(states.iter().map(|s| s.as_str())))
            .order_by_asc(C::AssignMs)
            .all(&self.db)
            .await?;
        rows.into_iter().map(conversation_from_row).collect()
    }

    /// Every held conversation of the organization: (agent, reservation, conversation id).
    pub async fn holdings(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<(AgentId, ReservationId, String)>, RoutingError> {
        use e::conversations::Column as C;
        let rows = e::conversations::Entity::find()
            .filter(C::OrganizationId.eq(org.as_str()))
            .filter(C::State.is_in([State::Assigned.as_str(), State::Open.as_str()]))
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let (Some(a), Some(rsv)) = (r.assignee_agent_id, r.reservation_id) {
                out.push((
                    parse_id("agent id", &a)?,
                    parse_id("reservation id", &rsv)?,
                    r.id,
                ));
            }
        }
        Ok(out)
    }

    /// Transitions of a conversation, oldest first.
    pub async fn transitions(
        &self,
        org: &OrganizationId,
        id: &ConversationId,
        page: Page,
    ) -> Result<(Paged<Transition>, u64), RoutingError> {
        use e::conversation_transitions::Column as C;
        let q = e::conversation_transitions::Entity::find()
            .filter(C::OrganizationId.eq(org.as_str()))
            .filter(C::ConversationId.eq(id.as_str()));
        let total = q.clone().count(&self.db).await?;
        let rows = Keyset::new(self.db.get_database_backend())
            .asc(C::Sequence)
            .apply(q, &page)
            .all(&self.db)
            .await?;
        let list = page
            .finish(rows, |r| vec![r.sequence.into()])
            .try_map(transition_from_row)?;
        Ok((list, total))
    }

    /// Transfers of some conversations (or, with `None`, of a time range), oldest first.
    pub async fn transfers(
        &self,
        org: &OrganizationId,
        conversations: Option<&[String]>,
        range_ms: Option<(i64, i64)>,
    ) -> Result<Vec<Transfer>, RoutingError> {
        use e::transfers::Column as C;
        let mut q = e::transfers::Entity::find().filter(C::OrganizationId.eq(org.as_str()));
        if let Some(ids) = conversations {
            q = q.filter(C::ConversationId.is_in(ids.iter().map(String::as_str)));
        }
        if let Some((from, to)) = range_ms {
            q = q.filter(C::CreatedMs.gte(from)).filter(C::CreatedMs.lt(to));
        }
        let rows = q
            .order_by_asc(C::CreatedMs)
            .order_by_asc(C::Id)
            .all(&self.db)
            .await?;
        rows.into_iter().map(transfer_from_row).collect()
    }

    /// Conversations by id (any order).
    pub async fn conversations_by_id(
        &self,
        org: &OrganizationId,
        ids: &[String],
    ) -> Result<Vec<Conversation>, RoutingError> {
        let rows = of_org::<e::conversations::Entity>(org)
            .filter(e::conversations::Column::Id.is_in(ids.iter().map(String::as_str)))
            .all(&self.db)
            .await?;
        rows.into_iter().map(conversation_from_row).collect()
    }

    /// Decisions about a subject, newest first (or one decision).
    pub async fn decisions(
        &self,
        org: &OrganizationId,
        subject: Option<&str>,
        decision: Option<&str>,
    ) -> Result<Vec<Decision>, RoutingError> {
        use e::routing_decisions::Column as C;
        let mut q = e::routing_decisions::Entity::find().filter(C::OrganizationId.eq(org.as_str()));
        if let Some(s) = subject {
            q = q.filter(C::SubjectId.eq(s));
        }
        if let Some(d) = decision {
            q = q.filter(C::Id.eq(d));
        }
        let rows = q
            .order_by_desc(C::CreatedMs)
            .order_by_desc(C::Id)
            .limit(200)
            .all(&self.db)
            .await?;
        rows.into_iter().map(decision_from_row).collect()
    }

    /// Presence confirmed the release.
    pub async fn release_confirmed(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
    ) -> Result<(), RoutingError> {
        e::pending_releases::Entity::delete_many()
            .filter(e::pending_releases::Column::OrganizationId.eq(org.as_str()))
            .filter(e::pending_releases::Column::ReservationId.eq(reservation.as_str()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Records a reservation to release (one taken for a change that then lost its race).
    pub async fn release_later(
        &self,
        org: &OrganizationId,
        reservation: &ReservationId,
        agent: &AgentId,
        now_ms: i64,
    ) -> Result<(), RoutingError> {
        insert_pending_release(&self.db, org, reservation, agent, now_ms).await
    }

    /// Stores a decision in the caller's transaction.
    pub(crate) async fn record_decision_in<Conn: ConnectionTrait>(
        &self,
        conn: &Conn,
        org: &OrganizationId,
        d: &Decision,
    ) -> Result<(), RoutingError> {
        insert_decision(conn, org, d).await
    }

    /// Records a slot to release in the caller's transaction.
    pub(crate) async fn release_later_in<Conn: ConnectionTrait>(
        &self,
        conn: &Conn,
        org: &OrganizationId,
        reservation: &ReservationId,
        agent: &AgentId,
        now_ms: i64,
    ) -> Result<(), RoutingError> {
        insert_pending_release(conn, org, reservation, agent, now_ms).await
    }
}

async fn insert_pending_release<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    reservation: &ReservationId,
    agent: &AgentId,
    now_ms: i64,
) -> Result<(), RoutingError> {
    e::pending_releases::Entity::insert(e::pending_releases::ActiveModel {
        reservation_id: Set(reservation.to_string()),
        organization_id: Set(org.to_string()),
        agent_id: Set(agent.to_string()),
        created_ms: Set(now_ms),
    })
    .on_conflict(
        OnConflict::column(e::pending_releases::Column::ReservationId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

async fn insert_decision<C: ConnectionTrait>(
    conn: &C,
    org: &OrganizationId,
    d: &Decision,
) -> Result<(), RoutingError> {
    e::routing_decisions::Entity::insert(e::routing_decisions::ActiveModel {
        id: Set(d.id.to_string()),
        organization_id: Set(org.to_string()),
        subject_id: Set(d.subject_id.clone()),
        trigger_kind: Set(d.trigger.as_str().into()),
        matched_rule: Set(d.rule.as_str().into()),
        target_kind: Set(d.target.kind().into()),
        target_id: Set(d.target.id().map(ToString::to_string)),
        strategy: Set(d.strategy.map(|s| s.as_str().to_string())),
        outcome: Set(d.outcome.as_str().into()),
        chosen_agent_id: Set(d.chosen_agent.as_ref().map(ToString::to_string)),
        reservation_id: Set(d.reservation_id.clone()),
        explanation: Set(d.explanation.clone()),
        detail: Set(serde_json::to_string(&d.detail).unwrap_or_default()),
        created_ms: Set(d.created_ms),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

fn decision_from_row(r: e::routing_decisions::Model) -> Result<Decision, RoutingError> {
    use crate::domain::{
        config::Strategy,
        decision::{Outcome, Rule, Trigger},
    };
    Ok(Decision {
        id: parse_id("decision id", &r.id)?,
        subject_id: r.subject_id,
        trigger: Trigger::parse(&r.trigger_kind)
            .ok_or_else(|| corrupt("trigger", &r.trigger_kind))?,
        rule: Rule::parse(&r.matched_rule).ok_or_else(|| corrupt("rule", &r.matched_rule))?,
        target: Target::from_parts(&r.target_kind, r.target_id.as_deref()),
        strategy: r.strategy.as_deref().and_then(Strategy::parse),
        outcome: Outcome::parse(&r.outcome).ok_or_else(|| corrupt("outcome", &r.outcome))?,
        chosen_agent: opt_id("agent id", r.chosen_agent_id)?,
        reservation_id: r.reservation_id,
        explanation: r.explanation,
        detail: serde_json::from_str(&r.detail).unwrap_or_default(),
        created_ms: r.created_ms,
    })
}
