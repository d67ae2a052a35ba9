//! `--fault`: what the devnet does to a real process, and what it then expects. Faults act in
//! the order given, one per rotation: each on the first rotation, from its turn on, in which its
//! target can act ([`FaultSpec::can_act`]). `auto` always can; a named validator may first
//! have to join the committee. While a fault is still waiting after `--sessions` rotations the
//! devnet runs up to [`EXTRA_ROTATIONS`] more for it, and says so.
//!
//! - `crash:<v>@reshare` — SIGKILL `v`'s TSS a few seconds into the reshare, restart it soon
//!   after. It cannot rejoin the attempt it began, so the others name it silent.
//! - `silent:<v>` — arm `v`'s fault switch (the file its TSS reads at the start of each
//!   rotation attempt, `tss run --fault-file`) with `silent` before the rotation: it takes part,
//!   receives everything, sends nothing.
//! - `malicious:<v>` — arm `v`'s switch with `malicious`: as a staying holder it seals
//!   subshares that do not match its commitments (a TSS built with the `fault-injection`
//!   feature; the default `keywheel` build has it).
//! - `withhold:<v>`, `withhold-proof:<v>`, `stray:<v>` — arm `v`'s switch so that it withholds
//!   its deal or its AuxGen round-3 proofs (broadcasts: the others forward them) from one member,
//!   or, joining, sends round-2 messages a joiner must not send. Nobody may be punished for any
//!   of them, and each rotation happens on the attempt it struck.
//!
//! A switch is armed right after the previous rotation (or the jumpstart) while no reshare is
//! in flight, and checked to be so, and disarmed once its rotation is done. (Restarting the TSS
//! with a flag instead raced with a session boundary: a rotation that began while the process
//! came up found it absent, and it was excluded instead of caught.)
//! - `node-restart` — SIGKILL the node while a member's confirmation waits in its open block
//!   (accepted, not sealed: lost with the node), and start it again 3 s later. The member must
//!   send it again, and the rotation happen on that same attempt, punishing no one.
//! - `node-rollback` — before the rotation, stop the node and copy its database (a backup);
//!   once the rotation is done and every TSS holds its new share, restart the node from that
//!   backup. Every TSS must halt and say why, refuse to sign, and change no slot; with the
//!   right database back they must resume, and sign under the same child key.
//!
//! `<v>` is a validator's devnet name (`v3`) or `auto`: the newest member of the committee
//! then, which is sure to stay in the next rotation (the oldest leaves).
//!
//! Expected: the offender is slashed — `Stake` for the malicious one (evidence verified on
//! chain), `Excluded` for the silent and the crashed one (the unresponsive rule) — and a later
//! attempt rotates without it; a signature asked for while the failed attempt runs verifies;
//! after a node restart the rotation still happens on the attempt it struck.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use keywheel_chain::{AccountId, SlashRecord};
use serde::{Deserialize, Serialize};

/// Rotations the devnet adds after `--sessions` at most, for faults still waiting to act.
pub const EXTRA_ROTATIONS: u32 = 4;

/// Whether the rotation starting now, the `(done + 1)`-th, must be followed by another: more
/// were asked for, or `waiting` faults will still wait after it (while the extra rotations
/// last).
pub fn another_after(done: u32, sessions: u32, waiting: usize) -> bool {
    let this = done + 1;
    this < sessions || (waiting > 0 && this < sessions + EXTRA_ROTATIONS)
}

/// Whom a fault acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Validator `v<i>`.
    Named(usize),
    /// The newest member of the committee when the fault is armed.
    Auto,
}

/// One `--fault`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultSpec {
    /// Kill the TSS mid-reshare, restart it later.
    Crash(Target),
    /// The TSS sends no reshare message.
    Silent(Target),
    /// The TSS seals resharing subshares that do not match its commitments.
    Malicious(Target),
    /// The TSS, staying, withholds its deal from one member in the rotation's first attempt
    /// (broadcast-only: the others forward it).
    Withhold(Target),
    /// The TSS withholds its AuxGen round-3 broadcast (its proofs, one made for that member)
    /// from one member in the rotation's first attempt (broadcast-only: the others forward it).
    WithholdProof(Target),
    /// The TSS, joining, sends round-2 messages a joiner must not send (`auto`: whichever
    /// validator joins next).
    Stray(Target),
    /// Kill the node while a confirmation waits in its open block, restart it.
    NodeRestart,
    /// Restart the node from a backup taken before the rotation, then from the right database.
    NodeRollback,
}

impl FaultSpec {
    /// `crash`, `silent`, `malicious` or `node-restart`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Crash(_) => "crash",
            Self::Silent(_) => "silent",
            Self::Malicious(_) => "malicious",
            Self::Withhold(_) => "withhold",
            Self::WithholdProof(_) => "withhold-proof",
            Self::Stray(_) => "stray",
            Self::NodeRestart => "node-restart",
            Self::NodeRollback => "node-rollback",
        }
    }

    /// Whom it acts on (`None` for the node).
    pub fn target(&self) -> Option<Target> {
        match self {
            Self::Crash(t)
            | Self::Silent(t)
            | Self::Malicious(t)
            | Self::Withhold(t)
            | Self::WithholdProof(t)
            | Self::Stray(t) => Some(*t),
            Self::NodeRestart | Self::NodeRollback => None,
        }
    }

    /// The same fault aimed at validator `v<i>` (a node restart has no target).
    pub fn aimed_at(self, i: usize) -> Self {
        match self {
            Self::Crash(_) => Self::Crash(Target::Named(i)),
            Self::Silent(_) => Self::Silent(Target::Named(i)),
            Self::Malicious(_) => Self::Malicious(Target::Named(i)),
            Self::Withhold(_) => Self::Withhold(Target::Named(i)),
            Self::WithholdProof(_) => Self::WithholdProof(Target::Named(i)),
            Self::Stray(_) => Self::Stray(Target::Named(i)),
            other @ (Self::NodeRestart | Self::NodeRollback) => other,
        }
    }

    /// Whether the fault is the target TSS's own doing, set through its fault switch (silent,
    /// malicious) rather than done to a process from outside (crash, node restart).
    pub fn uses_switch(&self) -> bool {
        matches!(
            self,
            Self::Silent(_) | Self::Malicious(_) | Self::Withhold(_) | Self::WithholdProof(_) | Self::Stray(_)
        )
    }

    /// Whether this fault, aimed at the TSS `target`, can act in a rotation that keeps the old
    /// holders `staying` and has `new_committee`: a malicious TSS corrupts subshares, which only
    /// staying holders send; a silent or crashing one must be in the new committee; a node
    /// restart always acts.
    pub fn can_act(
        &self,
        target: Option<&AccountId>,
        staying: &BTreeSet<AccountId>,
        new_committee: &BTreeSet<AccountId>,
    ) -> bool {
        match (self, target) {
            (Self::NodeRestart | Self::NodeRollback, _) => true,
            (Self::Malicious(_) | Self::Withhold(_), Some(t)) => staying.contains(t),
            (Self::Stray(_), Some(t)) => new_committee.contains(t) && !staying.contains(t),
            (Self::Silent(_) | Self::Crash(_) | Self::WithholdProof(_), Some(t)) => new_committee.contains(t),
            (_, None) => false,
        }
    }

    /// What its target must be in a rotation for the fault to act there.
    pub fn needs(&self) -> &'static str {
        match self {
            Self::Malicious(_) | Self::Withhold(_) => "a staying member",
            Self::Stray(_) => "the joiner",
            Self::Silent(_) | Self::Crash(_) | Self::WithholdProof(_) => "in the new committee",
            Self::NodeRestart | Self::NodeRollback => "-",
        }
    }

    /// The slash kind the offender must get, as the chain names it.
    pub fn expected_slash(&self) -> Option<&'static str> {
        match self {
            Self::Crash(_) | Self::Silent(_) => Some("Excluded"),
            Self::Malicious(_) => Some("Stake"),
            // A withheld deal or AuxGen proof reaches the victim through the others.
            // Stray messages are dropped: nobody was hurt.
            Self::Withhold(_) | Self::WithholdProof(_) | Self::Stray(_) | Self::NodeRestart | Self::NodeRollback => {
                None
            }
        }
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = |t: &Target| match t {
            Target::Named(i) => format!("v{i}"),
            Target::Auto => "auto".into(),
        };
        match self {
            Self::Crash(t) => write!(f, "crash:{}@reshare", target(t)),
            Self::Silent(t) => write!(f, "silent:{}", target(t)),
            Self::Malicious(t) => write!(f, "malicious:{}", target(t)),
            Self::Withhold(t) => write!(f, "withhold:{}", target(t)),
            Self::WithholdProof(t) => write!(f, "withhold-proof:{}", target(t)),
            Self::Stray(t) => write!(f, "stray:{}", target(t)),
            Self::NodeRestart => f.write_str("node-restart"),
            Self::NodeRollback => f.write_str("node-rollback"),
        }
    }
}

fn parse_target(s: &str) -> Result<Target, String> {
    if s == "auto" {
        return Ok(Target::Auto);
    }
    let digits = s.strip_prefix('v').unwrap_or(s);
    digits
        .parse()
        .map(Target::Named)
        .map_err(|_| format!("`{s}` is not a validator: use its devnet name (v0, v1, …) or auto"))
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "node-restart" => return Ok(Self::NodeRestart),
            "node-rollback" => return Ok(Self::NodeRollback),
            _ => {}
        }
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            format!(
                "`{s}`: use crash:<v>@reshare, silent:<v>, malicious:<v>, withhold:<v>, withhold-proof:<v>, stray:<v>, \
                 node-restart or node-rollback"
            )
        })?;
        match kind {
            "crash" => {
                let target = rest.strip_suffix("@reshare").unwrap_or(rest);
                if target.contains('@') {
                    return Err(format!("`{s}`: a crash happens @reshare"));
                }
                Ok(Self::Crash(parse_target(target)?))
            }
            "silent" => Ok(Self::Silent(parse_target(rest)?)),
            "malicious" => Ok(Self::Malicious(parse_target(rest)?)),
            "withhold" => Ok(Self::Withhold(parse_target(rest)?)),
            "withhold-proof" => Ok(Self::WithholdProof(parse_target(rest)?)),
            "stray" => Ok(Self::Stray(parse_target(rest)?)),
            other => Err(format!(
                "unknown fault `{other}`: use crash, silent, malicious, withhold, withhold-proof, stray, node-restart \
                 or node-rollback"
            )),
        }
    }
}

/// `node-restart`: the confirmation that waited in the open block when the node was killed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LostConfirmation {
    /// The member whose confirmation it was.
    pub validator: String,
    /// The attempt it confirmed.
    pub attempt: u32,
    /// Whether the restarted node lacked it (it was really lost, not sealed just in time).
    pub lost: bool,
}

/// `node-rollback`: what the TSSs did while the node ran a backup from before the rotation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RollbackSummary {
    /// Each running TSS's reason for halting (`None`: it did not halt), by validator name.
    pub halted: BTreeMap<String, Option<String>>,
    /// Whether every TSS's slots (current, holding, retired) stayed as they were.
    pub slots_kept: bool,
    /// What a TSS answered a signing request while halted (`None`: it signed).
    pub sign_refusal: Option<String>,
    /// Whether every TSS resumed once the right database was back.
    pub resumed: bool,
}

impl RollbackSummary {
    /// What did not hold: every TSS halted, kept its slots, refused to sign, and resumed.
    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for (name, why) in &self.halted {
            if why.is_none() {
                failures.push(format!("node-rollback: {name} did not halt on the restored node"));
            }
        }
        if self.halted.is_empty() {
            failures.push("node-rollback: no TSS was watched".into());
        }
        if !self.slots_kept {
            failures.push("node-rollback: a TSS changed its slots while halted".into());
        }
        match &self.sign_refusal {
            None => failures.push("node-rollback: a halted TSS signed".into()),
            Some(why) if !why.contains("does not sign now") => failures.push(format!(
                "node-rollback: signing failed, but not because the TSS halted: {why}"
            )),
            Some(_) => {}
        }
        if !self.resumed {
            failures.push("node-rollback: the TSSs did not resume on the right database".into());
        }
        failures
    }
}

/// What happened to one fault, in the JSON summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultSummary {
    /// The fault as given (`auto` resolved).
    pub fault: String,
    /// `crash`, `silent`, `malicious`, `node-restart`, `node-rollback`.
    pub kind: String,
    /// The validator it acted on.
    pub validator: Option<String>,
    /// Its TSS account.
    pub tss: Option<String>,
    /// The session of the rotation it acted on.
    pub session: Option<u32>,
    /// Sessions whose rotations it waited through: its target could not act there.
    pub waited: Vec<u32>,
    /// Whether it really acted (the validator took part in that rotation).
    pub applied: bool,
    /// How the offender was punished (`Stake`, `Excluded`), if it was.
    pub slashed: Option<String>,
    /// The attempt that rotated in that session.
    pub rotated_on_attempt: Option<u32>,
    /// Whether a signature asked for during the fault verified (for `node-rollback`: once the
    /// right database was back).
    pub signed_during: Option<bool>,
    /// `node-restart`: the member whose confirmation was lost with the open block, and whether
    /// the restarted node lacked it (then the member sent it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_confirmation: Option<LostConfirmation>,
    /// `node-rollback`: what every TSS did while its node ran the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackSummary>,
    /// What the devnet saw.
    pub detail: String,
}

impl FaultSummary {
    /// The entry of a fault that has not acted yet, saying why.
    pub fn pending(fault: FaultSpec, detail: &str) -> Self {
        Self {
            fault: fault.to_string(),
            kind: fault.kind().into(),
            validator: None,
            tss: None,
            session: None,
            waited: Vec::new(),
            applied: false,
            slashed: None,
            rotated_on_attempt: None,
            signed_during: None,
            lost_confirmation: None,
            rollback: None,
            detail: detail.into(),
        }
    }

    /// At the end of the run: records how the offender was slashed in its session, and returns
    /// what did not follow as it must (nothing when all did) — applied, the expected slash, a
    /// later attempt rotating (or, for a node restart, any), the signature during it verified.
    pub fn judge(&mut self, slashes: &[SlashRecord]) -> Vec<String> {
        let mut failures = Vec::new();
        let spec: Option<FaultSpec> = self.fault.parse().ok();
        self.slashed = slashes
            .iter()
            .find(|s| Some(s.tss.to_ss58()) == self.tss && Some(s.session) == self.session)
            .map(|s| format!("{:?}", s.kind));
        if !self.applied {
            failures.push(format!("fault {} was not applied: {}", self.fault, self.detail));
            return failures;
        }
        if let Some(expected) = spec.and_then(|s| s.expected_slash()) {
            if self.slashed.as_deref() != Some(expected) {
                failures.push(format!(
                    "fault {}: the offender should be slashed {expected}, it was {:?}",
                    self.fault, self.slashed
                ));
            }
            if self.rotated_on_attempt.is_none_or(|a| a < 2) {
                failures.push(format!(
                    "fault {}: the rotation should happen on a later attempt, it was {:?}",
                    self.fault, self.rotated_on_attempt
                ));
            }
        } else if self.rotated_on_attempt.is_none() {
            failures.push(format!("fault {}: the session did not rotate", self.fault));
        }
        if let Some(FaultSpec::Withhold(_) | FaultSpec::WithholdProof(_) | FaultSpec::Stray(_)) = spec {
            // A withheld deal or AuxGen proof: forwarded to the victim by the others. Stray:
            // every session dropped the messages. Either way attempt 1 rotates.
            let punished: Vec<String> = slashes
                .iter()
                .filter(|s| Some(s.session) == self.session)
                .map(|s| format!("{} ({:?})", s.tss.to_ss58(), s.kind))
                .collect();
            if !punished.is_empty() {
                failures.push(format!("fault {}: {punished:?} punished; nobody may be", self.fault));
            }
            if matches!(spec, Some(FaultSpec::Stray(_))) && self.rotated_on_attempt.is_some_and(|a| a != 1) {
                failures.push(format!(
                    "fault {}: stray messages must not spoil the attempt, yet it rotated on attempt {:?}",
                    self.fault, self.rotated_on_attempt
                ));
            }
            if matches!(spec, Some(FaultSpec::Withhold(_) | FaultSpec::WithholdProof(_)))
                && self.rotated_on_attempt.is_some_and(|a| a != 1)
            {
                failures.push(format!(
                    "fault {}: the others forward a withheld broadcast, so it must not spoil the attempt, yet it \
                     rotated on attempt {:?}",
                    self.fault, self.rotated_on_attempt
                ));
            }
        }
        match spec {
            Some(FaultSpec::NodeRestart) => match &self.lost_confirmation {
                Some(l) if l.lost && self.rotated_on_attempt == Some(l.attempt) => {}
                Some(l) if !l.lost => failures.push(format!(
                    "fault {}: {}'s confirmation was sealed before the node died; nothing was lost",
                    self.fault, l.validator
                )),
                Some(l) => failures.push(format!(
                    "fault {}: {}'s lost confirmation of attempt {} was not sent again in time: the rotation was on \
                     attempt {:?}",
                    self.fault, l.validator, l.attempt, self.rotated_on_attempt
                )),
                None => failures.push(format!(
                    "fault {}: no confirmation was caught in the open block",
                    self.fault
                )),
            },
            Some(FaultSpec::NodeRollback) => match &self.rollback {
                Some(r) => failures.extend(r.failures()),
                None => failures.push(format!("fault {}: the rollback was not done", self.fault)),
            },
            _ => {}
        }
        if self.signed_during != Some(true) {
            failures.push(format!(
                "fault {}: the signature asked for during the fault did not verify",
                self.fault
            ));
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_as_documented_and_print_back() {
        for text in [
            "crash:v3@reshare",
            "silent:v0",
            "malicious:auto",
            "withhold:v2",
            "withhold-proof:auto",
            "stray:auto",
            "node-restart",
            "node-rollback",
        ] {
            let fault: FaultSpec = text.parse().unwrap();
            assert_eq!(fault.to_string(), text);
        }
        assert_eq!("crash:2".parse(), Ok(FaultSpec::Crash(Target::Named(2))));
        assert_eq!(
            "malicious:v1".parse::<FaultSpec>().unwrap().expected_slash(),
            Some("Stake")
        );
        for bad in ["crash:v1@sign", "silent", "loud:v1", "silent:vx", "malicious:"] {
            assert!(bad.parse::<FaultSpec>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn a_fault_acts_only_where_its_target_can() {
        let [old, stays, joins, outside] = [1u8, 2, 3, 4].map(|b| AccountId([b; 32]));
        // `old` leaves, `stays` stays, `joins` joins.
        let staying = BTreeSet::from([stays]);
        let new_committee = BTreeSet::from([stays, joins]);
        let acts = |f: FaultSpec, t: &AccountId| f.can_act(Some(t), &staying, &new_committee);
        let malicious = FaultSpec::Malicious(Target::Auto);
        assert!(acts(malicious, &stays));
        assert!(!acts(malicious, &joins), "a joiner has no old share to corrupt");
        assert!(!acts(malicious, &old));
        for f in [FaultSpec::Silent(Target::Auto), FaultSpec::Crash(Target::Auto)] {
            assert!(acts(f, &stays) && acts(f, &joins), "{f}");
            assert!(!acts(f, &old) && !acts(f, &outside), "{f}");
            assert!(!f.can_act(None, &staying, &new_committee), "{f} needs a target");
        }
        assert!(FaultSpec::NodeRestart.can_act(None, &staying, &new_committee));
        assert!(FaultSpec::NodeRollback.can_act(None, &staying, &new_committee));
        let withhold = FaultSpec::Withhold(Target::Auto);
        assert!(acts(withhold, &stays), "a staying holder deals");
        assert!(!acts(withhold, &joins) && !acts(withhold, &old));
        let proof = FaultSpec::WithholdProof(Target::Auto);
        assert!(
            acts(proof, &stays) && acts(proof, &joins),
            "every new member runs AuxGen"
        );
        assert!(!acts(proof, &old) && !acts(proof, &outside));
        let stray = FaultSpec::Stray(Target::Auto);
        assert!(acts(stray, &joins), "only a joiner deals nothing in round 2");
        assert!(!acts(stray, &stays) && !acts(stray, &old) && !acts(stray, &outside));
    }

    #[test]
    fn a_withheld_or_stray_message_passes_only_if_nobody_is_punished_and_the_right_attempt_rotates() {
        let slash = |session| SlashRecord {
            validator: AccountId([1; 32]),
            tss: AccountId([2; 32]),
            kind: keywheel_chain::Punishment::Excluded,
            reason: keywheel_chain::SlashReason::NotConfirmed,
            amount: 0,
            session,
            attempt: 1,
            barred_until: session + 1,
        };
        // A withheld deal or AuxGen proof: forwarded by the others, so attempt 1 rotates.
        for fault in [
            FaultSpec::Withhold(Target::Named(3)),
            FaultSpec::WithholdProof(Target::Named(3)),
        ] {
            let mut f = applied(fault);
            assert!(f.judge(&[]).is_empty(), "{:?}", f.judge(&[]));
            assert!(
                f.judge(&[slash(3)]).is_empty(),
                "a slash in another session is not this fault's"
            );
            assert!(f.judge(&[slash(2)])[0].contains("nobody may be"));
            f.rotated_on_attempt = Some(2);
            assert!(f.judge(&[])[0].contains("must not spoil the attempt"));
        }
        // Stray: dropped, so attempt 1 rotates.
        let mut f = applied(FaultSpec::Stray(Target::Named(6)));
        assert!(f.judge(&[]).is_empty(), "{:?}", f.judge(&[]));
        assert!(f.judge(&[slash(2)])[0].contains("nobody may be"));
        f.rotated_on_attempt = Some(2);
        assert!(f.judge(&[])[0].contains("must not spoil the attempt"));
    }

    /// An applied node fault that rotated on attempt 1 with a signature verified.
    fn applied(fault: FaultSpec) -> FaultSummary {
        FaultSummary {
            session: Some(2),
            applied: true,
            rotated_on_attempt: Some(1),
            signed_during: Some(true),
            ..FaultSummary::pending(fault, "applied")
        }
    }

    #[test]
    fn a_node_restart_passes_only_if_a_confirmation_was_lost_and_sent_again_on_that_attempt() {
        let mut f = applied(FaultSpec::NodeRestart);
        assert_eq!(f.judge(&[]).len(), 1, "nothing caught in the open block");
        let lost = |lost| LostConfirmation {
            validator: "v1".into(),
            attempt: 1,
            lost,
        };
        f.lost_confirmation = Some(lost(true));
        assert!(f.judge(&[]).is_empty(), "{:?}", f.judge(&[]));
        f.lost_confirmation = Some(lost(false));
        assert!(f.judge(&[])[0].contains("sealed before the node died"));
        f.lost_confirmation = Some(lost(true));
        f.rotated_on_attempt = Some(2);
        assert!(f.judge(&[])[0].contains("not sent again in time"));
    }

    #[test]
    fn a_node_rollback_passes_only_if_every_tss_halted_kept_its_slots_refused_and_resumed() {
        let mut f = applied(FaultSpec::NodeRollback);
        assert_eq!(f.judge(&[]).len(), 1, "no rollback done");
        let good = RollbackSummary {
            halted: [("v0".to_string(), Some("the node is at block 5 but ...".to_string()))].into(),
            slots_kept: true,
            sign_refusal: Some("503: this TSS does not sign now: ...".into()),
            resumed: true,
        };
        f.rollback = Some(good.clone());
        assert!(f.judge(&[]).is_empty(), "{:?}", f.judge(&[]));
        let broken = [
            RollbackSummary {
                halted: [("v0".to_string(), None)].into(),
                ..good.clone()
            },
            RollbackSummary {
                slots_kept: false,
                ..good.clone()
            },
            RollbackSummary {
                sign_refusal: None,
                ..good.clone()
            },
            RollbackSummary {
                sign_refusal: Some("the node is unreachable".into()),
                ..good.clone()
            },
            RollbackSummary {
                resumed: false,
                ..good.clone()
            },
        ];
        for b in broken {
            f.rollback = Some(b.clone());
            assert_eq!(f.judge(&[]).len(), 1, "{b:?}");
        }
    }

    #[test]
    fn rotations_run_as_asked_then_only_while_a_fault_waits() {
        // Two sessions asked for, nothing waiting: the second rotation is the last.
        assert!(another_after(0, 2, 0));
        assert!(!another_after(1, 2, 0));
        // A fault still waiting after the second: one more, and so on up to the extra limit.
        assert!(another_after(1, 2, 1));
        assert!(another_after(2 + EXTRA_ROTATIONS - 2, 2, 1));
        assert!(!another_after(2 + EXTRA_ROTATIONS - 1, 2, 1));
    }
}
