//! Tickets: create (numbered from the organization's counter in the same transaction), read,
//! list and search, update with recorded field changes and optimistic concurrency, comments.

use sea_orm::DatabaseTransaction;
use switchboard_runtime::{
    ids::{OrganizationId, TicketId},
    paging::{Page, Paged},
};

use super::{Caller, Ticketing, ticket_changed};
use crate::{
    domain::{self, Action, ActionKind, NewTicket, Status, Ticket, TicketPatch, UpdateRefused},
    error::TicketingError,
    store::{TicketFilter, TicketQuery},
};

impl Ticketing {
    /// Creates a ticket in `tx` (numbered, CREATED action, search document, event).
    pub(crate) async fn create_in(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        caller: &Caller,
        new: NewTicket,
    ) -> Result<Ticket, TicketingError> {
        let now = self.clock.now_ms();
        let number = self.store.next_number(tx, org).await?;
        let ticket = Ticket {
            id: TicketId::generate(),
            organization_id: org.to_string(),
            number,
            subject: new.subject,
            description: new.description,
            requester: new.requester,
            status: Status::Open,
            priority: new.priority,
            assignee: new.assignee,
            tags: new.tags,
            created_by: caller.actor.clone(),
            linked_conversation_count: 0,
            create_ms: now,
            update_ms: now,
            solve_ms: None,
            close_ms: None,
        };
        self.store.insert_ticket(tx, &ticket).await?;
        let action = Action::new(&ticket.id, ActionKind::Created, &caller.actor, now);
        self.store.insert_action(tx, org, &action).await?;
        self.store
            .enqueue(
                tx,
                ticket_changed(&ticket, ActionKind::Created, action.id.as_str()),
            )
            .await?;
        Ok(ticket)
    }

    pub async fn create_ticket(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        new: NewTicket,
    ) -> Result<Ticket, TicketingError> {
        let tx = self.store.begin().await?;
        let ticket = self.create_in(&tx, org, caller, new).await?;
        self.store.commit(tx).await?;
        self.metrics.tickets_created.inc();
        Ok(ticket)
    }

    pub async fn get_ticket(
        &self,
        org: &OrganizationId,
        id: &TicketId,
    ) -> Result<Ticket, TicketingError> {
        self.store
            .ticket(&self.store.db, org, id)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket", id))
    }

    pub async fn get_ticket_by_number(
        &self,
        org: &OrganizationId,
        number: i64,
    ) -> Result<Ticket, TicketingError> {
        self.store
            .ticket_by_number(&self.store.db, org, number)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket number", number))
    }

    /// Lists or searches: a number finds that ticket, words are searched (ranked).
    pub async fn list_tickets(
        &self,
        org: &OrganizationId,
        query: &str,
        filter: &TicketFilter,
        page: &Page,
    ) -> Result<(Paged<Ticket>, u64), TicketingError> {
        let query = match (query.trim(), domain::query_number(query)) {
            ("", _) => TicketQuery::All,
            (_, Some(n)) => TicketQuery::Number(n),
            (words, None) => TicketQuery::Words(words.to_string()),
        };
        let started = std::time::Instant::now();
        let found = self.store.list_tickets(org, &query, filter, page).await?;
        if matches!(query, TicketQuery::Words(_)) {
            self.metrics
                .search_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        Ok(found)
    }

    /// Applies `patch`; `expected_update_ms` (optional) must be the ticket's current one.
    pub async fn update_ticket(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        id: &TicketId,
        patch: &TicketPatch,
        expected_update_ms: Option<i64>,
    ) -> Result<Ticket, TicketingError> {
        let tx = self.store.begin().await?;
        let mut ticket = self
            .store
            .ticket(&tx, org, id)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket", id))?;
        if expected_update_ms.is_some_and(|e| e != ticket.update_ms) {
            return Err(TicketingError::ConcurrentUpdate(
                "the ticket changed since expected_update_time; read it again".into(),
            ));
        }
        let read_update_ms = ticket.update_ms;
        let now = self.clock.now_ms();
        let changes =
            domain::apply_patch(&mut ticket, patch, caller.role, now).map_err(|r| match r {
                UpdateRefused::ClosedTicket => TicketingError::precondition(
                    "the ticket is closed: it can only be reopened (status open or pending)",
                ),
                UpdateRefused::ReopenNeedsOperator => {
                    TicketingError::denied("only an operator or admin may reopen a closed ticket")
                }
            })?;
        if changes.is_empty() {
            return Ok(ticket);
        }
        let text_changed = changes
            .iter()
            .any(|c| c.field == "subject" || c.field == "description");
        if !self
            .store
            .update_ticket(&tx, &ticket, read_update_ms, text_changed)
            .await?
        {
            return Err(TicketingError::ConcurrentUpdate(
                "the ticket changed concurrently; read it again".into(),
            ));
        }
        let mut action = Action::new(&ticket.id, ActionKind::Updated, &caller.actor, now);
        action.changes = changes;
        self.store.insert_action(&tx, org, &action).await?;
        self.store
            .enqueue(
                &tx,
                ticket_changed(&ticket, ActionKind::Updated, action.id.as_str()),
            )
            .await?;
        self.store.commit(tx).await?;
        Ok(ticket)
    }

    /// Touches a ticket's update time in `tx` (an action was added to it).
    pub(crate) async fn touch(
        &self,
        tx: &DatabaseTransaction,
        ticket: &mut Ticket,
    ) -> Result<(), TicketingError> {
        let read = ticket.update_ms;
        ticket.update_ms = self.clock.now_ms().max(read + 1);
        if !self.store.update_ticket(tx, ticket, read, false).await? {
            return Err(TicketingError::ConcurrentUpdate(
                "the ticket changed concurrently; retry".into(),
            ));
        }
        Ok(())
    }

    pub async fn add_comment(
        &self,
        org: &OrganizationId,
        caller: &Caller,
        id: &TicketId,
        body: String,
        internal: bool,
    ) -> Result<Action, TicketingError> {
        let tx = self.store.begin().await?;
        let mut ticket = self
            .store
            .ticket(&tx, org, id)
            .await?
            .ok_or_else(|| TicketingError::not_found("ticket", id))?;
        if ticket.status == Status::Closed {
            return Err(TicketingError::precondition(
                "the ticket is closed: reopen it to comment",
            ));
        }
        let kind = if internal {
            ActionKind::InternalNote
        } else {
            ActionKind::PublicComment
        };
        let mut action = Action::new(&ticket.id, kind, &caller.actor, self.clock.now_ms());
        action.body = body;
        self.touch(&tx, &mut ticket).await?;
        self.store.insert_action(&tx, org, &action).await?;
        self.store
            .enqueue(&tx, ticket_changed(&ticket, kind, action.id.as_str()))
            .await?;
        self.store.commit(tx).await?;
        Ok(action)
    }

    pub async fn list_actions(
        &self,
        org: &OrganizationId,
        id: &TicketId,
        kinds: &[ActionKind],
        page: &Page,
    ) -> Result<Paged<Action>, TicketingError> {
        self.get_ticket(org, id).await?;
        Ok(self.store.actions(org, id, kinds, page).await?)
    }
}
