//! Routing and ticketing together: a conversation whose organization requires a ticket closes
//! only once it is linked (the close rule asked at every close; ticketing unreachable leaves the
//! conversation as it was), and conversations show their ticket's number, in the Expired list
//! too, kept current from ticketing's link events.

use std::time::Duration;

use switchboard_proto::{
    routing::v1::{self as pb, ConversationState as S, TeamStrategy},
    ticketing::v1::{
        self as tk, link_conversation_request::Ticket as LinkTo,
        ticketing_service_client::TicketingServiceClient,
    },
};
use switchboard_runtime::Service;
use switchboard_testkit::{Backend, TestEnv};
use tonic::transport::Channel;

use crate::{
    on_both_backends,
    routing_support::{World, channel_account, reason, rid, state, team_target},
};

async fn ticketing(w: &World) -> anyhow::Result<TicketingServiceClient<Channel>> {
    Ok(TicketingServiceClient::new(
        w.suite.channel(Service::Ticketing).await?,
    ))
}

/// Ana (capacity 3, available) in the team every conversation of the number goes to.
async fn soporte(w: &mut World) -> anyhow::Result<String> {
    let ana = w.agent("Ana", 3).await?;
    let team = w
        .team("Soporte", TeamStrategy::LeastOpen, &[&ana], |_| {})
        .await?;
    w.link(&[&team], &[], Some(team_target(&team))).await?;
    Ok(ana)
}

async fn require_tickets(w: &World) -> anyhow::Result<()> {
    ticketing(w)
        .await?
        .update_close_policy(tk::UpdateClosePolicyRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: w.admin.clone(),
            policy: Some(tk::ClosePolicy {
                require_ticket: true,
                ..Default::default()
            }),
        })
        .await?;
    Ok(())
}

async fn link_new_ticket(
    w: &World,
    agent: &str,
    c: &pb::Conversation,
    subject: &str,
) -> anyhow::Result<tk::LinkConversationResponse> {
    Ok(ticketing(w)
        .await?
        .link_conversation(tk::LinkConversationRequest {
            request_id: rid(),
            organization_id: w.org.clone(),
            actor_agent_id: agent.into(),
            conversation_id: c.id.clone(),
            contact_id: c.contact_id.clone(),
            ticket: Some(LinkTo::NewTicket(tk::NewTicket {
                subject: subject.into(),
                requester: Some(tk::Requester {
                    contact_id: c.contact_id.clone(),
                    name: "Cliente".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })),
        })
        .await?
        .into_inner())
}

/// Refused without a link (TICKET_REQUIRED, still OPEN), closed once linked, and the
/// conversation shows "#n" of its ticket.
async fn a_conversation_that_needs_a_ticket_closes_once_linked_and_shows_its_number(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = soporte(&mut w).await?;
    require_tickets(&w).await?;
    let c = w.start().await?;
    w.open(&ana, &c.id).await?;

    let refused = w.close(&ana, &c.id).await.expect_err("no ticket linked");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused), "ERROR_REASON_TICKET_REQUIRED");
    assert_eq!(state(&w.get(&c.id).await?), S::Open, "nothing changed");

    let linked = link_new_ticket(&w, &ana, &c, "No llega mi pedido").await?;
    let number = linked.ticket.expect("ticket").number;
    assert!(number >= 1);
    let shown = w
        .until(&c.id, "its ticket shown", |x| x.ticket.is_some())
        .await?;
    let ticket = shown.ticket.expect("ticket");
    assert_eq!(ticket.number, number);
    assert_eq!(ticket.ticket_id, linked.link.expect("link").ticket_id);

    let closed = w.close(&ana, &c.id).await?;
    assert_eq!(state(&closed), S::Closed);
    assert_eq!(closed.ticket.map(|t| t.number), Some(number));
    w.suite.stop().await
}
on_both_backends!(a_conversation_that_needs_a_ticket_closes_once_linked_and_shows_its_number);

/// The Expired tab shows the ticket number of an expired conversation.
async fn an_expired_conversation_shows_its_ticket_number_in_the_expired_list(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut w = World::new(backend).await?;
    let ana = soporte(&mut w).await?;
    let c = w.start().await?;
    w.open(&ana, &c.id).await?;
    let number = link_new_ticket(&w, &ana, &c, "Factura duplicada")
        .await?
        .ticket
        .expect("ticket")
        .number;
    w.until(&c.id, "its ticket shown", |x| x.ticket.is_some())
        .await?;
    w.clock().advance(Duration::from_secs(25 * 3600));
    w.until(&c.id, "expired", |x| state(x) == S::Expired)
        .await?;
    let expired = w
        .routing
        .list_expired_conversations(pb::ListExpiredConversationsRequest {
            organization_id: w.org.clone(),
            actor_agent_id: ana.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .conversations;
    let listed = expired
        .iter()
        .find(|x| x.id == c.id)
        .expect("in the Expired list");
    assert_eq!(listed.ticket.as_ref().map(|t| t.number), Some(number));
    w.suite.stop().await
}
on_both_backends!(an_expired_conversation_shows_its_ticket_number_in_the_expired_list);

/// Ticketing unreachable: the close answers UNAVAILABLE and the conversation stays OPEN
/// (never closed half-way): no transition, no change.
async fn ticketing_unreachable_refuses_the_close_and_changes_nothing(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut env = TestEnv::new(backend).await?;
    env.settings.routing.sweep_interval_ms = 100;
    // Ticketing is where nothing answers.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")?;
    env.settings.endpoints.ticketing = format!("http://{}", dead.local_addr()?);
    drop(dead);
    let mut w = World::launch(
        env,
        &[Service::Presence, Service::Routing, Service::Channel],
    )
    .await?;
    w.account = channel_account(&w.suite, &w.org, &w.admin).await?;
    let ana = soporte(&mut w).await?;
    let c = w.start().await?;
    let opened = w.open(&ana, &c.id).await?;
    let refused = w
        .close(&ana, &c.id)
        .await
        .expect_err("ticketing unreachable");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    let after = w.get(&c.id).await?;
    assert_eq!(state(&after), S::Open);
    assert_eq!(after.update_time, opened.update_time, "nothing changed");
    let transitions = w
        .routing
        .list_conversation_transitions(pb::ListConversationTransitionsRequest {
            organization_id: w.org.clone(),
            conversation_id: c.id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .transitions;
    assert!(
        transitions.iter().all(|t| t.to_state != S::Closed as i32),
        "no CLOSED transition recorded"
    );
    w.suite.stop().await
}
on_both_backends!(ticketing_unreachable_refuses_the_close_and_changes_nothing);

/// Ticketing's link events are applied by version: the newest picture wins, a late or
/// redelivered older one changes nothing, and an unlink clears the number.
async fn ticket_link_events_apply_by_version_and_never_bring_back_an_older_picture(
    backend: Backend,
) -> anyhow::Result<()> {
    use switchboard_proto::{events::TypedEvent, ticketing::v1::TicketLinkChanged};
    use switchboard_runtime::{
        ids::EventId,
        metrics::sum_samples,
        outbox::{Event, NewEvent},
    };

    let mut w = World::new(backend).await?;
    soporte(&mut w).await?;
    let c = w.start().await?;
    let infra = w.suite.infra().expect("running").clone();
    let handled = || {
        sum_samples(
            &infra.metrics.render(),
            "switchboard_bus_consumed_total",
            &[("group", "routing.tickets")],
        )
        .unwrap_or(0.0)
    };
    let org = w.org.clone();
    let publish = |version: i64, current: tk::ConversationTickets| {
        let event = Event {
            id: EventId::generate(),
            organization_id: org.clone(),
            topic: TicketLinkChanged::TOPIC.into(),
            aggregate_id: c.id.clone(),
            payload: NewEvent::typed(
                org.clone(),
                c.id.clone(),
                &TicketLinkChanged {
                    conversation_id: c.id.clone(),
                    version,
                    current: Some(current),
                    ..Default::default()
                },
            )
            .payload,
            traceparent: None,
            occurred_at: chrono::Utc::now(),
        };
        let bus = infra.bus.clone();
        async move { bus.publish(&event).await }
    };
    let linked_41 = tk::ConversationTickets {
        linked_ticket_id: "tkt_41".into(),
        linked_ticket_number: 41,
        proposal_id: "tkp_7".into(),
        proposed_ticket_id: "tkt_7".into(),
        proposed_ticket_number: 7,
    };
    publish(5, linked_41).await?;
    let shown = w
        .until(&c.id, "ticket #41 shown", |x| x.ticket.is_some())
        .await?;
    assert_eq!(shown.ticket.map(|t| t.number), Some(41));
    let proposed = shown.proposed_ticket.expect("a proposal shown");
    assert_eq!(
        (proposed.number, proposed.proposal_id.as_str()),
        (7, "tkp_7")
    );

    // An older picture (version 4: nothing linked) arrives late: handled, ignored.
    let before = handled();
    publish(4, tk::ConversationTickets::default()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while handled() <= before {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "stale event never handled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        w.get(&c.id).await?.ticket.map(|t| t.number),
        Some(41),
        "a stale event brings nothing back"
    );

    // A newer one (version 6: unlinked, proposal rejected) clears both.
    publish(6, tk::ConversationTickets::default()).await?;
    let cleared = w
        .until(&c.id, "ticket cleared", |x| x.ticket.is_none())
        .await?;
    assert!(cleared.proposed_ticket.is_none());
    w.suite.stop().await
}
on_both_backends!(ticket_link_events_apply_by_version_and_never_bring_back_an_older_picture);
