//! Which protocol a protocol session runs, and the protocol session id it gives an attempt:
//! part of every protocol session id and evidence envelope.

use keywheel_primitives::domain;
use manul::session::SessionId;
use serde::{Deserialize, Serialize};

use crate::identity::ProtocolSessionParams;

/// The session id every participant (and the chain, when verifying evidence) derives from the
/// protocol kind and a context that is unique per attempt (network, session, attempt, …).
pub fn protocol_session_id(kind: ProtocolKind, context: &[u8]) -> SessionId {
    SessionId::from_seed::<ProtocolSessionParams>(&domain::session_seed(kind.name(), context))
}

/// The protocols keywheel runs; part of every session id and evidence envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProtocolKind {
    /// synedrion KeyInit (n-of-n DKG), the first step of jumpstart.
    KeyInit,
    /// keywheel's attributable resharing.
    Reshare,
    /// synedrion AuxGen (Paillier keys and proofs for a committee).
    AuxGen,
    /// synedrion InteractiveSigning.
    Signing,
    /// The DKLs23 pairwise setup of a committee (the pairs that involve a joiner).
    PairSetup,
    /// A DKLs23 signing.
    DklsSigning,
}

impl ProtocolKind {
    /// A stable lowercase name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::KeyInit => "key-init",
            Self::Reshare => "reshare",
            Self::AuxGen => "aux-gen",
            Self::Signing => "signing",
            Self::PairSetup => "dkls-pair-setup",
            Self::DklsSigning => "dkls-signing",
        }
    }

    /// Whether a party forwards the messages it receives in this protocol's broadcast-only
    /// rounds to the other participants (see [`crate::driver`]). The attempt protocols do, so
    /// that a message withheld from one member is withheld from all, which the chain's silence
    /// rule relies on; signing and the DKLs23 steps do not (their failures are not judged by
    /// the chain).
    pub fn relays_broadcasts(&self) -> bool {
        !matches!(self, Self::Signing | Self::PairSetup | Self::DklsSigning)
    }
}
