//! Deliberate misbehaviour for fault injection: a reshare participant that cheats in one of the
//! ways keywheel's resharing can prove. Compiled only with the `misbehave` feature (test builds,
//! and TSS builds made for fault-injection runs); a production build cannot cheat by accident.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use manul::combinators::misbehave::{Misbehaving, MisbehavingEntryPoint};
use manul::protocol::{
    Artifact, BoxedFormat, BoxedRound, DirectMessage, EchoBroadcast, LocalError, ProtocolMessagePart,
};
use manul::session::{Session, SessionId};
use rand_core::CryptoRngCore;
use synedrion::SchemeParams;

use crate::curve::{mul_generator, scalar_from_u64, SerPoint, SerScalar};
use crate::driver::{
    decode_message, encode_envelope, encode_message, run_protocol_session, Channels, Outcome, Outgoing, ProtocolKind,
};
use crate::error::MpcError;
use crate::identity::{AccountId, PartySigner, ProtocolSessionParams};
use crate::ops::{Attempt, Network, Reshared};
use crate::reshare::{Commitments, Reshare, ReshareInputs, ReshareProtocol, Subshare};
use crate::share::ThresholdShare;

/// How a cheating old holder departs from the resharing protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cheat {
    /// Reshares `x + 1` instead of its share `x`: commitments and subshares agree with each
    /// other, only the committed constant term is wrong.
    WrongSecret,
    /// Sends subshares that do not match its (honest) commitments.
    BadSubshare,
    /// Sends a direct message that is not a subshare at all.
    Garbled,
}

impl Cheat {
    /// Every kind of cheat.
    pub const ALL: [Cheat; 3] = [Cheat::WrongSecret, Cheat::BadSubshare, Cheat::Garbled];

    /// A stable lowercase name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::WrongSecret => "wrong-secret",
            Self::BadSubshare => "bad-subshare",
            Self::Garbled => "garbled",
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
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown cheat `{s}`: use one of wrong-secret, bad-subshare, garbled"))
    }
}

/// The manul message modifiers behind [`Cheat`].
#[derive(Debug)]
pub(crate) struct Cheater<P>(PhantomData<P>);

impl<P: SchemeParams> Misbehaving<AccountId, Cheat> for Cheater<P> {
    type EntryPoint = Reshare<P>;

    fn modify_echo_broadcast(
        _rng: &mut dyn CryptoRngCore,
        _round: &BoxedRound<AccountId, ReshareProtocol<P>>,
        behavior: &Cheat,
        format: &BoxedFormat,
        echo_broadcast: EchoBroadcast,
    ) -> Result<EchoBroadcast, LocalError> {
        if *behavior != Cheat::WrongSecret {
            return Ok(echo_broadcast);
        }
        let mut commitments: Commitments<P> = echo_broadcast
            .deserialize(format)
            .map_err(|e| LocalError::new(e.to_string()))?;
        let shifted = commitments.coefficients[0].0 + mul_generator::<P>(&scalar_from_u64::<P>(1));
        commitments.coefficients[0] = SerPoint::new(shifted);
        EchoBroadcast::new(format, commitments)
    }

    fn modify_direct_message(
        _rng: &mut dyn CryptoRngCore,
        _round: &BoxedRound<AccountId, ReshareProtocol<P>>,
        behavior: &Cheat,
        format: &BoxedFormat,
        _destination: &AccountId,
        direct_message: DirectMessage,
        artifact: Option<Artifact>,
    ) -> Result<(DirectMessage, Option<Artifact>), LocalError> {
        match behavior {
            Cheat::Garbled => Ok((DirectMessage::new(format, [7u8; 3])?, artifact)),
            Cheat::BadSubshare => {
                let mut subshare: Subshare<P> = direct_message
                    .deserialize(format)
                    .map_err(|e| LocalError::new(e.to_string()))?;
                subshare.value = SerScalar::new(subshare.value.0 + scalar_from_u64::<P>(1));
                Ok((DirectMessage::new(format, subshare)?, artifact))
            }
            Cheat::WrongSecret => Ok((direct_message, artifact)),
        }
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
) -> Result<Outcome<Option<ThresholdShare<P>>>, MpcError> {
    let mut rng = crate::ops::child_rng(rng);
    let spec = attempt.spec_among(ProtocolKind::Reshare, inputs.participants());
    let mut channels = net.open(signer.account(), &spec.protocol_session_id);
    let entry = Reshare::new(inputs, old_share);
    match cheat {
        None => run_protocol_session(&mut rng, signer.clone(), &spec, entry, &mut channels).await,
        Some(cheat) => {
            let entry = MisbehavingEntryPoint::<AccountId, Cheat, Cheater<P>>::new(entry, Some(cheat));
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
    use crate::ops::{combine, local, run_in_attempt};
    let me = signer.account();
    let new_committee = inputs.new_committee.clone();
    let participants = inputs.participants();
    let (mut aux_rng, mut key_rng) = (crate::ops::child_rng(rng), crate::ops::child_rng(rng));
    let entry =
        MisbehavingEntryPoint::<AccountId, Cheat, Cheater<P>>::new(Reshare::new(inputs, old_share), Some(cheat));
    let reshare = run_in_attempt(
        &mut key_rng,
        signer,
        attempt,
        ProtocolKind::Reshare,
        &participants,
        entry,
        net,
    );
    if !new_committee.contains(&me) {
        return Ok(reshare.await?.map(|_| Reshared::Left));
    }
    let aux = async {
        let entry = synedrion::AuxGen::<P, AccountId>::new(new_committee.clone()).map_err(local)?;
        run_in_attempt(
            &mut aux_rng,
            signer,
            attempt,
            ProtocolKind::AuxGen,
            &new_committee,
            entry,
            net,
        )
        .await
    };
    let (aux, share) = tokio::join!(aux, reshare);
    combine(aux, share, |aux, share| {
        let share = share.ok_or_else(|| local("a new member got no share"))?;
        crate::share::ParentKeyShare::new(share, aux).map(Reshared::Holder)
    })
}

/// A network for a party that, when its session `target` opens, first sends every other
/// participant a validly signed round-1 message of that session — what a joiner, which sends
/// nothing in a reshare's round 1, must not be able to use to end anyone's session. The message
/// is synedrion KeyInit's first-round message made under `target`'s session id: session, round
/// and signature check out; only the sender is not one the round expects.
pub struct Stray<'a, N> {
    net: &'a N,
    signer: PartySigner,
    target: SessionId,
    participants: BTreeSet<AccountId>,
}

impl<'a, N: Network> Stray<'a, N> {
    /// Stray messages from `signer` to `participants` in session `target`, over `net`.
    pub fn new(net: &'a N, signer: PartySigner, target: SessionId, participants: BTreeSet<AccountId>) -> Self {
        Self {
            net,
            signer,
            target,
            participants,
        }
    }

    fn messages(&self) -> Result<Vec<Outgoing>, MpcError> {
        let local = |e: LocalError| MpcError::InvalidInput(e.to_string());
        let mut rng = crate::ops::child_rng(&mut rand_core::OsRng);
        let entry = synedrion::KeyInit::<crate::ProductionParams, AccountId>::new(self.participants.clone())
            .map_err(crate::ops::local)?;
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

/// A network for a party that withholds one message from one victim: in session `target`, the
/// `nth` message (from 1) it signs for `victim` is dropped, everything else is delivered. In a
/// reshare the first message to a party is round 1's (its subshare and commitments), the second
/// the echo round's. Withholding the first blocks only the victim, which is what must not get the
/// victim punished; the second is broadcast-only, so the others' relays deliver it anyway.
pub struct Withhold<'a, N> {
    net: &'a N,
    target: SessionId,
    victim: AccountId,
    nth: usize,
    disguised: bool,
}

impl<'a, N: Network> Withhold<'a, N> {
    /// Withholds the `nth` message of session `target` to `victim`, over `net`.
    pub fn new(net: &'a N, target: SessionId, victim: AccountId, nth: usize) -> Self {
        Self {
            net,
            target,
            victim,
            nth,
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
        let (victim, nth, forward) = (self.victim, self.nth, inner.outgoing);
        let disguise_as = self.disguised.then_some(me);
        tokio::spawn(async move {
            let mut to_victim = 0;
            while let Some(mut message) = rx.recv().await {
                // Only its own messages count: what it forwards for others is not its to withhold.
                let own = decode_message(&message.payload)
                    .ok()
                    .filter(|m| m.relayed_from.is_none());
                if message.to == victim && own.is_some() {
                    to_victim += 1;
                    if to_victim == nth {
                        tracing::warn!(?victim, nth, "fault injection: withholding a message");
                        continue;
                    }
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
