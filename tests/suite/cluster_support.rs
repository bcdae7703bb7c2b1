//! Real `switchboard` processes (the built binary, target/debug/switchboard) for the tests of
//! the distributed topology: free ports, a guard that kills a process when a test fails, SIGTERM
//! with the time to exit, and waits for SERVING.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use switchboard_runtime::Service;

/// The `switchboard` binary, built once when missing (`cargo build -p switchboard`).
pub fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_path_buf();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let bin = target.join("debug").join("switchboard");
        if !bin.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "-p", "switchboard"])
                .current_dir(&root)
                .status()
                .expect("cargo build runs");
            assert!(status.success(), "cargo build -p switchboard failed");
        }
        bin
    })
    .clone()
}

/// `n` distinct free TCP ports of 127.0.0.1 (bound together, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// A running `switchboard` process, killed (SIGKILL) and reaped when dropped.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// Starts `command` with its stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = command.spawn()?;
        Ok(Self {
            name: name.into(),
            child: Some(child),
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Whether it has exited (reaping it).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// SIGTERM, then waits up to `timeout` for the exit: the status and the drain time.
    pub async fn terminate(&mut self, timeout: Duration) -> anyhow::Result<(ExitStatus, Duration)> {
        let pid = self.pid();
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed");
        loop {
            if let Some(status) = self.exited() {
                return Ok((status, sent.elapsed()));
            }
            anyhow::ensure!(
                sent.elapsed() < timeout,
                "{} (pid {pid}) still running {timeout:?} after SIGTERM; log:\n{}",
                self.name,
                self.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether `service` answers SERVING at 127.0.0.1:`port` (gRPC health).
pub async fn serving(service: Service, port: u16) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            switchboard::healthcheck(&format!("http://127.0.0.1:{port}"), service.grpc_name()),
        )
        .await,
        Ok(Ok(()))
    )
}

/// Waits (up to `timeout`) until `target` is SERVING at `port`; fails early when `proc` exits.
pub async fn until_serving(
    proc: &mut Proc,
    service: Service,
    port: u16,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        if serving(service, port).await {
            return Ok(start.elapsed());
        }
        if let Some(status) = proc.exited() {
            anyhow::bail!(
                "{} exited ({status}) before serving; log:\n{}",
                proc.name,
                proc.log_tail(30)
            );
        }
        anyhow::ensure!(
            start.elapsed() < timeout,
            "{} not SERVING at {port} within {timeout:?}; log:\n{}",
            proc.name,
            proc.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
