//! One test per chain rule. Sharings and share proofs are checked for real (secp256k1);
//! evidence verification is the test double described in `support`.

mod support;

use keywheel_chain::registry::account_path;
use keywheel_chain::{
    AbortReason, AttemptProtocol, Call, ChainError, Event, Origin, Punishment, ReshareKind, SlashReason, TssInfo,
};
use support::*;

fn started(events: &[Event]) -> bool {
    events.iter().any(|e| matches!(e, Event::ReshareStarted { .. }))
}

fn rotated(events: &[Event]) -> bool {
    events.iter().any(|e| matches!(e, Event::RotateKey { .. }))
}

/// Runs to the next session boundary, which starts a rotation.
fn to_next_session(chain: &mut Chain) -> Vec<Event> {
    let length = chain.state().params.session_length;
    let next = (chain.state().block / length + 1) * length;
    advance_to(chain, next)
}

#[test]
fn jumpstart_picks_n_validators_and_the_confirmed_key_becomes_the_immutable_parent_key() {
    let mut dealer = Dealer::new(1);
    let mut chain = chain_with(5, params());
    // Not root: refused.
    assert_eq!(
        signed(&mut chain, stash(1), Call::Jumpstart),
        Err(ChainError::RootRequired)
    );
    advance_to(&mut chain, 1);
    let events = chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart).unwrap();
    assert!(started(&events));
    let record = chain.state().reshare.clone().unwrap();
    assert_eq!(record.kind, ReshareKind::Jumpstart);
    assert_eq!(record.new_committee.len(), 3);
    assert!(record.staying.is_empty());
    assert_eq!(
        chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart),
        Err(ChainError::AlreadyJumpstarted)
    );

    let events = confirm_all(&mut chain, &mut dealer);
    assert!(rotated(&events));
    assert_eq!(chain.state().parent_key, Some(dealer.verifying_key()));
    assert_eq!(chain.state().committee.len(), 3);
    assert_eq!(
        chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart),
        Err(ChainError::AlreadyJumpstarted)
    );

    // A later rotation must confirm the same key: another key is refused, naming the member.
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let mut other = Dealer::new(2);
    let (member, confirmation) = other.confirmations(&record).into_iter().next().unwrap();
    let call = confirm_call(&record, confirmation);
    match signed(&mut chain, member, call) {
        Err(ChainError::ConfirmationMismatch { member: named, .. }) => assert_eq!(named, member),
        other => panic!("expected a mismatch naming {member:?}, got {other:?}"),
    }
}

#[test]
fn jumpstart_needs_enough_validators() {
    let mut chain = chain_with(2, params());
    let before = chain.digest();
    assert_eq!(
        chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart),
        Err(ChainError::NotEnoughValidators { eligible: 2, needed: 3 })
    );
    assert_eq!(chain.digest(), before);
}

#[test]
fn oldest_leaves_and_a_random_eligible_validator_joins() {
    let mut dealer = Dealer::new(3);
    let mut chain = jumpstarted(6, &mut dealer);
    let before = chain.state().committee.clone();
    let oldest = before.iter().min_by_key(|m| m.join_seq).unwrap().clone();

    let events = to_next_session(&mut chain);
    assert!(events.iter().any(|e| matches!(e, Event::NewSession { session: 1 })));
    let record = chain.state().reshare.clone().unwrap();
    assert_eq!(record.kind, ReshareKind::Rotation);
    assert_eq!(record.leaving.iter().copied().collect::<Vec<_>>(), vec![oldest.tss]);
    assert_eq!(record.staying.len(), 2);
    assert!(record.staying.len() >= chain.state().sharing.as_ref().unwrap().threshold as usize);
    let joiner = record
        .new_committee
        .iter()
        .find(|m| !before.contains(m))
        .unwrap()
        .clone();
    assert!(before.iter().all(|m| m.validator != joiner.validator));

    // Signing continues with the current committee until every new member confirmed.
    assert_eq!(chain.state().committee, before);
    let events = confirm_all(&mut chain, &mut dealer);
    assert!(rotated(&events));
    let after = &chain.state().committee;
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(|m| m.validator != oldest.validator));
    assert!(after.iter().any(|m| m.validator == joiner.validator));
    assert_eq!(chain.state().parent_key, Some(dealer.verifying_key()));
    // The joiner is now the youngest.
    assert_eq!(
        after.iter().max_by_key(|m| m.join_seq).unwrap().validator,
        joiner.validator
    );

    // The joiner is chosen by the chain's randomness: same randomness, same joiner; across
    // different randomness more than one validator gets picked.
    let mut joiners = std::collections::BTreeSet::new();
    for seed in 0..12u64 {
        let mut a = jumpstarted(6, &mut Dealer::new(3));
        let mut b = jumpstarted(6, &mut Dealer::new(3));
        for c in [&mut a, &mut b] {
            let length = c.state().params.session_length;
            advance_to(c, length - 1);
            c.on_block(length, support::randomness(1000 + seed)).unwrap();
        }
        assert_eq!(a.state().reshare, b.state().reshare);
        let r = a.state().reshare.clone().unwrap();
        let committee = &a.state().committee;
        joiners.extend(
            r.new_committee
                .iter()
                .filter(|m| !committee.contains(m))
                .map(|m| m.validator),
        );
    }
    assert!(joiners.len() > 1, "randomness never changed the joiner: {joiners:?}");
}

#[test]
fn unbond_and_chill_are_refused_for_current_and_forming_committee_members() {
    let mut dealer = Dealer::new(4);
    let mut chain = jumpstarted(5, &mut dealer);
    let member = chain.state().committee[0].validator;
    let before = chain.digest();
    assert_eq!(
        signed(&mut chain, member, Call::Unbond { amount: 1 }),
        Err(ChainError::CommitteeMember(member))
    );
    assert_eq!(
        signed(&mut chain, member, Call::Chill),
        Err(ChainError::CommitteeMember(member))
    );
    // Nor may it swap the TSS account the key sharing is bound to.
    assert_eq!(
        signed(&mut chain, member, validate_call(&member, 42)),
        Err(ChainError::CommitteeMember(member))
    );
    assert_eq!(chain.digest(), before, "refused calls change nothing");

    // During a rotation: the joiner (forming committee) and the leaver (still current) are
    // both locked until the rotation.
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let joiner = joiner(&chain).validator;
    let leaver = chain.state().stash_of(record.leaving.iter().next().unwrap()).unwrap();
    for locked in [joiner, leaver] {
        assert_eq!(
            signed(&mut chain, locked, Call::Unbond { amount: 1 }),
            Err(ChainError::CommitteeMember(locked))
        );
        assert_eq!(
            signed(&mut chain, locked, Call::Chill),
            Err(ChainError::CommitteeMember(locked))
        );
    }
    confirm_all(&mut chain, &mut dealer);

    // After the rotation the leaver is free: chill, unbond, withdraw after the period.
    signed(&mut chain, leaver, Call::Chill).unwrap();
    signed(&mut chain, leaver, Call::Unbond { amount: BOND }).unwrap();
    assert_eq!(
        signed(&mut chain, leaver, Call::WithdrawUnbonded),
        Err(ChainError::NothingToWithdraw)
    );
    let until = chain.state().block + chain.state().params.unbonding_period;
    advance_to(&mut chain, until);
    signed(&mut chain, leaver, Call::WithdrawUnbonded).unwrap();
    assert_eq!(chain.state().balances[&leaver], FUNDS);
}

#[test]
fn retry_after_a_verified_offence_slashes_stake_and_excludes_the_offender() {
    let mut dealer = Dealer::new(5);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let offender = *record.staying.iter().next().unwrap();
    let reporter = *record.new_tss().iter().find(|p| **p != offender).unwrap();
    let offender_stash = chain.state().stash_of(&offender).unwrap();
    let committee = chain.state().committee.clone();

    let call = Call::ReportOffence {
        session: record.session,
        attempt: record.attempt,
        offender,
        evidence: evidence_for(offender, record.session, record.attempt),
    };
    let events = signed(&mut chain, reporter, call.clone()).unwrap();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Offence, offenders, .. } if *offenders == vec![offender]
    )));
    // Stake cut by the slash fraction, chilled, barred.
    let slash = chain.state().slashes.last().unwrap().clone();
    assert_eq!(slash.kind, Punishment::Stake);
    assert!(matches!(slash.reason, SlashReason::Evidence { .. }));
    assert_eq!(slash.amount, BOND / 10);
    assert_eq!(chain.state().ledgers[&offender_stash].bonded, BOND - BOND / 10);
    assert!(!chain.state().validators.contains_key(&offender_stash));
    // The current committee and key stay in force.
    assert_eq!(chain.state().committee, committee);
    assert_eq!(chain.state().parent_key, Some(dealer.verifying_key()));

    // The retry runs without the offender, which now leaves.
    let retry = chain.state().reshare.clone().unwrap();
    assert_eq!((retry.session, retry.attempt), (record.session, record.attempt + 1));
    assert!(!retry.participants().contains(&offender));
    assert!(retry.leaving.contains(&offender));
    // Evidence is used once, and only for the attempt in flight.
    assert_eq!(
        signed(&mut chain, reporter, call),
        Err(ChainError::NoSuchAttempt {
            session: record.session,
            attempt: record.attempt
        })
    );

    let events = confirm_all(&mut chain, &mut dealer);
    assert!(rotated(&events));
    assert!(chain.state().committee.iter().all(|m| m.validator != offender_stash));

    // Barred: it may not be selected again while barred, even if it validates again.
    signed(&mut chain, offender_stash, Call::Bond { amount: BOND }).unwrap();
    signed(
        &mut chain,
        offender_stash,
        validate_call(&offender_stash, tss_index(&offender)),
    )
    .unwrap();
    assert!(chain
        .state()
        .eligible_joiners()
        .iter()
        .all(|(s, _)| *s != offender_stash));
}

#[test]
fn a_false_offence_report_is_rejected_and_changes_nothing() {
    let mut dealer = Dealer::new(6);
    let mut chain = jumpstarted(5, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let mut parties = record.new_tss().into_iter();
    let (reporter, accused) = (parties.next().unwrap(), parties.next().unwrap());
    let before = chain.digest();

    let forged = [
        // Evidence against someone else.
        evidence_for(reporter, record.session, record.attempt),
        // Evidence from another attempt.
        evidence_for(accused, record.session, record.attempt + 1),
        b"garbage".to_vec(),
    ];
    for evidence in forged {
        let call = Call::ReportOffence {
            session: record.session,
            attempt: record.attempt,
            offender: accused,
            evidence,
        };
        assert!(matches!(
            signed(&mut chain, reporter, call),
            Err(ChainError::EvidenceRejected(_))
        ));
    }
    // Outsiders cannot report, nobody accuses itself, and only the attempt in flight counts.
    let outsider = tss(5);
    let genuine = evidence_for(accused, record.session, record.attempt);
    let bad_calls = [
        (
            outsider,
            record.session,
            record.attempt,
            accused,
            ChainError::NotParticipant(outsider),
        ),
        (
            accused,
            record.session,
            record.attempt,
            accused,
            ChainError::SelfAccusation,
        ),
        (
            reporter,
            record.session,
            record.attempt + 1,
            accused,
            ChainError::NoSuchAttempt {
                session: record.session,
                attempt: record.attempt + 1,
            },
        ),
    ];
    for (from, session, attempt, offender, expected) in bad_calls {
        let call = Call::ReportOffence {
            session,
            attempt,
            offender,
            evidence: genuine.clone(),
        };
        let participant = record.participants().contains(&from);
        let result = signed(&mut chain, from, call);
        assert_eq!(result, Err(expected), "participant: {participant}");
    }
    assert_eq!(chain.digest(), before, "rejected reports change nothing");
    assert!(chain.state().slashes.is_empty());
}

#[test]
fn retry_after_the_deadline_excludes_the_members_that_did_not_confirm() {
    let mut dealer = Dealer::new(7);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let confirmations = dealer.confirmations(&record);
    let silent = *confirmations.keys().last().unwrap();
    for (member, confirmation) in confirmations.into_iter().filter(|(m, _)| *m != silent) {
        let call = confirm_call(&record, confirmation);
        signed(&mut chain, member, call).unwrap();
    }
    let events = advance_to(&mut chain, record.deadline);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Deadline, offenders, .. } if *offenders == vec![silent]
    )));
    let slash = chain.state().slashes.last().unwrap();
    assert_eq!((slash.tss, slash.kind, slash.amount), (silent, Punishment::Excluded, 0));
    assert_eq!(slash.reason, SlashReason::NotConfirmed);
    let retry = chain.state().reshare.clone().unwrap();
    assert_eq!(retry.attempt, record.attempt + 1);
    assert!(!retry.participants().contains(&silent));
    let events = confirm_all(&mut chain, &mut dealer);
    assert!(rotated(&events));
}

#[test]
fn a_silent_party_is_judged_only_when_t_distinct_participants_name_it() {
    let mut dealer = Dealer::new(8);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let joiner = joiner(&chain).tss;
    let reporters: Vec<_> = record.participants().into_iter().filter(|p| *p != joiner).collect();
    let at_aux1 = || vec![silence(joiner, AttemptProtocol::AuxGen, 1, false)];
    // One reporter (t = 2), repeated: not judged, not even at the deadline.
    for _ in 0..2 {
        let events = signed(&mut chain, reporters[0], report_call(&record, at_aux1())).unwrap();
        assert!(!events.iter().any(|e| matches!(e, Event::ReshareAborted { .. })));
    }
    assert_eq!(chain.state().reports[&reporters[0]].len(), 1);
    // Malformed reports are refused and change nothing.
    let before = chain.digest();
    let bad = [
        (vec![], ChainError::EmptyReport),
        (
            vec![silence(joiner, AttemptProtocol::AuxGen, 0, false)],
            ChainError::InvalidReport("round 0 does not exist".into()),
        ),
        (
            vec![silence(joiner, AttemptProtocol::Reshare, 17, true)],
            ChainError::InvalidReport("round 17 does not exist".into()),
        ),
        (
            vec![silence(reporters[0], AttemptProtocol::AuxGen, 1, false)],
            ChainError::SelfAccusation,
        ),
        // A KeyInit round would precede every Reshare round and excuse the reporter from all.
        (
            vec![silence(joiner, AttemptProtocol::KeyInit, 1, false)],
            ChainError::InvalidReport("a rotation runs no KeyInit".into()),
        ),
        (
            vec![silence(joiner, AttemptProtocol::Reshare, 2, false)],
            ChainError::InvalidReport("a joiner deals nothing in Reshare round 2".into()),
        ),
        (
            vec![silence(stash(1), AttemptProtocol::AuxGen, 1, false)],
            ChainError::NotParticipant(stash(1)),
        ),
    ];
    for (missing, expected) in bad {
        assert_eq!(
            signed(&mut chain, reporters[0], report_call(&record, missing)),
            Err(expected)
        );
    }
    let flood = vec![silence(joiner, AttemptProtocol::AuxGen, 1, false); 10_000];
    assert!(matches!(
        signed(&mut chain, reporters[0], report_call(&record, flood)),
        Err(ChainError::InvalidReport(_))
    ));
    assert_eq!(chain.digest(), before, "refused reports change nothing");

    // A second distinct reporter: the joiner, which never reports, is named by t, and everyone
    // else has had its say — judged at once, not at the deadline: excluded without a stake cut,
    // retried without it.
    let events = signed(&mut chain, reporters[1], report_call(&record, at_aux1())).unwrap();
    assert!(chain.state().block < record.deadline);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Unresponsive, offenders, .. } if *offenders == vec![joiner]
    )));
    let slash = chain.state().slashes.last().unwrap();
    assert_eq!((slash.kind, slash.amount), (Punishment::Excluded, 0));
    assert_eq!(slash.reason, SlashReason::Unresponsive { reporters: 2 });
    assert!(!chain.state().reshare.as_ref().unwrap().participants().contains(&joiner));
}

#[test]
fn a_member_blocked_by_a_withholder_everyone_names_is_not_punished_for_not_confirming() {
    // W withholds one of its messages from every other member (a broadcast: had anyone got it,
    // everyone would have it). W itself finishes and confirms; the others cannot, and every one
    // of them names W for that round. W is judged silent, confirmation no alibi; the others are
    // not "not confirmed": what they named is what the chain judged.
    let mut dealer = Dealer::new(14);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let confirmations = dealer.confirmations(&record);
    let withholder = *record.staying.iter().next().unwrap();
    signed(
        &mut chain,
        withholder,
        confirm_call(&record, confirmations[&withholder].clone()),
    )
    .unwrap();
    let mut last = Vec::new();
    for reporter in record.new_tss().into_iter().filter(|p| *p != withholder) {
        let missing = vec![silence(withholder, AttemptProtocol::AuxGen, 3, false)];
        last = signed(&mut chain, reporter, report_call(&record, missing)).unwrap();
    }
    assert!(last.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Unresponsive, offenders, .. } if *offenders == vec![withholder]
    )));
    let slashes = &chain.state().slashes;
    assert_eq!(slashes.len(), 1, "only the withholder: {slashes:?}");
    assert_eq!(
        slashes[0].reason,
        SlashReason::Unresponsive {
            reporters: record.new_tss().len() as u32 - 1
        }
    );
}

#[test]
fn a_report_nobody_corroborates_does_not_excuse_a_missing_confirmation() {
    // L claims an honest member's message never reached it and does not confirm; everyone else
    // confirms. Every message is forwarded by whoever gets it, so the ones who confirmed had it
    // and L would have too: its report is uncorroborated (one reporter, fewer than t), the
    // member it named is not judged, and L is excluded as not confirmed — at once, since every
    // new member has had its say. Before, any report excused its sender, who could stall
    // rotations this way without ever being judged.
    let mut dealer = Dealer::new(19);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let confirmations = dealer.confirmations(&record);
    let members: Vec<_> = record.new_tss().into_iter().collect();
    let (liar, named) = (members[0], members[1]);
    let claim = vec![silence(named, AttemptProtocol::AuxGen, 1, false)];
    signed(&mut chain, liar, report_call(&record, claim)).unwrap();
    let mut last = Vec::new();
    for member in members.iter().copied().filter(|m| *m != liar) {
        last = signed(
            &mut chain,
            member,
            confirm_call(&record, confirmations[&member].clone()),
        )
        .unwrap();
    }
    assert!(last.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { offenders, .. } if *offenders == vec![liar]
    )));
    let slashes = &chain.state().slashes;
    assert_eq!(slashes.len(), 1, "{slashes:?}");
    assert_eq!(
        (slashes[0].tss, slashes[0].kind, &slashes[0].reason),
        (liar, Punishment::Excluded, &SlashReason::NotConfirmed)
    );
    let retry = chain.state().reshare.clone().unwrap();
    assert!(!retry.participants().contains(&liar), "the retry goes on without it");
    assert!(rotated(&confirm_all(&mut chain, &mut dealer)));
}

#[test]
fn a_report_excuses_no_silence_of_its_reporter() {
    // A claims it never got H's AuxGen round-1 message, then sends nothing more: every other
    // member names A for the round it then skips, and A is judged silent; H, named by A alone,
    // is not.
    let mut dealer = Dealer::new(17);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let members: Vec<_> = record.new_tss().into_iter().collect();
    let (liar, honest) = (members[0], members[1]);
    let claim = vec![silence(honest, AttemptProtocol::AuxGen, 1, false)];
    signed(&mut chain, liar, report_call(&record, claim)).unwrap();
    let mut last = Vec::new();
    for reporter in members.iter().copied().filter(|p| *p != liar) {
        let missing = vec![silence(liar, AttemptProtocol::AuxGen, 2, false)];
        last = signed(&mut chain, reporter, report_call(&record, missing)).unwrap();
    }
    assert!(last.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Unresponsive, offenders, .. } if *offenders == vec![liar]
    )));
    let slashes = &chain.state().slashes;
    assert_eq!(slashes.len(), 1, "{slashes:?}");
    assert_eq!((slashes[0].tss, slashes[0].kind), (liar, Punishment::Excluded));
}

#[test]
fn being_blocked_later_or_in_another_session_excuses_no_silence() {
    // S sent nothing in AuxGen round 1. Its claims — blocked in AuxGen round 2, blocked in the
    // resharing's round 1 — come after, or run beside: they do not excuse round 1.
    let mut dealer = Dealer::new(15);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let members: Vec<_> = record.new_tss().into_iter().collect();
    let silent = members[0];
    // A staying holder: only those deal, in the resharing's round 2.
    let other = *record.staying.iter().find(|p| **p != silent).unwrap();
    let claims = vec![
        silence(other, AttemptProtocol::AuxGen, 2, false),
        silence(other, AttemptProtocol::Reshare, 2, false),
    ];
    signed(&mut chain, silent, report_call(&record, claims)).unwrap();
    let mut last = Vec::new();
    for reporter in record.new_tss().into_iter().filter(|p| *p != silent) {
        let missing = vec![silence(silent, AttemptProtocol::AuxGen, 1, false)];
        last = signed(&mut chain, reporter, report_call(&record, missing)).unwrap();
    }
    // Everyone had its say: judged at once, not at the deadline.
    assert!(last.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Unresponsive, offenders, .. } if *offenders == vec![silent]
    )));
    assert_eq!(chain.state().slashes.last().unwrap().tss, silent);
}

#[test]
fn a_member_that_confirmed_is_still_judged_when_t_others_name_it() {
    // Confirming shows W received everything, not that it sent everything: a member that
    // withheld its messages from t others is named by all of them.
    let mut dealer = Dealer::new(16);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let confirmations = dealer.confirmations(&record);
    // A staying holder: only those deal, in the resharing's round 2.
    let (withholder, confirmation) = confirmations
        .into_iter()
        .find(|(m, _)| record.staying.contains(m))
        .unwrap();
    signed(&mut chain, withholder, confirm_call(&record, confirmation)).unwrap();
    let mut last = Vec::new();
    for reporter in record.new_tss().into_iter().filter(|p| *p != withholder) {
        let missing = vec![silence(withholder, AttemptProtocol::Reshare, 2, false)];
        last = signed(&mut chain, reporter, report_call(&record, missing)).unwrap();
    }
    assert!(last.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Unresponsive, offenders, .. } if *offenders == vec![withholder]
    )));
}

#[test]
fn confirmations_with_bad_shares_or_proofs_are_rejected_naming_the_member() {
    let mut dealer = Dealer::new(9);
    let mut chain = jumpstarted(5, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let confirmations = dealer.confirmations(&record);
    let mut members = confirmations.keys().copied();
    let (a, b) = (members.next().unwrap(), members.next().unwrap());
    let before = chain.digest();
    let call = |c| confirm_call(&record, c);

    // b's proof sent by a: the proof is bound to its member.
    let mut stolen = confirmations[&a].clone();
    stolen.proof = confirmations[&b].proof.clone();
    assert!(matches!(
        signed(&mut chain, a, call(stolen)),
        Err(ChainError::InvalidConfirmation { member, .. }) if member == a
    ));
    // A public share changed: the shares no longer rebuild the key.
    let mut tampered = confirmations[&a].clone();
    let share_b = tampered.public_shares[&b].clone();
    tampered.public_shares.insert(a, share_b);
    assert!(matches!(
        signed(&mut chain, a, call(tampered)),
        Err(ChainError::InvalidConfirmation { member, .. }) if member == a
    ));
    // Shares for another committee.
    let mut wrong_set = confirmations[&a].clone();
    wrong_set.public_shares.remove(&b);
    assert!(matches!(
        signed(&mut chain, a, call(wrong_set)),
        Err(ChainError::ConfirmationMismatch { member, .. }) if member == a
    ));
    // Not a new member.
    let outsider = *record.leaving.iter().next().unwrap();
    assert_eq!(
        signed(&mut chain, outsider, call(confirmations[&a].clone())),
        Err(ChainError::NotInNewCommittee(outsider))
    );
    assert_eq!(chain.digest(), before);

    signed(&mut chain, a, call(confirmations[&a].clone())).unwrap();
    assert_eq!(
        signed(&mut chain, a, call(confirmations[&a].clone())),
        Err(ChainError::AlreadyConfirmed(a))
    );
}

#[test]
fn a_confirmation_must_carry_endorsed_deals_that_give_its_shares() {
    let mut dealer = Dealer::new(10);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let first = dealer.confirmations(&record);
    let second = dealer.confirmations(&record);
    let member = *first.keys().next().unwrap();
    let before = chain.digest();
    let call = |c| confirm_call(&record, c);

    // Another valid sharing of the key (its shares, its proof) with the first one's deals: a
    // member cannot confirm shares its deals do not give.
    let mut other_shares = second[&member].clone();
    other_shares.dealt = first[&member].dealt.clone();
    assert!(matches!(
        signed(&mut chain, member, call(other_shares)),
        Err(ChainError::InvalidConfirmation { member: m, reason }) if m == member && reason.contains("endorsed deals")
    ));
    // A deal whose endorsement is not its dealer's signature.
    let mut forged = first[&member].clone();
    let dealt = forged.dealt.values_mut().next().unwrap();
    dealt.endorsement[0] ^= 1;
    assert!(matches!(
        signed(&mut chain, member, call(forged)),
        Err(ChainError::InvalidConfirmation { member: m, .. }) if m == member
    ));
    // A dealer left out, or one that deals nothing in this attempt.
    let mut short = first[&member].clone();
    short.dealt.pop_first();
    assert!(matches!(
        signed(&mut chain, member, call(short)),
        Err(ChainError::ConfirmationMismatch { member: m, .. }) if m == member
    ));
    let mut padded = first[&member].clone();
    let outsider = *record.leaving.iter().next().unwrap();
    let some_deal = padded.dealt.values().next().unwrap().clone();
    padded.dealt.insert(outsider, some_deal);
    assert!(matches!(
        signed(&mut chain, member, call(padded)),
        Err(ChainError::ConfirmationMismatch { member: m, .. }) if m == member
    ));
    assert_eq!(chain.digest(), before, "refused confirmations change nothing");
    signed(&mut chain, member, call(first[&member].clone())).unwrap();
}

#[test]
fn a_dealer_that_endorsed_two_deals_is_slashed_and_the_retry_goes_on_without_it() {
    // Each confirmation is valid on its own; together they hold two deals endorsed by one
    // dealer in one attempt — its own signatures prove it equivocated. No vote decides which
    // member is right: neither confirmed anything its deals do not give.
    let mut dealer = Dealer::new(13);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let equivocator = *record.staying.iter().next().unwrap();
    let (first, second) = equivocated(&mut dealer, &record, equivocator);
    let mut members = first.keys().copied();
    let (a, b) = (members.next().unwrap(), members.next().unwrap());
    signed(&mut chain, a, confirm_call(&record, first[&a].clone())).unwrap();
    let events = signed(&mut chain, b, confirm_call(&record, second[&b].clone())).unwrap();
    assert!(!rotated(&events));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Equivocation, offenders, .. } if *offenders == vec![equivocator]
    )));
    let slash = chain.state().slashes.last().unwrap();
    assert_eq!(
        (slash.tss, slash.kind, &slash.reason),
        (equivocator, Punishment::Stake, &SlashReason::Equivocation)
    );
    assert!(slash.amount > 0);
    let retry = chain.state().reshare.clone().unwrap();
    assert_eq!(retry.attempt, record.attempt + 1);
    assert!(!retry.participants().contains(&equivocator));
    assert!(rotated(&confirm_all(&mut chain, &mut dealer)));
}

#[test]
fn a_report_naming_everyone_or_one_reporter_alone_excludes_nobody_at_the_deadline() {
    let mut dealer = Dealer::new(12);
    let mut chain = jumpstarted(6, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    let participants = record.participants();
    let reporter = *participants.iter().next().unwrap();
    let everyone_else: Vec<_> = participants.iter().filter(|p| **p != reporter).copied().collect();
    let missing = everyone_else
        .iter()
        .map(|p| silence(*p, AttemptProtocol::AuxGen, 1, false))
        .collect();
    let events = signed(&mut chain, reporter, report_call(&record, missing)).unwrap();
    assert!(!events.iter().any(|e| matches!(e, Event::ReshareAborted { .. })));
    assert_eq!(chain.state().reports[&reporter].len(), everyone_else.len());

    // Nobody confirmed by the deadline: one reporter's word excludes no one.
    let events = advance_to(&mut chain, record.deadline);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ReshareAborted { reason: AbortReason::Deadline, offenders, .. } if offenders.is_empty()
    )));
    assert!(chain.state().slashes.is_empty(), "{:?}", chain.state().slashes);
    let retry = chain.state().reshare.clone().unwrap();
    assert_eq!(retry.attempt, record.attempt + 1);
    assert_eq!(retry.participants(), participants, "retried with everyone");
}

#[test]
fn after_max_attempts_the_chain_waits_for_the_next_session() {
    let mut dealer = Dealer::new(11);
    let mut chain = jumpstarted(9, &mut dealer);
    to_next_session(&mut chain);
    let session = chain.state().session;
    for attempt in 1..=chain.state().params.max_attempts {
        let record = chain.state().reshare.clone().unwrap();
        assert_eq!((record.session, record.attempt), (session, attempt));
        let deadline = record.deadline;
        let events = advance_to(&mut chain, deadline);
        assert!(events.iter().any(|e| matches!(e, Event::ReshareAborted { .. })));
    }
    assert!(chain.state().reshare.is_none());
    assert!(chain.state().slashes.is_empty(), "nobody named, nobody punished");
    // (The attempts outlasted a session boundary, which started nothing while one was in flight.)
    let events = to_next_session(&mut chain);
    assert!(started(&events));
    let next = chain.state().reshare.as_ref().unwrap();
    assert!(next.session > session);
    assert_eq!((next.session, next.attempt), (chain.state().session, 1));
}

#[test]
fn members_that_stopped_validating_leave_first_but_never_more_than_n_minus_t() {
    let mut dealer = Dealer::new(12);
    let mut chain = jumpstarted(8, &mut dealer);
    to_next_session(&mut chain);
    let record = chain.state().reshare.clone().unwrap();
    // Both staying members get excluded for silence (named by t = 2 others each).
    let staying: Vec<_> = record.staying.iter().copied().collect();
    let others: Vec<_> = record
        .new_tss()
        .into_iter()
        .filter(|p| !record.staying.contains(p))
        .collect();
    assert_eq!(others.len(), 1);
    for (accused, reporter) in [(staying[0], staying[1]), (staying[0], others[0])] {
        let missing = vec![silence(accused, AttemptProtocol::Reshare, 2, false)];
        signed(&mut chain, reporter, report_call(&record, missing)).unwrap();
    }
    advance_to(&mut chain, record.deadline);
    let retry = chain.state().reshare.clone().unwrap();
    // n − t = 1 may leave: the excluded member leaves instead of the oldest, who stays.
    assert_eq!(retry.leaving.iter().copied().collect::<Vec<_>>(), vec![staying[0]]);
    assert_eq!(retry.staying.len(), 2);
    assert!(retry.staying.contains(record.leaving.iter().next().unwrap()));
}

#[test]
fn registration_gives_the_same_path_as_keywheel_mpc_and_is_refused_twice() {
    let mut chain = chain_with(3, params());
    let user = stash(9);
    let events = signed(&mut chain, user, Call::Register).unwrap();
    let path = chain.state().registry[&user].clone();
    assert_eq!(
        events,
        vec![Event::Registered {
            account: user,
            path: path.clone()
        }]
    );
    assert_eq!(path, account_path(&user));
    let mpc: Vec<u32> = keywheel_mpc::child_key::account_path(&user)
        .iter()
        .map(|c| c.index())
        .collect();
    assert_eq!(path, mpc);
    assert_eq!(
        signed(&mut chain, user, Call::Register),
        Err(ChainError::AlreadyRegistered(user))
    );
}

#[test]
fn parameters_are_validated_root_only_and_the_committee_shape_is_fixed_after_jumpstart() {
    let mut chain = chain_with(5, params());
    let mut p = params();
    p.threshold = 3;
    assert_eq!(
        signed(&mut chain, stash(1), Call::SetParams { params: p.clone() }),
        Err(ChainError::RootRequired)
    );
    assert!(matches!(
        chain.apply(&TestCrypto, Origin::Root, Call::SetParams { params: p }),
        Err(ChainError::InvalidParams(_))
    ));
    let mut p = params();
    p.session_length = 20;
    chain
        .apply(&TestCrypto, Origin::Root, Call::SetParams { params: p.clone() })
        .unwrap();
    assert_eq!(chain.state().params, p);

    let mut chain = jumpstarted(5, &mut Dealer::new(13));
    let mut p = params();
    p.committee_size = 4;
    assert_eq!(
        chain.apply(&TestCrypto, Origin::Root, Call::SetParams { params: p }),
        Err(ChainError::CommitteeShapeFixed)
    );
}

#[test]
fn staking_errors_are_typed_and_change_nothing() {
    let mut chain = chain_with(3, params());
    let poor = stash(6);
    assert_eq!(
        signed(&mut chain, poor, Call::Bond { amount: FUNDS + 1 }),
        Err(ChainError::InsufficientBalance {
            free: FUNDS,
            needed: FUNDS + 1
        })
    );
    assert_eq!(
        signed(&mut chain, poor, Call::Bond { amount: 0 }),
        Err(ChainError::ZeroAmount)
    );
    assert_eq!(
        signed(&mut chain, poor, validate_call(&poor, 6)),
        Err(ChainError::InsufficientBond {
            bonded: 0,
            needed: 1_000
        })
    );
    signed(&mut chain, poor, Call::Bond { amount: 2_000 }).unwrap();
    let before = chain.digest();
    // Someone else's TSS account (tss(1) is validator 1's): its key did not sign, so refused —
    // whether the declaration is forged, is the victim's own for its stash, or is from another
    // network or for another endpoint or transport key.
    let forged = declare(&poor, tss_info(1), &tss_signer(6));
    let victims_own = validate_call(&stash(1), 1);
    let mut other_endpoint = validate_call(&poor, 1);
    if let Call::Validate { tss, .. } = &mut other_endpoint {
        tss.endpoint = "10.0.0.1:9001".into();
    }
    let mut other_key = validate_call(&poor, 6);
    if let Call::Validate { tss, .. } = &mut other_key {
        tss.x25519 = [66; 32];
    }
    let mut truncated = validate_call(&poor, 6);
    if let Call::Validate { proof, .. } = &mut truncated {
        proof.truncate(63);
    }
    for (call, account) in [
        (forged, tss(1)),
        (victims_own, tss(1)),
        (other_endpoint, tss(1)),
        (other_key, tss(6)),
        (truncated, tss(6)),
    ] {
        assert_eq!(
            signed(&mut chain, poor, call),
            Err(ChainError::UnsignedTssDeclaration(account))
        );
    }
    // The TSS's own key may sign for a second stash, but one TSS serves one validator.
    assert_eq!(
        signed(&mut chain, poor, validate_call(&poor, 1)),
        Err(ChainError::TssAccountTaken(tss(1)))
    );
    // Another validator's transport key, under a TSS account of one's own: refused.
    let copied = TssInfo {
        x25519: tss_info(1).x25519,
        ..tss_info(6)
    };
    assert!(matches!(
        signed(&mut chain, poor, declare(&poor, copied, &tss_signer(6))),
        Err(ChainError::TransportKeyTaken { .. })
    ));
    assert_eq!(chain.digest(), before, "a refused call changes nothing");
    signed(&mut chain, poor, validate_call(&poor, 6)).unwrap();
    assert_eq!(
        signed(&mut chain, poor, Call::Unbond { amount: 1_500 }),
        Err(ChainError::BelowMinimumBond {
            remaining: 500,
            min_bond: 1_000
        })
    );
    assert_eq!(
        chain.on_block(0, [0; 32]),
        Err(ChainError::BlockOutOfOrder { current: 0, given: 0 })
    );
    assert_eq!(
        chain.apply(&TestCrypto, Origin::Root, Call::Chill),
        Err(ChainError::SignedRequired)
    );
}

#[test]
fn unbonding_in_one_block_merges_and_a_stash_holds_at_most_max_unlocking_chunks() {
    // A stash that unbonds one unit per call must not grow its ledger without bound: the
    // rules read every validator's ledger when they pick joiners.
    let mut chain = chain_with(3, params());
    let spammer = stash(6);
    signed(&mut chain, spammer, Call::Bond { amount: 1_000 }).unwrap();
    for _ in 0..3 {
        signed(&mut chain, spammer, Call::Unbond { amount: 1 }).unwrap();
    }
    let ledger = chain.state().ledgers[&spammer].clone();
    assert_eq!(ledger.unlocking.len(), 1, "unbonds in one block share one chunk");
    assert_eq!(ledger.unlocking[0].0, 3);
    let max = keywheel_chain::Ledger::MAX_UNLOCKING as u64;
    for _ in 1..max {
        let next = chain.state().block + 1;
        advance_to(&mut chain, next);
        signed(&mut chain, spammer, Call::Unbond { amount: 1 }).unwrap();
    }
    assert_eq!(chain.state().ledgers[&spammer].unlocking.len(), max as usize);
    let next = chain.state().block + 1;
    advance_to(&mut chain, next);
    let before = chain.digest();
    assert_eq!(
        signed(&mut chain, spammer, Call::Unbond { amount: 1 }),
        Err(ChainError::TooManyUnlockingChunks { max: max as u32 })
    );
    assert_eq!(chain.digest(), before);
    // Once the oldest chunks mature and are withdrawn, unbonding works again.
    let first_until = chain.state().ledgers[&spammer].unlocking[0].1;
    advance_to(&mut chain, first_until);
    signed(&mut chain, spammer, Call::WithdrawUnbonded).unwrap();
    signed(&mut chain, spammer, Call::Unbond { amount: 1 }).unwrap();
}

// The dev node persists its state whole; a runtime keeps the pallet's storage items instead.
#[cfg(not(keywheel_pallet_harness))]
#[test]
fn the_state_survives_serialization_with_the_same_digest() {
    let mut chain = jumpstarted(5, &mut Dealer::new(14));
    to_next_session(&mut chain);
    let bytes = postcard::to_allocvec(chain.state()).unwrap();
    let restored = Chain::from_state(postcard::from_bytes(&bytes).unwrap()).unwrap();
    assert_eq!(restored.digest(), chain.digest());
    assert_eq!(restored, chain);
}

#[test]
fn an_abandoned_jumpstart_can_be_called_again_without_reusing_attempt_numbers() {
    // Long sessions: every attempt and the second call fall in session 0.
    let mut p = params();
    p.session_length = 1_000;
    let mut chain = chain_with(5, p);
    advance_to(&mut chain, 1);
    chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart).unwrap();
    let max = chain.state().params.max_attempts;
    let mut events = Vec::new();
    while chain.state().reshare.is_some() {
        let deadline = chain.state().reshare.as_ref().unwrap().deadline;
        events.extend(advance_to(&mut chain, deadline));
    }
    let aborted = events
        .iter()
        .filter(|e| matches!(e, Event::ReshareAborted { .. }))
        .count();
    assert_eq!(aborted, max as usize);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::ReshareAbandoned { attempts, .. } if *attempts == max)));
    assert!(chain.state().parent_key.is_none());

    // Root tries again in the same session: a fresh run of attempts, numbered on.
    let session = chain.state().session;
    assert_eq!(chain.state().last_attempt, Some((session, max)));
    chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart).unwrap();
    let record = chain.state().reshare.clone().unwrap();
    assert_eq!(
        (record.session, record.attempt, record.first_attempt),
        (session, max + 1, max + 1)
    );
    let events = confirm_all(&mut chain, &mut Dealer::new(15));
    assert!(events.iter().any(|e| matches!(e, Event::ParentKeyCreated { .. })));
}
