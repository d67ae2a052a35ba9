//! Attributable key resharing: Feldman-committed redistribution (Wong–Wang–Wing style) on manul,
//! in which every message is a broadcast, so nobody can withhold one from one party alone.
//!
//! Public inputs, known to every participant and to the chain: the current sharing (share ids and
//! public key shares of the old committee, its threshold — so also the parent key), the staying old
//! holders, the new committee and the new threshold.
//!
//! Two rounds, each followed by manul's echo round:
//! 1. **Keys.** Each new member `j` draws a receiving key for this attempt and echo-broadcasts its
//!    public half (`seal::ReceivingKey`).
//! 2. **Deal.** Each staying old holder `i` picks a random polynomial `f_i` of degree `t_new - 1`
//!    with `f_i(0) = λ_i·x_i` (`λ_i` its Lagrange coefficient among the staying holders) and
//!    echo-broadcasts the commitments `C_i = [a_ik·G]` together with `f_i(id_j)` sealed to each
//!    other new member's receiving key.
//!
//! A deal also carries the holder's endorsement of its commitments (its account's signature over
//! them and the session), which every new member keeps and puts in its confirmation: from the
//! endorsed commitments the chain computes the new public shares itself, so a confirmation of any
//! other sharing is refused, and two different endorsed deals of one holder prove it equivocated.
//!
//! A new member checks each deal: the degree and that `C_i0 = λ_i·X_i` (provable from the signed
//! broadcast alone), the endorsement, that it seals a value for every other new member (likewise), and that its own
//! sealed value matches the commitments — when it does not, the member opens that one seal in
//! public (`seal::Disclosure`), which together with the deal and the sender's echo of round 1 (the
//! member's receiving key, as the sender saw it) proves the fault to anyone. The echo rounds catch
//! a party that sent different broadcasts to different parties.
//!
//! Since both rounds are broadcast-only, keywheel's driver relays them: a message that reached one
//! honest participant reaches all, so "I did not get X from P" is either true for every honest
//! participant or false. New share `x'_j = Σ_i f_i(id_j)`; every new public share follows from the
//! commitments, and they rebuild the same parent key.
//!
//! No code path panics on peer input: every check is a typed error naming the sender.

use crate::prelude::*;
use alloc::collections::{BTreeMap, BTreeSet};
use core::fmt;
use core::marker::PhantomData;

use manul::protocol::{
    Artifact, BoxedFormat, BoxedRound, CommunicationInfo, DirectMessage, EchoBroadcast, EchoRoundParticipation,
    EntryPoint, FinalizeOutcome, LocalError, MessageValidationError, NormalBroadcast, Payload, Protocol, ProtocolError,
    ProtocolMessage, ProtocolMessagePart, ProtocolValidationError, ReceiveError, RequiredMessageParts,
    RequiredMessages, Round, RoundId, TransitionInfo,
};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use synedrion::SchemeParams;
use zeroize::Zeroizing;

use keywheel_primitives::domain::DEAL_ENDORSEMENT;
use keywheel_primitives::{Dealt, Endorsed};

use crate::curve::{
    eval_poly, lagrange_at_zero, mul_generator, point_from_bytes, point_to_bytes, random_scalar, Point, Scalar,
    SerPoint, SerScalar,
};
use crate::error::MpcError;
use crate::identity::{AccountId, PartySignature, PartySigner};
use crate::seal::{Disclosure, ReceivingKey, SealContext, Sealed};
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

/// Round 1 echo broadcast of a new member: its receiving key for this attempt.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct KeyMessage<P: SchemeParams> {
    pub(crate) key: SerPoint<P>,
}

/// One subshare of a deal, sealed to its recipient.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct SealedSubshare<P: SchemeParams> {
    pub(crate) recipient: AccountId,
    pub(crate) sealed: Sealed<P>,
}

/// Round 2 echo broadcast of a staying old holder: Feldman commitments to its resharing
/// polynomial, its endorsement of them, and its evaluation at every other new member, sealed to
/// that member.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct Deal<P: SchemeParams> {
    pub(crate) coefficients: Vec<SerPoint<P>>,
    /// The holder's signature over [`endorsement_message`] of the coefficients.
    pub(crate) endorsement: PartySignature,
    /// One per new member other than the sender, in account order.
    pub(crate) subshares: Vec<SealedSubshare<P>>,
}

/// The fault a participant committed, proven by its own signed messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum ReshareFault<P: SchemeParams> {
    /// A new member's receiving key is the identity point.
    BadReceivingKey,
    /// A deal's commitments describe a polynomial of the wrong degree.
    WrongDegree,
    /// A deal's constant term is not `λ_i·X_i`: it reshared something other than its share.
    WrongConstantTerm,
    /// A deal's endorsement is not its holder's signature of its commitments, or it does not
    /// seal exactly one well-formed subshare to each other new member.
    MalformedDeal,
    /// The subshare a deal sealed to `recipient` does not match its commitments: `disclosure`
    /// opens that seal.
    SubshareMismatch {
        /// The new member the subshare was sealed to.
        recipient: AccountId,
        /// The recipient's public opening of that seal.
        disclosure: Disclosure<P>,
    },
}

impl<P: SchemeParams> ReshareFault<P> {
    /// A short stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::BadReceivingKey => "bad-receiving-key",
            Self::WrongDegree => "wrong-degree",
            Self::WrongConstantTerm => "wrong-constant-term",
            Self::MalformedDeal => "malformed-deal",
            Self::SubshareMismatch { .. } => "subshare-mismatch",
        }
    }
}

/// A provable reshare fault (manul `ProtocolError`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ReshareError<P: SchemeParams> {
    /// What the offender did.
    pub fault: ReshareFault<P>,
}

impl<P: SchemeParams> ReshareError<P> {
    fn new(fault: ReshareFault<P>) -> Self {
        Self { fault }
    }
}

impl<P: SchemeParams> fmt::Display for ReshareError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fault {
            ReshareFault::BadReceivingKey => f.write_str("reshare: the receiving key is the identity point"),
            ReshareFault::WrongDegree => f.write_str("reshare: commitments of the wrong degree"),
            ReshareFault::WrongConstantTerm => {
                f.write_str("reshare: committed constant term does not match the holder's public key share")
            }
            ReshareFault::MalformedDeal => f.write_str(
                "reshare: the deal is not endorsed by its holder, or does not seal one well-formed subshare to each \
                 other new member",
            ),
            ReshareFault::SubshareMismatch { recipient, .. } => {
                write!(
                    f,
                    "reshare: the subshare sealed to {recipient:?} does not match the commitments"
                )
            }
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

const ROUND_KEYS: u8 = 1;
const ROUND_DEAL: u8 = 2;

/// The commitments as a deal's endorsement covers them: compressed SEC1, lowest degree first.
fn encoded_commitments<P: SchemeParams>(coefficients: &[SerPoint<P>]) -> Vec<Vec<u8>> {
    coefficients.iter().map(|c| point_to_bytes::<P>(&c.0)).collect()
}

/// What a staying holder signs (under `domain::DEAL_ENDORSEMENT`) to endorse the commitments it
/// deals in the reshare session `protocol_session_id`.
pub fn endorsement_message(protocol_session_id: &[u8], commitments: &[Vec<u8>]) -> Vec<u8> {
    keywheel_primitives::domain::deal_endorsement(protocol_session_id, commitments)
}

/// The public key shares of `new_committee` (share ids `1..=n` in account order) that the
/// endorsed commitments `dealt` of the reshare session `protocol_session_id` give: what the
/// chain checks a confirmation against. Fails when an endorsement is not its dealer's signature
/// over its commitments, a commitment is not a point, or a dealer committed to a polynomial of
/// another degree than `threshold - 1`.
pub fn shares_from_deals<P: SchemeParams>(
    protocol_session_id: &[u8],
    new_committee: &BTreeSet<AccountId>,
    threshold: u32,
    dealt: &Dealt,
) -> Result<BTreeMap<AccountId, Vec<u8>>, MpcError> {
    let bad = |dealer: &AccountId, why: &str| MpcError::InvalidInput(format!("{dealer}'s deal: {why}"));
    let identity = <Point<P> as elliptic_curve::group::Group>::identity();
    // The sum of every dealer's polynomial, committed coefficient by coefficient.
    let mut sum = vec![identity; threshold as usize];
    for (dealer, endorsed) in dealt {
        let signature = <[u8; 64]>::try_from(endorsed.endorsement.as_slice())
            .map_err(|_| bad(dealer, "the endorsement is not 64 bytes"))?;
        let message = endorsement_message(protocol_session_id, &endorsed.commitments);
        if !dealer.verify(DEAL_ENDORSEMENT, &message, &PartySignature(signature)) {
            return Err(bad(dealer, "the endorsement is not its signature of these commitments"));
        }
        if endorsed.commitments.len() != threshold as usize {
            return Err(bad(dealer, "commitments of the wrong degree"));
        }
        for (total, bytes) in sum.iter_mut().zip(&endorsed.commitments) {
            *total += point_from_bytes::<P>(bytes).ok_or_else(|| bad(dealer, "a commitment is not a point"))?;
        }
    }
    Ok(PublicSharing::<P>::share_ids_for(new_committee)
        .into_iter()
        .map(|(member, id)| (member, point_to_bytes::<P>(&committed_share::<P>(&sum, &id))))
        .collect())
}

/// Checks a deal's shape against the public inputs: the degree, the constant term, the
/// endorsement and one well-formed seal per other new member, in order. `None` when it is sound.
fn deal_fault<P: SchemeParams>(
    ctx: &ReshareContext<P>,
    session: &[u8],
    sender: &AccountId,
    deal: &Deal<P>,
) -> Option<ReshareFault<P>> {
    if deal.coefficients.len() != ctx.inputs.new_threshold as usize {
        return Some(ReshareFault::WrongDegree);
    }
    match ctx.expected_constant(sender) {
        Some(expected) if deal.coefficients[0].0 == expected => {}
        _ => return Some(ReshareFault::WrongConstantTerm),
    }
    let endorsed = endorsement_message(session, &encoded_commitments(&deal.coefficients));
    if !sender.verify(DEAL_ENDORSEMENT, &endorsed, &deal.endorsement) {
        return Some(ReshareFault::MalformedDeal);
    }
    let recipients = ctx.inputs.new_committee.iter().filter(|m| *m != sender);
    let scalar_len = crate::curve::scalar_to_bytes::<P>(&<Scalar<P> as elliptic_curve::Field>::ONE).len();
    let identity = <Point<P> as elliptic_curve::group::Group>::identity();
    let well_formed = deal.subshares.len()
        == ctx.inputs.new_committee.len() - usize::from(ctx.inputs.new_committee.contains(sender))
        && deal.subshares.iter().zip(recipients).all(|(s, r)| {
            s.recipient == *r && s.sealed.ciphertext.len() == scalar_len && s.sealed.ephemeral.0 != identity
        });
    (!well_formed).then_some(ReshareFault::MalformedDeal)
}

impl<P: SchemeParams> ProtocolError<AccountId> for ReshareError<P> {
    type AssociatedData = ReshareAssociatedData<P>;

    fn required_messages(&self) -> RequiredMessages {
        match self.fault {
            ReshareFault::SubshareMismatch { .. } => RequiredMessages::new(
                RequiredMessageParts::echo_broadcast(),
                None,
                // The recipient's receiving key, signed by it and echoed by the accused.
                Some(BTreeSet::from([RoundId::new(ROUND_KEYS)])),
            ),
            _ => RequiredMessages::new(RequiredMessageParts::echo_broadcast(), None, None),
        }
    }

    fn verify_messages_constitute_error(
        &self,
        format: &BoxedFormat,
        guilty_party: &AccountId,
        shared_randomness: &[u8],
        associated_data: &Self::AssociatedData,
        message: ProtocolMessage,
        _previous_messages: BTreeMap<RoundId, ProtocolMessage>,
        combined_echos: BTreeMap<RoundId, BTreeMap<AccountId, EchoBroadcast>>,
    ) -> Result<(), ProtocolValidationError> {
        if shared_randomness != associated_data.protocol_session_id.as_slice() {
            return Err(invalid("the evidence comes from another session or attempt"));
        }
        let ctx = ReshareContext::new(associated_data.inputs.clone())
            .map_err(|e| ProtocolValidationError::Local(LocalError::new(e.to_string())))?;
        if let ReshareFault::BadReceivingKey = self.fault {
            if !ctx.inputs.new_committee.contains(guilty_party) {
                return Err(invalid("the accused sends no receiving key in this reshare"));
            }
            let sent = message
                .echo_broadcast
                .deserialize::<KeyMessage<P>>(format)
                .map_err(|e| invalid(format!("the receiving key does not deserialize: {e}")))?;
            if sent.key.0 != <Point<P> as elliptic_curve::group::Group>::identity() {
                return Err(invalid("the receiving key is a proper point"));
            }
            return Ok(());
        }
        if ctx.expected_constant(guilty_party).is_none() {
            return Err(invalid("the accused is not a staying old holder of this reshare"));
        }
        let deal = message
            .echo_broadcast
            .deserialize::<Deal<P>>(format)
            .map_err(|e| invalid(format!("the deal does not deserialize: {e}")))?;
        let found = deal_fault(&ctx, shared_randomness, guilty_party, &deal);
        match &self.fault {
            ReshareFault::BadReceivingKey => unreachable!("handled above"),
            ReshareFault::WrongDegree | ReshareFault::WrongConstantTerm | ReshareFault::MalformedDeal => match found {
                Some(f) if f.name() == self.fault.name() => Ok(()),
                _ => Err(invalid(format!("the deal has no {} fault", self.fault.name()))),
            },
            ReshareFault::SubshareMismatch { recipient, disclosure } => {
                if found.is_some() {
                    return Err(invalid("the deal is malformed, which is another fault"));
                }
                let recipient_id = ctx
                    .new_ids
                    .get(recipient)
                    .ok_or_else(|| invalid("the recipient is not in the new committee"))?;
                let key = combined_echos
                    .get(&RoundId::new(ROUND_KEYS))
                    .and_then(|echos| echos.get(recipient))
                    .ok_or_else(|| invalid("the accused's echo of the recipient's receiving key is missing"))?
                    .deserialize::<KeyMessage<P>>(format)
                    .map_err(|e| invalid(format!("the receiving key does not deserialize: {e}")))?;
                let sealed = deal
                    .subshares
                    .iter()
                    .find(|s| s.recipient == *recipient)
                    .ok_or_else(|| invalid("the deal seals nothing to the recipient"))?;
                let context = SealContext {
                    session: shared_randomness,
                    sender: guilty_party,
                    recipient,
                };
                let value = disclosure.open(&key.key.0, &context, &sealed.sealed).map_err(invalid)?;
                let commitments: Vec<Point<P>> = deal.coefficients.iter().map(|c| c.0).collect();
                match value {
                    Some(v) if mul_generator::<P>(&v) == committed_share::<P>(&commitments, recipient_id) => {
                        Err(invalid("the sealed subshare matches the commitments"))
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

/// What a new member gets from a reshare: its share, and every staying holder's endorsed
/// commitments (which its confirmation carries).
#[derive(Debug, Clone)]
pub struct ReshareOutput<P: SchemeParams> {
    /// The new share.
    pub share: ThresholdShare<P>,
    /// What each staying holder dealt, endorsed.
    pub dealt: Dealt,
}

/// The resharing protocol (manul `Protocol`). Output: the new share for new holders, `None` for
/// old holders that leave.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ReshareProtocol<P: SchemeParams>(PhantomData<P>);

fn no_round(round_id: &RoundId) -> MessageValidationError {
    MessageValidationError::InvalidEvidence(format!("no round {round_id}"))
}

impl<P: SchemeParams> Protocol<AccountId> for ReshareProtocol<P> {
    type Result = Option<ReshareOutput<P>>;
    type ProtocolError = ReshareError<P>;

    fn verify_direct_message_is_invalid(
        _format: &BoxedFormat,
        round_id: &RoundId,
        message: &DirectMessage,
    ) -> Result<(), MessageValidationError> {
        if round_id == &RoundId::new(ROUND_KEYS) || round_id == &RoundId::new(ROUND_DEAL) {
            message.verify_is_some()
        } else {
            Err(no_round(round_id))
        }
    }

    fn verify_echo_broadcast_is_invalid(
        format: &BoxedFormat,
        round_id: &RoundId,
        message: &EchoBroadcast,
    ) -> Result<(), MessageValidationError> {
        if round_id == &RoundId::new(ROUND_KEYS) {
            message.verify_is_not::<KeyMessage<P>>(format)
        } else if round_id == &RoundId::new(ROUND_DEAL) {
            message.verify_is_not::<Deal<P>>(format)
        } else {
            Err(no_round(round_id))
        }
    }

    fn verify_normal_broadcast_is_invalid(
        _format: &BoxedFormat,
        round_id: &RoundId,
        message: &NormalBroadcast,
    ) -> Result<(), MessageValidationError> {
        if round_id == &RoundId::new(ROUND_KEYS) || round_id == &RoundId::new(ROUND_DEAL) {
            message.verify_is_some()
        } else {
            Err(no_round(round_id))
        }
    }
}

/// Entry point of one party into a reshare.
#[derive(Debug)]
pub struct Reshare<P: SchemeParams> {
    inputs: ReshareInputs<P>,
    old_share: Option<ThresholdShare<P>>,
    signer: PartySigner,
}

impl<P: SchemeParams> Reshare<P> {
    /// A party's entry: `old_share` is required for staying old holders and ignored otherwise;
    /// `signer` is the party's own key (a staying holder endorses its deal with it).
    pub fn new(inputs: ReshareInputs<P>, old_share: Option<ThresholdShare<P>>, signer: PartySigner) -> Self {
        Self {
            inputs,
            old_share,
            signer,
        }
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

/// What an old holder contributes: its polynomial, the public commitments to it, and its
/// endorsement of them.
#[derive(Debug)]
struct Contribution<P: SchemeParams> {
    polynomial: Polynomial<P>,
    commitments: Vec<Point<P>>,
    endorsement: PartySignature,
}

/// What every round of one party knows: the public inputs, who it is, and the session.
#[derive(Debug)]
struct Party<P: SchemeParams> {
    ctx: ReshareContext<P>,
    me: AccountId,
    session: Vec<u8>,
    contribution: Option<Contribution<P>>,
    /// This party's receiving key, if it is a new member.
    receiving: Option<ReceivingKey<P>>,
}

impl<P: SchemeParams> Party<P> {
    fn is_new(&self) -> bool {
        self.ctx.inputs.new_committee.contains(&self.me)
    }

    fn others(&self, set: &BTreeSet<AccountId>) -> BTreeSet<AccountId> {
        set.iter().filter(|p| **p != self.me).copied().collect()
    }
}

/// Round 1: new members broadcast their receiving keys; everyone collects them.
#[derive(Debug)]
struct Round1<P: SchemeParams> {
    party: Party<P>,
}

/// Round 2: staying holders broadcast their deals; new members check them and sum their shares.
#[derive(Debug)]
struct Round2<P: SchemeParams> {
    party: Party<P>,
    /// Every other new member's receiving key.
    keys: BTreeMap<AccountId, Point<P>>,
}

impl<P: SchemeParams> EntryPoint<AccountId> for Reshare<P> {
    type Protocol = ReshareProtocol<P>;

    fn entry_round_id() -> RoundId {
        RoundId::new(ROUND_KEYS)
    }

    fn make_round(
        self,
        rng: &mut dyn CryptoRngCore,
        shared_randomness: &[u8],
        id: &AccountId,
    ) -> Result<BoxedRound<AccountId, Self::Protocol>, LocalError> {
        let ctx = ReshareContext::new(self.inputs).map_err(|e| LocalError::new(e.to_string()))?;
        let is_old = ctx.inputs.staying.contains(id);
        let is_new = ctx.inputs.new_committee.contains(id);
        if !is_old && !is_new {
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
            let commitments: Vec<Point<P>> = coefficients.iter().map(mul_generator::<P>).collect();
            let encoded: Vec<Vec<u8>> = commitments.iter().map(point_to_bytes::<P>).collect();
            let endorsement = self.signer.sign_with_rng(
                &mut *rng,
                DEAL_ENDORSEMENT,
                &endorsement_message(shared_randomness, &encoded),
            );
            Some(Contribution {
                polynomial: Polynomial(coefficients),
                commitments,
                endorsement,
            })
        } else {
            None
        };
        let receiving = is_new.then(|| ReceivingKey::random(&mut *rng));
        Ok(BoxedRound::new_dynamic(Round1 {
            party: Party {
                ctx,
                me: *id,
                session: shared_randomness.to_vec(),
                contribution,
                receiving,
            },
        }))
    }
}

impl<P: SchemeParams> Round<AccountId> for Round1<P> {
    type Protocol = ReshareProtocol<P>;

    fn transition_info(&self) -> TransitionInfo {
        TransitionInfo::new_linear(ROUND_KEYS)
    }

    fn communication_info(&self) -> CommunicationInfo<AccountId> {
        let party = &self.party;
        let everyone = party.others(&party.ctx.inputs.participants());
        CommunicationInfo {
            message_destinations: if party.is_new() {
                everyone.clone()
            } else {
                BTreeSet::new()
            },
            expecting_messages_from: party.others(&party.ctx.inputs.new_committee),
            // Everyone echoes every key, so the staying holders' echoes (which evidence of a bad
            // seal quotes) carry each new member's key as that member signed it.
            echo_round_participation: if party.is_new() {
                EchoRoundParticipation::Default
            } else {
                EchoRoundParticipation::Receive { echo_targets: everyone }
            },
        }
    }

    fn make_echo_broadcast(
        &self,
        _rng: &mut dyn CryptoRngCore,
        format: &BoxedFormat,
    ) -> Result<EchoBroadcast, LocalError> {
        match &self.party.receiving {
            Some(key) => EchoBroadcast::new(
                format,
                KeyMessage::<P> {
                    key: SerPoint::new(key.public()),
                },
            ),
            None => Ok(EchoBroadcast::none()),
        }
    }

    fn receive_message(
        &self,
        format: &BoxedFormat,
        _from: &AccountId,
        message: ProtocolMessage,
    ) -> Result<Payload, ReceiveError<AccountId, Self::Protocol>> {
        message.normal_broadcast.assert_is_none()?;
        message.direct_message.assert_is_none()?;
        let sent = message.echo_broadcast.deserialize::<KeyMessage<P>>(format)?;
        if sent.key.0 == <Point<P> as elliptic_curve::group::Group>::identity() {
            return Err(ReceiveError::protocol(ReshareError::new(ReshareFault::BadReceivingKey)));
        }
        Ok(Payload::new(sent.key.0))
    }

    fn finalize(
        self: Box<Self>,
        _rng: &mut dyn CryptoRngCore,
        payloads: BTreeMap<AccountId, Payload>,
        _artifacts: BTreeMap<AccountId, Artifact>,
    ) -> Result<FinalizeOutcome<AccountId, Self::Protocol>, LocalError> {
        let keys = payloads
            .into_iter()
            .map(|(from, p)| p.downcast::<Point<P>>().map(|k| (from, k)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok(FinalizeOutcome::AnotherRound(BoxedRound::new_dynamic(Round2 {
            party: self.party,
            keys,
        })))
    }
}

/// What a new holder keeps from one old holder's deal.
struct Received<P: SchemeParams> {
    value: Scalar<P>,
    commitments: Vec<Point<P>>,
    endorsement: PartySignature,
}

impl<P: SchemeParams> Drop for Received<P> {
    fn drop(&mut self) {
        self.value = <Scalar<P> as elliptic_curve::Field>::ZERO;
    }
}

impl<P: SchemeParams> Round2<P> {
    fn context<'a>(&'a self, sender: &'a AccountId, recipient: &'a AccountId) -> SealContext<'a> {
        SealContext {
            session: &self.party.session,
            sender,
            recipient,
        }
    }

    fn finalize_new_share(&self, received: BTreeMap<AccountId, Received<P>>) -> Result<ReshareOutput<P>, LocalError> {
        let party = &self.party;
        let my_id = *party
            .ctx
            .new_ids
            .get(&party.me)
            .ok_or_else(|| LocalError::new("this party holds no new share"))?;
        let mut secret = <Scalar<P> as elliptic_curve::Field>::ZERO;
        let mut all_commitments: Vec<&[Point<P>]> = Vec::new();
        let mut dealt = Dealt::new();
        let endorsed = |commitments: &[Point<P>], endorsement: &PartySignature| Endorsed {
            commitments: commitments.iter().map(point_to_bytes::<P>).collect(),
            endorsement: endorsement.0.to_vec(),
        };
        for (holder, r) in &received {
            secret += r.value;
            all_commitments.push(&r.commitments);
            dealt.insert(*holder, endorsed(&r.commitments, &r.endorsement));
        }
        if let Some(c) = &party.contribution {
            secret += eval_poly::<P>(&c.polynomial.0, &my_id);
            all_commitments.push(&c.commitments);
            dealt.insert(party.me, endorsed(&c.commitments, &c.endorsement));
        }
        if all_commitments.len() != party.ctx.inputs.staying.len() {
            return Err(LocalError::new("missing contributions from staying holders"));
        }
        let public_shares = party
            .ctx
            .new_ids
            .iter()
            .map(|(member, x)| {
                let pt = all_commitments
                    .iter()
                    .fold(<Point<P> as elliptic_curve::group::Group>::identity(), |acc, c| {
                        acc + committed_share::<P>(c, x)
                    });
                (*member, pt)
            })
            .collect();
        let public = PublicSharing {
            threshold: party.ctx.inputs.new_threshold,
            share_ids: party.ctx.new_ids.clone(),
            public_shares,
        };
        let share = ThresholdShare::new(party.me, secret, public).map_err(|e| LocalError::new(e.to_string()))?;
        if share.verifying_key_point() != party.ctx.verifying_key {
            return Err(LocalError::new("the new shares rebuild a different key"));
        }
        Ok(ReshareOutput { share, dealt })
    }
}

impl<P: SchemeParams> Round<AccountId> for Round2<P> {
    type Protocol = ReshareProtocol<P>;

    fn transition_info(&self) -> TransitionInfo {
        TransitionInfo::new_linear_terminating(ROUND_DEAL)
    }

    fn communication_info(&self) -> CommunicationInfo<AccountId> {
        let party = &self.party;
        let inputs = &party.ctx.inputs;
        let is_old = party.contribution.is_some();
        CommunicationInfo {
            message_destinations: if is_old {
                party.others(&inputs.new_committee)
            } else {
                BTreeSet::new()
            },
            expecting_messages_from: if party.is_new() {
                party.others(&inputs.staying)
            } else {
                BTreeSet::new()
            },
            echo_round_participation: match (is_old, party.is_new()) {
                (true, true) => EchoRoundParticipation::Default,
                (true, false) => EchoRoundParticipation::Send,
                _ => EchoRoundParticipation::Receive {
                    echo_targets: party.others(&inputs.new_committee),
                },
            },
        }
    }

    fn make_echo_broadcast(
        &self,
        rng: &mut dyn CryptoRngCore,
        format: &BoxedFormat,
    ) -> Result<EchoBroadcast, LocalError> {
        let party = &self.party;
        let Some(contribution) = &party.contribution else {
            return Ok(EchoBroadcast::none());
        };
        let mut subshares = Vec::with_capacity(self.keys.len());
        for recipient in party.ctx.inputs.new_committee.iter().filter(|m| **m != party.me) {
            let (Some(x), Some(key)) = (party.ctx.new_ids.get(recipient), self.keys.get(recipient)) else {
                return Err(LocalError::new(format!(
                    "no share id or receiving key for {recipient:?}"
                )));
            };
            let value = Zeroizing::new(SerScalar::<P>::new(eval_poly::<P>(&contribution.polynomial.0, x)));
            let sealed = Sealed::seal(&mut *rng, key, &self.context(&party.me, recipient), &value.0);
            subshares.push(SealedSubshare {
                recipient: *recipient,
                sealed,
            });
        }
        EchoBroadcast::new(
            format,
            Deal::<P> {
                coefficients: contribution.commitments.iter().map(|p| SerPoint::new(*p)).collect(),
                endorsement: contribution.endorsement.clone(),
                subshares,
            },
        )
    }

    fn receive_message(
        &self,
        format: &BoxedFormat,
        from: &AccountId,
        message: ProtocolMessage,
    ) -> Result<Payload, ReceiveError<AccountId, Self::Protocol>> {
        message.normal_broadcast.assert_is_none()?;
        message.direct_message.assert_is_none()?;
        let deal = message.echo_broadcast.deserialize::<Deal<P>>(format)?;
        let party = &self.party;
        if party.ctx.expected_constant(from).is_none() {
            return Err(ReceiveError::unprovable(format!(
                "{from:?} is not a staying holder, yet sent a deal"
            )));
        }
        if let Some(fault) = deal_fault(&party.ctx, &party.session, from, &deal) {
            return Err(ReceiveError::protocol(ReshareError::new(fault)));
        }
        let (Some(my_id), Some(key)) = (party.ctx.new_ids.get(&party.me), party.receiving.as_ref()) else {
            return Err(ReceiveError::unprovable("a deal for a party that holds no new share"));
        };
        let sealed = deal
            .subshares
            .iter()
            .find(|s| s.recipient == party.me)
            .ok_or_else(|| ReceiveError::protocol(ReshareError::new(ReshareFault::MalformedDeal)))?;
        let context = self.context(from, &party.me);
        let commitments: Vec<Point<P>> = deal.coefficients.iter().map(|c| c.0).collect();
        match key.open(&context, &sealed.sealed) {
            Some(value) if mul_generator::<P>(&value) == committed_share::<P>(&commitments, my_id) => {
                Ok(Payload::new(Received::<P> {
                    value,
                    commitments,
                    endorsement: deal.endorsement,
                }))
            }
            _ => Err(ReceiveError::protocol(ReshareError::new(
                ReshareFault::SubshareMismatch {
                    recipient: party.me,
                    disclosure: key.disclose(&context, &sealed.sealed),
                },
            ))),
        }
    }

    fn finalize(
        self: Box<Self>,
        _rng: &mut dyn CryptoRngCore,
        payloads: BTreeMap<AccountId, Payload>,
        _artifacts: BTreeMap<AccountId, Artifact>,
    ) -> Result<FinalizeOutcome<AccountId, Self::Protocol>, LocalError> {
        if !self.party.is_new() {
            return Ok(FinalizeOutcome::Result(None));
        }
        let received = payloads
            .into_iter()
            .map(|(holder, p)| p.downcast::<Received<P>>().map(|r| (holder, r)))
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok(FinalizeOutcome::Result(Some(self.finalize_new_share(received)?)))
    }
}
