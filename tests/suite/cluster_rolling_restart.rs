//! A rolling restart of the distributed topology, as real `switchboard` processes (the built
//! binary) on PostgreSQL + Redis: two routing, two channel, one gateway, presence and ticketing,
//! each reaching the others through `endpoints.*` lists balanced over the replicas.
//!
//! While signed webhooks arrive at ~20/s (alternately at the two channel replicas; a refused or
//! failed POST is retried on the other one, as Meta retries) and an agent works through the
//! gateway (lists, opens, closes; retrying UNAVAILABLE, and ABORTED as a new request), every
//! replica in turn gets SIGTERM, is started again and waited for until SERVING. Then: every webhook acknowledged with 200 is
//! stored exactly once, every contact has one contact row and at most one active conversation,
//! every stored message reached a conversation, and no call of a retrying client failed. Each
//! replica's drain time (SIGTERM → exit) is printed.
//!
//! The organization, number, team and agent are set up by the services in this process first
//! (the suite's helpers); they are then stopped and the processes take over the same database
//! and Redis prefix.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use switchboard_graph_sim::StatusPlan;
use switchboard_proto::{
    common::v1::{AgentStatus, Role},
    gateway::v1::{self as gw, gateway_service_client::GatewayServiceClient},
    routing::v1 as rpb,
};
use switchboard_runtime::Service;
use switchboard_testkit::Backend;
use tonic::Code;

use crate::{
    channel_support::{APP_SECRET, ChannelWorld, signature, text_message, unix_now},
    cluster_support::{Proc, binary, free_ports, until_serving},
    gateway_support::{Credentials, Gateway, sign_up},
    routing_support::rid,
};

/// How long a retrying client keeps retrying one call (or one webhook).
const RETRY_FOR: Duration = Duration::from_secs(20);
const WEBHOOKS_PER_SEC: u64 = 20;
const CONTACTS: usize = 12;

/// One replica: its name, target, gRPC port, extra environment and running process.
struct Replica {
    name: &'static str,
    service: Service,
    port: u16,
    vars: Vec<(String, String)>,
    proc: Option<Proc>,
}

struct Topology {
    common: BTreeMap<String, String>,
    logs: PathBuf,
    replicas: Vec<Replica>,
}

impl Topology {
    fn command(&self, r: &Replica) -> Command {
        let mut c = Command::new(binary());
        c.args(["serve", "--target", r.service.name()])
            .envs(&self.common)
            .envs(r.vars.iter().cloned());
        c
    }

    fn start(&mut self, i: usize) -> anyhow::Result<()> {
        let command = self.command(&self.replicas[i]);
        let name = self.replicas[i].name;
        let proc = Proc::spawn(name, command, &self.logs.join(format!("{name}.log")))?;
        self.replicas[i].proc = Some(proc);
        Ok(())
    }

    async fn until_serving(&mut self, i: usize) -> anyhow::Result<Duration> {
        let r = &mut self.replicas[i];
        let proc = r.proc.as_mut().expect("started");
        until_serving(proc, r.service, r.port, Duration::from_secs(30)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rolling_restart_loses_and_duplicates_nothing() {
    run().await.expect("rolling restart");
}

async fn run() -> anyhow::Result<()> {
    let test_start = Instant::now();
    // Set up in this process: organization, number, team; Lucía (no sign-in) goes offline and
    // Marta (signed in through the gateway) takes every conversation.
    let mut cw = ChannelWorld::with_targets(
        Backend::Cluster,
        StatusPlan::default(),
        |s| s.presence.heartbeat_ttl_secs = 600,
        &[Service::Gateway],
    )
    .await?;
    let marta = sign_up(&mut cw.world, "Marta", Role::Agent, 100).await?;
    cw.world
        .routing
        .add_team_member(rpb::AddTeamMemberRequest {
            request_id: rid(),
            organization_id: cw.world.org.clone(),
            actor_agent_id: cw.world.admin.clone(),
            team_id: cw.team.clone(),
            agent_id: marta.id.clone(),
        })
        .await?;
    let lucia = cw.agent.clone();
    cw.world.set_status(&lucia, AgentStatus::Offline).await?;
    cw.world
        .set_status(&marta.id, AgentStatus::Available)
        .await?;
    let settings = cw.world.suite.infra().expect("running").settings.clone();
    let token = switchboard_gateway::dev_token(
        &settings.gateway.auth,
        &marta.subject,
        Duration::from_secs(3600),
    )?;
    let org = cw.world.org.clone();
    // The services of this process stop; `cw` keeps the database and Redis prefix to the end.
    let suite = cw.world.suite;
    suite.stop().await?;

    // The processes: the chart's environment, ports of their own.
    let p = free_ports(9);
    let (gateway, ch1, ch2, wh1, wh2, r1, r2, presence, ticketing) =
        (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]);
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    let var = |k: &str, v: String| (format!("SWITCHBOARD__{k}"), v);
    let common: BTreeMap<String, String> = [
        var("DATABASE__URL", settings.database.url.clone()),
        var("REDIS__URL", settings.redis.url.clone()),
        var("REDIS__KEY_PREFIX", settings.redis.key_prefix.clone()),
        var("SERVER__HOST", "127.0.0.1".into()),
        var("SERVER__METRICS_PORT", "0".into()),
        var("SERVER__SHUTDOWN_GRACE_SECS", "5".into()),
        var("TELEMETRY__LOG_FILTER", "warn".into()),
        var("OUTBOX__POLL_INTERVAL_MS", "50".into()),
        var("ROUTING__SWEEP_INTERVAL_MS", "100".into()),
        var("PRESENCE__HEARTBEAT_TTL_SECS", "600".into()),
        var(
            "GATEWAY__AUTH__HS256_SECRET",
            settings.gateway.auth.hs256_secret.clone(),
        ),
        var("CHANNEL__WHATSAPP__APP_SECRET", APP_SECRET.into()),
        var(
            "CHANNEL__WHATSAPP__VERIFY_TOKEN",
            settings.channel.whatsapp.verify_token.clone(),
        ),
        var(
            "CHANNEL__WHATSAPP__GRAPH_BASE_URL",
            settings.channel.whatsapp.graph_base_url.clone(),
        ),
        var(
            "CHANNEL__WHATSAPP__SECRETS_DIR",
            settings.channel.whatsapp.secrets_dir.clone(),
        ),
        var("CHANNEL__WHATSAPP__DISPATCH_INTERVAL_MS", "50".into()),
        var("GATEWAY__PORT", gateway.to_string()),
        var("PRESENCE__PORT", presence.to_string()),
        var("TICKETING__PORT", ticketing.to_string()),
        var("ENDPOINTS__GATEWAY", url(gateway)),
        var("ENDPOINTS__CHANNEL", format!("{},{}", url(ch1), url(ch2))),
        var("ENDPOINTS__ROUTING", format!("{},{}", url(r1), url(r2))),
        var("ENDPOINTS__PRESENCE", url(presence)),
        var("ENDPOINTS__TICKETING", url(ticketing)),
    ]
    .into_iter()
    .collect();
    let logs = std::env::temp_dir().join(format!("sb-rolling-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&logs)?;
    let replica = |name, service, port, vars: &[(&str, u16)]| Replica {
        name,
        service,
        port,
        vars: vars
            .iter()
            .map(|(k, v)| (format!("SWITCHBOARD__{k}"), v.to_string()))
            .collect(),
        proc: None,
    };
    let mut topo = Topology {
        common,
        logs: logs.clone(),
        // The restart order.
        replicas: vec![
            replica("routing-1", Service::Routing, r1, &[("ROUTING__PORT", r1)]),
            replica("routing-2", Service::Routing, r2, &[("ROUTING__PORT", r2)]),
            replica(
                "channel-1",
                Service::Channel,
                ch1,
                &[("CHANNEL__PORT", ch1), ("CHANNEL__WEBHOOK_PORT", wh1)],
            ),
            replica(
                "channel-2",
                Service::Channel,
                ch2,
                &[("CHANNEL__PORT", ch2), ("CHANNEL__WEBHOOK_PORT", wh2)],
            ),
            replica("presence", Service::Presence, presence, &[]),
            replica("ticketing", Service::Ticketing, ticketing, &[]),
            replica("gateway", Service::Gateway, gateway, &[]),
        ],
    };
    for i in 0..topo.replicas.len() {
        topo.start(i)?;
    }
    for i in 0..topo.replicas.len() {
        topo.until_serving(i).await?;
    }
    println!(
        "topology SERVING after {:?} (logs in {})",
        test_start.elapsed(),
        logs.display()
    );

    // The load: webhooks and the agent, until `stop`.
    let stop = Arc::new(AtomicBool::new(false));
    let webhooks = tokio::spawn(send_webhooks(
        [
            format!("http://127.0.0.1:{wh1}/webhooks/whatsapp"),
            format!("http://127.0.0.1:{wh2}/webhooks/whatsapp"),
        ],
        stop.clone(),
    ));
    let gateway_client = GatewayServiceClient::with_interceptor(
        tonic::transport::Endpoint::from_shared(url(gateway))?
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(1))
            .connect_lazy(),
        Credentials {
            token: Some(token),
            organization: Some(org),
        },
    );
    let agent = tokio::spawn(agent_works(gateway_client, stop.clone()));

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut drains = Vec::new();
    for i in 0..topo.replicas.len() {
        let name = topo.replicas[i].name;
        let proc = topo.replicas[i].proc.as_mut().expect("running");
        let (status, drain) = proc.terminate(Duration::from_secs(20)).await?;
        anyhow::ensure!(
            status.success(),
            "{name} exited with {status} after SIGTERM; log:\n{}",
            proc.log_tail(30)
        );
        topo.start(i)?;
        let ready = topo.until_serving(i).await?;
        println!(
            "{name}: drained in {drain:?} (SIGTERM → exit), SERVING again {ready:?} after restart"
        );
        drains.push((name, drain));
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let sent = tokio::time::timeout(RETRY_FOR + Duration::from_secs(10), webhooks).await???;
    let work = tokio::time::timeout(RETRY_FOR + Duration::from_secs(10), agent).await???;

    println!(
        "webhooks: {} sent, {} acknowledged, {} POSTs retried on the other replica, {} never acknowledged",
        sent.sent,
        sent.acked.len(),
        sent.retries,
        sent.unacked
    );
    println!(
        "agent: {} calls, {} retried after UNAVAILABLE, {} after ABORTED, {} opened, {} closed, {} rejected by a rule {:?}, failed: {:?}",
        work.calls,
        work.unavailable_retries,
        work.aborted_retries,
        work.opened,
        work.closed,
        work.rejected,
        work.rejections,
        work.failed
    );
    anyhow::ensure!(
        sent.unacked == 0,
        "{} webhooks were never acknowledged",
        sent.unacked
    );
    anyhow::ensure!(
        work.failed.is_empty(),
        "agent calls failed: {:?}",
        work.failed
    );
    anyhow::ensure!(
        work.rejected == 0,
        "agent calls refused: {:?}",
        work.rejections
    );
    anyhow::ensure!(work.closed > 0, "the agent closed nothing");

    // Every acknowledged webhook stored exactly once, reaching a conversation.
    let db = Database::connect(settings.database.url.clone()).await?;
    let count = |sql: String| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
                .await?
                .expect("a row");
            anyhow::Ok(row.try_get::<i64>("", "n")?)
        }
    };
    let wamids = sent
        .acked
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(",");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stored = count(format!(
            "SELECT COUNT(DISTINCT wamid) AS n FROM channel.messages WHERE wamid IN ({wamids})"
        ))
        .await?;
        let linked = count(format!(
            "SELECT COUNT(*) AS n FROM channel.messages WHERE wamid IN ({wamids}) \
             AND conversation_id IS NOT NULL"
        ))
        .await?;
        if stored == sent.acked.len() as i64 && linked == stored {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "of {} acknowledged webhooks {stored} stored, {linked} in a conversation",
            sent.acked.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = count(format!(
        "SELECT COUNT(*) AS n FROM channel.messages WHERE wamid IN ({wamids})"
    ))
    .await?;
    anyhow::ensure!(
        rows == sent.acked.len() as i64,
        "{rows} rows for {} wamids",
        sent.acked.len()
    );
    let inbound =
        count("SELECT COUNT(*) AS n FROM channel.messages WHERE direction = 'inbound'".into())
            .await?;
    anyhow::ensure!(
        inbound == sent.acked.len() as i64,
        "{inbound} inbound messages stored, {} acknowledged",
        sent.acked.len()
    );
    let contacts = count("SELECT COUNT(*) AS n FROM channel.contacts".into()).await?;
    anyhow::ensure!(
        contacts == CONTACTS as i64,
        "{contacts} contacts for {CONTACTS} senders"
    );
    let doubled = count(
        "SELECT COUNT(*) AS n FROM (SELECT contact_id FROM routing.conversations \
         WHERE active_key IS NOT NULL GROUP BY contact_id HAVING COUNT(*) > 1) d"
            .into(),
    )
    .await?;
    anyhow::ensure!(
        doubled == 0,
        "{doubled} contacts with more than one active conversation"
    );
    db.close().await?;

    for (name, drain) in &drains {
        println!("drain {name}: {} ms", drain.as_millis());
    }
    for r in &mut topo.replicas {
        if let Some(proc) = r.proc.as_mut() {
            proc.terminate(Duration::from_secs(20)).await?;
        }
    }
    let _ = std::fs::remove_dir_all(&logs);
    println!("rolling restart test took {:?}", test_start.elapsed());
    Ok(())
}

struct Sent {
    sent: u64,
    acked: Vec<String>,
    retries: u64,
    unacked: u64,
}

/// Signed text messages from `CONTACTS` customers at `WEBHOOKS_PER_SEC`, alternating between
/// the replicas; a POST that fails or is not answered 200 goes to the other replica.
async fn send_webhooks(urls: [String; 2], stop: Arc<AtomicBool>) -> anyhow::Result<Sent> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let retries = Arc::new(AtomicU64::new(0));
    let unacked = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / WEBHOOKS_PER_SEC));
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        tick.tick().await;
        let wa_id = format!("54911{:08}", n as usize % CONTACTS);
        let wamid = format!("wamid.rolling.{}.{n}", rid());
        let body = serde_json::to_vec(&text_message(
            &wa_id,
            "Cliente",
            &wamid,
            unix_now(),
            &format!("mensaje {n}"),
        ))?;
        let sig = signature(APP_SECRET, &body);
        let (http, urls, acked, retries, unacked) = (
            http.clone(),
            urls.clone(),
            acked.clone(),
            retries.clone(),
            unacked.clone(),
        );
        let first = n as usize % 2;
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let mut attempt = 0;
            loop {
                let url = &urls[(first + attempt) % 2];
                let ok = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", &sig)
                    .body(body.clone())
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                if ok {
                    acked.lock().expect("lock").push(wamid);
                    return;
                }
                if start.elapsed() > RETRY_FOR {
                    unacked.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                attempt += 1;
                retries.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
        n += 1;
    }
    for t in tasks {
        t.await?;
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    Ok(Sent {
        sent: n,
        acked,
        retries: retries.load(Ordering::SeqCst),
        unacked: unacked.load(Ordering::SeqCst),
    })
}

#[derive(Default)]
struct Work {
    calls: u64,
    unavailable_retries: u64,
    opened: u64,
    closed: u64,
    /// Answers a rule gave (e.g. the conversation moved on meanwhile): not failures.
    rejected: u64,
    /// ABORTED answers retried as a new request.
    aborted_retries: u64,
    /// The first few of those answers.
    rejections: Vec<String>,
    failed: Vec<String>,
}

/// Retries `call` while it answers UNAVAILABLE (or the transport fails), up to `RETRY_FOR`.
/// With a mutable `req`: ABORTED ("changed meanwhile; read it again and retry", a customer's
/// message updated the conversation) is retried too, as a new request (a fresh request id).
macro_rules! retrying {
    ($work:expr, $what:expr, $call:expr) => {{
        let mut no_key = ();
        retrying!(@run $work, $what, no_key, false, $call)
    }};
    ($work:expr, $what:expr, mut $req:ident, $call:expr) => {{
        retrying!(@run $work, $what, $req, true, $call)
    }};
    (@run $work:expr, $what:expr, $req:ident, $fresh:expr, $call:expr) => {{
        let start = Instant::now();
        let mut aborted = 0;
        loop {
            $work.calls += 1;
            match $call.await {
                Ok(r) => break Some(r.into_inner()),
                Err(s)
                    if matches!(
                        s.code(),
                        Code::Unavailable | Code::Cancelled | Code::Unknown
                    ) && start.elapsed() < RETRY_FOR =>
                {
                    $work.unavailable_retries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(s) if $fresh && s.code() == Code::Aborted && aborted < 5 => {
                    aborted += 1;
                    $work.aborted_retries += 1;
                    retrying!(@refresh $req);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(s)
                    if matches!(
                        s.code(),
                        Code::FailedPrecondition | Code::NotFound | Code::Aborted
                    ) =>
                {
                    $work.rejected += 1;
                    if $work.rejections.len() < 5 {
                        $work
                            .rejections
                            .push(format!("{}: {:?} {}", $what, s.code(), s.message()));
                    }
                    break None;
                }
                Err(s) => {
                    $work
                        .failed
                        .push(format!("{}: {:?} {}", $what, s.code(), s.message()));
                    break None;
                }
            }
        }
    }};
    (@refresh $req:ident) => {
        $req.refresh()
    };
}

trait Refresh {
    fn refresh(&mut self);
}

impl Refresh for () {
    fn refresh(&mut self) {}
}

impl Refresh for gw::CloseConversationRequest {
    fn refresh(&mut self) {
        self.request_id = rid();
    }
}

impl Refresh for gw::OpenConversationRequest {
    fn refresh(&mut self) {
        self.request_id = rid();
    }
}

/// Marta lists her conversations, opens the assigned ones and closes the open ones.
async fn agent_works(mut gateway: Gateway, stop: Arc<AtomicBool>) -> anyhow::Result<Work> {
    let mut work = Work::default();
    while !stop.load(Ordering::SeqCst) {
        let listed = retrying!(
            work,
            "ListAssignedConversations",
            gateway.list_assigned_conversations(gw::ListAssignedConversationsRequest::default())
        );
        for item in listed
            .map(|l| l.items)
            .unwrap_or_default()
            .into_iter()
            .take(3)
        {
            let Some(c) = item.conversation else { continue };
            let request_id = rid();
            if c.state == rpb::ConversationState::Assigned as i32 {
                let mut req = gw::OpenConversationRequest {
                    request_id: request_id.clone(),
                    conversation_id: c.id.clone(),
                };
                if retrying!(
                    work,
                    "OpenConversation",
                    mut req,
                    gateway.open_conversation(req.clone())
                )
                .is_some()
                {
                    work.opened += 1;
                }
            } else if c.state == rpb::ConversationState::Open as i32 {
                let mut req = gw::CloseConversationRequest {
                    request_id,
                    conversation_id: c.id.clone(),
                    close_note: "listo".into(),
                };
                if retrying!(
                    work,
                    "CloseConversation",
                    mut req,
                    gateway.close_conversation(req.clone())
                )
                .is_some()
                {
                    work.closed += 1;
                }
            }
        }
        let open = retrying!(
            work,
            "ListOpenConversations",
            gateway.list_open_conversations(gw::ListOpenConversationsRequest::default())
        );
        for item in open
            .map(|l| l.items)
            .unwrap_or_default()
            .into_iter()
            .take(3)
        {
            let Some(c) = item.conversation else { continue };
            let mut req = gw::CloseConversationRequest {
                request_id: rid(),
                conversation_id: c.id.clone(),
                close_note: "listo".into(),
            };
            if retrying!(
                work,
                "CloseConversation",
                mut req,
                gateway.close_conversation(req.clone())
            )
            .is_some()
            {
                work.closed += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(work)
}
