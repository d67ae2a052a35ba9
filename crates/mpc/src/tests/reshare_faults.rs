//! Every fault of a reshare names its offender with evidence a third party verifies, and no
//! fault crashes an honest party (fast test params; reshare sessions only, no AuxGen).

use crate::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use manul::session::Session;
use proptest::prelude::*;
use rand_core::OsRng;

use super::{assert_every_flipped_byte_breaks, attempt, dealt_shares, ids, rng, run_sign, signers, TP};
use crate::child_key::account_path;
use crate::driver::{encode_message, Fault, MissingRound, Outcome, Outgoing, ProtocolKind};
use crate::evidence::EvidenceBlob;
use crate::identity::{AccountId, PartySigner};
use crate::local_net::LocalNetwork;
use crate::misbehave::{reshare_session, Cheat, FalseRelay, Stray, Withhold};
use crate::ops::{Attempt, Network};
use crate::reshare::{Reshare, ReshareInputs, ReshareOutput};
use crate::share::{ParentKeyShare, ThresholdShare};

type ReshareOutcome = Outcome<Option<ReshareOutput<TP>>>;

/// Runs only the reshare sessions of `participants`, `cheater` misbehaving as told.
async fn reshare_sessions(
    participants: &[PartySigner],
    inputs: &ReshareInputs<TP>,
    old: &BTreeMap<AccountId, ThresholdShare<TP>>,
    cheater: Option<(AccountId, Cheat)>,
    at: &Attempt,
    net: &LocalNetwork,
) -> BTreeMap<AccountId, ReshareOutcome> {
    let mut tasks = Vec::new();
    for signer in participants {
        let me = signer.account();
        let (signer, inputs, old_share, at, net) = (
            signer.clone(),
            inputs.clone(),
            old.get(&me).cloned(),
            at.clone(),
            net.clone(),
        );
        let behaviour = cheater.filter(|(id, _)| *id == me).map(|(_, b)| b);
        tasks.push((
            tokio::spawn(async move {
                let outcome = reshare_session(&mut rng(), &signer, inputs, old_share, behaviour, &at, &net).await;
                (me, outcome.expect("no local error, whatever the peers do"))
            }),
            behaviour.is_some(),
        ));
    }
    // The cheater's own session waits for echoes until its deadline and nobody needs its
    // outcome: it is aborted only once every honest party is done (aborting it earlier could
    // stop it before it sent anything, turning its fault into mere silence).
    let mut out = BTreeMap::new();
    let mut cheaters = Vec::new();
    for (task, is_cheater) in tasks {
        if is_cheater {
            cheaters.push(task);
            continue;
        }
        let (id, outcome) = task.await.expect("no panic");
        out.insert(id, outcome);
    }
    for task in cheaters {
        task.abort();
    }
    out
}

/// Runs the reshare of `s` with `s.everyone[who]` cheating as told; returns the cheater, the
/// attempt and the honest parties' outcomes.
async fn with_cheater(
    s: &Setup,
    who: usize,
    how: Cheat,
    label: &str,
) -> (AccountId, Attempt, BTreeMap<AccountId, ReshareOutcome>) {
    let cheater = s.everyone[who].account();
    let at = attempt(label, 30);
    let net = LocalNetwork::new();
    let outcomes = reshare_sessions(&s.everyone[1..], &s.inputs, &s.old, Some((cheater, how)), &at, &net).await;
    (cheater, at, outcomes)
}

/// A 3-of-5 committee whose oldest member leaves and one joins.
struct Setup {
    everyone: Vec<PartySigner>,
    inputs: ReshareInputs<TP>,
    old: BTreeMap<AccountId, ThresholdShare<TP>>,
}

fn setup() -> Setup {
    let everyone = signers(6);
    let committee = ids(&everyone[..5]);
    let old = dealt_shares(&committee, 3);
    let staying = ids(&everyone[1..5]);
    let inputs = ReshareInputs {
        old: old.values().next().unwrap().public().clone(),
        staying,
        new_committee: ids(&everyone[1..]),
        new_threshold: 3,
    };
    Setup { everyone, inputs, old }
}

/// Asserts that every honest new holder names exactly `cheater`, with evidence that verifies
/// against the public inputs; returns one such evidence.
fn assert_named_with_evidence(
    outcomes: &BTreeMap<AccountId, ReshareOutcome>,
    s: &Setup,
    cheater: AccountId,
    at: &Attempt,
) -> EvidenceBlob {
    let protocol_session_id = at.spec(ProtocolKind::Reshare).protocol_session_id;
    let mut evidence = None;
    for new_holder in s.inputs.new_committee.iter().filter(|p| **p != cheater) {
        let Outcome::Failed { offenders } = &outcomes[new_holder] else {
            panic!("{new_holder:?} finished although {cheater:?} cheated");
        };
        assert_eq!(offenders.len(), 1, "exactly one offender: {offenders:?}");
        assert_eq!(offenders[0].party, cheater);
        let Fault::Evidence(blob) = &offenders[0].fault else {
            panic!("expected evidence, got {:?}", offenders[0].fault);
        };
        // Verified from the bytes alone, as the chain would.
        let blob = EvidenceBlob::from_bytes(&blob.to_bytes()).unwrap();
        blob.verify_reshare::<TP>(&s.inputs, &protocol_session_id).unwrap();
        evidence = Some(blob);
    }
    evidence.expect("at least one honest new holder")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_reshare_with_the_oldest_leaving_keeps_the_key_and_synedrion_signs_with_the_result() {
    super::init_tracing();
    let s = setup();
    let net = LocalNetwork::new();
    let at = attempt("honest", 30);
    let outcomes = reshare_sessions(&s.everyone[1..], &s.inputs, &s.old, None, &at, &net).await;
    let key = s.old.values().next().unwrap().verifying_key_point();
    let new: Vec<ThresholdShare<TP>> = s.everyone[1..]
        .iter()
        .map(|p| match &outcomes[&p.account()] {
            Outcome::Done(Some(output)) => output.share.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    for share in &new {
        assert_eq!(share.verifying_key_point(), key);
        // The conversion into synedrion's form and back is lossless.
        let round_trip = ThresholdShare::from_synedrion(&share.to_synedrion().unwrap()).unwrap();
        assert_eq!(round_trip.secret(), share.secret());
        assert_eq!(round_trip.public(), share.public());
    }
    // synedrion signs with the reshared shares (aux info from a dealer: AuxGen is not under test).
    let aux = synedrion::AuxInfo::<TP, AccountId>::new_centralized(&mut OsRng, &s.inputs.new_committee);
    let group: Vec<(PartySigner, ParentKeyShare<TP>)> = [0usize, 2, 4]
        .iter()
        .map(|&k| {
            let signer = s.everyone[k + 1].clone();
            let share = ParentKeyShare::new(new[k].clone(), aux[&signer.account()].clone()).unwrap();
            (signer, share)
        })
        .collect();
    for result in run_sign(&group, &account_path(&AccountId([0xd0; 32])), [9; 32], "sign", 60, &net).await {
        assert!(matches!(result, Ok(Outcome::Done(_))), "{result:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_holder_with_a_wrong_secret_is_named_by_every_honest_party_with_verifiable_evidence() {
    super::init_tracing();
    let s = setup();
    let (cheater, at, outcomes) = with_cheater(&s, 2, Cheat::WrongSecret, "wrong-secret").await;
    let evidence = assert_named_with_evidence(&outcomes, &s, cheater, &at);
    assert!(
        evidence.description.contains("constant term"),
        "{}",
        evidence.description
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_holder_whose_subshare_disagrees_with_its_commitments_is_named_with_verifiable_evidence() {
    super::init_tracing();
    let s = setup();
    let (cheater, at, outcomes) = with_cheater(&s, 3, Cheat::BadSubshare, "bad-subshare").await;
    let evidence = assert_named_with_evidence(&outcomes, &s, cheater, &at);
    assert!(evidence.description.contains("subshare"), "{}", evidence.description);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_holder_sending_a_malformed_message_is_named_with_verifiable_evidence() {
    super::init_tracing();
    let s = setup();
    let (cheater, at, outcomes) = with_cheater(&s, 4, Cheat::Garbled, "garbled").await;
    assert_named_with_evidence(&outcomes, &s, cheater, &at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_missing_a_subshare_and_an_identity_receiving_key_are_named_with_verifiable_evidence() {
    super::init_tracing();
    let s = setup();
    for (how, who, says) in [
        (Cheat::MissingSubshare, 3, "one well-formed subshare"),
        (Cheat::IdentityKey, 4, "identity point"),
    ] {
        let (cheater, at, outcomes) = with_cheater(&s, who, how, how.name()).await;
        let evidence = assert_named_with_evidence(&outcomes, &s, cheater, &at);
        assert!(evidence.description.contains(says), "{how}: {}", evidence.description);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sending_different_broadcasts_to_different_parties_is_named() {
    super::init_tracing();
    // Equivocation: the joiner runs two sessions under the same session id — two different
    // receiving keys — and sends one version to half of the participants, the other to the
    // rest. The echo round shows every honest party both, signed by the joiner.
    let s = setup();
    let equivocator = s.everyone[5].clone();
    assert!(!s.inputs.staying.contains(&equivocator.account()));
    // The equivocator never sends its echo, so an honest party holding the proof must stop
    // waiting for it: ending at the deadline would be slow, and under load it recorded the
    // equivocation as mere silence when the deadline came before the echoes were checked.
    let at = attempt("equivocation", 120);
    let started = std::time::Instant::now();
    let spec = at.spec(ProtocolKind::Reshare);
    let net = LocalNetwork::new();
    let session = || {
        Session::<_, crate::ProtocolSessionParams>::new(
            &mut rng(),
            spec.protocol_session_id.clone(),
            equivocator.clone(),
            Reshare::new(s.inputs.clone(), None, equivocator.clone()),
        )
        .unwrap()
    };
    let (a, b) = (session(), session());
    // Each version waits at the head of its receiver's inbox before any honest session opens:
    // sent through a task instead, a fast party's relay of one version could reach a slow party
    // before its own version did, every party would then hold the same one (the relays doing
    // their job), and nothing would be left to prove. CI on two loaded cores saw that happen.
    for (k, to) in s
        .inputs
        .participants()
        .iter()
        .filter(|p| **p != equivocator.account())
        .enumerate()
    {
        let session = if k % 2 == 0 { &a } else { &b };
        let (message, _) = session.make_message(&mut rng(), to).unwrap();
        net.inject(
            equivocator.account(),
            Outgoing {
                protocol_session_id: spec.protocol_session_id.as_ref().to_vec(),
                to: *to,
                payload: encode_message(message).unwrap(),
            },
        );
    }
    let _equivocator_inbox = net.open(equivocator.account(), &spec.protocol_session_id);
    let honest = reshare_sessions_background(&s.everyone[1..5], &s.inputs, &s.old, &at, &net);
    let outcomes = honest.await;
    assert_eq!(outcomes.len(), 4);
    for (party, outcome) in &outcomes {
        let Outcome::Failed { offenders } = outcome else {
            panic!("{party:?} finished despite equivocation");
        };
        assert_eq!(offenders.len(), 1, "{offenders:?}");
        assert_eq!(offenders[0].party, equivocator.account());
        let Fault::Evidence(blob) = &offenders[0].fault else {
            panic!("expected evidence, got {:?}", offenders[0].fault)
        };
        blob.verify_reshare::<TP>(&s.inputs, &spec.protocol_session_id).unwrap();
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(100),
        "ended by the proof, not by the deadline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_sending_round2_messages_to_everyone_ends_no_honest_session() {
    super::init_tracing();
    // A joiner deals nothing in round 2. This one sends every participant a validly signed
    // round-2 message of the session first, then runs its part honestly: the message is dropped
    // and every party, the joiner included, gets its share of the same key.
    let s = setup();
    let at = attempt("stray", 30);
    let net = LocalNetwork::new();
    let joiner = s.everyone[5].clone();
    assert!(!s.inputs.staying.contains(&joiner.account()));
    let spec = at.spec(ProtocolKind::Reshare);
    let honest = reshare_sessions_background(&s.everyone[1..5], &s.inputs, &s.old, &at, &net);
    let stray = Stray::new(
        &net,
        joiner.clone(),
        spec.protocol_session_id.clone(),
        2,
        ids(&s.everyone[1..]),
    );
    let mut joiner_rng = rng();
    let joined = reshare_session(&mut joiner_rng, &joiner, s.inputs.clone(), None, None, &at, &stray);
    let (mut outcomes, joined) = tokio::join!(honest, joined);
    outcomes.insert(joiner.account(), joined.expect("no local error"));
    let key = s.old.values().next().unwrap().verifying_key_point();
    for (party, outcome) in &outcomes {
        match outcome {
            Outcome::Done(Some(output)) => assert_eq!(output.share.verifying_key_point(), key),
            other => panic!("{party:?}: {other:?}"),
        }
    }
    assert_eq!(outcomes.len(), 5);
}

/// Runs the reshare of `s` with `withholder` withholding its message of `round` from `victim`
/// (see [`Withhold`]); returns every other party's outcome.
async fn withholding(
    s: &Setup,
    withholder: &PartySigner,
    victim: AccountId,
    round: MissingRound,
    disguised: bool,
    label: &str,
) -> BTreeMap<AccountId, ReshareOutcome> {
    let at = attempt(label, 6);
    let net = LocalNetwork::new();
    let spec = at.spec(ProtocolKind::Reshare);
    let others: Vec<PartySigner> = s.everyone[1..]
        .iter()
        .filter(|p| p.account() != withholder.account())
        .cloned()
        .collect();
    let honest = reshare_sessions_background(&others, &s.inputs, &s.old, &at, &net);
    let mut withholding = Withhold::new(&net, spec.protocol_session_id.clone(), victim, round);
    if disguised {
        withholding = withholding.disguised();
    }
    let mut w_rng = rng();
    let w_share = s.old.get(&withholder.account()).cloned();
    let own = reshare_session(
        &mut w_rng,
        withholder,
        s.inputs.clone(),
        w_share,
        None,
        &at,
        &withholding,
    );
    tokio::join!(honest, own).0
}

/// A staying holder withholds one of its messages from one victim — its receiving key, its deal
/// (which carries the victim's sealed subshare), or its echo of either — and, disguised, sends
/// them to everyone else as relays "of itself". Every message of the resharing is
/// broadcast-only, so every other participant forwards the first copy it accepts, however it
/// came: the victim gets it anyway, and every party — the victim too — finishes with a share of
/// the same key. Withholding from one member is withholding from none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_withheld_from_one_victim_reaches_it_through_the_others() {
    super::init_tracing();
    let s = setup();
    let withholder = s.everyone[2].clone();
    let victim = s.everyone[5].account();
    let key = s.inputs.old.verifying_key_point().unwrap();
    let rounds = [1, 2].into_iter().flat_map(|number| {
        [false, true].map(|echo| MissingRound {
            protocol: ProtocolKind::Reshare,
            number,
            echo,
        })
    });
    for round in rounds {
        for disguised in [false, true] {
            let label = format!("withhold-{round}-{disguised}");
            let outcomes = withholding(&s, &withholder, victim, round, disguised, &label).await;
            assert_eq!(outcomes.len(), 4, "every party but the withholder reported");
            for (party, outcome) in &outcomes {
                match outcome {
                    Outcome::Done(Some(output)) => assert_eq!(output.share.verifying_key_point(), key, "{party:?}"),
                    Outcome::Done(None) => assert!(!s.inputs.new_committee.contains(party)),
                    other => panic!("{party:?} did not finish ({round} withheld, disguised: {disguised}): {other:?}"),
                }
            }
        }
    }
}

/// One new member withholds its AuxGen round-3 message — its proofs, the victim's among them —
/// from one victim, in a whole reshare. With the proofs in a broadcast (vendored synedrion) the
/// others forward it: the victim finishes like everyone else, with the same key. (With a proof
/// in a direct message, as synedrion 0.3.0 sends it, the victim was blocked alone and the chain
/// could not tell it from the withholder.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aux_gen_proof_withheld_from_one_victim_reaches_it_through_the_others() {
    super::init_tracing();
    let s = setup();
    let withholder = s.everyone[2].clone();
    let victim = s.everyone[3].account();
    let at = attempt("withhold-aux-3", 20);
    let net = LocalNetwork::new();
    let aux = at.spec(ProtocolKind::AuxGen).protocol_session_id;
    let mut tasks = Vec::new();
    for signer in &s.everyone[1..] {
        let me = signer.account();
        let (signer, inputs, old_share, at, net, aux) = (
            signer.clone(),
            s.inputs.clone(),
            s.old.get(&me).cloned(),
            at.clone(),
            net.clone(),
            aux.clone(),
        );
        let withholds = me == withholder.account();
        tasks.push(tokio::spawn(async move {
            let outcome = if withholds {
                let round = MissingRound {
                    protocol: ProtocolKind::AuxGen,
                    number: 3,
                    echo: false,
                };
                let withholding = Withhold::new(&net, aux, victim, round);
                crate::ops::reshare::<TP>(&mut rng(), &signer, inputs, old_share, &at, &withholding).await
            } else {
                crate::ops::reshare::<TP>(&mut rng(), &signer, inputs, old_share, &at, &net).await
            };
            (me, outcome.expect("no local error"))
        }));
    }
    let key = s.inputs.old.verifying_key_point().unwrap();
    for task in tasks {
        let (party, outcome) = task.await.expect("no panic");
        match outcome {
            Outcome::Done(crate::ops::Reshared::Holder(share)) => {
                assert_eq!(share.share.verifying_key_point(), key, "{party:?}")
            }
            other => panic!("{party:?} did not finish: {other:?}"),
        }
    }
}

/// A participant forwards falsely to frame an honest one: its own messages "relayed from" the
/// victim (the signature is not the victim's), every relay twice, and earlier rounds' relays
/// again. Nothing of it is held against the framed party or any signer, and nobody's session
/// fails: every honest party finishes with a share of the same key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_relays_frame_nobody() {
    super::init_tracing();
    let s = setup();
    let relayer = s.everyone[2].clone();
    let framed = s.everyone[3].account();
    let at = attempt("false-relay", 8);
    let net = LocalNetwork::new();
    let others: Vec<PartySigner> = s.everyone[1..]
        .iter()
        .filter(|p| p.account() != relayer.account())
        .cloned()
        .collect();
    let honest = reshare_sessions_background(&others, &s.inputs, &s.old, &at, &net);
    let forging = FalseRelay::new(&net, framed, s.inputs.participants());
    let mut r_rng = rng();
    let r_share = s.old.get(&relayer.account()).cloned();
    let own = reshare_session(&mut r_rng, &relayer, s.inputs.clone(), r_share, None, &at, &forging);
    let (outcomes, own) = tokio::join!(honest, own);
    let key = s.inputs.old.verifying_key_point().unwrap();
    for (party, outcome) in outcomes.iter().chain([(&relayer.account(), &own.unwrap())]) {
        match outcome {
            Outcome::Done(Some(output)) => assert_eq!(output.share.verifying_key_point(), key, "{party:?}"),
            other => panic!("{party:?} did not finish: {other:?}"),
        }
    }
}

fn reshare_sessions_background(
    participants: &[PartySigner],
    inputs: &ReshareInputs<TP>,
    old: &BTreeMap<AccountId, ThresholdShare<TP>>,
    at: &Attempt,
    net: &LocalNetwork,
) -> impl std::future::Future<Output = BTreeMap<AccountId, ReshareOutcome>> {
    let (participants, inputs, old, at, net) = (
        participants.to_vec(),
        inputs.clone(),
        old.clone(),
        at.clone(),
        net.clone(),
    );
    let handle = tokio::spawn(async move { reshare_sessions(&participants, &inputs, &old, None, &at, &net).await });
    async move { handle.await.expect("no panic") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_evidence_does_not_verify() {
    super::init_tracing();
    let s = setup();
    let (cheater, at, outcomes) = with_cheater(&s, 2, Cheat::BadSubshare, "tamper").await;
    let evidence = assert_named_with_evidence(&outcomes, &s, cheater, &at);
    let protocol_session_id = at.spec(ProtocolKind::Reshare).protocol_session_id;

    // Changed sender: the same evidence pinned on an honest party.
    let mut other = evidence.clone();
    other.offender = s.everyone[1].account();
    assert!(other.verify_reshare::<TP>(&s.inputs, &protocol_session_id).is_err());

    // Changed message: any flipped byte of the signed evidence.
    assert_every_flipped_byte_breaks(&evidence, |e| e.verify_reshare::<TP>(&s.inputs, &protocol_session_id));

    // The unsigned description can be changed, but not the offence's fingerprint, so a
    // re-worded copy cannot be punished twice.
    let fingerprint = evidence.verify_reshare::<TP>(&s.inputs, &protocol_session_id).unwrap();
    let mut reworded = evidence.clone();
    let text = reworded.description.as_bytes().to_vec();
    let at = reworded.evidence.windows(text.len()).position(|w| w == text).unwrap();
    reworded.evidence[at] ^= 0x01;
    assert_ne!(reworded.evidence, evidence.evidence);
    assert_eq!(
        reworded.verify_reshare::<TP>(&s.inputs, &protocol_session_id).unwrap(),
        fingerprint
    );

    // Another session or other public inputs.
    let other_session = attempt("another-attempt", 1)
        .spec(ProtocolKind::Reshare)
        .protocol_session_id;
    assert!(evidence.verify_reshare::<TP>(&s.inputs, &other_session).is_err());
    // Inputs under which the accused was not a staying holder (a subshare mismatch is a fault
    // whatever the rest of the inputs; the session id binds the evidence to its attempt).
    let mut other_inputs = s.inputs.clone();
    other_inputs.staying.remove(&cheater);
    other_inputs.staying.insert(s.everyone[0].account());
    let err = evidence
        .verify_reshare::<TP>(&other_inputs, &protocol_session_id)
        .unwrap_err();
    assert!(err.to_string().contains("not a staying old holder"), "{err}");
    // And garbage bytes are a decode error, not a panic.
    assert!(EvidenceBlob::from_bytes(&[1, 2, 3]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Random committees, staying subsets (≥ old threshold), new thresholds and at most one
    /// misbehaving staying holder: either the right key, or exactly that holder named.
    #[test]
    fn any_reshare_ends_with_the_same_key_or_exactly_the_cheater_named(
        n_old in 2usize..6,
        t_old_seed in 0usize..100,
        staying_seed in any::<u64>(),
        joiners in 0usize..3,
        t_new_seed in 0usize..100,
        cheat in proptest::option::of((0usize..100, 0..Cheat::ALL.len())),
    ) {
        let t_old = 1 + t_old_seed % n_old;
        let everyone = signers(n_old + joiners);
        let old_committee = ids(&everyone[..n_old]);
        let old = dealt_shares(&old_committee, t_old);
        // Staying: a random subset of the old committee of size ≥ t_old.
        let mut staying: BTreeSet<AccountId> = old_committee
            .iter()
            .enumerate()
            .filter(|(i, _)| staying_seed >> i & 1 == 1)
            .map(|(_, p)| *p)
            .collect();
        for p in &old_committee {
            if staying.len() >= t_old { break; }
            staying.insert(*p);
        }
        let mut new_committee = staying.clone();
        new_committee.extend(everyone[n_old..].iter().map(|s| s.account()));
        let t_new = 1 + (t_new_seed % new_committee.len()) as u32;
        let inputs = ReshareInputs {
            old: old.values().next().unwrap().public().clone(),
            staying: staying.clone(),
            new_committee: new_committee.clone(),
            new_threshold: t_new,
        };
        let cheater = cheat.map(|(who, how)| {
            let who = *staying.iter().nth(who % staying.len()).unwrap();
            let how = Cheat::ALL[how];
            (who, how)
        });
        let participants: Vec<PartySigner> = everyone
            .iter()
            .filter(|s| staying.contains(&s.account()) || new_committee.contains(&s.account()))
            .cloned()
            .collect();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        // No case waits for the deadline (a cheater is named with evidence, an honest run
        // finishes; the suite takes about 22 s): it only has to outlast a loaded machine. With
        // 30 s, one run beside a build (the suite took 45 s) named an honest party silent.
        let at = attempt("prop", 120);
        let outcomes = runtime.block_on(reshare_sessions(&participants, &inputs, &old, cheater, &at, &LocalNetwork::new()));
        let key = old.values().next().unwrap().verifying_key_point();
        let protocol_session_id = at.spec(ProtocolKind::Reshare).protocol_session_id;
        for holder in &new_committee {
            if Some(*holder) == cheater.map(|c| c.0) { continue; }
            match (&outcomes[holder], cheater) {
                (Outcome::Done(Some(output)), None) => {
                    prop_assert_eq!(output.share.verifying_key_point(), key);
                    prop_assert_eq!(output.share.public().threshold, t_new);
                    prop_assert_eq!(output.dealt.keys().copied().collect::<BTreeSet<_>>(), staying.clone());
                }
                (Outcome::Failed { offenders }, Some((who, _))) => {
                    prop_assert_eq!(offenders.len(), 1);
                    prop_assert_eq!(offenders[0].party, who);
                    let Fault::Evidence(blob) = &offenders[0].fault else {
                        return Err(TestCaseError::fail(format!("no evidence: {:?}", offenders[0].fault)));
                    };
                    prop_assert!(blob.verify_reshare::<TP>(&inputs, &protocol_session_id).is_ok());
                }
                (other, c) => return Err(TestCaseError::fail(format!("unexpected {other:?} with cheater {c:?}"))),
            }
        }
    }
}

/// The whole cheating reshare a malicious TSS runs (AuxGen honest beside a corrupted
/// resharing): every honest new member's full reshare fails naming exactly the cheater, with
/// evidence — not silence — well before the attempt's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cheating_reshare_is_named_with_evidence_beside_honest_auxgen() {
    super::init_tracing();
    let s = setup();
    let cheater = s.everyone[2].account();
    let at = attempt("full-cheat", 60);
    let net = LocalNetwork::new();
    let mut tasks = Vec::new();
    for signer in &s.everyone[1..] {
        let me = signer.account();
        let (signer, inputs, old_share, at, net) = (
            signer.clone(),
            s.inputs.clone(),
            s.old.get(&me).cloned(),
            at.clone(),
            net.clone(),
        );
        tasks.push((
            me,
            tokio::spawn(async move {
                if me == cheater {
                    crate::misbehave::reshare::<TP>(
                        &mut rng(),
                        &signer,
                        inputs,
                        old_share,
                        Cheat::BadSubshare,
                        &at,
                        &net,
                    )
                    .await
                } else {
                    crate::ops::reshare::<TP>(&mut rng(), &signer, inputs, old_share, &at, &net).await
                }
            }),
        ));
    }
    let started = std::time::Instant::now();
    let mut cheater_task = None;
    for (me, task) in tasks {
        if me == cheater {
            cheater_task = Some(task);
            continue;
        }
        let Outcome::Failed { offenders } = task.await.unwrap().expect("no local error") else {
            panic!("{me:?} finished although {cheater:?} cheated");
        };
        assert_eq!(offenders.len(), 1, "exactly the cheater: {offenders:?}");
        assert_eq!(offenders[0].party, cheater);
        let Fault::Evidence(blob) = &offenders[0].fault else {
            panic!("expected evidence, got {:?}", offenders[0].fault);
        };
        let protocol_session_id = at.spec(ProtocolKind::Reshare).protocol_session_id;
        EvidenceBlob::from_bytes(&blob.to_bytes())
            .unwrap()
            .verify_reshare::<TP>(&s.inputs, &protocol_session_id)
            .expect("the evidence verifies from its bytes");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(50),
        "named before the deadline"
    );
    cheater_task.unwrap().abort();
}
