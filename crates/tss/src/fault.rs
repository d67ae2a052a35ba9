//! Deliberate faults for devnet runs (feature `fault-injection`; a build without it cannot
//! misbehave). A TSS started with a fault behaves honestly in everything but rotations:
//!
//! - [`InjectedFault::Silent`]: it runs each rotation it takes part in, receiving every
//!   message, but sends none — connected and silent, so the others name it unresponsive;
//! - [`InjectedFault::Malicious`]: as a staying holder it sends subshares that do not match its
//!   commitments (keywheel-mpc's `Cheat::BadSubshare`) while running AuxGen honestly, so the
//!   others name it with evidence the chain verifies.
//!
//! Jumpstart and signing are never affected, so a devnet can start, then watch one rotation
//! fail on the fault and the retry succeed without the offender.

use std::fmt;
use std::str::FromStr;

use keywheel_mpc::driver::Channels;
use keywheel_mpc::ops::Network;
use keywheel_mpc::PartyId;
use tokio::sync::mpsc;

/// A fault a TSS can be started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFault {
    /// Sends no reshare message.
    Silent,
    /// Corrupts its resharing subshares.
    Malicious,
}

impl fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Silent => "silent",
            Self::Malicious => "malicious",
        })
    }
}

impl FromStr for InjectedFault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "silent" => Ok(Self::Silent),
            "malicious" => Ok(Self::Malicious),
            other => Err(format!("unknown fault `{other}`: use silent or malicious")),
        }
    }
}

/// A network whose sessions deliver incoming messages but drop every outgoing one.
pub(crate) struct Muted<'a, N>(pub &'a N);

impl<N: Network> Network for Muted<'_, N> {
    fn open(&self, me: PartyId, session_id: &manul::session::SessionId) -> Channels {
        let real = self.0.open(me, session_id);
        let (outgoing, mut dropped) = mpsc::channel(64);
        tokio::spawn(async move { while dropped.recv().await.is_some() {} });
        Channels {
            outgoing,
            incoming: real.incoming,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_by_name_and_unknown_ones_are_refused() {
        assert_eq!("silent".parse(), Ok(InjectedFault::Silent));
        assert_eq!("malicious".parse(), Ok(InjectedFault::Malicious));
        assert!("crash".parse::<InjectedFault>().is_err());
        assert_eq!(InjectedFault::Malicious.to_string(), "malicious");
    }
}
