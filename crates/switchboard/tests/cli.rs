//! The real `switchboard` binary: configuration is validated before anything binds, and SIGTERM
//! drains and exits promptly.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn temp_dir() -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("switchboard-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn serve_command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--target", "all"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "SWITCHBOARD__DATABASE__URL",
            format!("sqlite://{}/{{service}}.db?mode=rwc", dir.display()),
        )
        .env("SWITCHBOARD__SERVER__HOST", "127.0.0.1")
        .env("SWITCHBOARD__TELEMETRY__LOG_FILTER", "warn");
    for key in [
        "GATEWAY",
        "CHANNEL",
        "ROUTING",
        "PRESENCE",
        "TICKETING",
        "INTEGRATIONS",
    ] {
        cmd.env(format!("SWITCHBOARD__{key}__PORT"), "0");
    }
    cmd.env("SWITCHBOARD__CHANNEL__WEBHOOK_PORT", "0");
    cmd.env("SWITCHBOARD__SERVER__METRICS_PORT", "0");
    cmd
}

/// A plain HTTP/1.1 GET (the test needs no HTTP client): the whole answer, headers included.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    answer
}

#[test]
fn a_bad_value_fails_fast_naming_the_key() {
    let dir = temp_dir();
    let out = serve_command(&dir)
        .env("SWITCHBOARD__PRESENCE__HEARTBEAT_TTL_SECS", "soon")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("presence.heartbeat_ttl_secs"), "{stderr}");
    // Nothing started: no database file was created.
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unknown_key_fails_fast_naming_it() {
    let dir = temp_dir();
    let out = serve_command(&dir)
        .env("SWITCHBOARD__ROUTING__PROT", "1")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("prot"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_invalid_url_fails_fast_naming_the_key() {
    let dir = temp_dir();
    let out = serve_command(&dir)
        .env("SWITCHBOARD__DATABASE__URL", "mysql://localhost/x")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("database.url"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_all_prints_its_addresses_is_healthy_and_exits_on_sigterm_within_5s() {
    let dir = temp_dir();
    let mut child = serve_command(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut routing = None;
    let mut metrics = None;
    let mut served = 0;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if line.trim_start().starts_with("metrics ") {
            metrics = line
                .split_whitespace()
                .nth(1)
                .and_then(|url| url.strip_prefix("http://"))
                .and_then(|rest| rest.strip_suffix("/metrics"))
                .map(str::to_string);
        }
        if line.contains(" gRPC ") {
            served += 1;
            if line.trim_start().starts_with("routing") {
                routing = line.split_whitespace().nth(2).map(str::to_string);
            }
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    assert_eq!(
        served,
        switchboard_runtime::Service::ALL.len(),
        "one gRPC address per service printed"
    );
    let routing = routing.expect("routing address printed");
    let metrics = metrics.expect("metrics address printed");

    let health = Command::new(BIN)
        .args(["healthcheck", "--target", "routing", "--addr"])
        .arg(format!("http://{routing}"))
        .output()
        .expect("healthcheck runs");
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );

    // One Prometheus endpoint for the process, with every service's metrics (routing's are
    // registered by the time it answers health).
    let scrape = http_get(&metrics, "/metrics");
    let scraped = scrape.starts_with("HTTP/1.1 200")
        && scrape.contains("text/plain; version=0.0.4")
        && scrape.contains("switchboard_routing_queue_wait_seconds_count");
    if !scraped {
        let _ = child.kill();
        panic!("unexpected /metrics answer:\n{scrape}");
    }

    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("still running 5 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `dead-letters list` and `replay` read the consuming services' storage (after `migrate`).
#[test]
fn dead_letters_list_and_replay_answer_on_migrated_storage() {
    let dir = temp_dir();
    let run = |args: &[&str]| {
        // The environment of serve, another subcommand.
        let serve = serve_command(&dir);
        let mut cmd = Command::new(BIN);
        cmd.args(args).env_clear();
        for (k, v) in serve.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))) {
            cmd.env(k, v);
        }
        cmd.output().expect("runs")
    };
    let migrated = run(&["migrate", "--target", "all"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let listed = run(&["dead-letters", "list"]);
    assert!(listed.status.success(), "{listed:?}");
    assert!(String::from_utf8_lossy(&listed.stderr).contains("0 dead letter(s)"));
    let replayed = run(&["dead-letters", "replay", "--group", "routing.presence"]);
    assert!(replayed.status.success(), "{replayed:?}");
    let stdout = String::from_utf8_lossy(&replayed.stdout);
    assert!(stdout.contains("routing: 0 dead letter(s)"), "{stdout}");
    assert!(stdout.contains("channel: 0 dead letter(s)"), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}
