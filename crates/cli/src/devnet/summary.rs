//! What a devnet run found: the [`Report`] collected as it goes, and the JSON summary
//! (`--summary FILE`) and the table built from it at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use keywheel_chain::{AccountId, Member, SlashRecord};
use serde::{Deserialize, Serialize};

use super::args::DevnetArgs;
use super::faults::FaultSummary;
use super::old_share::{all_rejected, OldShareTrial};
use super::processes::Processes;
use crate::client::account_of;

/// What a run found so far; it survives a failure half-way.
#[derive(Default)]
pub struct Report {
    /// The parent verifying key, once the jumpstart made it.
    pub parent: Option<Vec<u8>>,
    /// From the jumpstart's first attempt to the parent key, chain time in milliseconds.
    pub jumpstart_ms: Option<u64>,
    /// The committee now, as the chain last said.
    pub committee: Vec<Member>,
    /// Every rotation waited for.
    pub sessions: Vec<SessionSummary>,
    /// Every signature asked for.
    pub signatures: Vec<SignatureSummary>,
    /// The latest copy of each committee member's keystore, taken while nothing writes to it.
    pub snapshots: BTreeMap<AccountId, PathBuf>,
    /// Copies of departed members' keystores: (validator index, session it left in, path).
    pub old_copies: Vec<(usize, u32, PathBuf)>,
    /// Each `--fault` as it went.
    pub faults: Vec<FaultSummary>,
    /// Every check that failed so far.
    pub failures: Vec<String>,
}

/// A devnet validator: its name in the devnet's output, its stash and its TSS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidatorSummary {
    /// `v0`, `v1`, …
    pub name: String,
    /// The stash account.
    pub stash: String,
    /// The TSS account (the name committees use).
    pub tss: String,
}

/// One session's rotation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The chain session.
    pub index: u32,
    /// Reshare attempts it took (1 when nothing went wrong).
    pub attempts: u32,
    /// The committee after it, oldest member first (TSS accounts).
    pub committee: Vec<String>,
    /// Who joined.
    pub joined: Vec<String>,
    /// Who left.
    pub left: Vec<String>,
    /// From the first attempt's start to the rotation, in milliseconds.
    pub reshare_ms: u64,
    /// Whether the chain rotated the key.
    pub rotated: bool,
}

/// One signature the devnet asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignatureSummary {
    /// The chain session it was made in.
    pub session: u32,
    /// After what: `jumpstart` or `rotation`.
    pub after: String,
    /// The child address the signature verified under (derived here from the parent key).
    pub child_address: Option<String>,
    /// Whether this process verified it against the child key derived from the parent key.
    pub verified: bool,
    /// The TSS accounts that signed.
    pub signers: Vec<String>,
    /// Request to verified answer, in milliseconds.
    pub ms: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// One punishment on chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlashSummary {
    /// The devnet name of the validator punished.
    pub validator: String,
    /// Its TSS account.
    pub tss: String,
    /// `Stake` (proven offence) or `Excluded` (silence).
    pub kind: String,
    /// Where.
    pub session: u32,
    /// Where.
    pub attempt: u32,
    /// Stake burned.
    pub amount: u128,
}

impl SlashSummary {
    /// A slash on chain, its validator named as the devnet names it.
    fn of(procs: &Processes, s: &SlashRecord) -> Self {
        Self {
            validator: procs.name_of(&s.tss),
            tss: s.tss.to_ss58(),
            kind: format!("{:?}", s.kind),
            session: s.session,
            attempt: s.attempt,
            amount: s.amount,
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The parent verifying key (compressed SEC1, hex).
    pub parent_verifying_key: Option<String>,
    /// The demo account's child address, when it never changed (`null` otherwise).
    pub child_address: Option<String>,
    /// From the jumpstart's first attempt to the parent key, in milliseconds (chain time).
    #[serde(default)]
    pub jumpstart_ms: Option<u64>,
    /// Every rotation waited for.
    pub sessions: Vec<SessionSummary>,
    /// Every signature asked for.
    pub signatures: Vec<SignatureSummary>,
    /// Whether every departed member's old share was tried and refused (`null`: none left).
    pub old_share_rejected: Option<bool>,
    /// Each departed member's old share, tried.
    pub old_share_trials: Vec<OldShareTrial>,
    /// Every punishment on chain.
    pub slashed: Vec<SlashSummary>,
    /// Every `--fault`, and what came of it.
    pub faults: Vec<FaultSummary>,
    /// The validators, with their devnet names.
    pub validators: Vec<ValidatorSummary>,
    /// Committee size and threshold.
    pub committee_size: u32,
    /// Committee size and threshold.
    pub threshold: u32,
    /// Every check that failed (the run exits non-zero if any did).
    pub failures: Vec<String>,
}

/// The child addresses the verified signatures were made under (more than one: it changed).
pub fn child_addresses(signatures: &[SignatureSummary]) -> BTreeSet<&str> {
    signatures.iter().filter_map(|s| s.child_address.as_deref()).collect()
}

impl Summary {
    /// The summary of a finished run: its report (whose faults and failures it takes), each
    /// departed member's old share tried, and the slashes on chain.
    pub fn build(
        args: &DevnetArgs,
        procs: &Processes,
        report: &mut Report,
        trials: Vec<OldShareTrial>,
        slashes: &[SlashRecord],
    ) -> Self {
        let addresses = child_addresses(&report.signatures);
        let child_address = match (addresses.len(), report.signatures.iter().all(|s| s.verified)) {
            (1, true) => addresses.into_iter().next().map(str::to_owned),
            _ => None,
        };
        Summary {
            parent_verifying_key: report.parent.as_ref().map(|k| format!("0x{}", hex::encode(k))),
            child_address,
            jumpstart_ms: report.jumpstart_ms,
            sessions: report.sessions.clone(),
            signatures: report.signatures.clone(),
            old_share_rejected: all_rejected(&trials),
            old_share_trials: trials,
            slashed: slashes.iter().map(|s| SlashSummary::of(procs, s)).collect(),
            faults: std::mem::take(&mut report.faults),
            validators: procs
                .validators
                .iter()
                .map(|v| ValidatorSummary {
                    name: v.name.clone(),
                    stash: account_of(&v.stash).to_ss58(),
                    tss: v.tss.to_ss58(),
                })
                .collect(),
            committee_size: args.committee,
            threshold: args.threshold,
            failures: std::mem::take(&mut report.failures),
        }
    }

    /// The devnet name of a TSS account, else the account.
    pub fn name_of(&self, tss: &str) -> String {
        self.validators
            .iter()
            .find(|v| v.tss == tss)
            .map_or_else(|| tss.to_owned(), |v| v.name.clone())
    }

    fn names(&self, accounts: &[String]) -> String {
        if accounts.is_empty() {
            return "-".into();
        }
        accounts.iter().map(|a| self.name_of(a)).collect::<Vec<_>>().join(" ")
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "parent key     {}",
            self.parent_verifying_key.as_deref().unwrap_or("none")
        );
        let _ = writeln!(
            out,
            "child address  {}",
            self.child_address.as_deref().unwrap_or("not constant")
        );
        let _ = writeln!(
            out,
            "\nsession  attempts  reshare   rotated  left  joined  committee (oldest first)"
        );
        for s in &self.sessions {
            let _ = writeln!(
                out,
                "{:<8} {:<9} {:<9} {:<8} {:<5} {:<7} {}",
                s.index,
                s.attempts,
                format!("{:.1} s", s.reshare_ms as f64 / 1000.0),
                if s.rotated { "yes" } else { "NO" },
                self.names(&s.left),
                self.names(&s.joined),
                self.names(&s.committee)
            );
        }
        let _ = writeln!(
            out,
            "\nsignature  session  after      verified  signers   time     child address"
        );
        for (i, s) in self.signatures.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<10} {:<8} {:<10} {:<9} {:<9} {:<8} {}",
                i + 1,
                s.session,
                s.after,
                if s.verified { "yes" } else { "NO" },
                self.names(&s.signers),
                format!("{:.1} s", s.ms as f64 / 1000.0),
                s.child_address.as_deref().or(s.error.as_deref()).unwrap_or("-")
            );
        }
        let _ = writeln!(out);
        for t in &self.old_share_trials {
            let _ = writeln!(
                out,
                "old share of {} (left in session {}): {} — {}",
                t.validator,
                t.left_in_session,
                if t.rejected { "rejected" } else { "NOT REJECTED" },
                t.detail
            );
        }
        for f in &self.faults {
            let _ = writeln!(
                out,
                "fault {}: {}{}{} — {}",
                f.fault,
                if f.applied { "applied" } else { "NOT APPLIED" },
                f.session.map_or(String::new(), |s| format!(" in session {s}")),
                if f.waited.is_empty() {
                    String::new()
                } else {
                    format!(" (waited through sessions {:?})", f.waited)
                },
                f.detail
            );
        }
        if self.slashed.is_empty() {
            let _ = writeln!(out, "slashed: none");
        }
        for s in &self.slashed {
            let _ = writeln!(
                out,
                "slashed: {} ({}) in session {} attempt {}, {} burned",
                s.validator, s.kind, s.session, s.attempt, s.amount
            );
        }
        if self.failures.is_empty() {
            let _ = writeln!(out, "all checks passed");
        }
        for f in &self.failures {
            let _ = writeln!(out, "FAILED: {f}");
        }
        out
    }
}
