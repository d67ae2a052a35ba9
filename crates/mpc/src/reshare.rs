//! Attributable key resharing: Feldman-committed redistribution (Wong–Wang–Wing style) on manul.
//!
//! Public inputs, known to every participant and to the chain: the current sharing (share ids and
//! public key shares of the old committee, its threshold — so also the parent key), the staying old
//! holders, the new committee and the new threshold.
//!
//! One round (plus manul's echo round among the new holders):
//! - each staying old holder `i` picks a random polynomial `f_i` of degree `t_new - 1` with
//!   `f_i(0) = λ_i·x_i` (`λ_i` its Lagrange coefficient among the staying holders), echo-broadcasts
//!   the commitments `C_i = [a_ik·G]`, and sends each new holder `j` the signed value `f_i(id_j)`
//!   together with `j`'s identity;
//! - a new holder checks `C_i0 = λ_i·X_i` against the public key share `X_i` (a failure is provable
//!   from the signed broadcast alone), that its value matches the commitments (provable by the
//!   signed direct message plus the broadcast), and the echo round catches a holder that sent
//!   different commitments to different parties;
//! - new share `x'_j = Σ_i f_i(id_j)`; every new public share follows from the commitments, and they
//!   rebuild the same parent key.
//!
//! No code path panics on peer input: every check is a typed error naming the sender.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

use manul::protocol::{
    Artifact, BoxedFormat, BoxedRound, CommunicationInfo, DirectMessage, EchoBroadcast, EchoRoundParticipation,
    EntryPoint, FinalizeOutcome, LocalError, MessageValidationError, NormalBroadcast, Payload, Protocol, ProtocolError,
    ProtocolMessage, ProtocolMessagePart, ProtocolValidationError, ReceiveError, RequiredMessageParts,
    RequiredMessages, Round, RoundId, TransitionInfo,
};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use synedrion::SchemeParams;

use crate::curve::{eval_poly, lagrange_at_zero, mul_generator, random_scalar, Point, Scalar, SerPoint, SerScalar};
use crate::error::MpcError;
use crate::identity::AccountId;
use crate::share::{committed_share, PublicSharing, ThresholdShare};

/// Public inputs of one reshare; the chain holds the same values and verifies evidence with them.
#[derive(Debug, Clone)]
pub struct ReshareInputs<P: SchemeParams> {
    /// The sharing being replaced (as recorded on chain after the last rotation).
    pub old: PublicSharing<P>,
    /// The old holders taking part; at least `old.threshold` of them.
    pub staying: BTreeSet<AccountId>,
    /// The committee that will hold the new shares.
    pub new_committee: BTreeSet<AccountId>,
    /// Threshold of the new sharing.
    pub new_threshold: u32,
}

impl<P: SchemeParams> ReshareInputs<P> {
    /// Everyone taking part: the staying old holders and the new committee.
    pub fn participants(&self) -> BTreeSet<AccountId> {
        self.staying.union(&self.new_committee).copied().collect()
    }
}

/// Values every participant derives from the public inputs.
#[derive(Debug, Clone)]
pub(crate) struct ReshareContext<P: SchemeParams> {
    inputs: ReshareInputs<P>,
    verifying_key: Point<P>,
    lambdas: BTreeMap<AccountId, Scalar<P>>,
    new_ids: BTreeMap<AccountId, Scalar<P>>,
}

impl<P: SchemeParams> ReshareContext<P> {
    pub(crate) fn new(inputs: ReshareInputs<P>) -> Result<Self, MpcError> {
        let verifying_key = inputs.old.verifying_key_point()?;
        if inputs.staying.len() < inputs.old.threshold as usize {
            return Err(MpcError::InvalidInput(format!(
                "{} staying holders cannot reconstruct a {}-of-{} key",
                inputs.staying.len(),
                inputs.old.threshold,
                inputs.old.share_ids.len()
            )));
        }
        let mut staying_ids = Vec::with_capacity(inputs.staying.len());
        for id in &inputs.staying {
            let share_id = inputs
                .old
                .share_ids
                .get(id)
                .ok_or_else(|| MpcError::InvalidInput(format!("staying holder {id:?} holds no old share")))?;
            staying_ids.push(*share_id);
        }
        let lambdas = inputs
            .staying
            .iter()
            .zip(&staying_ids)
            .map(|(id, x)| {
                lagrange_at_zero::<P>(&staying_ids, x)
                    .map(|l| (*id, l))
                    .ok_or_else(|| MpcError::InvalidInput("duplicate old share ids".into()))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        if inputs.new_threshold == 0 || inputs.new_threshold as usize > inputs.new_committee.len() {
            return Err(MpcError::InvalidInput(format!(
                "new threshold {} does not fit a committee of {}",
                inputs.new_threshold,
                inputs.new_committee.len()
            )));
        }
        let new_ids = PublicSharing::<P>::share_ids_for(&inputs.new_committee);
        Ok(Self {
            inputs,
            verifying_key,
            lambdas,
            new_ids,
        })
    }

    fn expected_constant(&self, holder: &AccountId) -> Option<Point<P>> {
        Some(*self.inputs.old.public_shares.get(holder)? * self.lambdas.get(holder)?)
    }
}

/// Echo broadcast of an old holder: Feldman commitments to its resharing polynomial.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct Commitments<P: SchemeParams> {
    pub(crate) coefficients: Vec<SerPoint<P>>,
}

/// Direct message from an old holder to one new holder: its evaluation, bound to the recipient.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct Subshare<P: SchemeParams> {
    pub(crate) recipient: AccountId,
    pub(crate) value: SerScalar<P>,
}

/// The fault an old holder committed, proven by its own signed messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReshareFault {
    /// Its commitments describe a polynomial of the wrong degree.
    WrongDegree,
    /// Its commitments' constant term is not `λ_i·X_i`: it reshared something other than its share.
    WrongConstantTerm,
    /// The value it sent a new holder does not match its commitments.
    SubshareMismatch,
}

/// A provable reshare fault (manul `ProtocolError`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ReshareError<P: SchemeParams> {
    /// What the offender did.
    pub fault: ReshareFault,
    #[serde(skip)]
    phantom: PhantomData<P>,
}

impl<P: SchemeParams> ReshareError<P> {
    fn new(fault: ReshareFault) -> Self {
        Self {
            fault,
            phantom: PhantomData,
        }
    }
}

impl<P: SchemeParams> fmt::Display for ReshareError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fault {
            ReshareFault::WrongDegree => f.write_str("reshare: commitments of the wrong degree"),
            ReshareFault::WrongConstantTerm => {
                f.write_str("reshare: committed constant term does not match the holder's public key share")
            }
            ReshareFault::SubshareMismatch => f.write_str("reshare: subshare does not match the commitments"),
        }
    }
}

/// What evidence of a reshare fault is checked against: the public inputs and the session.
#[derive(Debug, Clone)]
pub struct ReshareAssociatedData<P: SchemeParams> {
    /// The reshare's public inputs, as the chain recorded them.
    pub inputs: ReshareInputs<P>,
    /// The manul session id of the attempt the evidence must come from.
    pub protocol_session_id: Vec<u8>,
}

fn invalid(reason: impl Into<String>) -> ProtocolValidationError {
    ProtocolValidationError::InvalidEvidence(reason.into())
}

impl<P: SchemeParams> ProtocolError<AccountId> for ReshareError<P> {
    type AssociatedData = ReshareAssociatedData<P>;

    fn required_messages(&self) -> RequiredMessages {
        let parts = match self.fault {
            ReshareFault::WrongDegree | ReshareFault::WrongConstantTerm => RequiredMessageParts::echo_broadcast(),
            ReshareFault::SubshareMismatch => RequiredMessageParts::echo_broadcast().and_direct_message(),
        };
        RequiredMessages::new(parts, None, None)
    }

    fn verify_messages_constitute_error(
        &self,
        format: &BoxedFormat,
        guilty_party: &AccountId,
        shared_randomness: &[u8],
        associated_data: &Self::AssociatedData,
        message: ProtocolMessage,
        _previous_messages: BTreeMap<RoundId, ProtocolMessage>,
        _combined_echos: BTreeMap<RoundId, BTreeMap<AccountId, EchoBroadcast>>,
    ) -> Result<(), ProtocolValidationError> {
        if shared_randomness != associated_data.protocol_session_id.as_slice() {
            return Err(invalid("the evidence comes from another session or attempt"));
        }
        let ctx = ReshareContext::new(associated_data.inputs.clone())
            .map_err(|e| ProtocolValidationError::Local(LocalError::new(e.to_string())))?;
        let expected_constant = ctx
            .expected_constant(guilty_party)
            .ok_or_else(|| invalid("the accused is not a staying old holder of this reshare"))?;
        let commitments = message
            .echo_broadcast
            .deserialize::<Commitments<P>>(format)
            .map_err(|e| invalid(format!("the commitments do not deserialize: {e}")))?;
        let t_new = ctx.inputs.new_threshold as usize;
        match self.fault {
            ReshareFault::WrongDegree => {
                if commitments.coefficients.len() == t_new {
                    return Err(invalid("the commitments have the right degree"));
                }
            }
            ReshareFault::WrongConstantTerm => match commitments.coefficients.first() {
                Some(c0) if c0.0 == expected_constant => {
                    return Err(invalid("the constant term matches the public key share"));
                }
                _ => {}
            },
            ReshareFault::SubshareMismatch => {
                let subshare = message
                    .direct_message
                    .deserialize::<Subshare<P>>(format)
                    .map_err(|e| invalid(format!("the subshare does not deserialize: {e}")))?;
                let recipient_id = ctx
                    .new_ids
                    .get(&subshare.recipient)
                    .ok_or_else(|| invalid("the subshare's recipient is not in the new committee"))?;
                let points: Vec<Point<P>> = commitments.coefficients.iter().map(|c| c.0).collect();
                if mul_generator::<P>(&subshare.value.0) == committed_share::<P>(&points, recipient_id) {
                    return Err(invalid("the subshare matches the commitments"));
                }
            }
        }
        Ok(())
    }
}

/// The resharing protocol (manul `Protocol`). Output: the new share for new holders, `None` for
/// old holders that leave.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ReshareProtocol<P: SchemeParams>(PhantomData<P>);

const ROUND1: u8 = 1;

impl<P: SchemeParams> Protocol<AccountId> for ReshareProtocol<P> {
    type Result = Option<ThresholdShare<P>>;
    type ProtocolError = ReshareError<P>;

    fn verify_direct_message_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &DirectMessage,
    ) -> Result<(), MessageValidationError> {
        if round_id == &RoundId::new(ROUND1) {
            message.verify_is_not::<Subshare<P>>(format)
        } else {
            Err(MessageValidationError::InvalidEvidence(format!("no round {round_id}")))
        }
    }

    fn verify_echo_broadcast_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &EchoBroadcast,
    ) -> Result<(), MessageValidationError> {
        if round_id == &RoundId::new(ROUND1) {
            message.verify_is_not::<Commitments<P>>(format)
        } else {
            Err(MessageValidationError::InvalidEvidence(format!("no round {round_id}")))
        }
    }

    fn verify_normal_broadcast_is_invalid(
        _format: &BoxedFormat,
        round_id: &RoundId,
        message: &NormalBroadcast,
    ) -> Result<(), MessageValidationError> {
        if round_id == &RoundId::new(ROUND1) {
            message.verify_is_some()
        } else {
            Err(MessageValidationError::InvalidEvidence(format!("no round {round_id}")))
        }
    }
}

/// Entry point of one party into a reshare.
#[derive(Debug)]
pub struct Reshare<P: SchemeParams> {
    inputs: ReshareInputs<P>,
    old_share: Option<ThresholdShare<P>>,
}

impl<P: SchemeParams> Reshare<P> {
    /// A party's entry: `old_share` is required for staying old holders and ignored otherwise.
    pub fn new(inputs: ReshareInputs<P>, old_share: Option<ThresholdShare<P>>) -> Self {
        Self { inputs, old_share }
    }
}

/// The secret polynomial of an old holder; zeroized on drop.
struct Polynomial<P: SchemeParams>(Vec<Scalar<P>>);

impl<P: SchemeParams> Drop for Polynomial<P> {
    fn drop(&mut self) {
        for c in self.0.iter_mut() {
            *c = <Scalar<P> as elliptic_curve::Field>::ZERO;
        }
    }
}

impl<P: SchemeParams> fmt::Debug for Polynomial<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Polynomial(degree {}, <hidden>)", self.0.len().saturating_sub(1))
    }
}

/// What an old holder contributes: its polynomial and the public commitments to it.
#[derive(Debug)]
struct Contribution<P: SchemeParams> {
    polynomial: Polynomial<P>,
    commitments: Vec<Point<P>>,
}

/// Round 1: old holders distribute committed subshares; new holders check them.
#[derive(Debug)]
struct Round1<P: SchemeParams> {
    ctx: ReshareContext<P>,
    me: AccountId,
    contribution: Option<Contribution<P>>,
}

impl<P: SchemeParams> EntryPoint<AccountId> for Reshare<P> {
    type Protocol = ReshareProtocol<P>;

    fn entry_round_id() -> RoundId {
        RoundId::new(ROUND1)
    }

    fn make_round(
        self,
        rng: &mut dyn CryptoRngCore,
        _shared_randomness: &[u8],
        id: &AccountId,
    ) -> Result<BoxedRound<AccountId, Self::Protocol>, LocalError> {
        let ctx = ReshareContext::new(self.inputs).map_err(|e| LocalError::new(e.to_string()))?;
        let is_old = ctx.inputs.staying.contains(id);
        if !is_old && !ctx.inputs.new_committee.contains(id) {
            return Err(LocalError::new(format!("{id:?} takes no part in this reshare")));
        }
        let contribution = if is_old {
            let share = self
                .old_share
                .as_ref()
                .ok_or_else(|| LocalError::new("a staying old holder needs its old share"))?;
            if share.owner() != *id || ctx.inputs.old.public_shares.get(id) != Some(&mul_generator::<P>(share.secret()))
            {
                return Err(LocalError::new(
                    "the old share does not match this holder's public key share on record",
                ));
            }
            let lambda = *ctx
                .lambdas
                .get(id)
                .ok_or_else(|| LocalError::new("a staying holder without a Lagrange coefficient"))?;
            let mut coefficients = Vec::with_capacity(ctx.inputs.new_threshold as usize);
            coefficients.push(*share.secret() * lambda);
            for _ in 1..ctx.inputs.new_threshold {
                coefficients.push(random_scalar::<P>(&mut *rng));
            }
            let commitments = coefficients.iter().map(mul_generator::<P>).collect();
            Some(Contribution {
                polynomial: Polynomial(coefficients),
                commitments,
            })
        } else {
            None
        };
        Ok(BoxedRound::new_dynamic(Round1 {
            ctx,
            me: *id,
            contribution,
        }))
    }
}

/// What a new holder keeps from one old holder's message.
struct Received<P: SchemeParams> {
    value: Scalar<P>,
    commitments: Vec<Point<P>>,
}

impl<P: SchemeParams> Drop for Received<P> {
    fn drop(&mut self) {
        self.value = <Scalar<P> as elliptic_curve::Field>::ZERO;
    }
}

impl<P: SchemeParams> Round1<P> {
    fn is_new(&self) -> bool {
        self.ctx.inputs.new_committee.contains(&self.me)
    }

    fn finalize_new_share(&self, received: Vec<Received<P>>) -> Result<ThresholdShare<P>, LocalError> {
        let my_id = *self
            .ctx
            .new_ids
            .get(&self.me)
            .ok_or_else(|| LocalError::new("this party holds no new share"))?;
        let mut secret = <Scalar<P> as elliptic_curve::Field>::ZERO;
        let mut all_commitments: Vec<&[Point<P>]> = Vec::new();
        for r in &received {
            secret += r.value;
            all_commitments.push(&r.commitments);
        }
        if let Some(c) = &self.contribution {
            secret += eval_poly::<P>(&c.polynomial.0, &my_id);
            all_commitments.push(&c.commitments);
        }
        if all_commitments.len() != self.ctx.inputs.staying.len() {
            return Err(LocalError::new("missing contributions from staying holders"));
        }
        let public_shares = self
            .ctx
            .new_ids
            .iter()
            .map(|(party, x)| {
                let pt = all_commitments
                    .iter()
                    .fold(<Point<P> as elliptic_curve::group::Group>::identity(), |acc, c| {
                        acc + committed_share::<P>(c, x)
                    });
                (*party, pt)
            })
            .collect();
        let public = PublicSharing {
            threshold: self.ctx.inputs.new_threshold,
            share_ids: self.ctx.new_ids.clone(),
            public_shares,
        };
        let share = ThresholdShare::new(self.me, secret, public).map_err(|e| LocalError::new(e.to_string()))?;
        if share.verifying_key_point() != self.ctx.verifying_key {
            return Err(LocalError::new("the new shares rebuild a different key"));
        }
        Ok(share)
    }
}

impl<P: SchemeParams> Round<AccountId> for Round1<P> {
    type Protocol = ReshareProtocol<P>;

    fn transition_info(&self) -> TransitionInfo {
        TransitionInfo::new_linear_terminating(ROUND1)
    }

    fn communication_info(&self) -> CommunicationInfo<AccountId> {
        let inputs = &self.ctx.inputs;
        let is_old = self.contribution.is_some();
        let others = |set: &BTreeSet<AccountId>| set.iter().filter(|p| **p != self.me).copied().collect();
        let message_destinations = if is_old {
            others(&inputs.new_committee)
        } else {
            BTreeSet::new()
        };
        let expecting_messages_from = if self.is_new() {
            others(&inputs.staying)
        } else {
            BTreeSet::new()
        };
        let echo_round_participation = match (is_old, self.is_new()) {
            (true, true) => EchoRoundParticipation::Default,
            (true, false) => EchoRoundParticipation::Send,
            _ => EchoRoundParticipation::Receive {
                echo_targets: others(&inputs.new_committee),
            },
        };
        CommunicationInfo {
            message_destinations,
            expecting_messages_from,
            echo_round_participation,
        }
    }

    fn make_echo_broadcast(
        &self,
        _rng: &mut dyn CryptoRngCore,
        format: &BoxedFormat,
    ) -> Result<EchoBroadcast, LocalError> {
        match &self.contribution {
            Some(c) => EchoBroadcast::new(
                format,
                Commitments::<P> {
                    coefficients: c.commitments.iter().map(|p| SerPoint::new(*p)).collect(),
                },
            ),
            None => Ok(EchoBroadcast::none()),
        }
    }

    fn make_direct_message(
        &self,
        _rng: &mut dyn CryptoRngCore,
        format: &BoxedFormat,
        destination: &AccountId,
    ) -> Result<(DirectMessage, Option<Artifact>), LocalError> {
        let contribution = self
            .contribution
            .as_ref()
            .ok_or_else(|| LocalError::new("only old holders send subshares"))?;
        let x = self
            .ctx
            .new_ids
            .get(destination)
            .ok_or_else(|| LocalError::new(format!("{destination:?} is not a new holder")))?;
        let message = Subshare::<P> {
            recipient: *destination,
            value: SerScalar::new(eval_poly::<P>(&contribution.polynomial.0, x)),
        };
        Ok((DirectMessage::new(format, message)?, None))
    }

    fn receive_message(
        &self,
        format: &BoxedFormat,
        from: &AccountId,
        message: ProtocolMessage,
    ) -> Result<Payload, ReceiveError<AccountId, Self::Protocol>> {
        message.normal_broadcast.assert_is_none()?;
        let commitments = message.echo_broadcast.deserialize::<Commitments<P>>(format)?;
        let subshare = message.direct_message.deserialize::<Subshare<P>>(format)?;
        let points: Vec<Point<P>> = commitments.coefficients.iter().map(|c| c.0).collect();

        if points.len() != self.ctx.inputs.new_threshold as usize {
            return Err(ReceiveError::protocol(ReshareError::new(ReshareFault::WrongDegree)));
        }
        let expected = self
            .ctx
            .expected_constant(from)
            .ok_or_else(|| ReceiveError::unprovable(format!("{from:?} is not a staying holder, yet sent subshares")))?;
        if points[0] != expected {
            return Err(ReceiveError::protocol(ReshareError::new(
                ReshareFault::WrongConstantTerm,
            )));
        }
        if subshare.recipient != self.me {
            return Err(ReceiveError::unprovable(format!(
                "subshare addressed to {:?}, not to us",
                subshare.recipient
            )));
        }
        let my_id = self
            .ctx
            .new_ids
            .get(&self.me)
            .ok_or_else(|| ReceiveError::unprovable("a subshare for a party that holds no new share"))?;
        if mul_generator::<P>(&subshare.value.0) != committed_share::<P>(&points, my_id) {
            return Err(ReceiveError::protocol(ReshareError::new(
                ReshareFault::SubshareMismatch,
            )));
        }
        Ok(Payload::new(Received::<P> {
            value: subshare.value.0,
            commitments: points,
        }))
    }

    fn finalize(
        self: Box<Self>,
        _rng: &mut dyn CryptoRngCore,
        payloads: BTreeMap<AccountId, Payload>,
        _artifacts: BTreeMap<AccountId, Artifact>,
    ) -> Result<FinalizeOutcome<AccountId, Self::Protocol>, LocalError> {
        if !self.is_new() {
            return Ok(FinalizeOutcome::Result(None));
        }
        let received = payloads
            .into_values()
            .map(|p| p.downcast::<Received<P>>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FinalizeOutcome::Result(Some(self.finalize_new_share(received)?)))
    }
}
