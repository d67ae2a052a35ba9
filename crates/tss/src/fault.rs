//! How a TSS runs a rotation's reshare: honestly, or — only in a build with the feature
//! `fault-injection` (devnet runs) — with a deliberate fault ([`Faults`] dispatches; a build
//! without the feature cannot misbehave). A TSS started with `run --fault-file PATH` reads that file at the start of every
//! rotation attempt it takes part in: `silent` or `malicious` there switches the fault on for
//! that attempt, an absent or empty file switches it off. Whoever drives the run (the devnet)
//! arms a fault by writing the file between rotations — no restart, so no race with a rotation
//! that starts while the process comes up. A TSS misbehaves only in rotations:
//!
//! - [`InjectedFault::Silent`]: it runs each rotation it takes part in, receiving every
//!   message, but sends none — connected and silent, so the others name it unresponsive;
//! - [`InjectedFault::Malicious`]: as a staying holder it seals subshares that do not match its
//!   commitments (keywheel-mpc's `Cheat::BadSubshare`) while running AuxGen honestly, so the
//!   others name it with evidence the chain verifies;
//! - [`InjectedFault::Withhold`]: as a staying holder, in a rotation's first attempt only, it
//!   withholds its deal (the reshare's round-2 broadcast, which carries the victim's sealed
//!   subshare) from one victim (the first other member of the new committee, in account order)
//!   and runs everything else honestly. The deal is broadcast-only, so every other participant
//!   forwards it: the victim finishes anyway, the rotation happens on that attempt, and nobody is
//!   punished;
//! - [`InjectedFault::WithholdProof`]: as a member of the new committee, in a rotation's first
//!   attempt only, it withholds its AuxGen round-3 broadcast (its proofs, the victim's among them)
//!   from one victim. The others forward it, as any broadcast: the rotation happens on that
//!   attempt, and nobody is punished. On the DKLs23 backend it withholds its pair setup message
//!   instead, which nobody can forward: the rotation still happens and nobody is punished, but
//!   the victim's new key lacks that pair (it waits for the message until its local deadline);
//! - [`InjectedFault::Stray`]: as a joiner (which deals nothing in a reshare's round 2), it first
//!   sends every participant a validly signed round-2 message of the resharing session
//!   (`keywheel_mpc::misbehave::Stray`), then takes part honestly. Every honest session must drop
//!   the message and finish: the rotation happens at once, and nobody is punished.
//!
//! Jumpstart and signing are never affected, so a devnet can start, then watch one rotation
//! fail on the fault and the retry succeed without the offender.

#[cfg(feature = "fault-injection")]
use std::fmt;
#[cfg(feature = "fault-injection")]
use std::path::{Path, PathBuf};
#[cfg(feature = "fault-injection")]
use std::str::FromStr;

use keywheel_mpc::backend::{self, BackendKind, Dkls23, MemberKey, Synedrion};
#[cfg(feature = "fault-injection")]
use keywheel_mpc::driver::Channels;
use keywheel_mpc::driver::Outcome;
#[cfg(feature = "fault-injection")]
use keywheel_mpc::driver::ProtocolKind;
use keywheel_mpc::ops::{Attempt, Network};
use keywheel_mpc::reshare::ReshareInputs;
#[cfg(feature = "fault-injection")]
use keywheel_mpc::AccountId;
use keywheel_mpc::{MpcError, PartySigner};
use rand_chacha::ChaCha20Rng;
#[cfg(feature = "fault-injection")]
use tokio::sync::mpsc;
#[cfg(feature = "fault-injection")]
use tracing::warn;

use crate::P;

/// The faults this TSS may inject in rotations: none in a build without `fault-injection`.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    #[cfg(feature = "fault-injection")]
    switch: Option<FaultSwitch>,
}

/// This TSS's honest part of a reshare on `backend`.
async fn honest(
    backend: BackendKind,
    rng: &mut ChaCha20Rng,
    signer: &PartySigner,
    inputs: ReshareInputs<P>,
    previous: Option<&MemberKey>,
    attempt: &Attempt,
    net: &impl Network,
) -> Result<Outcome<Option<MemberKey>>, MpcError> {
    match backend {
        BackendKind::Synedrion => backend::reshare_on::<Synedrion>(rng, signer, inputs, previous, attempt, net).await,
        BackendKind::Dkls23 => backend::reshare_on::<Dkls23>(rng, signer, inputs, previous, attempt, net).await,
    }
}

impl Faults {
    /// The faults a fault switch arms.
    #[cfg(feature = "fault-injection")]
    pub fn new(switch: Option<FaultSwitch>) -> Self {
        Self { switch }
    }

    /// Runs this TSS's part of a rotation's reshare on `backend`: honestly, unless the fault
    /// switch says otherwise for this attempt. `previous` is this TSS's key of the sharing being
    /// replaced, if it stays. `attempt_number` is the attempt's number within its session (from 1).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn reshare(
        &self,
        rng: &mut ChaCha20Rng,
        signer: &PartySigner,
        backend: BackendKind,
        inputs: ReshareInputs<P>,
        previous: Option<&MemberKey>,
        attempt: &Attempt,
        attempt_number: u32,
        net: &impl Network,
    ) -> Result<Outcome<Option<MemberKey>>, MpcError> {
        #[cfg(not(feature = "fault-injection"))]
        let _ = attempt_number;
        #[cfg(feature = "fault-injection")]
        match self.armed() {
            Some(InjectedFault::Silent) => {
                warn!("fault injection: taking part without sending anything");
                return honest(backend, rng, signer, inputs, previous, attempt, &Muted(net)).await;
            }
            Some(InjectedFault::Malicious) if previous.is_some() => {
                warn!("fault injection: sealing corrupted subshares");
                let cheat = keywheel_mpc::misbehave::Cheat::BadSubshare;
                return match backend {
                    BackendKind::Synedrion => {
                        keywheel_mpc::misbehave::reshare_on::<Synedrion>(
                            rng, signer, inputs, previous, cheat, attempt, net,
                        )
                        .await
                    }
                    BackendKind::Dkls23 => {
                        keywheel_mpc::misbehave::reshare_on::<Dkls23>(
                            rng, signer, inputs, previous, cheat, attempt, net,
                        )
                        .await
                    }
                };
            }
            Some(fault @ (InjectedFault::Withhold | InjectedFault::WithholdProof)) if attempt_number == 1 => {
                let me = signer.account();
                let victim = inputs.new_committee.iter().copied().find(|p| *p != me);
                let target = match (fault, backend) {
                    // The deal: only a staying holder deals.
                    (InjectedFault::Withhold, _) if previous.is_some() => {
                        Some((ProtocolKind::Reshare, 2, "its deal (the round-2 broadcast)"))
                    }
                    (InjectedFault::WithholdProof, BackendKind::Synedrion) if inputs.new_committee.contains(&me) => {
                        Some((ProtocolKind::AuxGen, 3, "its AuxGen round-3 proof"))
                    }
                    (InjectedFault::WithholdProof, BackendKind::Dkls23) if inputs.new_committee.contains(&me) => {
                        Some((ProtocolKind::PairSetup, 1, "its DKLs23 pair setup message"))
                    }
                    _ => None,
                };
                if let (Some(victim), Some((kind, round, what))) = (victim, target) {
                    warn!(?victim, "fault injection: withholding {what} from one member");
                    let session = attempt.spec(kind).protocol_session_id;
                    let round = keywheel_mpc::driver::MissingRound {
                        protocol: kind,
                        number: round,
                        echo: false,
                    };
                    let withholding = keywheel_mpc::misbehave::Withhold::new(net, session, victim, round);
                    return honest(backend, rng, signer, inputs, previous, attempt, &withholding).await;
                }
            }
            Some(InjectedFault::Stray) if previous.is_none() => {
                warn!("fault injection: sending round-2 messages a joiner must not send");
                let session = attempt.spec(ProtocolKind::Reshare).protocol_session_id;
                let participants = inputs.participants();
                let stray = keywheel_mpc::misbehave::Stray::new(net, signer.clone(), session, 2, participants);
                return honest(backend, rng, signer, inputs, previous, attempt, &stray).await;
            }
            _ => {}
        }
        honest(backend, rng, signer, inputs, previous, attempt, net).await
    }

    /// The fault armed for the attempt that starts now, if any.
    #[cfg(feature = "fault-injection")]
    fn armed(&self) -> Option<InjectedFault> {
        match self.switch.as_ref().map(FaultSwitch::current) {
            Some(Ok(fault)) => fault,
            Some(Err(e)) => {
                warn!("fault injection: {e}; running honestly");
                None
            }
            None => None,
        }
    }
}

#[cfg(feature = "fault-injection")]
/// A fault a TSS can be started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFault {
    /// Sends no reshare message.
    Silent,
    /// Corrupts its resharing subshares.
    Malicious,
    /// Withholds its deal from one member, in a rotation's first attempt.
    Withhold,
    /// Withholds its AuxGen round-3 broadcast from one member, in a rotation's first attempt.
    WithholdProof,
    /// As a joiner, sends round-2 messages it must not send.
    Stray,
}

#[cfg(feature = "fault-injection")]
impl fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Silent => "silent",
            Self::Malicious => "malicious",
            Self::Withhold => "withhold",
            Self::WithholdProof => "withhold-proof",
            Self::Stray => "stray",
        })
    }
}

#[cfg(feature = "fault-injection")]
impl FromStr for InjectedFault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "silent" => Ok(Self::Silent),
            "malicious" => Ok(Self::Malicious),
            "withhold" => Ok(Self::Withhold),
            "withhold-proof" => Ok(Self::WithholdProof),
            "stray" => Ok(Self::Stray),
            other => Err(format!(
                "unknown fault `{other}`: use silent, malicious, withhold, withhold-proof or stray"
            )),
        }
    }
}

#[cfg(feature = "fault-injection")]
/// The file a TSS reads its fault from (`run --fault-file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSwitch(PathBuf);

#[cfg(feature = "fault-injection")]
impl FaultSwitch {
    /// A switch read from `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Arms `fault` (or disarms, with `None`) for the rotation attempts that start from now on.
    /// The file is replaced whole (written aside, then renamed), so a reader sees either the old
    /// switch or the new one.
    pub fn set(&self, fault: Option<InjectedFault>) -> std::io::Result<()> {
        let aside = self.0.with_extension("new");
        std::fs::write(&aside, fault.map(|f| f.to_string()).unwrap_or_default())?;
        std::fs::rename(&aside, &self.0)
    }

    /// The fault in force now: `None` when the file is absent or empty, an error when it holds
    /// anything but a fault's name.
    pub fn current(&self) -> Result<Option<InjectedFault>, String> {
        match std::fs::read_to_string(&self.0) {
            Ok(text) if text.trim().is_empty() => Ok(None),
            Ok(text) => text.trim().parse().map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.0.display())),
        }
    }
}

#[cfg(feature = "fault-injection")]
/// A network whose sessions deliver incoming messages but drop every outgoing one.
pub(crate) struct Muted<'a, N>(pub &'a N);

#[cfg(feature = "fault-injection")]
impl<N: Network> Network for Muted<'_, N> {
    fn open(&self, me: AccountId, protocol_session: &manul::session::SessionId) -> Channels {
        let real = self.0.open(me, protocol_session);
        let (outgoing, mut dropped) = mpsc::channel(64);
        tokio::spawn(async move { while dropped.recv().await.is_some() {} });
        Channels {
            outgoing,
            incoming: real.incoming,
        }
    }
}

#[cfg(all(test, feature = "fault-injection"))]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_by_name_and_unknown_ones_are_refused() {
        assert_eq!("silent".parse(), Ok(InjectedFault::Silent));
        assert_eq!("malicious".parse(), Ok(InjectedFault::Malicious));
        assert_eq!("withhold".parse(), Ok(InjectedFault::Withhold));
        assert_eq!("withhold-proof".parse(), Ok(InjectedFault::WithholdProof));
        assert_eq!("stray".parse(), Ok(InjectedFault::Stray));
        assert!("crash".parse::<InjectedFault>().is_err());
        assert_eq!(InjectedFault::Malicious.to_string(), "malicious");
    }

    #[test]
    fn the_switch_follows_its_file_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let switch = FaultSwitch::new(dir.path().join("fault"));
        assert_eq!(switch.current(), Ok(None), "no file: no fault");
        switch.set(Some(InjectedFault::Malicious)).unwrap();
        assert_eq!(switch.current(), Ok(Some(InjectedFault::Malicious)));
        switch.set(None).unwrap();
        assert_eq!(switch.current(), Ok(None), "an empty file disarms");
        std::fs::write(switch.path(), "loud\n").unwrap();
        let err = switch.current().unwrap_err();
        assert!(err.contains("loud"), "{err}");
    }
}
