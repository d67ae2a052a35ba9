//! `--fault`: what the devnet does to a real process, and what it then expects. Fault `i` (in
//! the order given) acts on rotation `i + 1`:
//!
//! - `crash:<v>@reshare` — SIGKILL `v`'s TSS a few seconds into the reshare, restart it soon
//!   after. It cannot rejoin the attempt it began, so the others name it silent.
//! - `silent:<v>` — arm `v`'s fault switch (the file its TSS reads at the start of each
//!   rotation attempt, `tss run --fault-file`) with `silent` before the rotation: it takes part,
//!   receives everything, sends nothing.
//! - `malicious:<v>` — arm `v`'s switch with `malicious`: as a staying holder it sends
//!   subshares that do not match its commitments (a TSS built with the `fault-injection`
//!   feature; the default `keywheel` build has it).
//!
//! A switch is armed right after the previous rotation (or the jumpstart) while no reshare is
//! in flight, and checked to be so, and disarmed once its rotation is done. (Restarting the TSS
//! with a flag instead raced with a session boundary: a rotation that began while the process
//! came up found it absent, and it was excluded instead of caught.)
//! - `node-restart` — SIGKILL the node a few seconds into the reshare and start it again.
//!
//! `<v>` is a validator's devnet name (`v3`) or `auto`: the newest member of the committee
//! then, which is sure to stay in the next rotation (the oldest leaves).
//!
//! Expected: the offender is slashed — `Stake` for the malicious one (evidence verified on
//! chain), `Excluded` for the silent and the crashed one (the unresponsive rule) — and a later
//! attempt rotates without it; a signature asked for while the failed attempt runs verifies;
//! after a node restart the rotation still happens.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
    /// The TSS corrupts its resharing subshares.
    Malicious(Target),
    /// Kill the node mid-reshare, restart it.
    NodeRestart,
}

impl FaultSpec {
    /// `crash`, `silent`, `malicious` or `node-restart`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Crash(_) => "crash",
            Self::Silent(_) => "silent",
            Self::Malicious(_) => "malicious",
            Self::NodeRestart => "node-restart",
        }
    }

    /// Whom it acts on (`None` for the node).
    pub fn target(&self) -> Option<Target> {
        match self {
            Self::Crash(t) | Self::Silent(t) | Self::Malicious(t) => Some(*t),
            Self::NodeRestart => None,
        }
    }

    /// The same fault aimed at validator `v<i>` (a node restart has no target).
    pub fn aimed_at(self, i: usize) -> Self {
        match self {
            Self::Crash(_) => Self::Crash(Target::Named(i)),
            Self::Silent(_) => Self::Silent(Target::Named(i)),
            Self::Malicious(_) => Self::Malicious(Target::Named(i)),
            Self::NodeRestart => Self::NodeRestart,
        }
    }

    /// The slash kind the offender must get, as the chain names it.
    pub fn expected_slash(&self) -> Option<&'static str> {
        match self {
            Self::Crash(_) | Self::Silent(_) => Some("Excluded"),
            Self::Malicious(_) => Some("Stake"),
            Self::NodeRestart => None,
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
            Self::NodeRestart => f.write_str("node-restart"),
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
        if s == "node-restart" {
            return Ok(Self::NodeRestart);
        }
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}`: use crash:<v>@reshare, silent:<v>, malicious:<v> or node-restart"))?;
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
            other => Err(format!(
                "unknown fault `{other}`: use crash, silent, malicious or node-restart"
            )),
        }
    }
}

/// What happened to one fault, in the JSON summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultSummary {
    /// The fault as given (`auto` resolved).
    pub fault: String,
    /// `crash`, `silent`, `malicious`, `node-restart`.
    pub kind: String,
    /// The validator it acted on.
    pub validator: Option<String>,
    /// Its TSS account.
    pub tss: Option<String>,
    /// The session of the rotation it acted on.
    pub session: Option<u32>,
    /// Whether it really acted (the validator took part in that rotation).
    pub applied: bool,
    /// How the offender was punished (`Stake`, `Excluded`), if it was.
    pub slashed: Option<String>,
    /// The attempt that rotated in that session.
    pub rotated_on_attempt: Option<u32>,
    /// Whether a signature asked for during the failed attempt verified.
    pub signed_during: Option<bool>,
    /// What the devnet saw.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_as_documented_and_print_back() {
        for text in ["crash:v3@reshare", "silent:v0", "malicious:auto", "node-restart"] {
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
}
