//! `keywheel bench scale`: one devnet per committee size `n` (threshold `t = round(2n/3)`, two
//! validators to spare, one rotation), run by this binary as a child process, and what each
//! phase cost there: the jumpstart and the reshare (chain time, from the devnet's summary), the
//! signatures after each (request to verified answer), and every TSS process's CPU time and peak
//! memory, sampled from `/proc` while the devnet runs. Everything shares this machine's cores, so
//! wall times include the other processes' work.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use keywheel_mpc::backend::BackendKind;
use serde::Serialize;
use serde_json::Value;

/// `keywheel bench scale` options.
#[derive(Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Committee sizes, each with threshold round(2n/3).
    #[arg(long, value_delimiter = ',', default_value = "5,7,9,12,15")]
    pub sizes: Vec<u32>,
    /// Keep every devnet's directory (and log) under this new or empty directory; by default a
    /// temporary one, removed at the end.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The signing backends, each run at every size (one after the other, in this order).
    #[arg(long, value_delimiter = ',', default_value = "synedrion")]
    pub backends: Vec<BackendKind>,
}

/// What one committee size cost.
#[derive(Debug, Clone, Serialize)]
struct Point {
    backend: BackendKind,
    committee: u32,
    threshold: u32,
    /// The devnet's wall time, start to end.
    wall_s: f64,
    jumpstart_s: Option<f64>,
    reshare_s: Option<f64>,
    sign_after_jumpstart_s: Option<f64>,
    sign_after_rotation_s: Option<f64>,
    /// CPU seconds of the TSS processes: the mean over those that were ever in a committee, and
    /// the most any one used.
    cpu_s_mean: f64,
    cpu_s_max: f64,
    /// The largest peak resident memory of a TSS process.
    peak_rss_mib_max: f64,
    /// What the devnet reported as failed (empty when every check passed).
    failures: Vec<String>,
}

/// The threshold a committee of `n` gets: two thirds, rounded.
fn threshold_for(n: u32) -> u32 {
    (2 * n + 1) / 3
}

/// Runs `keywheel bench scale`.
pub async fn scale(args: ScaleArgs) -> anyhow::Result<()> {
    let temporary = tempfile::tempdir().context("a temporary directory")?;
    let root = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
            dir.clone()
        }
        None => temporary.path().to_path_buf(),
    };
    let exe = std::env::current_exe().context("this program's path")?;
    let mut points = Vec::new();
    for &backend in &args.backends {
        for &n in &args.sizes {
            anyhow::ensure!(n >= 2, "a committee of {n} cannot have a threshold below it");
            let t = threshold_for(n);
            eprintln!("{backend}: committee {n}, threshold {t}: running a devnet");
            let point = run_one(&exe, &root, backend, n, t).await?;
            // Each point as it comes, so a run stopped early keeps what it measured.
            eprintln!("{}\n{}", header(), row(&point));
            let kept = root.join(format!("point-{backend}-n{n}.json"));
            std::fs::write(&kept, serde_json::to_vec_pretty(&point)?)
                .with_context(|| format!("write {}", kept.display()))?;
            points.push(point);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&points)?);
    } else {
        print_table(&points);
    }
    Ok(())
}

/// One devnet of `n` members at threshold `t`, sampled until it ends.
async fn run_one(exe: &Path, root: &Path, backend: BackendKind, n: u32, t: u32) -> anyhow::Result<Point> {
    let dir = root.join(format!("{backend}-n{n}"));
    let summary_path = root.join(format!("summary-{backend}-n{n}.json"));
    let log = std::fs::File::create(root.join(format!("devnet-{backend}-n{n}.log"))).context("the devnet's log")?;
    // Sessions and deadlines grow with the committee: AuxGen's cost grows with it.
    let session_blocks = (30 * n).max(100);
    let started = Instant::now();
    let mut child = tokio::process::Command::new(exe)
        .arg("devnet")
        .arg("--dir")
        .arg(&dir)
        .arg("--summary")
        .arg(&summary_path)
        .args(["--backend", backend.name()])
        .args(["--validators", &(n + 2).to_string()])
        .args(["--committee", &n.to_string(), "--threshold", &t.to_string()])
        .args(["--sessions", "1", "--session-blocks", &session_blocks.to_string()])
        .args(["--reshare-deadline-blocks", &(3 * session_blocks).to_string()])
        .args([
            "--rpc-port",
            "0",
            "--p2p-port",
            "0",
            "--api-port",
            "0",
            "--dashboard-port",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("the devnet's log")?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("start the devnet")?;
    let mut usage: BTreeMap<u32, Usage> = BTreeMap::new();
    loop {
        for pid in tss_pids(&dir.join("devnet.json")) {
            if let Some(now) = Usage::read(pid) {
                usage.insert(pid, now);
            }
        }
        tokio::select! {
            status = child.wait() => {
                status.context("wait for the devnet")?;
                break;
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    let summary: Value = std::fs::read_to_string(&summary_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let seconds = |v: &Value| v.as_u64().map(|ms| ms as f64 / 1000.0);
    let signature_after = |after: &str| {
        summary["signatures"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["after"] == after && s["verified"] == true))
            .and_then(|s| seconds(&s["ms"]))
    };
    let mut failures: Vec<String> = summary["failures"]
        .as_array()
        .map(|all| all.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if summary.is_null() {
        failures.push(format!("no summary: see devnet-{backend}-n{n}.log"));
    }
    // The TSSs that did work (the two spare validators idle unless they joined).
    let busy: Vec<f64> = usage.values().map(|u| u.cpu_s).filter(|s| *s > 1.0).collect();
    Ok(Point {
        backend,
        committee: n,
        threshold: t,
        wall_s,
        jumpstart_s: seconds(&summary["jumpstart_ms"]),
        reshare_s: summary["sessions"].get(0).and_then(|s| seconds(&s["reshare_ms"])),
        sign_after_jumpstart_s: signature_after("jumpstart"),
        sign_after_rotation_s: signature_after("rotation"),
        cpu_s_mean: if busy.is_empty() {
            0.0
        } else {
            busy.iter().sum::<f64>() / busy.len() as f64
        },
        cpu_s_max: usage.values().map(|u| u.cpu_s).fold(0.0, f64::max),
        peak_rss_mib_max: usage.values().map(|u| u.peak_rss_mib).fold(0.0, f64::max),
        failures,
    })
}

/// The TSS processes' pids, from the devnet's manifest (none until it is written).
fn tss_pids(manifest: &Path) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return Vec::new();
    };
    value["validators"]
        .as_array()
        .map(|all| all.iter().filter_map(|v| v["pid"].as_u64().map(|p| p as u32)).collect())
        .unwrap_or_default()
}

/// One process's CPU time so far and its peak resident memory, from `/proc`.
#[derive(Debug, Clone, Copy)]
struct Usage {
    cpu_s: f64,
    peak_rss_mib: f64,
}

impl Usage {
    fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces), from field 3 on.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (utime, stime): (f64, f64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
        // SAFETY: sysconf has no preconditions; it reads a constant of the system.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(Self {
            cpu_s: (utime + stime) / ticks,
            peak_rss_mib: kib / 1024.0,
        })
    }
}

fn print_table(points: &[Point]) {
    println!("{}", header());
    for p in points {
        println!("{}", row(p));
    }
}

/// The table's header (times and CPU in seconds).
fn header() -> String {
    format!(
        "{:>9} {:>3} {:>3} {:>10} {:>10} {:>12} {:>12} {:>9} {:>9} {:>9} {:>8}  failures",
        "backend", "n", "t", "jumpstart", "reshare", "sign(jump)", "sign(rot)", "cpu/tss", "cpu max", "rss MiB", "wall"
    )
}

/// One point as a row under [`header`].
fn row(p: &Point) -> String {
    let s = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    format!(
        "{:>9} {:>3} {:>3} {:>10} {:>10} {:>12} {:>12} {:>9.1} {:>9.1} {:>9.0} {:>8.0}  {}",
        p.backend.name(),
        p.committee,
        p.threshold,
        s(p.jumpstart_s),
        s(p.reshare_s),
        s(p.sign_after_jumpstart_s),
        s(p.sign_after_rotation_s),
        p.cpu_s_mean,
        p.cpu_s_max,
        p.peak_rss_mib_max,
        p.wall_s,
        p.failures.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_two_thirds_rounded() {
        let pairs: Vec<(u32, u32)> = [5, 7, 9, 12, 15].iter().map(|n| (*n, threshold_for(*n))).collect();
        assert_eq!(pairs, vec![(5, 3), (7, 5), (9, 6), (12, 8), (15, 10)]);
    }

    #[test]
    fn this_process_usage_reads_from_proc() {
        let usage = Usage::read(std::process::id()).expect("this process is in /proc");
        assert!(usage.peak_rss_mib > 0.0);
        assert!(usage.cpu_s >= 0.0);
        assert!(Usage::read(u32::MAX).is_none(), "no such process");
    }
}
