//! Blame against an adversary, as a property: one bonded member of a rotation chooses, per round
//! and per recipient, to send its message, withhold it or corrupt it, whether to confirm, and
//! what false silence report to file and when. The honest members follow the protocol model
//! below and tell the real chain rules what they saw. After every attempt, no honest member is
//! punished; an adversary that deviated in nothing gets its rotation; otherwise the rotation
//! happens, the adversary is named, or the attempt ends with nobody punished.
//!
//! The protocol is modelled, not run (the rules see only calls): AuxGen's `ROUNDS` rounds in
//! which every new member sends one signed message to every other; a member moves to the next
//! round once it has every message of this one. Every message is a broadcast, and as the TSS
//! driver does, every honest member that gets one forwards it to all others, so a message sent
//! to any honest member reaches every one. A corrupted message that reaches an honest member is
//! proven (evidence that verifies: the `support` test double); a member that finished confirms,
//! one that is stuck reports whom it is missing in the round it is stuck in. This is where the
//! deadline-and-reports rule is exercised: withholding one message from one member, from
//! several, from all, in any round, with or without a counter-accusation — and an adversary that
//! does not confirm, whatever it reports, is named whenever anyone else confirmed.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use keywheel_chain::{AbortReason, AccountId, AttemptProtocol, Call, Event, Origin, Params, Punishment};
use proptest::prelude::*;
use support::*;

const ROUNDS: u8 = 3;

/// What the adversary does with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Send {
    Deliver,
    Withhold,
    Corrupt,
}

fn send() -> impl Strategy<Value = Send> {
    prop_oneof![6 => Just(Send::Deliver), 3 => Just(Send::Withhold), 1 => Just(Send::Corrupt)]
}

#[derive(Debug, Clone)]
struct Adversary {
    /// Its index among the new committee.
    who: usize,
    /// Per round, per recipient index.
    sends: Vec<Vec<Send>>,
    /// Confirms if it finished.
    confirms: bool,
    /// A false report: accused index, round number, position among the chain calls.
    false_report: Option<(usize, u8, usize)>,
}

fn case() -> impl Strategy<Value = (usize, usize, Adversary, u64)> {
    (3usize..7).prop_flat_map(|n| {
        let adversary = (
            0..n,
            proptest::collection::vec(proptest::collection::vec(send(), n), ROUNDS as usize),
            proptest::bool::weighted(0.8),
            proptest::option::of((0..n, 1..=ROUNDS, 0..2 * n)),
        )
            .prop_map(|(who, sends, confirms, false_report)| Adversary {
                who,
                sends,
                confirms,
                false_report,
            });
        // One adversary among fewer than t: the rules' assumption (t = 1 lets anyone sign alone).
        (Just(n), 2..n, adversary, any::<u64>())
    })
}

/// Whether the adversary's round-`r` message (once it sent one) reaches member `p`: a corrupted
/// message arrives (and is caught), a withheld one does not — unless another honest member got
/// it, who forwards it.
fn arrives(n: usize, adv: &Adversary, r: u8, p: usize) -> bool {
    let sends = &adv.sends[r as usize - 1];
    let reaches = |m: usize| sends[m] != Send::Withhold;
    reaches(p) || (0..n).any(|m| m != p && m != adv.who && reaches(m))
}

/// How far each member got: `ROUNDS + 1` = finished; and which honest members saw corruption.
fn run_model(n: usize, adv: &Adversary) -> (Vec<u8>, BTreeSet<usize>) {
    let mut round = vec![1u8; n];
    loop {
        let mut moved = false;
        for p in 0..n {
            let r = round[p];
            if r > ROUNDS {
                continue;
            }
            let has_all = (0..n).filter(|q| *q != p).all(|q| {
                // q sent its round-r messages once it reached round r.
                if round[q] < r {
                    return false;
                }
                q != adv.who || arrives(n, adv, r, p)
            });
            if has_all {
                round[p] += 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    // An honest member that reached round r got the adversary's round-r message, if sent.
    let mut saw_corruption = BTreeSet::new();
    for p in (0..n).filter(|p| *p != adv.who) {
        for r in 1..=round[p].min(ROUNDS) {
            if round[adv.who] >= r && adv.sends[r as usize - 1][p] == Send::Corrupt {
                saw_corruption.insert(p);
            }
        }
    }
    (round, saw_corruption)
}

fn chain_for(n: usize, t: usize, dealer: &mut Dealer) -> Chain {
    let params = Params {
        committee_size: n as u32,
        threshold: t as u32,
        ..params()
    };
    let mut chain = chain_with(n as u8 + 2, params);
    advance_to(&mut chain, 1);
    chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart).unwrap();
    confirm_all(&mut chain, dealer);
    assert!(chain.state().parent_key.is_some());
    let length = chain.state().params.session_length;
    advance_to(&mut chain, length);
    chain
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn no_honest_member_is_ever_punished_and_a_faithful_adversary_rotates(
        (n, t, adv, seed) in case()
    ) {
        let mut dealer = Dealer::new(seed);
        let mut chain = chain_for(n, t, &mut dealer);
        let record = chain.state().reshare.clone().expect("a rotation in flight");
        prop_assume!(record.participants() == record.new_tss());
        let members: Vec<AccountId> = record.new_tss().into_iter().collect();
        let adversary = members[adv.who];
        let slashes_before = chain.state().slashes.len();

        let (reached, saw_corruption) = run_model(n, &adv);
        // What each member tells the chain, in an order the adversary's report is placed in.
        let mut confirmations = dealer.confirmations(&record);
        let mut calls: Vec<(AccountId, Call)> = Vec::new();
        if let Some(p) = saw_corruption.iter().next() {
            let evidence = evidence_for(adversary, record.session, record.attempt);
            let call = Call::ReportOffence { session: record.session, attempt: record.attempt, offender: adversary, evidence };
            calls.push((members[*p], call));
        }
        for (p, member) in members.iter().enumerate() {
            let finished = reached[p] > ROUNDS;
            if p == adv.who {
                if finished && adv.confirms {
                    calls.push((*member, confirm_call(&record, confirmations.remove(member).unwrap())));
                }
                continue;
            }
            if finished {
                calls.push((*member, confirm_call(&record, confirmations.remove(member).unwrap())));
            } else {
                // Stuck in round r: it names every sender whose round-r message is missing.
                let r = reached[p];
                let missing: Vec<_> = (0..n)
                    .filter(|q| *q != p)
                    .filter(|q| reached[*q] < r || (*q == adv.who && !arrives(n, &adv, r, p)))
                    .map(|q| silence(members[q], AttemptProtocol::AuxGen, r, false))
                    .collect();
                prop_assert!(!missing.is_empty(), "a stuck member misses someone");
                calls.push((*member, report_call(&record, missing)));
            }
        }
        let mut deviated = !adv.confirms
            || adv.sends.iter().any(|per| per.iter().enumerate().any(|(p, s)| p != adv.who && *s != Send::Deliver));
        if let Some((accused, r, at)) = adv.false_report {
            if accused != adv.who {
                let missing = vec![silence(members[accused], AttemptProtocol::AuxGen, r, false)];
                calls.insert(at.min(calls.len()), (adversary, report_call(&record, missing)));
                deviated = true;
            }
        }

        let mut events = Vec::new();
        for (from, call) in calls {
            // Calls after the attempt ended are refused (no such attempt); that is fine.
            if let Ok(e) = signed(&mut chain, from, call) {
                events.extend(e);
            }
        }
        if chain.state().reshare.as_ref().is_some_and(|r| r.attempt == record.attempt) {
            events.extend(advance_to(&mut chain, record.deadline));
        }

        let punished: BTreeMap<AccountId, Punishment> = chain.state().slashes[slashes_before..]
            .iter()
            .map(|s| (s.tss, s.kind))
            .collect();
        for tss in punished.keys() {
            prop_assert_eq!(*tss, adversary, "an honest member was punished: {:?}", chain.state().slashes);
        }
        let rotated = events.iter().any(|e| matches!(e, Event::RotateKey { .. }));
        let ended_unpunished = events.iter().any(|e| matches!(
            e,
            Event::ReshareAborted { reason: AbortReason::Unsettled | AbortReason::Deadline, offenders, .. }
                if offenders.is_empty()
        ));
        if !saw_corruption.is_empty() {
            prop_assert_eq!(punished.get(&adversary), Some(&Punishment::Stake), "proven corruption is slashed");
        }
        if !deviated {
            prop_assert!(rotated, "a faithful adversary's rotation did not happen: {:?}", events);
        }
        prop_assert!(
            rotated || punished.contains_key(&adversary) || ended_unpunished,
            "the attempt ended some other way: {:?}",
            events
        );
        // No stalling for free: once an honest member confirmed, an adversary that did not is
        // named (silent or not confirmed), whatever it reported.
        let honest_confirmed = (0..n).any(|p| p != adv.who && reached[p] > ROUNDS);
        let adversary_confirmed = reached[adv.who] > ROUNDS && adv.confirms;
        if honest_confirmed && !adversary_confirmed && saw_corruption.is_empty() {
            prop_assert!(
                punished.contains_key(&adversary),
                "the adversary stalled the attempt unpunished: {:?}",
                events
            );
        }
    }
}
