//! The session driver's failure paths: silence, corrupted synedrion messages and panics each end
//! a session with the right outcome, and nothing else (fast test params).

use crate::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use manul::combinators::misbehave::{Misbehaving, MisbehavingEntryPoint};
use manul::protocol::{
    Artifact, BoxedFormat, BoxedRound, DirectMessage, EchoBroadcast, EntryPoint, LocalError, NormalBroadcast, Protocol,
    ProtocolMessagePart, RoundId,
};
use manul::session::SessionId;
use rand_core::CryptoRngCore;
use synedrion::{AuxGen, AuxGenProtocol, InteractiveSigning, InteractiveSigningProtocol, KeyInit, KeyInitProtocol};

use super::{assert_every_flipped_byte_breaks, attempt, ids, rng, run_jumpstart, signers, TP};
use crate::driver::{
    decode_message, run_protocol_session, Channels, Fault, MissingRound, Outcome, Outgoing, ProtocolKind,
};
use crate::evidence::EvidenceBlob;
use crate::identity::{AccountId, PartySigner, ProtocolSessionParams};
use crate::local_net::LocalNetwork;
use crate::misbehave::FalseRelay;
use crate::ops::{self, Attempt, Network};
use crate::share::ParentKeyShare;
use crate::MpcError;

/// Runs one session of `entry(party)` for every signer; `twisted = (party, wrap)` wraps that
/// party's entry point (e.g. in manul's misbehave combinator).
async fn sessions<EP, F, W, EW>(
    signers: &[PartySigner],
    at: &Attempt,
    kind: ProtocolKind,
    net: &LocalNetwork,
    entry: F,
    twisted: Option<(AccountId, W)>,
) -> BTreeMap<AccountId, Result<Outcome<()>, MpcError>>
where
    EP: EntryPoint<AccountId> + Send + 'static,
    EW: EntryPoint<AccountId> + Send + 'static,
    F: Fn(AccountId) -> EP,
    W: Fn(EP) -> EW,
    <EP::Protocol as Protocol<AccountId>>::Result: Send,
    <EP::Protocol as Protocol<AccountId>>::ProtocolError: Send + Sync,
    <EW::Protocol as Protocol<AccountId>>::Result: Send,
    <EW::Protocol as Protocol<AccountId>>::ProtocolError: Send + Sync,
{
    let spec = at.spec(kind);
    let mut tasks = Vec::new();
    for signer in signers {
        let me = signer.account();
        let mut channels = net.open(me, &spec.protocol_session_id);
        let (signer, spec) = (signer.clone(), spec.clone());
        let task = match &twisted {
            Some((id, wrap)) if *id == me => {
                let entry = wrap(entry(me));
                tokio::spawn(async move {
                    run_protocol_session(&mut rng(), signer, &spec, entry, &mut channels)
                        .await
                        .map(|o| o.map(|_| ()))
                })
            }
            _ => {
                let entry = entry(me);
                tokio::spawn(async move {
                    run_protocol_session(&mut rng(), signer, &spec, entry, &mut channels)
                        .await
                        .map(|o| o.map(|_| ()))
                })
            }
        };
        tasks.push((me, task));
    }
    let mut out = BTreeMap::new();
    for (me, task) in tasks {
        out.insert(me, task.await.expect("the driver itself never panics"));
    }
    out
}

/// How a KeyInit party departs from the protocol.
#[derive(Debug, Clone, Copy)]
enum KeyInitFault {
    /// Its first echo broadcast is bytes that do not decode.
    GarbledBroadcast,
    /// It panics while making its first message (a stand-in for a bug in a dependency).
    Panic,
}

#[derive(Debug)]
struct FaultyKeyInit;

impl Misbehaving<AccountId, KeyInitFault> for FaultyKeyInit {
    type EntryPoint = KeyInit<TP, AccountId>;

    fn modify_echo_broadcast(
        _rng: &mut dyn CryptoRngCore,
        _round: &BoxedRound<AccountId, KeyInitProtocol<TP, AccountId>>,
        behavior: &KeyInitFault,
        format: &BoxedFormat,
        _echo_broadcast: EchoBroadcast,
    ) -> Result<EchoBroadcast, LocalError> {
        match behavior {
            KeyInitFault::GarbledBroadcast => EchoBroadcast::new(format, [7u8; 3]),
            KeyInitFault::Panic => panic!("injected panic in a protocol round"),
        }
    }
}

fn key_init(committee: &BTreeSet<AccountId>) -> impl Fn(AccountId) -> KeyInit<TP, AccountId> + '_ {
    move |_| KeyInit::new(committee.clone()).expect("valid committee")
}

fn faulty(
    behavior: KeyInitFault,
) -> impl Fn(KeyInit<TP, AccountId>) -> MisbehavingEntryPoint<AccountId, KeyInitFault, FaultyKeyInit> {
    move |entry| MisbehavingEntryPoint::new(entry, Some(behavior))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_party_is_named_unresponsive_by_everyone_after_the_deadline() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let committee = signers(3);
    let silent = committee[1].account();
    net.mute(silent);

    let at = attempt("silent-jumpstart", 3);
    let mut tasks = Vec::new();
    for s in committee.iter().filter(|s| s.account() != silent) {
        let (s, ids, at, net) = (s.clone(), ids(&committee), at.clone(), net.clone());
        tasks.push(tokio::spawn(async move {
            ops::jumpstart::<TP>(&mut rng(), &s, &ids, 2, &at, &net).await
        }));
    }
    // The silent member runs its session too; it just never gets a word out.
    let (s, ids_all, at2, net2) = (committee[1].clone(), ids(&committee), at.clone(), net.clone());
    let silent_task = tokio::spawn(async move { ops::jumpstart::<TP>(&mut rng(), &s, &ids_all, 2, &at2, &net2).await });

    for task in tasks {
        let outcome = task.await.unwrap().expect("silence is not a local error");
        let Outcome::Failed { offenders } = outcome else {
            panic!("jumpstart finished without one member");
        };
        assert_eq!(offenders.len(), 1, "only the silent member is named: {offenders:?}");
        assert_eq!(offenders[0].party, silent);
        assert!(
            matches!(offenders[0].fault, Fault::Unresponsive),
            "silence is named as such, got {:?}",
            offenders[0].fault
        );
    }
    silent_task.abort();
}

/// A session its starter calls off (a signing round the coordinator ended) ends at once as at
/// its deadline, naming whom it waited for, instead of holding on until the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_called_off_ends_at_once_naming_whom_it_waited_for() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let committee = signers(3);
    let silent = committee[1].account();
    net.mute(silent);
    let (call_off, cancel) = tokio::sync::watch::channel(false);
    let at = Attempt {
        cancel: Some(cancel),
        ..attempt("called-off-jumpstart", 3600)
    };
    let mut tasks = Vec::new();
    for s in committee.iter().filter(|s| s.account() != silent) {
        let (s, ids, at, net) = (s.clone(), ids(&committee), at.clone(), net.clone());
        tasks.push(tokio::spawn(async move {
            ops::jumpstart::<TP>(&mut rng(), &s, &ids, 2, &at, &net).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    call_off.send(true).expect("the sessions hold the receiver");
    for task in tasks {
        // The deadline is an hour away: only the call-off can end the session within this bound.
        let outcome = tokio::time::timeout(Duration::from_secs(120), task)
            .await
            .expect("a called-off session ends long before its deadline")
            .unwrap()
            .expect("a call-off is not a local error");
        let Outcome::Failed { offenders } = outcome else {
            panic!("jumpstart finished without one member");
        };
        assert_eq!(offenders.len(), 1, "only the member waited for is named: {offenders:?}");
        assert_eq!(offenders[0].party, silent);
        assert!(matches!(offenders[0].fault, Fault::Unresponsive));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_key_init_message_names_its_sender_with_evidence_that_verifies_and_resists_tampering() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let committee = signers(3);
    let members = ids(&committee);
    let cheater = committee[2].account();
    let at = attempt("corrupt-key-init", 5);
    let protocol_session_id = at.spec(ProtocolKind::KeyInit).protocol_session_id;

    let outcomes = sessions(
        &committee,
        &at,
        ProtocolKind::KeyInit,
        &net,
        key_init(&members),
        Some((cheater, faulty(KeyInitFault::GarbledBroadcast))),
    )
    .await;

    let mut blobs = Vec::new();
    for honest in members.iter().filter(|p| **p != cheater) {
        let Ok(Outcome::Failed { offenders }) = &outcomes[honest] else {
            panic!(
                "{honest:?} did not fail: {:?}",
                outcomes[honest].as_ref().map(|o| o.offenders())
            );
        };
        assert_eq!(offenders.len(), 1);
        assert_eq!(offenders[0].party, cheater);
        let Fault::Evidence(blob) = &offenders[0].fault else {
            panic!("expected evidence, got {:?}", offenders[0].fault);
        };
        let blob = EvidenceBlob::from_bytes(&blob.to_bytes()).unwrap();
        blob.verify_key_init::<TP>(&members, &protocol_session_id).unwrap();
        blobs.push(blob);
    }

    let blob = &blobs[0];
    // Blamed on someone else.
    let mut framed = blob.clone();
    framed.offender = committee[0].account();
    assert!(framed.verify_key_init::<TP>(&members, &protocol_session_id).is_err());
    // Moved to another session.
    let other = attempt("another-attempt", 1)
        .spec(ProtocolKind::KeyInit)
        .protocol_session_id;
    assert!(blob.verify_key_init::<TP>(&members, &other).is_err());
    // Presented as a different protocol's evidence.
    assert!(blob.verify_aux_gen::<TP>(&members, &protocol_session_id).is_err());
    // Any flipped byte of the signed evidence.
    assert_every_flipped_byte_breaks(blob, |e| e.verify_key_init::<TP>(&members, &protocol_session_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_inside_a_protocol_ends_only_that_session_as_a_local_error() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let committee = signers(3);
    let members = ids(&committee);
    let broken = committee[0].account();
    let at = attempt("panicking-key-init", 3);

    let outcomes = sessions(
        &committee,
        &at,
        ProtocolKind::KeyInit,
        &net,
        key_init(&members),
        Some((broken, faulty(KeyInitFault::Panic))),
    )
    .await;

    match &outcomes[&broken] {
        Err(MpcError::Panicked { message, .. }) => assert!(message.contains("injected panic"), "{message}"),
        other => panic!(
            "expected a local panic error, got {:?}",
            other.as_ref().map(|o| o.offenders())
        ),
    }
    for honest in members.iter().filter(|p| **p != broken) {
        let Ok(outcome) = &outcomes[honest] else {
            panic!("a peer's panic must not become a local error for {honest:?}");
        };
        assert_eq!(outcome.offenders(), vec![broken]);
    }

    // The process carries on: the same committee completes a jumpstart afterwards.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let shares = run_jumpstart(&committee, 2, &net).await;
    assert_eq!(shares.len(), 3);
}

/// What one party sent: the session, the round, whether it forwarded someone else's message, and
/// whether the message has a direct part.
type Sent = (Vec<u8>, MissingRound, bool, bool);

/// A network that records every message its parties send (see [`Sent`]).
#[derive(Clone)]
struct Recording {
    net: LocalNetwork,
    kinds: BTreeMap<Vec<u8>, ProtocolKind>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl Network for Recording {
    fn open(&self, me: AccountId, protocol_session_id: &SessionId) -> Channels {
        let inner = self.net.open(me, protocol_session_id);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Outgoing>(1024);
        let (kinds, sent, forward) = (self.kinds.clone(), self.sent.clone(), inner.outgoing);
        tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                let decoded = decode_message(&message.payload).expect("the driver sends what it decodes");
                let kind = kinds[&message.protocol_session_id];
                let round = MissingRound::new(kind, decoded.message.round_id()).expect("a plain round");
                sent.lock().unwrap().push((
                    message.protocol_session_id.clone(),
                    round,
                    decoded.relayed_from.is_some(),
                    decoded.message.carries_direct_message(),
                ));
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

/// Each party's result, once every task has ended.
async fn by_party<T>(tasks: Vec<tokio::task::JoinHandle<(AccountId, T)>>) -> BTreeMap<AccountId, T> {
    let mut out = BTreeMap::new();
    for task in tasks {
        let (id, outcome) = task.await.expect("no panic");
        out.insert(id, outcome);
    }
    out
}

/// Runs a jumpstart of `committee` at threshold `t`, each party over the network `net_for`
/// gives it; returns each party's outcome.
async fn jumpstart_over<N: Network + 'static>(
    committee: &[PartySigner],
    t: u32,
    at: &Attempt,
    net_for: impl Fn(AccountId) -> N,
) -> BTreeMap<AccountId, Outcome<ParentKeyShare<TP>>> {
    let ids = ids(committee);
    let mut tasks = Vec::new();
    for s in committee {
        let (s, ids, at, net) = (s.clone(), ids.clone(), at.clone(), net_for(s.account()));
        tasks.push(tokio::spawn(async move {
            let outcome = ops::jumpstart::<TP>(&mut rng(), &s, &ids, t, &at, &net).await;
            (s.account(), outcome.expect("no local error"))
        }));
    }
    by_party(tasks).await
}

/// In the attempt protocols (KeyInit, the reshare, AuxGen) no message has a direct part, and
/// the driver forwards every one of them: withholding any message from one member withholds it
/// from none. (Signing, which relays nothing, has direct parts; it is not an attempt protocol.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_of_a_jumpstart_is_a_broadcast_and_relayed() {
    super::init_tracing();
    let committee = signers(4);
    let at = attempt("relay-table", 60);
    let kinds = [ProtocolKind::KeyInit, ProtocolKind::Reshare, ProtocolKind::AuxGen]
        .into_iter()
        .map(|k| (at.spec(k).protocol_session_id.as_ref().to_vec(), k))
        .collect();
    let recording = Recording {
        net: LocalNetwork::new(),
        kinds,
        sent: Arc::default(),
    };
    let outcomes = jumpstart_over(&committee, 3, &at, |_| recording.clone()).await;
    assert!(outcomes.values().all(|o| matches!(o, Outcome::Done(_))), "{outcomes:?}");

    let sent = recording.sent.lock().unwrap().clone();
    let mut own_rounds = BTreeSet::new();
    let mut relayed_rounds = BTreeSet::new();
    for (_, round, is_relay, direct) in &sent {
        assert!(!direct, "{round} has a direct part");
        if *is_relay {
            relayed_rounds.insert(*round);
        } else {
            own_rounds.insert(*round);
        }
    }
    assert_eq!(relayed_rounds, own_rounds, "every round is relayed");
    let aux3 = MissingRound {
        protocol: ProtocolKind::AuxGen,
        number: 3,
        echo: false,
    };
    assert!(
        own_rounds.contains(&aux3),
        "AuxGen's round 3 (its proofs) too: {own_rounds:?}"
    );
    assert!(own_rounds.iter().any(|r| r.protocol == ProtocolKind::Reshare));
}

/// A committee member that forwards falsely during a whole jumpstart — its own messages as if
/// the framed member signed them, every relay twice, and earlier rounds' relays again — frames
/// nobody: every member finishes with the same key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_relayer_frames_nobody_in_a_jumpstart() {
    super::init_tracing();
    let committee = signers(4);
    let (relayer, framed) = (committee[0].account(), committee[1].account());
    let at = attempt("false-relay-jumpstart", 60);
    let net = LocalNetwork::new();
    let everyone = ids(&committee);
    let outcomes = jumpstart_over(&committee, 3, &at, |me| FalseRelayNet {
        net: net.clone(),
        framed: (me == relayer).then_some(framed),
        participants: everyone.clone(),
    })
    .await;
    let mut keys = BTreeSet::new();
    for (party, outcome) in outcomes {
        match outcome {
            Outcome::Done(share) => keys.insert(share.verifying_key().unwrap().to_encoded_point(true)),
            Outcome::Failed { offenders } => panic!("{party:?} failed, naming {offenders:?}"),
        };
    }
    assert_eq!(keys.len(), 1, "one key");
}

/// An owned network that is [`FalseRelay`] for the relayer and plain for everyone else.
struct FalseRelayNet {
    net: LocalNetwork,
    framed: Option<AccountId>,
    participants: BTreeSet<AccountId>,
}

impl Network for FalseRelayNet {
    fn open(&self, me: AccountId, protocol_session_id: &SessionId) -> Channels {
        match self.framed {
            Some(framed) => FalseRelay::new(&self.net, framed, self.participants.clone()).open(me, protocol_session_id),
            None => self.net.open(me, protocol_session_id),
        }
    }
}

/// An AuxGen party that corrupts, inside its signed round-3 broadcast, the `П^{fac}` proof it
/// made for one receiver (one bit flipped in the middle of that proof); the other parties are
/// the other keys of the broadcast's map.
#[derive(Debug, Clone)]
struct CorruptProofFor(AccountId, Vec<AccountId>);

#[derive(Debug)]
struct CorruptingAuxGen;

impl Misbehaving<AccountId, CorruptProofFor> for CorruptingAuxGen {
    type EntryPoint = AuxGen<TP, AccountId>;

    fn modify_normal_broadcast(
        _rng: &mut dyn CryptoRngCore,
        round: &BoxedRound<AccountId, AuxGenProtocol<TP, AccountId>>,
        behavior: &CorruptProofFor,
        format: &BoxedFormat,
        normal_broadcast: NormalBroadcast,
    ) -> Result<NormalBroadcast, LocalError> {
        if round.id() != RoundId::new(3) {
            return Ok(normal_broadcast);
        }
        // The map's keys are the receivers' 32-byte ids; the proof for the receiver runs from its
        // key to the next key (or the end).
        let mut bytes = postcard::to_allocvec(&normal_broadcast).map_err(|e| LocalError::new(e.to_string()))?;
        let find = |id: &[u8], from: usize| bytes[from..].windows(32).position(|w| w == id).map(|p| from + p);
        let at = find(behavior.0.as_bytes(), 0)
            .ok_or_else(|| LocalError::new("the receiver has no proof in the broadcast"))?
            + 32;
        let next = behavior
            .1
            .iter()
            .filter_map(|other| find(other.as_bytes(), at))
            .min()
            .unwrap_or(bytes.len());
        // The first bit flip from the middle of the proof on that still deserializes (one in a
        // length or a bounded number would make a malformed broadcast, a different fault).
        let mid = at + (next - at) / 2;
        for i in (mid..next).chain(at..mid) {
            bytes[i] ^= 1;
            let candidate: NormalBroadcast =
                postcard::from_bytes(&bytes).map_err(|e| LocalError::new(e.to_string()))?;
            let malformed =
                AuxGenProtocol::<TP, AccountId>::verify_normal_broadcast_is_invalid(format, &round.id(), &candidate)
                    .is_ok();
            if !malformed {
                return Ok(candidate);
            }
            bytes[i] ^= 1;
        }
        Err(LocalError::new("no bit of the proof can be flipped"))
    }
}

/// Runs AuxGen (test parameters, all parties in this thread) over `committee` with `cheater`
/// misbehaving as `behavior` says, and returns every provable accusation as (accuser, accused,
/// evidence). A receiver's panic fails the test: a panic names nobody.
fn aux_gen_accusations<B, M>(
    committee: &[PartySigner],
    cheater: AccountId,
    behavior: B,
) -> Vec<(AccountId, AccountId, EvidenceBlob)>
where
    B: manul::combinators::misbehave::Behavior + Clone,
    M: Misbehaving<AccountId, B, EntryPoint = AuxGen<TP, AccountId>>,
{
    let members = ids(committee);
    let entries = committee
        .iter()
        .map(|s| {
            let behavior = (s.account() == cheater).then(|| behavior.clone());
            let entry = MisbehavingEntryPoint::<AccountId, B, M>::new(
                AuxGen::new(members.clone()).expect("committee"),
                behavior,
            );
            (s.clone(), entry)
        })
        .collect();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        manul::dev::run_sync::<_, ProtocolSessionParams>(&mut rng(), entries)
    }))
    .unwrap_or_else(|_| panic!("{behavior:?}: a receiver panicked"))
    .expect("no local error");
    let session = SessionId::from_seed::<ProtocolSessionParams>(b"AuxGen evidence carries its own");
    result
        .reports
        .into_iter()
        .flat_map(|(by, report)| {
            let session = session.clone();
            report.provable_errors.into_iter().map(move |(guilty, evidence)| {
                let blob = EvidenceBlob::new(ProtocolKind::AuxGen, &session, &guilty, &evidence).unwrap();
                (by, guilty, blob)
            })
        })
        .collect()
}

/// A bad `П^{fac}` proof is named by its receiver, with evidence that binds the receiver: the
/// proof is the receiver's entry in the signer's signed broadcast (vendored synedrion). Before,
/// proofs were direct messages whose destination nobody signs, so a proof made for one receiver
/// shown to another made evidence against its honest signer. Now the claim "it failed for C"
/// about a proof that was good for C is refused.
#[test]
fn a_bad_aux_gen_proof_is_named_with_evidence_that_names_its_receiver() {
    let committee = signers(3);
    let members = ids(&committee);
    let (signer_of_proofs, receiver, other) = (committee[0].account(), committee[1].account(), committee[2].account());
    let session = SessionId::from_seed::<ProtocolSessionParams>(b"AuxGen evidence carries its own");
    let accusations = aux_gen_accusations::<_, CorruptingAuxGen>(
        &committee,
        signer_of_proofs,
        CorruptProofFor(receiver, vec![other]),
    );
    let who: Vec<_> = accusations
        .iter()
        .map(|(by, g, blob)| (*by, *g, blob.description.clone()))
        .collect();
    assert_eq!(
        accusations.len(),
        1,
        "only the receiver of the bad proof accuses: {who:?}"
    );
    let (by, guilty, blob) = accusations.into_iter().next().unwrap();
    assert_eq!((by, guilty), (receiver, signer_of_proofs));
    assert!(blob.description.contains("fac"), "{}", blob.description);
    blob.verify_aux_gen::<TP>(&members, &session)
        .expect("a third party verifies it");

    // The same evidence claiming the proof failed for the other party, whose proof was good:
    // the error (not signed) names the receiver before any signed part.
    let text = blob.description.as_bytes();
    let after = blob.evidence.windows(text.len()).position(|w| w == text).unwrap() + text.len();
    let at = after
        + blob.evidence[after..]
            .windows(32)
            .position(|w| w == receiver.as_bytes())
            .expect("the error names its receiver");
    let mut retargeted = blob.clone();
    retargeted.evidence[at..at + 32].copy_from_slice(other.as_bytes());
    let refused = retargeted.verify_aux_gen::<TP>(&members, &session).unwrap_err();
    assert!(refused.to_string().contains("cannot be reproduced"), "{refused}");
}

/// A network that delivers every message of a party its `delay` after it is sent: a stand-in
/// for parties that share slow cores.
#[derive(Clone)]
struct Delayed {
    net: LocalNetwork,
    delay: BTreeMap<AccountId, Duration>,
}

impl Network for Delayed {
    fn open(&self, me: AccountId, protocol_session_id: &SessionId) -> Channels {
        let inner = self.net.open(me, protocol_session_id);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Outgoing>(1024);
        let (forward, delay) = (inner.outgoing, self.delay[&me]);
        tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                let forward = forward.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = forward.send(message).await;
                });
            }
        });
        Channels {
            outgoing: tx,
            incoming: inner.incoming,
        }
    }
}

/// Runs KeyInit among `committee` over `net` with `at`'s deadline and stall.
async fn key_init_over(
    committee: &[PartySigner],
    at: &Attempt,
    net: &(impl Network + Clone + 'static),
) -> BTreeMap<AccountId, Outcome<()>> {
    let ids = ids(committee);
    let spec = at.spec(ProtocolKind::KeyInit);
    let mut tasks = Vec::new();
    for s in committee {
        let (s, spec, entry) = (
            s.clone(),
            spec.clone(),
            KeyInit::<TP, AccountId>::new(ids.clone()).unwrap(),
        );
        let mut channels = net.open(s.account(), &spec.protocol_session_id);
        tasks.push(tokio::spawn(async move {
            let me = s.account();
            let outcome = run_protocol_session(&mut rng(), s, &spec, entry, &mut channels).await;
            (me, outcome.expect("no local error").map(|_| ()))
        }));
    }
    by_party(tasks).await
}

/// A round is given its stall time from each step forward, not from its start: a session whose
/// members' messages come ever later finishes although one round takes longer than the stall
/// time; one whose member is silent ends at the stall time, long before the deadline, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_progresses_outlives_its_stall_time_and_one_that_stalls_ends_early() {
    super::init_tracing();
    let committee = signers(3);
    let stall = Duration::from_millis(1500);
    // Messages of the three arrive 0.7, 1.4 and 2.1 s after they are sent: a round waits up to
    // 2.1 s, more than the stall time, but never 1.5 s without one arriving.
    let delay = committee
        .iter()
        .zip(1u64..)
        .map(|(s, i)| (s.account(), Duration::from_millis(700 * i)))
        .collect();
    let mut at = attempt("slow-but-steady", 600);
    at.stall = Some(stall);
    let slow = Delayed {
        net: LocalNetwork::new(),
        delay,
    };
    let outcomes = key_init_over(&committee, &at, &slow).await;
    assert!(outcomes.values().all(|o| matches!(o, Outcome::Done(_))), "{outcomes:?}");

    let mut at = attempt("stalled", 600);
    at.stall = Some(stall);
    let net = LocalNetwork::new();
    let silent = committee[2].account();
    net.mute(silent);
    let started = tokio::time::Instant::now();
    let outcomes = key_init_over(&committee, &at, &net).await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the stall did not end the session"
    );
    for (party, outcome) in outcomes.iter().filter(|(p, _)| **p != silent) {
        let Outcome::Failed { offenders } = outcome else {
            panic!("{party:?} finished without the silent member");
        };
        let named: Vec<AccountId> = offenders.iter().map(|o| o.party).collect();
        assert_eq!(named, vec![silent]);
        assert!(matches!(offenders[0].fault, Fault::Unresponsive));
    }
}

/// A signer whose every direct message takes `behavior` of its own work to make (a stand-in
/// for a party computing on cores shared with many others).
#[derive(Debug)]
struct SlowSigner;

impl Misbehaving<AccountId, Duration> for SlowSigner {
    type EntryPoint = InteractiveSigning<TP, AccountId>;

    fn modify_direct_message(
        _rng: &mut dyn CryptoRngCore,
        _round: &BoxedRound<AccountId, InteractiveSigningProtocol<TP, AccountId>>,
        behavior: &Duration,
        _format: &BoxedFormat,
        _destination: &AccountId,
        direct_message: DirectMessage,
        artifact: Option<Artifact>,
    ) -> Result<(DirectMessage, Option<Artifact>), LocalError> {
        std::thread::sleep(*behavior);
        Ok((direct_message, artifact))
    }
}

/// While a party's own work runs it is not stalled, however long that work takes: signers whose
/// every message costs more than the stall time still sign.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_work_that_outlasts_the_stall_time_is_not_a_stall() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let committee = signers(3);
    let shares = run_jumpstart(&committee, 2, &net).await;
    let pair: Vec<(PartySigner, ParentKeyShare<TP>)> = committee.iter().cloned().zip(shares).take(2).collect();
    let set: BTreeSet<AccountId> = pair.iter().map(|(s, _)| s.account()).collect();
    let mut at = attempt("slow-signers", 600);
    at.stall = Some(Duration::from_millis(800));
    let spec = at.spec_among(ProtocolKind::Signing, set.clone());
    let message = crate::ops::prehash_bytes::<TP>(&[7; 32]);
    let mut tasks = Vec::new();
    for (signer, share) in pair {
        let key_share = share.share.to_synedrion().unwrap().to_key_share(&set).unwrap();
        let aux = share.aux.clone().subset(&set).unwrap();
        let entry = InteractiveSigning::new(message, key_share, aux).unwrap();
        let entry =
            MisbehavingEntryPoint::<AccountId, Duration, SlowSigner>::new(entry, Some(Duration::from_millis(1500)));
        let mut channels = net.open(signer.account(), &spec.protocol_session_id);
        let spec = spec.clone();
        tasks.push(tokio::spawn(async move {
            run_protocol_session(&mut rng(), signer, &spec, entry, &mut channels).await
        }));
    }
    for task in tasks {
        let outcome = task.await.unwrap().expect("no local error");
        assert!(
            matches!(outcome, Outcome::Done(_)),
            "a slow signer was taken as stalled: {outcome:?}"
        );
    }
}

/// synedrion's encoding of a `П^{mod}` proof (`zk/mod_.rs`), for a cheater to rewrite it:
/// big integers are length-prefixed bytes in postcard.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ModProofWire {
    commitment: Vec<u8>,
    challenge: Vec<Vec<u8>>,
    /// `(x, a, b, z)` per challenge element.
    proof: Vec<(Vec<u8>, bool, bool, Vec<u8>)>,
}

/// An AuxGen party that keeps only the first `.0` elements of its round-3 `П^{mod}` proof. Its
/// modulus is honest, so every element it sends is right: only their number is wrong.
#[derive(Debug, Clone)]
struct ShortModProof(usize);

#[derive(Debug)]
struct ShorteningAuxGen;

impl Misbehaving<AccountId, ShortModProof> for ShorteningAuxGen {
    type EntryPoint = AuxGen<TP, AccountId>;

    fn modify_normal_broadcast(
        _rng: &mut dyn CryptoRngCore,
        round: &BoxedRound<AccountId, AuxGenProtocol<TP, AccountId>>,
        behavior: &ShortModProof,
        _format: &BoxedFormat,
        normal_broadcast: NormalBroadcast,
    ) -> Result<NormalBroadcast, LocalError> {
        if round.id() != RoundId::new(3) {
            return Ok(normal_broadcast);
        }
        rewrite(normal_broadcast, |payload| {
            let err = |e: postcard::Error| LocalError::new(e.to_string());
            // Round 3 broadcasts `(П^{mod}, {receiver: П^{fac}})`: the proof comes first.
            let (mut proof, rest): (ModProofWire, &[u8]) = postcard::take_from_bytes(payload).map_err(err)?;
            let mut same = postcard::to_allocvec(&proof).map_err(err)?;
            same.extend_from_slice(rest);
            if same != *payload || proof.proof.len() != proof.challenge.len() {
                return Err(LocalError::new("ModProofWire is not synedrion's encoding of П^{mod}"));
            }
            proof.proof.truncate(behavior.0);
            let mut short = postcard::to_allocvec(&proof).map_err(err)?;
            short.extend_from_slice(rest);
            *payload = short;
            Ok(())
        })
    }
}

/// Every member but `cheater` accuses it, and only it, with evidence that `description_has`
/// describes and a third party verifies.
fn assert_every_receiver_names(
    members: &BTreeSet<AccountId>,
    cheater: AccountId,
    accusations: Vec<(AccountId, AccountId, EvidenceBlob)>,
    description_has: &str,
) {
    let session = SessionId::from_seed::<ProtocolSessionParams>(b"AuxGen evidence carries its own");
    let accusers: BTreeSet<_> = accusations.iter().map(|(by, _, _)| *by).collect();
    let honest: BTreeSet<_> = members.iter().copied().filter(|p| *p != cheater).collect();
    assert_eq!(accusers, honest, "every receiver accuses ({description_has})");
    for (_, guilty, blob) in accusations {
        assert_eq!(guilty, cheater);
        assert!(blob.description.contains(description_has), "{}", blob.description);
        blob.verify_aux_gen::<TP>(members, &session)
            .expect("a third party verifies it");
    }
}

/// A `П^{mod}` proof with fewer elements than its challenge proves nothing about the modulus.
/// synedrion 0.3.0 checked the elements `zip` paired with the challenge, so an empty proof
/// passed: any party could bring a Paillier modulus nobody had proven to be a Paillier-Blum
/// modulus into every later signing. Now (vendored synedrion) every receiver names it, with
/// evidence a third party verifies.
#[test]
fn a_mod_proof_shorter_than_its_challenge_is_named_with_evidence() {
    use synedrion::SchemeParams;
    let committee = signers(3);
    let members = ids(&committee);
    let cheater = committee[0].account();
    for keep in [0, TP::SECURITY_BITS - 1] {
        let accusations = aux_gen_accusations::<_, ShorteningAuxGen>(&committee, cheater, ShortModProof(keep));
        assert_every_receiver_names(&members, cheater, accusations, "mod}");
    }
}

/// Which round-2 modulus an AuxGen party sends even.
#[derive(Debug, Clone, Copy)]
enum EvenModulus {
    /// Its Paillier modulus `N` (the normal broadcast's first field).
    Paillier,
    /// Its ring-Pedersen modulus `N̂` (the echo broadcast's first field).
    RingPedersen,
}

/// An AuxGen party that clears the lowest bit of one of its round-2 moduli. Both are the first
/// field of their message: a length-prefixed little-endian integer.
#[derive(Debug)]
struct EvenModulusAuxGen;

fn clear_lowest_bit(payload: &mut [u8]) -> Result<(), LocalError> {
    // TP's integers are 256-bit: a one-byte length, 32, then the lowest byte.
    if payload.len() < 2 || payload[0] != 32 || payload[1] & 1 == 0 {
        return Err(LocalError::new(
            "not an odd 256-bit modulus at the start of the message",
        ));
    }
    payload[1] &= !1;
    Ok(())
}

/// The payload of a normal or echo broadcast, rewritten by `f` (both encode as
/// `Option<bytes>` in postcard).
fn rewrite<M: serde::Serialize + serde::de::DeserializeOwned>(
    message: M,
    f: impl FnOnce(&mut Vec<u8>) -> Result<(), LocalError>,
) -> Result<M, LocalError> {
    let err = |e: postcard::Error| LocalError::new(e.to_string());
    let outer = postcard::to_allocvec(&message).map_err(err)?;
    let mut payload: Vec<u8> = postcard::from_bytes::<Option<Vec<u8>>>(&outer)
        .map_err(err)?
        .ok_or_else(|| LocalError::new("an empty message"))?;
    f(&mut payload)?;
    postcard::from_bytes(&postcard::to_allocvec(&Some(payload)).map_err(err)?).map_err(err)
}

impl Misbehaving<AccountId, EvenModulus> for EvenModulusAuxGen {
    type EntryPoint = AuxGen<TP, AccountId>;

    fn modify_normal_broadcast(
        _rng: &mut dyn CryptoRngCore,
        round: &BoxedRound<AccountId, AuxGenProtocol<TP, AccountId>>,
        behavior: &EvenModulus,
        _format: &BoxedFormat,
        normal_broadcast: NormalBroadcast,
    ) -> Result<NormalBroadcast, LocalError> {
        match (round.id() == RoundId::new(2), behavior) {
            (true, EvenModulus::Paillier) => rewrite(normal_broadcast, |p| clear_lowest_bit(p)),
            _ => Ok(normal_broadcast),
        }
    }

    fn modify_echo_broadcast(
        _rng: &mut dyn CryptoRngCore,
        round: &BoxedRound<AccountId, AuxGenProtocol<TP, AccountId>>,
        behavior: &EvenModulus,
        _format: &BoxedFormat,
        echo_broadcast: EchoBroadcast,
    ) -> Result<EchoBroadcast, LocalError> {
        match (round.id() == RoundId::new(2), behavior) {
            (true, EvenModulus::RingPedersen) => rewrite(echo_broadcast, |p| clear_lowest_bit(p)),
            _ => Ok(echo_broadcast),
        }
    }
}

/// An even modulus in AuxGen's round 2 made every receiver panic (synedrion precomputed with it
/// before any check): one party aborted the session for everyone and was named by nobody. Now
/// (vendored synedrion) every receiver names it, with evidence a third party verifies.
#[test]
fn an_even_modulus_in_aux_gen_is_named_with_evidence_not_a_panic() {
    let committee = signers(3);
    let members = ids(&committee);
    let cheater = committee[1].account();
    for (which, named) in [
        (EvenModulus::Paillier, "Paillier modulus is even"),
        (EvenModulus::RingPedersen, "ring-Pedersen modulus is even"),
    ] {
        let accusations = aux_gen_accusations::<_, EvenModulusAuxGen>(&committee, cheater, which);
        assert_every_receiver_names(&members, cheater, accusations, named);
    }
}
