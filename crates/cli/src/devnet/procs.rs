//! The devnet's child processes: each node and TSS is this same binary run as `keywheel node run`
//! or `keywheel tss run`, a separate OS process with its own log file. A child never outlives
//! the devnet: it is stopped on drop, and the kernel sends it SIGTERM if the devnet dies.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long a stopped child may take to exit before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// One running child process.
pub struct Proc {
    log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    /// Starts this binary with `args`, its stderr appended to `log`, and waits until it prints a
    /// line starting with `ready` (the address it listens on); returns the rest of that line.
    ///
    /// Call it from the main thread: the parent-death signal is tied to the thread that spawns.
    pub async fn spawn(
        name: &str,
        args: &[OsString],
        log: &Path,
        ready: &str,
        limit: Duration,
    ) -> anyhow::Result<(Self, String)> {
        let exe = std::env::current_exe().context("find the keywheel binary")?;
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("open {}", log.display()))?;
        let parent = std::process::id() as libc::pid_t;
        let mut command = Command::new(exe);
        command
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("KEYWHEEL_DEVNET_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env_remove("KEYWHEEL_TSS_PASSPHRASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            // Its own process group: a Ctrl-C at the terminal reaches the devnet, which stops
            // the children in order (TSSs first, then the node).
            .process_group(0);
        // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the devnet exited while starting a child"));
                }
                Ok(())
            });
        }
        let mut child = command.spawn().with_context(|| format!("start {name}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let ready = ready.to_owned();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix(&ready) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.trim().to_owned());
                    }
                }
            }
        });
        let mut proc = Self {
            log: log.to_owned(),
            child: Some(child),
        };
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(line)) => Ok((proc, line)),
            Ok(Err(_)) => {
                let status = proc.wait_exit();
                bail!(
                    "{name} exited before it was ready ({status}); its log:\n{}",
                    proc.log_tail(30)
                )
            }
            Err(_) => {
                proc.stop();
                bail!("{name} was not ready within {limit:?}; its log:\n{}", proc.log_tail(30))
            }
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Sends SIGTERM without waiting (to stop several at once; [`Self::stop`] then waits).
    pub fn terminate(&self) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        }
    }

    /// SIGTERM, then SIGKILL after [`STOP_GRACE`]; returns once it has exited.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        // SAFETY: plain kill(2) on our own child's pid, which cannot have been reused: it is
        // not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let started = Instant::now();
        while started.elapsed() < STOP_GRACE {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// SIGKILL at once (a crash), and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn wait_exit(&mut self) -> String {
        match self.child.take().map(|mut c| c.wait()) {
            Some(Ok(status)) => status.to_string(),
            Some(Err(e)) => e.to_string(),
            None => "not running".into(),
        }
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

/// The last `lines` lines of a log file (empty if it cannot be read).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}
