//! Benchmarks (`frame-benchmarking` v2) of every dispatchable and of a block's processing, each at
//! its worst case:
//!
//! - the network is as large as the runtime allows: [`Config::MaxValidators`] validators (the
//!   rules read them all to check a transport key and to pick joiners), a committee of `n` up to
//!   [`Config::MaxCommitteeSize`] at threshold `n - 1` (the most work per deal);
//! - `confirm` is measured on the paths that cost the most: the last confirmation of a jumpstart
//!   (every member deals) that must still compute the shares from the deals (the earlier ones
//!   carry other endorsement bytes, as a dealer that endorses twice makes them) and then
//!   rotates; one that catches every dealer equivocating; and one that is the last word of an
//!   attempt every other member reported on;
//! - a judgement (`confirm_settle`, `report_unresponsive`, a deadline in `on_initialize`) reads
//!   every report a rotation's members can make, judges `n - 1` members, slashes them and
//!   retries, which picks a new joiner among every validator;
//! - `report_offence` verifies real evidence at the largest committee, padded to the evidence
//!   length: of a resharing fault (curve arithmetic, `report_offence`) and of an AuxGen fault
//!   (Paillier proofs, `report_offence_paillier`), the two classes of
//!   [`keywheel_chain::EvidenceCost`], charged by the class of the evidence at hand;
//! - a block's processing is measured per path: nothing, a session's rotation planned, a
//!   deadline's judgement.
//!
//! The state is made through the rules themselves (bond, validate, jumpstart, confirm, report,
//! blocks), so it is a state the chain can reach; only time (`LastBlock`) is moved by hand, and
//! `confirm`'s earlier confirmations are altered after they were accepted. Signatures,
//! confirmations and evidence that the runtime's [`Config::Crypto`] accepts come from
//! [`Config::BenchmarkHelper`].

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec;
use alloc::vec::Vec;

use frame_benchmarking::v2::*;
use frame_support::traits::fungible::Mutate;
use frame_support::traits::{Get, Hooks};
use frame_system::RawOrigin;
use keywheel_chain::{
    tss_declaration, AccountId as KeywheelAccount, AttemptProtocol, Crypto, EvidenceCost, Ledger, OffenceContext,
    Params, ReportedRound, ReshareKind, ReshareRecord, Silence, TssInfo, TSS_DECLARATION,
};
use sp_runtime::AccountId32;

use crate::account::{from_runtime, to_runtime};
use crate::benchmark_helper::BenchmarkHelper;
use crate::pallet::*;

/// What every benchmark account holds.
const FUNDS: u128 = 1 << 96;
/// Each validator's bond.
const BOND: u128 = 1 << 40;

/// The parameters for a committee of `n` at threshold `n - 1`.
fn params(n: u32) -> Params {
    Params {
        committee_size: n,
        threshold: n - 1,
        session_length: 10,
        reshare_deadline: 5,
        max_attempts: 3,
        slash_permill: 100_000,
        barred_sessions: 2,
        unbonding_period: 10,
        min_bond: 1_000,
    }
}

/// Benchmark stash `i`, funded.
fn stash<T: Config>(i: u32) -> AccountId32 {
    let who: AccountId32 = account("stash", i, 0);
    T::Currency::set_balance(&who, FUNDS);
    who
}

/// TSS `i`'s declaration for `stash`, with an endpoint of `endpoint_len` bytes.
fn declaration<T: Config>(i: u32, stash: &AccountId32, endpoint_len: u32) -> (TssInfo, Vec<u8>) {
    let mut x25519 = [0xee; 32];
    x25519[..4].copy_from_slice(&i.to_le_bytes());
    let endpoint = "9".repeat(endpoint_len.max(1) as usize);
    let tss = TssInfo {
        account: T::BenchmarkHelper::tss(i),
        endpoint,
        x25519,
    };
    let message = tss_declaration(&Network::<T>::get(), &from_runtime(stash), &tss.endpoint, &tss.x25519);
    let proof = T::BenchmarkHelper::sign(i, TSS_DECLARATION, &message);
    (tss, proof)
}

fn ok(result: frame_support::dispatch::DispatchResult, what: &'static str) -> Result<(), BenchmarkError> {
    result.map_err(|_| BenchmarkError::Stop(what))
}

/// A network built through the rules: its validators and their TSS indices.
struct Net {
    /// Validator `i`'s stash.
    stashes: Vec<AccountId32>,
    /// TSS account → `i`.
    signers: BTreeMap<KeywheelAccount, u32>,
}

impl Net {
    /// `count` stashes bonded and validating, and the parameters of a committee of `n`.
    fn new<T: Config>(count: u32, n: u32) -> Result<Self, BenchmarkError> {
        ok(Pallet::<T>::set_params(RawOrigin::Root.into(), params(n)), "set_params")?;
        let mut net = Net {
            stashes: Vec::new(),
            signers: BTreeMap::new(),
        };
        for i in 0..count {
            let who = stash::<T>(i);
            ok(Pallet::<T>::bond(RawOrigin::Signed(who.clone()).into(), BOND), "bond")?;
            let (tss, proof) = declaration::<T>(i, &who, 16);
            net.signers.insert(tss.account, i);
            ok(
                Pallet::<T>::validate(RawOrigin::Signed(who.clone()).into(), tss, proof),
                "validate",
            )?;
            net.stashes.push(who);
        }
        Ok(net)
    }

    /// Every new member of the attempt in flight confirms but those in `except`.
    fn confirm_all<T: Config>(&self, except: &BTreeSet<KeywheelAccount>) -> Result<ReshareRecord, BenchmarkError> {
        let record = Reshare::<T>::get()
            .ok_or(BenchmarkError::Stop("no attempt in flight"))?
            .into_inner();
        let confirmations = T::BenchmarkHelper::confirmations(&Network::<T>::get(), &record, &self.signers, 0);
        for (member, confirmation) in confirmations.into_iter().filter(|(m, _)| !except.contains(m)) {
            ok(
                Pallet::<T>::confirm(
                    RawOrigin::Signed(to_runtime(member)).into(),
                    record.session,
                    record.attempt,
                    confirmation,
                ),
                "confirm",
            )?;
        }
        Ok(record)
    }

    /// Jumpstarts and confirms the key into being; the first block of the next session.
    fn keyed<T: Config>(&self) -> Result<u64, BenchmarkError> {
        ok(Pallet::<T>::jumpstart(RawOrigin::Root.into()), "jumpstart")?;
        self.confirm_all::<T>(&BTreeSet::new())?;
        if ParentKey::<T>::get().is_none() {
            return Err(BenchmarkError::Stop("the jumpstart did not rotate"));
        }
        Ok(ChainParams::<T>::get().session_length * (CurrentSession::<T>::get() as u64 + 1))
    }

    /// [`Self::keyed`], then the next session's block starts a rotation.
    fn rotating<T: Config>(&self) -> Result<ReshareRecord, BenchmarkError> {
        let session_start = self.keyed::<T>()?;
        keywheel_chain::on_block(&mut Pallet::<T>::store(), session_start, [7; 32])
            .map_err(|_| BenchmarkError::Stop("the session's block"))?;
        match Reshare::<T>::get() {
            Some(record) if record.kind == ReshareKind::Rotation => Ok(record.into_inner()),
            _ => Err(BenchmarkError::Stop("no rotation started")),
        }
    }
}

/// A stash that is not in the committee (nor joining it).
fn outsider<T: Config>(net: &Net) -> Result<AccountId32, BenchmarkError> {
    net.stashes
        .iter()
        .find(|s| !keywheel_chain::rules::is_committee_member(&Pallet::<T>::store(), &from_runtime(s)))
        .cloned()
        .ok_or(BenchmarkError::Stop("every validator is a member"))
}

/// `m` distinct silence claims that a rotation's `reporter` can make about `record`'s
/// participants but those in `spared`, naming `first` first (repeated once every distinct claim
/// is used).
fn silences(
    record: &ReshareRecord,
    reporter: &KeywheelAccount,
    first: &KeywheelAccount,
    spared: &BTreeSet<KeywheelAccount>,
    m: u32,
) -> Vec<Silence> {
    let mut parties = vec![*first];
    parties.extend(
        record
            .participants()
            .into_iter()
            .filter(|p| p != first && p != reporter && !spared.contains(p)),
    );
    let mut all = Vec::new();
    for party in parties {
        for protocol in [AttemptProtocol::Reshare, AttemptProtocol::AuxGen] {
            for echo in [false, true] {
                for number in 1..=ReportedRound::MAX_NUMBER {
                    let deal = protocol == AttemptProtocol::Reshare && number == 2 && !echo;
                    if deal && !record.staying.contains(&party) {
                        continue;
                    }
                    all.push(Silence {
                        party,
                        round: ReportedRound { protocol, number, echo },
                    });
                }
            }
        }
    }
    all.iter().cycle().take(m as usize).copied().collect()
}

/// In the largest network, a jumpstart of a committee of `n` that every new member but the last
/// has confirmed; the last one. (A jumpstart, not a rotation: every new member deals in it, one
/// dealer more than in a rotation, and it creates the parent key as it rotates.)
fn awaiting_last<T: Config>(n: u32) -> Result<(Net, ReshareRecord, KeywheelAccount), BenchmarkError> {
    let net = Net::new::<T>(T::MaxValidators::get(), n)?;
    ok(Pallet::<T>::jumpstart(RawOrigin::Root.into()), "jumpstart")?;
    let record = Reshare::<T>::get()
        .ok_or(BenchmarkError::Stop("no jumpstart in flight"))?
        .into_inner();
    let last = *record
        .new_tss()
        .iter()
        .next_back()
        .ok_or(BenchmarkError::Stop("a committee"))?;
    net.confirm_all::<T>(&BTreeSet::from([last]))?;
    Ok((net, record, last))
}

/// The first new member of `record` confirms; the others, in order.
fn one_confirms<T: Config>(
    net: &Net,
    record: &ReshareRecord,
) -> Result<(KeywheelAccount, Vec<KeywheelAccount>), BenchmarkError> {
    let confirmer = *record.new_tss().first().ok_or(BenchmarkError::Stop("a committee"))?;
    let others: Vec<KeywheelAccount> = record.new_tss().into_iter().filter(|m| *m != confirmer).collect();
    net.confirm_all::<T>(&others.iter().copied().collect())?;
    Ok((confirmer, others))
}

/// Each of `reporters` reports every claim it can make about `record`'s participants but
/// `spared`.
fn full_reports<T: Config>(
    record: &ReshareRecord,
    reporters: &[KeywheelAccount],
    spared: &KeywheelAccount,
) -> Result<(), BenchmarkError> {
    let all = record.participants().len() as u32 * 6 * ReportedRound::MAX_NUMBER as u32;
    let spared = BTreeSet::from([*spared]);
    for reporter in reporters {
        let first = record
            .participants()
            .into_iter()
            .find(|p| p != reporter && !spared.contains(p))
            .ok_or(BenchmarkError::Stop("a party to name"))?;
        ok(
            Pallet::<T>::report_unresponsive(
                RawOrigin::Signed(to_runtime(*reporter)).into(),
                record.session,
                record.attempt,
                silences(record, reporter, &first, &spared, all),
            ),
            "report_unresponsive",
        )?;
    }
    Ok(())
}

/// The `report_offence` benchmarks' state: in the largest network, a rotation to a committee of
/// `MaxCommitteeSize`; the reporter, the record, the offender and evidence against it whose
/// check costs `cost`, of about `len` bytes.
fn offence<T: Config>(
    cost: EvidenceCost,
    len: u32,
) -> Result<(KeywheelAccount, ReshareRecord, KeywheelAccount, Vec<u8>), BenchmarkError> {
    let net = Net::new::<T>(T::MaxValidators::get(), T::MaxCommitteeSize::get())?;
    let record = net.rotating::<T>()?;
    let (reporter, offender) = offence_parties(&record)?;
    let sharing = CurrentSharing::<T>::get().map(|s| s.into_inner());
    let offence = OffenceContext {
        reshare: &record,
        old_sharing: sharing.as_ref(),
        attempt_context: keywheel_chain::attempt_context(&Network::<T>::get(), record.session, record.attempt),
    };
    let evidence = T::BenchmarkHelper::evidence(&offence, &offender, cost, len).ok_or(BenchmarkError::Stop(
        "the benchmark helper has no evidence against this offender in this attempt",
    ))?;
    if T::Crypto::default().evidence_cost(&evidence) != cost {
        return Err(BenchmarkError::Stop("the evidence costs another class than it should"));
    }
    Ok((reporter, record, offender, evidence))
}

/// Who reports whom in the `report_offence` benchmark: the first and the second staying member.
fn offence_parties(record: &ReshareRecord) -> Result<(KeywheelAccount, KeywheelAccount), BenchmarkError> {
    let mut staying = record.staying.iter().copied();
    match (staying.next(), staying.next()) {
        (Some(reporter), Some(offender)) => Ok((reporter, offender)),
        _ => Err(BenchmarkError::Stop("two staying members")),
    }
}

/// In the largest network with a rotation in flight, a validator outside the committee that
/// has unbonded in `entries` blocks in a row, one unlocking entry each; and the first of them.
fn unbonding_outsider<T: Config>(entries: u64) -> Result<(AccountId32, u64), BenchmarkError> {
    let net = Net::new::<T>(T::MaxValidators::get(), T::MaxCommitteeSize::get())?;
    net.rotating::<T>()?;
    let who = outsider::<T>(&net)?;
    let start = LastBlock::<T>::get();
    for k in 0..entries {
        set_block::<T>(start + k);
        ok(Pallet::<T>::unbond(RawOrigin::Signed(who.clone()).into(), 1), "unbond")?;
    }
    Ok((who, start))
}

/// Moves the rules' clock to `block` (only unbonding looks at it in these benchmarks).
fn set_block<T: Config>(block: u64) {
    LastBlock::<T>::put(block);
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn bond() {
        let who = stash::<T>(0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), BOND);
        assert_eq!(Ledgers::<T>::get(from_runtime(&who)).map(|l| l.bonded), Some(BOND));
    }

    #[benchmark]
    fn validate() -> Result<(), BenchmarkError> {
        let max = T::MaxValidators::get();
        let n = T::MaxCommitteeSize::get();
        let net = Net::new::<T>(max - 1, n)?;
        net.rotating::<T>()?;
        let who = stash::<T>(max - 1);
        ok(Pallet::<T>::bond(RawOrigin::Signed(who.clone()).into(), BOND), "bond")?;
        let (tss, proof) = declaration::<T>(max - 1, &who, T::MaxEndpointLen::get());
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), tss, proof);
        assert!(Validators::<T>::contains_key(from_runtime(&who)));
        Ok(())
    }

    #[benchmark]
    fn chill() -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), T::MaxCommitteeSize::get())?;
        net.rotating::<T>()?;
        let who = outsider::<T>(&net)?;
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()));
        assert!(!Validators::<T>::contains_key(from_runtime(&who)));
        Ok(())
    }

    #[benchmark]
    fn unbond() -> Result<(), BenchmarkError> {
        // One entry short of the most: the call adds the last one.
        let (who, start) = unbonding_outsider::<T>(Ledger::MAX_UNLOCKING as u64 - 1)?;
        set_block::<T>(start + Ledger::MAX_UNLOCKING as u64);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()), 1);
        let ledger = Ledgers::<T>::get(from_runtime(&who)).unwrap_or_default();
        assert_eq!(ledger.unlocking.len(), Ledger::MAX_UNLOCKING);
        Ok(())
    }

    #[benchmark]
    fn withdraw_unbonded() -> Result<(), BenchmarkError> {
        let (who, start) = unbonding_outsider::<T>(Ledger::MAX_UNLOCKING as u64)?;
        set_block::<T>(start + Ledger::MAX_UNLOCKING as u64 + ChainParams::<T>::get().unbonding_period);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()));
        let ledger = Ledgers::<T>::get(from_runtime(&who)).unwrap_or_default();
        assert!(ledger.unlocking.is_empty());
        Ok(())
    }

    #[benchmark]
    fn register() {
        let who = stash::<T>(0);
        #[extrinsic_call]
        _(RawOrigin::Signed(who.clone()));
        assert!(Registry::<T>::contains_key(from_runtime(&who)));
    }

    #[benchmark]
    fn jumpstart(n: Linear<3, { T::MaxCommitteeSize::get() }>) -> Result<(), BenchmarkError> {
        Net::new::<T>(T::MaxValidators::get(), n)?;
        #[extrinsic_call]
        _(RawOrigin::Root);
        assert_eq!(Reshare::<T>::get().map(|r| r.new_committee.len() as u32), Some(n));
        Ok(())
    }

    #[benchmark]
    fn set_params() {
        let new = params(T::MaxCommitteeSize::get());
        #[extrinsic_call]
        _(RawOrigin::Root, new.clone());
        assert_eq!(ChainParams::<T>::get(), new);
    }

    #[benchmark]
    fn confirm(n: Linear<3, { T::MaxCommitteeSize::get() }>) -> Result<(), BenchmarkError> {
        let (net, record, last) = awaiting_last::<T>(n)?;
        let confirmations = T::BenchmarkHelper::confirmations(&Network::<T>::get(), &record, &net.signers, 0);
        // The earlier confirmations carry other endorsement bytes for the same commitments, so
        // the last one's shares must be computed from its deals, not taken from theirs.
        for (member, mut confirmation) in Confirmations::<T>::iter().collect::<Vec<_>>() {
            for endorsed in confirmation.dealt.values_mut() {
                if let Some(byte) = endorsed.endorsement.last_mut() {
                    *byte ^= 1;
                }
            }
            Confirmations::<T>::insert(member, confirmation);
        }
        let confirmation = confirmations[&last].clone();
        #[extrinsic_call]
        _(
            RawOrigin::Signed(to_runtime(last)),
            record.session,
            record.attempt,
            confirmation,
        );
        assert!(Reshare::<T>::get().is_none());
        assert!(ParentKey::<T>::get().is_some(), "the parent key is created");
        let committee: BTreeSet<KeywheelAccount> = Committee::<T>::get().iter().map(|m| m.tss).collect();
        assert_eq!(committee, record.new_tss(), "the committee rotated in");
        Ok(())
    }

    /// The last confirmation carries another sharing of the key, dealt by the same dealers:
    /// its shares are computed from its deals, and every dealer is caught endorsing two deals,
    /// so each loses stake and the attempt ends.
    #[benchmark]
    fn confirm_equivocation(n: Linear<3, { T::MaxCommitteeSize::get() }>) -> Result<(), BenchmarkError> {
        let (net, record, last) = awaiting_last::<T>(n)?;
        let other = T::BenchmarkHelper::confirmations(&Network::<T>::get(), &record, &net.signers, 1);
        let confirmation = other[&last].clone();
        #[extrinsic_call]
        confirm(
            RawOrigin::Signed(to_runtime(last)),
            record.session,
            record.attempt,
            confirmation,
        );
        assert_eq!(SlashCount::<T>::get() as usize, record.dealers().len(), "every dealer");
        assert!(Reshare::<T>::get().is_none_or(|r| r.attempt > record.attempt));
        Ok(())
    }

    /// The only confirmation of an attempt in which every other new member has reported
    /// every claim it can make about the others: its shares are computed from its deals, then
    /// everyone has spoken, so the chain reads every report, judges the `n - 1` that did not
    /// confirm, slashes them, and retries.
    #[benchmark]
    fn confirm_settle(n: Linear<3, { T::MaxCommitteeSize::get() }>) -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), n)?;
        let record = net.rotating::<T>()?;
        let confirmer = *record.new_tss().first().ok_or(BenchmarkError::Stop("a committee"))?;
        let reporters: Vec<KeywheelAccount> = record.new_tss().into_iter().filter(|m| *m != confirmer).collect();
        full_reports::<T>(&record, &reporters, &confirmer)?;
        let confirmation = T::BenchmarkHelper::confirmations(&Network::<T>::get(), &record, &net.signers, 0)
            .remove(&confirmer)
            .ok_or(BenchmarkError::Stop("a confirmation"))?;
        #[extrinsic_call]
        confirm(
            RawOrigin::Signed(to_runtime(confirmer)),
            record.session,
            record.attempt,
            confirmation,
        );
        assert_eq!(SlashCount::<T>::get(), n - 1);
        assert_eq!(Reshare::<T>::get().map(|r| r.attempt), Some(record.attempt + 1));
        Ok(())
    }

    #[benchmark]
    fn report_offence(e: Linear<0, { T::MaxEvidenceLen::get() }>) -> Result<(), BenchmarkError> {
        let (reporter, record, offender, evidence) = offence::<T>(EvidenceCost::Curve, e)?;
        #[extrinsic_call]
        _(
            RawOrigin::Signed(to_runtime(reporter)),
            record.session,
            record.attempt,
            offender,
            evidence,
        );
        assert_eq!(SlashCount::<T>::get(), 1);
        assert_eq!(Reshare::<T>::get().map(|r| r.attempt), Some(record.attempt + 1));
        Ok(())
    }

    #[benchmark]
    fn report_offence_paillier(e: Linear<0, { T::MaxEvidenceLen::get() }>) -> Result<(), BenchmarkError> {
        let (reporter, record, offender, evidence) = offence::<T>(EvidenceCost::Paillier, e)?;
        #[extrinsic_call]
        report_offence(
            RawOrigin::Signed(to_runtime(reporter)),
            record.session,
            record.attempt,
            offender,
            evidence,
        );
        assert_eq!(SlashCount::<T>::get(), 1);
        assert_eq!(Reshare::<T>::get().map(|r| r.attempt), Some(record.attempt + 1));
        Ok(())
    }

    #[benchmark]
    fn report_unresponsive(
        m: Linear<1, { T::MaxCommitteeSize::get() * 6 * ReportedRound::MAX_NUMBER as u32 }>,
    ) -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), T::MaxCommitteeSize::get())?;
        let record = net.rotating::<T>()?;
        // One member confirms, and every other one but the reporter has reported every claim
        // it can make about the others: this report is the last word, so the chain reads every
        // report, judges the `n - 1` that did not confirm (none is named by enough of the
        // others to be silent), slashes them, and retries.
        let (confirmer, reporters) = one_confirms::<T>(&net, &record)?;
        let (reporter, others) = reporters.split_last().ok_or(BenchmarkError::Stop("a reporter"))?;
        full_reports::<T>(&record, others, &confirmer)?;
        let first = others.first().ok_or(BenchmarkError::Stop("two reporters"))?;
        let missing = silences(&record, reporter, first, &BTreeSet::from([confirmer]), m);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(to_runtime(*reporter)),
            record.session,
            record.attempt,
            missing,
        );
        assert_eq!(SlashCount::<T>::get(), T::MaxCommitteeSize::get() - 1);
        assert_eq!(Reshare::<T>::get().map(|r| r.attempt), Some(record.attempt + 1));
        Ok(())
    }

    #[benchmark]
    fn on_initialize_idle() -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), T::MaxCommitteeSize::get())?;
        let record = net.rotating::<T>()?;
        let block: u32 = (LastBlock::<T>::get() + 1)
            .try_into()
            .map_err(|_| BenchmarkError::Stop("block"))?;
        #[block]
        {
            Pallet::<T>::on_initialize(block.into());
        }
        assert_eq!(LastBlock::<T>::get(), block as u64);
        assert_eq!(Reshare::<T>::get().map(|r| r.into_inner()), Some(record));
        Ok(())
    }

    #[benchmark]
    fn on_initialize_session(n: Linear<3, { T::MaxCommitteeSize::get() }>) -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), n)?;
        let session_start: u32 = net
            .keyed::<T>()?
            .try_into()
            .map_err(|_| BenchmarkError::Stop("block"))?;
        #[block]
        {
            Pallet::<T>::on_initialize(session_start.into());
        }
        match Reshare::<T>::get() {
            Some(record) if record.kind == ReshareKind::Rotation => Ok(()),
            _ => Err(BenchmarkError::Stop("no rotation started")),
        }
    }

    #[benchmark]
    fn on_initialize_deadline(n: Linear<3, { T::MaxCommitteeSize::get() }>) -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), n)?;
        let record = net.rotating::<T>()?;
        // One member confirms, one says nothing, and every other one has reported every claim
        // it can make about the others (so the attempt does not settle before its deadline).
        // At the deadline the chain reads every report, judges the `n - 1` that did not
        // confirm, slashes them, and retries.
        let (confirmer, mut reporters) = one_confirms::<T>(&net, &record)?;
        reporters.pop();
        full_reports::<T>(&record, &reporters, &confirmer)?;
        if Reshare::<T>::get().map(|r| r.attempt) != Some(record.attempt) {
            return Err(BenchmarkError::Stop("the attempt settled before its deadline"));
        }
        let deadline: u32 = record.deadline.try_into().map_err(|_| BenchmarkError::Stop("block"))?;
        #[block]
        {
            Pallet::<T>::on_initialize(deadline.into());
        }
        assert_eq!(SlashCount::<T>::get(), n - 1);
        assert_eq!(Reshare::<T>::get().map(|r| r.attempt), Some(record.attempt + 1));
        Ok(())
    }

    // The suite runs every benchmark at its components' extremes, with its checks, in the mock
    // runtime below (the real `MpcCrypto`).
    #[cfg(feature = "mpc-crypto")]
    impl_benchmark_test_suite!(
        Pallet,
        crate::benchmarking::mock::new_test_ext(),
        crate::benchmarking::mock::Test
    );
}

/// The runtime a runtime author would write, for the benchmark test suite: `frame_system`,
/// `pallet_balances` and this pallet with the real [`crate::MpcCrypto`] and
/// [`crate::benchmark_helper::MpcBenchmarkHelper`].
#[cfg(all(test, feature = "mpc-crypto"))]
pub mod mock {
    use frame_support::traits::{ConstU128, ConstU32, Randomness};
    use frame_support::{derive_impl, parameter_types};
    use sp_core::H256;
    use sp_runtime::{AccountId32, BuildStorage};

    use crate as pallet_keywheel;

    type Block = frame_system::mocking::MockBlock<Test>;

    frame_support::construct_runtime!(
        pub enum Test {
            System: frame_system,
            Balances: pallet_balances,
            Keywheel: pallet_keywheel,
        }
    );

    parameter_types! {
        /// Room for the dearest call (`integrity_test`), as in the pallet's test runtime.
        pub RuntimeBlockWeights: frame_system::limits::BlockWeights =
            frame_system::limits::BlockWeights::with_sensible_defaults(
                frame_support::weights::Weight::from_parts(
                    6 * frame_support::weights::constants::WEIGHT_REF_TIME_PER_SECOND,
                    u64::MAX,
                ),
                sp_runtime::Perbill::from_percent(75),
            );
    }

    #[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
    impl frame_system::Config for Test {
        type BlockWeights = RuntimeBlockWeights;
        type Block = Block;
        type AccountId = AccountId32;
        type Lookup = sp_runtime::traits::IdentityLookup<AccountId32>;
        type AccountData = pallet_balances::AccountData<u128>;
    }

    #[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
    impl pallet_balances::Config for Test {
        type Balance = u128;
        type AccountStore = System;
        type ExistentialDeposit = ConstU128<1>;
        type RuntimeHoldReason = RuntimeHoldReason;
    }

    parameter_types! {
        pub const NoSlashDestination: Option<AccountId32> = None;
    }

    impl crate::Config for Test {
        type RuntimeEvent = RuntimeEvent;
        type Currency = Balances;
        type RuntimeHoldReason = RuntimeHoldReason;
        type Randomness = SubjectRandomness;
        type Crypto = crate::MpcCrypto;
        type SlashDestination = NoSlashDestination;
        type MaxCommitteeSize = ConstU32<15>;
        type MaxEvidenceLen = ConstU32<{ 1 << 20 }>;
        type MaxEndpointLen = ConstU32<256>;
        type MaxValidators = ConstU32<100>;
        type WeightInfo = crate::weights::SubstrateWeight<Test>;
        type BenchmarkHelper = crate::benchmark_helper::MpcBenchmarkHelper;
    }

    /// Test only: randomness that depends on the subject alone (a runtime uses BABE's or
    /// similar).
    pub struct SubjectRandomness;

    impl Randomness<H256, u64> for SubjectRandomness {
        fn random(subject: &[u8]) -> (H256, u64) {
            (H256(sp_io::hashing::blake2_256(subject)), 0)
        }
    }

    /// A new chain whose network id is set (genesis with no validators).
    pub fn new_test_ext() -> sp_io::TestExternalities {
        let storage = RuntimeGenesisConfig {
            keywheel: crate::GenesisConfig {
                network: [7; 32],
                params: super::params(3),
                validators: Vec::new(),
                _config: Default::default(),
            },
            ..Default::default()
        }
        .build_storage()
        .expect("the genesis builds");
        storage.into()
    }
}

/// What an offence report is charged, with the real `MpcCrypto`.
#[cfg(all(test, feature = "mpc-crypto"))]
mod charge {
    use frame_support::dispatch::GetDispatchInfo;

    use super::mock::Test;
    use crate::benchmark_helper::{AUX_GEN_EVIDENCE, RESHARE_EVIDENCE};
    use crate::weights::{SubstrateWeight, WeightInfo};

    fn charged(evidence: &[u8]) -> frame_support::weights::Weight {
        let call = crate::Call::<Test>::report_offence {
            session: 1,
            attempt: 1,
            offender: crate::benchmark_helper::signer(0).account(),
            evidence: evidence.to_vec(),
        };
        call.get_dispatch_info().call_weight
    }

    #[test]
    fn an_offence_report_is_charged_by_what_its_evidence_costs_to_check() {
        type W = SubstrateWeight<Test>;
        let paillier = charged(AUX_GEN_EVIDENCE);
        assert_eq!(paillier, W::report_offence_paillier(AUX_GEN_EVIDENCE.len() as u32));
        assert_eq!(
            charged(RESHARE_EVIDENCE),
            W::report_offence(RESHARE_EVIDENCE.len() as u32)
        );
        // Bytes that are no evidence at all fail before any check.
        assert_eq!(charged(&[0xff; 64]), W::report_offence(64));
        // The same bytes as the AuxGen evidence, but not AuxGen evidence: curve-priced.
        let mut other_kind = AUX_GEN_EVIDENCE.to_vec();
        other_kind[0] ^= 0xff;
        assert_eq!(charged(&other_kind), W::report_offence(other_kind.len() as u32));
        assert!(W::report_offence(0).ref_time() < paillier.ref_time());
    }
}

/// Records the evidence `MpcBenchmarkHelper` hands the `report_offence` benchmarks: builds their
/// state in the mock runtime (the same limits as `bench-runtime`), runs the attempt's protocols
/// for real (`keywheel-mpc`, production parameters, in-process) with the offender cheating,
/// and stores what an honest member names it with: the dearest resharing fault to check (a
/// subshare that does not match its commitments) and the dearest AuxGen one (a `Π^mod` proof
/// spoiled in its last element). It times the chain's check of each, natively. Run by hand
/// when the benchmark state changes (about six minutes: AuxGen for 15 at production
/// parameters):
/// `cargo test -p pallet-keywheel --lib -- --ignored --nocapture record_the_report_offence_evidence`.
#[cfg(all(test, feature = "mpc-crypto"))]
mod record {
    use std::future::Future;
    use std::time::Duration;
    use tokio::time::Instant;

    use keywheel_chain::Crypto;
    use keywheel_mpc::dealer::{encoded_public_shares, Dealer};
    use keywheel_mpc::driver::{Fault, Outcome};
    use keywheel_mpc::evidence::EvidenceBlob;
    use keywheel_mpc::local_net::LocalNetwork;
    use keywheel_mpc::misbehave::{aux_gen_session, reshare_session, AuxGenCheat, Cheat};
    use keywheel_mpc::ops::Attempt;
    use keywheel_mpc::reshare::ReshareInputs;
    use keywheel_mpc::{MpcError, PartySigner, ProductionParams, PublicSharing};
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::mock::{new_test_ext, Test};
    use super::*;
    use crate::benchmark_helper::{signer, DEALER_SEED};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benchmarks");

    /// Runs one session per party of `parties` (`run(party, its signer, its rng)`), the
    /// offender's among them, and returns the evidence an honest party names it with.
    async fn evidence_against<T, F>(
        parties: BTreeSet<KeywheelAccount>,
        offender: KeywheelAccount,
        signers: &BTreeMap<KeywheelAccount, u32>,
        run: impl Fn(KeywheelAccount, PartySigner, ChaCha20Rng) -> F,
    ) -> EvidenceBlob
    where
        T: Send + 'static,
        F: Future<Output = Result<Outcome<T>, MpcError>> + Send + 'static,
    {
        let tasks: Vec<_> = parties
            .into_iter()
            .map(|party| {
                let i = signers[&party];
                let session = run(party, signer(i), ChaCha20Rng::seed_from_u64(i.into()));
                (party, tokio::spawn(session))
            })
            .collect();
        // The offender's session waits for the others until the deadline: it is stopped once
        // every honest party is done (earlier, it might not have sent its message yet).
        let mut evidence = None;
        let mut cheater = None;
        for (party, task) in tasks {
            if party == offender {
                cheater = Some(task);
                continue;
            }
            if let Outcome::Failed { offenders } = task.await.expect("no panic").expect("no local error") {
                for named in offenders {
                    assert_eq!(named.party, offender, "an honest party named another party");
                    if let Fault::Evidence(blob) = named.fault {
                        evidence.get_or_insert(blob);
                    }
                }
            }
        }
        cheater.expect("the offender takes part").abort();
        evidence.expect("an honest party names the offender with evidence")
    }

    #[test]
    #[ignore = "records benchmarks/*-evidence.bin; run by hand when the benchmark state changes"]
    fn record_the_report_offence_evidence() {
        let (net, record, sharing, network) = new_test_ext().execute_with(|| {
            let net = Net::new::<Test>(
                <Test as Config>::MaxValidators::get(),
                <Test as Config>::MaxCommitteeSize::get(),
            )
            .expect("the network");
            let record = net.rotating::<Test>().expect("a rotation");
            let sharing = CurrentSharing::<Test>::get().expect("a sharing").into_inner();
            (net, record, sharing, Network::<Test>::get())
        });
        let (_, offender) = offence_parties(&record).expect("two staying members");

        // The jumpstart's confirmations were dealt by this dealer: the same secrets.
        let committee: BTreeSet<KeywheelAccount> = sharing.public_shares.keys().copied().collect();
        let old = Dealer::<ProductionParams>::new(DEALER_SEED).deal(&committee, sharing.threshold);
        assert!(
            old.values()
                .all(|share| encoded_public_shares(share.public()) == sharing.public_shares),
            "the dealer's shares are not the stored sharing"
        );
        let inputs = ReshareInputs {
            old: PublicSharing::<ProductionParams>::from_encoded(sharing.threshold, &sharing.public_shares)
                .expect("the stored sharing"),
            staying: record.staying.clone(),
            new_committee: record.new_tss(),
            new_threshold: record.new_threshold,
        };
        let attempt = Attempt {
            context: keywheel_chain::attempt_context(&network, record.session, record.attempt),
            deadline: Instant::now() + Duration::from_secs(1800),
            stall: None,
            cancel: None,
        };
        let local = LocalNetwork::new();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");

        let reshare = runtime.block_on(evidence_against(
            inputs.participants(),
            offender,
            &net.signers,
            |party, signer, mut rng| {
                let (inputs, old_share, attempt, local) =
                    (inputs.clone(), old.get(&party).cloned(), attempt.clone(), local.clone());
                let cheat = (party == offender).then_some(Cheat::BadSubshare);
                async move { reshare_session(&mut rng, &signer, inputs, old_share, cheat, &attempt, &local).await }
            },
        ));
        let aux_gen = runtime.block_on(evidence_against(
            record.new_tss(),
            offender,
            &net.signers,
            |party, signer, mut rng| {
                let (committee, attempt, local) = (record.new_tss(), attempt.clone(), local.clone());
                let cheat = (party == offender).then_some(AuxGenCheat::LateModProof);
                async move {
                    aux_gen_session::<ProductionParams>(&mut rng, &signer, committee, cheat, &attempt, &local).await
                }
            },
        ));
        assert!(aux_gen.description.contains("П^{mod}"), "{}", aux_gen.description);

        // The chain's check of each, timed (the best of three, natively: the benchmark measures
        // it in Wasm).
        let offence = OffenceContext {
            reshare: &record,
            old_sharing: Some(&sharing),
            attempt_context: attempt.context.clone(),
        };
        let check = |evidence: &EvidenceBlob| {
            let bytes = evidence.to_bytes();
            let took = (0..3)
                .map(|_| {
                    let start = std::time::Instant::now();
                    crate::MpcCrypto
                        .verify_offence(&offence, &offender, &bytes)
                        .expect("the chain accepts the recorded evidence");
                    start.elapsed()
                })
                .min()
                .expect("three runs");
            println!(
                "{:?} evidence: {} bytes, checked in {took:?}",
                evidence.kind,
                bytes.len()
            );
            (took, bytes)
        };
        let (reshare_took, reshare) = check(&reshare);
        let (aux_gen_took, aux_gen) = check(&aux_gen);
        assert!(
            aux_gen_took > reshare_took,
            "the AuxGen evidence is not the dearer one to check: EvidenceCost is wrong"
        );
        std::fs::write(format!("{DIR}/reshare-evidence.bin"), reshare).expect("write the evidence");
        std::fs::write(format!("{DIR}/aux-gen-evidence.bin"), aux_gen).expect("write the evidence");
        println!("written to {DIR}");
    }
}
