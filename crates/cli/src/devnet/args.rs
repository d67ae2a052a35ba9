//! `keywheel devnet`'s options, and the chain parameters and time limits they make; options that
//! cannot work are refused here, before anything starts.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use keywheel_chain::Params;

use super::faults::{FaultSpec, Target};

/// `keywheel devnet` options. The defaults are the README's devnet.
#[derive(Args, Clone, Debug)]
pub struct DevnetArgs {
    /// Validators, each with its own TSS process.
    #[arg(long, default_value_t = 7)]
    pub validators: usize,
    /// Committee size.
    #[arg(long, default_value_t = 5)]
    pub committee: u32,
    /// Signing threshold.
    #[arg(long, default_value_t = 3)]
    pub threshold: u32,
    /// Rotations to wait for after the jumpstart.
    #[arg(long, default_value_t = 2)]
    pub sessions: u32,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 500)]
    pub block_ms: u64,
    /// Blocks per session.
    #[arg(long, default_value_t = 100)]
    pub session_blocks: u64,
    /// Blocks a reshare attempt may take before the chain aborts it (TSSs give up at 75 %).
    #[arg(long, default_value_t = 300)]
    pub reshare_deadline_blocks: u64,
    /// Keep everything in this directory (it must be empty or new) instead of a fresh temporary
    /// one that is removed after a successful run.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write the JSON summary here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// The node's JSON-RPC port (0: any free port).
    #[arg(long, default_value_t = 9944)]
    pub rpc_port: u16,
    /// The first TSS's peer port; validator i uses this + i (0: any free ports).
    #[arg(long, default_value_t = 7100)]
    pub p2p_port: u16,
    /// The first TSS's HTTP API port; validator i uses this + i (0: any free ports).
    #[arg(long, default_value_t = 8100)]
    pub api_port: u16,
    /// The dashboard's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8800)]
    pub dashboard_port: u16,
    /// A fault to inject, repeatable; the i-th acts on rotation i: `crash:<v>@reshare`,
    /// `silent:<v>`, `malicious:<v>`, `withhold:<v>`, `withhold-proof:<v>`, `stray:<v>`,
    /// `node-restart`, `node-rollback` (`<v>`: `v3`, or `auto` for the newest committee member).
    #[arg(long = "fault")]
    pub faults: Vec<FaultSpec>,
    /// The signing backend every TSS gives the keys it makes: `synedrion` or `dkls23`.
    #[arg(long, default_value = "synedrion")]
    pub backend: keywheel_mpc::backend::BackendKind,
}

/// Reshare attempts the chain allows a session before it abandons the reshare.
const MAX_ATTEMPTS: u32 = 3;

impl DevnetArgs {
    /// The genesis parameters, after refusing options that cannot work.
    pub fn params(&self) -> anyhow::Result<Params> {
        let params = Params {
            committee_size: self.committee,
            threshold: self.threshold,
            session_length: self.session_blocks,
            reshare_deadline: self.reshare_deadline_blocks,
            max_attempts: MAX_ATTEMPTS,
            slash_permill: 100_000,
            barred_sessions: 2,
            unbonding_period: 10,
            min_bond: 1_000,
        };
        params.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        if (self.committee as usize) > self.validators {
            bail!(
                "a committee of {} needs at least as many validators (--validators)",
                self.committee
            );
        }
        if self.threshold < 2 {
            bail!("the threshold must be at least 2: one share alone must not sign");
        }
        if self.block_ms == 0 {
            bail!("--block-ms must be at least 1");
        }
        self.check_faults()?;
        Ok(params)
    }

    /// Refuses `--fault`s that could not act: more than rotations, an unknown or repeated
    /// target, a switch this build lacks, or too few validators left once offenders are out.
    fn check_faults(&self) -> anyhow::Result<()> {
        if self.faults.len() > self.sessions as usize {
            bail!(
                "{} faults need at least as many sessions (fault i acts on rotation i): raise --sessions",
                self.faults.len()
            );
        }
        for fault in &self.faults {
            if let Some(Target::Named(i)) = fault.target() {
                if i >= self.validators {
                    bail!("--fault {fault}: there is no v{i} among {} validators", self.validators);
                }
            }
            if fault.uses_switch() && !cfg!(feature = "fault-injection") {
                bail!("--fault {fault} needs TSSs that can misbehave: build keywheel with its default feature fault-injection");
            }
        }
        let mut named = BTreeSet::new();
        for fault in &self.faults {
            if let Some(Target::Named(i)) = fault.target() {
                if !named.insert(i) {
                    bail!("--fault {fault}: an earlier fault already makes v{i} an offender, and an offender is chilled: it could never act again");
                }
            }
        }
        let excluded = self.faults.iter().filter(|f| f.expected_slash().is_some()).count();
        if self.validators - excluded < self.committee as usize {
            bail!(
                "{excluded} offenders leave {} validators for a committee of {}: add --validators",
                self.validators - excluded,
                self.committee
            );
        }
        Ok(())
    }

    /// The time between blocks.
    fn block_time(&self) -> Duration {
        Duration::from_millis(self.block_ms)
    }

    /// How long one rotation may take at most: a whole session to begin, then every attempt.
    pub fn rotation_limit(&self) -> Duration {
        self.block_time() * (self.session_blocks + self.reshare_deadline_blocks * MAX_ATTEMPTS as u64) as u32
            + Duration::from_secs(120)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        devnet: DevnetArgs,
    }

    fn params(line: &[&str]) -> anyhow::Result<Params> {
        Cli::try_parse_from(std::iter::once("devnet").chain(line.iter().copied()))
            .expect("the options parse")
            .devnet
            .params()
    }

    #[test]
    fn options_that_cannot_work_are_refused_before_anything_starts() {
        assert!(params(&[]).is_ok(), "the defaults work");
        assert!(params(&["--sessions", "2", "--fault", "malicious:v3", "--fault", "silent:auto"]).is_ok());
        let cases: [(&[&str], &str); 6] = [
            (&["--committee", "8"], "at least as many validators"),
            (&["--threshold", "1"], "at least 2"),
            (&["--block-ms", "0"], "--block-ms"),
            (
                &["--sessions", "1", "--fault", "silent:auto", "--fault", "node-restart"],
                "raise --sessions",
            ),
            (&["--fault", "crash:v7@reshare"], "no v7 among 7"),
            (
                &["--validators", "9", "--fault", "silent:v1", "--fault", "malicious:v1"],
                "already makes v1 an offender",
            ),
        ];
        for (line, why) in cases {
            let err = params(line).expect_err(&format!("{line:?} was accepted"));
            assert!(err.to_string().contains(why), "{line:?}: {err}");
        }
        let err = params(&[
            "--sessions",
            "3",
            "--fault",
            "silent:auto",
            "--fault",
            "crash:auto@reshare",
            "--fault",
            "malicious:auto",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("add --validators"), "{err}");
    }
}
