//! Ticketing (issue 13) over real gRPC with routing, channel and presence, on both backends:
//! per-organization numbering, search (numbers, accents both ways, comments, appended
//! histories, ranking, tenancy, pagination), updates, links, the history appended exactly once,
//! customer-proposed links and the close policy.

use std::{sync::Arc, time::Duration};

use switchboard_proto::{
    channel::v1::MessageAttached,
    common::v1::{PageRequest, Role},
    routing::v1::{ConversationChanged, ConversationState, TransitionCause},
    ticketing::v1::{self as pb, link_conversation_request::Ticket as Target},
};
use switchboard_runtime::{Service, ids::OrganizationId, metrics::Metrics, outbox::RelayWaker};
use switchboard_testkit::Backend;
use switchboard_ticketing::app::{
    Ticketing, TicketingMetrics, channel::ChannelMessages, directory::RoutingDirectory,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    on_both_backends,
    routing_support::rid,
    ticketing_support::{TicketWorld, event, history_count, new_ticket},
};

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Another organization, created through routing, with its admin.
async fn other_org(t: &mut TicketWorld) -> anyhow::Result<(String, String)> {
    use switchboard_proto::routing::v1 as rt;
    let org =
        t.w.world
            .routing
            .create_organization(rt::CreateOrganizationRequest {
                request_id: rid(),
                name: "Otra".into(),
                default_agent_capacity: 3,
                ..Default::default()
            })
            .await?
            .into_inner()
            .organization
            .expect("organization")
            .id;
    let admin =
        t.w.world
            .routing
            .create_agent(rt::CreateAgentRequest {
                request_id: rid(),
                organization_id: org.clone(),
                agent: Some(rt::Agent {
                    display_name: "Admin2".into(),
                    email: format!("admin2-{}@otra.test", rid()),
                    role: Role::Admin as i32,
                    capacity: 1,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await?
            .into_inner()
            .agent
            .expect("agent")
            .id;
    Ok((org, admin))
}

async fn numbers_are_per_organization_and_bad_input_changes_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut t = TicketWorld::new(backend).await?;
    let (org2, admin2) = other_org(&mut t).await?;
    let org = t.org();
    let admin = t.admin();
    let mut numbers = Vec::new();
    for i in 0..3 {
        numbers.push(
            t.create_in(&org, &admin, &format!("A{i}"), "")
                .await?
                .number,
        );
    }
    let mut others = Vec::new();
    for i in 0..2 {
        others.push(
            t.create_in(&org2, &admin2, &format!("B{i}"), "")
                .await?
                .number,
        );
    }
    assert_eq!(numbers, [1, 2, 3], "numbers start at 1 per organization");
    assert_eq!(others, [1, 2], "another organization numbers independently");

    let bad = t
        .tickets
        .create_ticket(pb::CreateTicketRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            ticket: Some(pb::NewTicket {
                subject: " ".into(),
                description: "x".repeat(10_001),
                requester: Some(pb::Requester::default()),
                ..Default::default()
            }),
        })
        .await
        .expect_err("bad input");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let f = fields(&bad);
    for field in ["ticket.subject", "ticket.description", "ticket.requester"] {
        assert!(f.iter().any(|x| x == field), "{field} named in {f:?}");
    }
    let long = t
        .tickets
        .create_ticket(pb::CreateTicketRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            ticket: Some(new_ticket(&"s".repeat(201), "")),
        })
        .await
        .expect_err("subject too long");
    assert_eq!(fields(&long), ["ticket.subject"]);
    // An agent of another organization is not an agent here.
    let stranger = t
        .tickets
        .create_ticket(pb::CreateTicketRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin2.clone(),
            ticket: Some(new_ticket("x", "")),
        })
        .await
        .expect_err("unknown actor");
    assert_eq!(stranger.code(), Code::PermissionDenied);
    assert_eq!(
        t.create_in(&org, &admin, "A3", "").await?.number,
        4,
        "nothing was taken"
    );
    t.w.stop().await
}
on_both_backends!(numbers_are_per_organization_and_bad_input_changes_nothing);

async fn search_finds_numbers_accents_comments_histories_ranked_and_scoped(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut t = TicketWorld::new(backend).await?;
    let org = t.org();
    let (org2, admin2) = other_org(&mut t).await?;
    // #1..#6 fillers, then the interesting ones.
    for i in 1..=6 {
        t.create(&format!("Consulta general {i}"), "sin detalles")
            .await?;
    }
    let cancel = t
        .create(
            "Solicitud de cancelación",
            "El cliente pide la cancelación del plan",
        )
        .await?; // #7
    let nao = t
        .create("Pedido não entregue", "reclamação do cliente")
        .await?; // #8
    let weak = t
        .create("Factura", "menciona cancelacion una vez al final")
        .await?; // #9
    let noted = t.create("Cambio de domicilio", "").await?; // #10
    t.comment(&noted.id, "el repartidor dejó el paquete en portería")
        .await?;
    t.create_in(
        &org2,
        &admin2,
        "Solicitud de cancelación ajena",
        "cancelación",
    )
    .await?;
    assert_eq!(cancel.number, 7);

    assert_eq!(t.search(&org, "7").await?, (vec![7], 1), "by number");
    assert_eq!(t.search(&org, "#7").await?, (vec![7], 1), "by #number");
    assert_eq!(t.search(&org, "#70").await?, (vec![], 0), "no such number");

    let (found, total) = t.search(&org, "cancelacion").await?;
    assert_eq!(
        total, 2,
        "without the accent finds both, and nothing of org2: {found:?}"
    );
    assert_eq!(
        found,
        [7, 9],
        "the subject-and-description match ranks first"
    );
    let (found, _) = t.search(&org, "cancelación").await?;
    assert_eq!(found, [7, 9], "with the accent, same answer");
    assert_eq!(
        t.search(&org, "nao").await?.0,
        [nao.number],
        "não without tilde"
    );
    assert_eq!(t.search(&org, "reclamacao").await?.0, [nao.number]);
    assert_eq!(t.search(&org, "reclamação").await?.0, [nao.number]);
    assert_eq!(t.search(&org, "NÃO ENTREGUE").await?.0, [nao.number]);
    assert_eq!(
        t.search(&org, "porteria").await?.0,
        [noted.number],
        "comment words"
    );
    // A new subject replaces the old words and keeps the comment's.
    let admin = t.admin();
    t.tickets
        .update_ticket(pb::UpdateTicketRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin,
            ticket: Some(pb::Ticket {
                id: noted.id.clone(),
                subject: "Mudanza urgente".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["subject".into()],
            }),
            expected_update_time: None,
        })
        .await?;
    assert_eq!(
        t.search(&org, "mudanza").await?.0,
        [noted.number],
        "new subject"
    );
    assert_eq!(
        t.search(&org, "domicilio").await?.0,
        Vec::<i64>::new(),
        "old subject"
    );
    assert_eq!(
        t.search(&org, "porteria").await?.0,
        [noted.number],
        "comment kept"
    );
    assert_eq!(
        t.search(&org, "cancelación -factura").await?.0,
        [7],
        "excluded word"
    );
    assert_eq!(
        t.search(&org2, "cancelacion").await?,
        (vec![1], 1),
        "org2 sees its own"
    );
    let _ = weak;

    // Pagination with total_size, and tokens bound to their query.
    let first = t
        .tickets
        .list_tickets(pb::ListTicketsRequest {
            organization_id: org.clone(),
            query: "consulta".into(),
            page: Some(PageRequest {
                page_size: 4,
                page_token: String::new(),
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    let page = first.page.clone().expect("page");
    assert_eq!(page.total_size, Some(6));
    assert_eq!(first.tickets.len(), 4);
    assert!(!page.next_page_token.is_empty());
    let second = t
        .tickets
        .list_tickets(pb::ListTicketsRequest {
            organization_id: org.clone(),
            query: "consulta".into(),
            page: Some(PageRequest {
                page_size: 4,
                page_token: page.next_page_token.clone(),
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(second.tickets.len(), 2);
    assert!(second.page.expect("page").next_page_token.is_empty());
    let mut all: Vec<i64> = first
        .tickets
        .iter()
        .chain(&second.tickets)
        .map(|t| t.number)
        .collect();
    all.sort_unstable();
    assert_eq!(all, [1, 2, 3, 4, 5, 6], "no ticket skipped or repeated");
    for token in [page.next_page_token.clone(), "garbage".to_string()] {
        let err = t
            .tickets
            .list_tickets(pb::ListTicketsRequest {
                organization_id: org.clone(),
                query: "cancelacion".into(),
                page: Some(PageRequest {
                    page_size: 4,
                    page_token: token,
                }),
                ..Default::default()
            })
            .await
            .expect_err("a token of another query");
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(fields(&err), ["page.page_token"]);
    }
    // Without a query: everything, most recently updated first (the commented one).
    let (recent, total) = t.search(&org, "").await?;
    assert_eq!(total, 10);
    assert_eq!(recent[0], noted.number);
    t.w.stop().await
}
on_both_backends!(search_finds_numbers_accents_comments_histories_ranked_and_scoped);

async fn updates_record_changes_refuse_stale_writes_and_guard_closed_tickets(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut t = TicketWorld::new(backend).await?;
    let org = t.org();
    let admin = t.admin();
    let agent = t.agent("Beto", Role::Agent).await?;
    let operator = t.agent("Olga", Role::Operator).await?;
    let ticket = t.create("No funciona", "").await?;
    let update =
        |actor: &str, changes: pb::Ticket, paths: &[&str], expected| pb::UpdateTicketRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: actor.into(),
            ticket: Some(changes),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
            expected_update_time: expected,
        };
    let changed = t
        .tickets
        .update_ticket(update(
            &agent,
            pb::Ticket {
                id: ticket.id.clone(),
                subject: "No funciona nada".into(),
                priority: pb::TicketPriority::High as i32,
                status: pb::TicketStatus::Pending as i32,
                ..Default::default()
            },
            &["subject", "priority", "status"],
            ticket.update_time,
        ))
        .await?
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(changed.subject, "No funciona nada");
    let actions = t.actions(&ticket.id).await?;
    let updated = actions
        .iter()
        .find(|a| a.kind == pb::TicketActionKind::Updated as i32)
        .expect("an UPDATED action");
    let recorded: Vec<(&str, &str, &str)> = updated
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.old_value.as_str(), c.new_value.as_str()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("subject", "No funciona", "No funciona nada"),
            ("priority", "normal", "high"),
            ("status", "open", "pending"),
        ]
    );
    assert_eq!(updated.actor.as_ref().expect("actor").id, agent);

    // The first read's update_time is stale now.
    let stale = t
        .tickets
        .update_ticket(update(
            &agent,
            pb::Ticket {
                id: ticket.id.clone(),
                subject: "otra cosa".into(),
                ..Default::default()
            },
            &["subject"],
            ticket.update_time,
        ))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(
        stale.get_details_error_info().expect("info").reason,
        "ERROR_REASON_CONCURRENT_UPDATE"
    );

    let closing = |actor: &str, status: pb::TicketStatus| {
        update(
            actor,
            pb::Ticket {
                id: ticket.id.clone(),
                status: status as i32,
                ..Default::default()
            },
            &["status"],
            None,
        )
    };
    t.tickets
        .update_ticket(closing(&agent, pb::TicketStatus::Closed))
        .await?;
    let edit = t
        .tickets
        .update_ticket(update(
            &admin,
            pb::Ticket {
                id: ticket.id.clone(),
                subject: "cambio".into(),
                ..Default::default()
            },
            &["subject"],
            None,
        ))
        .await
        .expect_err("a closed ticket is not edited");
    assert_eq!(edit.code(), Code::FailedPrecondition);
    let reopen = t
        .tickets
        .update_ticket(closing(&agent, pb::TicketStatus::Open))
        .await
        .expect_err("an agent does not reopen");
    assert_eq!(reopen.code(), Code::PermissionDenied);
    let reopened = t
        .tickets
        .update_ticket(closing(&operator, pb::TicketStatus::Open))
        .await?
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(reopened.status, pb::TicketStatus::Open as i32);
    assert!(reopened.close_time.is_none());
    let bad = t
        .tickets
        .update_ticket(update(&agent, pb::Ticket::default(), &["number"], None))
        .await
        .expect_err("bad mask");
    assert_eq!(bad.code(), Code::InvalidArgument);
    t.w.stop().await
}
on_both_backends!(updates_record_changes_refuse_stale_writes_and_guard_closed_tickets);

async fn links_hold_one_ticket_per_conversation_until_the_history_is_appended(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut t = TicketWorld::new(backend).await?;
    let lucia = t.w.agent.clone();
    let stranger = t.agent("Beto", Role::Agent).await?;
    let conversation = t
        .customer_conversation(&["Hola, mi pedido no llegó"])
        .await?;
    let existing = t.create("Pedido demorado", "").await?;

    let refused = t
        .link(
            &stranger,
            &conversation.id,
            Target::TicketId(existing.id.clone()),
        )
        .await
        .expect_err("not the holder");
    assert_eq!(refused.code(), Code::PermissionDenied);

    // Create-and-link in one step, by the holder.
    let created = t
        .link(
            &lucia,
            &conversation.id,
            Target::NewTicket(new_ticket("Pedido no llegó", "")),
        )
        .await?;
    let ticket = created.ticket.expect("ticket");
    assert_eq!(ticket.linked_conversation_count, 1);
    let link = created.link.expect("link");
    assert_eq!(link.ticket_number, ticket.number);
    assert_eq!(link.contact_id, conversation.contact_id);
    // Again to the same ticket: the same link.
    let again = t
        .link(
            &lucia,
            &conversation.id,
            Target::TicketId(ticket.id.clone()),
        )
        .await?;
    assert_eq!(again.link.expect("link").ticket_id, ticket.id);
    // Another ticket: unlink first.
    let second = t
        .link(
            &lucia,
            &conversation.id,
            Target::TicketId(existing.id.clone()),
        )
        .await
        .expect_err("a second ticket");
    assert_eq!(second.code(), Code::AlreadyExists);

    let links = t
        .tickets
        .list_ticket_links(pb::ListTicketLinksRequest {
            organization_id: t.org(),
            conversation_ids: vec![conversation.id.clone()],
            ..Default::default()
        })
        .await?
        .into_inner()
        .links;
    assert_eq!(links.len(), 1);

    let org = t.org();
    let unlink = |actor: &str, ticket: &str| pb::UnlinkConversationRequest {
        request_id: rid(),
        organization_id: org.clone(),
        actor_agent_id: actor.into(),
        conversation_id: conversation.id.clone(),
        ticket_id: ticket.into(),
    };
    let admin = t.admin();
    let req = unlink(&admin, &ticket.id);
    t.tickets.unlink_conversation(req).await?;
    let relinked = t
        .link(
            &lucia,
            &conversation.id,
            Target::TicketId(existing.id.clone()),
        )
        .await?;
    assert_eq!(relinked.ticket.expect("ticket").number, existing.number);

    // Close it: the history is appended, the link stays for good.
    t.w.world.open(&lucia, &conversation.id).await?;
    t.w.world.close(&lucia, &conversation.id).await?;
    t.until_actions(&existing.id, "history appended", |a| history_count(a) == 1)
        .await?;
    let req = unlink(&lucia, &existing.id);
    let late = t
        .tickets
        .unlink_conversation(req)
        .await
        .expect_err("history appended");
    assert_eq!(late.code(), Code::FailedPrecondition);
    t.w.stop().await
}
on_both_backends!(links_hold_one_ticket_per_conversation_until_the_history_is_appended);

/// The ticketing app on the service's own storage, as a restarted consumer would run it.
async fn restarted_consumer(t: &TicketWorld) -> anyhow::Result<Ticketing> {
    let infra = t.w.world.suite.infra().expect("running");
    let db = switchboard_runtime::db::connect(&infra.settings.database, Service::Ticketing).await?;
    Ok(Ticketing::new(
        switchboard_ticketing::store::Store::new(db, RelayWaker::default()),
        Arc::new(RoutingDirectory::new(infra.endpoints.clone())),
        Arc::new(ChannelMessages::new(infra.endpoints.clone())),
        infra.clock.clone(),
        TicketingMetrics::new(&Metrics::new()),
    ))
}

async fn history_is_appended_exactly_once_whatever_the_redeliveries(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut t = TicketWorld::new(backend).await?;
    let lucia = t.w.agent.clone();
    let conversation = t
        .customer_conversation(&["Hola", "quiero la cancelación de mi línea"])
        .await?;
    let ticket = t
        .link(
            &lucia,
            &conversation.id,
            Target::NewTicket(new_ticket("Baja", "")),
        )
        .await?
        .ticket
        .expect("ticket");
    t.w.world.open(&lucia, &conversation.id).await?;
    t.w.world.close(&lucia, &conversation.id).await?;

    // The same close event, one id, delivered five times on the bus.
    let closed = ConversationChanged {
        conversation_id: conversation.id.clone(),
        state: ConversationState::Closed as i32,
        cause: TransitionCause::Closed as i32,
        channel_account_id: conversation.channel_account_id.clone(),
        contact_id: conversation.contact_id.clone(),
        version: 99,
        ..Default::default()
    };
    let replayed = event(&t.org(), &conversation.id, &closed);
    let bus = t.w.world.suite.infra().expect("running").bus.clone();
    for _ in 0..5 {
        bus.publish(&replayed).await?;
    }
    let actions = t
        .until_actions(&ticket.id, "history appended", |a| history_count(a) >= 1)
        .await?;
    // The consumer committed; a restarted one handles the same events again before any ack.
    let restarted = restarted_consumer(&t).await?;
    for _ in 0..5 {
        restarted
            .on_conversation_changed(&replayed)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let again = t
        .tickets
        .append_conversation_history(pb::AppendConversationHistoryRequest {
            organization_id: t.org(),
            conversation_id: conversation.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(
        again.linked && !again.appended,
        "the RPC finds it done: {again:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = t.actions(&ticket.id).await?;
    assert_eq!(history_count(&after), 1, "exactly one history: {after:?}");
    let history = after
        .iter()
        .find(|a| a.kind == pb::TicketActionKind::ConversationHistory as i32)
        .expect("history");
    assert_eq!(again.action.as_ref().map(|a| &a.id), Some(&history.id));
    let texts: Vec<&str> = history
        .transcript
        .as_ref()
        .expect("transcript")
        .entries
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        texts,
        ["Hola", "quiero la cancelación de mi línea"],
        "as they were"
    );
    let transcript = history.transcript.as_ref().expect("transcript");
    assert_eq!(
        transcript.channel_account_id,
        conversation.channel_account_id
    );
    assert_eq!(transcript.closed_by.as_ref().expect("closer").id, lucia);
    assert_eq!(history_count(&actions), 1);
    // The SRE sees one append and the redeliveries found it done.
    let text = reqwest::get(format!("http://{}/metrics", t.w.world.suite.metrics))
        .await?
        .text()
        .await?;
    let count = |outcome: &str| {
        switchboard_runtime::metrics::sum_samples(
            &text,
            "switchboard_ticketing_histories_total",
            &[("outcome", outcome)],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(count("appended"), 1.0, "{text}");
    assert!(count("already") >= 1.0, "the RPC found it done");
    assert!(
        text.contains("switchboard_ticketing_search_seconds"),
        "search timing exported"
    );
    // And the history is searchable.
    let org = t.org();
    assert_eq!(
        t.search(&org, "linea cancelacion").await?.0,
        [ticket.number]
    );
    t.w.stop().await
}
on_both_backends!(history_is_appended_exactly_once_whatever_the_redeliveries);

async fn customer_messages_propose_tickets_agents_confirm_or_reject(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut t = TicketWorld::new(backend).await?;
    let org = t.org();
    let lucia = t.w.agent.clone();
    t.create("Primero", "").await?;
    let second = t.create("Segundo", "").await?;
    let third = t.create("Tercero", "").await?;
    let conversation = t.customer_conversation(&["Hola"]).await?;
    let bus = t.w.world.suite.infra().expect("running").bus.clone();
    let attached = |text: &str| MessageAttached {
        message_id: format!("msg_{}", rid()),
        conversation_id: conversation.id.clone(),
        channel_account_id: conversation.channel_account_id.clone(),
        contact_id: conversation.contact_id.clone(),
        kind: "text".into(),
        text: text.into(),
        message_ms: 0,
    };
    let tengo = event(&org, "msg", &attached("tengo el ticket #2"));
    bus.publish(&tengo).await?;
    bus.publish(&tengo).await?;
    bus.publish(&event(&org, "msg", &attached("y el chamado nº 999?")))
        .await?;
    bus.publish(&event(&org, "msg", &attached("también el caso 3")))
        .await?;
    let list = |statuses: Vec<i32>| pb::ListTicketProposalsRequest {
        organization_id: org.clone(),
        conversation_ids: vec![conversation.id.clone()],
        statuses,
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let proposals = loop {
        let p = t
            .tickets
            .list_ticket_proposals(list(vec![]))
            .await?
            .into_inner()
            .proposals;
        if p.len() >= 2 || tokio::time::Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let proposals_now = t
        .tickets
        .list_ticket_proposals(list(vec![]))
        .await?
        .into_inner()
        .proposals;
    assert_eq!(
        proposals_now.len(),
        2,
        "#2 once and #3; #999 proposes nothing: {proposals_now:?}"
    );
    let for_two = proposals
        .iter()
        .find(|p| p.ticket_number == 2)
        .expect("a proposal for #2");
    assert_eq!(for_two.ticket_id, second.id);
    assert_eq!(for_two.evidence, "ticket #2");
    assert_eq!(for_two.source, pb::ProposalSource::CustomerMessage as i32);
    assert_eq!(for_two.status, pb::ProposalStatus::Proposed as i32);
    let for_three = proposals
        .iter()
        .find(|p| p.ticket_number == 3)
        .expect("a proposal for #3");

    // A proposal does not satisfy the close rule.
    let admin = t.admin();
    t.tickets
        .update_close_policy(pb::UpdateClosePolicyRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: admin.clone(),
            policy: Some(pb::ClosePolicy {
                require_ticket: true,
                ..Default::default()
            }),
        })
        .await?;
    let check = || pb::CheckClosePolicyRequest {
        organization_id: org.clone(),
        conversation_id: conversation.id.clone(),
        channel_account_id: conversation.channel_account_id.clone(),
        team_id: conversation.team_id.clone(),
    };
    let before = t.tickets.check_close_policy(check()).await?.into_inner();
    assert!(before.ticket_required && !before.allowed, "{before:?}");

    let rejected = t
        .tickets
        .reject_ticket_proposal(pb::RejectTicketProposalRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: lucia.clone(),
            proposal_id: for_three.id.clone(),
        })
        .await?
        .into_inner()
        .proposal
        .expect("proposal");
    assert_eq!(rejected.status, pb::ProposalStatus::Rejected as i32);
    assert_eq!(rejected.decided_by.expect("who").id, lucia);
    assert!(rejected.decide_time.is_some());
    let confirmed = t
        .tickets
        .confirm_ticket_proposal(pb::ConfirmTicketProposalRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: lucia.clone(),
            proposal_id: for_two.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(confirmed.link.expect("link").ticket_id, second.id);
    assert_eq!(
        confirmed.proposal.expect("proposal").status,
        pb::ProposalStatus::Confirmed as i32
    );
    let twice = t
        .tickets
        .reject_ticket_proposal(pb::RejectTicketProposalRequest {
            request_id: rid(),
            organization_id: org.clone(),
            actor_agent_id: lucia.clone(),
            proposal_id: for_two.id.clone(),
        })
        .await
        .expect_err("decided already");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let after = t.tickets.check_close_policy(check()).await?.into_inner();
    assert!(after.allowed, "linked now: {after:?}");
    assert_eq!(after.link.expect("link").ticket_number, 2);

    // An internal service proposes by number; an unknown number is NOT_FOUND.
    let missing = t
        .tickets
        .propose_ticket_link(pb::ProposeTicketLinkRequest {
            request_id: rid(),
            organization_id: org.clone(),
            conversation_id: conversation.id.clone(),
            contact_id: conversation.contact_id.clone(),
            ticket_number: 999,
            proposer: "faq-bot".into(),
        })
        .await
        .expect_err("no #999");
    assert_eq!(missing.code(), Code::NotFound);
    let bot = t
        .tickets
        .propose_ticket_link(pb::ProposeTicketLinkRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            conversation_id: conversation.id.clone(),
            contact_id: conversation.contact_id.clone(),
            ticket_number: third.number,
            proposer: "faq-bot".into(),
        })
        .await?
        .into_inner()
        .proposal
        .expect("proposal");
    assert_eq!(bot.id, for_three.id, "the existing proposal of that ticket");
    t.w.stop().await
}
on_both_backends!(customer_messages_propose_tickets_agents_confirm_or_reject);

async fn close_policy_is_read_by_all_changed_by_admins_and_checked(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut t = TicketWorld::new(backend).await?;
    let org = t.org();
    let operator = t.agent("Olga", Role::Operator).await?;
    let lucia = t.w.agent.clone();
    let conversation = t.customer_conversation(&["Hola"]).await?;
    let policy = t
        .tickets
        .get_close_policy(pb::GetClosePolicyRequest {
            organization_id: org.clone(),
        })
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(!policy.require_ticket, "off until set");
    let put = |actor: &str, p: pb::ClosePolicy| pb::UpdateClosePolicyRequest {
        request_id: rid(),
        organization_id: org.clone(),
        actor_agent_id: actor.into(),
        policy: Some(p),
    };
    let denied = t
        .tickets
        .update_close_policy(put(
            &operator,
            pb::ClosePolicy {
                require_ticket: true,
                ..Default::default()
            },
        ))
        .await
        .expect_err("operators do not change it");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let bad = t
        .tickets
        .update_close_policy(put(
            &t.admin(),
            pb::ClosePolicy {
                require_ticket: true,
                team_ids: vec!["nope".into()],
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad team id");
    assert_eq!(fields(&bad), ["policy.team_ids[0]"]);
    // Another organization's number and team are refused by name, and nothing changes.
    let (org2, admin2) = other_org(&mut t).await?;
    let foreign_number =
        crate::routing_support::channel_account(&t.w.world.suite, &org2, &admin2).await?;
    let foreign_team =
        t.w.world
            .routing
            .create_team(switchboard_proto::routing::v1::CreateTeamRequest {
                request_id: rid(),
                organization_id: org2.clone(),
                actor_agent_id: admin2.clone(),
                team: Some(switchboard_proto::routing::v1::Team {
                    name: "Ajeno".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await?
            .into_inner()
            .team
            .expect("team")
            .id;
    let foreign = t
        .tickets
        .update_close_policy(put(
            &t.admin(),
            pb::ClosePolicy {
                require_ticket: true,
                channel_account_ids: vec![conversation.channel_account_id.clone(), foreign_number],
                team_ids: vec![foreign_team],
                ..Default::default()
            },
        ))
        .await
        .expect_err("another organization's ids");
    assert_eq!(
        fields(&foreign),
        ["policy.channel_account_ids[1]", "policy.team_ids[0]"]
    );
    let unchanged = t
        .tickets
        .get_close_policy(pb::GetClosePolicyRequest {
            organization_id: org.clone(),
        })
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(
        !unchanged.require_ticket,
        "a refused update changes nothing"
    );
    let check = |account: &str| pb::CheckClosePolicyRequest {
        organization_id: org.clone(),
        conversation_id: conversation.id.clone(),
        channel_account_id: account.into(),
        team_id: conversation.team_id.clone(),
    };
    let open = t
        .tickets
        .check_close_policy(check(&conversation.channel_account_id))
        .await?;
    assert!(open.get_ref().allowed && !open.get_ref().ticket_required);

    let other_number = switchboard_runtime::ids::ChannelAccountId::generate().to_string();
    let admin = t.admin();
    t.tickets
        .update_close_policy(put(
            &admin,
            pb::ClosePolicy {
                require_ticket: true,
                channel_account_ids: vec![conversation.channel_account_id.clone()],
                ..Default::default()
            },
        ))
        .await?;
    let read = t
        .tickets
        .get_close_policy(pb::GetClosePolicyRequest {
            organization_id: org.clone(),
        })
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(read.require_ticket);
    assert_eq!(
        read.channel_account_ids,
        std::slice::from_ref(&conversation.channel_account_id)
    );
    let refused = t
        .tickets
        .check_close_policy(check(&conversation.channel_account_id))
        .await?
        .into_inner();
    assert!(refused.ticket_required && !refused.allowed);
    let elsewhere = t
        .tickets
        .check_close_policy(check(&other_number))
        .await?
        .into_inner();
    assert!(
        !elsewhere.ticket_required && elsewhere.allowed,
        "limited to its number"
    );
    let ticket = t.create("Caso", "").await?;
    t.link(
        &lucia,
        &conversation.id,
        Target::TicketId(ticket.id.clone()),
    )
    .await?;
    let allowed = t
        .tickets
        .check_close_policy(check(&conversation.channel_account_id))
        .await?
        .into_inner();
    assert!(allowed.allowed && allowed.ticket_required);
    assert_eq!(allowed.link.expect("link").ticket_id, ticket.id);
    // Another organization's policy is its own.
    let (org2, _) = other_org(&mut t).await?;
    let theirs = t
        .tickets
        .get_close_policy(pb::GetClosePolicyRequest {
            organization_id: org2,
        })
        .await?
        .into_inner()
        .policy
        .expect("policy");
    assert!(!theirs.require_ticket);
    let _ = OrganizationId::generate();
    t.w.stop().await
}
on_both_backends!(close_policy_is_read_by_all_changed_by_admins_and_checked);

async fn a_customer_naming_a_ticket_in_a_signed_webhook_proposes_it(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut t = TicketWorld::new(backend).await?;
    let org = t.org();
    t.create("Primero", "").await?;
    let second = t.create("Segundo", "").await?;
    // Through Meta's signed webhook, as WhatsApp delivers it.
    let conversation = t
        .customer_conversation(&["Hola, tengo el ticket #2", "y también el #999"])
        .await?;
    let list = pb::ListTicketProposalsRequest {
        organization_id: org.clone(),
        conversation_ids: vec![conversation.id.clone()],
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let proposals = loop {
        let p = t
            .tickets
            .list_ticket_proposals(list.clone())
            .await?
            .into_inner()
            .proposals;
        if !p.is_empty() || tokio::time::Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = t
        .tickets
        .list_ticket_proposals(list)
        .await?
        .into_inner()
        .proposals;
    assert_eq!(settled, proposals, "#999 proposes nothing, #2 once");
    assert_eq!(proposals.len(), 1, "{proposals:?}");
    let p = &proposals[0];
    assert_eq!(
        (p.ticket_id.as_str(), p.ticket_number),
        (second.id.as_str(), 2)
    );
    assert_eq!(p.status, pb::ProposalStatus::Proposed as i32);
    assert_eq!(p.source, pb::ProposalSource::CustomerMessage as i32);
    assert_eq!(p.evidence, "ticket #2");
    assert_eq!(p.contact_id, conversation.contact_id);
    assert!(p.message_id.starts_with("msg_"), "{p:?}");
    // Routing shows the pending proposal on the conversation.
    let shown =
        t.w.world
            .until(&conversation.id, "proposal shown", |c| {
                c.proposed_ticket.as_ref().is_some_and(|r| r.number == 2)
            })
            .await;
    assert!(shown.is_ok(), "{shown:?}");
    t.w.stop().await
}
on_both_backends!(a_customer_naming_a_ticket_in_a_signed_webhook_proposes_it);
