//! A world for ticketing tests: presence, routing, channel and ticketing running; one
//! organization with an admin, a team with one agent (Lucía) that takes every conversation of a
//! real WhatsApp number (customers write through the Graph API simulator's signed webhooks),
//! and helpers for tickets, links and conversations.

use std::time::Duration;

use switchboard_graph_sim::StatusPlan;
use switchboard_proto::{
    common::v1::Role,
    routing::v1 as rt,
    ticketing::v1::{self as pb, ticketing_service_client::TicketingServiceClient},
};
use switchboard_runtime::{
    Service,
    ids::EventId,
    outbox::{Event, NewEvent, TypedEvent},
};
use switchboard_testkit::Backend;
use tonic::transport::Channel;

use crate::{channel_support::ChannelWorld, routing_support::rid};

pub type Tickets = TicketingServiceClient<Channel>;

pub struct TicketWorld {
    pub w: ChannelWorld,
    pub tickets: Tickets,
}

/// A fresh WhatsApp id.
pub fn wa_id() -> String {
    let n = uuid::Uuid::now_v7().as_u128() % 100_000_000;
    format!("5491170{n:08}")
}

pub fn new_ticket(subject: &str, description: &str) -> pb::NewTicket {
    pb::NewTicket {
        subject: subject.into(),
        description: description.into(),
        requester: Some(pb::Requester {
            name: "Ana Pérez".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An event as a producer's outbox would relay it.
pub fn event<T: TypedEvent>(org: &str, aggregate: &str, message: &T) -> Event {
    let e = NewEvent::typed(org, aggregate, message);
    Event {
        id: EventId::generate(),
        organization_id: e.organization_id,
        topic: e.topic,
        aggregate_id: e.aggregate_id,
        payload: e.payload,
        traceparent: None,
        occurred_at: chrono::Utc::now(),
    }
}

impl TicketWorld {
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        let w = ChannelWorld::with_targets(
            backend,
            StatusPlan::default(),
            |_| {},
            &[Service::Ticketing],
        )
        .await?;
        let tickets = TicketingServiceClient::new(w.world.suite.channel(Service::Ticketing).await?);
        Ok(Self { w, tickets })
    }

    pub fn org(&self) -> String {
        self.w.world.org.clone()
    }

    pub fn admin(&self) -> String {
        self.w.world.admin.clone()
    }

    pub async fn agent(&mut self, name: &str, role: Role) -> anyhow::Result<String> {
        self.w.world.agent_with_role(name, role, 3).await
    }

    pub async fn create(&mut self, subject: &str, description: &str) -> anyhow::Result<pb::Ticket> {
        let org = self.org();
        let admin = self.admin();
        self.create_in(&org, &admin, subject, description).await
    }

    pub async fn create_in(
        &mut self,
        org: &str,
        actor: &str,
        subject: &str,
        description: &str,
    ) -> anyhow::Result<pb::Ticket> {
        Ok(self
            .tickets
            .create_ticket(pb::CreateTicketRequest {
                request_id: rid(),
                organization_id: org.into(),
                actor_agent_id: actor.into(),
                ticket: Some(new_ticket(subject, description)),
            })
            .await?
            .into_inner()
            .ticket
            .expect("ticket"))
    }

    pub async fn comment(&mut self, ticket: &str, body: &str) -> anyhow::Result<pb::TicketAction> {
        Ok(self
            .tickets
            .add_ticket_comment(pb::AddTicketCommentRequest {
                request_id: rid(),
                organization_id: self.org(),
                actor_agent_id: self.admin(),
                ticket_id: ticket.into(),
                body: body.into(),
                internal: true,
            })
            .await?
            .into_inner()
            .action
            .expect("action"))
    }

    /// Numbers of the tickets a query finds, in order (first page of 50), and the total.
    pub async fn search(&mut self, org: &str, query: &str) -> anyhow::Result<(Vec<i64>, i32)> {
        let r = self
            .tickets
            .list_tickets(pb::ListTicketsRequest {
                organization_id: org.into(),
                query: query.into(),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok((
            r.tickets.iter().map(|t| t.number).collect(),
            r.page.and_then(|p| p.total_size).unwrap_or(-1),
        ))
    }

    pub async fn actions(&mut self, ticket: &str) -> anyhow::Result<Vec<pb::TicketAction>> {
        Ok(self
            .tickets
            .list_ticket_actions(pb::ListTicketActionsRequest {
                organization_id: self.org(),
                ticket_id: ticket.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .actions)
    }

    /// A customer writes `texts` through WhatsApp (signed webhooks); returns the conversation
    /// they joined (routed to Lucía) once every message is attached.
    pub async fn customer_conversation(
        &mut self,
        texts: &[&str],
    ) -> anyhow::Result<rt::Conversation> {
        let wa = wa_id();
        for t in texts {
            self.w.customer_writes(&wa, "Cliente", t).await?;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let contact = loop {
            if let Some(c) = self.w.contact(&wa).await? {
                break c;
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "no contact");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let messages = self.w.routed_messages(&contact.id, texts.len()).await?;
        let id = messages[0].conversation_id.clone();
        let agent = self.w.agent.clone();
        self.w
            .world
            .until(&id, "assigned to Lucía", |c| c.assignee_agent_id == agent)
            .await
    }

    pub async fn link(
        &mut self,
        actor: &str,
        conversation: &str,
        ticket: pb::link_conversation_request::Ticket,
    ) -> Result<pb::LinkConversationResponse, tonic::Status> {
        Ok(self
            .tickets
            .link_conversation(pb::LinkConversationRequest {
                request_id: rid(),
                organization_id: self.org(),
                actor_agent_id: actor.into(),
                conversation_id: conversation.into(),
                contact_id: String::new(),
                ticket: Some(ticket),
            })
            .await?
            .into_inner())
    }

    /// Polls until `done` holds for the ticket's actions, or fails after 15 s.
    pub async fn until_actions(
        &mut self,
        ticket: &str,
        what: &str,
        done: impl Fn(&[pb::TicketAction]) -> bool,
    ) -> anyhow::Result<Vec<pb::TicketAction>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let actions = self.actions(ticket).await?;
            if done(&actions) {
                return Ok(actions);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "ticket {ticket} never reached: {what}; actions {actions:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub fn history_count(actions: &[pb::TicketAction]) -> usize {
    actions
        .iter()
        .filter(|a| a.kind == pb::TicketActionKind::ConversationHistory as i32)
        .count()
}
