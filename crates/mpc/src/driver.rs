//! Runs one protocol session over a pair of async channels.
//!
//! The transport (in-memory in tests, Noise over TCP in the TSS) delivers [`Incoming`] messages
//! whose sender it has authenticated and carries [`Outgoing`] messages to their addressee. The
//! driver creates and checks messages in parallel on blocking threads, stops at a deadline, and
//! turns the session's transcript into an [`Outcome`]: the result, or the offenders — each named
//! with verifiable evidence, as unresponsive, or by an unprovable accusation.
//!
//! A panic inside a protocol library ends only this session, as [`MpcError::Panicked`].

use crate::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use manul::protocol::{EntryPoint, Protocol, RoundId};
use manul::session::{
    CanFinalize, Message, PreprocessOutcome, RoundOutcome, Session, SessionId, SessionOutcome, SessionReport,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info_span, warn, Instrument};

use keywheel_primitives::envelope;

pub use crate::kind::{protocol_session_id, ProtocolKind};

use crate::error::MpcError;
use crate::evidence::EvidenceBlob;
use crate::identity::{AccountId, PartySigner, ProtocolSessionParams};

/// Version of the peer message envelope.
pub const WIRE_VERSION: u16 = 2;

/// A message on its way out.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The session it belongs to (the transport tags frames with it).
    pub protocol_session_id: Vec<u8>,
    /// The addressee.
    pub to: AccountId,
    /// The encoded, signed message ([`WIRE_VERSION`] envelope).
    pub payload: Vec<u8>,
}

/// A message that arrived from an authenticated peer for this session.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The sender, as authenticated by the transport.
    pub from: AccountId,
    /// The encoded, signed message.
    pub payload: Vec<u8>,
}

/// The channel pair a session runs over.
#[derive(Debug)]
pub struct Channels {
    /// Where the driver puts messages to send.
    pub outgoing: mpsc::Sender<Outgoing>,
    /// Where the transport puts messages for this session.
    pub incoming: mpsc::Receiver<Incoming>,
}

#[derive(Serialize, Deserialize)]
struct WireEnvelope {
    version: u16,
    /// `Some(signer)` when the message is a relay: the transport's sender forwards a message
    /// that `signer` signed (see [`run_protocol_session`]).
    relayed_from: Option<AccountId>,
    message: Message<AccountId>,
}

/// A peer message as it came off the wire.
#[derive(Debug)]
pub struct Decoded {
    /// The party that signed the message when the sender forwards it; `None` when the sender
    /// signed it itself.
    pub relayed_from: Option<AccountId>,
    /// The signed message.
    pub message: Message<AccountId>,
}

pub(crate) fn encode_message(message: Message<AccountId>) -> Result<Vec<u8>, MpcError> {
    encode_envelope(None, message)
}

pub(crate) fn encode_envelope(
    relayed_from: Option<AccountId>,
    message: Message<AccountId>,
) -> Result<Vec<u8>, MpcError> {
    postcard::to_allocvec(&WireEnvelope {
        version: WIRE_VERSION,
        relayed_from,
        message,
    })
    .map_err(MpcError::encode)
}

/// Decodes a peer message envelope; an unknown version, malformed or non-canonical bytes are an
/// error.
pub fn decode_message(payload: &[u8]) -> Result<Decoded, MpcError> {
    let envelope: WireEnvelope = envelope::decode_versioned_exact(payload, WIRE_VERSION, usize::MAX)
        .map_err(|e| MpcError::Decode(format!("peer message: {e}")))?;
    Ok(Decoded {
        relayed_from: envelope.relayed_from,
        message: envelope.message,
    })
}

/// What a session is and how long it may take.
#[derive(Debug, Clone)]
pub struct ProtocolSessionSpec {
    /// Which protocol runs (recorded in evidence).
    pub kind: ProtocolKind,
    /// The session id, from [`protocol_session_id`].
    pub protocol_session_id: SessionId,
    /// When to stop waiting and name the silent parties.
    pub deadline: Instant,
    /// A round that makes no progress for this long (no message of a participant accepted, no
    /// work of this party's own finished) ends as at the deadline. `None`: only the deadline
    /// ends a round. A session whose parties share slow cores keeps going while it progresses.
    pub stall: Option<Duration>,
    /// Ends the session as at the deadline once it reads `true` (the round was called off by
    /// whoever started it). Work already under way (messages being checked) finishes first, so
    /// a fault it finds is still reported. `None`: never called off.
    pub cancel: Option<Cancel>,
    /// Everyone taking part: relayed messages go to all of them but their signer and this
    /// party. Those this party's rounds send to or hear from are added as the rounds come.
    pub participants: BTreeSet<AccountId>,
}

/// The signal that calls a session off: see [`ProtocolSessionSpec::cancel`].
pub type Cancel = tokio::sync::watch::Receiver<bool>;

/// Waits until `cancel` reads `true`; forever if there is none or its sender is gone.
pub async fn called_off(cancel: &mut Option<Cancel>) {
    if let Some(rx) = cancel {
        if rx.wait_for(|off| *off).await.is_ok() {
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// Why a party is named as an offender, strongest first: evidence outweighs an unprovable
/// accusation, which outweighs silence.
#[derive(Debug, Clone)]
pub enum Fault {
    /// A provable fault, with evidence a third party can verify from public inputs.
    Evidence(EvidenceBlob),
    /// It misbehaved in a way that cannot be proven to a third party (counts like silence).
    Unprovable {
        /// What it did.
        reason: String,
    },
    /// Its messages had not arrived by the deadline.
    Unresponsive,
}

impl Fault {
    fn weight(&self) -> u8 {
        match self {
            Fault::Evidence(_) => 2,
            Fault::Unprovable { .. } => 1,
            Fault::Unresponsive => 0,
        }
    }
}

/// A round of one protocol session whose messages from a party were missing — what a silence
/// report tells the chain, so it can tell a silent party from one blocked in an earlier round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MissingRound {
    /// The session's protocol.
    pub protocol: ProtocolKind,
    /// The round number, from 1.
    pub number: u8,
    /// The echo round after round `number`.
    pub echo: bool,
}

impl MissingRound {
    /// The position of manul's `round` in `protocol`. keywheel's protocols use plain round
    /// numbers (no nested groups): anything else is a local error.
    pub fn new(protocol: ProtocolKind, round: &RoundId) -> Result<Self, MpcError> {
        // manul shows a round as "Round 3" or "Round 3 (echo)"; its fields are private.
        let shown = round.to_string();
        let bad = || MpcError::Protocol {
            session: protocol.name().into(),
            message: format!("unexpected round id `{shown}`"),
        };
        let rest = shown.strip_prefix("Round ").ok_or_else(bad)?;
        let (number, echo) = match rest.strip_suffix(" (echo)") {
            Some(n) => (n, true),
            None => (rest, false),
        };
        let number: u8 = number.parse().map_err(|_| bad())?;
        if number == 0 {
            return Err(bad());
        }
        Ok(Self { protocol, number, echo })
    }
}

impl fmt::Display for MissingRound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let echo = if self.echo { " (echo)" } else { "" };
        write!(f, "{} round {}{echo}", self.protocol.name(), self.number)
    }
}

/// A party named by a failed session.
#[derive(Debug, Clone)]
pub struct Offender {
    /// Who.
    pub party: AccountId,
    /// The strongest accusation against it.
    pub fault: Fault,
    /// Every round (of every session that named it) whose messages from it were missing or did
    /// not count, sorted. This is what a silence report carries, also when the accusation is
    /// stronger: evidence the chain refuses still leaves the party silent in these rounds, and
    /// the chain's causal rule needs the earliest of them.
    pub rounds: Vec<MissingRound>,
}

impl Offender {
    /// The party named by `fault` in `round`.
    pub fn new(party: AccountId, fault: Fault, round: MissingRound) -> Self {
        Self {
            party,
            fault,
            rounds: vec![round],
        }
    }

    /// Joins a second accusation against the same party: the stronger fault (the first on a
    /// tie), and the rounds of both.
    pub fn merge(mut self, other: Offender) -> Offender {
        debug_assert_eq!(self.party, other.party);
        if other.fault.weight() > self.fault.weight() {
            self.fault = other.fault;
        }
        self.rounds.extend(other.rounds);
        self.rounds.sort();
        self.rounds.dedup();
        self
    }
}

/// Each party once, with all accusations against it merged ([`Offender::merge`]), in party order.
pub(crate) fn merge_all(offenders: impl IntoIterator<Item = Offender>) -> Vec<Offender> {
    let mut named: BTreeMap<AccountId, Offender> = BTreeMap::new();
    for o in offenders {
        let merged = match named.remove(&o.party) {
            Some(known) => known.merge(o),
            None => o,
        };
        named.insert(merged.party, merged);
    }
    named.into_values().collect()
}

/// How a session ended.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The protocol produced its result.
    Done(T),
    /// The protocol could not finish; these parties are to blame.
    Failed {
        /// Every party named, each once, with the strongest accusation against it.
        offenders: Vec<Offender>,
    },
}

impl<T> Outcome<T> {
    /// The result, or `None` if the session failed.
    pub fn done(self) -> Option<T> {
        match self {
            Outcome::Done(t) => Some(t),
            Outcome::Failed { .. } => None,
        }
    }

    /// The parties named by a failed session (empty on success).
    pub fn offenders(&self) -> Vec<AccountId> {
        match self {
            Outcome::Done(_) => Vec::new(),
            Outcome::Failed { offenders } => offenders.iter().map(|o| o.party).collect(),
        }
    }

    /// Maps the result.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Done(t) => Outcome::Done(f(t)),
            Outcome::Failed { offenders } => Outcome::Failed { offenders },
        }
    }
}

/// A message made for a destination, with its artifact.
type Made<Artifact> = (Message<AccountId>, Artifact, AccountId);

/// Work done on a blocking thread: a message made for a destination (with its artifact), or a
/// received message processed. (manul does not name these types publicly, hence the parameters.)
enum Task<Artifact, Processed> {
    Made(Box<Result<Made<Artifact>, MpcError>>),
    Processed(Box<Processed>),
}

enum RoundEnd {
    Ready,
    Never,
    Deadline,
}

fn panic_message(err: tokio::task::JoinError) -> String {
    match err.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into()),
        Err(err) => err.to_string(),
    }
}

/// Applies a finished [`Task`]: sends a made message and records its artifact, or records a
/// processed message.
macro_rules! apply_task {
    ($session:expr, $accum:expr, $task:expr, $channels:expr, $label:expr) => {{
        let local = |e: manul::protocol::LocalError| MpcError::Protocol {
            session: $label.to_string(),
            message: e.to_string(),
        };
        match $task {
            Task::Made(made) => {
                let (message, artifact, to) = (*made)?;
                let payload = encode_message(message)?;
                $channels
                    .outgoing
                    .send(Outgoing {
                        protocol_session_id: $session.session_id().as_ref().to_vec(),
                        to,
                        payload,
                    })
                    .await
                    .map_err(|_| MpcError::ChannelClosed($label.to_string()))?;
                $session.add_artifact(&mut $accum, artifact).map_err(local)?;
            }
            Task::Processed(processed) => $session.add_processed_message(&mut $accum, *processed).map_err(local)?,
        }
    }};
}

/// Runs one session to its end. `Err` only for local failures (bugs, panics, a closed
/// transport); every fault of another party is an [`Outcome::Failed`].
pub async fn run_protocol_session<EP>(
    rng: &mut impl CryptoRngCore,
    signer: PartySigner,
    spec: &ProtocolSessionSpec,
    entry_point: EP,
    channels: &mut Channels,
) -> Result<Outcome<<EP::Protocol as Protocol<AccountId>>::Result>, MpcError>
where
    EP: EntryPoint<AccountId> + Send + 'static,
    <EP::Protocol as Protocol<AccountId>>::Result: Send,
    <EP::Protocol as Protocol<AccountId>>::ProtocolError: Send + Sync,
{
    let label = format!(
        "{}:{}",
        spec.kind.name(),
        hex::encode(&spec.protocol_session_id.as_ref()[..6])
    );
    let span = info_span!("session", kind = spec.kind.name(), id = %label, party = ?signer.account());
    run_session_inner(rng, signer, spec, entry_point, channels, label)
        .instrument(span)
        .await
}

async fn run_session_inner<EP>(
    rng: &mut impl CryptoRngCore,
    signer: PartySigner,
    spec: &ProtocolSessionSpec,
    entry_point: EP,
    channels: &mut Channels,
    label: String,
) -> Result<Outcome<<EP::Protocol as Protocol<AccountId>>::Result>, MpcError>
where
    EP: EntryPoint<AccountId> + Send + 'static,
    <EP::Protocol as Protocol<AccountId>>::Result: Send,
    <EP::Protocol as Protocol<AccountId>>::ProtocolError: Send + Sync,
{
    let protocol_err = |e: manul::protocol::LocalError| MpcError::Protocol {
        session: label.clone(),
        message: e.to_string(),
    };
    let panicked = |e: tokio::task::JoinError| {
        let message = panic_message(e);
        error!(%message, "a protocol task panicked; ending this session as a local error");
        MpcError::Panicked {
            session: label.clone(),
            message,
        }
    };
    let task_rng = |rng: &mut dyn CryptoRngCore| {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        ChaCha20Rng::from_seed(seed)
    };

    let protocol_session_id = spec.protocol_session_id.clone();
    let mut first_rng = task_rng(rng);
    let mut session: Session<EP::Protocol, ProtocolSessionParams> =
        tokio::task::spawn_blocking(move || Session::new(&mut first_rng, protocol_session_id, signer, entry_point))
            .await
            .map_err(panicked)?
            .map_err(protocol_err)?;
    let mut cached: Vec<manul::session::VerifiedMessage<AccountId>> = Vec::new();
    // Where relays go: everyone taking part, and anyone a round sends to or hears from.
    let mut participants: BTreeSet<AccountId> = spec.participants.clone();
    let me = session.verifier();
    let mut cancel = spec.cancel.clone();

    loop {
        let shared = Arc::new(session);
        let mut accum = shared.make_accumulator();
        let mut tasks = JoinSet::new();
        debug!(round = %shared.round_id(), "round starts");
        participants.extend(shared.message_destinations().iter().copied());
        participants.extend(shared.expecting_messages_from().iter().copied());

        for destination in shared.message_destinations().iter().copied() {
            let s = shared.clone();
            let mut r = task_rng(rng);
            let label = label.clone();
            tasks.spawn_blocking(move || {
                Task::Made(Box::new(
                    s.make_message(&mut r, &destination)
                        .map(|(m, a)| (m, a, destination))
                        .map_err(|e| MpcError::Protocol {
                            session: label,
                            message: e.to_string(),
                        }),
                ))
            });
        }
        for message in cached.drain(..) {
            // Cached while the previous round ran; this round may not expect its sender.
            if !shared.expecting_messages_from().contains(message.from()) {
                warn!(from = ?message.from(), "dropping a message from a party this round does not expect");
                continue;
            }
            // A second copy (sent again or relayed) must now be dropped as a duplicate.
            shared
                .begin_processing_cached(&mut accum, &message)
                .map_err(protocol_err)?;
            let s = shared.clone();
            tasks.spawn_blocking(move || Task::Processed(Box::new(s.process_message(message))));
        }

        // A round is given `stall` from its start and from each step forward, counted only while
        // it waits for others: while its own work runs (on cores it may share) it is not stalled.
        let mut progressed = Instant::now();
        let end = loop {
            let wake = match spec.stall {
                Some(stall) if tasks.is_empty() => spec.deadline.min(progressed + stall),
                _ => spec.deadline,
            };
            match shared.can_finalize(&accum) {
                CanFinalize::Yes => break RoundEnd::Ready,
                CanFinalize::Never => break RoundEnd::Never,
                CanFinalize::NotYet => {}
            }
            tokio::select! {
                Some(joined) = tasks.join_next() => {
                    let task = joined.map_err(panicked)?;
                    apply_task!(shared, accum, task, channels, label);
                    progressed = Instant::now();
                }
                incoming = channels.incoming.recv() => {
                    let Some(incoming) = incoming else {
                        return Err(MpcError::ChannelClosed(label.clone()));
                    };
                    let Decoded { relayed_from, message } = match decode_message(&incoming.payload) {
                        Ok(m) => m,
                        Err(e) => {
                            warn!(from = ?incoming.from, "dropping undecodable message: {e}");
                            continue;
                        }
                    };
                    // A relay is checked against its signer, and a failed check is held against
                    // nobody: the forwarder chose what to forward. A relay with a direct part is
                    // refused outright: that part was made for someone else, whom it would frame.
                    let signer = relayed_from.unwrap_or(incoming.from);
                    if signer == me || (relayed_from.is_some() && message.carries_direct_message()) {
                        debug!(from = ?incoming.from, ?relayed_from, "dropping a relay of our own or of a direct message");
                        continue;
                    }
                    // Forwarded once, on first acceptance, however it came: a message a member
                    // "relays" for itself, or that a second adversary relays, still reaches all.
                    let to_relay = (spec.kind.relays_broadcasts() && !message.carries_direct_message())
                        .then(|| message.clone());
                    let preprocessed = match relayed_from {
                        Some(_) => shared.preprocess_relayed_message(&mut accum, &signer, message),
                        None => shared.preprocess_message(&mut accum, &signer, message),
                    };
                    let Some(verified) = (match preprocessed.map_err(protocol_err)? {
                        PreprocessOutcome::ToProcess(verified) => Some(*verified),
                        // Not progress: a copy of a past round's message or one for a later
                        // round that nobody checked yet would let a member keep a round alive.
                        PreprocessOutcome::Cached => None,
                        PreprocessOutcome::Error(e) => {
                            debug!(from = ?incoming.from, ?relayed_from, "dropping a message: {e:?}");
                            continue;
                        }
                    }) else {
                        relay(&channels.outgoing, &shared, to_relay, signer, &participants, &label)?;
                        continue;
                    };
                    // manul checks session, round and signature but not that the round expects
                    // the sender, and would fail this session on such a message: drop it.
                    if !shared.expecting_messages_from().contains(&signer) {
                        warn!(from = ?signer, "dropping a message from a party this round does not expect");
                        continue;
                    }
                    relay(&channels.outgoing, &shared, to_relay, signer, &participants, &label)?;
                    progressed = Instant::now();
                    {
                        let s = shared.clone();
                        tasks.spawn_blocking(move || Task::Processed(Box::new(s.process_message(verified))));
                    }
                }
                _ = tokio::time::sleep_until(wake) => break RoundEnd::Deadline,
                _ = called_off(&mut cancel) => break RoundEnd::Deadline,
            }
        };

        // Our own messages for this round must all be out before we move on.
        while let Some(joined) = tasks.join_next().await {
            let task = joined.map_err(panicked)?;
            apply_task!(shared, accum, task, channels, label);
        }
        let owned = Arc::into_inner(shared).ok_or_else(|| MpcError::Protocol {
            session: label.clone(),
            message: "session still shared after all tasks ended".into(),
        })?;

        let current = MissingRound::new(spec.kind, &owned.round_id())?;
        let report = match end {
            RoundEnd::Ready => {
                let mut r = task_rng(rng);
                let outcome = tokio::task::spawn_blocking(move || owned.finalize_round(&mut r, accum))
                    .await
                    .map_err(panicked)?
                    .map_err(protocol_err)?;
                match outcome {
                    RoundOutcome::Finished(report) => report,
                    RoundOutcome::AnotherRound {
                        session: next,
                        cached_messages,
                    } => {
                        session = next;
                        cached = cached_messages;
                        continue;
                    }
                }
            }
            RoundEnd::Never => {
                let report = owned.terminate_due_to_errors(accum).map_err(protocol_err)?;
                return outcome_from_report(spec, report, current, false, &label);
            }
            RoundEnd::Deadline => {
                warn!("deadline passed or the round stalled; naming the parties whose messages are missing");
                owned.terminate(accum).map_err(protocol_err)?
            }
        };
        return outcome_from_report(spec, report, current, true, &label);
    }
}

/// Forwards a broadcast-only message of `signer` that this party just accepted (first copy,
/// direct or relayed) to every other participant: whoever received it, everyone does, so
/// withholding it from one member withholds it from all, and a member never waits in such a
/// round for what another member already has. Duplicates are dropped on receipt, so a message is
/// forwarded at most once per receiver. Never waits: a relay that does not fit the outgoing
/// channel is dropped (with a warning) rather than stall the session.
fn relay<P: Protocol<AccountId>>(
    outgoing: &mpsc::Sender<Outgoing>,
    session: &Session<P, ProtocolSessionParams>,
    message: Option<Message<AccountId>>,
    signer: AccountId,
    participants: &BTreeSet<AccountId>,
    label: &str,
) -> Result<(), MpcError> {
    let Some(message) = message else {
        return Ok(());
    };
    let me = session.verifier();
    for to in participants.iter().filter(|p| **p != me && **p != signer) {
        let payload = encode_envelope(Some(signer), message.clone())?;
        let relayed = outgoing.try_send(Outgoing {
            protocol_session_id: session.session_id().as_ref().to_vec(),
            to: *to,
            payload,
        });
        match relayed {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!(?to, ?signer, "the outgoing channel is full; a relay is dropped")
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(MpcError::ChannelClosed(label.to_string())),
        }
    }
    Ok(())
}

/// Names the offenders of a session that produced no result. Parties whose messages are missing
/// are named unresponsive only when the deadline ended the session (`deadline_passed`): when a
/// proven fault ended it early, the others were not silent — we merely stopped waiting.
fn outcome_from_report<P: Protocol<AccountId>>(
    spec: &ProtocolSessionSpec,
    report: SessionReport<P, ProtocolSessionParams>,
    current: MissingRound,
    deadline_passed: bool,
    label: &str,
) -> Result<Outcome<P::Result>, MpcError> {
    let SessionReport {
        outcome,
        provable_errors,
        unprovable_errors,
        missing_messages,
    } = report;
    if let SessionOutcome::Result(result) = outcome {
        return Ok(Outcome::Done(result));
    }
    let mut named = Vec::new();
    let missing = if deadline_passed {
        missing_messages
    } else {
        BTreeMap::new()
    };
    for (round, parties) in missing {
        let round = MissingRound::new(spec.kind, &round)?;
        for party in parties {
            named.push(Offender::new(party, Fault::Unresponsive, round));
        }
    }
    for (party, error) in unprovable_errors {
        let reason = error.to_string();
        named.push(Offender::new(party, Fault::Unprovable { reason }, current));
    }
    // manul 0.2.1 files echo-round mismatch evidence under the key of the party that echoed the
    // mismatch, while the evidence itself names the equivocator: name whom the evidence names.
    for evidence in provable_errors.into_values() {
        let party = *evidence.guilty_party();
        let blob = EvidenceBlob::new(spec.kind, &spec.protocol_session_id, &party, &evidence)?;
        named.push(Offender::new(party, Fault::Evidence(blob), current));
    }
    let named = merge_all(named);
    if named.is_empty() {
        return Err(MpcError::Protocol {
            session: label.to_string(),
            message: "the session ended without a result and without naming anyone".into(),
        });
    }
    for o in &named {
        warn!(offender = ?o.party, fault = ?o.fault, rounds = ?o.rounds, "session failed");
    }
    Ok(Outcome::Failed { offenders: named })
}

#[cfg(test)]
mod tests {
    use manul::session::Session;
    use synedrion::KeyInit;

    use super::*;
    use crate::tests::{attempt, ids, rng, signers, TP};

    #[test]
    fn rounds_are_read_from_manul_round_ids_and_odd_ones_refused() {
        let round = MissingRound::new(ProtocolKind::AuxGen, &RoundId::new(3)).unwrap();
        assert_eq!((round.number, round.echo), (3, false));
        assert_eq!(round.to_string(), "aux-gen round 3");
        // manul's echo round ids cannot be built from outside; its Display is what is parsed.
        let shown = format!(
            "{:?}",
            MissingRound::new(ProtocolKind::Reshare, &RoundId::new(1)).unwrap()
        );
        assert!(shown.contains("number: 1"), "{shown}");
        assert!(MissingRound::new(ProtocolKind::Reshare, &RoundId::new(0)).is_err());
    }

    #[test]
    fn wire_envelope_round_trips_and_rejects_other_versions_and_garbage() {
        // A real first-round KeyInit message (synedrion's fast test params).
        let parties = signers(2);
        let spec = attempt("wire", 5).spec(ProtocolKind::KeyInit);
        let entry = KeyInit::<TP, AccountId>::new(ids(&parties)).unwrap();
        let session =
            Session::<_, ProtocolSessionParams>::new(&mut rng(), spec.protocol_session_id, parties[0].clone(), entry)
                .unwrap();
        let (message, _) = session.make_message(&mut rng(), &parties[1].account()).unwrap();
        let payload = encode_message(message).unwrap();
        assert!(decode_message(&payload).is_ok());

        let mut future = payload.clone();
        future[0] = 3; // postcard varint u16: the version is the first byte
        let err = decode_message(&future).unwrap_err();
        assert!(err.to_string().contains("version 3 is not supported"), "{err}");

        assert!(matches!(
            decode_message(&payload[..payload.len() / 2]),
            Err(MpcError::Decode(_))
        ));
        assert!(matches!(decode_message(&[]), Err(MpcError::Decode(_))));
    }
}
