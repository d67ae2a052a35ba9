//! The pairwise setup DKLs23 signing needs between every two members of a committee: the
//! two-party multiplication's oblivious transfer, once with each member as the multiplication's
//! sender and once as its receiver, and the pair's zero-share seed.
//!
//! One round: each member sends each counterparty one [`PairSetupMessage`] that starts both
//! directions and carries its half of the zero-share seed; on receipt it finishes both
//! directions ([`PairSetup::finish`]). The setup involves no key: any two members can run it,
//! which is why a committee runs it only for the pairs that involve a joiner
//! ([`pairs_to_set_up`](crate::dkls::key_share::counterparties_to_set_up)).
//!
//! The zero-share seed is the XOR of the two halves, sent without a commitment (the library's
//! DKG commits first, costing a round). The seed only has to be unknown to everyone outside the
//! pair: a corrupt member knows it whatever value it takes (a rushing one may even choose it),
//! and if both members are honest it is uniform. The halves are secret, so the message travels
//! only over the transport's private channel between the two.
//!
//! A setup message that fails its proofs names its sender ([`PairSetupResult::faults`]) and
//! yields no state for that pair; the other pairs still finish.

use crate::prelude::*;
use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;

use dkls23::utilities::multiplication::{MulReceiver, MulSender};
use dkls23::utilities::ot::base::{OTReceiver, OTSender};
use dkls23::utilities::proofs::{DLogProof, EncProof};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use keywheel_primitives::domain::DKLS_PAIR_SETUP;

use super::convert::Curve;
use super::convert::DklsScalar;
use crate::error::MpcError;
use crate::identity::AccountId;

/// The largest encoded [`PairSetupMessage`] accepted: the real one is about 130 KB (256
/// encryption proofs); anything far larger is refused before it is decoded.
pub const MAX_PAIR_SETUP_MESSAGE: usize = 512 * 1024;

/// What one member holds for one counterparty after their setup: both directions of the
/// multiplication and the pair's zero-share seed. Secret; zeroized on drop, never printed.
#[derive(Clone, Serialize, Deserialize)]
pub struct PairState {
    /// This member as the multiplication's sender towards the counterparty.
    pub(crate) sender: MulSender<Curve>,
    /// This member as the multiplication's receiver from the counterparty.
    pub(crate) receiver: MulReceiver<Curve>,
    /// The pair's zero-share seed (the same on both sides).
    pub(crate) zero_seed: [u8; 32],
}

impl Drop for PairState {
    fn drop(&mut self) {
        self.zero_seed.zeroize();
    }
}

impl fmt::Debug for PairState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairState(<secret>)")
    }
}

impl PairState {
    /// Checks the dimensions of a state read back from storage, so a damaged file is reported
    /// as such instead of failing a signing check that would blame the counterparty.
    pub fn check(&self) -> Result<(), MpcError> {
        self.sender
            .check_state()
            .map_err(|e| MpcError::Decode(format!("pair state (sender): {}", e.description)))?;
        self.receiver
            .check_state(None)
            .map_err(|e| MpcError::Decode(format!("pair state (receiver): {}", e.description)))
    }
}

/// What one member sends one counterparty to set up their pair. Carries the member's half of
/// the zero-share seed: secret, zeroized on drop, never printed.
#[derive(Serialize, Deserialize)]
pub struct PairSetupMessage {
    /// As the multiplication's receiver: the base OT's proof and the public gadget's nonce.
    receiver_proof: DLogProof<Curve>,
    receiver_nonce: DklsScalar,
    /// As the multiplication's sender: the base OT's encryption proofs and seed.
    sender_proofs: Vec<EncProof<Curve>>,
    sender_seed: [u8; 32],
    /// This member's half of the pair's zero-share seed.
    zero_seed_half: [u8; 32],
}

impl Drop for PairSetupMessage {
    fn drop(&mut self) {
        self.zero_seed_half.zeroize();
    }
}

impl fmt::Debug for PairSetupMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairSetupMessage(<secret>)")
    }
}

impl PairSetupMessage {
    /// The message's wire form (postcard). Holds a secret half seed: zeroized when dropped.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, MpcError> {
        postcard::to_allocvec(self)
            .map(Zeroizing::new)
            .map_err(MpcError::encode)
    }

    /// A message from its wire form: too large, malformed or trailing bytes are an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MpcError> {
        if bytes.len() > MAX_PAIR_SETUP_MESSAGE {
            return Err(MpcError::Decode(format!(
                "a pair setup message of {} bytes (at most {MAX_PAIR_SETUP_MESSAGE})",
                bytes.len()
            )));
        }
        let (message, rest) = postcard::take_from_bytes::<Self>(bytes)
            .map_err(|e| MpcError::Decode(format!("pair setup message: {e}")))?;
        if !rest.is_empty() {
            return Err(MpcError::Decode("pair setup message: trailing bytes".into()));
        }
        Ok(message)
    }
}

/// What a member keeps for one counterparty between starting and finishing their setup.
struct PairKeep {
    ot_sender: OTSender<Curve>,
    receiver_nonce: DklsScalar,
    ot_receiver: OTReceiver,
    correlation: Vec<bool>,
    vec_r: Vec<DklsScalar>,
    zero_seed_half: [u8; 32],
}

impl Drop for PairKeep {
    fn drop(&mut self) {
        self.ot_sender.s.zeroize();
        self.ot_receiver.seed.zeroize();
        self.correlation.zeroize();
        self.vec_r.zeroize();
        self.zero_seed_half.zeroize();
    }
}

/// One member's pending setup with a set of counterparties.
pub struct PairSetup {
    me: AccountId,
    context: Vec<u8>,
    pending: BTreeMap<AccountId, PairKeep>,
}

impl fmt::Debug for PairSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairSetup")
            .field("me", &self.me)
            .field("counterparties", &self.pending.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The pairs a setup finished, and the counterparties whose message failed or never came.
#[derive(Debug, Default)]
pub struct PairSetupResult {
    /// The state of each pair that finished.
    pub pairs: BTreeMap<AccountId, PairState>,
    /// Each counterparty whose pair did not finish, and why. Not evidence: the checks use this
    /// member's private setup state.
    pub faults: BTreeMap<AccountId, String>,
}

/// The session id of the multiplication in which `receiver` receives from `sender`, in the
/// setup bound to `context` (the same on both sides).
fn multiplication_id(context: &[u8], receiver: &AccountId, sender: &AccountId) -> Vec<u8> {
    Sha256::new()
        .chain_update(DKLS_PAIR_SETUP)
        .chain_update((context.len() as u64).to_be_bytes())
        .chain_update(context)
        .chain_update(receiver.0)
        .chain_update(sender.0)
        .finalize()
        .to_vec()
}

impl PairSetup {
    /// Starts this member's setup with each of `counterparties`, bound to `context` (bytes
    /// unique to this setup and the same for every member, e.g. the reshare attempt's). Returns
    /// the message for each counterparty.
    pub fn start(
        me: AccountId,
        counterparties: &BTreeSet<AccountId>,
        context: &[u8],
    ) -> Result<(Self, BTreeMap<AccountId, PairSetupMessage>), MpcError> {
        if counterparties.contains(&me) {
            return Err(MpcError::InvalidInput(
                "a member does not set up a pair with itself".into(),
            ));
        }
        let mut pending = BTreeMap::new();
        let mut messages = BTreeMap::new();
        for counterparty in counterparties {
            let (ot_sender, receiver_proof, receiver_nonce) =
                MulReceiver::<Curve>::init_phase1(&multiplication_id(context, &me, counterparty));
            let (ot_receiver, correlation, vec_r, sender_proofs) =
                MulSender::<Curve>::init_phase1(&multiplication_id(context, counterparty, &me));
            let mut zero_seed_half = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut zero_seed_half);
            messages.insert(
                *counterparty,
                PairSetupMessage {
                    receiver_proof,
                    receiver_nonce,
                    sender_proofs,
                    sender_seed: ot_receiver.seed,
                    zero_seed_half,
                },
            );
            pending.insert(
                *counterparty,
                PairKeep {
                    ot_sender,
                    receiver_nonce,
                    ot_receiver,
                    correlation,
                    vec_r,
                    zero_seed_half,
                },
            );
            zero_seed_half.zeroize();
        }
        Ok((
            Self {
                me,
                context: context.to_vec(),
                pending,
            },
            messages,
        ))
    }

    /// The counterparties this setup waits for.
    pub fn counterparties(&self) -> BTreeSet<AccountId> {
        self.pending.keys().copied().collect()
    }

    /// Finishes the pair with `counterparty` from its message; why not, if its proofs fail or
    /// this setup has no pair with it.
    pub fn finish_pair(&self, counterparty: &AccountId, message: &PairSetupMessage) -> Result<PairState, String> {
        let keep = self
            .pending
            .get(counterparty)
            .ok_or_else(|| String::from("sent a pair setup message to a member it has no pair setup with"))?;
        let receiver = MulReceiver::<Curve>::init_phase2(
            &keep.ot_sender,
            &multiplication_id(&self.context, &self.me, counterparty),
            &message.sender_seed,
            &message.sender_proofs,
            &keep.receiver_nonce,
        )
        .map_err(|e| {
            format!(
                "its encryption proofs fail (as multiplication sender): {}",
                e.description
            )
        })?;
        let sender = MulSender::<Curve>::init_phase2(
            &keep.ot_receiver,
            &multiplication_id(&self.context, counterparty, &self.me),
            keep.correlation.clone(),
            &keep.vec_r,
            &message.receiver_proof,
            &message.receiver_nonce,
        )
        .map_err(|e| {
            format!(
                "its discrete-log proof fails (as multiplication receiver): {}",
                e.description
            )
        })?;
        let mut zero_seed = [0u8; 32];
        for (out, (a, b)) in zero_seed
            .iter_mut()
            .zip(keep.zero_seed_half.iter().zip(message.zero_seed_half.iter()))
        {
            *out = a ^ b;
        }
        let pair = PairState {
            sender,
            receiver,
            zero_seed,
        };
        zero_seed.zeroize();
        Ok(pair)
    }

    /// Finishes the setup with the messages that arrived, by (transport-authenticated) sender.
    /// A message from a party this setup does not wait for is a fault of that party and changes
    /// nothing; a counterparty whose message is missing or fails its proofs is a fault too.
    pub fn finish(self, mut received: BTreeMap<AccountId, PairSetupMessage>) -> PairSetupResult {
        let mut result = PairSetupResult::default();
        for stranger in received.keys().filter(|from| !self.pending.contains_key(from)) {
            result.faults.insert(
                *stranger,
                "sent a pair setup message to a member it has no pair setup with".into(),
            );
        }
        for counterparty in self.pending.keys() {
            let outcome = match received.remove(counterparty) {
                Some(message) => self.finish_pair(counterparty, &message),
                None => Err("sent no pair setup message".into()),
            };
            match outcome {
                Ok(pair) => {
                    result.pairs.insert(*counterparty, pair);
                }
                Err(reason) => {
                    result.faults.insert(*counterparty, reason);
                }
            }
        }
        result
    }
}
