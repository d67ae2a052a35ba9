//! Deliberate misbehaviour for fault injection: a reshare participant that cheats in one of the
//! ways keywheel's resharing can prove. Compiled only with the `misbehave` feature (test builds,
//! and TSS builds made for fault-injection runs); a production build cannot cheat by accident.

use crate::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use manul::combinators::misbehave::{Misbehaving, MisbehavingEntryPoint};
use manul::protocol::{
    Artifact, BoxedFormat, BoxedRound, CommunicationInfo, DirectMessage, EchoBroadcast, EchoRoundParticipation,
    EntryPoint, FinalizeOutcome, LocalError, MessageValidationError, NormalBroadcast, Payload, Protocol, ProtocolError,
    ProtocolMessage, ProtocolMessagePart, ProtocolValidationError, ReceiveError, RequiredMessageParts,
    RequiredMessages, Round, RoundId, TransitionInfo,
};
use manul::session::{Session, SessionId};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use synedrion::SchemeParams;

use crate::curve::{mul_generator, scalar_from_u64, Point, SerPoint};
use crate::driver::{
    decode_message, encode_envelope, encode_message, run_protocol_session, Channels, MissingRound, Outcome, Outgoing,
    ProtocolKind,
};
use crate::error::MpcError;
use crate::identity::{AccountId, PartySigner, ProtocolSessionParams};
use crate::ops::{Attempt, Network, Reshared};
use crate::reshare::{Deal, KeyMessage, Reshare, ReshareInputs, ReshareOutput, ReshareProtocol};
use crate::share::ThresholdShare;

/// How a cheating participant departs from the resharing protocol: a staying holder in its deal
/// (round 2), a new member in its receiving key (round 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cheat {
    /// Commits to `x + 1` as its constant term instead of its share `x`.
    WrongSecret,
    /// Seals subshares that do not match its (honest) commitments.
    BadSubshare,
    /// Broadcasts a deal that is not a deal at all.
    Garbled,
    /// Leaves the subshare of one new member out of its deal.
    MissingSubshare,
    /// Broadcasts the identity point as its receiving key.
    IdentityKey,
}

impl Cheat {
    /// Every kind of cheat.
    pub const ALL: [Cheat; 5] = [
        Cheat::WrongSecret,
        Cheat::BadSubshare,
        Cheat::Garbled,
        Cheat::MissingSubshare,
        Cheat::IdentityKey,
    ];

    /// A stable lowercase name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::WrongSecret => "wrong-secret",
            Self::BadSubshare => "bad-subshare",
            Self::Garbled => "garbled",
            Self::MissingSubshare => "missing-subshare",
            Self::IdentityKey => "identity-key",
        }
    }
}

impl fmt::Display for Cheat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cheat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| {
            format!(
                "unknown cheat `{s}`: use one of wrong-secret, bad-subshare, garbled, missing-subshare, identity-key"
            )
        })
    }
}

/// The manul message modifiers behind [`Cheat`].
#[derive(Debug)]
pub(crate) struct Cheater<P>(PhantomData<P>);

impl<P: SchemeParams> Misbehaving<AccountId, Cheat> for Cheater<P> {
    type EntryPoint = Reshare<P>;

    fn modify_echo_broadcast(
        _rng: &mut dyn CryptoRngCore,
        round: &BoxedRound<AccountId, ReshareProtocol<P>>,
        behavior: &Cheat,
        format: &BoxedFormat,
        echo_broadcast: EchoBroadcast,
    ) -> Result<EchoBroadcast, LocalError> {
        if echo_broadcast.is_none() {
            return Ok(echo_broadcast);
        }
        if round.id() == RoundId::new(1) {
            return match behavior {
                Cheat::IdentityKey => EchoBroadcast::new(
                    format,
                    KeyMessage::<P> {
                        key: SerPoint::new(<Point<P> as elliptic_curve::group::Group>::identity()),
                    },
                ),
                _ => Ok(echo_broadcast),
            };
        }
        if *behavior == Cheat::IdentityKey {
            return Ok(echo_broadcast);
        }
        if *behavior == Cheat::Garbled {
            return EchoBroadcast::new(format, [7u8; 3]);
        }
        let mut deal: Deal<P> = echo_broadcast
            .deserialize(format)
            .map_err(|e| LocalError::new(e.to_string()))?;
        match behavior {
            Cheat::WrongSecret => {
                let shifted = deal.coefficients[0].0 + mul_generator::<P>(&scalar_from_u64::<P>(1));
                deal.coefficients[0] = SerPoint::new(shifted);
            }
            Cheat::BadSubshare => {
                for subshare in &mut deal.subshares {
                    if let Some(last) = subshare.sealed.ciphertext.last_mut() {
                        *last ^= 1;
                    }
                }
            }
            Cheat::MissingSubshare => {
                deal.subshares.pop();
            }
            Cheat::Garbled | Cheat::IdentityKey => unreachable!("handled above"),
        }
        EchoBroadcast::new(format, deal)
    }
}

/// Runs only the resharing session of `attempt` as one party — honestly with `cheat: None`,
/// otherwise cheating as told. (AuxGen is not run: resharing faults do not depend on it.)
pub async fn reshare_session<P: SchemeParams>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    inputs: ReshareInputs<P>,
    old_share: Option<ThresholdShare<P>>,
    cheat: Option<Cheat>,
    attempt: &Attempt,
    net: &impl Network,
) -> Result<Outcome<Option<ReshareOutput<P>>>, MpcError> {
    let mut rng = crate::ops::child_rng(rng);
    let spec = attempt.spec_among(ProtocolKind::Reshare, inputs.participants());
    let mut channels = net.open(signer.account(), &spec.protocol_session_id);
    let entry = Reshare::new(inputs, old_share, signer.clone());
    match cheat {
        None => run_protocol_session(&mut rng, signer.clone(), &spec, entry, &mut channels).await,
        Some(cheat) => {
            let entry = MisbehavingEntryPoint::<AccountId, Cheat, Cheater<P>>::new(entry, Some(cheat));
            run_protocol_session(&mut rng, signer.clone(), &spec, entry, &mut channels).await
        }
    }
}

/// How a cheating member departs from AuxGen. Only what benchmarks need: a fault whose evidence
/// costs its checker the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuxGenCheat {
    /// Spoils the last element of its `Π^mod` proof (round 3): whoever checks the proof does
    /// all of its work before it fails — the chain too, when it checks the evidence.
    LateModProof,
}

/// The manul message modifier behind [`AuxGenCheat`]; its behaviour carries the cheat and the
/// first recipient of the cheater's round-3 proofs.
#[derive(Debug)]
pub(crate) struct AuxGenCheater<P>(PhantomData<P>);

impl<P: SchemeParams> Misbehaving<AccountId, (AuxGenCheat, AccountId)> for AuxGenCheater<P> {
    type EntryPoint = synedrion::AuxGen<P, AccountId>;

    fn modify_normal_broadcast(
        _rng: &mut dyn CryptoRngCore,
        round: &BoxedRound<AccountId, synedrion::AuxGenProtocol<P, AccountId>>,
        behavior: &(AuxGenCheat, AccountId),
        _format: &BoxedFormat,
        normal_broadcast: NormalBroadcast,
    ) -> Result<NormalBroadcast, LocalError> {
        let (AuxGenCheat::LateModProof, first_recipient) = behavior;
        if round.id() != RoundId::new(3) {
            return Ok(normal_broadcast);
        }
        // Round 3 broadcasts `(Π^mod, {recipient: Π^fac})`. synedrion's types are private, so
        // the proof's end is found in the encoding: it is followed by the map's length and the
        // first recipient's id. The byte before the length is the last of the last element's
        // `z`; a flipped bit there keeps the message well-formed and fails only the last check.
        let mut bytes = postcard::to_allocvec(&normal_broadcast).map_err(|e| LocalError::new(e.to_string()))?;
        let id = postcard::to_allocvec(first_recipient).map_err(|e| LocalError::new(e.to_string()))?;
        let at = bytes
            .windows(id.len())
            .rposition(|w| w == id.as_slice())
            .filter(|at| *at >= 2)
            .ok_or_else(|| LocalError::new("the first recipient is not in AuxGen's round 3 broadcast"))?;
        bytes[at - 2] ^= 1;
        postcard::from_bytes(&bytes).map_err(|e| LocalError::new(e.to_string()))
    }
}

/// Runs only AuxGen of `attempt` among `committee` as one party — honestly with `cheat: None`,
/// otherwise cheating as told.
pub async fn aux_gen_session<P: SchemeParams>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    committee: BTreeSet<AccountId>,
    cheat: Option<AuxGenCheat>,
    attempt: &Attempt,
    net: &impl Network,
) -> Result<Outcome<synedrion::AuxInfo<P, AccountId>>, MpcError> {
    let mut rng = crate::ops::child_rng(rng);
    let spec = attempt.spec_among(ProtocolKind::AuxGen, committee.clone());
    let mut channels = net.open(signer.account(), &spec.protocol_session_id);
    let entry = synedrion::AuxGen::<P, AccountId>::new(committee).map_err(crate::ops::local)?;
    match cheat {
        None => run_protocol_session(&mut rng, signer.clone(), &spec, entry, &mut channels).await,
        Some(cheat) => {
            let me = signer.account();
            let first_recipient = *spec
                .participants
                .iter()
                .find(|p| **p != me)
                .ok_or_else(|| crate::ops::local("AuxGen with nobody else"))?;
            let entry = MisbehavingEntryPoint::<AccountId, (AuxGenCheat, AccountId), AuxGenCheater<P>>::new(
                entry,
                Some((cheat, first_recipient)),
            );
            run_protocol_session(&mut rng, signer.clone(), &spec, entry, &mut channels).await
        }
    }
}

/// [`crate::ops::reshare`] with a cheating resharing session: AuxGen for the new committee runs
/// honestly beside it, so the honest parties' attempt ends as soon as AuxGen does, naming this
/// party with the resharing's evidence. It is what a malicious TSS built for fault injection
/// runs instead of the honest reshare.
pub async fn reshare<P: SchemeParams>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    inputs: ReshareInputs<P>,
    old_share: Option<ThresholdShare<P>>,
    cheat: Cheat,
    attempt: &Attempt,
    net: &impl Network,
) -> Result<Outcome<Reshared<P>>, MpcError> {
    let (new_committee, participants) = (inputs.new_committee.clone(), inputs.participants());
    let entry = MisbehavingEntryPoint::<AccountId, Cheat, Cheater<P>>::new(
        Reshare::new(inputs, old_share, signer.clone()),
        Some(cheat),
    );
    crate::ops::reshare_with(rng, signer, new_committee, participants, entry, attempt, net).await
}

/// [`crate::backend::reshare_on`] on backend `B`, cheating in the resharing as `cheat` says.
#[allow(clippy::too_many_arguments)]
pub async fn reshare_on<B: crate::backend::SigningBackend>(
    rng: &mut impl CryptoRngCore,
    signer: &PartySigner,
    inputs: ReshareInputs<crate::ProductionParams>,
    previous: Option<&crate::backend::MemberKey>,
    cheat: Cheat,
    attempt: &Attempt,
    net: &(impl Network + ?Sized),
) -> Result<Outcome<Option<crate::backend::MemberKey>>, MpcError> {
    let (new_committee, participants) = (inputs.new_committee.clone(), inputs.participants());
    let entry = MisbehavingEntryPoint::<AccountId, Cheat, Cheater<crate::ProductionParams>>::new(
        Reshare::new(inputs, previous.map(|key| key.share().clone()), signer.clone()),
        Some(cheat),
    );
    crate::backend::reshare_entry_on::<B, _>(rng, signer, new_committee, participants, entry, previous, attempt, net)
        .await
}

/// A network for a party that, when its session `target` opens, first sends every other
/// participant a validly signed message of round `round` of that session — a round in which it
/// sends nothing (a joiner deals nothing in a reshare's round 2) — and then takes part as it
/// would. Session, round and signature check out; only the sender is not one the round expects,
/// and that must not end anyone's session.
pub struct Stray<'a, N> {
    net: &'a N,
    signer: PartySigner,
    target: SessionId,
    round: u8,
    participants: BTreeSet<AccountId>,
}

impl<'a, N: Network> Stray<'a, N> {
    /// Stray round-`round` messages from `signer` to `participants` in session `target`, over
    /// `net`.
    pub fn new(
        net: &'a N,
        signer: PartySigner,
        target: SessionId,
        round: u8,
        participants: BTreeSet<AccountId>,
    ) -> Self {
        Self {
            net,
            signer,
            target,
            round,
            participants,
        }
    }

    fn messages(&self) -> Result<Vec<Outgoing>, MpcError> {
        let local = |e: LocalError| MpcError::InvalidInput(e.to_string());
        let mut rng = crate::ops::child_rng(&mut rand_core::OsRng);
        let me = self.signer.account();
        let entry = StrayEntry {
            round: self.round,
            destinations: self.participants.iter().filter(|p| **p != me).copied().collect(),
        };
        let session =
            Session::<_, ProtocolSessionParams>::new(&mut rng, self.target.clone(), self.signer.clone(), entry)
                .map_err(local)?;
        let mut out = Vec::new();
        for to in session.message_destinations() {
            let (message, _) = session.make_message(&mut rng, to).map_err(local)?;
            out.push(Outgoing {
                protocol_session_id: self.target.as_ref().to_vec(),
                to: *to,
                payload: encode_message(message)?,
            });
        }
        Ok(out)
    }
}

impl<N: Network> Network for Stray<'_, N> {
    fn open(&self, me: AccountId, protocol_session_id: &SessionId) -> Channels {
        let channels = self.net.open(me, protocol_session_id);
        if *protocol_session_id == self.target {
            match self.messages() {
                Ok(messages) => {
                    for message in messages {
                        let _ = channels.outgoing.try_send(message);
                    }
                }
                Err(e) => tracing::warn!("fault injection: could not make stray messages: {e}"),
            }
        }
        channels
    }
}

/// The protocol [`Stray`] signs its messages with: one round, numbered as the round it strays
/// into, whose message is an echo broadcast of 32 zero bytes to every destination.
#[derive(Debug)]
struct StrayProtocol;

/// No stray message proves anything; the protocol only makes messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct NoFault;

impl fmt::Display for NoFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no fault")
    }
}

impl ProtocolError<AccountId> for NoFault {
    type AssociatedData = ();

    fn required_messages(&self) -> RequiredMessages {
        RequiredMessages::new(RequiredMessageParts::echo_broadcast(), None, None)
    }

    fn verify_messages_constitute_error(
        &self,
        _format: &BoxedFormat,
        _guilty_party: &AccountId,
        _shared_randomness: &[u8],
        _associated_data: &Self::AssociatedData,
        _message: ProtocolMessage,
        _previous_messages: BTreeMap<RoundId, ProtocolMessage>,
        _combined_echos: BTreeMap<RoundId, BTreeMap<AccountId, EchoBroadcast>>,
    ) -> Result<(), ProtocolValidationError> {
        Err(ProtocolValidationError::InvalidEvidence(
            "a stray message proves nothing".into(),
        ))
    }
}

impl Protocol<AccountId> for StrayProtocol {
    type Result = ();
    type ProtocolError = NoFault;

    fn verify_direct_message_is_invalid(
        _format: &BoxedFormat,
        _round_id: &RoundId,
        _message: &DirectMessage,
    ) -> Result<(), MessageValidationError> {
        Err(MessageValidationError::InvalidEvidence("not checked".into()))
    }

    fn verify_echo_broadcast_is_invalid(
        _format: &BoxedFormat,
        _round_id: &RoundId,
        _message: &EchoBroadcast,
    ) -> Result<(), MessageValidationError> {
        Err(MessageValidationError::InvalidEvidence("not checked".into()))
    }

    fn verify_normal_broadcast_is_invalid(
        _format: &BoxedFormat,
        _round_id: &RoundId,
        _message: &NormalBroadcast,
    ) -> Result<(), MessageValidationError> {
        Err(MessageValidationError::InvalidEvidence("not checked".into()))
    }
}

/// Entry into [`StrayProtocol`]'s one round.
#[derive(Debug)]
struct StrayEntry {
    round: u8,
    destinations: BTreeSet<AccountId>,
}

impl EntryPoint<AccountId> for StrayEntry {
    type Protocol = StrayProtocol;

    /// Only manul's combinators ask (a `Session` takes the round's own id), and none wraps this.
    fn entry_round_id() -> RoundId {
        RoundId::new(1)
    }

    fn make_round(
        self,
        _rng: &mut dyn CryptoRngCore,
        _shared_randomness: &[u8],
        _id: &AccountId,
    ) -> Result<BoxedRound<AccountId, Self::Protocol>, LocalError> {
        Ok(BoxedRound::new_dynamic(StrayRound {
            round: self.round,
            destinations: self.destinations,
        }))
    }
}

#[derive(Debug)]
struct StrayRound {
    round: u8,
    destinations: BTreeSet<AccountId>,
}

impl Round<AccountId> for StrayRound {
    type Protocol = StrayProtocol;

    fn transition_info(&self) -> TransitionInfo {
        TransitionInfo::new_linear_terminating(self.round)
    }

    fn communication_info(&self) -> CommunicationInfo<AccountId> {
        CommunicationInfo {
            message_destinations: self.destinations.clone(),
            expecting_messages_from: BTreeSet::new(),
            echo_round_participation: EchoRoundParticipation::Send,
        }
    }

    fn make_echo_broadcast(
        &self,
        _rng: &mut dyn CryptoRngCore,
        format: &BoxedFormat,
    ) -> Result<EchoBroadcast, LocalError> {
        EchoBroadcast::new(format, [0u8; 32])
    }

    fn receive_message(
        &self,
        _format: &BoxedFormat,
        _from: &AccountId,
        _message: ProtocolMessage,
    ) -> Result<Payload, ReceiveError<AccountId, Self::Protocol>> {
        Err(ReceiveError::unprovable("a stray session receives nothing"))
    }

    fn finalize(
        self: Box<Self>,
        _rng: &mut dyn CryptoRngCore,
        _payloads: BTreeMap<AccountId, Payload>,
        _artifacts: BTreeMap<AccountId, Artifact>,
    ) -> Result<FinalizeOutcome<AccountId, Self::Protocol>, LocalError> {
        Ok(FinalizeOutcome::Result(()))
    }
}

/// A network for a party that withholds one message from one victim: in session `target`, the
/// message of `round` (of `target`'s protocol; an echo round is named as such) it signs for
/// `victim` is dropped, everything else is delivered. A broadcast-only message withheld this way
/// reaches the victim anyway, through the others' relays; one with a direct part (AuxGen's round-3
/// proof) blocks the victim alone — which is what must not get the victim punished.
pub struct Withhold<'a, N> {
    net: &'a N,
    target: SessionId,
    victim: AccountId,
    round: MissingRound,
    disguised: bool,
}

impl<'a, N: Network> Withhold<'a, N> {
    /// Withholds the message of `round` of session `target` from `victim`, over `net`.
    pub fn new(net: &'a N, target: SessionId, victim: AccountId, round: MissingRound) -> Self {
        Self {
            net,
            target,
            victim,
            round,
            disguised: false,
        }
    }

    /// Also sends every broadcast-only message of `target` it signs to anyone else as a relay "of
    /// itself", so that a receiver that forwarded only what its signer sent directly would not
    /// forward it.
    pub fn disguised(mut self) -> Self {
        self.disguised = true;
        self
    }
}

impl<N: Network> Network for Withhold<'_, N> {
    fn open(&self, me: AccountId, protocol_session_id: &SessionId) -> Channels {
        let inner = self.net.open(me, protocol_session_id);
        if *protocol_session_id != self.target {
            return inner;
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Outgoing>(1024);
        let (victim, round, forward) = (self.victim, self.round, inner.outgoing);
        let disguise_as = self.disguised.then_some(me);
        tokio::spawn(async move {
            while let Some(mut message) = rx.recv().await {
                // Only its own messages count: what it forwards for others is not its to withhold.
                let own = decode_message(&message.payload)
                    .ok()
                    .filter(|m| m.relayed_from.is_none());
                let of_round = |m: &crate::driver::Decoded| {
                    MissingRound::new(round.protocol, m.message.round_id()).is_ok_and(|r| r == round)
                };
                if message.to == victim && own.as_ref().is_some_and(of_round) {
                    tracing::warn!(?victim, %round, "fault injection: withholding a message");
                    continue;
                }
                // Only a broadcast-only message can pass as a relay (one with a direct part is
                // refused as such).
                let own = own.filter(|m| !m.message.carries_direct_message());
                if let (Some(me), Some(own)) = (disguise_as, own) {
                    if let Ok(payload) = encode_envelope(Some(me), own.message) {
                        message.payload = payload;
                    }
                }
                if forward.send(message).await.is_err() {
                    break;
                }
            }
        });
        Channels {
            outgoing: tx,
            incoming: inner.incoming,
        }
    }
}

/// A network for a party that forwards falsely, to frame `framed`: in every session it opens,
/// each message it signs itself is also sent to its addressee as a relay "signed by" `framed`;
/// each relay it forwards is sent again together with every relay it forwarded before (a
/// duplicate, and copies of finished rounds' messages); and each message with a direct part it
/// receives — made for it alone — is forwarded to every other participant as a relay of its
/// signer. None of it may count against `framed` or any signer: the forwarder chose what to
/// forward.
pub struct FalseRelay<'a, N> {
    net: &'a N,
    framed: AccountId,
    participants: BTreeSet<AccountId>,
}

impl<'a, N: Network> FalseRelay<'a, N> {
    /// Relays that frame `framed`, over `net`, sent among `participants`.
    pub fn new(net: &'a N, framed: AccountId, participants: BTreeSet<AccountId>) -> Self {
        Self {
            net,
            framed,
            participants,
        }
    }
}

impl<N: Network> Network for FalseRelay<'_, N> {
    fn open(&self, me: AccountId, protocol_session_id: &SessionId) -> Channels {
        let inner = self.net.open(me, protocol_session_id);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Outgoing>(1024);
        // What arrives passes through; a direct message made for us is also sent on to everyone.
        let (in_tx, in_rx) = tokio::sync::mpsc::channel::<crate::driver::Incoming>(4096);
        let (mut incoming, sideways) = (inner.incoming, inner.outgoing.clone());
        let (others, session): (Vec<AccountId>, Vec<u8>) = (
            self.participants.iter().copied().filter(|p| *p != me).collect(),
            protocol_session_id.as_ref().to_vec(),
        );
        tokio::spawn(async move {
            while let Some(message) = incoming.recv().await {
                if let Ok(decoded) = decode_message(&message.payload) {
                    if decoded.relayed_from.is_none() && decoded.message.carries_direct_message() {
                        for to in others.iter().filter(|p| **p != message.from) {
                            if let Ok(payload) = encode_envelope(Some(message.from), decoded.message.clone()) {
                                let forged = Outgoing {
                                    protocol_session_id: session.clone(),
                                    to: *to,
                                    payload,
                                };
                                let _ = sideways.send(forged).await;
                            }
                        }
                    }
                }
                if in_tx.send(message).await.is_err() {
                    return;
                }
            }
        });
        let (framed, forward) = (self.framed, inner.outgoing);
        tokio::spawn(async move {
            let mut forwarded: Vec<Outgoing> = Vec::new();
            while let Some(message) = rx.recv().await {
                let Ok(decoded) = decode_message(&message.payload) else {
                    continue;
                };
                let mut extra = Vec::new();
                match decoded.relayed_from {
                    None => match encode_envelope(Some(framed), decoded.message) {
                        Ok(payload) => extra.push(Outgoing {
                            payload,
                            ..message.clone()
                        }),
                        Err(e) => tracing::warn!("fault injection: could not forge a relay: {e}"),
                    },
                    Some(_) => {
                        extra.push(message.clone());
                        extra.extend(forwarded.iter().cloned());
                        forwarded.push(message.clone());
                    }
                }
                for m in std::iter::once(message).chain(extra) {
                    if forward.send(m).await.is_err() {
                        return;
                    }
                }
            }
        });
        Channels {
            outgoing: tx,
            incoming: in_rx,
        }
    }
}
