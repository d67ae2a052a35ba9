//! The smallest runtime with `pallet-keywheel` in it — `frame_system`, `pallet_balances` and the
//! pallet with the real `MpcCrypto` and `MpcBenchmarkHelper` — built to Wasm so that
//! `frame-omni-bencher` measures the pallet's weights in the executor that charges them.
//!
//! For benchmarks only: its randomness is a hash of the subject and it has no transaction
//! payment, no consensus and no way to submit a signed transaction.

#![cfg_attr(not(feature = "std"), no_std)]

// The Wasm blob that `build.rs` makes (with feature `std`).
#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::borrow::Cow;
use alloc::vec::Vec;

use frame_support::genesis_builder_helper::{build_state, get_preset};
use frame_support::traits::{ConstU128, ConstU32, Randomness};
use frame_support::{derive_impl, parameter_types};
use sp_core::H256;
use sp_genesis_builder::PresetId;
use sp_runtime::AccountId32;
use sp_version::RuntimeVersion;

/// The runtime's version (nothing depends on it but the executor's cache).
#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
    spec_name: Cow::Borrowed("keywheel-bench"),
    impl_name: Cow::Borrowed("keywheel-bench"),
    authoring_version: 1,
    spec_version: 1,
    impl_version: 1,
    apis: RUNTIME_API_VERSIONS,
    transaction_version: 1,
    system_version: 1,
};

/// A block header: `u32` numbers.
pub type Header = sp_runtime::generic::Header<u32, sp_runtime::traits::BlakeTwo256>;
/// An extrinsic: nothing checks signed ones (no transaction extensions; the benchmarks
/// dispatch calls directly).
pub type UncheckedExtrinsic =
    sp_runtime::generic::UncheckedExtrinsic<AccountId32, RuntimeCall, sp_runtime::MultiSignature, ()>;
/// A block.
pub type Block = sp_runtime::generic::Block<Header, UncheckedExtrinsic>;

frame_support::construct_runtime!(
    pub enum Runtime {
        System: frame_system,
        Balances: pallet_balances,
        Keywheel: pallet_keywheel,
    }
);

parameter_types! {
    /// Blocks of 6 s of computation, 75 % of it for normal extrinsics: room for the pallet's
    /// dearest call, a report with AuxGen evidence (the pallet's `integrity_test` checks it).
    pub RuntimeBlockWeights: frame_system::limits::BlockWeights =
        frame_system::limits::BlockWeights::with_sensible_defaults(
            frame_support::weights::Weight::from_parts(
                6 * frame_support::weights::constants::WEIGHT_REF_TIME_PER_SECOND,
                u64::MAX,
            ),
            sp_runtime::Perbill::from_percent(75),
        );
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
    type BlockWeights = RuntimeBlockWeights;
    type Block = Block;
    type AccountId = AccountId32;
    type Lookup = sp_runtime::traits::IdentityLookup<AccountId32>;
    type AccountData = pallet_balances::AccountData<u128>;
    type Version = Version;
}

parameter_types! {
    pub const Version: RuntimeVersion = VERSION;
    pub const NoSlashDestination: Option<AccountId32> = None;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Runtime {
    type Balance = u128;
    type AccountStore = System;
    type ExistentialDeposit = ConstU128<1>;
    type RuntimeHoldReason = RuntimeHoldReason;
}

/// The limits the weights are measured at: a committee of up to 15 (the largest keywheel
/// runs), 100 validators, evidence of up to 1 MiB. A runtime with larger limits measures again.
impl pallet_keywheel::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Randomness = SubjectRandomness;
    type Crypto = pallet_keywheel::MpcCrypto;
    type SlashDestination = NoSlashDestination;
    type MaxCommitteeSize = ConstU32<15>;
    type MaxEvidenceLen = ConstU32<{ 1 << 20 }>;
    type MaxEndpointLen = ConstU32<256>;
    type MaxValidators = ConstU32<100>;
    type WeightInfo = pallet_keywheel::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = pallet_keywheel::benchmark_helper::MpcBenchmarkHelper;
}

/// Benchmarks only: randomness that depends on the subject alone, so that the benchmark state
/// (who joins) is the same as in the pallet's own benchmark tests. A chain uses BABE's or
/// similar.
pub struct SubjectRandomness;

impl Randomness<H256, u32> for SubjectRandomness {
    fn random(subject: &[u8]) -> (H256, u32) {
        (H256(sp_io::hashing::blake2_256(subject)), 0)
    }
}

/// The genesis the benchmarks start from: a network id, the default parameters, no validators
/// (each benchmark bonds its own).
fn genesis() -> RuntimeGenesisConfig {
    RuntimeGenesisConfig {
        keywheel: pallet_keywheel::GenesisConfig {
            network: [7; 32],
            ..Default::default()
        },
        ..Default::default()
    }
}

type Executive =
    frame_executive::Executive<Runtime, Block, frame_system::ChainContext<Runtime>, Runtime, AllPalletsWithSystem>;

sp_api::impl_runtime_apis! {
    impl sp_api::Core<Block> for Runtime {
        fn version() -> RuntimeVersion {
            VERSION
        }

        fn execute_block(block: <Block as sp_runtime::traits::Block>::LazyBlock) {
            Executive::execute_block(block)
        }

        fn initialize_block(header: &<Block as sp_runtime::traits::Block>::Header) -> sp_runtime::ExtrinsicInclusionMode {
            Executive::initialize_block(header)
        }
    }

    impl sp_api::Metadata<Block> for Runtime {
        fn metadata() -> sp_core::OpaqueMetadata {
            sp_core::OpaqueMetadata::new(Runtime::metadata().into())
        }

        fn metadata_at_version(version: u32) -> Option<sp_core::OpaqueMetadata> {
            Runtime::metadata_at_version(version)
        }

        fn metadata_versions() -> Vec<u32> {
            Runtime::metadata_versions()
        }
    }

    impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
        fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
            build_state::<RuntimeGenesisConfig>(config)
        }

        fn get_preset(id: &Option<PresetId>) -> Option<Vec<u8>> {
            get_preset::<RuntimeGenesisConfig>(id, |name| {
                (*name == PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET))
                    .then(|| serde_json::to_vec(&genesis()).expect("the genesis serializes"))
            })
        }

        fn preset_names() -> Vec<PresetId> {
            alloc::vec![PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET)]
        }
    }

    #[cfg(feature = "runtime-benchmarks")]
    impl frame_benchmarking::Benchmark<Block> for Runtime {
        fn benchmark_metadata(extra: bool) -> (
            Vec<frame_benchmarking::BenchmarkList>,
            Vec<frame_support::traits::StorageInfo>,
        ) {
            use frame_benchmarking::BenchmarkList;
            use frame_support::traits::StorageInfoTrait;

            let mut list = Vec::<BenchmarkList>::new();
            list_benchmarks!(list, extra);
            (list, AllPalletsWithSystem::storage_info())
        }

        fn dispatch_benchmark(
            config: frame_benchmarking::BenchmarkConfig,
        ) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
            use frame_benchmarking::BenchmarkBatch;
            use frame_support::traits::WhitelistedStorageKeys;

            let whitelist = AllPalletsWithSystem::whitelisted_storage_keys();
            let mut batches = Vec::<BenchmarkBatch>::new();
            let params = (&config, &whitelist);
            add_benchmarks!(params, batches);
            Ok(batches)
        }
    }
}

#[cfg(feature = "runtime-benchmarks")]
frame_benchmarking::define_benchmarks!([pallet_keywheel, Keywheel]);
