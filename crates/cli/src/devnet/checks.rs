//! What the devnet checks: after every rotation, that each TSS holds what the chain confirmed;
//! between rotations, a copy of each member's keystore for the old-share trial; and at the end
//! ([`finish`]), every keystore, every departed member's old share, each fault's outcome, the
//! rotations and the signatures. A failed check is a line in the report's failures.

use std::time::{Duration, Instant};

use anyhow::Context;
use keywheel_chain::{AccountId, Sharing};
use keywheel_mpc::curve::point_from_bytes;
use keywheel_rpc::KeywheelApiClient;
use keywheel_tss::keystore::{KeySource, Keystore, Slot, SlotInfo, KEYSTORE_FILE};
use keywheel_tss::P;

use super::args::DevnetArgs;
use super::old_share::{all_rejected, open_share, try_old_share, OldShareTrial};
use super::processes::{Processes, Validator};
use super::summary::{child_addresses, Report, Summary};
use crate::client;

/// Whether a TSS's `current` slot is what the chain says it should be: a member of `sharing`
/// holds exactly it, anyone else holds nothing.
fn holds_what_the_chain_says(tss: &AccountId, current: Option<&SlotInfo>, sharing: &Sharing) -> bool {
    match current {
        Some(c) => sharing.public_shares.contains_key(tss) && c.sharing_digest() == sharing.digest(),
        None => !sharing.public_shares.contains_key(tss),
    }
}

/// After a rotation every new member's `current` slot must hold exactly the sharing the chain
/// confirmed, and nobody else's may: checked through each TSS's status (it rotates on its own
/// next reconcile, so it gets a few seconds).
pub async fn check_members_hold(
    procs: &Processes,
    http: &reqwest::Client,
    report: &mut Report,
    session: u32,
    sharing: &Sharing,
) {
    for v in &procs.validators {
        let Some(url) = &v.api_url else { continue };
        // A departed member erases its old share once it sees the rotation.
        let started = Instant::now();
        let ok = loop {
            let status = client::tss_status(http, url).await;
            if status.is_some_and(|s| holds_what_the_chain_says(&v.tss, s.current.as_ref(), sharing)) {
                break true;
            }
            if started.elapsed() > Duration::from_secs(20) {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        };
        if !ok {
            report.failures.push(format!(
                "after session {session}'s rotation {}'s current slot is not what the chain confirmed for it",
                v.name
            ));
        }
    }
}

/// Copies every committee member's keystore, as it is between rotations (nothing writes to it
/// then): whoever leaves in the next rotation leaves this copy of its old share behind.
pub fn snapshot(procs: &Processes, report: &mut Report, session: u32) -> anyhow::Result<()> {
    let copies = procs.dir.join("old-shares");
    std::fs::create_dir_all(&copies)?;
    for m in &report.committee {
        let Some(v) = procs.validator(&m.tss) else {
            continue;
        };
        let copy = copies.join(format!("{}-after-session{session}.redb", v.name));
        std::fs::copy(v.dir.join(KEYSTORE_FILE), &copy).with_context(|| format!("copy {}'s keystore", v.name))?;
        report.snapshots.insert(m.tss, copy);
    }
    Ok(())
}

/// Stops the TSSs, tries every departed member's old share against the committee's current
/// shares, opens every keystore, reads the slashes, and assembles the summary.
pub async fn finish(args: &DevnetArgs, procs: &mut Processes, report: &mut Report) -> Summary {
    procs.stop_tss();
    // Every keystore opens after the run, and holds exactly what the chain says it should.
    let node = client::connect(&procs.node_url).await.ok();
    let sharing = match &node {
        Some(c) => c.committee().await.ok().and_then(|c| c.sharing),
        None => None,
    };
    for v in &procs.validators {
        check_keystore(v, sharing.as_ref(), &mut report.failures);
    }
    let trials = try_old_shares(procs, report);
    if args.sessions > 0 && all_rejected(&trials) != Some(true) {
        report
            .failures
            .push("no departed member's old share was tried and rejected".into());
    }
    let slashes = match &node {
        Some(c) => c.slashes().await.unwrap_or_default(),
        None => Vec::new(),
    };
    for f in &mut report.faults {
        report.failures.extend(f.judge(&slashes));
    }
    check_rotations_and_signatures(args, report);
    Summary::build(args, procs, report, trials, &slashes)
}

/// A stopped TSS's keystore opens, and (when the chain's `sharing` is known) its `current`
/// slot holds what the chain says it should.
fn check_keystore(v: &Validator, sharing: Option<&Sharing>, failures: &mut Vec<String>) {
    let path = v.dir.join(KEYSTORE_FILE);
    if !path.exists() {
        return;
    }
    match Keystore::open(&path, v.tss, &KeySource::KeyFile(v.key_file())) {
        Err(e) => failures.push(format!("{}'s keystore does not open: {e}", v.name)),
        Ok(keystore) => {
            let Some(sharing) = sharing else { return };
            match keystore.info(Slot::Current) {
                Ok(current) if holds_what_the_chain_says(&v.tss, current.as_ref(), sharing) => {}
                Ok(other) => failures.push(format!(
                    "{}'s keystore holds {} at the end, not what the chain confirmed for it",
                    v.name,
                    if other.is_some() { "another share" } else { "no share" }
                )),
                Err(e) => failures.push(format!("{}'s keystore cannot be read: {e}", v.name)),
            }
        }
    }
}

/// Tries each departed member's old share (from its keystore copy) with the current
/// committee's shares; a share that cannot be read or a parent key that does not parse is a
/// failure, and no trial.
fn try_old_shares(procs: &Processes, report: &mut Report) -> Vec<OldShareTrial> {
    let mut trials = Vec::new();
    let (Some(parent), false) = (&report.parent, report.old_copies.is_empty()) else {
        return trials;
    };
    let current: anyhow::Result<Vec<_>> = report
        .committee
        .iter()
        .filter_map(|m| procs.validator(&m.tss))
        .map(|v| open_share(&v.dir.join(KEYSTORE_FILE), v.tss, &v.key_file()))
        .collect();
    let parent_point = point_from_bytes::<P>(parent);
    match (current, parent_point) {
        (Ok(current), Some(parent_point)) => {
            for (i, session, copy) in &report.old_copies {
                let v = &procs.validators[*i];
                let outcome =
                    open_share(copy, v.tss, &v.key_file()).and_then(|old| try_old_share(&old, &current, &parent_point));
                let (rejected, detail) = match outcome {
                    Ok(found) => found,
                    Err(e) => (false, format!("could not be tried: {e:#}")),
                };
                trials.push(OldShareTrial {
                    validator: v.name.clone(),
                    tss: v.tss,
                    left_in_session: *session,
                    rejected,
                    detail,
                });
            }
        }
        (Err(e), _) => report
            .failures
            .push(format!("the current committee's shares could not be read: {e:#}")),
        (_, None) => report.failures.push("the parent key does not parse".into()),
    }
    trials
}

/// Every rotation asked for happened, every signature verified, and all under one child
/// address.
fn check_rotations_and_signatures(args: &DevnetArgs, report: &mut Report) {
    let rotations = report.sessions.iter().filter(|s| s.rotated).count();
    if rotations < args.sessions as usize {
        report
            .failures
            .push(format!("{rotations} of {} rotations happened", args.sessions));
    }
    if let Some(bad) = report.signatures.iter().find(|s| !s.verified) {
        report.failures.push(format!(
            "a signature after the {} in session {} did not verify: {}",
            bad.after,
            bad.session,
            bad.error.as_deref().unwrap_or("-")
        ));
    }
    let addresses = child_addresses(&report.signatures);
    if addresses.len() > 1 {
        report
            .failures
            .push(format!("the child address changed: {addresses:?}"));
    }
}
