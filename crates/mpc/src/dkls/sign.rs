//! One DKLs23 signing among exactly `threshold` signers of a committee, for a child key: three
//! rounds (two point to point, one broadcast) and a local finish, each a step of this member's
//! state ([`Signing`] → [`AwaitingRound2`] → [`AwaitingRound3`] → [`ChildSignature`]).
//!
//! Every message is checked against the sender the transport authenticated before the library
//! sees it: the library trusts the indices written inside its messages, and a signer could
//! otherwise speak for another. A failed step is a [`SignFault`]: the signer the library or this
//! check names, if any, and whether the library demands that its pair state be thrown away (a
//! failed OT check leaks the reused correlation). None of it is evidence a third party can
//! verify, so it may steer a coordinator's next choice of signers, never a slash.

use crate::prelude::*;
use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;

use dkls23::protocols::signing::{
    Broadcast3to4, KeepPhase1to2, KeepPhase2to3, SignData, TransmitPhase1to2, TransmitPhase2to3, UniqueKeep1to2,
    UniqueKeep2to3,
};
use dkls23::protocols::{Abort, AbortKind, AbortReason, PartyIndex};
use ecdsa::signature::hazmat::PrehashVerifier;
use serde::de::DeserializeOwned;
use synedrion::bip32::DerivationPath;

use super::convert::{Curve, Party};
use super::key_share::DklsKeyShare;
use crate::child_key::ChildSignature;
use crate::error::MpcError;
use crate::identity::AccountId;

/// The largest encoded signing message accepted (the real ones: about 30 KB in round 1, 60 KB in
/// round 2, 70 bytes in round 3).
pub const MAX_SIGN_MESSAGE: usize = 256 * 1024;

/// What to sign, and with whom.
#[derive(Debug, Clone)]
pub struct SignRequest {
    /// Bytes unique to this signing attempt, the same for every signer.
    pub sign_id: Vec<u8>,
    /// Exactly `threshold` members of the committee, this one included.
    pub signers: BTreeSet<AccountId>,
    /// The 32-byte message hash to sign.
    pub prehash: [u8; 32],
    /// The child key's path (non-hardened steps only).
    pub path: DerivationPath,
}

/// Why a signing step failed: the signer named (`None` when the library cannot tell), and
/// whether this member must drop its pair state with that signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignFault {
    /// The round (1–3) whose messages failed; 3 also for the final assembly.
    pub round: u8,
    /// The signer this member blames; not provable to anyone else.
    pub offender: Option<AccountId>,
    /// The library demands that the pair's (reused) OT state never be used again.
    pub ban: bool,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for SignFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.offender {
            Some(offender) => write!(f, "{offender:?}: {}", self.reason),
            None => write!(f, "no signer named: {}", self.reason),
        }
    }
}

impl SignFault {
    fn by(round: u8, offender: AccountId, reason: impl Into<String>) -> Self {
        Self {
            round,
            offender: Some(offender),
            ban: false,
            reason: reason.into(),
        }
    }

    fn local(round: u8, error: MpcError) -> Self {
        Self {
            round,
            offender: None,
            ban: false,
            reason: format!("local: {error}"),
        }
    }
}

/// The state shared by every step: the library party, its signing data, and who is who.
struct Common {
    party: Party,
    data: SignData,
    me: AccountId,
    index: BTreeMap<AccountId, PartyIndex>,
    child_key: Vec<u8>,
    prehash: [u8; 32],
}

impl Common {
    fn others(&self) -> impl Iterator<Item = (&AccountId, &PartyIndex)> {
        self.index.iter().filter(|(who, _)| **who != self.me)
    }

    fn account(&self, index: PartyIndex) -> Option<AccountId> {
        self.index.iter().find(|(_, i)| **i == index).map(|(who, _)| *who)
    }

    /// The library's abort as a fault naming an account.
    fn fault(&self, round: u8, abort: Abort) -> SignFault {
        let named = match &abort.kind {
            AbortKind::BanCounterparty(index) => Some(*index),
            AbortKind::Recoverable => match &abort.reason {
                AbortReason::SessionBindingMismatch { counterparty }
                | AbortReason::ProofVerificationFailed { counterparty }
                | AbortReason::CommitmentMismatch { counterparty }
                | AbortReason::TrivialInstancePoint { counterparty }
                | AbortReason::OtConsistencyCheckFailed { counterparty }
                | AbortReason::MultiplicationVerificationFailed { counterparty, .. }
                | AbortReason::GammaUInconsistency { counterparty } => Some(*counterparty),
                AbortReason::UnexpectedSender { sender } | AbortReason::DuplicateSender { sender } => Some(*sender),
                _ => None,
            },
        };
        SignFault {
            round,
            offender: named.and_then(|index| self.account(index)),
            ban: matches!(abort.kind, AbortKind::BanCounterparty(_)),
            reason: abort.description(),
        }
    }

    /// One co-signer's message of `round`, decoded, after checking that it comes from a
    /// co-signer and (point-to-point rounds: `route` gives the sender and receiver it names) that
    /// it names its transport-authenticated sender and this signer. A failure names `from`.
    fn check<T: DeserializeOwned>(
        &self,
        round: u8,
        from: &AccountId,
        bytes: &[u8],
        route: fn(&T) -> Option<(PartyIndex, PartyIndex)>,
    ) -> Result<T, SignFault> {
        if !self.index.contains_key(from) || *from == self.me {
            return Err(SignFault::by(
                round,
                *from,
                format!("sent a round-{round} message but is not a co-signer"),
            ));
        }
        let message: T = decode(bytes).map_err(|e| SignFault::by(round, *from, format!("round {round}: {e}")))?;
        if let Some((sender, receiver)) = route(&message) {
            if self.index.get(from) != Some(&sender) || self.index.get(&self.me) != Some(&receiver) {
                return Err(SignFault::by(
                    round,
                    *from,
                    format!("its round-{round} message names another sender or receiver than the transport's"),
                ));
            }
        }
        Ok(message)
    }

    /// One checked message from each co-signer, in the library's order; a missing one names
    /// its signer.
    fn collect<T: DeserializeOwned>(
        &self,
        round: u8,
        mut received: BTreeMap<AccountId, Vec<u8>>,
        route: fn(&T) -> Option<(PartyIndex, PartyIndex)>,
    ) -> Result<Vec<T>, SignFault> {
        if let Some(stranger) = received
            .keys()
            .find(|from| !self.index.contains_key(from) || **from == self.me)
        {
            return Err(SignFault::by(
                round,
                *stranger,
                format!("sent a round-{round} message but is not a co-signer"),
            ));
        }
        let mut out = Vec::new();
        for (who, _) in self.others() {
            let bytes = received
                .remove(who)
                .ok_or_else(|| SignFault::by(round, *who, format!("sent no round-{round} message")))?;
            out.push(self.check(round, who, &bytes, route)?);
        }
        Ok(out)
    }

    /// The library's outgoing messages, encoded and addressed by account.
    fn address<T: serde::Serialize>(
        &self,
        messages: Vec<T>,
        receiver: impl Fn(&T) -> PartyIndex,
    ) -> Result<BTreeMap<AccountId, Vec<u8>>, MpcError> {
        messages
            .into_iter()
            .map(|message| {
                let to = self
                    .account(receiver(&message))
                    .ok_or_else(|| MpcError::InvalidInput("the library addressed a non-signer".into()))?;
                Ok((to, postcard::to_allocvec(&message).map_err(MpcError::encode)?))
            })
            .collect()
    }
}

fn route1(m: &TransmitPhase1to2) -> Option<(PartyIndex, PartyIndex)> {
    Some((m.parties.sender, m.parties.receiver))
}

fn route2(m: &TransmitPhase2to3<Curve>) -> Option<(PartyIndex, PartyIndex)> {
    Some((m.parties.sender, m.parties.receiver))
}

fn unrouted(_: &Broadcast3to4<Curve>) -> Option<(PartyIndex, PartyIndex)> {
    None
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, MpcError> {
    if bytes.len() > MAX_SIGN_MESSAGE {
        return Err(MpcError::Decode(format!(
            "a signing message of {} bytes (at most {MAX_SIGN_MESSAGE})",
            bytes.len()
        )));
    }
    let (message, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|e| MpcError::Decode(e.to_string()))?;
    if !rest.is_empty() {
        return Err(MpcError::Decode("trailing bytes".into()));
    }
    Ok(message)
}

/// A signing this member started: waiting for round 1.
pub struct Signing {
    common: Common,
    unique: UniqueKeep1to2<Curve>,
    kept: BTreeMap<PartyIndex, KeepPhase1to2<Curve>>,
}

/// Waiting for round 2.
pub struct AwaitingRound2 {
    common: Common,
    unique: UniqueKeep2to3<Curve>,
    kept: BTreeMap<PartyIndex, KeepPhase2to3<Curve>>,
}

/// Waiting for round 3 (the broadcast).
pub struct AwaitingRound3 {
    common: Common,
    r_hex: String,
    own: Broadcast3to4<Curve>,
}

macro_rules! opaque_debug {
    ($($name:ident),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("me", &self.common.me).finish_non_exhaustive()
            }
        }
    )*};
}
opaque_debug!(Signing, AwaitingRound2, AwaitingRound3);

/// The child path as the library's indices; a hardened step is an error.
fn path_indices(path: &DerivationPath) -> Result<Vec<u32>, MpcError> {
    path.iter()
        .map(|c| {
            if c.is_hardened() {
                Err(MpcError::Derivation(
                    "hardened steps need the secret key; keywheel derives non-hardened paths only".into(),
                ))
            } else {
                Ok(c.index())
            }
        })
        .collect()
}

impl Signing {
    /// Starts this member's part of `request` with its `share`; returns round 1's messages by
    /// addressee.
    pub fn start(
        share: &DklsKeyShare,
        request: &SignRequest,
    ) -> Result<(Self, BTreeMap<AccountId, Vec<u8>>), MpcError> {
        let me = share.share().owner();
        let threshold = share.share().public().threshold as usize;
        if request.signers.len() != threshold || !request.signers.contains(&me) {
            return Err(MpcError::InvalidInput(format!(
                "signing needs exactly {threshold} signers including this member"
            )));
        }
        let path = path_indices(&request.path)?;
        let party = share.party(&request.signers, &path)?;
        let index: BTreeMap<AccountId, PartyIndex> = request
            .signers
            .iter()
            .map(|s| share.index_of(s).map(|i| (*s, i)))
            .collect::<Result<_, _>>()?;
        let data = SignData {
            sign_id: request.sign_id.clone(),
            counterparties: index.iter().filter(|(s, _)| **s != me).map(|(_, i)| *i).collect(),
            message_hash: request.prehash,
        };
        let common = Common {
            child_key: share.child_key(&path)?,
            party,
            data,
            me,
            index,
            prehash: request.prehash,
        };
        let (unique, kept, out) = common
            .party
            .sign_phase1(&common.data)
            .map_err(|abort| MpcError::InvalidInput(abort.description()))?;
        let messages = common.address(out, |m: &TransmitPhase1to2| m.parties.receiver)?;
        Ok((Self { common, unique, kept }, messages))
    }

    /// Checks one co-signer's round-1 message as it arrives (see [`Signing::receive`]).
    pub fn check(&self, from: &AccountId, bytes: &[u8]) -> Result<(), SignFault> {
        self.common.check(1, from, bytes, route1).map(drop)
    }

    /// Takes every co-signer's round-1 message; returns round 2's messages by addressee.
    pub fn receive(
        self,
        received: BTreeMap<AccountId, Vec<u8>>,
    ) -> Result<(AwaitingRound2, BTreeMap<AccountId, Vec<u8>>), SignFault> {
        let Self { common, unique, kept } = self;
        let messages = common.collect(1, received, route1)?;
        let (unique, kept, out) = common
            .party
            .sign_phase2(&common.data, unique, kept, &messages)
            .map_err(|abort| common.fault(1, abort))?;
        let out = common
            .address(out, |m: &TransmitPhase2to3<Curve>| m.parties.receiver)
            .map_err(|e| SignFault::local(1, e))?;
        Ok((AwaitingRound2 { common, unique, kept }, out))
    }
}

impl AwaitingRound2 {
    /// Checks one co-signer's round-2 message as it arrives.
    pub fn check(&self, from: &AccountId, bytes: &[u8]) -> Result<(), SignFault> {
        self.common.check(2, from, bytes, route2).map(drop)
    }

    /// Takes every co-signer's round-2 message; returns this member's round-3 broadcast (the
    /// same bytes to every co-signer).
    pub fn receive(self, received: BTreeMap<AccountId, Vec<u8>>) -> Result<(AwaitingRound3, Vec<u8>), SignFault> {
        let Self { common, unique, kept } = self;
        let messages = common.collect(2, received, route2)?;
        let (r_hex, own) = common
            .party
            .sign_phase3(&common.data, unique, kept, &messages)
            .map_err(|abort| common.fault(2, abort))?;
        let broadcast = postcard::to_allocvec(&own).map_err(|e| SignFault::local(2, MpcError::encode(e)))?;
        Ok((AwaitingRound3 { common, r_hex, own }, broadcast))
    }
}

impl AwaitingRound3 {
    /// Checks one co-signer's round-3 broadcast as it arrives.
    pub fn check(&self, from: &AccountId, bytes: &[u8]) -> Result<(), SignFault> {
        self.common.check(3, from, bytes, unrouted).map(drop)
    }

    /// Takes every co-signer's broadcast and assembles the signature, checked under the child
    /// key with keywheel's own ECDSA verification (not the library's) before it is returned.
    pub fn finish(self, received: BTreeMap<AccountId, Vec<u8>>) -> Result<ChildSignature, SignFault> {
        let Self { common, r_hex, own } = self;
        let mut broadcasts = common.collect(3, received, unrouted)?;
        broadcasts.push(own);
        let (s_hex, v) = common
            .party
            .sign_phase4(&common.data, &r_hex, &broadcasts, true)
            .map_err(|abort| common.fault(3, abort))?;
        let unattributed = |reason: &str| SignFault {
            round: 3,
            offender: None,
            ban: false,
            reason: reason.into(),
        };
        let r = hex::decode(&r_hex).map_err(|_| unattributed("the library's r is not hex"))?;
        let s = hex::decode(&s_hex).map_err(|_| unattributed("the library's s is not hex"))?;
        let signature = k256::ecdsa::Signature::from_scalars(left_pad(&r), left_pad(&s))
            .map_err(|_| unattributed("the library's (r, s) is not a signature"))?;
        let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(&common.child_key)
            .map_err(|_| unattributed("the child key does not decode"))?;
        key.verify_prehash(&common.prehash, &signature)
            .map_err(|_| unattributed("the signature does not verify under the child key"))?;
        let (r, s) = signature.split_bytes();
        Ok(ChildSignature {
            r: r.to_vec(),
            s: s.to_vec(),
            v,
            child_key: common.child_key.clone(),
        })
    }
}

/// A big-endian value of up to 32 bytes as exactly 32 (the library's hex drops nothing, but the
/// width is not part of its contract).
fn left_pad(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let n = bytes.len().min(32);
    out[32 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    out
}
