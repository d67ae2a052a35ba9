//! What the pallet adds around the rules: call-size and validator limits checked before the
//! rules run, refused calls that leave no trace even when called directly, slashes sent to
//! the runtime's destination, the block randomness it hands the rules, and the weights it
//! charges and needs room for.

use crate::harness::mock::{
    Balances, Keywheel, MaxValidators, RuntimeBlockWeights, RuntimeHoldReason, RuntimeOrigin, SlashDestination, System,
    Test,
};
use crate::support::*;
use frame_support::traits::fungible::{Inspect, InspectHold, MutateHold};
use frame_support::traits::tokens::Precision;
use frame_support::traits::Hooks;
use frame_support::{assert_noop, assert_ok};
use keywheel_chain::{AccountId, Call, Event as RuleEvent, Origin, Punishment, SlashReason};
use pallet_keywheel::{to_runtime, Error, Event, HoldReason, Reshare};
use sp_runtime::{AccountId32, DispatchError};

fn signed(who: AccountId) -> RuntimeOrigin {
    RuntimeOrigin::signed(to_runtime(who))
}

#[test]
fn refused_calls_change_no_storage_even_when_called_directly() {
    let mut chain = chain_with(5, params());
    chain.runtime(|| {
        // The rules refuse: more than the free balance, no stake to unbond, not a validator.
        assert_noop!(
            Keywheel::bond(signed(stash(1)), FUNDS * 10),
            Error::<Test>::InsufficientBalance
        );
        assert_noop!(Keywheel::unbond(signed(stash(7)), 1), Error::<Test>::InsufficientBond);
        assert_noop!(Keywheel::chill(signed(stash(7))), Error::<Test>::NotValidator);
        // The rules decide who may call what: root only, signed only.
        assert_noop!(Keywheel::jumpstart(signed(stash(1))), Error::<Test>::RootRequired);
        assert_noop!(Keywheel::register(RuntimeOrigin::root()), Error::<Test>::SignedRequired);
        // No origin at all is FRAME's to refuse.
        assert_noop!(Keywheel::bond(RuntimeOrigin::none(), 1), DispatchError::BadOrigin);
    });
}

#[test]
fn arguments_larger_than_the_runtime_allows_are_refused_before_the_rules() {
    let mut chain = chain_with(5, params());
    chain.runtime(|| {
        let mut info = tss_info(1);
        info.endpoint = "h".repeat(257);
        assert_noop!(
            Keywheel::validate(signed(stash(1)), info, vec![0; 64]),
            Error::<Test>::TooLarge
        );
        assert_noop!(
            Keywheel::report_offence(signed(tss(1)), 0, 1, tss(2), vec![0; (1 << 20) + 1]),
            Error::<Test>::TooLarge
        );
        let mut p = params();
        p.committee_size = 16;
        p.threshold = 10;
        assert_noop!(Keywheel::set_params(RuntimeOrigin::root(), p), Error::<Test>::TooLarge);
    });
}

/// A confirmation larger than any that verifies is refused by the pallet before the rules and
/// the runtime's `Crypto` see it, so the storage bounds hold whatever `Crypto` a runtime sets.
#[test]
fn a_confirmation_over_the_storage_bound_is_refused_before_the_rules() {
    let mut chain = chain_with(5, params());
    chain.apply(&TestCrypto, Origin::Root, Call::Jumpstart).unwrap();
    let record = chain.state().reshare.clone().expect("the jumpstart's attempt");
    let confirmations = Dealer::new(3).confirmations(&record);
    let (member, valid) = confirmations.into_iter().next().expect("a member");
    let oversized: [fn(&mut keywheel_chain::Confirmation); 5] = [
        |c| c.verifying_key.resize(66, 4),
        |c| c.proof.resize(100, 0),
        |c| c.dealt.values_mut().for_each(|e| e.endorsement.push(0)),
        |c| {
            let first = c.dealt.values_mut().next().unwrap();
            first.commitments.resize(15, vec![2; 33]);
        },
        |c| c.public_shares.values_mut().for_each(|s| s.resize(66, 4)),
    ];
    chain.runtime(|| {
        for grow in oversized {
            let mut confirmation = valid.clone();
            grow(&mut confirmation);
            assert_noop!(
                Keywheel::confirm(signed(member), record.session, record.attempt, confirmation),
                Error::<Test>::TooLarge
            );
        }
        // The confirmation as dealt goes through.
        assert_ok!(Keywheel::confirm(signed(member), record.session, record.attempt, valid));
    });
}

#[test]
fn no_more_stashes_validate_than_the_runtime_allows_and_validators_may_still_update() {
    let mut chain = chain_with(5, params());
    chain.runtime(|| {
        MaxValidators::set(&5);
        let newcomer = stash(6);
        assert_ok!(Keywheel::bond(signed(newcomer), BOND));
        assert_noop!(
            Keywheel::validate(signed(newcomer), tss_info(6), declare_proof(&newcomer, 6)),
            Error::<Test>::TooManyValidators
        );
        // A validator re-declaring its own TSS is not a new validator.
        assert_ok!(Keywheel::validate(
            signed(stash(1)),
            tss_info(1),
            declare_proof(&stash(1), 1)
        ));
        MaxValidators::set(&6);
        assert_ok!(Keywheel::validate(
            signed(newcomer),
            tss_info(6),
            declare_proof(&newcomer, 6)
        ));
    });
}

/// The proof of the `validate` call that `validate_call` builds.
fn declare_proof(stash: &AccountId, i: u8) -> Vec<u8> {
    match validate_call(stash, i) {
        keywheel_chain::Call::Validate { proof, .. } => proof,
        other => panic!("validate_call built {other:?}"),
    }
}

#[test]
fn a_slash_goes_to_the_configured_destination_and_issuance_stays() {
    let mut chain = chain_with(5, params());
    chain.runtime(|| {
        let treasury = AccountId32::new([0xEE; 32]);
        SlashDestination::set(&Some(treasury.clone()));
        System::set_block_number(1);
        Keywheel::on_initialize(1);
        assert_ok!(Keywheel::jumpstart(RuntimeOrigin::root()));
        let record = Reshare::<Test>::get().expect("the jumpstart's attempt");
        let mut members = record.new_tss().into_iter();
        let (reporter, offender) = (members.next().unwrap(), members.next().unwrap());
        let offender_stash = stash(tss_index(&offender));
        let reason: RuntimeHoldReason = HoldReason::Bond.into();
        let issuance = Balances::total_issuance();
        let held = Balances::balance_on_hold(&reason, &to_runtime(offender_stash));

        System::reset_events();
        assert_ok!(Keywheel::report_offence(
            signed(reporter),
            record.session,
            record.attempt,
            offender,
            evidence_for(offender, record.session, record.attempt),
        ));
        let cut = held / 10; // params(): slash_permill 100,000
        let slashed = System::events().into_iter().any(|r| {
            matches!(
                r.event,
                crate::harness::mock::RuntimeEvent::Keywheel(Event::Keywheel(RuleEvent::Slashed { tss, kind: Punishment::Stake, amount, .. }))
                    if tss == offender && amount == cut
            )
        });
        assert!(slashed, "the offender's slash is an event");
        assert_eq!(Balances::balance(&treasury), cut);
        assert_eq!(Balances::balance_on_hold(&reason, &to_runtime(offender_stash)), held - cut);
        assert_eq!(Balances::total_issuance(), issuance, "sent, not burned");
        let record = pallet_keywheel::Slashes::<Test>::get(0).expect("the slash is recorded");
        assert!(matches!(record.reason, SlashReason::Evidence { .. }));
    });
}

#[test]
fn a_32_byte_random_output_is_the_seed_and_other_lengths_are_hashed() {
    type P = pallet_keywheel::Pallet<Test>;
    assert_eq!(P::seed(&[9; 32]), [9; 32]);
    let hashed = P::seed(&[9; 33]);
    assert_ne!(hashed, P::seed(&[9; 34]));
    assert_eq!(hashed, sp_io::hashing::blake2_256(&[9; 33]));
}

#[test]
fn a_call_the_rules_refuse_after_writing_leaves_nothing_when_called_directly() {
    let mut chain = chain_with(5, params());
    chain.runtime(|| {
        let who = stash(6);
        assert_ok!(Keywheel::bond(signed(who), 2_000));
        assert_ok!(Keywheel::unbond(signed(who), 500));
        // Something else takes the stake off hold behind the ledger's back.
        let reason: RuntimeHoldReason = HoldReason::Bond.into();
        assert_ok!(<Balances as MutateHold<_>>::release(
            &reason,
            &to_runtime(who),
            1_900,
            Precision::Exact
        ));
        let until = pallet_keywheel::Ledgers::<Test>::get(who).unwrap().unlocking[0].1;
        System::set_block_number(until);
        Keywheel::on_initialize(until);
        // The rules drop the matured entry from the ledger, then the release fails: the
        // storage layer FRAME puts around every dispatchable's body undoes the ledger's write,
        // with no runtime dispatch here.
        assert_noop!(
            Keywheel::withdraw_unbonded(signed(who)),
            Error::<Test>::StakeUnavailable
        );
    });
}

/// The harness's bound check fails on a stored value over its item's `MaxEncodedLen`: an
/// endpoint longer than `MaxEndpointLen`, written past the checks that keep it out.
#[test]
fn a_value_over_its_bound_is_caught() {
    let mut chain = chain_with(3, params());
    chain.runtime(|| {
        assert_eq!(crate::harness::check_bounds(), Ok(()));
        let (who, mut tss) = pallet_keywheel::Validators::<Test>::iter().next().expect("a validator");
        tss.endpoint = "9".repeat(300);
        pallet_keywheel::Validators::<Test>::insert(who, tss);
        let caught = crate::harness::check_bounds().expect_err("an endpoint over MaxEndpointLen");
        assert!(caught.contains("Validators"), "{caught}");
    });
}

#[test]
fn a_block_is_charged_the_weight_of_the_path_it_took() {
    use pallet_keywheel::weights::{SubstrateWeight, WeightInfo};
    type W = SubstrateWeight<Test>;
    let n = params().committee_size;
    let mut chain = jumpstarted(5, &mut Dealer::new(1));
    let session_length = params().session_length;

    // Inside a session with no attempt in flight: nothing starts, nothing ends.
    let block = chain.state().block + 1;
    assert!(!block.is_multiple_of(session_length));
    assert_eq!(chain.on_block(block, randomness(block)).unwrap(), vec![]);
    assert_eq!(chain.last_block_weight, W::on_initialize_idle());

    // The next session's first block starts its rotation.
    let block = session_length * (chain.state().session as u64 + 1);
    advance_to(&mut chain, block - 1);
    let events = chain.on_block(block, randomness(block)).unwrap();
    assert!(events.iter().any(|e| matches!(e, RuleEvent::ReshareStarted { .. })));
    assert_eq!(chain.last_block_weight, W::on_initialize_session(n));

    // Nobody confirms: at the deadline the attempt ends.
    let deadline = chain.state().reshare.as_ref().expect("a rotation").deadline;
    advance_to(&mut chain, deadline - 1);
    assert_eq!(chain.last_block_weight, W::on_initialize_idle());
    let events = chain.on_block(deadline, randomness(deadline)).unwrap();
    assert!(events.iter().any(|e| matches!(e, RuleEvent::ReshareAborted { .. })));
    assert_eq!(chain.last_block_weight, W::on_initialize_deadline(n));
    assert!(W::on_initialize_idle().all_lt(W::on_initialize_session(n)));
}

/// A runtime whose blocks cannot hold a report with AuxGen evidence would let an AuxGen cheater
/// go free (and its victim, unable to confirm, be excluded): `integrity_test` refuses it.
#[test]
fn a_runtime_whose_blocks_cannot_hold_the_dearest_call_is_refused() {
    let roomy = RuntimeBlockWeights::get();
    assert_eq!(Keywheel::check_block_room(), Ok(()));
    <Keywheel as Hooks<u64>>::integrity_test();

    // FRAME's default: one second per block, 65 % of it for one normal extrinsic.
    RuntimeBlockWeights::set(frame_system::limits::BlockWeights::default());
    let why = Keywheel::check_block_room().expect_err("a 1 s block has no room for AuxGen evidence");
    assert!(why.contains("report_offence (Paillier evidence)"), "{why}");
    let refused = std::panic::catch_unwind(<Keywheel as Hooks<u64>>::integrity_test);
    RuntimeBlockWeights::set(roomy);
    let message = refused.expect_err("integrity_test must refuse the runtime");
    let message = message.downcast_ref::<String>().expect("a formatted panic message");
    assert!(message.contains("Paillier evidence"), "{message}");
}
