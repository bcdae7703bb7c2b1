//! The binary as the image runs it: a non-root uid, a read-only working directory and only a
//! writable temp dir. On PostgreSQL + Redis nothing is written outside the temp dir, so
//! `migrate --target all` and `serve --target all` both work there. When the tests run as
//! root the processes drop to `nobody` (65534) with `setpriv`; otherwise they already run as a
//! non-root uid. (SQLite needs a writable directory for its files: not covered here.)

use std::{os::unix::fs::PermissionsExt, process::Command, time::Duration};

use switchboard_runtime::Service;
use switchboard_testkit::{Backend, TestEnv};

use crate::cluster_support::{Proc, binary, free_ports, until_serving};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `switchboard args…` as a non-root uid, in `cwd`, with `vars` and TMPDIR/HOME at `tmp`.
fn unprivileged(
    args: &[&str],
    cwd: &std::path::Path,
    tmp: &std::path::Path,
    vars: &[(String, String)],
) -> Command {
    let bin = binary();
    let mut command = if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "--",
        ])
        .arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    command
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", tmp)
        .env("HOME", tmp)
        .envs(vars.iter().cloned());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_targets_run_as_non_root_with_a_read_only_working_directory() {
    if is_root() && Command::new("setpriv").arg("--version").output().is_err() {
        println!("skipped: running as root without setpriv (util-linux) to drop to uid {NOBODY}");
        return;
    }
    let env = TestEnv::new(Backend::Cluster)
        .await
        .expect("PostgreSQL and Redis (run through scripts/with-test-services.sh)");
    let base = std::env::temp_dir().join(format!("sb-nonroot-{}", uuid::Uuid::now_v7().simple()));
    let (cwd, tmp) = (base.join("ro"), base.join("tmp"));
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o555)).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&tmp, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    let _cleanup = RemoveOnDrop(base.clone());

    let ports = free_ports(7);
    let vars: Vec<(String, String)> = [
        ("DATABASE__URL", env.settings.database.url.clone()),
        ("REDIS__URL", env.settings.redis.url.clone()),
        ("REDIS__KEY_PREFIX", env.redis_prefix.clone()),
        ("SERVER__HOST", "127.0.0.1".into()),
        ("SERVER__SHUTDOWN_GRACE_SECS", "2".into()),
        ("TELEMETRY__LOG_FILTER", "warn".into()),
        (
            "GATEWAY__AUTH__HS256_SECRET",
            "nonroot-test-secret-of-at-least-32-bytes".into(),
        ),
        ("GATEWAY__PORT", ports[0].to_string()),
        ("CHANNEL__PORT", ports[1].to_string()),
        ("ROUTING__PORT", ports[2].to_string()),
        ("PRESENCE__PORT", ports[3].to_string()),
        ("TICKETING__PORT", ports[4].to_string()),
        ("CHANNEL__WEBHOOK_PORT", ports[5].to_string()),
        ("SERVER__METRICS_PORT", ports[6].to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("SWITCHBOARD__{k}"), v))
    .collect();

    let migrate = unprivileged(&["migrate", "--target", "all"], &cwd, &tmp, &vars)
        .output()
        .expect("migrate runs");
    assert!(
        migrate.status.success(),
        "migrate as non-root failed: {}{}",
        String::from_utf8_lossy(&migrate.stdout),
        String::from_utf8_lossy(&migrate.stderr)
    );

    let log = base.join("serve.log");
    let mut proc = Proc::spawn(
        "all",
        unprivileged(&["serve", "--target", "all"], &cwd, &tmp, &vars),
        &log,
    )
    .expect("serve starts");
    for (svc, port) in [
        (Service::Gateway, ports[0]),
        (Service::Channel, ports[1]),
        (Service::Routing, ports[2]),
        (Service::Presence, ports[3]),
        (Service::Ticketing, ports[4]),
    ] {
        until_serving(&mut proc, svc, port, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{svc}: {e:#}"));
    }
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", ports[6]))
        .await
        .expect("metrics answer");
    assert!(metrics.status().is_success());

    let (status, drain) = proc
        .terminate(Duration::from_secs(15))
        .await
        .expect("exits after SIGTERM");
    assert!(
        status.success(),
        "exit {status}; log:\n{}",
        proc.log_tail(30)
    );
    assert_eq!(
        std::fs::read_dir(&cwd).unwrap().count(),
        0,
        "nothing is written to the working directory"
    );
    println!("non-root serve --target all: drained in {drain:?}");
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(self.0.join("ro"), std::fs::Permissions::from_mode(0o755));
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
