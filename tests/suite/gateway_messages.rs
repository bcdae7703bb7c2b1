//! The gateway's Messages, Contacts, Tickets and Work items sections, called with real tokens:
//! the caller is always the actor, roles the internal services cannot check are checked by the
//! gateway, and another organization's ids are never served nor changed.

use std::{collections::BTreeSet, time::Duration};

use switchboard_graph_sim::StatusPlan;
use switchboard_proto::{
    channel::v1::{self as ch, message_content::Content, template_parameter},
    common::v1::{AgentStatus, PageRequest, Role},
    gateway::v1::{self as pb, gateway_service_client::GatewayServiceClient},
    routing::v1 as rpb,
    ticketing::v1 as tk,
};
use switchboard_runtime::Service;
use switchboard_testkit::Backend;
use tonic::Code;

use crate::{
    channel_support::{ChannelWorld, TEMPLATE},
    gateway_support::{Credentials, GatewayWorld, Member},
    on_both_backends,
    routing_support::{World, agent_target, rid},
};

fn page() -> Option<PageRequest> {
    Some(PageRequest {
        page_size: 100,
        page_token: String::new(),
    })
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn code<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

fn actor_id(actor: &Option<switchboard_proto::common::v1::Actor>) -> &str {
    actor.as_ref().map(|a| a.id.as_str()).unwrap_or_default()
}

/// A new agent of `org` bound to a fresh subject, signed in to the gateway of `world`.
async fn sign_in(
    world: &mut World,
    org: &str,
    name: &str,
    role: Role,
    capacity: i32,
) -> anyhow::Result<Member> {
    let subject = format!("idp|{}-{}", name.to_lowercase(), rid());
    let agent = world
        .routing
        .create_agent(rpb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.into(),
            agent: Some(rpb::Agent {
                display_name: name.into(),
                email: format!("{}-{}@acme.test", name.to_lowercase(), rid()),
                role: role as i32,
                capacity,
                auth_subject: subject.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent");
    let settings = &world.suite.infra().expect("running").settings;
    let token =
        switchboard_gateway::dev_token(&settings.gateway.auth, &subject, Duration::from_secs(3600))
            .expect("dev token");
    let gateway = GatewayServiceClient::with_interceptor(
        world.suite.channel(Service::Gateway).await?,
        Credentials {
            token: Some(token),
            organization: Some(org.into()),
        },
    );
    Ok(Member {
        id: agent.id,
        subject,
        gateway,
    })
}

/// A second organization with an admin signed in to the gateway.
async fn other_organization(world: &mut World) -> anyhow::Result<(String, Member)> {
    let org = world
        .routing
        .create_organization(rpb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Globex".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let admin = sign_in(world, &org, "Bruno", Role::Admin, 3).await?;
    Ok((org, admin))
}

/// Routes a work item to `agent` and waits until it is offered (ASSIGNED).
async fn work_item_for(
    world: &mut World,
    agent: &str,
    kind: &str,
) -> anyhow::Result<rpb::WorkItem> {
    let item = world
        .routing
        .route_work_item(rpb::RouteWorkItemRequest {
            request_id: rid(),
            organization_id: world.org.clone(),
            kind: kind.into(),
            external_ref: format!("crm-{}", rid()),
            target: Some(agent_target(agent)),
            caller: "crm".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .work_item
        .expect("work item");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = world
            .routing
            .get_work_item(rpb::GetWorkItemRequest {
                organization_id: world.org.clone(),
                work_item_id: item.id.clone(),
            })
            .await?
            .into_inner()
            .work_item
            .expect("work item");
        if now.state == rpb::WorkItemState::Assigned as i32 {
            anyhow::ensure!(
                now.assignee_agent_id == agent,
                "assigned elsewhere: {now:?}"
            );
            return Ok(now);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "work item never offered: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(items: &[rpb::WorkItem]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

/// Contacts are created, found, renamed and owned as the caller; an agent may only add or
/// remove itself as an owner; the gateway's UpdateContact changes only names and attributes.
async fn contact_lifecycle_acts_as_me(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let org = gw.world.org.clone();
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let olga = gw.member("Olga", Role::Operator, 2).await?;
    let (mut a, mut o) = (ana.gateway.clone(), olga.gateway.clone());
    let digits = format!("{:09}", uuid::Uuid::now_v7().as_u128() % 1_000_000_000);
    let phone = format!("+5491{digits}");

    let created = a
        .create_contact(pb::CreateContactRequest {
            request_id: rid(),
            phone_number: phone.clone(),
            display_name: "Carla".into(),
            attributes: [("customer_number".to_string(), "C-1".to_string())].into(),
        })
        .await?
        .into_inner();
    assert!(created.created);
    let contact = created.contact.expect("contact");
    assert_eq!(contact.organization_id, org);
    assert_eq!(contact.phone_number, phone);
    assert_eq!(contact.display_name, "Carla");
    assert_eq!(contact.attributes["customer_number"], "C-1");
    let again = o
        .create_contact(pb::CreateContactRequest {
            request_id: rid(),
            phone_number: phone.clone(),
            display_name: "Otra".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(!again.created, "the number is known");
    assert_eq!(again.contact.map(|c| c.id), Some(contact.id.clone()));

    let found = a
        .list_contacts(pb::ListContactsRequest {
            page: page(),
            query: digits.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        found
            .contacts
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        [contact.id.as_str()]
    );

    let renamed = a
        .update_contact(pb::UpdateContactRequest {
            request_id: rid(),
            contact: Some(ch::Contact {
                id: contact.id.clone(),
                display_name: "Carla Gómez".into(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
        })
        .await?
        .into_inner()
        .contact
        .expect("contact");
    assert_eq!(renamed.display_name, "Carla Gómez");
    assert_eq!(
        renamed.attributes["customer_number"], "C-1",
        "not in the mask"
    );
    let tags = a
        .update_contact(pb::UpdateContactRequest {
            request_id: rid(),
            contact: Some(ch::Contact {
                id: contact.id.clone(),
                tags: vec!["vip".into()],
                ..Default::default()
            }),
            update_mask: mask(&["tags"]),
        })
        .await;
    assert_eq!(
        code(tags),
        Code::InvalidArgument,
        "only names and attributes"
    );

    // Owners: an agent adds itself (recorded as added by it), not someone else.
    let owner = a
        .add_contact_owner(pb::AddContactOwnerRequest {
            request_id: rid(),
            contact_id: contact.id.clone(),
            agent_id: ana.id.clone(),
        })
        .await?
        .into_inner()
        .owner
        .expect("owner");
    assert_eq!(owner.agent_id, ana.id);
    assert_eq!(owner.contact_id, contact.id);
    assert_eq!(actor_id(&owner.added_by), ana.id);
    let refused = a
        .add_contact_owner(pb::AddContactOwnerRequest {
            request_id: rid(),
            contact_id: contact.id.clone(),
            agent_id: olga.id.clone(),
        })
        .await;
    assert_eq!(code(refused), Code::PermissionDenied);
    let by_operator = o
        .add_contact_owner(pb::AddContactOwnerRequest {
            request_id: rid(),
            contact_id: contact.id.clone(),
            agent_id: olga.id.clone(),
        })
        .await?
        .into_inner()
        .owner
        .expect("owner");
    assert_eq!(actor_id(&by_operator.added_by), olga.id);
    let unknown = o
        .add_contact_owner(pb::AddContactOwnerRequest {
            request_id: rid(),
            contact_id: switchboard_runtime::ids::ContactId::generate().to_string(),
            agent_id: olga.id.clone(),
        })
        .await;
    assert_eq!(code(unknown), Code::NotFound, "no ownership of nothing");

    let shown = a
        .get_contact(pb::GetContactRequest {
            contact_id: contact.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        shown.contact.as_ref().map(|c| c.display_name.as_str()),
        Some("Carla Gómez")
    );
    assert_eq!(
        shown
            .owners
            .iter()
            .map(|o| o.agent_id.as_str())
            .collect::<Vec<_>>(),
        [ana.id.as_str(), olga.id.as_str()],
        "in routing order"
    );

    let refused = a
        .remove_contact_owner(pb::RemoveContactOwnerRequest {
            request_id: rid(),
            contact_id: contact.id.clone(),
            agent_id: olga.id.clone(),
        })
        .await;
    assert_eq!(code(refused), Code::PermissionDenied);
    a.remove_contact_owner(pb::RemoveContactOwnerRequest {
        request_id: rid(),
        contact_id: contact.id.clone(),
        agent_id: ana.id.clone(),
    })
    .await?;
    let shown = o
        .get_contact(pb::GetContactRequest {
            contact_id: contact.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(
        shown
            .owners
            .iter()
            .map(|o| o.agent_id.as_str())
            .collect::<Vec<_>>(),
        [olga.id.as_str()]
    );
    Ok(())
}
on_both_backends!(contact_lifecycle_acts_as_me);

/// Work items: mine by default (assigned and accepted), another agent's or everyone's only for
/// operators; accepting and completing act as me.
async fn work_items_are_mine_unless_i_supervise(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let bob = gw.member("Bob", Role::Agent, 2).await?;
    let olga = gw.member("Olga", Role::Operator, 0).await?;
    gw.world.set_status(&ana.id, AgentStatus::Available).await?;
    gw.world.set_status(&bob.id, AgentStatus::Available).await?;
    let for_ana = work_item_for(&mut gw.world, &ana.id, "callback").await?;
    let for_bob = work_item_for(&mut gw.world, &bob.id, "callback").await?;
    let (mut a, mut b, mut o) = (
        ana.gateway.clone(),
        bob.gateway.clone(),
        olga.gateway.clone(),
    );
    let list = |agent_id: &str, all_agents: bool, states: Vec<rpb::WorkItemState>, kind: &str| {
        pb::ListWorkItemsRequest {
            page: page(),
            states: states.into_iter().map(|s| s as i32).collect(),
            agent_id: agent_id.into(),
            kind: kind.into(),
            all_agents,
        }
    };

    let mine = a
        .list_work_items(list("", false, vec![], ""))
        .await?
        .into_inner();
    assert_eq!(ids(&mine.work_items), [for_ana.id.as_str()]);
    let none = a
        .list_work_items(list("", false, vec![], "email"))
        .await?
        .into_inner();
    assert!(none.work_items.is_empty(), "kind is passed on");
    for refused in [list(&bob.id, false, vec![], ""), list("", true, vec![], "")] {
        assert_eq!(
            code(a.list_work_items(refused).await),
            Code::PermissionDenied
        );
    }
    let bobs = o
        .list_work_items(list(&bob.id, false, vec![], ""))
        .await?
        .into_inner();
    assert_eq!(ids(&bobs.work_items), [for_bob.id.as_str()]);
    let everyone = o
        .list_work_items(list("", true, vec![], ""))
        .await?
        .into_inner();
    let all: BTreeSet<&str> = ids(&everyone.work_items).into_iter().collect();
    assert_eq!(all, [for_ana.id.as_str(), for_bob.id.as_str()].into());

    // Only the assignee accepts.
    let refused = b
        .accept_work_item(pb::AcceptWorkItemRequest {
            request_id: rid(),
            work_item_id: for_ana.id.clone(),
        })
        .await;
    assert_eq!(code(refused), Code::PermissionDenied);
    let accepted = a
        .accept_work_item(pb::AcceptWorkItemRequest {
            request_id: rid(),
            work_item_id: for_ana.id.clone(),
        })
        .await?
        .into_inner()
        .work_item
        .expect("work item");
    assert_eq!(accepted.state, rpb::WorkItemState::Accepted as i32);
    let mine = a
        .list_work_items(list("", false, vec![], ""))
        .await?
        .into_inner();
    assert_eq!(
        ids(&mine.work_items),
        [for_ana.id.as_str()],
        "accepted is listed"
    );

    let refused = b
        .complete_work_item(pb::CompleteWorkItemRequest {
            request_id: rid(),
            work_item_id: for_ana.id.clone(),
            outcome: "not mine".into(),
        })
        .await;
    assert_eq!(code(refused), Code::PermissionDenied);
    let done = a
        .complete_work_item(pb::CompleteWorkItemRequest {
            request_id: rid(),
            work_item_id: for_ana.id.clone(),
            outcome: "called back".into(),
        })
        .await?
        .into_inner()
        .work_item
        .expect("work item");
    assert_eq!(done.state, rpb::WorkItemState::Completed as i32);
    assert_eq!(done.outcome, "called back");
    let mine = a
        .list_work_items(list("", false, vec![], ""))
        .await?
        .into_inner();
    assert!(mine.work_items.is_empty(), "completed is not open work");
    let completed = a
        .list_work_items(list("", false, vec![rpb::WorkItemState::Completed], ""))
        .await?
        .into_inner();
    assert_eq!(ids(&completed.work_items), [for_ana.id.as_str()]);
    Ok(())
}
on_both_backends!(work_items_are_mine_unless_i_supervise);

/// Tickets created, changed and commented as me; a conversation I hold linked to a ticket and
/// unlinked, and linked to a new ticket whose requester is the conversation's contact.
async fn ticket_lifecycle_with_links(backend: Backend) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let org = gw.world.org.clone();
    let ana = gw.member("Ana", Role::Agent, 2).await?;
    let bob = gw.member("Bob", Role::Agent, 2).await?;
    gw.world.set_status(&ana.id, AgentStatus::Available).await?;
    gw.world
        .link(&[], &[&ana.id], Some(agent_target(&ana.id)))
        .await?;
    let conv = gw.world.start().await?;
    let ana_id = ana.id.clone();
    let conv = gw
        .world
        .until(&conv.id, "held by Ana", |c| c.assignee_agent_id == ana_id)
        .await?;
    let (mut a, mut b) = (ana.gateway.clone(), bob.gateway.clone());

    let ticket = a
        .create_ticket(pb::CreateTicketRequest {
            request_id: rid(),
            ticket: Some(tk::NewTicket {
                subject: "El pedido no llega".into(),
                description: "Pedido 4411".into(),
                requester: Some(tk::Requester {
                    name: "Carla".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(ticket.organization_id, org);
    assert_eq!(actor_id(&ticket.created_by), ana.id);
    assert_eq!(ticket.status, tk::TicketStatus::Open as i32);

    let by_id = a
        .get_ticket(pb::GetTicketRequest {
            lookup: Some(pb::get_ticket_request::Lookup::TicketId(ticket.id.clone())),
        })
        .await?
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(
        (by_id.id.as_str(), by_id.number, by_id.subject.as_str()),
        (ticket.id.as_str(), ticket.number, ticket.subject.as_str())
    );
    let by_number = b
        .get_ticket(pb::GetTicketRequest {
            lookup: Some(pb::get_ticket_request::Lookup::Number(ticket.number)),
        })
        .await?
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(by_number.id, ticket.id);
    let searched = b
        .list_tickets(pb::ListTicketsRequest {
            page: page(),
            query: format!("#{}", ticket.number),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(
        searched
            .tickets
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        [ticket.id.as_str()]
    );
    let assigned_to_ana = pb::ListTicketsRequest {
        page: page(),
        assignee_agent_id: ana.id.clone(),
        statuses: vec![tk::TicketStatus::Open as i32],
        ..Default::default()
    };
    assert!(
        a.list_tickets(assigned_to_ana.clone())
            .await?
            .into_inner()
            .tickets
            .is_empty()
    );

    let updated = a
        .update_ticket(pb::UpdateTicketRequest {
            request_id: rid(),
            ticket: Some(tk::Ticket {
                id: ticket.id.clone(),
                priority: tk::TicketPriority::High as i32,
                assignee_agent_id: ana.id.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["priority", "assignee_agent_id"]),
            expected_update_time: ticket.update_time,
        })
        .await?
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(updated.priority, tk::TicketPriority::High as i32);
    assert_eq!(updated.assignee_agent_id, ana.id);
    assert_eq!(updated.subject, ticket.subject, "not in the mask");
    let stale = b
        .update_ticket(pb::UpdateTicketRequest {
            request_id: rid(),
            ticket: Some(tk::Ticket {
                id: ticket.id.clone(),
                subject: "Otro".into(),
                ..Default::default()
            }),
            update_mask: mask(&["subject"]),
            expected_update_time: ticket.update_time,
        })
        .await;
    assert_eq!(
        code(stale),
        Code::Aborted,
        "expected_update_time is passed on"
    );
    let listed = a.list_tickets(assigned_to_ana).await?.into_inner().tickets;
    assert_eq!(
        listed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [ticket.id.as_str()]
    );

    let note = a
        .add_ticket_comment(pb::AddTicketCommentRequest {
            request_id: rid(),
            ticket_id: ticket.id.clone(),
            body: "Llamé al correo".into(),
            internal: true,
        })
        .await?
        .into_inner()
        .action
        .expect("action");
    assert_eq!(note.kind, tk::TicketActionKind::InternalNote as i32);
    assert_eq!(note.body, "Llamé al correo");
    assert_eq!(actor_id(&note.actor), ana.id);
    let comment = b
        .add_ticket_comment(pb::AddTicketCommentRequest {
            request_id: rid(),
            ticket_id: ticket.id.clone(),
            body: "Te escribimos pronto".into(),
            internal: false,
        })
        .await?
        .into_inner()
        .action
        .expect("action");
    assert_eq!(comment.kind, tk::TicketActionKind::PublicComment as i32);
    assert_eq!(actor_id(&comment.actor), bob.id);

    // Links: not by someone who does not hold the conversation; by me, with its contact.
    let refused = b
        .link_conversation_ticket(pb::LinkConversationTicketRequest {
            request_id: rid(),
            conversation_id: conv.id.clone(),
            ticket: Some(pb::link_conversation_ticket_request::Ticket::TicketId(
                ticket.id.clone(),
            )),
        })
        .await;
    assert!(
        matches!(code(refused), Code::PermissionDenied | Code::NotFound),
        "not the holder"
    );
    let linked = a
        .link_conversation_ticket(pb::LinkConversationTicketRequest {
            request_id: rid(),
            conversation_id: conv.id.clone(),
            ticket: Some(pb::link_conversation_ticket_request::Ticket::TicketId(
                ticket.id.clone(),
            )),
        })
        .await?
        .into_inner();
    let link = linked.link.expect("link");
    assert_eq!(link.ticket_id, ticket.id);
    assert_eq!(link.conversation_id, conv.id);
    assert_eq!(link.contact_id, conv.contact_id);
    assert_eq!(actor_id(&link.linked_by), ana.id);
    assert_eq!(linked.ticket.map(|t| t.linked_conversation_count), Some(1));
    let of_ticket = b
        .list_ticket_links(pb::ListTicketLinksRequest {
            page: page(),
            ticket_id: ticket.id.clone(),
            conversation_ids: vec![],
        })
        .await?
        .into_inner();
    assert_eq!(
        of_ticket
            .links
            .iter()
            .map(|l| l.conversation_id.as_str())
            .collect::<Vec<_>>(),
        [conv.id.as_str()]
    );
    let of_conversation = b
        .list_ticket_links(pb::ListTicketLinksRequest {
            page: page(),
            ticket_id: String::new(),
            conversation_ids: vec![conv.id.clone()],
        })
        .await?
        .into_inner();
    assert_eq!(
        of_conversation
            .links
            .iter()
            .map(|l| l.ticket_id.as_str())
            .collect::<Vec<_>>(),
        [ticket.id.as_str()]
    );

    a.unlink_conversation_ticket(pb::UnlinkConversationTicketRequest {
        request_id: rid(),
        conversation_id: conv.id.clone(),
        ticket_id: ticket.id.clone(),
    })
    .await?;
    let of_ticket = a
        .list_ticket_links(pb::ListTicketLinksRequest {
            page: page(),
            ticket_id: ticket.id.clone(),
            conversation_ids: vec![],
        })
        .await?
        .into_inner();
    assert!(of_ticket.links.is_empty(), "unlinked");

    let history = a
        .list_ticket_actions(pb::ListTicketActionsRequest {
            page: page(),
            ticket_id: ticket.id.clone(),
            kinds: vec![],
        })
        .await?
        .into_inner()
        .actions;
    let kinds: Vec<i32> = history.iter().map(|h| h.kind).collect();
    for kind in [
        tk::TicketActionKind::Created,
        tk::TicketActionKind::Updated,
        tk::TicketActionKind::InternalNote,
        tk::TicketActionKind::PublicComment,
        tk::TicketActionKind::ConversationLinked,
        tk::TicketActionKind::ConversationUnlinked,
    ] {
        assert!(kinds.contains(&(kind as i32)), "{kind:?} in {kinds:?}");
    }
    assert_eq!(actor_id(&history[0].actor), ana.id, "created by me");
    let notes = a
        .list_ticket_actions(pb::ListTicketActionsRequest {
            page: page(),
            ticket_id: ticket.id.clone(),
            kinds: vec![tk::TicketActionKind::InternalNote as i32],
        })
        .await?
        .into_inner()
        .actions;
    assert_eq!(
        notes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        [note.id.as_str()]
    );

    // A new ticket from the conversation: its requester is the conversation's contact.
    let fresh = a
        .link_conversation_ticket(pb::LinkConversationTicketRequest {
            request_id: rid(),
            conversation_id: conv.id.clone(),
            ticket: Some(pb::link_conversation_ticket_request::Ticket::NewTicket(
                tk::NewTicket {
                    subject: "Cambio de dirección".into(),
                    ..Default::default()
                },
            )),
        })
        .await?
        .into_inner();
    let new_ticket = fresh.ticket.expect("ticket");
    assert_ne!(new_ticket.id, ticket.id);
    assert_eq!(
        new_ticket.requester.as_ref().map(|r| r.contact_id.as_str()),
        Some(conv.contact_id.as_str())
    );
    assert_eq!(actor_id(&new_ticket.created_by), ana.id);
    assert_eq!(fresh.link.map(|l| l.ticket_id), Some(new_ticket.id.clone()));
    Ok(())
}
on_both_backends!(ticket_lifecycle_with_links);

/// A channel world (Graph API simulator) with the gateway, and the number routed to `holder`.
async fn messaging_world(backend: Backend) -> anyhow::Result<ChannelWorld> {
    ChannelWorld::with_targets(backend, StatusPlan::default(), |_| {}, &[Service::Gateway]).await
}

/// The customer writes; the conversation is held by `holder`. Returns the inbound message.
async fn customer_conversation(
    cw: &mut ChannelWorld,
    holder: &str,
    wa_id: &str,
) -> anyhow::Result<ch::Message> {
    cw.world.set_status(holder, AgentStatus::Available).await?;
    cw.world
        .link(&[], &[holder], Some(agent_target(holder)))
        .await?;
    cw.customer_writes(wa_id, "Carla", "hola, mi pedido no llegó")
        .await?;
    let contact = cw.contact(wa_id).await?.expect("stored");
    let inbound = cw.routed_messages(&contact.id, 1).await?.remove(0);
    let holder = holder.to_string();
    cw.world
        .until(&inbound.conversation_id, "held", |c| {
            c.assignee_agent_id == holder
        })
        .await?;
    Ok(inbound)
}

fn template(params: &[&str]) -> ch::TemplateContent {
    ch::TemplateContent {
        name: TEMPLATE.into(),
        language_code: "es_AR".into(),
        components: vec![ch::TemplateComponent {
            kind: ch::TemplateComponentKind::Body as i32,
            parameters: params
                .iter()
                .map(|p| ch::TemplateParameter {
                    value: Some(template_parameter::Value::Text((*p).into())),
                })
                .collect(),
            ..Default::default()
        }],
        rendered_body: String::new(),
    }
}

/// The holder reads the conversation, writes, reacts, marks read, uploads and sends media,
/// sends a template; an agent who does not hold it can neither read nor write it; templates
/// are synced only by operators.
async fn send_and_list_messages_as_the_holder(backend: Backend) -> anyhow::Result<()> {
    let mut cw = messaging_world(backend).await?;
    let org = cw.world.org.clone();
    let marta = sign_in(&mut cw.world, &org, "Marta", Role::Agent, 3).await?;
    let nico = sign_in(&mut cw.world, &org, "Nico", Role::Agent, 3).await?;
    let olga = sign_in(&mut cw.world, &org, "Olga", Role::Operator, 0).await?;
    let wa_id = "5491155550301";
    let inbound = customer_conversation(&mut cw, &marta.id, wa_id).await?;
    let conversation = inbound.conversation_id.clone();
    let contact = inbound.contact_id.clone();
    let account = cw.account.clone();
    let (mut m, mut n, mut o) = (
        marta.gateway.clone(),
        nico.gateway.clone(),
        olga.gateway.clone(),
    );
    let sent_by_marta = |message: &Option<ch::Message>| -> anyhow::Result<ch::Message> {
        let message = message.clone().expect("message");
        anyhow::ensure!(actor_id(&message.sender) == marta.id, "{message:?}");
        anyhow::ensure!(message.conversation_id == conversation, "{message:?}");
        anyhow::ensure!(message.organization_id == org, "{message:?}");
        Ok(message)
    };

    let window = m
        .get_conversation_window(pb::GetConversationWindowRequest {
            conversation_id: conversation.clone(),
        })
        .await?
        .into_inner();
    assert!(window.open);
    assert!(window.close_time.is_some() && window.last_customer_message_time.is_some());
    let listed = m
        .list_conversation_messages(pb::ListConversationMessagesRequest {
            page: page(),
            conversation_id: conversation.clone(),
            order: 0,
        })
        .await?
        .into_inner();
    assert_eq!(
        listed
            .messages
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>(),
        [inbound.id.as_str()]
    );
    // Someone who may not see it neither reads nor writes it.
    let hidden = n
        .list_conversation_messages(pb::ListConversationMessagesRequest {
            page: page(),
            conversation_id: conversation.clone(),
            order: 0,
        })
        .await;
    assert_eq!(code(hidden), Code::NotFound);
    let refused = n
        .send_text_message(pb::SendTextMessageRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            body: "hola".into(),
            ..Default::default()
        })
        .await;
    assert!(matches!(
        code(refused),
        Code::NotFound | Code::PermissionDenied
    ));

    let text = m
        .send_text_message(pb::SendTextMessageRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            body: "Hola Carla, lo reviso".into(),
            preview_url: false,
            reply_to_message_id: inbound.id.clone(),
        })
        .await?
        .into_inner();
    let text = sent_by_marta(&text.message)?;
    assert_eq!(text.reply_to_message_id, inbound.id);
    match text.content.as_ref().and_then(|c| c.content.as_ref()) {
        Some(Content::Text(t)) => assert_eq!(t.body, "Hola Carla, lo reviso"),
        other => panic!("a text, not {other:?}"),
    }

    let reaction = m
        .send_reaction(pb::SendReactionRequest {
            request_id: rid(),
            message_id: inbound.id.clone(),
            emoji: "👍".into(),
        })
        .await?
        .into_inner();
    let reaction = sent_by_marta(&reaction.message)?;
    match reaction.content.as_ref().and_then(|c| c.content.as_ref()) {
        Some(Content::Reaction(r)) => {
            assert_eq!(r.emoji, "👍");
            assert_eq!(r.message_id, inbound.id);
        }
        other => panic!("a reaction, not {other:?}"),
    }

    let read = m
        .mark_message_read(pb::MarkMessageReadRequest {
            request_id: rid(),
            message_id: inbound.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(read.marked_count, 1);
    assert!(cw.sim.marked_read().contains(&inbound.wamid));

    let uploaded = m
        .upload_media(pb::UploadMediaRequest {
            request_id: rid(),
            channel_account_id: account.clone(),
            mime_type: "image/jpeg".into(),
            filename: "foto.jpg".into(),
            data: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4],
        })
        .await?
        .into_inner();
    assert!(!uploaded.media_id.is_empty() && uploaded.expire_time.is_some());
    let media = m
        .send_media_message(pb::SendMediaMessageRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            media: Some(ch::MediaContent {
                kind: ch::MediaKind::Image as i32,
                media_id: uploaded.media_id.clone(),
                caption: "la etiqueta".into(),
                ..Default::default()
            }),
            reply_to_message_id: String::new(),
        })
        .await?
        .into_inner();
    let media = sent_by_marta(&media.message)?;
    match media.content.as_ref().and_then(|c| c.content.as_ref()) {
        Some(Content::Media(c)) => {
            assert_eq!(c.media_id, uploaded.media_id);
            assert_eq!(c.caption, "la etiqueta");
        }
        other => panic!("media, not {other:?}"),
    }

    // Templates: synced by an operator only, listed by anyone, sent as me.
    let refused = m
        .sync_templates(pb::SyncTemplatesRequest {
            request_id: rid(),
            channel_account_id: account.clone(),
        })
        .await;
    assert_eq!(code(refused), Code::PermissionDenied);
    let synced = o
        .sync_templates(pb::SyncTemplatesRequest {
            request_id: rid(),
            channel_account_id: account.clone(),
        })
        .await?
        .into_inner();
    assert!(synced.template_count >= 2, "{synced:?}");
    let templates = m
        .list_templates(pb::ListTemplatesRequest {
            page: page(),
            channel_account_id: account.clone(),
            statuses: vec![ch::TemplateStatus::Approved as i32],
            name_query: "segui".into(),
            language_code: "es_AR".into(),
        })
        .await?
        .into_inner();
    assert_eq!(
        templates
            .templates
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        [TEMPLATE]
    );
    let sent = m
        .send_template_message(pb::SendTemplateMessageRequest {
            request_id: rid(),
            recipient: Some(
                pb::send_template_message_request::Recipient::ConversationId(conversation.clone()),
            ),
            template: Some(template(&["Carla", "4411"])),
        })
        .await?
        .into_inner();
    assert_eq!(sent.conversation_id, conversation);
    assert!(!sent.conversation_started);
    let by_template = sent_by_marta(&sent.message)?;

    // The contact's history, newest first, holds all of it.
    let history = m
        .list_contact_messages(pb::ListContactMessagesRequest {
            page: page(),
            contact_id: contact.clone(),
            channel_account_id: account.clone(),
            order: 0,
        })
        .await?
        .into_inner();
    let got: Vec<&str> = history.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        got.first().copied(),
        Some(by_template.id.as_str()),
        "newest first"
    );
    let got: BTreeSet<&str> = got.into_iter().collect();
    let want: BTreeSet<&str> = [
        inbound.id.as_str(),
        text.id.as_str(),
        reaction.id.as_str(),
        media.id.as_str(),
        by_template.id.as_str(),
    ]
    .into();
    assert_eq!(got, want);

    // The channel service serves no media downloads yet: passed on as it answers.
    let download = m
        .get_media_download_url(pb::GetMediaDownloadUrlRequest {
            message_id: media.id.clone(),
        })
        .await;
    assert_eq!(code(download), Code::Unimplemented);
    cw.stop().await
}
on_both_backends!(send_and_list_messages_as_the_holder);

/// The call answers NOT_FOUND.
macro_rules! gw_not_found {
    ($seen:ident, $name:literal, $call:expr) => {{
        match $call.await {
            Err(e) if e.code() == Code::NotFound => {}
            Err(e) => anyhow::bail!("{}: NOT_FOUND expected, got {e:?}", $name),
            Ok(r) => anyhow::bail!(
                "{}: another organization's id was served: {:?}",
                $name,
                r.into_inner()
            ),
        }
        $seen.insert($name);
    }};
}

/// The call answers NOT_FOUND, or answers and `$check` holds of the answer.
macro_rules! gw_empty {
    ($seen:ident, $name:literal, $call:expr, |$r:ident| $check:expr) => {{
        match $call.await {
            Err(e) if e.code() == Code::NotFound => {}
            Err(e) => anyhow::bail!("{}: {e:?}", $name),
            Ok(answer) => {
                let $r = answer.into_inner();
                anyhow::ensure!($check, "{}: another organization's data in {:?}", $name, $r);
            }
        }
        $seen.insert($name);
    }};
}

/// What another organization's member could have changed.
#[derive(Debug, PartialEq)]
struct Snapshot {
    contact: pb::GetContactResponse,
    ticket: Option<tk::Ticket>,
    actions: usize,
    links: Vec<tk::TicketLink>,
    messages: Vec<ch::Message>,
    work_item: Option<rpb::WorkItem>,
    sent: usize,
}

async fn snapshot(
    cw: &mut ChannelWorld,
    me: &Member,
    contact: &str,
    ticket: &str,
    work_item: &str,
) -> anyhow::Result<Snapshot> {
    let mut g = me.gateway.clone();
    Ok(Snapshot {
        contact: g
            .get_contact(pb::GetContactRequest {
                contact_id: contact.into(),
            })
            .await?
            .into_inner(),
        ticket: g
            .get_ticket(pb::GetTicketRequest {
                lookup: Some(pb::get_ticket_request::Lookup::TicketId(ticket.into())),
            })
            .await?
            .into_inner()
            .ticket,
        actions: g
            .list_ticket_actions(pb::ListTicketActionsRequest {
                page: page(),
                ticket_id: ticket.into(),
                kinds: vec![],
            })
            .await?
            .into_inner()
            .actions
            .len(),
        links: g
            .list_ticket_links(pb::ListTicketLinksRequest {
                page: page(),
                ticket_id: ticket.into(),
                conversation_ids: vec![],
            })
            .await?
            .into_inner()
            .links,
        messages: g
            .list_contact_messages(pb::ListContactMessagesRequest {
                page: page(),
                contact_id: contact.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .messages,
        work_item: cw
            .world
            .routing
            .get_work_item(rpb::GetWorkItemRequest {
                organization_id: cw.world.org.clone(),
                work_item_id: work_item.into(),
            })
            .await?
            .into_inner()
            .work_item,
        sent: cw.sim.sent().len(),
    })
}

/// A member of another organization naming this organization's ids through every RPC of these
/// sections is answered NOT_FOUND or nothing of this organization, and nothing changes here.
async fn another_organizations_ids_are_not_served(backend: Backend) -> anyhow::Result<()> {
    let mut cw = messaging_world(backend).await?;
    let org = cw.world.org.clone();
    let marta = sign_in(&mut cw.world, &org, "Marta", Role::Agent, 3).await?;
    let wa_id = "5491155550302";
    let inbound = customer_conversation(&mut cw, &marta.id, wa_id).await?;
    let (conversation, contact, account) = (
        inbound.conversation_id.clone(),
        inbound.contact_id.clone(),
        cw.account.clone(),
    );
    let contact_phone = format!("+{wa_id}");
    let mut m = marta.gateway.clone();
    m.add_contact_owner(pb::AddContactOwnerRequest {
        request_id: rid(),
        contact_id: contact.clone(),
        agent_id: marta.id.clone(),
    })
    .await?;
    let ticket = m
        .link_conversation_ticket(pb::LinkConversationTicketRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            ticket: Some(pb::link_conversation_ticket_request::Ticket::NewTicket(
                tk::NewTicket {
                    subject: "El pedido no llega".into(),
                    ..Default::default()
                },
            )),
        })
        .await?
        .into_inner()
        .ticket
        .expect("ticket");
    let item = work_item_for(&mut cw.world, &marta.id, "callback").await?;
    let before = snapshot(&mut cw, &marta, &contact, &ticket.id, &item.id).await?;

    let (org_b, bruno) = other_organization(&mut cw.world).await?;
    let mut b = bruno.gateway.clone();
    let mut seen = BTreeSet::new();

    // ---- messages ----
    gw_not_found!(
        seen,
        "ListConversationMessages",
        b.list_conversation_messages(pb::ListConversationMessagesRequest {
            page: page(),
            conversation_id: conversation.clone(),
            order: 0,
        })
    );
    gw_empty!(
        seen,
        "ListContactMessages",
        b.list_contact_messages(pb::ListContactMessagesRequest {
            page: page(),
            contact_id: contact.clone(),
            ..Default::default()
        }),
        |r| r.messages.is_empty()
    );
    gw_not_found!(
        seen,
        "GetConversationWindow",
        b.get_conversation_window(pb::GetConversationWindowRequest {
            conversation_id: conversation.clone(),
        })
    );
    gw_not_found!(
        seen,
        "SendTextMessage",
        b.send_text_message(pb::SendTextMessageRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            body: "hola".into(),
            ..Default::default()
        })
    );
    gw_not_found!(
        seen,
        "SendMediaMessage",
        b.send_media_message(pb::SendMediaMessageRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            media: Some(ch::MediaContent {
                kind: ch::MediaKind::Image as i32,
                link: "https://cdn.example.com/a.jpg".into(),
                ..Default::default()
            }),
            reply_to_message_id: String::new(),
        })
    );
    gw_not_found!(
        seen,
        "SendReaction",
        b.send_reaction(pb::SendReactionRequest {
            request_id: rid(),
            message_id: inbound.id.clone(),
            emoji: "👍".into(),
        })
    );
    gw_not_found!(
        seen,
        "SendTemplateMessage",
        b.send_template_message(pb::SendTemplateMessageRequest {
            request_id: rid(),
            recipient: Some(
                pb::send_template_message_request::Recipient::ConversationId(conversation.clone(),)
            ),
            template: Some(template(&["Carla", "4411"])),
        })
    );
    let to_contact = b
        .send_template_message(pb::SendTemplateMessageRequest {
            request_id: rid(),
            recipient: Some(pb::send_template_message_request::Recipient::Contact(
                ch::ContactRecipient {
                    channel_account_id: account.clone(),
                    contact_id: contact.clone(),
                },
            )),
            template: Some(template(&["Carla", "4411"])),
        })
        .await;
    assert_eq!(code(to_contact), Code::NotFound, "a contact on a number");
    gw_not_found!(
        seen,
        "MarkMessageRead",
        b.mark_message_read(pb::MarkMessageReadRequest {
            request_id: rid(),
            message_id: inbound.id.clone(),
        })
    );
    gw_not_found!(
        seen,
        "UploadMedia",
        b.upload_media(pb::UploadMediaRequest {
            request_id: rid(),
            channel_account_id: account.clone(),
            mime_type: "image/jpeg".into(),
            filename: "a.jpg".into(),
            data: vec![0xFF, 0xD8, 0xFF],
        })
    );
    // Not implemented by the channel service: it serves nothing to anyone.
    match b
        .get_media_download_url(pb::GetMediaDownloadUrlRequest {
            message_id: inbound.id.clone(),
        })
        .await
    {
        Err(e) if matches!(e.code(), Code::NotFound | Code::Unimplemented) => {}
        other => anyhow::bail!("GetMediaDownloadUrl: {other:?}"),
    }
    seen.insert("GetMediaDownloadUrl");
    gw_empty!(
        seen,
        "ListTemplates",
        b.list_templates(pb::ListTemplatesRequest {
            page: page(),
            channel_account_id: account.clone(),
            ..Default::default()
        }),
        |r| r.templates.is_empty()
    );
    gw_not_found!(
        seen,
        "SyncTemplates",
        b.sync_templates(pb::SyncTemplatesRequest {
            request_id: rid(),
            channel_account_id: account.clone(),
        })
    );

    // ---- contacts ----
    gw_not_found!(
        seen,
        "GetContact",
        b.get_contact(pb::GetContactRequest {
            contact_id: contact.clone(),
        })
    );
    gw_empty!(
        seen,
        "ListContacts",
        b.list_contacts(pb::ListContactsRequest {
            page: page(),
            query: wa_id.into(),
        }),
        |r| r.contacts.is_empty()
    );
    gw_empty!(
        seen,
        "CreateContact",
        b.create_contact(pb::CreateContactRequest {
            request_id: rid(),
            phone_number: contact_phone.clone(),
            display_name: "Carla en Globex".into(),
            ..Default::default()
        }),
        |r| r.created
            && r.contact
                .as_ref()
                .is_some_and(|c| c.organization_id == org_b && c.id != contact)
    );
    gw_not_found!(
        seen,
        "UpdateContact",
        b.update_contact(pb::UpdateContactRequest {
            request_id: rid(),
            contact: Some(ch::Contact {
                id: contact.clone(),
                display_name: "Robada".into(),
                ..Default::default()
            }),
            update_mask: mask(&["display_name"]),
        })
    );
    gw_not_found!(
        seen,
        "AddContactOwner",
        b.add_contact_owner(pb::AddContactOwnerRequest {
            request_id: rid(),
            contact_id: contact.clone(),
            agent_id: bruno.id.clone(),
        })
    );
    gw_empty!(
        seen,
        "RemoveContactOwner",
        b.remove_contact_owner(pb::RemoveContactOwnerRequest {
            request_id: rid(),
            contact_id: contact.clone(),
            agent_id: marta.id.clone(),
        }),
        // Answered without effect at most (the snapshot checks it).
        |_r| true
    );

    // ---- tickets ----
    gw_empty!(
        seen,
        "CreateTicket",
        b.create_ticket(pb::CreateTicketRequest {
            request_id: rid(),
            ticket: Some(tk::NewTicket {
                subject: "Propio".into(),
                requester: Some(tk::Requester {
                    name: "Bea".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }),
        |r| r
            .ticket
            .as_ref()
            .is_some_and(|t| t.organization_id == org_b && actor_id(&t.created_by) == bruno.id)
    );
    gw_not_found!(
        seen,
        "GetTicket",
        b.get_ticket(pb::GetTicketRequest {
            lookup: Some(pb::get_ticket_request::Lookup::TicketId(ticket.id.clone())),
        })
    );
    let by_number = b
        .get_ticket(pb::GetTicketRequest {
            lookup: Some(pb::get_ticket_request::Lookup::Number(ticket.number)),
        })
        .await?
        .into_inner()
        .ticket
        .expect("Globex's own ticket with that number");
    assert_eq!(by_number.organization_id, org_b);
    assert_ne!(by_number.id, ticket.id);
    gw_empty!(
        seen,
        "ListTickets",
        b.list_tickets(pb::ListTicketsRequest {
            page: page(),
            query: "pedido".into(),
            ..Default::default()
        }),
        |r| r.tickets.iter().all(|t| t.organization_id == org_b)
            && r.tickets.iter().all(|t| t.id != ticket.id)
    );
    gw_not_found!(
        seen,
        "UpdateTicket",
        b.update_ticket(pb::UpdateTicketRequest {
            request_id: rid(),
            ticket: Some(tk::Ticket {
                id: ticket.id.clone(),
                subject: "Robado".into(),
                ..Default::default()
            }),
            update_mask: mask(&["subject"]),
            expected_update_time: None,
        })
    );
    gw_not_found!(
        seen,
        "AddTicketComment",
        b.add_ticket_comment(pb::AddTicketCommentRequest {
            request_id: rid(),
            ticket_id: ticket.id.clone(),
            body: "hola".into(),
            internal: true,
        })
    );
    gw_empty!(
        seen,
        "ListTicketActions",
        b.list_ticket_actions(pb::ListTicketActionsRequest {
            page: page(),
            ticket_id: ticket.id.clone(),
            kinds: vec![],
        }),
        |r| r.actions.is_empty()
    );
    gw_not_found!(
        seen,
        "LinkConversationTicket",
        b.link_conversation_ticket(pb::LinkConversationTicketRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            ticket: Some(pb::link_conversation_ticket_request::Ticket::TicketId(
                ticket.id.clone(),
            )),
        })
    );
    let new_link = b
        .link_conversation_ticket(pb::LinkConversationTicketRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            ticket: Some(pb::link_conversation_ticket_request::Ticket::NewTicket(
                tk::NewTicket {
                    subject: "Nuevo".into(),
                    ..Default::default()
                },
            )),
        })
        .await;
    assert_eq!(code(new_link), Code::NotFound, "a new ticket for it");
    gw_not_found!(
        seen,
        "UnlinkConversationTicket",
        b.unlink_conversation_ticket(pb::UnlinkConversationTicketRequest {
            request_id: rid(),
            conversation_id: conversation.clone(),
            ticket_id: ticket.id.clone(),
        })
    );
    gw_empty!(
        seen,
        "ListTicketLinks",
        b.list_ticket_links(pb::ListTicketLinksRequest {
            page: page(),
            ticket_id: ticket.id.clone(),
            conversation_ids: vec![],
        }),
        |r| r.links.is_empty()
    );
    let by_conversation = b
        .list_ticket_links(pb::ListTicketLinksRequest {
            page: page(),
            ticket_id: String::new(),
            conversation_ids: vec![conversation.clone()],
        })
        .await?
        .into_inner();
    assert!(by_conversation.links.is_empty(), "{by_conversation:?}");

    // ---- work items ----
    gw_empty!(
        seen,
        "ListWorkItems",
        b.list_work_items(pb::ListWorkItemsRequest {
            page: page(),
            agent_id: marta.id.clone(),
            ..Default::default()
        }),
        |r| r.work_items.is_empty()
    );
    let everyone = b
        .list_work_items(pb::ListWorkItemsRequest {
            page: page(),
            all_agents: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(everyone.work_items.is_empty(), "{everyone:?}");
    gw_not_found!(
        seen,
        "AcceptWorkItem",
        b.accept_work_item(pb::AcceptWorkItemRequest {
            request_id: rid(),
            work_item_id: item.id.clone(),
        })
    );
    gw_not_found!(
        seen,
        "CompleteWorkItem",
        b.complete_work_item(pb::CompleteWorkItemRequest {
            request_id: rid(),
            work_item_id: item.id.clone(),
            outcome: "robado".into(),
        })
    );

    assert_eq!(seen.len(), 30, "every RPC of the four sections: {seen:?}");
    let after = snapshot(&mut cw, &marta, &contact, &ticket.id, &item.id).await?;
    assert_eq!(before, after, "nothing changed in Acme");
    assert_eq!(
        before
            .contact
            .owners
            .iter()
            .map(|o| o.agent_id.as_str())
            .collect::<Vec<_>>(),
        [marta.id.as_str()]
    );
    assert_eq!(before.links.len(), 1);
    cw.stop().await
}
on_both_backends!(another_organizations_ids_are_not_served);
