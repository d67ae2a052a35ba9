//! Injecting the `--fault`s into a run (what each one is and expects: [`super::faults`]). They
//! wait in order in a [`FaultQueue`]; the first is armed right after the jumpstart, each next one
//! right after the rotation its predecessor acted in — if a reshare is in flight by then, after
//! that rotation instead. In the first
//! rotation in which its target can act, the armed fault strikes, the rotation's outcome is
//! recorded in its summary entry, and its switch is cleared once the rotation is done.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use anyhow::Context;
use keywheel_chain::{AccountId, Event};
use keywheel_rpc::KeywheelApiClient;

use super::faults::{FaultSpec, FaultSummary, LostConfirmation, Target};
use super::follow::NodeConnection;
use super::processes::{Processes, Validator};
use super::progress::Progress;
use super::rollback;
use super::signing::PendingSignature;
use super::summary::Report;

/// A fault aimed at its target (`None`: the node), armed or acting.
#[derive(Clone, Copy)]
pub struct AimedFault {
    /// The fault.
    fault: FaultSpec,
    /// The index of the validator it acts on.
    target: Option<usize>,
}

/// The `--fault`s of a run: those still waiting their turn, in order, and the one armed for the
/// coming rotations.
pub struct FaultQueue {
    /// Faults not armed yet.
    waiting: VecDeque<FaultSpec>,
    /// The fault armed, waiting for a rotation in which its target can act.
    armed: Option<AimedFault>,
}

impl FaultQueue {
    /// Every fault waiting, none armed.
    pub fn new(faults: &[FaultSpec]) -> Self {
        Self {
            waiting: faults.iter().copied().collect(),
            armed: None,
        }
    }

    /// Faults still to act: those waiting and the one armed.
    pub fn left(&self) -> usize {
        self.waiting.len() + self.armed.is_some() as usize
    }

    /// Arms the next fault unless one is armed already, between rotations; while a reshare is
    /// already in flight it arms nothing, and the call after that rotation arms it.
    pub async fn arm_next(
        &mut self,
        procs: &mut Processes,
        node: &mut NodeConnection,
        report: &mut Report,
        progress: &Progress,
    ) -> anyhow::Result<()> {
        if self.armed.is_some() {
            return Ok(());
        }
        let Some(&fault) = self.waiting.front() else {
            return Ok(());
        };
        // A TSS reads its switch when an attempt starts: one armed now would miss the rotation
        // that has already started (a jumpstart or a rollback can outlast a short session), or
        // that the chain started — and maybe finished — while the scenario was busy and whose
        // events it has not followed yet. It is armed after that rotation instead, which the
        // run then adds.
        let started = match node.unseen_rotation(Duration::from_secs(30)).await? {
            Some(session) => Some(session),
            None => node.client.reshare().await?.map(|r| r.record.session),
        };
        if let Some(session) = started {
            progress.log(format!(
                "fault {fault}: session {session}'s rotation has already started; armed after it"
            ));
            return Ok(());
        }
        self.waiting.pop_front();
        let target = arm(procs, node, report, progress, fault).await?;
        self.armed = Some(AimedFault { fault, target });
        Ok(())
    }

    /// The armed fault, if it can act in the rotation of `session` that has just started
    /// (keeping `staying`, making `new_committee`); otherwise it waits for the next rotation,
    /// and its summary entry says so.
    pub fn take_acting(
        &mut self,
        procs: &Processes,
        report: &mut Report,
        progress: &Progress,
        session: u32,
        staying: &BTreeSet<AccountId>,
        new_committee: &BTreeSet<AccountId>,
    ) -> Option<AimedFault> {
        // `stray:auto` armed every validator outside the committee: the one the chain picked to
        // join is its target.
        if let Some(a) = self
            .armed
            .as_mut()
            .filter(|a| a.fault == FaultSpec::Stray(Target::Auto))
        {
            let joiner = new_committee.difference(staying).find_map(|tss| procs.position(tss));
            if let Some(i) = joiner {
                a.fault = a.fault.aimed_at(i);
                a.target = Some(i);
                if let Some(summary) = report.faults.last_mut() {
                    summary.fault = a.fault.to_string();
                    summary.validator = Some(procs.validators[i].name.clone());
                    summary.tss = Some(procs.validators[i].tss.to_ss58());
                }
            }
        }
        let acting = self.armed.filter(|a| {
            let target = a.target.map(|i| procs.validators[i].tss);
            a.fault.can_act(target.as_ref(), staying, new_committee)
        });
        if acting.is_some() {
            self.armed = None;
        } else if let Some(AimedFault { fault: f, target: t }) = self.armed {
            let name = t.map_or("-".into(), |i| procs.validators[i].name.clone());
            progress.log(format!(
                "  fault {f}: {name} is not {} in this rotation; it waits for the next",
                f.needs()
            ));
            if let Some(summary) = report.faults.last_mut() {
                summary.waited.push(session);
                summary.detail = format!(
                    "{name} was not {} in the rotations of sessions {:?}",
                    f.needs(),
                    summary.waited
                );
            }
        }
        acting
    }

    /// At the end of the run: each fault still waiting never got its turn.
    pub fn never_acted(self, report: &mut Report) {
        for f in self.waiting {
            report
                .faults
                .push(FaultSummary::pending(f, "the fault before it never acted"));
        }
    }
}

/// Prepares a fault before its rotation, while no reshare is in flight: resolves `auto` to the
/// newest committee member and arms a silent or malicious TSS's switch, which it reads when the
/// next rotation attempt starts; for a rollback, takes the node's backup. Returns the target
/// validator's index.
async fn arm(
    procs: &mut Processes,
    node: &mut NodeConnection,
    report: &mut Report,
    progress: &Progress,
    fault: FaultSpec,
) -> anyhow::Result<Option<usize>> {
    let target = match fault.target() {
        None => None,
        Some(Target::Named(i)) => Some(i),
        // Which validator joins is the chain's random pick: every one outside the committee is
        // armed, and the joiner becomes the target when the rotation starts.
        Some(Target::Auto) if matches!(fault, FaultSpec::Stray(_)) => None,
        Some(Target::Auto) => {
            let newest = report
                .committee
                .iter()
                .max_by_key(|m| m.join_seq)
                .context("no committee to pick a fault's target from")?;
            procs.position(&newest.tss)
        }
    };
    let resolved = target.map_or(fault, |i| fault.aimed_at(i));
    // The switches to arm: the target's, or for `stray:auto` every one outside the committee.
    let switches: Vec<usize> = match (fault.uses_switch(), target) {
        (false, _) => Vec::new(),
        (true, Some(i)) => vec![i],
        (true, None) if fault == FaultSpec::Stray(Target::Auto) => (0..procs.validators.len())
            .filter(|i| !report.committee.iter().any(|m| m.tss == procs.validators[*i].tss))
            .collect(),
        (true, None) => Vec::new(),
    };
    if !switches.is_empty() {
        for i in &switches {
            set_switch(&procs.validators[*i], Some(fault.kind()))?;
        }
        // A TSS reads its switch when an attempt starts: armed before any reshare is in flight,
        // it is sure to act in the next rotation.
        if let Some(r) = node.client.reshare().await? {
            report.failures.push(format!(
                "fault {resolved} was armed too late: session {}'s attempt {} had already started",
                r.record.session, r.record.attempt
            ));
        }
        let names: Vec<&str> = switches.iter().map(|i| procs.validators[*i].name.as_str()).collect();
        let who = match switches.len() {
            1 => names[0].to_string(),
            _ => format!("whichever of {} joins", names.join(" ")),
        };
        progress.log(format!(
            "fault {resolved}: {who} will act {} in the next rotation",
            fault.kind()
        ));
    }
    if fault == FaultSpec::NodeRollback {
        rollback::back_up(procs, node, progress).await?;
    }
    report.faults.push(FaultSummary {
        validator: target.map(|i| procs.validators[i].name.clone()),
        tss: target.map(|i| procs.validators[i].tss.to_ss58()),
        ..FaultSummary::pending(resolved, "armed")
    });
    Ok(target)
}

/// Arms `v`'s fault switch with `fault` (`silent`, `malicious`, `withhold`, `withhold-proof`, `stray`),
/// or disarms it.
fn set_switch(v: &Validator, fault: Option<&str>) -> anyhow::Result<()> {
    #[cfg(feature = "fault-injection")]
    {
        let fault = fault.map(str::parse).transpose().map_err(anyhow::Error::msg)?;
        keywheel_tss::fault::FaultSwitch::new(v.fault_file())
            .set(fault)
            .with_context(|| format!("set {}'s fault switch", v.name))
    }
    #[cfg(not(feature = "fault-injection"))]
    match fault {
        Some(f) => anyhow::bail!("{} cannot act {f}: this build has no fault-injection", v.name),
        None => Ok(()),
    }
}

impl AimedFault {
    /// Applies the fault once a rotation in which it can act has started, and starts asking for
    /// a signature while the attempt it spoils is still running (the current committee must
    /// still sign) — returned, for the scenario to collect; a crashed TSS is restarted at once
    /// (it must sit the attempt out).
    pub async fn strike(
        self,
        procs: &mut Processes,
        node: &mut NodeConnection,
        http: &reqwest::Client,
        report: &mut Report,
        progress: &Progress,
        session: u32,
    ) -> anyhow::Result<Option<PendingSignature>> {
        if self.fault == FaultSpec::NodeRollback {
            // It acts once the rotation is done: [`Self::after_rotation`].
            if let Some(f) = report.faults.last_mut() {
                f.session = Some(session);
            }
            return Ok(None);
        }
        let (applied, detail) = self.apply(procs, node, report, progress).await?;
        let during = report.faults.len().checked_sub(1);
        let signature = applied.then(|| PendingSignature::start(procs, http, report, progress, "fault", during));
        if let (FaultSpec::Crash(_), Some(i), true) = (self.fault, self.target, applied) {
            procs.start_tss(i).await?;
            procs.write_manifest()?;
            progress.log(format!("  fault: {} restarted", procs.validators[i].name));
        }
        if let Some(f) = report.faults.last_mut() {
            f.session = Some(session);
            f.applied = applied;
            f.detail = detail;
        }
        Ok(signature)
    }

    /// Once its rotation is done and every TSS holds what the chain confirmed: a rollback
    /// restarts the node from its backup, watches the TSSs halt, puts the right database back,
    /// watches them resume, and starts asking for a signature (returned). Other faults have
    /// acted already.
    pub async fn after_rotation(
        self,
        procs: &mut Processes,
        node: &mut NodeConnection,
        http: &reqwest::Client,
        report: &mut Report,
        progress: &Progress,
    ) -> anyhow::Result<Option<PendingSignature>> {
        if self.fault != FaultSpec::NodeRollback {
            return Ok(None);
        }
        let summary = rollback::roll_back(procs, node, http, progress).await?;
        let during = report.faults.len().checked_sub(1);
        let signature = PendingSignature::start(procs, http, report, progress, "fault", during);
        if let Some(f) = report.faults.last_mut() {
            f.applied = true;
            f.detail = format!(
                "the node ran its backup from before the rotation: {} of {} TSSs halted; then the right database \
                 came back",
                summary.halted.values().filter(|h| h.is_some()).count(),
                summary.halted.len()
            );
            f.rollback = Some(summary);
        }
        Ok(Some(signature))
    }

    /// Does the fault to its process (a silent or malicious TSS acts on its own, through its
    /// switch); returns whether it was applied, and what was done.
    async fn apply(
        self,
        procs: &mut Processes,
        node: &mut NodeConnection,
        report: &mut Report,
        progress: &Progress,
    ) -> anyhow::Result<(bool, String)> {
        Ok(match (self.fault, self.target) {
            (FaultSpec::Crash(_), Some(i)) => {
                // A few seconds in, AuxGen is well under way.
                tokio::time::sleep(Duration::from_secs(3)).await;
                if let Some(mut p) = procs.validators[i].proc.take() {
                    p.kill();
                }
                let name = &procs.validators[i].name;
                progress.log(format!("  fault: {name} SIGKILLed in the middle of the reshare"));
                (true, format!("{name} killed 3 s into attempt 1 and restarted"))
            }
            (FaultSpec::Silent(_), Some(i)) => (
                true,
                format!("{} took part in attempt 1 without sending", procs.validators[i].name),
            ),
            (FaultSpec::Malicious(_), Some(i)) => (
                true,
                format!(
                    "{} stayed and sealed corrupted subshares in attempt 1",
                    procs.validators[i].name
                ),
            ),
            (FaultSpec::Withhold(_), Some(i)) => (
                true,
                format!(
                    "{} stayed and withheld its deal from one member in attempt 1",
                    procs.validators[i].name
                ),
            ),
            (FaultSpec::WithholdProof(_), Some(i)) => (
                true,
                format!(
                    "{} withheld its AuxGen round-3 proofs from one member in attempt 1",
                    procs.validators[i].name
                ),
            ),
            (FaultSpec::Stray(_), Some(i)) => (
                true,
                format!(
                    "{} joined and sent every participant a signed round-2 message first",
                    procs.validators[i].name
                ),
            ),
            (FaultSpec::NodeRestart, _) => {
                let lost = kill_node_with_a_confirmation_pending(procs, node, progress).await?;
                let detail = match &lost {
                    Some(l) => format!(
                        "the node was killed while {}'s confirmation of attempt {} waited in its open block, and \
                         restarted 3 s later",
                        l.validator, l.attempt
                    ),
                    None => "no confirmation was caught in the open block".into(),
                };
                if let Some(f) = report.faults.last_mut() {
                    f.lost_confirmation = lost;
                }
                (true, detail)
            }
            (FaultSpec::NodeRollback, _) | (_, None) => (false, "no target".into()),
        })
    }

    /// Records the outcome of the rotation it acted in: the attempt that rotated, if one did.
    pub fn rotated(self, report: &mut Report, rotated: bool, attempts: u32) {
        if let Some(f) = report.faults.last_mut() {
            f.rotated_on_attempt = rotated.then_some(attempts);
        }
    }

    /// Clears the fault switches it armed once its rotation is done (for a stray fault, every
    /// validator's: all outside the committee were armed).
    pub fn disarm(self, procs: &Processes) -> anyhow::Result<()> {
        match self.target {
            _ if matches!(self.fault, FaultSpec::Stray(_)) => {
                procs.validators.iter().try_for_each(|v| set_switch(v, None))
            }
            Some(i) if self.fault.uses_switch() => set_switch(&procs.validators[i], None),
            _ => Ok(()),
        }
    }
}

/// How many times the node is killed at most to lose a confirmation: one can be sealed in the
/// moment between being seen in the open block and the kill.
const CONFIRMATION_KILLS: u32 = 3;

/// Waits for a confirmation of the reshare in flight to be accepted into the node's open block,
/// SIGKILLs the node before it seals it, and starts it again 3 s later; if the restarted node
/// holds that confirmation after all (sealed just in time), tries again with the next one.
/// Returns the confirmation caught, and whether it was lost.
async fn kill_node_with_a_confirmation_pending(
    procs: &mut Processes,
    node: &mut NodeConnection,
    progress: &Progress,
) -> anyhow::Result<Option<LostConfirmation>> {
    let mut caught = None;
    for _ in 0..CONFIRMATION_KILLS {
        let Some((member, attempt)) = pending_confirmation(node).await? else {
            break;
        };
        if let Some(mut p) = procs.node.take() {
            p.kill();
        }
        let validator = procs.name_of(&member);
        progress.log(format!(
            "  fault: the node SIGKILLed while {validator}'s confirmation waited in its open block"
        ));
        tokio::time::sleep(Duration::from_secs(3)).await;
        procs.start_node().await?;
        procs.write_manifest()?;
        node.reconnect().await?;
        progress.log(format!("  fault: the node restarted at {}", procs.node_url));
        let kept = node
            .client
            .reshare()
            .await?
            .is_some_and(|r| r.record.attempt == attempt && r.confirmations.contains_key(&member));
        caught = Some(LostConfirmation {
            validator,
            attempt,
            lost: !kept,
        });
        if !kept {
            progress.log("  fault: the restarted node does not hold it: the member must send it again");
            break;
        }
    }
    Ok(caught)
}

/// The first confirmation that waits in the node's open block, polled every 20 ms while the
/// reshare is in flight: its member and attempt (`None` once no reshare is in flight).
async fn pending_confirmation(node: &NodeConnection) -> anyhow::Result<Option<(AccountId, u32)>> {
    loop {
        let pending = node
            .client
            .pending_events()
            .await
            .context("read the node's open block")?;
        if let Some((member, attempt)) = pending.iter().find_map(|r| match &r.event {
            Event::Confirmed { member, attempt, .. } => Some((*member, *attempt)),
            _ => None,
        }) {
            return Ok(Some((member, attempt)));
        }
        if node.client.reshare().await?.is_none() {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
