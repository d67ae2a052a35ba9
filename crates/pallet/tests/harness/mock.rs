//! A mock runtime: `frame_system`, `pallet_balances` and `pallet-keywheel`, with the rule
//! tests' `TestCrypto` (real secp256k1 sharings and share proofs, a test double for evidence)
//! and randomness the harness sets for each block.

use std::cell::Cell;

use frame_support::traits::{ConstU128, ConstU32, Randomness};
use frame_support::weights::constants::WEIGHT_REF_TIME_PER_SECOND;
use frame_support::weights::Weight;
use frame_support::{derive_impl, parameter_types};
use frame_system::limits::BlockWeights;
use sp_core::H256;
use sp_runtime::{AccountId32, Perbill};

use crate::support::TestCrypto;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Keywheel: pallet_keywheel,
    }
);

parameter_types! {
    /// Blocks of 6 s of computation, 75 % of it for normal extrinsics: room for the pallet's
    /// dearest call, a report with AuxGen evidence (`integrity_test`). A test lowers it.
    pub static RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
        Weight::from_parts(6 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
        Perbill::from_percent(75),
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

/// The existential deposit: the harness funds each account this much above what the dev
/// node's genesis gives it, so what a hold can take is the same on both.
pub const ED: u128 = 1;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = u128;
    type AccountStore = System;
    type ExistentialDeposit = ConstU128<ED>;
    type RuntimeHoldReason = RuntimeHoldReason;
}

thread_local! {
    static NEXT_RANDOMNESS: Cell<[u8; 32]> = const { Cell::new([0; 32]) };
}

/// Sets what the runtime's randomness gives for the next block.
pub fn set_randomness(randomness: [u8; 32]) {
    NEXT_RANDOMNESS.with(|r| r.set(randomness));
}

/// The randomness the harness chose for this block (the dev node's chain gets the same).
pub struct TestRandomness;

impl Randomness<H256, u64> for TestRandomness {
    fn random(_subject: &[u8]) -> (H256, u64) {
        (H256(NEXT_RANDOMNESS.with(|r| r.get())), System::block_number())
    }
}

parameter_types! {
    /// Where slashes go: burned unless a test says otherwise.
    pub storage SlashDestination: Option<AccountId32> = None;
    /// How many stashes may validate at once.
    pub storage MaxValidators: u32 = 1_000;
}

impl pallet_keywheel::Config for Test {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Randomness = TestRandomness;
    type Crypto = TestCrypto;
    type SlashDestination = SlashDestination;
    type MaxCommitteeSize = ConstU32<15>;
    type MaxEvidenceLen = ConstU32<{ 1 << 20 }>;
    type MaxEndpointLen = ConstU32<256>;
    type MaxValidators = MaxValidators;
    type WeightInfo = pallet_keywheel::weights::SubstrateWeight<Test>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = pallet_keywheel::benchmark_helper::MpcBenchmarkHelper;
}
