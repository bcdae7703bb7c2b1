//! The live inbox stream (StreamInboxEvents): an agent gets the conversations routed to it,
//! resumes after a disconnect with its cursor and misses nothing (no gap, no duplicate), is
//! told to resync when its cursor is past retention, resumes on another gateway replica,
//! sees only its own events unless it is a supervisor asking for the organization, and gets
//! keepalives with cursors it can resume from.

use std::{collections::HashSet, time::Duration};

use switchboard_proto::{
    common::v1::{AgentStatus, Role},
    gateway::v1::{
        self as pb, InboxEventKind as Kind, InboxScope,
        gateway_service_client::GatewayServiceClient, inbox_event::Payload,
    },
};
use switchboard_runtime::Service;
use switchboard_testkit::{Backend, TestEnv};
use tonic::Streaming;

use crate::{
    gateway_support::{Credentials, Gateway, GatewayWorld, Member},
    on_both_backends,
    routing_support::agent_target,
};

type Inbox = Streaming<pb::StreamInboxEventsResponse>;

async fn open(
    gateway: &Gateway,
    cursor: &str,
    scope: InboxScope,
    kinds: &[Kind],
) -> Result<Inbox, tonic::Status> {
    Ok(gateway
        .clone()
        .stream_inbox_events(pb::StreamInboxEventsRequest {
            resume_cursor: cursor.into(),
            scope: scope as i32,
            kinds: kinds.iter().map(|k| *k as i32).collect(),
        })
        .await?
        .into_inner())
}

/// The next event of any kind, within `wait`.
async fn next(inbox: &mut Inbox, wait: Duration) -> anyhow::Result<pb::InboxEvent> {
    match tokio::time::timeout(wait, inbox.message()).await {
        Err(_) => anyhow::bail!("no inbox event within {wait:?}"),
        Ok(Err(status)) => anyhow::bail!("stream failed: {status:?}"),
        Ok(Ok(None)) => anyhow::bail!("stream ended"),
        Ok(Ok(Some(r))) => r
            .event
            .ok_or_else(|| anyhow::anyhow!("response without event")),
    }
}

/// The next event of `kind`, skipping others, within `wait`.
async fn next_of(inbox: &mut Inbox, kind: Kind, wait: Duration) -> anyhow::Result<pb::InboxEvent> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = next(inbox, left)
            .await
            .map_err(|e| anyhow::anyhow!("waiting for {kind:?}: {e}"))?;
        if event.kind == kind as i32 {
            return Ok(event);
        }
    }
}

/// The conversation id of a conversation event.
fn conversation_of(event: &pb::InboxEvent) -> Option<&str> {
    match &event.payload {
        Some(Payload::Conversation(c)) => c.conversation.as_ref().map(|c| c.id.as_str()),
        _ => None,
    }
}

/// Events of conversations (not keepalives, not presence) until `n` arrived, within `wait`.
async fn conversation_events(
    inbox: &mut Inbox,
    n: usize,
    wait: Duration,
) -> anyhow::Result<Vec<pb::InboxEvent>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = next(inbox, left)
            .await
            .map_err(|e| anyhow::anyhow!("after {} of {n} events: {e}", out.len()))?;
        if conversation_of(&event).is_some() {
            out.push(event);
        }
    }
    Ok(out)
}

/// An available agent that every new conversation of the number is offered to.
async fn agent_taking_everything(gw: &mut GatewayWorld, name: &str) -> anyhow::Result<Member> {
    let m = gw.member(name, Role::Agent, 60).await?;
    gw.world.set_status(&m.id, AgentStatus::Available).await?;
    gw.world
        .link(&[], &[&m.id], Some(agent_target(&m.id)))
        .await?;
    Ok(m)
}

const WAIT: Duration = Duration::from_secs(10);

async fn a_conversation_routed_to_an_agent_reaches_its_stream(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = agent_taking_everything(&mut gw, "Ana").await?;
    let mut inbox = open(&ana.gateway, "", InboxScope::Mine, &[]).await?;
    let c = gw.world.start().await?;
    let event = next_of(&mut inbox, Kind::ConversationAssigned, WAIT).await?;
    let Some(Payload::Conversation(payload)) = &event.payload else {
        anyhow::bail!("no conversation payload: {event:?}");
    };
    let conversation = payload.conversation.as_ref().expect("conversation");
    assert_eq!(conversation.id, c.id);
    assert_eq!(conversation.assignee_agent_id, ana.id);
    assert!(event.event_id.starts_with("evt_"), "{event:?}");
    assert!(!event.cursor.is_empty());
    assert!(event.event_time.is_some());
    let metrics = gw.world.suite.infra().expect("running").metrics.render();
    let sum = |name: &str, label: (&str, &str)| {
        switchboard_runtime::metrics::sum_samples(&metrics, name, &[label]).unwrap_or(0.0)
    };
    assert!(sum("switchboard_gateway_inbox_streams", ("scope", "mine")) >= 1.0);
    assert!(
        sum(
            "switchboard_gateway_inbox_projected_total",
            ("outcome", "appended")
        ) >= 1.0
    );
    Ok(())
}
on_both_backends!(a_conversation_routed_to_an_agent_reaches_its_stream);

async fn a_reconnecting_agent_gets_exactly_the_fifty_events_it_missed_in_order(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = agent_taking_everything(&mut gw, "Ana").await?;
    let kinds = [Kind::ConversationAssigned];
    let mut inbox = open(&ana.gateway, "", InboxScope::Mine, &kinds).await?;
    let first = gw.world.start().await?;
    let seen = next_of(&mut inbox, Kind::ConversationAssigned, WAIT).await?;
    assert_eq!(conversation_of(&seen), Some(first.id.as_str()));
    drop(inbox);

    let mut caused = Vec::new();
    for _ in 0..50 {
        caused.push(gw.world.start().await?.id);
    }
    let mut inbox = open(&ana.gateway, &seen.cursor, InboxScope::Mine, &kinds).await?;
    let replayed = conversation_events(&mut inbox, 50, Duration::from_secs(15)).await?;
    let got: Vec<&str> = replayed.iter().filter_map(conversation_of).collect();
    assert_eq!(got, caused, "the missed events, in order, no gap");
    let ids: HashSet<&str> = replayed.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), 50, "no duplicate event");
    assert!(
        !ids.contains(seen.event_id.as_str()),
        "the handled event is not replayed"
    );
    // Nothing more comes: only keepalives for a while.
    let quiet = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(event) = next(
        &mut inbox,
        quiet.saturating_duration_since(tokio::time::Instant::now()),
    )
    .await
    {
        assert_eq!(event.kind, Kind::Keepalive as i32, "extra event {event:?}");
    }
    Ok(())
}
on_both_backends!(a_reconnecting_agent_gets_exactly_the_fifty_events_it_missed_in_order);

async fn a_cursor_older_than_retention_starts_with_resync_required(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = agent_taking_everything(&mut gw, "Ana").await?;
    let mut inbox = open(&ana.gateway, "", InboxScope::Mine, &[]).await?;
    gw.world.start().await?;
    let seen = next_of(&mut inbox, Kind::ConversationAssigned, WAIT).await?;
    drop(inbox);
    let retention = gw
        .world
        .suite
        .infra()
        .expect("running")
        .settings
        .gateway
        .inbox
        .retention_secs;
    gw.world
        .clock()
        .advance(Duration::from_secs(retention + 60));
    let mut inbox = open(&ana.gateway, &seen.cursor, InboxScope::Mine, &[]).await?;
    let first = next(&mut inbox, WAIT).await?;
    assert_eq!(first.kind, Kind::ResyncRequired as i32, "{first:?}");
    let Some(Payload::ResyncRequired(why)) = &first.payload else {
        anyhow::bail!("no resync payload: {first:?}");
    };
    assert!(why.reason.contains("retention"), "{why:?}");
    // The resync's cursor is current: resuming from it needs no second resync (the agent's
    // presence may have expired with the clock moved, so no new conversation is asked for).
    drop(inbox);
    let mut inbox = open(&ana.gateway, &first.cursor, InboxScope::Mine, &[]).await?;
    let after = next(&mut inbox, Duration::from_millis(2500)).await?;
    assert_ne!(after.kind, Kind::ResyncRequired as i32, "{after:?}");
    Ok(())
}
on_both_backends!(a_cursor_older_than_retention_starts_with_resync_required);

async fn an_agent_sees_only_its_own_conversations_unless_a_supervisor_asks_for_all(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = gw.member("Ana", Role::Agent, 5).await?;
    let bea = gw.member("Bea", Role::Agent, 5).await?;
    for m in [&ana.id, &bea.id] {
        gw.world.set_status(m, AgentStatus::Available).await?;
    }
    let denied = open(&ana.gateway, "", InboxScope::Organization, &[])
        .await
        .expect_err("an agent cannot watch the organization");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let malformed = open(&ana.gateway, "not-a-cursor!", InboxScope::Mine, &[])
        .await
        .expect_err("malformed cursor");
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);
    assert!(
        malformed.message().contains("resume_cursor"),
        "{malformed:?}"
    );

    let mut mine = open(&ana.gateway, "", InboxScope::Mine, &[]).await?;
    let mut all = open(&gw.admin.gateway, "", InboxScope::Organization, &[]).await?;
    gw.world
        .link(&[], &[&ana.id, &bea.id], Some(agent_target(&bea.id)))
        .await?;
    let for_bea = gw.world.start().await?;
    gw.world
        .link(&[], &[&ana.id, &bea.id], Some(agent_target(&ana.id)))
        .await?;
    let for_ana = gw.world.start().await?;

    // Bea's conversation came first in the log: everything Ana gets up to her own assignment
    // is about her (her conversation, her presence), nothing about Bea's.
    loop {
        let event = next(&mut mine, WAIT).await?;
        match &event.payload {
            Some(Payload::Conversation(_)) => {
                assert_eq!(
                    conversation_of(&event),
                    Some(for_ana.id.as_str()),
                    "{event:?}"
                );
                if event.kind == Kind::ConversationAssigned as i32 {
                    break;
                }
            }
            Some(Payload::Presence(p)) => {
                let agent = p.presence.as_ref().map(|p| p.agent_id.as_str());
                assert_eq!(agent, Some(ana.id.as_str()), "{event:?}");
            }
            Some(Payload::Keepalive(())) => {}
            other => anyhow::bail!("unexpected event for Ana: {other:?}"),
        }
    }
    // The admin watching the organization sees both assignments, in order.
    let first = next_of(&mut all, Kind::ConversationAssigned, WAIT).await?;
    let second = next_of(&mut all, Kind::ConversationAssigned, WAIT).await?;
    assert_eq!(conversation_of(&first), Some(for_bea.id.as_str()));
    assert_eq!(conversation_of(&second), Some(for_ana.id.as_str()));
    Ok(())
}
on_both_backends!(an_agent_sees_only_its_own_conversations_unless_a_supervisor_asks_for_all);

async fn a_quiet_stream_gets_keepalives_with_a_cursor_to_resume_from(
    backend: Backend,
) -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(backend).await?;
    let ana = agent_taking_everything(&mut gw, "Ana").await?;
    let mut inbox = open(&ana.gateway, "", InboxScope::Mine, &[]).await?;
    // Events projected just after the stream opened (Ana's own presence) may come first; a
    // keepalive follows within about a second of silence (keepalive_secs = 1).
    let keepalive = loop {
        let event = next(&mut inbox, Duration::from_millis(2500)).await?;
        if event.kind == Kind::Keepalive as i32 {
            break event;
        }
    };
    assert!(matches!(keepalive.payload, Some(Payload::Keepalive(()))));
    assert!(!keepalive.cursor.is_empty());
    drop(inbox);
    let c = gw.world.start().await?;
    let mut inbox = open(&ana.gateway, &keepalive.cursor, InboxScope::Mine, &[]).await?;
    let event = next_of(&mut inbox, Kind::ConversationAssigned, WAIT).await?;
    assert_eq!(conversation_of(&event), Some(c.id.as_str()));
    Ok(())
}
on_both_backends!(a_quiet_stream_gets_keepalives_with_a_cursor_to_resume_from);

/// A gateway-only replica sharing the world's Redis (bus and inbox log) and services.
async fn gateway_replica(
    gw: &GatewayWorld,
) -> anyhow::Result<(TestEnv, switchboard_testkit::Suite)> {
    let infra = gw.world.suite.infra().expect("running");
    let mut env = TestEnv::new(Backend::Cluster).await?;
    env.settings.redis.key_prefix = infra.settings.redis.key_prefix.clone();
    env.settings.gateway.inbox.keepalive_secs = 1;
    let grpc = &gw.world.suite.grpc;
    env.settings.endpoints.routing = format!("http://{}", grpc[&Service::Routing]);
    env.settings.endpoints.presence = format!("http://{}", grpc[&Service::Presence]);
    env.settings.endpoints.channel = format!("http://{}", grpc[&Service::Channel]);
    env.settings.endpoints.ticketing = format!("http://{}", grpc[&Service::Ticketing]);
    let suite = env.start(&[Service::Gateway]).await?;
    Ok((env, suite))
}

async fn client_of(
    gw: &GatewayWorld,
    suite: &switchboard_testkit::Suite,
    member: &Member,
) -> anyhow::Result<Gateway> {
    Ok(GatewayServiceClient::with_interceptor(
        suite.channel(Service::Gateway).await?,
        Credentials {
            token: Some(gw.token_for(&member.subject, Duration::from_secs(600))),
            organization: Some(gw.world.org.clone()),
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_resumes_on_another_replica_after_its_replica_stopped() -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(Backend::Cluster).await?;
    let ana = agent_taking_everything(&mut gw, "Ana").await?;
    let (_env_one, one) = gateway_replica(&gw).await?;
    let (_env_two, two) = gateway_replica(&gw).await?;

    let on_one = client_of(&gw, &one, &ana).await?;
    let mut inbox = open(&on_one, "", InboxScope::Mine, &[Kind::ConversationAssigned]).await?;
    gw.world.start().await?;
    let seen = next_of(&mut inbox, Kind::ConversationAssigned, WAIT).await?;
    drop(inbox);
    // A stream still open when its replica shuts down ends cleanly (status OK).
    let mut open_on_one = open(&on_one, "", InboxScope::Mine, &[]).await?;
    one.stop().await?;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match open_on_one.message().await {
                Ok(Some(_)) => continue,
                other => break other,
            }
        }
    })
    .await?;
    assert!(matches!(ended, Ok(None)), "{ended:?}");

    let mut caused = Vec::new();
    for _ in 0..10 {
        caused.push(gw.world.start().await?.id);
    }
    let on_two = client_of(&gw, &two, &ana).await?;
    let mut inbox = open(
        &on_two,
        &seen.cursor,
        InboxScope::Mine,
        &[Kind::ConversationAssigned],
    )
    .await?;
    let got: Vec<String> = conversation_events(&mut inbox, 10, Duration::from_secs(15))
        .await?
        .iter()
        .filter_map(|e| conversation_of(e).map(String::from))
        .collect();
    assert_eq!(got, caused);
    two.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_from_before_an_embedded_restart_starts_with_resync_required() -> anyhow::Result<()>
{
    use switchboard_proto::routing::v1::{
        self as rpb, routing_service_client::RoutingServiceClient,
    };

    use crate::routing_support::rid;
    let mut env = TestEnv::new(Backend::Embedded).await?;
    env.settings.gateway.inbox.keepalive_secs = 1;
    let all = [
        Service::Presence,
        Service::Routing,
        Service::Channel,
        Service::Ticketing,
        Service::Gateway,
    ];
    let before = env.start(&all).await?;
    let mut routing = RoutingServiceClient::new(before.channel(Service::Routing).await?);
    let org = routing
        .create_organization(rpb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Acme".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let subject = format!("idp|ana-{}", rid());
    routing
        .create_agent(rpb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent: Some(rpb::Agent {
                display_name: "Ana".into(),
                email: format!("ana-{}@acme.test", rid()),
                role: Role::Agent as i32,
                capacity: 2,
                auth_subject: subject.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    let credentials = Credentials {
        token: Some(switchboard_gateway::dev_token(
            &env.settings.gateway.auth,
            &subject,
            Duration::from_secs(600),
        )?),
        organization: Some(org),
    };
    let mut inbox = open(
        &restarted_client(&before, &credentials).await?,
        "",
        InboxScope::Mine,
        &[],
    )
    .await?;
    let keepalive = next_of(&mut inbox, Kind::Keepalive, WAIT).await?;
    drop(inbox);
    before.stop().await?;

    let after = env.start(&all).await?;
    let mut inbox = open(
        &restarted_client(&after, &credentials).await?,
        &keepalive.cursor,
        InboxScope::Mine,
        &[],
    )
    .await?;
    let first = next(&mut inbox, WAIT).await?;
    assert_eq!(first.kind, Kind::ResyncRequired as i32, "{first:?}");
    let Some(Payload::ResyncRequired(why)) = &first.payload else {
        anyhow::bail!("no resync payload: {first:?}");
    };
    assert!(why.reason.contains("restarted"), "{why:?}");
    after.stop().await?;
    Ok(())
}

async fn restarted_client(
    suite: &switchboard_testkit::Suite,
    credentials: &Credentials,
) -> anyhow::Result<Gateway> {
    Ok(GatewayServiceClient::with_interceptor(
        suite.channel(Service::Gateway).await?,
        credentials.clone(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_inbox_log_appends_each_event_once_and_wakes_live_readers() -> anyhow::Result<()>
{
    use switchboard_gateway::inbox::{
        Entry,
        cursor::{Cursor, Position},
        log::{InboxLog, RedisLog},
    };
    let env = TestEnv::new(Backend::Cluster).await?;
    let client = redis::Client::open(switchboard_testkit::redis_url())?;
    let conn = client.get_connection_manager().await?;
    let clock = switchboard_runtime::clock::Clock::default();
    let closing = tokio_util::sync::CancellationToken::new();
    let log = RedisLog::new(
        client,
        conn,
        &env.redis_prefix,
        60_000,
        clock.clone(),
        closing.clone(),
    );
    let entry = |id: &str| Entry {
        event: Some(pb::InboxEvent {
            event_id: id.into(),
            ..Default::default()
        }),
        audience: None,
    };
    let org = "org_01a22b097b077686aedf97d4b480e21e";
    let start = log.head(org).await?;
    assert_eq!(start, Position::Redis { ms: 0, seq: 0 });
    let first = log.append(org, &entry("evt_a")).await?.expect("appended");
    assert_eq!(
        log.append(org, &entry("evt_a")).await?,
        None,
        "a redelivery"
    );
    log.append(org, &entry("evt_b")).await?.expect("appended");
    let ids = |read: Vec<switchboard_gateway::inbox::log::Read>| {
        read.into_iter()
            .map(|(_, _, e)| e.event_id().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(log.read_after(org, start, 10).await?),
        ["evt_a", "evt_b"]
    );
    assert_eq!(ids(log.read_after(org, first, 10).await?), ["evt_b"]);

    let current = Cursor {
        position: first,
        asof_ms: clock.now_ms(),
    };
    assert_eq!(log.check(org, &current).await?, None);
    let unknown = Cursor {
        position: Position::Redis {
            ms: u64::try_from(clock.now_ms())? + 3_600_000,
            seq: 0,
        },
        asof_ms: clock.now_ms(),
    };
    assert_eq!(
        log.check(org, &unknown).await?.as_deref(),
        Some("unknown cursor")
    );

    // A live reader is woken by an append made elsewhere (another replica's projector).
    let mut changes = log.changes(org);
    let other = RedisLog::new(
        redis::Client::open(switchboard_testkit::redis_url())?,
        redis::Client::open(switchboard_testkit::redis_url())?
            .get_connection_manager()
            .await?,
        &env.redis_prefix,
        60_000,
        clock.clone(),
        closing.clone(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.append(org, &entry("evt_c")).await?.expect("appended");
    tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            changes.changed().await;
            if log.read_after(org, first, 10).await.expect("read").len() >= 2 {
                break;
            }
        }
    })
    .await?;

    clock.advance(Duration::from_secs(61));
    assert_eq!(
        log.check(org, &current).await?.as_deref(),
        Some("cursor older than retention")
    );
    closing.cancel();
    Ok(())
}

/// Three gateways share one Redis: one projects at a time (a lease), so a conversation's
/// events are in the log in the order they happened — ASSIGNED before OPENED for each of 20
/// conversations opened as soon as they are offered — and each appears once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_replicas_each_conversations_events_stay_in_order() -> anyhow::Result<()> {
    let mut gw = GatewayWorld::new(Backend::Cluster).await?;
    let ana = agent_taking_everything(&mut gw, "Ana").await?;
    let (_env_one, one) = gateway_replica(&gw).await?;
    let (_env_two, two) = gateway_replica(&gw).await?;
    let mut inbox = open(
        &ana.gateway,
        "",
        InboxScope::Mine,
        &[Kind::ConversationAssigned, Kind::ConversationOpened],
    )
    .await?;
    let mut caused = Vec::new();
    for _ in 0..20 {
        let c = gw.world.start().await?;
        gw.world.open(&ana.id, &c.id).await?;
        caused.push(c.id);
    }
    let events = conversation_events(&mut inbox, 40, Duration::from_secs(30)).await?;
    let mut ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "each event once");
    for id in &caused {
        let kinds: Vec<i32> = events
            .iter()
            .filter(|e| conversation_of(e) == Some(id.as_str()))
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                Kind::ConversationAssigned as i32,
                Kind::ConversationOpened as i32
            ],
            "{id}"
        );
    }
    one.stop().await?;
    two.stop().await?;
    Ok(())
}

/// A transfer reaches the new holder with its transfer (reason, who); a ticket a customer
/// names reaches the holder as the conversation with the proposed ticket; more live streams
/// than the agent's limit are RESOURCE_EXHAUSTED with a retry delay.
async fn transfers_proposals_and_the_stream_limit(backend: Backend) -> anyhow::Result<()> {
    use switchboard_proto::ticketing::v1::{
        self as tk, ticketing_service_client::TicketingServiceClient,
    };
    use tonic_types::StatusExt;

    use crate::routing_support::rid;
    let mut gw = GatewayWorld::with_settings(backend, |s| {
        s.gateway.limits.max_streams_per_agent = 2;
    })
    .await?;
    let ana = agent_taking_everything(&mut gw, "Ana").await?;
    let beto = gw.member("Beto", Role::Agent, 3).await?;
    gw.world
        .set_status(&beto.id, AgentStatus::Available)
        .await?;
    gw.world
        .link(&[], &[&ana.id, &beto.id], Some(agent_target(&ana.id)))
        .await?;
    let c = gw.world.start().await?;
    gw.world.open(&ana.id, &c.id).await?;

    let mut beto_inbox = open(&beto.gateway, "", InboxScope::Mine, &[]).await?;
    let _second = open(&beto.gateway, "", InboxScope::Mine, &[]).await?;
    let refused = open(&beto.gateway, "", InboxScope::Mine, &[])
        .await
        .expect_err("a third stream");
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(refused.get_details_retry_info().is_some(), "{refused:?}");

    ana.gateway
        .clone()
        .transfer_conversation(pb::TransferConversationRequest {
            request_id: rid(),
            conversation_id: c.id.clone(),
            target: Some(agent_target(&beto.id)),
            reason: "facturación".into(),
        })
        .await?;
    let event = next_of(&mut beto_inbox, Kind::ConversationTransferred, WAIT).await?;
    let Some(Payload::Conversation(payload)) = &event.payload else {
        anyhow::bail!("no conversation payload: {event:?}");
    };
    let transfer = payload.transfer.as_ref().expect("the transfer");
    assert_eq!(transfer.reason, "facturación");
    assert_eq!(transfer.conversation_id, c.id);
    assert!(event.actor.is_some(), "who transferred: {event:?}");

    // The customer names ticket #N: Beto (the holder now) sees the proposal.
    let ticket = beto
        .gateway
        .clone()
        .create_ticket(pb::CreateTicketRequest {
            request_id: rid(),
            ticket: Some(tk::NewTicket {
                subject: "Factura duplicada".into(),
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
    TicketingServiceClient::new(gw.world.suite.channel(Service::Ticketing).await?)
        .propose_ticket_link(tk::ProposeTicketLinkRequest {
            request_id: rid(),
            organization_id: gw.world.org.clone(),
            conversation_id: c.id.clone(),
            contact_id: c.contact_id.clone(),
            ticket_number: ticket.number,
            proposer: "faq-bot".into(),
        })
        .await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = next_of(&mut beto_inbox, Kind::ConversationUpdated, left).await?;
        let proposed = match &event.payload {
            Some(Payload::Conversation(p)) => p
                .conversation
                .as_ref()
                .and_then(|c| c.proposed_ticket.clone()),
            _ => None,
        };
        if let Some(proposed) = proposed {
            assert_eq!(proposed.number, ticket.number);
            assert_eq!(proposed.ticket_id, ticket.id);
            break;
        }
    }
    Ok(())
}
on_both_backends!(transfers_proposals_and_the_stream_limit);
