//! Ticketing's storage: every query takes the organization first (`of_org`, `secure_find`);
//! writes take the caller's transaction so a ticket, its action, its search document and its
//! outbox event commit together. Search is behind [`search::TicketSearch`] (PostgreSQL
//! full-text search or SQLite FTS5).

pub mod entities;
pub mod search;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Statement, TransactionTrait, Value,
};
use switchboard_runtime::{
    ids::{OrganizationId, TicketId, TicketProposalId},
    outbox::{self, NewEvent, RelayWaker},
    paging::{Keyset, Page, Paged},
    tenancy::{of_org, secure_find},
};

use crate::domain::{
    Action, ActionKind, Actor, Link, Priority, Proposal, ProposalSource, ProposalStatus, Status,
    Ticket, policy::ClosePolicy,
};
use entities::{close_policies, ticket_actions, ticket_links, ticket_proposals, tickets};

/// Ticketing's database.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    waker: RelayWaker,
    search: std::sync::Arc<dyn search::TicketSearch>,
}

/// A statement with `?` placeholders, numbered for PostgreSQL.
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    switchboard_runtime::db::statement(backend, sql, values)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, DbErr> {
    serde_json::from_str(text).map_err(|e| DbErr::Custom(format!("stored {what}: {e}")))
}

fn parse_id<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, DbErr> {
    text.parse()
        .map_err(|_| DbErr::Custom(format!("stored {what} {text:?} is not an id")))
}

pub(crate) fn ticket_from_row(r: tickets::Model) -> Result<Ticket, DbErr> {
    Ok(Ticket {
        id: parse_id("ticket id", &r.id)?,
        organization_id: r.organization_id,
        number: r.number,
        subject: r.subject,
        description: r.description,
        requester: from_json("requester", &r.requester)?,
        status: Status::parse(&r.status)
            .ok_or_else(|| DbErr::Custom(format!("stored status {:?}", r.status)))?,
        priority: Priority::parse(&r.priority)
            .ok_or_else(|| DbErr::Custom(format!("stored priority {:?}", r.priority)))?,
        assignee: r
            .assignee_agent_id
            .as_deref()
            .map(|a| parse_id("assignee", a))
            .transpose()?,
        tags: from_json("tags", &r.tags)?,
        created_by: from_json("created_by", &r.created_by)?,
        linked_conversation_count: r.linked_conversation_count,
        create_ms: r.create_ms,
        update_ms: r.update_ms,
        solve_ms: r.solve_ms,
        close_ms: r.close_ms,
    })
}

fn ticket_row(t: &Ticket) -> tickets::ActiveModel {
    tickets::ActiveModel {
        id: Set(t.id.to_string()),
        organization_id: Set(t.organization_id.clone()),
        number: Set(t.number),
        subject: Set(t.subject.clone()),
        description: Set(t.description.clone()),
        requester: Set(json(&t.requester)),
        requester_contact_id: Set(t.requester.contact_id.as_ref().map(ToString::to_string)),
        status: Set(t.status.as_str().into()),
        priority: Set(t.priority.as_str().into()),
        assignee_agent_id: Set(t.assignee.as_ref().map(ToString::to_string)),
        tags: Set(json(&t.tags)),
        created_by: Set(json(&t.created_by)),
        linked_conversation_count: Set(t.linked_conversation_count),
        create_ms: Set(t.create_ms),
        update_ms: Set(t.update_ms),
        solve_ms: Set(t.solve_ms),
        close_ms: Set(t.close_ms),
    }
}

fn action_from_row(r: ticket_actions::Model) -> Result<Action, DbErr> {
    Ok(Action {
        id: parse_id("action id", &r.id)?,
        ticket_id: parse_id("ticket id", &r.ticket_id)?,
        kind: ActionKind::parse(&r.kind)
            .ok_or_else(|| DbErr::Custom(format!("stored action kind {:?}", r.kind)))?,
        actor: from_json("actor", &r.actor)?,
        body: r.body,
        changes: from_json("changes", &r.changes)?,
        conversation_id: r.conversation_id,
        transcript: r
            .transcript
            .as_deref()
            .map(|t| from_json("transcript", t))
            .transpose()?,
        create_ms: r.create_ms,
    })
}

fn link_from_row(r: ticket_links::Model, ticket_number: i64) -> Result<Link, DbErr> {
    Ok(Link {
        ticket_id: parse_id("ticket id", &r.ticket_id)?,
        ticket_number,
        conversation_id: r.conversation_id,
        contact_id: r.contact_id,
        linked_by: from_json("linked_by", &r.linked_by)?,
        create_ms: r.create_ms,
        history_append_ms: r.history_append_ms,
    })
}

/// Filters of a ticket list (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<Status>,
    pub requester_contact_id: Option<String>,
    pub assignee_agent_id: Option<String>,
    pub created_from_ms: Option<i64>,
    pub created_until_ms: Option<i64>,
}

/// What a list query looks for.
#[derive(Debug, Clone)]
pub enum TicketQuery {
    /// Everything, most recently updated first.
    All,
    /// One number ("123", "#123").
    Number(i64),
    /// Words, best match first.
    Words(String),
}

impl Store {
    pub fn new(db: DatabaseConnection, waker: RelayWaker) -> Self {
        let search: std::sync::Arc<dyn search::TicketSearch> = match db.get_database_backend() {
            DbBackend::Postgres => std::sync::Arc::new(search::PostgresSearch),
            _ => std::sync::Arc::new(search::SqliteSearch),
        };
        Self { db, waker, search }
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db.begin().await
    }

    /// Commits `tx` and wakes the outbox relay for the events it wrote.
    pub async fn commit(&self, tx: DatabaseTransaction) -> Result<(), DbErr> {
        tx.commit().await?;
        self.waker.wake();
        Ok(())
    }

    // ---- tickets ----

    /// The organization's next ticket number, taken in the caller's transaction: the counter
    /// row stays locked until it commits (PostgreSQL), and a rollback gives the number back.
    pub async fn next_number(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
    ) -> Result<i64, DbErr> {
        let row = tx
            .query_one_raw(stmt(
                self.backend(),
                "INSERT INTO ticket_counters (organization_id, next_number) VALUES (?, 2) \
                 ON CONFLICT (organization_id) DO UPDATE SET next_number = ticket_counters.next_number + 1 \
                 RETURNING next_number - 1 AS number",
                vec![org.as_str().into()],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("the ticket counter returned no row".into()))?;
        row.try_get("", "number")
    }

    /// Inserts a new ticket and its search document.
    pub async fn insert_ticket(&self, tx: &DatabaseTransaction, t: &Ticket) -> Result<(), DbErr> {
        tickets::Entity::insert(ticket_row(t))
            .exec_without_returning(tx)
            .await?;
        self.search.ticket_written(tx, t, true).await
    }

    /// Writes a changed ticket if it still has `read_update_ms`; false when another change
    /// committed in between.
    pub async fn update_ticket(
        &self,
        tx: &DatabaseTransaction,
        t: &Ticket,
        read_update_ms: i64,
        fields_changed: bool,
    ) -> Result<bool, DbErr> {
        let res = tickets::Entity::update_many()
            .set(ticket_row(t))
            .filter(tickets::Column::Id.eq(t.id.as_str()))
            .filter(tickets::Column::OrganizationId.eq(t.organization_id.as_str()))
            .filter(tickets::Column::UpdateMs.eq(read_update_ms))
            .exec(tx)
            .await?;
        if res.rows_affected != 1 {
            return Ok(false);
        }
        if fields_changed {
            self.search.ticket_written(tx, t, false).await?;
        }
        Ok(true)
    }

    pub async fn ticket<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        id: &TicketId,
    ) -> Result<Option<Ticket>, DbErr> {
        secure_find::<tickets::Entity, _>(org, id.to_string())
            .one(conn)
            .await?
            .map(ticket_from_row)
            .transpose()
    }

    pub async fn ticket_by_number<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        number: i64,
    ) -> Result<Option<Ticket>, DbErr> {
        of_org::<tickets::Entity>(org)
            .filter(tickets::Column::Number.eq(number))
            .one(conn)
            .await?
            .map(ticket_from_row)
            .transpose()
    }

    /// Lists or searches tickets; the total matching count comes with the page.
    pub async fn list_tickets(
        &self,
        org: &OrganizationId,
        query: &TicketQuery,
        filter: &TicketFilter,
        page: &Page,
    ) -> Result<(Paged<Ticket>, u64), DbErr> {
        search::list(&self.db, self.search.as_ref(), org, query, filter, page).await
    }

    // ---- actions ----

    /// Records an action (its words join the ticket's search document). False when it would
    /// be a second history of the same conversation (the unique index refused it).
    pub async fn insert_action(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        a: &Action,
    ) -> Result<bool, DbErr> {
        let search_text = a.search_text();
        let res = tx
            .execute_raw(stmt(
                self.backend(),
                "INSERT INTO ticket_actions (id, organization_id, ticket_id, kind, actor, body, changes, \
                 conversation_id, transcript, search_text, create_ms) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                vec![
                    a.id.as_str().into(),
                    org.as_str().into(),
                    a.ticket_id.as_str().into(),
                    a.kind.as_str().into(),
                    json(&a.actor).into(),
                    a.body.clone().into(),
                    json(&a.changes).into(),
                    a.conversation_id.clone().into(),
                    a.transcript.as_ref().map(json).into(),
                    search_text.clone().into(),
                    a.create_ms.into(),
                ],
            ))
            .await?;
        if res.rows_affected() != 1 {
            return Ok(false);
        }
        if !search_text.is_empty() {
            self.search
                .action_written(tx, org, &a.ticket_id, &search_text)
                .await?;
        }
        Ok(true)
    }

    pub async fn actions(
        &self,
        org: &OrganizationId,
        ticket: &TicketId,
        kinds: &[ActionKind],
        page: &Page,
    ) -> Result<Paged<Action>, DbErr> {
        let mut q = of_org::<ticket_actions::Entity>(org)
            .filter(ticket_actions::Column::TicketId.eq(ticket.as_str()));
        if !kinds.is_empty() {
            q = q.filter(
                ticket_actions::Column::Kind.is_in(kinds.iter().map(|k| k.as_str().to_string())),
            );
        }
        let keyset = Keyset::new(self.backend())
            .asc(ticket_actions::Column::CreateMs)
            .asc_text(ticket_actions::Column::Id);
        let rows = keyset.apply(q, page).all(&self.db).await?;
        page.finish(rows, |r| vec![r.create_ms.into(), r.id.as_str().into()])
            .try_map(action_from_row)
    }

    /// The CONVERSATION_HISTORY action of a conversation, if appended.
    pub async fn history_action<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        conversation: &str,
    ) -> Result<Option<Action>, DbErr> {
        of_org::<ticket_actions::Entity>(org)
            .filter(ticket_actions::Column::ConversationId.eq(conversation))
            .filter(ticket_actions::Column::Kind.eq(ActionKind::ConversationHistory.as_str()))
            .one(conn)
            .await?
            .map(action_from_row)
            .transpose()
    }

    // ---- links ----

    pub async fn link<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        conversation: &str,
    ) -> Result<Option<Link>, DbErr> {
        let Some(row) = secure_find::<ticket_links::Entity, _>(
            org,
            (org.to_string(), conversation.to_string()),
        )
        .one(conn)
        .await?
        else {
            return Ok(None);
        };
        let number = self.number_of(conn, org, &row.ticket_id).await?;
        link_from_row(row, number).map(Some)
    }

    async fn number_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        ticket: &str,
    ) -> Result<i64, DbErr> {
        Ok(secure_find::<tickets::Entity, _>(org, ticket.to_string())
            .one(conn)
            .await?
            .map_or(0, |t| t.number))
    }

    pub async fn insert_link(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        link: &Link,
    ) -> Result<(), DbErr> {
        ticket_links::Entity::insert(ticket_links::ActiveModel {
            organization_id: Set(org.to_string()),
            conversation_id: Set(link.conversation_id.clone()),
            ticket_id: Set(link.ticket_id.to_string()),
            contact_id: Set(link.contact_id.clone()),
            linked_by: Set(json(&link.linked_by)),
            create_ms: Set(link.create_ms),
            history_append_ms: Set(link.history_append_ms),
        })
        .exec_without_returning(tx)
        .await?;
        Ok(())
    }

    /// Removes a link whose history was not appended; false when there was none such.
    pub async fn delete_link(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        conversation: &str,
    ) -> Result<bool, DbErr> {
        let res = ticket_links::Entity::delete_many()
            .filter(ticket_links::Column::OrganizationId.eq(org.as_str()))
            .filter(ticket_links::Column::ConversationId.eq(conversation))
            .filter(ticket_links::Column::HistoryAppendMs.is_null())
            .exec(tx)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Marks a link's history appended; false when it was already (a racing append won).
    pub async fn mark_appended(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        conversation: &str,
        now_ms: i64,
    ) -> Result<bool, DbErr> {
        let res = tx
            .execute_raw(stmt(
                self.backend(),
                "UPDATE ticket_links SET history_append_ms = ? \
                 WHERE organization_id = ? AND conversation_id = ? AND history_append_ms IS NULL",
                vec![now_ms.into(), org.as_str().into(), conversation.into()],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Links of a ticket or of some conversations, newest first.
    pub async fn links(
        &self,
        org: &OrganizationId,
        ticket: Option<&TicketId>,
        conversations: &[String],
        page: &Page,
    ) -> Result<Paged<Link>, DbErr> {
        let mut q = of_org::<ticket_links::Entity>(org);
        if let Some(t) = ticket {
            q = q.filter(ticket_links::Column::TicketId.eq(t.as_str()));
        }
        if !conversations.is_empty() {
            q = q.filter(ticket_links::Column::ConversationId.is_in(conversations.to_vec()));
        }
        let keyset = Keyset::new(self.backend())
            .desc(ticket_links::Column::CreateMs)
            .desc_text(ticket_links::Column::ConversationId);
        let rows = keyset.apply(q, page).all(&self.db).await?;
        let paged = page.finish(rows, |r| {
            vec![r.create_ms.into(), r.conversation_id.as_str().into()]
        });
        let mut items = Vec::with_capacity(paged.items.len());
        for row in paged.items {
            let n = self.number_of(&self.db, org, &row.ticket_id).await?;
            items.push(link_from_row(row, n)?);
        }
        Ok(Paged {
            items,
            next_page_token: paged.next_page_token,
        })
    }

    /// Bumps a conversation's link version (links and proposals) and returns the new one.
    pub async fn bump_version(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        conversation: &str,
    ) -> Result<i64, DbErr> {
        let row = tx
            .query_one_raw(stmt(
                self.backend(),
                "INSERT INTO conversation_link_versions (organization_id, conversation_id, version) \
                 VALUES (?, ?, 1) ON CONFLICT (organization_id, conversation_id) \
                 DO UPDATE SET version = conversation_link_versions.version + 1 RETURNING version",
                vec![org.as_str().into(), conversation.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("the link version returned no row".into()))?;
        row.try_get("", "version")
    }

    // ---- proposals ----

    fn proposal_from_row(r: ticket_proposals::Model, ticket: &Ticket) -> Result<Proposal, DbErr> {
        Ok(Proposal {
            id: parse_id("proposal id", &r.id)?,
            conversation_id: r.conversation_id,
            contact_id: r.contact_id,
            ticket_id: ticket.id.clone(),
            ticket_number: ticket.number,
            ticket_subject: ticket.subject.clone(),
            source: ProposalSource::parse(&r.source)
                .ok_or_else(|| DbErr::Custom(format!("stored source {:?}", r.source)))?,
            message_id: r.message_id,
            evidence: r.evidence,
            status: ProposalStatus::parse(&r.status)
                .ok_or_else(|| DbErr::Custom(format!("stored proposal status {:?}", r.status)))?,
            decided_by: r
                .decided_by
                .as_deref()
                .map(|d| from_json::<Actor>("decided_by", d))
                .transpose()?,
            create_ms: r.create_ms,
            decide_ms: r.decide_ms,
        })
    }

    async fn proposal_with_ticket<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        row: ticket_proposals::Model,
    ) -> Result<Proposal, DbErr> {
        let ticket_id: TicketId = parse_id("ticket id", &row.ticket_id)?;
        let ticket = self
            .ticket(conn, org, &ticket_id)
            .await?
            .ok_or_else(|| DbErr::Custom(format!("proposal {} has no ticket", row.id)))?;
        Self::proposal_from_row(row, &ticket)
    }

    pub async fn proposal<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        id: &TicketProposalId,
    ) -> Result<Option<Proposal>, DbErr> {
        match secure_find::<ticket_proposals::Entity, _>(org, id.to_string())
            .one(conn)
            .await?
        {
            Some(row) => self.proposal_with_ticket(conn, org, row).await.map(Some),
            None => Ok(None),
        }
    }

    pub async fn proposal_for<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        conversation: &str,
        ticket: &TicketId,
    ) -> Result<Option<Proposal>, DbErr> {
        match of_org::<ticket_proposals::Entity>(org)
            .filter(ticket_proposals::Column::ConversationId.eq(conversation))
            .filter(ticket_proposals::Column::TicketId.eq(ticket.as_str()))
            .one(conn)
            .await?
        {
            Some(row) => self.proposal_with_ticket(conn, org, row).await.map(Some),
            None => Ok(None),
        }
    }

    /// The newest proposal of a conversation still waiting for an agent.
    pub async fn pending_proposal<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
        conversation: &str,
    ) -> Result<Option<Proposal>, DbErr> {
        use sea_orm::QueryOrder;
        match of_org::<ticket_proposals::Entity>(org)
            .filter(ticket_proposals::Column::ConversationId.eq(conversation))
            .filter(ticket_proposals::Column::Status.eq(ProposalStatus::Proposed.as_str()))
            .order_by_desc(ticket_proposals::Column::CreateMs)
            .order_by_desc(ticket_proposals::Column::Id)
            .one(conn)
            .await?
        {
            Some(row) => self.proposal_with_ticket(conn, org, row).await.map(Some),
            None => Ok(None),
        }
    }

    /// Inserts a proposal unless one exists for its conversation and ticket; false then.
    pub async fn insert_proposal(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        p: &Proposal,
    ) -> Result<bool, DbErr> {
        let res = tx
            .execute_raw(stmt(
                self.backend(),
                "INSERT INTO ticket_proposals (id, organization_id, conversation_id, contact_id, ticket_id, \
                 source, message_id, evidence, status, decided_by, create_ms, decide_ms) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL) ON CONFLICT DO NOTHING",
                vec![
                    p.id.as_str().into(),
                    org.as_str().into(),
                    p.conversation_id.clone().into(),
                    p.contact_id.clone().into(),
                    p.ticket_id.as_str().into(),
                    p.source.as_str().into(),
                    p.message_id.clone().into(),
                    p.evidence.clone().into(),
                    p.status.as_str().into(),
                    p.create_ms.into(),
                ],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Decides a PROPOSED proposal; false when it was decided meanwhile.
    pub async fn decide_proposal(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        id: &TicketProposalId,
        status: ProposalStatus,
        by: &Actor,
        now_ms: i64,
    ) -> Result<bool, DbErr> {
        let res = tx
            .execute_raw(stmt(
                self.backend(),
                "UPDATE ticket_proposals SET status = ?, decided_by = ?, decide_ms = ? \
                 WHERE organization_id = ? AND id = ? AND status = 'proposed'",
                vec![
                    status.as_str().into(),
                    json(by).into(),
                    now_ms.into(),
                    org.as_str().into(),
                    id.as_str().into(),
                ],
            ))
            .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Proposals of a ticket or of some conversations, newest first.
    pub async fn proposals(
        &self,
        org: &OrganizationId,
        ticket: Option<&TicketId>,
        conversations: &[String],
        statuses: &[ProposalStatus],
        page: &Page,
    ) -> Result<Paged<Proposal>, DbErr> {
        let mut q = of_org::<ticket_proposals::Entity>(org);
        if let Some(t) = ticket {
            q = q.filter(ticket_proposals::Column::TicketId.eq(t.as_str()));
        }
        if !conversations.is_empty() {
            q = q.filter(ticket_proposals::Column::ConversationId.is_in(conversations.to_vec()));
        }
        if !statuses.is_empty() {
            q = q.filter(
                ticket_proposals::Column::Status
                    .is_in(statuses.iter().map(|s| s.as_str().to_string())),
            );
        }
        let keyset = Keyset::new(self.backend())
            .desc(ticket_proposals::Column::CreateMs)
            .desc_text(ticket_proposals::Column::Id);
        let rows = keyset.apply(q, page).all(&self.db).await?;
        let paged = page.finish(rows, |r| vec![r.create_ms.into(), r.id.as_str().into()]);
        let mut items = Vec::with_capacity(paged.items.len());
        for row in paged.items {
            items.push(self.proposal_with_ticket(&self.db, org, row).await?);
        }
        Ok(Paged {
            items,
            next_page_token: paged.next_page_token,
        })
    }

    // ---- close policy ----

    pub async fn policy<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: &OrganizationId,
    ) -> Result<ClosePolicy, DbErr> {
        let Some(row) = secure_find::<close_policies::Entity, _>(org, org.to_string())
            .one(conn)
            .await?
        else {
            return Ok(ClosePolicy::default());
        };
        Ok(ClosePolicy {
            require_ticket: row.require_ticket,
            channel_account_ids: from_json("channel_account_ids", &row.channel_account_ids)?,
            team_ids: from_json("team_ids", &row.team_ids)?,
            update_ms: row.update_ms,
        })
    }

    pub async fn put_policy(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        p: &ClosePolicy,
    ) -> Result<(), DbErr> {
        close_policies::Entity::delete_many()
            .filter(close_policies::Column::OrganizationId.eq(org.as_str()))
            .exec(tx)
            .await?;
        close_policies::Entity::insert(close_policies::ActiveModel {
            organization_id: Set(org.to_string()),
            require_ticket: Set(p.require_ticket),
            channel_account_ids: Set(json(&p.channel_account_ids)),
            team_ids: Set(json(&p.team_ids)),
            update_ms: Set(p.update_ms),
        })
        .exec_without_returning(tx)
        .await?;
        Ok(())
    }

    // ---- events ----

    pub async fn enqueue(&self, tx: &DatabaseTransaction, event: NewEvent) -> Result<(), DbErr> {
        outbox::enqueue(tx, event).await.map(|_| ())
    }

    /// How many tickets an organization has (tests and metrics).
    pub async fn ticket_count(&self, org: &OrganizationId) -> Result<u64, DbErr> {
        of_org::<tickets::Entity>(org).count(&self.db).await
    }
}
