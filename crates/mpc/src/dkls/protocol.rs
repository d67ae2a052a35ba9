//! The DKLs23 steps as manul protocols, so they run through keywheel's session driver like every
//! other protocol: signed messages over the same transport, the same deadlines and stall rule,
//! and the same [`Outcome`](crate::driver::Outcome) (here with unprovable accusations only).
//!
//! Each round hands its messages to the pure step ([`PairSetup`], [`Signing`] …) unchanged:
//! `receive_message` checks one message as it arrives (so a bad one names its sender at once),
//! `finalize` runs the library's phase over all of them. A library abort in `finalize` ends the
//! session with `Err(SignFault)` as its result, which [`crate::ops::dkls_sign`] turns into an
//! accusation; the co-signers, left waiting, name this signer silent, as with any signer that
//! stops.

use crate::prelude::*;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use core::fmt;
use std::sync::Mutex;

use manul::protocol::{
    Artifact, BoxedFormat, BoxedRound, CommunicationInfo, DirectMessage, EchoBroadcast, EntryPoint, FinalizeOutcome,
    LocalError, MessageValidationError, NoProtocolErrors, NormalBroadcast, Payload, Protocol, ProtocolMessage,
    ProtocolMessagePart, ReceiveError, Round, RoundId, TransitionInfo,
};
use rand_core::CryptoRngCore;
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use super::key_share::DklsKeyShare;
use super::pair_setup::{PairSetup, PairSetupMessage, PairState};
use super::sign::{AwaitingRound2, AwaitingRound3, SignFault, SignRequest, Signing};
use crate::child_key::ChildSignature;
use crate::identity::AccountId;

fn no_round(round_id: &RoundId) -> MessageValidationError {
    MessageValidationError::InvalidEvidence(format!("no round {round_id}"))
}

/// Whether a message part claimed invalid in round `round_id` (of a protocol with `rounds`
/// rounds) is: a part the round does not use is invalid if present; the part it uses (in the
/// rounds `used_in`) is invalid if it is not bytes, which the pure step then decodes.
fn verify_part<M: ProtocolMessagePart>(
    format: &BoxedFormat,
    round_id: &RoundId,
    message: &M,
    rounds: u8,
    used_in: &[u8],
) -> Result<(), MessageValidationError> {
    let Some(number) = (1..=rounds).find(|n| round_id == &RoundId::new(*n)) else {
        return Err(no_round(round_id));
    };
    if used_in.contains(&number) {
        message.verify_is_not::<Vec<u8>>(format)
    } else {
        message.verify_is_some()
    }
}

// --- Pair setup -------------------------------------------------------------------------------

/// The pairwise setup of one member as a manul protocol (one round of direct messages).
#[derive(Debug)]
pub struct PairSetupProtocol;

impl Protocol<AccountId> for PairSetupProtocol {
    type Result = BTreeMap<AccountId, PairState>;
    type ProtocolError = NoProtocolErrors;

    fn verify_direct_message_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &DirectMessage,
    ) -> Result<(), MessageValidationError> {
        verify_part(format, round_id, message, 1, &[1])
    }

    fn verify_echo_broadcast_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &EchoBroadcast,
    ) -> Result<(), MessageValidationError> {
        verify_part(format, round_id, message, 1, &[])
    }

    fn verify_normal_broadcast_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &NormalBroadcast,
    ) -> Result<(), MessageValidationError> {
        verify_part(format, round_id, message, 1, &[])
    }
}

/// Where a member's pair setup starts: the counterparties it sets up a pair with. The setup's
/// context is the session's id (unique per attempt).
#[derive(Debug, Clone)]
pub struct PairSetupEntry {
    /// Who this member sets up a pair with.
    pub counterparties: BTreeSet<AccountId>,
    /// Where each pair goes as soon as it is finished: a session ends only when every pair
    /// has, and one silent or failing counterparty must not cost the member its other pairs.
    pub finished: Arc<Mutex<BTreeMap<AccountId, PairState>>>,
}

impl EntryPoint<AccountId> for PairSetupEntry {
    type Protocol = PairSetupProtocol;

    fn entry_round_id() -> RoundId {
        RoundId::new(1)
    }

    fn make_round(
        self,
        _rng: &mut dyn CryptoRngCore,
        shared_randomness: &[u8],
        id: &AccountId,
    ) -> Result<BoxedRound<AccountId, Self::Protocol>, LocalError> {
        let (setup, messages) = PairSetup::start(*id, &self.counterparties, shared_randomness)
            .map_err(|e| LocalError::new(e.to_string()))?;
        let messages = messages
            .into_iter()
            .map(|(to, m)| m.to_bytes().map(|bytes| (to, bytes)))
            .collect::<Result<_, _>>()
            .map_err(|e| LocalError::new(e.to_string()))?;
        Ok(BoxedRound::new_dynamic(PairSetupRound {
            setup,
            messages,
            finished: self.finished,
        }))
    }
}

struct PairSetupRound {
    setup: PairSetup,
    messages: BTreeMap<AccountId, Zeroizing<Vec<u8>>>,
    finished: Arc<Mutex<BTreeMap<AccountId, PairState>>>,
}

impl fmt::Debug for PairSetupRound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairSetupRound")
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

impl Round<AccountId> for PairSetupRound {
    type Protocol = PairSetupProtocol;

    fn transition_info(&self) -> TransitionInfo {
        TransitionInfo::new_linear_terminating(1)
    }

    fn communication_info(&self) -> CommunicationInfo<AccountId> {
        CommunicationInfo::regular(&self.setup.counterparties())
    }

    fn make_direct_message(
        &self,
        _rng: &mut dyn CryptoRngCore,
        format: &BoxedFormat,
        destination: &AccountId,
    ) -> Result<(DirectMessage, Option<Artifact>), LocalError> {
        let bytes = self
            .messages
            .get(destination)
            .ok_or_else(|| LocalError::new(format!("no pair setup with {destination:?}")))?;
        Ok((DirectMessage::new(format, ByteBuf::from(bytes.to_vec()))?, None))
    }

    fn receive_message(
        &self,
        format: &BoxedFormat,
        from: &AccountId,
        message: ProtocolMessage,
    ) -> Result<Payload, ReceiveError<AccountId, Self::Protocol>> {
        message.echo_broadcast.assert_is_none()?;
        message.normal_broadcast.assert_is_none()?;
        let bytes = message.direct_message.deserialize::<ByteBuf>(format)?.into_vec();
        let message = PairSetupMessage::from_bytes(&bytes).map_err(|e| ReceiveError::unprovable(e.to_string()))?;
        let pair = self
            .setup
            .finish_pair(from, &message)
            .map_err(ReceiveError::unprovable)?;
        self.finished
            .lock()
            .map_err(|_| LocalError::new("the finished pairs' lock is poisoned"))?
            .insert(*from, pair.clone());
        Ok(Payload::new(pair))
    }

    fn finalize(
        self: Box<Self>,
        _rng: &mut dyn CryptoRngCore,
        payloads: BTreeMap<AccountId, Payload>,
        _artifacts: BTreeMap<AccountId, Artifact>,
    ) -> Result<FinalizeOutcome<AccountId, Self::Protocol>, LocalError> {
        let pairs = payloads
            .into_iter()
            .map(|(from, p)| p.downcast::<PairState>().map(|pair| (from, pair)))
            .collect::<Result<_, _>>()?;
        Ok(FinalizeOutcome::Result(pairs))
    }
}

// --- Signing ----------------------------------------------------------------------------------

/// One signing as a manul protocol: rounds 1 and 2 direct, round 3 a (normal) broadcast. Its
/// result is the signature, or the fault the library's phase reported in a round's finalize.
#[derive(Debug)]
pub struct DklsSigningProtocol;

impl Protocol<AccountId> for DklsSigningProtocol {
    type Result = Result<ChildSignature, SignFault>;
    type ProtocolError = NoProtocolErrors;

    fn verify_direct_message_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &DirectMessage,
    ) -> Result<(), MessageValidationError> {
        verify_part(format, round_id, message, 3, &[1, 2])
    }

    fn verify_echo_broadcast_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &EchoBroadcast,
    ) -> Result<(), MessageValidationError> {
        verify_part(format, round_id, message, 3, &[])
    }

    fn verify_normal_broadcast_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &NormalBroadcast,
    ) -> Result<(), MessageValidationError> {
        verify_part(format, round_id, message, 3, &[3])
    }
}

/// Where a signer's signing starts: its key share and the request. The request's `sign_id` is
/// replaced by the session's id, which is unique per attempt and the same for every signer.
#[derive(Debug, Clone)]
pub struct DklsSigningEntry {
    /// This signer's key share.
    pub share: Arc<DklsKeyShare>,
    /// What to sign, with whom.
    pub request: SignRequest,
}

impl EntryPoint<AccountId> for DklsSigningEntry {
    type Protocol = DklsSigningProtocol;

    fn entry_round_id() -> RoundId {
        RoundId::new(1)
    }

    fn make_round(
        self,
        _rng: &mut dyn CryptoRngCore,
        shared_randomness: &[u8],
        id: &AccountId,
    ) -> Result<BoxedRound<AccountId, Self::Protocol>, LocalError> {
        if self.share.share().owner() != *id {
            return Err(LocalError::new("the key share belongs to another member"));
        }
        let request = SignRequest {
            sign_id: shared_randomness.to_vec(),
            ..self.request
        };
        let (state, out) = Signing::start(&self.share, &request).map_err(|e| LocalError::new(e.to_string()))?;
        let others = request.signers.iter().filter(|s| *s != id).copied().collect();
        Ok(BoxedRound::new_dynamic(DirectRound { state, out, others }))
    }
}

/// The payloads of a round, as the pure step takes them.
fn bytes_by_sender(payloads: BTreeMap<AccountId, Payload>) -> Result<BTreeMap<AccountId, Vec<u8>>, LocalError> {
    payloads
        .into_iter()
        .map(|(from, p)| p.downcast::<Vec<u8>>().map(|bytes| (from, bytes)))
        .collect()
}

fn unprovable(fault: SignFault) -> ReceiveError<AccountId, DklsSigningProtocol> {
    ReceiveError::unprovable(fault.reason)
}

/// A point-to-point round of the signing (1 and 2): its step of the pure state machine, which
/// checks each message as it arrives and takes them all at the end.
trait DirectStep: Send + Sync + 'static {
    /// The round's number.
    const ROUND: u8;
    /// Checks one co-signer's message.
    fn check(&self, from: &AccountId, bytes: &[u8]) -> Result<(), SignFault>;
    /// Takes every co-signer's message: the next round, or the fault that ends the signing.
    fn advance(
        self,
        received: BTreeMap<AccountId, Vec<u8>>,
        others: BTreeSet<AccountId>,
    ) -> FinalizeOutcome<AccountId, DklsSigningProtocol>;
}

impl DirectStep for Signing {
    const ROUND: u8 = 1;

    fn check(&self, from: &AccountId, bytes: &[u8]) -> Result<(), SignFault> {
        Signing::check(self, from, bytes)
    }

    fn advance(
        self,
        received: BTreeMap<AccountId, Vec<u8>>,
        others: BTreeSet<AccountId>,
    ) -> FinalizeOutcome<AccountId, DklsSigningProtocol> {
        match self.receive(received) {
            Ok((state, out)) => {
                FinalizeOutcome::AnotherRound(BoxedRound::new_dynamic(DirectRound { state, out, others }))
            }
            Err(fault) => FinalizeOutcome::Result(Err(fault)),
        }
    }
}

impl DirectStep for AwaitingRound2 {
    const ROUND: u8 = 2;

    fn check(&self, from: &AccountId, bytes: &[u8]) -> Result<(), SignFault> {
        AwaitingRound2::check(self, from, bytes)
    }

    fn advance(
        self,
        received: BTreeMap<AccountId, Vec<u8>>,
        others: BTreeSet<AccountId>,
    ) -> FinalizeOutcome<AccountId, DklsSigningProtocol> {
        match self.receive(received) {
            Ok((state, broadcast)) => FinalizeOutcome::AnotherRound(BoxedRound::new_dynamic(Round3 {
                state,
                broadcast,
                others,
            })),
            Err(fault) => FinalizeOutcome::Result(Err(fault)),
        }
    }
}

/// Rounds 1 and 2: direct messages to every co-signer.
struct DirectRound<S> {
    state: S,
    out: BTreeMap<AccountId, Vec<u8>>,
    others: BTreeSet<AccountId>,
}

/// Round 3: the broadcast.
struct Round3 {
    state: AwaitingRound3,
    broadcast: Vec<u8>,
    others: BTreeSet<AccountId>,
}

// The rounds hold outgoing messages with secret parts: never printed.
impl<S> fmt::Debug for DirectRound<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectRound")
            .field("others", &self.others)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Round3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Round3")
            .field("others", &self.others)
            .finish_non_exhaustive()
    }
}

impl<S: DirectStep> Round<AccountId> for DirectRound<S> {
    type Protocol = DklsSigningProtocol;

    fn transition_info(&self) -> TransitionInfo {
        TransitionInfo::new_linear(S::ROUND)
    }

    fn communication_info(&self) -> CommunicationInfo<AccountId> {
        CommunicationInfo::regular(&self.others)
    }

    fn make_direct_message(
        &self,
        _rng: &mut dyn CryptoRngCore,
        format: &BoxedFormat,
        destination: &AccountId,
    ) -> Result<(DirectMessage, Option<Artifact>), LocalError> {
        let bytes = self
            .out
            .get(destination)
            .ok_or_else(|| LocalError::new(format!("no message for {destination:?}")))?;
        Ok((DirectMessage::new(format, ByteBuf::from(bytes.to_vec()))?, None))
    }

    fn receive_message(
        &self,
        format: &BoxedFormat,
        from: &AccountId,
        message: ProtocolMessage,
    ) -> Result<Payload, ReceiveError<AccountId, Self::Protocol>> {
        message.echo_broadcast.assert_is_none()?;
        message.normal_broadcast.assert_is_none()?;
        let bytes = message.direct_message.deserialize::<ByteBuf>(format)?.into_vec();
        self.state.check(from, &bytes).map_err(unprovable)?;
        Ok(Payload::new(bytes))
    }

    fn finalize(
        self: Box<Self>,
        _rng: &mut dyn CryptoRngCore,
        payloads: BTreeMap<AccountId, Payload>,
        _artifacts: BTreeMap<AccountId, Artifact>,
    ) -> Result<FinalizeOutcome<AccountId, Self::Protocol>, LocalError> {
        let Self { state, others, .. } = *self;
        Ok(state.advance(bytes_by_sender(payloads)?, others))
    }
}

impl Round<AccountId> for Round3 {
    type Protocol = DklsSigningProtocol;

    fn transition_info(&self) -> TransitionInfo {
        TransitionInfo::new_linear_terminating(3)
    }

    fn communication_info(&self) -> CommunicationInfo<AccountId> {
        CommunicationInfo::regular(&self.others)
    }

    fn make_normal_broadcast(
        &self,
        _rng: &mut dyn CryptoRngCore,
        format: &BoxedFormat,
    ) -> Result<NormalBroadcast, LocalError> {
        NormalBroadcast::new(format, ByteBuf::from(self.broadcast.clone()))
    }

    fn receive_message(
        &self,
        format: &BoxedFormat,
        from: &AccountId,
        message: ProtocolMessage,
    ) -> Result<Payload, ReceiveError<AccountId, Self::Protocol>> {
        message.echo_broadcast.assert_is_none()?;
        message.direct_message.assert_is_none()?;
        let bytes = message.normal_broadcast.deserialize::<ByteBuf>(format)?.into_vec();
        self.state.check(from, &bytes).map_err(unprovable)?;
        Ok(Payload::new(bytes))
    }

    fn finalize(
        self: Box<Self>,
        _rng: &mut dyn CryptoRngCore,
        payloads: BTreeMap<AccountId, Payload>,
        _artifacts: BTreeMap<AccountId, Artifact>,
    ) -> Result<FinalizeOutcome<AccountId, Self::Protocol>, LocalError> {
        Ok(FinalizeOutcome::Result(self.state.finish(bytes_by_sender(payloads)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::ByteBuf;
    use crate::prelude::*;

    /// The messages went as `Vec<u8>` before: postcard writes a byte string the same way, so the
    /// change is a faster path through manul's erased serde, not a new wire form.
    #[test]
    fn a_message_as_a_byte_string_is_encoded_as_it_was_as_a_vector() {
        let bytes: Vec<u8> = (0..=255u8).chain(0..40).collect();
        assert_eq!(
            postcard::to_allocvec(&ByteBuf::from(bytes.clone())).unwrap(),
            postcard::to_allocvec(&bytes).unwrap()
        );
    }
}
