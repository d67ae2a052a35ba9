//! End to end through the real `keywheel` binary: `keywheel devnet` starts a dev node and a TSS
//! process per validator (production parameters, loopback), and its JSON summary must show what
//! the network promises — plainly (a committee of nine), and through one fault of each kind. The
//! README's default devnet is interrupted with SIGINT and must leave no process behind.
//!
//! The synedrion fault run has the machine to itself (`FULL_RUN`, taken for writing): beside
//! another full run on two cores its AuxGen and signing would be slowed towards their deadlines.
//! The committee of nine and the DKLs23 fault run share it (for reading): the DKLs23 run is
//! mostly block time, not CPU, and its own deadlines are short but far above its reshares.
//! libtest starts tests in name order on two threads, so the DKLs23 run (`dkls23_…`) starts
//! beside the committee of nine (`a_committee_…`) once the short SIGINT test (`ctrl_c_…`, no
//! lock) has ended, and the synedrion run (`each_fault_…`) waits for both; on one thread all
//! simply take turns.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde_json::Value;

static FULL_RUN: RwLock<()> = RwLock::new(());

/// Every port a devnet opens, on any free port: test runs side by side must not collide.
const FREE_PORTS: [&str; 8] = [
    "--rpc-port",
    "0",
    "--p2p-port",
    "0",
    "--api-port",
    "0",
    "--dashboard-port",
    "0",
];

fn keywheel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keywheel"))
}

fn wait_with_limit(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("keywheel did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The pids the devnet wrote to `devnet.json`: the node's and every TSS's.
fn child_pids(dir: &Path) -> Vec<i32> {
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).unwrap()).unwrap();
    let mut pids = vec![manifest["node_pid"].as_i64().unwrap() as i32];
    for v in manifest["validators"].as_array().unwrap() {
        pids.push(v["pid"].as_i64().unwrap() as i32);
    }
    pids
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn ctrl_c_stops_every_devnet_process() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let mut child = keywheel()
        .arg("devnet")
        .arg("--dir")
        .arg(&dir)
        .args(FREE_PORTS)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !dir.join("devnet.json").exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "the devnet never came up");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the devnet ended before it came up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pids = child_pids(&dir);
    assert_eq!(pids.len(), 8, "a node and seven TSSs");
    assert!(
        pids.iter().all(|p| alive(*p)),
        "every process runs before the interrupt"
    );

    // SAFETY: SIGINT to our own child, as a Ctrl-C at the terminal would send.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_with_limit(&mut child, Duration::from_secs(60));
    assert_eq!(
        status.code(),
        Some(130),
        "an interrupted devnet says so in its exit code"
    );
    for pid in pids {
        assert!(!alive(pid), "process {pid} outlived the interrupted devnet");
    }
    assert!(dir.join("genesis.toml").exists(), "the directory given is kept");
}

/// A committee of nine at threshold five (#23), with no fault: the jumpstart, a signature, a
/// rotation in which the oldest member leaves and one joins, a signature after it under the
/// same child key, the departed member's old share refused, and nobody punished. Signing
/// rounds at t = 5 need round timeouts that follow the threshold and sessions that are not cut
/// off while they progress. (The README's default devnet, a committee of five, is what the
/// fault run and `ctrl_c_stops_every_devnet_process` start; a run of its own cost CI about
/// 3.5 min.)
#[test]
fn a_committee_of_nine_rotates_signs_and_refuses_a_departed_members_old_share() {
    let _turn = FULL_RUN.read().unwrap_or_else(|p| p.into_inner());
    let (summary, pids) = run_devnet(&[
        "--validators",
        "11",
        "--committee",
        "9",
        "--threshold",
        "5",
        "--sessions",
        "1",
        "--session-blocks",
        "200",
        "--reshare-deadline-blocks",
        "600",
    ]);
    let text = serde_json::to_string_pretty(&summary).unwrap();
    assert!(summary["failures"].as_array().unwrap().is_empty(), "{text}");
    let parent = summary["parent_verifying_key"].as_str().expect("a parent key");
    assert_eq!(parent.len(), 2 + 66, "a compressed SEC1 key in hex");

    // One rotation: the oldest member leaves, one joins, the committee still 9.
    let sessions = summary["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{text}");
    let session = &sessions[0];
    assert_eq!(session["rotated"], Value::Bool(true), "{text}");
    assert!(session["attempts"].as_u64().unwrap() >= 1);
    let committee: BTreeSet<String> = strings(&session["committee"]).into_iter().collect();
    assert_eq!(committee.len(), 9, "{text}");
    let (joined, left) = (strings(&session["joined"]), strings(&session["left"]));
    assert_eq!(
        (joined.len(), left.len()),
        (1, 1),
        "the oldest leaves, one joins: {session}"
    );
    assert!(committee.contains(&joined[0]) && !committee.contains(&left[0]));

    // A signature after the jumpstart and after the rotation, each verified by the CLI against
    // the child key derived from the parent key, both for the same child address.
    let address = summary["child_address"].as_str().expect("one child address throughout");
    let signatures = summary["signatures"].as_array().unwrap();
    assert_eq!(
        signatures.len(),
        2,
        "after the jumpstart and after the rotation: {text}"
    );
    assert_eq!(signatures[0]["after"], "jumpstart");
    for s in signatures {
        assert_eq!(s["verified"], Value::Bool(true), "{s}");
        assert_eq!(s["child_address"].as_str(), Some(address));
        assert_eq!(strings(&s["signers"]).len(), 5, "threshold 5: {s}");
    }

    // The departed member's old share was tried, and refused; nobody misbehaved.
    assert_eq!(summary["old_share_rejected"], Value::Bool(true), "{text}");
    assert_eq!(summary["old_share_trials"].as_array().unwrap().len(), 1, "{text}");
    assert!(
        summary["slashed"].as_array().unwrap().is_empty(),
        "nobody misbehaved: {text}"
    );
    for pid in pids {
        assert!(!alive(pid), "process {pid} outlived the devnet");
    }
}

/// The node's and every TSS's log file hold no terminal escape codes (colours are for terminals).
fn assert_logs_are_plain_text(dir: &Path) {
    let mut logs = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "log") {
                logs.push(path);
            }
        }
    }
    assert!(logs.len() >= 2, "the node's and the TSSs' logs: {logs:?}");
    for log in logs {
        let bytes = std::fs::read(&log).unwrap();
        assert!(!bytes.contains(&0x1b), "{} holds escape codes", log.display());
    }
}

/// Runs a devnet with `extra` flags to its end; returns its summary (asserting it succeeded).
fn run_devnet(extra: &[&str]) -> (Value, Vec<i32>) {
    run_devnet_watched(extra, false)
}

/// [`run_devnet`], and with `browser`, the dashboard checked in headless Chromium while the
/// devnet runs ([`BrowserCheck`]).
fn run_devnet_watched(extra: &[&str], browser: bool) -> (Value, Vec<i32>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let summary_path = tmp.path().join("summary.json");
    let check = browser.then(BrowserCheck::prepare);
    let mut child = keywheel()
        .arg("devnet")
        .arg("--dir")
        .arg(&dir)
        .arg("--summary")
        .arg(&summary_path)
        .args(FREE_PORTS)
        .args(extra)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let check = check.map(|c| c.start(&dir, &mut child, tmp.path()));
    // The fault run (seven rotations, three of them waiting out a deadline) takes about 20 min
    // on a busy 2-core machine; the limit only ends a run that hangs.
    let status = wait_with_limit(&mut child, Duration::from_secs(2700));
    let text = std::fs::read_to_string(&summary_path).expect("the devnet wrote its summary");
    if let Some(check) = check {
        check.finish();
    }
    assert!(status.success(), "the devnet failed ({status}); summary:\n{text}");
    assert_logs_are_plain_text(&dir);
    (serde_json::from_str(&text).unwrap(), child_pids(&dir))
}

/// The dashboard in a real browser (#20): `tests/browser/dashboard.mjs` drives Debian's
/// Chromium through playwright-core against the devnet's dashboard, and saves a screenshot.
struct BrowserCheck {
    /// The script's directory (its `package.json` pins playwright-core).
    scripts: std::path::PathBuf,
}

/// Where the browser check saves its screenshot (a test artefact).
fn screenshot_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png")
}

impl BrowserCheck {
    /// Checks what the browser test needs, and installs playwright-core if it is missing.
    fn prepare() -> Self {
        let chromium = std::env::var("KEYWHEEL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            Path::new(&chromium).exists(),
            "the dashboard's browser test needs Chromium at {chromium}: install Debian's `chromium` \
             (apt-get install chromium, as .ci/run does) or set KEYWHEEL_CHROMIUM"
        );
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        if !scripts.join("node_modules/playwright-core").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&scripts)
                .status()
                .expect("the dashboard's browser test needs Node.js and npm (to install playwright-core)");
            assert!(status.success(), "npm ci in {} failed", scripts.display());
        }
        let _ = std::fs::remove_file(screenshot_path());
        Self { scripts }
    }

    /// Waits for the devnet's dashboard and starts the script against it.
    fn start(self, dir: &Path, devnet: &mut Child, tmp: &Path) -> RunningBrowserCheck {
        let manifest = dir.join("devnet.json");
        let started = Instant::now();
        while !manifest.exists() {
            assert!(started.elapsed() < Duration::from_secs(120), "the devnet never came up");
            assert!(
                devnet.try_wait().unwrap().is_none(),
                "the devnet ended before it came up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let manifest: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        let dashboard = manifest["dashboard"].as_str().expect("devnet.json names the dashboard");
        let node = manifest["node"].as_str().unwrap().replacen("ws://", "http://", 1);
        let log_path = tmp.join("browser.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new("node")
            .arg(self.scripts.join("dashboard.mjs"))
            .args([dashboard, &node])
            .arg(screenshot_path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the dashboard's browser test needs Node.js (`node`)");
        RunningBrowserCheck { child, log_path }
    }
}

/// The browser check while it runs.
struct RunningBrowserCheck {
    child: Child,
    log_path: std::path::PathBuf,
}

impl RunningBrowserCheck {
    /// Waits for the script (the devnet has ended, so a check still waiting cannot pass) and
    /// asserts it passed and left a screenshot.
    fn finish(mut self) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > Duration::from_secs(90) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        println!("{log}");
        assert!(
            status.is_some_and(|s| s.success()),
            "the dashboard's browser check failed ({status:?}):\n{log}"
        );
        let png = std::fs::read(screenshot_path()).expect("the browser check saved a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    }
}

/// One devnet run, one fault per rotation: a malicious TSS (corrupted sealed subshares), a silent one,
/// one SIGKILLed mid-reshare, the node SIGKILLed while a confirmation waits in its open block,
/// the node restarted from a backup taken before the rotation, a TSS that withholds its deal
/// from one member and one that withholds its AuxGen round-3 proofs (the others forward both),
/// and a joiner that sends round-2 messages it must not send (nobody may be punished for any of
/// the last three, and each rotates on the attempt it struck). Nine validators, so that the three
/// offenders leave enough for a committee of five.
#[test]
fn each_fault_names_and_slashes_its_offender_and_a_later_attempt_rotates() {
    let _turn = FULL_RUN.write().unwrap_or_else(|p| p.into_inner());
    // The dashboard is checked in a browser during this run: it has rotations and slashes.
    fault_run("synedrion", true, "300");
}

/// [`each_fault_names_and_slashes_its_offender_and_a_later_attempt_rotates`] on the DKLs23
/// backend: the same faults, offenders and checks. Its `withhold-proof` withholds a pair setup
/// message, which nobody can forward: the victim waits for it until its local deadline and its
/// new key lacks that pair, the rotation still happens on that attempt, and nobody is punished;
/// signing goes on around the missing pair (the signing during it must verify too).
#[test]
fn dkls23_each_fault_names_and_slashes_its_offender_and_a_later_attempt_rotates() {
    let _turn = FULL_RUN.read().unwrap_or_else(|p| p.into_inner());
    // Its reshares take seconds (no AuxGen): a deadline of 80 s instead of 150 s (the TSSs give
    // up at 60 s) cuts what the silent and the crashed member cost. Beside the committee of
    // nine's AuxGen, one reshare with a node restart took 61.5 s of wall time (no blocks while
    // the node was down), none failed.
    fault_run("dkls23", false, "160");
}

/// The fault run on `backend` with a reshare deadline of `deadline_blocks`, the dashboard
/// checked in a browser if `browser`.
fn fault_run(backend: &str, browser: bool, deadline_blocks: &str) {
    let (summary, pids) = run_devnet_watched(
        &[
            "--backend",
            backend,
            "--reshare-deadline-blocks",
            deadline_blocks,
            "--validators",
            "9",
            "--sessions",
            "8",
            "--session-blocks",
            "60",
            "--fault",
            "malicious:auto",
            "--fault",
            "silent:auto",
            "--fault",
            "crash:auto@reshare",
            "--fault",
            "node-restart",
            "--fault",
            "node-rollback",
            "--fault",
            "withhold:auto",
            "--fault",
            "withhold-proof:auto",
            "--fault",
            "stray:auto",
        ],
        browser,
    );
    let text = serde_json::to_string_pretty(&summary).unwrap();
    assert!(summary["failures"].as_array().unwrap().is_empty(), "{text}");

    let faults = summary["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 8, "{text}");
    // The slash the fault's target must get, or, when nobody is punished, whether the attempt
    // the fault struck still rotated (a node fault, a forwarded broadcast, stray messages
    // dropped) or only a retry did.
    let expected = [
        ("malicious", Some("Stake"), true),
        ("silent", Some("Excluded"), true),
        ("crash", Some("Excluded"), true),
        ("node-restart", None, false),
        ("node-rollback", None, false),
        ("withhold", None, false),
        ("withhold-proof", None, false),
        ("stray", None, false),
    ];
    let sessions = summary["sessions"].as_array().unwrap();
    let slashed = summary["slashed"].as_array().unwrap();
    for (fault, (kind, slash, retried)) in faults.iter().zip(expected) {
        assert_eq!(fault["kind"], kind);
        assert_eq!(fault["applied"], Value::Bool(true), "{fault}");
        assert_eq!(
            fault["signed_during"],
            Value::Bool(true),
            "signing went on during the fault: {fault}"
        );
        let session = fault["session"].as_u64().unwrap();
        let rotation = sessions
            .iter()
            .find(|s| s["index"].as_u64() == Some(session))
            .expect("the fault's session is in the summary");
        assert_eq!(rotation["rotated"], Value::Bool(true), "{rotation}");
        assert_eq!(fault["rotated_on_attempt"], rotation["attempts"]);
        match slash {
            Some(slash) => {
                // Named (by evidence or by the unresponsive rule) and punished, and the retry
                // went on without it.
                assert_eq!(fault["slashed"].as_str(), Some(slash), "{fault}");
                assert_eq!(rotation["attempts"].as_u64().unwrap() >= 2, retried, "{rotation}");
                let offender = fault["tss"].as_str().unwrap();
                assert!(slashed
                    .iter()
                    .any(|s| s["tss"] == offender && s["kind"] == slash && s["session"].as_u64() == Some(session)));
                assert!(
                    !strings(&rotation["committee"]).iter().any(|m| m == offender),
                    "the offender is out"
                );
            }
            None => {
                assert!(fault["slashed"].is_null(), "this fault punishes no one: {fault}");
                assert!(
                    !slashed.iter().any(|s| s["session"].as_u64() == Some(session)),
                    "nobody is slashed in its session: {text}"
                );
                let attempts = fault["rotated_on_attempt"].as_u64().unwrap();
                assert_eq!(attempts >= 2, retried, "{fault}");
            }
        }
    }
    assert_eq!(slashed.len(), 3, "exactly the three offenders: {text}");

    // The confirmation in the open block was lost with the node, and sent again.
    let lost = &faults[3]["lost_confirmation"];
    assert_eq!(lost["lost"], Value::Bool(true), "{text}");
    assert_eq!(lost["attempt"], 1);
    // On the node restored from its backup every TSS halted, saying why, kept its slots and
    // signed nothing; on the right database they all resumed.
    let rollback = &faults[4]["rollback"];
    let halted = rollback["halted"].as_object().unwrap();
    assert_eq!(halted.len(), 9, "every TSS watched: {rollback}");
    for (name, why) in halted {
        let why = why
            .as_str()
            .unwrap_or_else(|| panic!("{name} did not halt: {rollback}"));
        assert!(
            why.contains("restored from a backup") || why.contains("another branch"),
            "{name}: {why}"
        );
    }
    assert_eq!(rollback["slots_kept"], Value::Bool(true), "{rollback}");
    assert!(
        rollback["sign_refusal"].as_str().unwrap().contains("does not sign now"),
        "{rollback}"
    );
    assert_eq!(rollback["resumed"], Value::Bool(true), "{rollback}");

    // Nothing lost: a rotation per fault (more if one had to wait for the next), one parent key
    // and child address, every signature verified.
    assert!(sessions.len() >= faults.len(), "{text}");
    assert!(sessions.iter().all(|s| s["rotated"] == Value::Bool(true)));
    let address = summary["child_address"].as_str().expect("one child address throughout");
    let signatures = summary["signatures"].as_array().unwrap();
    assert_eq!(
        signatures.len(),
        1 + faults.len() + sessions.len(),
        "after jumpstart, during each fault, after each rotation"
    );
    for s in signatures {
        assert_eq!(s["verified"], Value::Bool(true), "{s}");
        assert_eq!(s["child_address"].as_str(), Some(address));
    }
    assert_eq!(summary["old_share_rejected"], Value::Bool(true), "{text}");
    for pid in pids {
        assert!(!alive(pid), "process {pid} outlived the devnet");
    }
}
