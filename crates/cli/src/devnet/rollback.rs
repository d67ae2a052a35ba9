//! The `node-rollback` fault, as an operator would cause it: the node's database is backed up
//! (the node stopped, its directory copied) before a rotation; after the rotation the node is
//! started from that backup, so every TSS follows a chain from before the sharing it holds. The
//! TSSs must halt — no signing, no slot changed — and say why; once the right database is back
//! they must resume.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use keywheel_rpc::sign_request::ToSign;
use keywheel_tss::api::TssStatus;

use super::faults::RollbackSummary;
use super::follow::NodeConnection;
use super::processes::Processes;
use super::progress::Progress;
use crate::client;

/// How long the TSSs get to halt, and to resume.
const NOTICE: Duration = Duration::from_secs(90);

/// The backup's directory, beside the node's.
const BACKUP: &str = "node-backup";

/// Stops the node, copies its database directory to `node-backup`, and starts it again.
pub async fn back_up(procs: &mut Processes, node: &mut NodeConnection, progress: &Progress) -> anyhow::Result<()> {
    procs.stop_node();
    let backup = procs.dir.join(BACKUP);
    if backup.exists() {
        std::fs::remove_dir_all(&backup).with_context(|| format!("remove the old {}", backup.display()))?;
    }
    copy_dir(&procs.node_dir(), &backup)?;
    restart(procs, node).await?;
    progress.log(format!(
        "fault node-rollback: the node's database backed up to {}",
        backup.display()
    ));
    Ok(())
}

/// Starts the node from the backup, watches every running TSS halt (and a signing request be
/// refused, and no slot change), then puts the right database back and watches them resume.
/// The rolled-back database is kept as `node-rolled-back`.
pub async fn roll_back(
    procs: &mut Processes,
    node: &mut NodeConnection,
    http: &reqwest::Client,
    progress: &Progress,
) -> anyhow::Result<RollbackSummary> {
    let before = statuses(procs, http).await;
    let (node_dir, right) = (procs.node_dir(), procs.dir.join("node-right"));
    procs.stop_node();
    std::fs::rename(&node_dir, &right).context("set the node's database aside")?;
    copy_dir(&procs.dir.join(BACKUP), &node_dir)?;
    restart(procs, node).await?;
    progress.log("  fault: the node restarted from its backup from before the rotation");

    let halted = wait_for(procs, http, |s| s.halted.is_some()).await;
    let mut summary = RollbackSummary {
        halted: halted
            .iter()
            .map(|(name, status)| (name.clone(), status.as_ref().and_then(|s| s.halted.clone())))
            .collect(),
        ..RollbackSummary::default()
    };
    for (name, why) in &summary.halted {
        progress.log(format!("  {name}: {}", why.as_deref().unwrap_or("did NOT halt")));
    }
    let urls = procs.api_urls();
    let asked = client::sign(
        &node.client,
        http,
        &urls[..1.min(urls.len())],
        &procs.user,
        ToSign::Message(b"keywheel devnet: signed on a node restored from a backup".to_vec()),
    )
    .await;
    summary.sign_refusal = asked.err().map(|e| format!("{e:#}"));
    progress.log(format!(
        "  a signing request while halted: {}",
        summary.sign_refusal.as_deref().unwrap_or("SIGNED")
    ));
    let during = statuses(procs, http).await;
    summary.slots_kept = !before.is_empty() && slots(&before) == slots(&during);

    procs.stop_node();
    let rolled_back = procs.dir.join("node-rolled-back");
    if rolled_back.exists() {
        std::fs::remove_dir_all(&rolled_back)?;
    }
    std::fs::rename(&node_dir, &rolled_back).context("set the rolled-back database aside")?;
    std::fs::rename(&right, &node_dir).context("put the node's database back")?;
    restart(procs, node).await?;
    progress.log("  fault: the node restarted from its right database");
    let resumed = wait_for(procs, http, |s| s.halted.is_none()).await;
    summary.resumed = resumed.values().all(|s| s.as_ref().is_some_and(|s| s.halted.is_none()));
    Ok(summary)
}

/// Starts the node again (same address) and reconnects to it.
async fn restart(procs: &mut Processes, node: &mut NodeConnection) -> anyhow::Result<()> {
    procs.start_node().await?;
    procs.write_manifest()?;
    node.reconnect().await
}

/// Every started TSS's status (`None` where it did not answer), by validator name.
async fn statuses(procs: &Processes, http: &reqwest::Client) -> BTreeMap<String, Option<TssStatus>> {
    let mut all = BTreeMap::new();
    for v in &procs.validators {
        if let Some(url) = &v.api_url {
            all.insert(v.name.clone(), client::tss_status(http, url).await);
        }
    }
    all
}

/// Polls every TSS until each status satisfies `done` or [`NOTICE`] has passed; returns the
/// last statuses.
async fn wait_for(
    procs: &Processes,
    http: &reqwest::Client,
    done: impl Fn(&TssStatus) -> bool,
) -> BTreeMap<String, Option<TssStatus>> {
    let started = Instant::now();
    loop {
        let all = statuses(procs, http).await;
        if all.values().all(|s| s.as_ref().is_some_and(&done)) || started.elapsed() > NOTICE {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Each TSS's slots — current, holding, retired — as JSON, to compare.
fn slots(all: &BTreeMap<String, Option<TssStatus>>) -> BTreeMap<String, serde_json::Value> {
    all.iter()
        .map(|(name, s)| {
            let value = s.as_ref().map_or(
                serde_json::Value::Null,
                |s| serde_json::json!({ "current": s.current, "next": s.next, "retired": s.retired }),
            );
            (name.clone(), value)
        })
        .collect()
}

/// Copies the files of a flat directory (the node's database directory).
fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("create {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .with_context(|| format!("copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}
