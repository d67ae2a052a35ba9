//! The session driver's failure paths: silence, corrupted synedrion messages and panics each end
//! a session with the right outcome, and nothing else (fast test params).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use manul::combinators::misbehave::{Misbehaving, MisbehavingEntryPoint};
use manul::protocol::{
    Artifact, BoxedFormat, BoxedRound, DirectMessage, EchoBroadcast, EntryPoint, LocalError, Protocol,
    ProtocolMessagePart, RoundId,
};
use manul::session::SessionId;
use rand_core::CryptoRngCore;
use synedrion::{AuxGen, AuxGenProtocol, KeyInit, KeyInitProtocol};

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
    let mut out = BTreeMap::new();
    for task in tasks {
        let (id, outcome) = task.await.expect("no panic");
        out.insert(id, outcome);
    }
    out
}

/// The driver forwards exactly the messages without a direct part, in the attempt protocols,
/// and that is what `MissingRound::relayed` — the table the chain's silence rule mirrors —
/// says for every round a jumpstart (KeyInit, the reshare, AuxGen) runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_relays_exactly_the_rounds_the_table_calls_broadcast_only() {
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
        if *is_relay {
            assert!(!direct, "a relay of a message with a direct part ({round})");
            relayed_rounds.insert(*round);
        } else {
            assert_eq!(
                round.relayed(),
                !direct,
                "{round}: the table disagrees with the messages"
            );
            own_rounds.insert(*round);
        }
    }
    let broadcast_only: BTreeSet<_> = own_rounds.iter().copied().filter(|r| r.relayed()).collect();
    assert_eq!(
        relayed_rounds, broadcast_only,
        "every broadcast-only round is relayed, and only those"
    );
    // Both kinds of round occur, so neither check above is vacuous.
    assert!(own_rounds.iter().any(|r| !r.relayed()) && !broadcast_only.is_empty());
    let aux3 = MissingRound {
        protocol: ProtocolKind::AuxGen,
        number: 3,
        echo: false,
    };
    assert!(own_rounds.contains(&aux3), "{own_rounds:?}");
}

/// A committee member that forwards falsely during a whole jumpstart — its own messages as if
/// the framed member signed them, every relay twice, earlier rounds' relays again, and the
/// AuxGen round-3 proofs and subshares made for it to everyone else as relays of their signers —
/// frames nobody: every member finishes with the same key.
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

/// An AuxGen party whose round-3 `П^{fac}` proofs reach the wrong receiver: the proof it makes
/// for the second destination it serves is the one it made for the first. What a receiver that
/// is shown a proof made for someone else sees — the proof fails against its own parameters —
/// is exactly what any party could assemble from an honest signer's proof to it, naming
/// another receiver: manul does not sign a message's destination.
#[derive(Debug, Default)]
struct Misaddressed(Mutex<Option<DirectMessage>>);

#[derive(Debug)]
struct MisaddressingAuxGen;

impl Misbehaving<AccountId, Arc<Misaddressed>> for MisaddressingAuxGen {
    type EntryPoint = AuxGen<TP, AccountId>;

    fn modify_direct_message(
        _rng: &mut dyn CryptoRngCore,
        round: &BoxedRound<AccountId, AuxGenProtocol<TP, AccountId>>,
        behavior: &Arc<Misaddressed>,
        _format: &BoxedFormat,
        _destination: &AccountId,
        direct_message: DirectMessage,
        artifact: Option<Artifact>,
    ) -> Result<(DirectMessage, Option<Artifact>), LocalError> {
        if round.id() != RoundId::new(3) {
            return Ok((direct_message, artifact));
        }
        let mut first = behavior.0.lock().unwrap();
        match first.as_ref() {
            Some(made_for_another) => Ok((made_for_another.clone(), artifact)),
            None => {
                *first = Some(direct_message.clone());
                Ok((direct_message, artifact))
            }
        }
    }
}

type MisaddressingEntry = MisbehavingEntryPoint<AccountId, Arc<Misaddressed>, MisaddressingAuxGen>;

/// Evidence that a `П^{fac}` proof failed names its receiver only in the accuser's unsigned
/// claim, so a third party cannot tell a bad proof from a good one shown to someone else: the
/// chain's check refuses it, whatever the signed messages say.
#[test]
fn aux_gen_evidence_that_depends_on_the_unsigned_receiver_is_refused() {
    let committee = signers(3);
    let members = ids(&committee);
    let signer_of_proofs = committee[0].account();
    let entries = committee
        .iter()
        .map(|s| {
            let behavior = (s.account() == signer_of_proofs).then(|| Arc::new(Misaddressed::default()));
            let entry: MisaddressingEntry =
                MisbehavingEntryPoint::new(AuxGen::new(members.clone()).expect("committee"), behavior);
            (s.clone(), entry)
        })
        .collect();
    let result = manul::dev::run_sync::<_, ProtocolSessionParams>(&mut rng(), entries).expect("no local error");
    let session = SessionId::from_seed::<ProtocolSessionParams>(b"unused: AuxGen evidence carries its own");
    let mut accusations = 0;
    for (receiver, report) in &result.reports {
        for (guilty, evidence) in &report.provable_errors {
            assert_eq!(
                *guilty, signer_of_proofs,
                "{receiver:?} names only the signer of the proofs"
            );
            accusations += 1;
            let reason = crate::evidence::unattributable(evidence).expect("a `П^{fac}` accusation is recognised");
            assert!(reason.contains("receiver is not signed"), "{reason}");
            let blob = EvidenceBlob::new(ProtocolKind::AuxGen, &session, guilty, evidence).unwrap();
            let refused = blob.verify_aux_gen::<TP>(&members, &session).unwrap_err();
            assert!(refused.to_string().contains("receiver is not signed"), "{refused}");
        }
    }
    assert_eq!(accusations, 1, "exactly the receiver of the misaddressed proof accuses");
}

/// The same in a running session: the receiver names the signer, but as an unprovable
/// accusation for AuxGen round 3 (a direct round, which excuses the receiver on chain) — never
/// with evidence the TSS would submit as an offence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misaddressed_aux_gen_proof_is_named_unprovable_not_with_evidence() {
    super::init_tracing();
    let net = LocalNetwork::new();
    let committee = signers(3);
    let members = ids(&committee);
    let signer_of_proofs = committee[0].account();
    let at = attempt("misaddressed-aux-gen", 30);
    let outcomes = sessions(
        &committee,
        &at,
        ProtocolKind::AuxGen,
        &net,
        |_| AuxGen::<TP, AccountId>::new(members.clone()).expect("committee"),
        Some((signer_of_proofs, |entry| {
            MisaddressingEntry::new(entry, Some(Arc::new(Misaddressed::default())))
        })),
    )
    .await;
    let mut accusers = 0;
    for (party, outcome) in &outcomes {
        match outcome.as_ref().expect("no local error") {
            Outcome::Done(()) => {}
            Outcome::Failed { offenders } => {
                let accused: Vec<_> = offenders.iter().filter(|o| o.party == signer_of_proofs).collect();
                assert_eq!(accused.len(), 1, "{party:?}: {offenders:?}");
                match &accused[0].fault {
                    Fault::Unprovable { reason } => assert!(reason.contains("fac"), "{reason}"),
                    other => panic!("{party:?} named the signer with {other:?}, not as unprovable"),
                }
                let aux3 = MissingRound {
                    protocol: ProtocolKind::AuxGen,
                    number: 3,
                    echo: false,
                };
                assert!(accused[0].rounds.contains(&aux3), "{:?}", accused[0].rounds);
                accusers += 1;
            }
        }
    }
    assert_eq!(
        accusers, 1,
        "the receiver of the misaddressed proof, and nobody else: {outcomes:?}"
    );
}
