//! Benchmarks (`frame-benchmarking` v2) of every dispatchable and of a block's processing, each at
//! its worst case:
//!
//! - the network is as large as the runtime allows: [`Config::MaxValidators`] validators (the
//!   rules read them all to check a transport key and to pick joiners), a committee of `n` up to
//!   [`Config::MaxCommitteeSize`] at threshold `n - 1` (the most work per deal), with a rotation
//!   in flight (every membership check reads it);
//! - `confirm` measures the last confirmation of a rotation that must still compute the shares
//!   from the deals (the earlier ones carry other endorsement bytes, as a dealer that endorses
//!   twice makes them) and then rotates;
//! - `report_unresponsive` and `on_initialize` measure a judgement: a slash, an abort and a
//!   retry that picks a new joiner among every validator.
//!
//! The state is made through the rules themselves (bond, validate, jumpstart, confirm, blocks),
//! so it is a state the chain can reach; only time (`LastBlock`) is moved by hand, and
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
    tss_declaration, AccountId as KeywheelAccount, AttemptProtocol, Ledger, OffenceContext, Params, ReportedRound,
    ReshareKind, ReshareRecord, Silence, TssInfo, TSS_DECLARATION,
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

    /// Jumpstarts, confirms the key into being, and starts the next session's rotation.
    fn rotating<T: Config>(&self) -> Result<ReshareRecord, BenchmarkError> {
        ok(Pallet::<T>::jumpstart(RawOrigin::Root.into()), "jumpstart")?;
        self.confirm_all::<T>(&BTreeSet::new())?;
        if ParentKey::<T>::get().is_none() {
            return Err(BenchmarkError::Stop("the jumpstart did not rotate"));
        }
        let session_start = ChainParams::<T>::get().session_length * (CurrentSession::<T>::get() as u64 + 1);
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
/// participants, naming `first` first (repeated once every distinct claim is used).
fn silences(record: &ReshareRecord, reporter: &KeywheelAccount, first: &KeywheelAccount, m: u32) -> Vec<Silence> {
    let mut parties = vec![*first];
    parties.extend(
        record
            .participants()
            .into_iter()
            .filter(|p| p != first && p != reporter),
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

/// In the largest network, a rotation to a committee of `n` that every new member but the last
/// has confirmed; the last one.
fn awaiting_last<T: Config>(n: u32) -> Result<(Net, ReshareRecord, KeywheelAccount), BenchmarkError> {
    let net = Net::new::<T>(T::MaxValidators::get(), n)?;
    let record = net.rotating::<T>()?;
    let last = *record
        .new_tss()
        .iter()
        .next_back()
        .ok_or(BenchmarkError::Stop("a committee"))?;
    net.confirm_all::<T>(&BTreeSet::from([last]))?;
    Ok((net, record, last))
}

/// The new member of a rotation.
fn joiner(record: &ReshareRecord) -> Result<KeywheelAccount, BenchmarkError> {
    record
        .new_tss()
        .into_iter()
        .find(|m| !record.staying.contains(m))
        .ok_or(BenchmarkError::Stop("a joiner"))
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
        let joiner = joiner(&record)?;
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
        let committee = Committee::<T>::get();
        assert!(committee.iter().any(|m| m.tss == joiner), "the committee rotated");
        assert_eq!(committee.len() as u32, n);
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

    #[benchmark]
    fn report_offence() -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), T::MaxCommitteeSize::get())?;
        let record = net.rotating::<T>()?;
        let mut staying = record.staying.iter().copied();
        let (reporter, offender) = match (staying.next(), staying.next()) {
            (Some(r), Some(o)) => (r, o),
            _ => return Err(BenchmarkError::Stop("two staying members")),
        };
        let sharing = CurrentSharing::<T>::get().map(|s| s.into_inner());
        let offence = OffenceContext {
            reshare: &record,
            old_sharing: sharing.as_ref(),
            attempt_context: keywheel_chain::attempt_context(&Network::<T>::get(), record.session, record.attempt),
        };
        let evidence = T::BenchmarkHelper::evidence(&offence, &offender).ok_or(BenchmarkError::Skip)?;
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
    fn report_unresponsive(
        m: Linear<1, { T::MaxCommitteeSize::get() * 6 * ReportedRound::MAX_NUMBER as u32 }>,
    ) -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), T::MaxCommitteeSize::get())?;
        let record = net.rotating::<T>()?;
        let new_tss = record.new_tss();
        // The joiner is silent, so the retry can keep every staying member.
        let silent = joiner(&record)?;
        let reporter = *record
            .staying
            .iter()
            .next()
            .ok_or(BenchmarkError::Stop("a staying member"))?;
        // Every other member has already reported every claim it can make, the silent one's
        // first: this report is the last word, so the chain judges, slashes and retries.
        let all = T::MaxCommitteeSize::get() * 6 * ReportedRound::MAX_NUMBER as u32;
        for other in new_tss.iter().filter(|p| **p != silent && **p != reporter) {
            let claims = silences(&record, other, &silent, all);
            ok(
                Pallet::<T>::report_unresponsive(
                    RawOrigin::Signed(to_runtime(*other)).into(),
                    record.session,
                    record.attempt,
                    claims,
                ),
                "report_unresponsive",
            )?;
        }
        let missing = silences(&record, &reporter, &silent, m);
        #[extrinsic_call]
        _(
            RawOrigin::Signed(to_runtime(reporter)),
            record.session,
            record.attempt,
            missing,
        );
        assert_eq!(SlashCount::<T>::get(), 1);
        assert_eq!(Reshare::<T>::get().map(|r| r.attempt), Some(record.attempt + 1));
        Ok(())
    }

    #[benchmark]
    fn on_initialize(n: Linear<3, { T::MaxCommitteeSize::get() }>) -> Result<(), BenchmarkError> {
        let net = Net::new::<T>(T::MaxValidators::get(), n)?;
        let record = net.rotating::<T>()?;
        // Everyone but the joiner confirms; at the deadline it is judged, and a retry picks
        // another joiner among every validator.
        let joiner = joiner(&record)?;
        net.confirm_all::<T>(&BTreeSet::from([joiner]))?;
        let deadline: u32 = record.deadline.try_into().map_err(|_| BenchmarkError::Stop("block"))?;
        #[block]
        {
            Pallet::<T>::on_initialize(deadline.into());
        }
        assert_eq!(SlashCount::<T>::get(), 1);
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
    use frame_support::weights::Weight;
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

    #[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
    impl frame_system::Config for Test {
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
        type MaxValidators = ConstU32<40>;
        type WeightInfo = ZeroWeights;
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

    /// Test only: the benchmarks measure weights, they do not charge them.
    pub struct ZeroWeights;

    impl crate::WeightInfo for ZeroWeights {
        fn bond() -> Weight {
            Weight::zero()
        }
        fn validate() -> Weight {
            Weight::zero()
        }
        fn chill() -> Weight {
            Weight::zero()
        }
        fn unbond() -> Weight {
            Weight::zero()
        }
        fn withdraw_unbonded() -> Weight {
            Weight::zero()
        }
        fn register() -> Weight {
            Weight::zero()
        }
        fn jumpstart(_n: u32) -> Weight {
            Weight::zero()
        }
        fn set_params() -> Weight {
            Weight::zero()
        }
        fn confirm(_n: u32) -> Weight {
            Weight::zero()
        }
        fn confirm_equivocation(_n: u32) -> Weight {
            Weight::zero()
        }
        fn report_offence(_e: u32) -> Weight {
            Weight::zero()
        }
        fn report_unresponsive(_m: u32) -> Weight {
            Weight::zero()
        }
        fn on_initialize(_n: u32) -> Weight {
            Weight::zero()
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
