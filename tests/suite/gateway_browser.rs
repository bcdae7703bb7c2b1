//! The gateway from a real browser: headless Chromium loads the test page (tests/browser, built
//! with @switchboard/client) from a local HTTP server, signs in with a development token over
//! gRPC-Web, and follows the agent's inbox while a customer's WhatsApp message is routed to it.
//!
//! Needs `scripts/browser-deps.sh` (Debian's chromium, npm ci, the page built); `make test`
//! runs it first. Without it the test fails saying so. Embedded backend only: a browser run is
//! slow and the gateway's gRPC-Web edge does not depend on the backend.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use switchboard_proto::{
    channel::v1::{self as ch, channel_service_client::ChannelServiceClient},
    common::v1::{AgentStatus, Role},
    routing::v1 as pb,
};
use switchboard_runtime::Service;
use switchboard_testkit::Backend;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{
    channel_support::{APP_SECRET, notification, signature, unix_now, wamid},
    gateway_support::GatewayWorld,
    routing_support::team_target,
};

/// How long the driver waits for each condition.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(30);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails with what to run when the browser, the driver's modules or the built page are missing.
fn check_prerequisites() -> anyhow::Result<()> {
    let dir = browser_dir();
    let fix = "run scripts/browser-deps.sh (make test does) to install chromium, npm ci and build the page";
    anyhow::ensure!(
        chromium().exists(),
        "{} is missing: {fix}",
        chromium().display()
    );
    anyhow::ensure!(
        dir.join("dist/index.html").exists() && dir.join("dist/app.js").exists(),
        "the test page is not built ({}): {fix}",
        dir.join("dist").display()
    );
    anyhow::ensure!(
        dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: {fix}"
    );
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| anyhow::anyhow!("node is not runnable ({e}): install Node 20+"))?;
    anyhow::ensure!(node.status.success(), "node --version failed");
    Ok(())
}

/// Serves the built page (tests/browser/dist) on 127.0.0.1:0 until dropped.
struct PageServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl PageServer {
    async fn start() -> anyhow::Result<Self> {
        use axum::{
            http::{StatusCode, Uri, header},
            response::IntoResponse,
        };
        let dist = browser_dir().join("dist");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let dist = dist.clone();
            async move {
                let path = match uri.path().trim_start_matches('/') {
                    "" => "index.html",
                    p => p,
                };
                if path.contains("..") {
                    return StatusCode::NOT_FOUND.into_response();
                }
                let content_type = match path.rsplit('.').next() {
                    Some("html") => "text/html; charset=utf-8",
                    Some("js") => "text/javascript; charset=utf-8",
                    Some("map") => "application/json",
                    _ => "application/octet-stream",
                };
                match tokio::fs::read(dist.join(path)).await {
                    Ok(body) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
                    Err(_) => StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, task })
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One run of tests/browser/driver.mjs: Chromium on the page, one JSON line per condition.
struct Driver {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Driver {
    fn start(
        page: &str,
        gateway: &str,
        token: &str,
        org: &str,
        waits: &[&str],
    ) -> anyhow::Result<Self> {
        let mut cmd = tokio::process::Command::new("node");
        cmd.current_dir(browser_dir())
            .arg("driver.mjs")
            .args([
                "--page",
                page,
                "--gateway",
                gateway,
                "--token",
                token,
                "--org",
                org,
            ])
            .args(["--timeout-ms", &DRIVER_TIMEOUT.as_millis().to_string()])
            .env("CHROMIUM_PATH", chromium())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for wait in waits {
            cmd.args(["--wait", wait]);
        }
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().expect("piped");
        Ok(Self {
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// The page's state once the next condition is met; fails when it was not.
    async fn next(&mut self) -> anyhow::Result<Value> {
        let line = tokio::time::timeout(
            DRIVER_TIMEOUT + Duration::from_secs(30),
            self.lines.next_line(),
        )
        .await
        .map_err(|_| anyhow::anyhow!("the driver printed nothing"))??
        .ok_or_else(|| anyhow::anyhow!("the driver exited early (see its stderr above)"))?;
        let report: Value = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("driver printed {line:?}: {e}"))?;
        anyhow::ensure!(
            report["met"] == json!(true),
            "the page never reached `{}`; its state: {:#}",
            report["wait"],
            report["state"]
        );
        Ok(report["state"].clone())
    }

    async fn finish(mut self) -> anyhow::Result<()> {
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .map_err(|_| anyhow::anyhow!("the driver did not exit"))??;
        anyhow::ensure!(status.success(), "the driver exited with {status}");
        Ok(())
    }
}

/// The CORS preflight Chromium sends before a gRPC-Web call from `origin`; returns the
/// `access-control-allow-origin` answered, if any.
async fn preflight(
    gateway: SocketAddr,
    origin: &str,
) -> anyhow::Result<(u16, Option<String>, String)> {
    let res = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{gateway}/switchboard.gateway.v1.GatewayService/GetMe"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-grpc-web,x-switchboard-organization,x-user-agent",
        )
        .send()
        .await?;
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok((
        res.status().as_u16(),
        header("access-control-allow-origin"),
        header("access-control-allow-headers").unwrap_or_default(),
    ))
}

/// Whether the page got an answer from `rpc` (`value` is what it recorded: "ok"/"open");
/// anything else (UNIMPLEMENTED included) fails the test.
fn inbox_rpc_live(state: &Value, value: &Value, rpc: &str) -> anyhow::Result<()> {
    let value = value.as_str().unwrap_or_default();
    match value {
        "ok" | "open" => Ok(()),
        _ => anyhow::bail!(
            "{rpc} from the browser: {value}; errors: {:#}",
            state["errors"]
        ),
    }
}

/// A JavaScript condition on the page's state `s`: the conversation assigned to `agent` is
/// there, in the events and in the Assigned tab, as far as the gateway implements them.
fn assigned_condition(agent: &str) -> String {
    format!(
        "(s.stream.state === 'unimplemented' \
           || s.events.some(e => e.kind === 'INBOX_EVENT_KIND_CONVERSATION_ASSIGNED' \
                && e.conversation?.conversation?.assigneeAgentId === '{agent}')) \
         && (s.assignedState === 'unimplemented' \
           || s.assigned.some(i => i.conversation?.assigneeAgentId === '{agent}'))"
    )
}

async fn gateway_from_a_browser(backend: Backend) -> anyhow::Result<()> {
    check_prerequisites()?;
    let started = Instant::now();
    let page = PageServer::start().await?;
    let elsewhere = PageServer::start().await?; // the same page from an origin not allowed
    let origin = page.origin();
    let mut gw = GatewayWorld::with_settings(backend, |s| {
        s.gateway.cors.allowed_origins = vec![origin.clone()];
        s.channel.whatsapp.app_secret = APP_SECRET.into();
    })
    .await?;
    let gateway = gw.world.suite.grpc[&Service::Gateway];
    let org = gw.world.org.clone();

    // Bruno is an available agent of a team that takes every conversation of the number.
    let bruno = gw.member("Bruno", Role::Agent, 3).await?;
    gw.world
        .set_status(&bruno.id, AgentStatus::Available)
        .await?;
    let team = gw
        .world
        .team("Web", pb::TeamStrategy::LeastOpen, &[&bruno.id], |_| {})
        .await?;
    gw.world
        .link(&[&team], &[], Some(team_target(&team)))
        .await?;

    // CORS: the page's origin may call the gateway; another origin may not.
    let (status, allowed, headers) = preflight(gateway, &origin).await?;
    assert!(
        (200..300).contains(&status),
        "preflight from {origin}: {status}"
    );
    assert_eq!(
        allowed.as_deref(),
        Some(origin.as_str()),
        "preflight from {origin}"
    );
    assert!(
        headers.contains("x-switchboard-organization") && headers.contains("authorization"),
        "allowed headers: {headers}"
    );
    let other = elsewhere.origin();
    let (_, refused, _) = preflight(gateway, &other).await?;
    assert_eq!(
        refused, None,
        "a preflight from {other} must not be allowed"
    );

    // The page signs in with Bruno's development token and opens its inbox.
    let token = gw.token_for(&bruno.subject, Duration::from_secs(600));
    let assigned = assigned_condition(&bruno.id);
    let mut driver = Driver::start(
        &format!("{origin}/index.html"),
        &format!("http://{gateway}"),
        &token,
        &org,
        &["s.ready", &assigned],
    )?;
    let ready = driver.next().await?;
    assert_eq!(
        ready["meState"], "ok",
        "GetMe from the browser: {:#}",
        ready["errors"]
    );
    assert_eq!(
        ready["me"]["agent"]["id"],
        json!(bruno.id),
        "GetMe: {:#}",
        ready["me"]
    );
    assert_eq!(ready["me"]["agent"]["authSubject"], json!(bruno.subject));
    assert_eq!(ready["me"]["organization"]["id"], json!(org));
    // A server stream crosses the gateway's gRPC-Web and CORS edge into Chromium frame by
    // frame (grpc.health.v1.Health/Watch: the first status arrives, the response stays open),
    // whatever the inbox RPCs answer.
    assert_eq!(
        ready["healthWatch"]["state"], "streaming",
        "Health/Watch over gRPC-Web: {:#}",
        ready["healthWatch"]
    );
    assert_eq!(ready["healthWatch"]["firstStatus"], json!(1), "SERVING");
    inbox_rpc_live(&ready, &ready["stream"]["state"], "StreamInboxEvents")?;
    inbox_rpc_live(&ready, &ready["assignedState"], "ListAssignedConversations")?;
    assert_eq!(
        ready["assigned"],
        json!([]),
        "nothing is assigned to Bruno yet"
    );

    // A customer writes to the number: the webhook stores the message and routing offers the
    // conversation to Bruno.
    let mut channel = ChannelServiceClient::new(gw.world.suite.channel(Service::Channel).await?);
    let phone_number_id = channel
        .get_channel_account(ch::GetChannelAccountRequest {
            organization_id: org.clone(),
            channel_account_id: gw.world.account.clone(),
        })
        .await?
        .into_inner()
        .channel_account
        .expect("account")
        .phone_number_id;
    let wa_id = "5491155550177";
    let body = serde_json::to_vec(&notification(
        &phone_number_id,
        json!({
            "contacts": [{ "profile": { "name": "Carla" }, "wa_id": wa_id }],
            "messages": [{
                "from": wa_id, "id": wamid(), "timestamp": unix_now().to_string(),
                "type": "text", "text": { "body": "hola, ¿me ayudan con mi pedido?" }
            }]
        }),
    ))?;
    let webhook = gw.world.suite.webhook.expect("channel runs");
    let res = reqwest::Client::new()
        .post(format!("http://{webhook}/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", signature(APP_SECRET, &body))
        .body(body)
        .send()
        .await?;
    assert_eq!(res.status().as_u16(), 200, "webhook: {}", res.text().await?);
    let conversation = until_assigned(&mut gw, &bruno.id).await?;

    // The final acceptance: the page got CONVERSATION_ASSIGNED for it and lists it.
    let last = driver.next().await?;
    {
        let event = last["events"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["kind"] == "INBOX_EVENT_KIND_CONVERSATION_ASSIGNED")
            .expect("the condition saw it");
        assert_eq!(
            event["conversation"]["conversation"]["id"],
            json!(conversation.id)
        );
        assert!(
            event["cursor"].as_str().is_some_and(|c| !c.is_empty()),
            "events carry a resume cursor: {event:#}"
        );
    }
    {
        let ids: Vec<&Value> = last["assigned"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| &i["conversation"]["id"])
            .collect();
        assert_eq!(ids, vec![&json!(conversation.id)], "the Assigned tab");
    }
    driver.finish().await?;

    // The same page from an origin the gateway does not allow: Chromium blocks the call.
    let mut refused = Driver::start(
        &format!("{other}/index.html"),
        &format!("http://{gateway}"),
        &token,
        &org,
        &["s.meState !== 'pending'"],
    )?;
    let state = refused.next().await?;
    assert_eq!(state["meState"], "error", "GetMe from {other}: {state:#}");
    assert_eq!(state["me"], Value::Null);
    refused.finish().await?;

    eprintln!(
        "gateway_browser: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    gw.world.suite.stop().await
}

/// Waits until routing assigned a conversation of the organization to `agent`.
async fn until_assigned(gw: &mut GatewayWorld, agent: &str) -> anyhow::Result<pb::Conversation> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = gw
            .world
            .routing
            .list_conversations(pb::ListConversationsRequest {
                organization_id: gw.world.org.clone(),
                actor_agent_id: gw.world.admin.clone(),
                assignee_agent_id: agent.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .conversations;
        if let Some(c) = found.into_iter().next() {
            return Ok(c);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no conversation was assigned to {agent} within 15 s of the webhook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

mod gateway_from_a_browser {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded() {
        super::gateway_from_a_browser(switchboard_testkit::Backend::Embedded)
            .await
            .expect("embedded backend");
    }
}
