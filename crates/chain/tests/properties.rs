//! Property tests: random sequences of calls, blocks and faults keep the chain's invariants, and
//! the same inputs (randomness included) always give the same state.

mod support;

use std::collections::BTreeSet;

use keywheel_chain::{AccountId, AttemptProtocol, Call, Event, Origin, ReshareKind};
use proptest::prelude::*;
use support::*;

const VALIDATORS: u8 = 8;

#[derive(Debug, Clone)]
enum Op {
    /// Advance this many blocks with randomness from `seed`.
    Blocks(u8, u64),
    Jumpstart,
    /// Every new member confirms one consistent sharing.
    ConfirmAll,
    /// Only the members selected by the mask confirm.
    ConfirmSome(u8),
    /// A confirmation of another key (must be refused).
    ConfirmForeignKey(u8),
    /// An offence report by participant `reporter` against participant `accused`.
    Offence {
        reporter: u8,
        accused: u8,
        genuine: bool,
    },
    /// A silence report.
    Silence {
        reporter: u8,
        accused: u8,
        round: u8,
    },
    Bond(u8, u16),
    Unbond(u8, u16),
    Chill(u8),
    Validate(u8),
    Withdraw(u8),
    Register(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..8, any::<u64>()).prop_map(|(n, s)| Op::Blocks(n, s)),
        1 => Just(Op::Jumpstart),
        4 => Just(Op::ConfirmAll),
        1 => any::<u8>().prop_map(Op::ConfirmSome),
        1 => any::<u8>().prop_map(Op::ConfirmForeignKey),
        2 => (any::<u8>(), any::<u8>(), any::<bool>())
            .prop_map(|(reporter, accused, genuine)| Op::Offence { reporter, accused, genuine }),
        2 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(reporter, accused, round)| Op::Silence {
            reporter,
            accused,
            round
        }),
        1 => (1..=VALIDATORS + 2, any::<u16>()).prop_map(|(v, a)| Op::Bond(v, a)),
        2 => (1..=VALIDATORS, any::<u16>()).prop_map(|(v, a)| Op::Unbond(v, a)),
        2 => (1..=VALIDATORS).prop_map(Op::Chill),
        1 => (1..=VALIDATORS + 2).prop_map(Op::Validate),
        1 => (1..=VALIDATORS).prop_map(Op::Withdraw),
        1 => (1..=VALIDATORS + 3).prop_map(Op::Register),
    ]
}

fn nth<T: Copy>(set: &BTreeSet<T>, i: u8) -> Option<T> {
    (!set.is_empty()).then(|| *set.iter().nth(i as usize % set.len()).unwrap())
}

/// Runs `ops`, checking the invariants after each; returns the final digest and all events.
fn run(ops: &[Op]) -> Result<([u8; 32], Vec<Event>), TestCaseError> {
    let mut chain = chain_with(VALIDATORS, params());
    let mut dealer = Dealer::new(99);
    let mut foreign = Dealer::new(100);
    let mut parent: Option<Vec<u8>> = None;
    let mut all_events = Vec::new();
    let mut attempts_seen = BTreeSet::new();

    for op in ops {
        let before = chain.state().clone();
        let before_digest = chain.digest();
        let in_flight = chain.state().reshare.clone();
        let participants = in_flight.as_ref().map(|r| r.participants()).unwrap_or_default();
        let result: Result<Vec<Event>, keywheel_chain::ChainError> = match op {
            Op::Blocks(n, seed) => {
                let mut events = Vec::new();
                for k in 0..*n as u64 {
                    let block = chain.state().block + 1;
                    events.extend(
                        chain
                            .on_block(block, randomness(seed.wrapping_add(k)))
                            .map_err(|e| TestCaseError::fail(e.to_string()))?,
                    );
                }
                Ok(events)
            }
            Op::Jumpstart => chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart),
            Op::ConfirmAll | Op::ConfirmSome(_) => match &in_flight {
                None => Ok(Vec::new()),
                Some(record) => {
                    let mask = if let Op::ConfirmSome(m) = op { *m } else { u8::MAX };
                    let mut events = Vec::new();
                    for (k, (member, confirmation)) in dealer.confirmations(record).into_iter().enumerate() {
                        if mask >> (k % 8) & 1 == 0 || chain.state().confirmations.contains_key(&member) {
                            continue;
                        }
                        let call = Call::Confirm {
                            session: record.session,
                            attempt: record.attempt,
                            confirmation,
                        };
                        // After a jumpstart attempt was replaced, stale confirmations are refused.
                        if let Ok(e) = signed(&mut chain, member, call) {
                            events.extend(e);
                        }
                    }
                    Ok(events)
                }
            },
            Op::ConfirmForeignKey(i) => match &in_flight {
                Some(record) if chain.state().parent_key.is_some() => {
                    let (member, confirmation) = foreign
                        .confirmations(record)
                        .into_iter()
                        .nth(*i as usize % record.new_committee.len())
                        .unwrap();
                    let call = Call::Confirm {
                        session: record.session,
                        attempt: record.attempt,
                        confirmation,
                    };
                    let result = signed(&mut chain, member, call);
                    prop_assert!(result.is_err(), "a confirmation of another key was accepted");
                    result
                }
                _ => Ok(Vec::new()),
            },
            Op::Offence {
                reporter,
                accused,
                genuine,
            } => match (&in_flight, nth(&participants, *reporter)) {
                (Some(record), Some(from)) => {
                    let offender = nth(&participants, *accused).unwrap();
                    let evidence = if *genuine {
                        evidence_for(offender, record.session, record.attempt)
                    } else {
                        evidence_for(from, record.session, record.attempt)
                    };
                    let call = Call::ReportOffence {
                        session: record.session,
                        attempt: record.attempt,
                        offender,
                        evidence,
                    };
                    let result = signed(&mut chain, from, call);
                    if !*genuine {
                        prop_assert!(result.is_err(), "false evidence was accepted");
                    }
                    result
                }
                _ => Ok(Vec::new()),
            },
            Op::Silence {
                reporter,
                accused,
                round,
            } => match (&in_flight, nth(&participants, *reporter)) {
                (Some(record), Some(from)) => {
                    let accused = nth(&participants, *accused).unwrap();
                    let protocol = [
                        AttemptProtocol::KeyInit,
                        AttemptProtocol::Reshare,
                        AttemptProtocol::AuxGen,
                    ][*round as usize % 3];
                    let missing = vec![silence(accused, protocol, 1 + round % 4, round % 2 == 1)];
                    signed(&mut chain, from, report_call(record, missing))
                }
                _ => Ok(Vec::new()),
            },
            Op::Bond(v, amount) => signed(
                &mut chain,
                stash(*v),
                Call::Bond {
                    amount: *amount as u128,
                },
            ),
            Op::Unbond(v, _) | Op::Chill(v) => {
                let call = match op {
                    Op::Unbond(_, amount) => Call::Unbond {
                        amount: *amount as u128,
                    },
                    _ => Call::Chill,
                };
                let member = before.is_committee_member(&stash(*v));
                let result = signed(&mut chain, stash(*v), call);
                if member {
                    prop_assert!(result.is_err(), "committee member {} unbonded or chilled: {:?}", v, op);
                }
                result
            }
            Op::Validate(v) => signed(&mut chain, stash(*v), validate_call(&stash(*v), *v)),
            Op::Withdraw(v) => signed(&mut chain, stash(*v), Call::WithdrawUnbonded),
            Op::Register(v) => signed(&mut chain, stash(*v), Call::Register),
        };
        match result {
            Ok(events) => {
                check_invariants(&chain, &events, &mut parent)?;
                // Attempt numbers bind session ids, proofs and evidence: never reused.
                for e in &events {
                    if let Event::ReshareStarted { session, attempt, .. } = e {
                        prop_assert!(attempts_seen.insert((*session, *attempt)), "attempt reused");
                    }
                }
                all_events.extend(events);
            }
            Err(_) => prop_assert_eq!(chain.digest(), before_digest, "a refused call changed the state"),
        }
    }
    Ok((chain.digest(), all_events))
}

fn check_invariants(chain: &Chain, events: &[Event], parent: &mut Option<Vec<u8>>) -> Result<(), TestCaseError> {
    let s = chain.state();
    // The parent key, once set, never changes; with it, the committee has n members.
    match (&*parent, &s.parent_key) {
        (Some(p), Some(now)) => prop_assert_eq!(p, now, "the parent key changed"),
        (Some(_), None) => prop_assert!(false, "the parent key disappeared"),
        (None, now) => *parent = now.clone(),
    }
    if s.parent_key.is_some() {
        prop_assert_eq!(s.committee.len(), s.params.committee_size as usize);
        let sharing = s.sharing.as_ref().unwrap();
        let holders: BTreeSet<AccountId> = sharing.public_shares.keys().copied().collect();
        let members: BTreeSet<AccountId> = s.committee.iter().map(|m| m.tss).collect();
        prop_assert_eq!(holders, members, "the recorded sharing is not the committee's");
    }
    match &s.reshare {
        None => {
            prop_assert!(s.confirmations.is_empty() && s.reports.is_empty());
        }
        Some(r) => {
            // One reshare in flight, and its bookkeeping is about it alone.
            let new = r.new_tss();
            prop_assert!(s.confirmations.keys().all(|m| new.contains(m)));
            prop_assert!(s.reports.keys().all(|m| r.participants().contains(m)));
            prop_assert!(s
                .reports
                .values()
                .flatten()
                .all(|x| r.participants().contains(&x.party)));
            prop_assert_eq!(new.len(), s.params.committee_size as usize);
            if r.kind == ReshareKind::Rotation {
                let current: BTreeSet<AccountId> = s.committee.iter().map(|m| m.tss).collect();
                let old_t = s.sharing.as_ref().unwrap().threshold as usize;
                prop_assert!(r.staying.len() >= old_t, "staying old holders below the old threshold");
                prop_assert!(r.staying.is_subset(&current));
                let mut accounted = r.staying.clone();
                accounted.extend(r.leaving.iter().copied());
                prop_assert_eq!(accounted, current);
            }
        }
    }
    // Nobody barred was just selected. (Every slash aborts the attempt, so the attempt in flight
    // was planned after every slash so far; one that started and ended within this step is
    // checked by the barred-until bookkeeping of the next.)
    let just_started = |r: &keywheel_chain::ReshareRecord| {
        events.iter().any(|e| {
            matches!(e, Event::ReshareStarted { session, attempt, .. } if (*session, *attempt) == (r.session, r.attempt))
        })
    };
    if let Some(r) = s.reshare.as_ref().filter(|r| just_started(r)) {
        let current: BTreeSet<AccountId> = s.committee.iter().map(|m| m.validator).collect();
        for joiner in r.new_committee.iter().filter(|m| !current.contains(&m.validator)) {
            let barred = s.barred_until.get(&joiner.validator).copied().unwrap_or(0);
            prop_assert!(barred <= s.session, "barred validator {:?} selected", joiner.validator);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn random_calls_blocks_and_faults_keep_the_invariants_and_are_deterministic(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        // Jumpstart early so most sequences exercise rotations.
        let mut ops = ops;
        ops.insert(0, Op::Blocks(1, 0));
        ops.insert(1, Op::Jumpstart);
        ops.insert(2, Op::ConfirmAll);
        let first = run(&ops)?;
        let second = run(&ops)?;
        prop_assert_eq!(first.0, second.0, "same inputs, different state");
        prop_assert_eq!(first.1, second.1, "same inputs, different events");
    }
}
